//! One poll of one source: fetch the feed, parse it, and process each entry not seen before into
//! an article, its watchlist matches and their alerts, committed atomically per entry.
//!
//! Failure isolation: a feed that cannot be fetched or parsed fails this poll only; an article
//! page that cannot be fetched falls back to the feed entry's own content (logged), so the entry
//! is still matched. The feed's validators are saved only after every new entry is committed: a
//! crash mid-poll makes the next poll a full fetch again, never a 304 that hides unprocessed
//! entries.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{stream, StreamExt};
use tracing::{debug, info, warn};
use url::Url;

use super::fetch_source::Polled;
use super::metrics::{OutcomeLabel, SourceLabel, WatchlistLabel};
use super::{now_millis, Pipeline};
use crate::alert;
use crate::assemble;
use crate::config::SourceConfig;
use crate::fetch::{FetchError, Fetched, Origin};
use crate::model::{self, Article, Entry};
use crate::rules::Match;
use crate::schedule::{self, Freshness};
use crate::source;
use crate::store::{ArchivedArticle, NewAlert, StoreError};

/// Article pages fetched at once per source.
const ARTICLE_CONCURRENCY: usize = 4;

/// What one poll found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PollReport {
    pub not_modified: bool,
    pub entries: usize,
    /// New entries handled by this poll (deferred ones are counted by the poll that takes them).
    pub new_entries: usize,
    /// New entries older than `max_age`: recorded as seen, no alert.
    pub old_entries: usize,
    pub alerts_created: Vec<String>,
    /// New entries that could not be committed (store errors); retried on the next poll.
    pub failed_entries: usize,
    /// New entries beyond the source's `max_entries_per_poll`: left unseen for the next poll.
    pub deferred_entries: usize,
    /// New entries whose link is not a usable http(s) URL: recorded as seen, no alert.
    pub unusable_entries: usize,
    /// What the response said about when to come back (the entry rhythm only after a 200).
    pub freshness: Freshness,
}

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("fetch {url}: {source}")]
    Fetch { url: String, source: FetchError },
    #[error("parse {url}: {source}")]
    Parse {
        url: String,
        source: source::SourceError,
    },
    #[error("feed discovery: {0}")]
    Discovery(String),
    #[error("state database: {0}")]
    Store(#[from] crate::store::StoreError),
}

impl PollError {
    /// How long the source asked us to wait, if it did (429/503 with Retry-After).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PollError::Fetch {
                source: FetchError::Status { retry_after, .. },
                ..
            } => *retry_after,
            _ => None,
        }
    }
}

impl Pipeline {
    /// Polls `source` once and processes its new entries.
    pub async fn poll_source(&self, source: &SourceConfig) -> Result<PollReport, PollError> {
        let started = std::time::Instant::now();
        let result = self.poll_and_process(source).await;
        let metrics = &self.metrics;
        metrics
            .poll_seconds
            .observe(started.elapsed().as_secs_f64());
        match &result {
            Ok(report) if report.not_modified => metrics.poll(&source.name, "not_modified"),
            Ok(report) => {
                metrics.poll(&source.name, "ok");
                metrics
                    .entries
                    .get_or_create(&SourceLabel {
                        source: source.name.clone(),
                    })
                    .inc_by(report.new_entries as u64);
            }
            Err(_) => metrics.poll(&source.name, "error"),
        }
        result
    }

    async fn poll_and_process(&self, source: &SourceConfig) -> Result<PollReport, PollError> {
        let now = Utc::now();
        let lifetime = |cache: &crate::fetch::CacheHeaders| {
            schedule::cache_lifetime(
                cache.cache_control.as_deref(),
                cache.expires.as_deref(),
                cache.date.as_deref(),
                now,
            )
        };
        let fetched = match self.fetch_entries(source).await? {
            Polled::Changed(fetched) => fetched,
            Polled::NotModified(cache) => {
                if let Err(error) = self
                    .store
                    .still_listed(&source.name, now.timestamp_millis())
                    .await
                {
                    // only retention bookkeeping: the entries may be pruned an hour early
                    warn!(source = %source.name, %error, "cannot record that the feed is unchanged");
                }
                self.store
                    .record_poll_success(&source.name, None, now_millis())
                    .await?;
                debug!(source = %source.name, "not modified");
                return Ok(PollReport {
                    not_modified: true,
                    freshness: Freshness {
                        lifetime: lifetime(&cache),
                        ..Freshness::default()
                    },
                    ..PollReport::default()
                });
            }
        };
        let mut report = PollReport {
            entries: fetched.entries.len(),
            freshness: Freshness {
                lifetime: lifetime(&fetched.cache),
                ttl: fetched
                    .ttl_minutes
                    .filter(|minutes| *minutes > 0)
                    .map(|minutes| Duration::from_secs(u64::from(minutes) * 60)),
                update_period: fetched
                    .update_period
                    .as_deref()
                    .and_then(|period| schedule::update_period(period, fetched.update_frequency)),
                rhythm: schedule::entry_rhythm(
                    fetched
                        .entries
                        .iter()
                        .filter_map(|entry| entry.published.or(entry.updated))
                        .map(|date| date.approximate_utc()),
                    now,
                ),
            },
            ..PollReport::default()
        };
        self.process_entries(source, &fetched.url, &fetched.entries, now, &mut report)
            .await;
        if source.websub {
            self.note_hub(source, fetched.hub.as_ref()).await;
        }
        // deferred entries are still in this body: a 304 next time would hide them
        let validators = (report.failed_entries == 0 && report.deferred_entries == 0)
            .then_some(&fetched.validators);
        self.store
            .record_poll_success(&source.name, validators, now_millis())
            .await?;
        Ok(report)
    }

    /// Processes the entries of one fetch (a poll) or one push: each not seen before becomes an
    /// article, its matches and alerts, committed with its seen-mark. Counts go into `report`.
    pub(super) async fn process_entries(
        &self,
        source: &SourceConfig,
        feed_url: &Url,
        entries: &[Entry],
        now: DateTime<Utc>,
        report: &mut PollReport,
    ) {
        // Feeds list newest first; processing oldest first makes alerts arrive in story order.
        let mut keys_in_feed = std::collections::HashSet::new();
        let mut listed = Vec::new();
        for entry in entries.iter().rev() {
            let key = source::entry_key(entry);
            if !keys_in_feed.insert(key.clone()) {
                continue; // a duplicate inside this very feed: the first one stands for it
            }
            listed.push((entry, key));
        }
        // one look-up for the whole feed, which also records that the source still lists the
        // entries seen before (what retention keeps them by)
        let keys: Vec<&str> = listed.iter().map(|(_, key)| key.as_str()).collect();
        let seen = match self
            .store
            .seen_listed(&source.name, &keys, now.timestamp_millis())
            .await
        {
            Ok(seen) => seen,
            Err(error) => {
                warn!(source = %source.name, %error, "cannot read seen state; the entries are retried on the next poll");
                report.failed_entries += listed.len();
                return;
            }
        };
        let new_entries: Vec<_> = listed
            .into_iter()
            .filter(|(_, key)| !seen.contains(key))
            .collect();
        report.new_entries = new_entries.len();
        // Entries older than max_age raise no alert: they are recorded in one transaction (a
        // first poll of a long feed, or of ten thousand feeds, commits once per feed, not once
        // per entry).
        let (old_entries, mut new_entries): (Vec<_>, Vec<_>) = new_entries
            .into_iter()
            .partition(|(entry, _)| assemble::is_too_old(entry, source.max_age, now));
        // A feed of 100,000 new items must not become 100,000 articles in one poll: the newest
        // `max_entries_per_poll` are processed (the list is oldest first), the rest stay unseen
        // and come first among the new ones on the next poll.
        if new_entries.len() > source.max_entries_per_poll {
            let deferred = new_entries.len() - source.max_entries_per_poll;
            new_entries.drain(..deferred);
            report.deferred_entries = deferred;
            // counted when they are processed, not on every poll that leaves them for later
            report.new_entries = report.new_entries.saturating_sub(deferred);
            warn!(
                source = %source.name,
                processed = new_entries.len(),
                deferred,
                "more new entries than max_entries_per_poll: the newest are processed now, the rest on the next polls"
            );
        }
        if !old_entries.is_empty() {
            let rows: Vec<(&str, Option<&str>)> = old_entries
                .iter()
                .map(|(entry, key)| (key.as_str(), entry.url.as_deref()))
                .collect();
            match self
                .store
                .commit_seen(&source.name, &rows, now.timestamp_millis())
                .await
            {
                Ok(()) => report.old_entries += old_entries.len(),
                Err(error) => {
                    warn!(source = %source.name, %error, "old entries not recorded; they will be retried on the next poll");
                    report.failed_entries += old_entries.len();
                }
            }
        }
        // A few article pages in flight at once: a burst of new entries is alerted on in seconds,
        // without hammering the publisher.
        // Boxed with an explicit type: the closure-returned futures otherwise trip rustc's
        // higher-ranked lifetime inference when the poll runs in a spawned (Send) task.
        type Processing<'a> = std::pin::Pin<
            Box<
                dyn std::future::Future<Output = (&'a String, Result<Processed, StoreError>)>
                    + Send
                    + 'a,
            >,
        >;
        let processing: Vec<Processing<'_>> = new_entries
            .iter()
            .map(|(entry, key)| -> Processing<'_> {
                Box::pin(
                    async move { (key, self.process_entry(source, feed_url, entry, key).await) },
                )
            })
            .collect();
        let results: Vec<_> = stream::iter(processing)
            .buffered(ARTICLE_CONCURRENCY)
            .collect()
            .await;
        for (key, result) in results {
            match result {
                Ok(Processed::Old) => report.old_entries += 1,
                Ok(Processed::Unusable) => report.unusable_entries += 1,
                Ok(Processed::Committed(created)) => report.alerts_created.extend(created),
                Err(error) => {
                    entry_store_failure(
                        &source.name,
                        key,
                        &error,
                        "entry not committed; it will be retried on the next poll",
                    );
                    report.failed_entries += 1;
                }
            }
        }
    }

    async fn process_entry(
        &self,
        source: &SourceConfig,
        feed_url: &Url,
        entry: &Entry,
        key: &str,
    ) -> Result<Processed, StoreError> {
        let now = Utc::now();
        // recorded as seen without alerting
        let mark_seen = async || {
            self.store
                .commit_entry(
                    &source.name,
                    key,
                    entry.url.as_deref(),
                    &[],
                    now.timestamp_millis(),
                )
                .await
        };
        if assemble::is_too_old(entry, source.max_age, now) {
            mark_seen().await?;
            debug!(source = %source.name, entry = %model::clip(key, LOG_FIELD_CHARS), "older than max_age; recorded without alerting");
            return Ok(Processed::Old);
        }
        // A link that is there but not a plain http(s) URL (`javascript:`, `file:`, credentials)
        // cannot be fetched, and no chat service links to it: the alert would only become a dead
        // letter. The entry is recorded as seen (its identity does not change) without alerting.
        let link = assemble::entry_link(entry, feed_url);
        if matches!(&link, assemble::EntryLink::Unusable) {
            mark_seen().await?;
            debug!(source = %source.name, entry = %model::clip(key, LOG_FIELD_CHARS), "link is not an http(s) URL without credentials; recorded without alerting");
            return Ok(Processed::Unusable);
        }
        let mut article = self.article_for(source, feed_url, entry).await;
        assemble::article_in_zone(&mut article, source.timezone);
        let article_url = assemble::settle(&mut article, &link, &source.name, key);
        let watchlists = &self.config.watchlists;
        let (body, matches) =
            assemble::match_article(&self.matcher, &article, &source.name, &|index| {
                watchlists
                    .get(index)
                    .is_some_and(|watchlist| watchlist.applies_to(&source.name))
            });
        let alerts = self
            .new_alerts(&article, &article_url, &body, &source.name, &matches, now)
            .await?;
        let archived = self.archive_row(&article, &article_url, &source.name, now);
        let created = self
            .store
            .commit_processed(
                &source.name,
                key,
                entry.url.as_deref(),
                &alerts,
                archived.as_ref(),
                now.timestamp_millis(),
            )
            .await?;
        self.announce(&alerts, &created, &article.title);
        Ok(Processed::Committed(created))
    }

    /// The alerts `matches` raise for a settled article from `source`, as if it arrived `now`:
    /// one per watchlist not yet alerted on this article, with its payload and the body's
    /// fingerprint (the store applies the near-duplicate rule when committing).
    pub(super) async fn new_alerts(
        &self,
        article: &Article,
        article_url: &str,
        body: &str,
        source: &str,
        matches: &[Match],
        now: DateTime<Utc>,
    ) -> Result<Vec<NewAlert>, StoreError> {
        let fingerprint = crate::similarity::fingerprint(body);
        let watchlists = &self.config.watchlists;
        let mut alerts = Vec::with_capacity(matches.len());
        for found in matches {
            let Some(watchlist) = watchlists.get(found.watchlist) else {
                continue;
            };
            let id = alert::alert_id(&watchlist.name, article_url);
            if self.store.has_alert(&watchlist.name, article_url).await? {
                continue;
            }
            match alert::payload_json(&id, &watchlist.name, source, now, &found.hits, article) {
                Ok(payload) => alerts.push(NewAlert {
                    id,
                    fingerprint,
                    title: article.title.clone(),
                    watchlist: watchlist.name.clone(),
                    article_url: article_url.to_string(),
                    source: source.to_string(),
                    payload,
                    sinks: watchlist.sinks.clone(),
                }),
                Err(error) => {
                    warn!(watchlist = %watchlist.name, %error, "cannot serialize alert payload")
                }
            }
        }
        Ok(alerts)
    }

    /// The archive row of a processed article, unless the archive is off. A record that cannot
    /// be encoded is logged and the article processed without it: the archive never costs an
    /// alert.
    fn archive_row(
        &self,
        article: &Article,
        article_url: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Option<ArchivedArticle> {
        self.config.archive.retention?;
        match crate::archive::archived(article, article_url, source, now.timestamp_millis()) {
            Ok(row) => Some(row),
            Err(error) => {
                warn!(source, url = %article_url, %error, "article not archived");
                None
            }
        }
    }

    /// Counts and logs the alerts a commit created and wakes their sinks.
    pub(super) fn announce(&self, alerts: &[NewAlert], created: &[String], title: &str) {
        for alert in alerts.iter().filter(|alert| created.contains(&alert.id)) {
            self.metrics
                .alerts
                .get_or_create(&WatchlistLabel {
                    watchlist: alert.watchlist.clone(),
                })
                .inc();
            info!(
                watchlist = %alert.watchlist,
                source = %alert.source,
                title = %model::clip(title, LOG_FIELD_CHARS),
                url = %alert.article_url,
                id = %alert.id,
                "alert created"
            );
            for sink in &alert.sinks {
                if let Some(slot) = self.sinks.get(sink) {
                    slot.wake.notify_one();
                }
            }
        }
    }

    /// The article for an entry: its page fetched and extracted, or — when `fetch_article` is off
    /// or the page fails — built from the entry's own content.
    async fn article_for(&self, source: &SourceConfig, feed_url: &Url, entry: &Entry) -> Article {
        let link = entry
            .url
            .as_deref()
            .and_then(|link| feed_url.join(link).ok());
        let (true, Some(link)) = (source.fetch_article, link) else {
            self.count_article("feed_entry");
            return assemble::article_from_entry(entry, feed_url);
        };
        let started = std::time::Instant::now();
        let article = self.fetch_article(source, feed_url, entry, &link).await;
        self.metrics
            .article_seconds
            .observe(started.elapsed().as_secs_f64());
        article
    }

    fn count_article(&self, outcome: &str) {
        self.metrics
            .articles
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_string(),
            })
            .inc();
    }

    async fn fetch_article(
        &self,
        source: &SourceConfig,
        feed_url: &Url,
        entry: &Entry,
        link: &Url,
    ) -> Article {
        let link = link.clone();
        if source.respect_robots {
            if let Err(error) = self.fetcher.robots_allow(&link, Origin::Content).await {
                warn!(source = %source.name, url = %link, %error, "article page not fetched; using the feed entry's content");
                return assemble::article_from_entry(entry, feed_url);
            }
        }
        match self
            .fetcher
            .get(
                &link,
                Origin::Content,
                None,
                self.config.fetch.max_page_size,
            )
            .await
        {
            Ok(Fetched::Page(page)) => {
                let final_url = page.final_url.clone();
                let extracted = tokio::task::spawn_blocking(move || {
                    assemble::article_from_page(
                        &page.body,
                        page.content_type.as_deref(),
                        &page.final_url,
                    )
                })
                .await;
                match extracted {
                    Ok((mut article, notes)) => {
                        for note in notes.warnings() {
                            warn!(source = %source.name, url = %link, "{note}");
                        }
                        self.count_article("extracted");
                        article.fetched_url = final_url.to_string();
                        assemble::fill_from_entry(&mut article, entry, feed_url);
                        article
                    }
                    Err(error) => {
                        self.count_article("entry_fallback");
                        warn!(source = %source.name, url = %link, %error, "extraction failed; using the feed entry's content");
                        assemble::article_from_entry(entry, feed_url)
                    }
                }
            }
            Ok(Fetched::NotModified(_)) => {
                self.count_article("entry_fallback");
                assemble::article_from_entry(entry, feed_url)
            }
            Err(error) => {
                self.count_article("entry_fallback");
                warn!(source = %source.name, url = %link, %error, "article page not fetched; using the feed entry's content");
                assemble::article_from_entry(entry, feed_url)
            }
        }
    }
}

enum Processed {
    Old,
    Unusable,
    Committed(Vec<String>),
}

/// Longest text (a title, an entry id) written into one log field, in characters.
const LOG_FIELD_CHARS: usize = 200;

/// A store failure about one entry: warned of, except an unreachable database, which the store
/// logs once per outage rather than once per entry.
fn entry_store_failure(source: &str, key: &str, error: &StoreError, message: &str) {
    let entry = model::clip(key, LOG_FIELD_CHARS);
    if error.is_unavailable() {
        debug!(source, %entry, %error, "{message}");
    } else {
        warn!(source, %entry, %error, "{message}");
    }
}
