//! Article assembly: from what a poll found — a feed entry, and the entry's page when it was
//! fetched — to the one [`Article`] that is matched and alerted on, with the URL that
//! identifies it. The daemon's processing and the `extract` / `match` commands build articles
//! here, so the command line shows what the daemon would match.
//!
//! Pure: no I/O, no tokio, no clock (the time is an argument). It does not decide whether an
//! entry is new (the store does), fetch pages (fetch does) or parse HTML (extract does).

use std::time::Duration;

use chrono::{DateTime, Utc};
use url::Url;

use crate::extract::{self, Notes};
use crate::model::{self, Article, Entry, Image};
use crate::rules::{Document, Match, Matcher};

/// An article page's bytes → its article: decoded ([`crate::encoding::decode_html`], with the
/// HTTP `Content-Type` when there was one) and extracted, with notes on what extraction had to
/// change to read it (flattened nesting), for the caller to report.
pub fn article_from_page(bytes: &[u8], content_type: Option<&str>, url: &Url) -> (Article, Notes) {
    let html = crate::encoding::decode_html(bytes, content_type);
    extract::extract_with_notes(&html, url)
}

/// An article built from the feed entry alone (no page fetched, or the page failed).
pub fn article_from_entry(entry: &Entry, feed_url: &Url) -> Article {
    let link = entry
        .url
        .as_deref()
        .and_then(|link| feed_url.join(link).ok())
        .map(|url| url.to_string())
        .unwrap_or_default();
    let html = entry
        .content_html
        .as_deref()
        .or(entry.summary_html.as_deref())
        .unwrap_or("");
    let base = Url::parse(&link).unwrap_or_else(|_| feed_url.clone());
    Article {
        url: link.clone(),
        fetched_url: link,
        title: entry.title.clone().unwrap_or_default(),
        published: entry.published,
        updated: entry.updated,
        authors: entry.authors.clone(),
        site_name: None,
        language: None,
        image: entry.image_url.as_ref().map(|url| Image {
            url: Some(url.clone()),
            caption: None,
            credit: None,
        }),
        blocks: extract::fragment_blocks(html, &base),
    }
}

/// Fills what the page did not say from what the feed did.
pub fn fill_from_entry(article: &mut Article, entry: &Entry, feed_url: &Url) {
    if article.title.trim().is_empty() {
        article.title = entry.title.clone().unwrap_or_default();
    }
    if article.published.is_none() {
        article.published = entry.published;
    }
    if article.updated.is_none() {
        article.updated = entry.updated;
    }
    if article.authors.is_empty() {
        article.authors = entry.authors.clone();
    }
    if article.blocks.is_empty() {
        article.blocks = article_from_entry(entry, feed_url).blocks;
    }
    if article.url.is_empty() {
        article.url = article.fetched_url.clone();
    }
}

/// A source's `timezone` applied to its entries' dates written without an offset (see
/// [`model::PublisherTime::in_zone`]); without one they stay local times.
pub fn entries_in_zone(entries: &mut [Entry], zone: Option<chrono_tz::Tz>) {
    let Some(zone) = zone else {
        return;
    };
    for entry in entries {
        entry.published = entry.published.map(|date| date.in_zone(zone));
        entry.updated = entry.updated.map(|date| date.in_zone(zone));
    }
}

/// The same for an article's dates, which its page may have written without an offset.
pub fn article_in_zone(article: &mut Article, zone: Option<chrono_tz::Tz>) {
    let Some(zone) = zone else {
        return;
    };
    article.published = article.published.map(|date| date.in_zone(zone));
    article.updated = article.updated.map(|date| date.in_zone(zone));
}

/// Whether an entry is older than the source's `max_age` at `now`. Undated entries count as
/// new, and a limit reaching before the calendar starts keeps everything.
pub fn is_too_old(entry: &Entry, max_age: Option<Duration>, now: DateTime<Utc>) -> bool {
    let (Some(max_age), Some(date)) = (max_age, entry.published.or(entry.updated)) else {
        return false;
    };
    match chrono::Duration::from_std(max_age)
        .ok()
        .and_then(|max_age| now.checked_sub_signed(max_age))
    {
        Some(oldest) => date.approximate_utc() < oldest,
        None => false,
    }
}

/// An entry's link, resolved against the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryLink {
    Usable(Url),
    /// Present, but not an http(s) URL without credentials (or not a URL at all): it cannot
    /// be fetched, and no chat service links to it.
    Unusable,
    Missing,
}

pub fn entry_link(entry: &Entry, feed_url: &Url) -> EntryLink {
    let Some(text) = entry
        .url
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
    else {
        return EntryLink::Missing;
    };
    match feed_url.join(text) {
        Ok(url) if model::usable_link(&url) => EntryLink::Usable(url),
        _ => EntryLink::Unusable,
    }
}

/// Makes an assembled article ready to alert on and returns the URL that identifies it
/// ([`article_identity`]): fields bounded for payloads and logs ([`Article::bound`]), a
/// missing URL taken from the page fetched or else the entry's link, and the URL shown set to
/// the identity, so the payload shows the URL the alert id and de-duplication derive from.
pub fn settle(article: &mut Article, link: &EntryLink, source: &str, key: &str) -> String {
    article.bound();
    if article.url.is_empty() {
        article.url = if article.fetched_url.is_empty() {
            match link {
                EntryLink::Usable(url) => url.to_string(),
                EntryLink::Unusable | EntryLink::Missing => String::new(),
            }
        } else {
            article.fetched_url.clone()
        };
    }
    let identity = article_identity(article, source, key);
    if !article.url.is_empty() {
        article.url = identity.clone();
    }
    identity
}

/// The URL that identifies an article across sources: its canonical URL, or for an entry with
/// no link a name unique to the entry within its source.
pub fn article_identity(article: &Article, source: &str, key: &str) -> String {
    if article.url.is_empty() {
        format!("entry:{source}:{key}")
    } else {
        model::canonical_url_text(&article.url)
    }
}

/// Which watchlists an article from `source` meets, among those `applies` admits (by index),
/// and its plain body. The daemon matches fresh articles, archived ones (`match --archive`,
/// backfill) and `match` its inputs with this one function, so they cannot disagree.
pub fn match_article(
    matcher: &Matcher,
    article: &Article,
    source: &str,
    applies: &dyn Fn(usize) -> bool,
) -> (String, Vec<Match>) {
    let body = extract::render::body(article);
    let document = Document::of_article(article, &body, source);
    let matches = matcher.matches_among(&document, applies);
    (body, matches)
}

#[cfg(test)]
mod tests;
