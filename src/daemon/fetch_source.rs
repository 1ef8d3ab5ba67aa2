//! Turning one source into entries, per kind: fetch (conditionally) and parse a feed, an HTML
//! list page or a sitemap (index), or — for `kind = "auto"` — the feed discovered for the source
//! on its first poll. Parsing is the pure `source` module's; this only fetches and dispatches.

use tracing::{info, warn};
use url::Url;

use super::find_feed;
use super::process::PollError;
use super::Pipeline;
use crate::config::{SourceConfig, SourceKind};
use crate::fetch::{CacheHeaders, Fetched, Origin};
use crate::model::Entry;
use crate::source;
use crate::store::Validators;

/// How many child sitemaps of a sitemap index are read per poll (the first listed, which news
/// sites keep newest).
const MAX_CHILD_SITEMAPS: usize = 3;

/// A fetched and parsed source.
pub(super) struct SourceEntries {
    pub entries: Vec<Entry>,
    /// The URL the entries came from (relative links resolve against it).
    pub url: Url,
    /// Validators to save once every new entry is committed.
    pub validators: Validators,
    pub cache: CacheHeaders,
    /// Feed-level scheduling hints: RSS `<ttl>` minutes, `sy:updatePeriod` and frequency.
    pub ttl_minutes: Option<u32>,
    pub update_period: Option<String>,
    pub update_frequency: Option<u32>,
    /// The WebSub hub and topic the feed advertises (headers or document).
    pub hub: Option<crate::websub::Discovered>,
}

/// What fetching a source gave.
pub(super) enum Polled {
    /// 304: nothing changed since the validators were saved.
    NotModified(CacheHeaders),
    /// Boxed: entries and their facts are several times the size of a 304's headers.
    Changed(Box<SourceEntries>),
}

impl Pipeline {
    /// The source's entries, unless the server says nothing changed (304).
    pub(super) async fn fetch_entries(&self, source: &SourceConfig) -> Result<Polled, PollError> {
        let (url, origin) = match &source.kind {
            SourceKind::Auto => (self.auto_feed_url(source).await?, Origin::Content),
            _ => (source.url.clone(), Origin::Config),
        };
        let validators = self.store.validators(&source.name).await?;
        let fetch_error = |error| PollError::Fetch {
            url: url.to_string(),
            source: error,
        };
        // A page source is a scraped HTML page: robots.txt speaks about it. Feeds and sitemaps
        // exist to be polled by programs, so they are fetched without asking.
        if matches!(source.kind, SourceKind::Page(_)) && source.respect_robots {
            self.fetcher
                .robots_allow(&url, origin)
                .await
                .map_err(fetch_error)?;
        }
        let page = match self
            .fetcher
            .get(
                &url,
                origin,
                Some(&validators),
                self.config.fetch.max_feed_size,
            )
            .await
            .map_err(fetch_error)?
        {
            Fetched::NotModified(cache) => return Ok(Polled::NotModified(cache)),
            Fetched::Page(page) => page,
        };
        let parse_error = |error| PollError::Parse {
            url: page.final_url.to_string(),
            source: error,
        };
        let content_type = page.content_type.as_deref();
        let mut hints = (None, None, None);
        let mut hub = None;
        let mut entries = match &source.kind {
            SourceKind::Feed | SourceKind::Auto => {
                let parsed = source::feed::parse_feed(&page.body, content_type, &page.final_url)
                    .map_err(parse_error)?;
                hints = (
                    parsed.ttl_minutes,
                    parsed.update_period,
                    parsed.update_frequency,
                );
                hub = crate::websub::discover(
                    &crate::websub::parse_link_headers(page.links.iter().map(String::as_str)),
                    parsed.hub.as_deref(),
                    parsed.self_link.as_deref(),
                    &page.final_url,
                );
                parsed.entries
            }
            SourceKind::Page(selectors) => {
                let html = crate::extract::decode_html(&page.body, content_type);
                source::page::parse_page(&html, &page.final_url, selectors).map_err(parse_error)?
            }
            SourceKind::Sitemap { max_entries } => {
                let parsed = source::sitemap::parse_sitemap(
                    &page.body,
                    content_type,
                    &page.final_url,
                    *max_entries,
                )
                .map_err(parse_error)?;
                let mut entries = parsed.entries;
                for child in parsed.child_sitemaps.iter().take(MAX_CHILD_SITEMAPS) {
                    entries.extend(self.child_sitemap(source, child, *max_entries).await);
                }
                if !parsed.child_sitemaps.is_empty() {
                    newest_first(&mut entries);
                    entries.truncate(*max_entries);
                }
                entries
            }
        };
        crate::assemble::entries_in_zone(&mut entries, source.timezone);
        let (ttl_minutes, update_period, update_frequency) = hints;
        Ok(Polled::Changed(Box::new(SourceEntries {
            entries,
            url: page.final_url,
            validators: page.validators,
            cache: page.cache,
            ttl_minutes,
            update_period,
            update_frequency,
            hub,
        })))
    }

    /// One child of a sitemap index; a failing child is logged and skipped.
    async fn child_sitemap(
        &self,
        source: &SourceConfig,
        child: &str,
        max_entries: usize,
    ) -> Vec<Entry> {
        let Ok(url) = Url::parse(child) else {
            warn!(source = %source.name, url = child, "child sitemap URL is not valid");
            return Vec::new();
        };
        match self
            .fetcher
            .get(&url, Origin::Content, None, self.config.fetch.max_feed_size)
            .await
        {
            Ok(Fetched::Page(page)) => {
                match source::sitemap::parse_sitemap(
                    &page.body,
                    page.content_type.as_deref(),
                    &page.final_url,
                    max_entries,
                ) {
                    Ok(parsed) => parsed.entries,
                    Err(error) => {
                        warn!(source = %source.name, url = %url, %error, "child sitemap not parsed");
                        Vec::new()
                    }
                }
            }
            Ok(Fetched::NotModified(_)) => Vec::new(),
            Err(error) => {
                warn!(source = %source.name, url = %url, %error, "child sitemap not fetched");
                Vec::new()
            }
        }
    }

    /// The feed an `auto` source polls: discovered on first use, then remembered for the run.
    async fn auto_feed_url(&self, source: &SourceConfig) -> Result<Url, PollError> {
        if let Some(url) = self.discovered_feed(&source.name) {
            return Ok(url);
        }
        let candidates =
            find_feed::discover(&self.fetcher, &source.url, self.config.fetch.max_page_size)
                .await
                .map_err(|error| PollError::Discovery(error.to_string()))?;
        let Some(chosen) = candidates.iter().find(|candidate| candidate.check.is_ok()) else {
            let reasons: Vec<String> = candidates
                .iter()
                .map(|candidate| {
                    format!(
                        "{}: {}",
                        candidate.url,
                        candidate.check.as_ref().err().map_or("", |e| e.as_str())
                    )
                })
                .collect();
            return Err(PollError::Discovery(format!(
                "{} announces feeds, but none of them parses: {}",
                source.url,
                reasons.join("; ")
            )));
        };
        info!(source = %source.name, page = %source.url, feed = %chosen.url, how = chosen.found.describe(), "feed discovered");
        if let Ok(mut discovered) = self.discovered.lock() {
            discovered.insert(source.name.clone(), chosen.url.clone());
        }
        Ok(chosen.url.clone())
    }

    fn discovered_feed(&self, source: &str) -> Option<Url> {
        self.discovered.lock().ok()?.get(source).cloned()
    }
}

fn newest_first(entries: &mut [Entry]) {
    // undated entries sort last, keeping their order
    entries.sort_by(|a, b| {
        let date = |entry: &Entry| entry.published.or(entry.updated);
        match (date(a), date(b)) {
            (Some(a), Some(b)) => b.approximate_utc().cmp(&a.approximate_utc()),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
    });
}
