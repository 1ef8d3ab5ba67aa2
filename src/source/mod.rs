//! Source parsing: the bytes of a polled source (an RSS/Atom/JSON feed, a news sitemap, an HTML
//! list page) become [`Entry`] values, and every entry gets a stable identity ([`entry_key`]) so
//! the store can tell new entries from seen ones.
//!
//! This stage is pure: it never does I/O, never reads the clock and never touches tokio. The
//! caller passes the body bytes, the `Content-Type` header and the URL the body came from (to
//! resolve relative links). Parsers (feed-rs, scraper) are `!Send`, so everything here is
//! synchronous and returns owned values. It does not decide *whether* an entry is new (the store
//! does) and it does not fetch article pages (fetch and extract do).
//!
//! Files: `feed` (RSS/Atom/JSON Feed via feed-rs), `sitemap`, `page` (CSS selectors), `discover`
//! (feed autodiscovery); the shared helpers `date` (lenient dates that keep offsets), `mojibake`
//! (double-encoded UTF-8 undone where certain), `wrapped` (a feed served inside an HTML page),
//! and the private `xml` (sniffing, dialect fixes, repair) and `json_feed`. Bytes become text in
//! [`crate::encoding`].

pub mod date;
pub mod discover;
pub mod feed;
mod json_feed;
pub mod mojibake;
pub mod page;
pub mod sitemap;
mod wrapped;
mod xml;

use sha2::{Digest, Sha256};
use url::Url;

use crate::model::{canonical_url, Entry, PublisherTime};

/// Why a source body could not be turned into entries.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The body parsed as something else (an HTML page, a sitemap, JSON that is not JSON Feed).
    #[error(
        "the body is {detected}, not an RSS, Atom or JSON feed: point url at the feed itself, or \
         use kind = \"page\" for an HTML list page or kind = \"sitemap\" for a sitemap"
    )]
    NotAFeed { detected: String },
    /// A sitemap source whose body is something else.
    #[error(
        "the body is {detected}, not a sitemap: use kind = \"feed\" for RSS, Atom or JSON feeds, \
         or kind = \"page\" for an HTML list page"
    )]
    NotASitemap { detected: String },
    /// Broken XML/JSON that the lenient retry could not repair either.
    #[error("the feed is malformed and could not be repaired: {reason}")]
    Malformed { reason: String },
    /// A CSS selector of a `page` source does not compile.
    #[error("the {field} selector {selector:?} is not valid CSS: {reason}")]
    InvalidSelector {
        field: &'static str,
        selector: String,
        reason: String,
    },
    /// The `item` selector of a `page` source matched nothing: the page layout changed or the
    /// selector is wrong. The daemon raises a health warning rather than treating it as "no news".
    #[error(
        "the item selector {selector:?} matched nothing on the page: the layout may have \
         changed, check the selector against the current page"
    )]
    SelectorMatchedNothing { selector: String },
    /// Nothing but whitespace.
    #[error("the body is empty: the server answered without content, check the url")]
    Empty,
}

impl SourceError {
    /// Whether polling again later may succeed without a configuration change: an empty or
    /// truncated body is often a passing server fault, a wrong kind of document is not.
    pub fn is_retryable(&self) -> bool {
        match self {
            SourceError::Empty | SourceError::Malformed { .. } => true,
            // A layout change may be a botched deploy that is rolled back; keep polling.
            SourceError::SelectorMatchedNothing { .. } => true,
            SourceError::NotAFeed { .. }
            | SourceError::NotASitemap { .. }
            | SourceError::InvalidSelector { .. } => false,
        }
    }
}

/// Stable identity of an entry within its source, in order of preference: the GUID/id as
/// published; else the canonical URL ([`canonical_url`]); else `"sha256:"` + the hex digest of
/// title + `"\n"` + link; and when an item has neither title nor link (RSS 0.92 items may be a
/// description alone), of its content instead: description, content, enclosure and date, so
/// distinct items stay distinct and an unchanged item keeps its key across polls. Surrounding
/// whitespace never counts.
///
/// Parsers clear `id` when one id is shared by entries with different links (see
/// `feed::parse_feed`), so such entries fall back to their URLs instead of collapsing into one;
/// entries that still share a key but differ in content carry [`Entry::distinct_by`], which is
/// appended (`key#digest`).
pub fn entry_key(entry: &Entry) -> String {
    let key = base_key(entry);
    match entry.distinct_by.as_deref() {
        Some(digest) => format!("{key}#{digest}"),
        None => key,
    }
}

/// The digest [`Entry::distinct_by`] holds: 16 hex digits of SHA-256 over the entry's title,
/// texts, enclosure and date.
pub fn content_digest(entry: &Entry) -> String {
    let mut hasher = Sha256::new();
    for part in [
        entry.title.as_deref(),
        entry.summary_html.as_deref(),
        entry.content_html.as_deref(),
        entry.enclosure_url.as_deref(),
    ] {
        hasher.update(part.map(str::trim).unwrap_or_default().as_bytes());
        hasher.update(b"\n");
    }
    if let Some(date) = entry.published.or(entry.updated) {
        hasher.update(key_date(&date).as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A date as it went into keys before local times were kept apart (a local time written as if
/// it were UTC): keys must not change on upgrade, or every such item would alert again.
fn key_date(date: &PublisherTime) -> String {
    match date {
        PublisherTime::Zoned(time) => time.to_rfc3339(),
        PublisherTime::Local(time) => time.and_utc().fixed_offset().to_rfc3339(),
    }
}

fn base_key(entry: &Entry) -> String {
    if let Some(id) = entry
        .id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty())
    {
        return id.to_string();
    }
    let link = entry.url.as_deref().map(str::trim).unwrap_or_default();
    if let Ok(url) = Url::parse(link) {
        return canonical_url(&url).to_string();
    }
    let title = entry.title.as_deref().map(str::trim).unwrap_or_default();
    let mut hasher = Sha256::new();
    if title.is_empty() && link.is_empty() {
        // Keys of entries with a title or link stay as they always were (a changed key would
        // alert again on upgrade); only the items that all shared one key get a content key.
        let trimmed = |text: Option<&str>| text.map(str::trim).unwrap_or_default().to_string();
        let published = entry
            .published
            .or(entry.updated)
            .map(|date| key_date(&date))
            .unwrap_or_default();
        hasher.update(b"content\n");
        for part in [
            trimmed(entry.summary_html.as_deref()),
            trimmed(entry.content_html.as_deref()),
            trimmed(entry.enclosure_url.as_deref()),
            published,
        ] {
            hasher.update(part.as_bytes());
            hasher.update(b"\n");
        }
    } else {
        hasher.update(title.as_bytes());
        hasher.update(b"\n");
        hasher.update(link.as_bytes());
    }
    let digest = hasher.finalize();
    let mut key = String::with_capacity(7 + 64);
    key.push_str("sha256:");
    for byte in digest {
        key.push_str(&format!("{byte:02x}"));
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(id: Option<&str>, url: Option<&str>, title: Option<&str>, expected: &str) {
        let entry = Entry {
            id: id.map(str::to_string),
            url: url.map(str::to_string),
            title: title.map(str::to_string),
            ..Entry::default()
        };
        assert_eq!(
            entry_key(&entry),
            expected,
            "id {id:?} url {url:?} title {title:?}"
        );
    }

    #[test]
    fn entry_key_precedence() {
        check(
            Some(" guid-1 "),
            Some("https://example.org/a"),
            Some("A"),
            "guid-1",
        );
        check(
            Some("  "),
            Some("https://Example.org/a?utm_source=rss#top"),
            Some("A"),
            "https://example.org/a",
        );
        check(
            None,
            Some(" https://example.org/b "),
            None,
            "https://example.org/b",
        );
        // sha256 of "A\n" (title, newline, empty link).
        check(
            None,
            None,
            Some("A"),
            "sha256:06f961b802bc46ee168555f066d28f4f0e9afdf3f88174c1ee6f9de004fc30a0",
        );
        // A link that is not an absolute URL is hashed with the title, not used as is.
        let relative = Entry {
            url: Some("/a".to_string()),
            ..Entry::default()
        };
        assert!(entry_key(&relative).starts_with("sha256:"));
    }

    #[test]
    fn items_without_link_guid_or_title_are_told_apart_by_content() {
        let item = |description: &str, enclosure: Option<&str>| Entry {
            summary_html: Some(description.to_string()),
            enclosure_url: enclosure.map(str::to_string),
            ..Entry::default()
        };
        let first = entry_key(&item("It's been a few days.", None));
        assert_ne!(
            first,
            entry_key(&item("Kevin Drennan started a page.", None))
        );
        assert_ne!(
            first,
            entry_key(&item("It's been a few days.", Some("https://x.test/a.mp3")))
        );
        // stable: the same item on the next poll has the same key
        assert_eq!(first, entry_key(&item(" It's been a few days. ", None)));
        // and entries with a title keep the key they always had
        check(
            None,
            None,
            Some("A"),
            "sha256:06f961b802bc46ee168555f066d28f4f0e9afdf3f88174c1ee6f9de004fc30a0",
        );
    }

    /// The daemon moves these across tasks and keeps compiled selectors in shared config;
    /// parsers themselves (`scraper::Html`, feed-rs) stay inside the synchronous functions.
    #[test]
    fn outputs_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SourceError>();
        assert_send_sync::<feed::ParsedFeed>();
        assert_send_sync::<sitemap::ParsedSitemap>();
        assert_send_sync::<page::CompiledSelectors>();
        assert_send_sync::<discover::DiscoveredFeed>();
    }

    #[test]
    fn errors_say_how_to_fix() {
        let error = SourceError::NotAFeed {
            detected: "an HTML page".to_string(),
        };
        assert!(error.to_string().contains("kind = \"page\""));
        assert!(!error.is_retryable());
        assert!(SourceError::Empty.is_retryable());
    }
}
