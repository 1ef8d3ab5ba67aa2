//! Backfill and archive upkeep. When a watchlist is new or its query changed (at start-up or on
//! a reload) and it has `backfill = "24h"`, the archived articles of that window that match it
//! raise alerts once, exactly as if they arrived now: the same matching function, alert ids,
//! has-alert check, near-duplicate rule and outbox as a poll. The hash of each watchlist's
//! compiled query (and sources) is recorded after its backfill, so a restart or a second
//! reload does not backfill again. Archive rows older than `[archive] retention` are pruned
//! here too, in small batches.
//!
//! It does not decode records (the `archive` module does) or decide what a match is
//! (`assemble::match_article` does).

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use super::Pipeline;
use crate::assemble;
use crate::config::WatchlistConfig;
use crate::store::{ArchiveCursor, Millis, StoreError};

/// Archived rows read per page: a bounded amount of memory whatever the archive holds.
const PAGE_ROWS: usize = 200;

/// Archived rows deleted per transaction: short enough never to hold up a poll's commit.
pub(super) const PRUNE_BATCH: usize = 500;

/// What a backfill found, per watchlist backfilled: (watchlist, articles matched, alerts
/// created).
pub type BackfillReport = Vec<(String, usize, usize)>;

/// The identity of what a watchlist watches: its compiled query and the sources it applies to.
/// Rewording the query text without changing its meaning does not change it.
pub fn query_hash(watchlist: &WatchlistConfig) -> String {
    let digest = Sha256::digest(format!("{:?}\n{:?}", watchlist.query, watchlist.sources));
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl Pipeline {
    /// Backfills every watchlist that is new or changed since its last backfill; a watchlist
    /// without `backfill` only has its query recorded. A watchlist whose backfill fails (the
    /// store refused) is logged and tried again at the next start or reload.
    pub async fn backfill(&self, now: DateTime<Utc>) -> BackfillReport {
        let mut pending = Vec::new();
        for (index, watchlist) in self.config.watchlists.iter().enumerate() {
            let hash = query_hash(watchlist);
            match self.store.backfilled_query(&watchlist.name).await {
                Ok(Some(done)) if done == hash => {}
                Ok(_) => pending.push((index, hash)),
                Err(error) => {
                    warn!(watchlist = %watchlist.name, %error, "cannot read the backfill record; no backfill now")
                }
            }
        }
        let now_millis = now.timestamp_millis();
        // the window of each pending watchlist, clipped to what the archive keeps
        let retention = self.config.archive.retention.map(millis);
        let cutoffs: Vec<Option<Millis>> = self
            .config
            .watchlists
            .iter()
            .enumerate()
            .map(|(index, watchlist)| {
                let pending = pending.iter().any(|(pending, _)| *pending == index);
                let window = millis(watchlist.backfill.filter(|_| pending)?).min(retention?);
                Some(now_millis.saturating_sub(window))
            })
            .collect();
        let mut report: BackfillReport = Vec::new();
        let scanned = match cutoffs.iter().flatten().min() {
            Some(oldest) => self.backfill_since(*oldest, &cutoffs, now).await,
            None => Ok(vec![(0, 0); cutoffs.len()]),
        };
        let counts = match scanned {
            Ok(counts) => counts,
            Err(error) => {
                warn!(%error, "backfill failed; it is tried again at the next start or reload");
                return report;
            }
        };
        for (index, hash) in pending {
            let Some(watchlist) = self.config.watchlists.get(index) else {
                continue;
            };
            if cutoffs.get(index).is_some_and(Option::is_some) {
                let (found, created) = counts.get(index).copied().unwrap_or((0, 0));
                info!(watchlist = %watchlist.name, matched = found, alerts = created, "backfilled from the archive");
                report.push((watchlist.name.clone(), found, created));
            }
            if let Err(error) = self
                .store
                .record_backfill(&watchlist.name, &hash, now_millis)
                .await
            {
                warn!(watchlist = %watchlist.name, %error, "cannot record the backfill; it may run again at the next start");
            }
        }
        report
    }

    /// One pass over the archive from `oldest`, newest first: each row is matched against the
    /// watchlists whose cutoff it is within, and its alerts committed. Per watchlist index:
    /// (articles matched, alerts created).
    async fn backfill_since(
        &self,
        oldest: Millis,
        cutoffs: &[Option<Millis>],
        now: DateTime<Utc>,
    ) -> Result<Vec<(usize, usize)>, StoreError> {
        let watchlists = &self.config.watchlists;
        let mut counts = vec![(0, 0); watchlists.len()];
        let mut cursor: Option<ArchiveCursor> = None;
        loop {
            let page = self
                .store
                .archive_page(oldest, None, cursor.as_ref(), PAGE_ROWS)
                .await?;
            for row in &page {
                let article = match crate::archive::decode(&row.record) {
                    Ok(article) => article,
                    Err(error) => {
                        warn!(id = %row.id, url = %row.url, %error, "archived article skipped");
                        continue;
                    }
                };
                let (body, matches) =
                    assemble::match_article(&self.matcher, &article, &row.source, &|index| {
                        cutoffs
                            .get(index)
                            .copied()
                            .flatten()
                            .is_some_and(|cutoff| row.processed_at >= cutoff)
                            && watchlists
                                .get(index)
                                .is_some_and(|watchlist| watchlist.applies_to(&row.source))
                    });
                if matches.is_empty() {
                    continue;
                }
                let alerts = self
                    .new_alerts(&article, &row.url, &body, &row.source, &matches, now)
                    .await?;
                let created = self
                    .store
                    .commit_alerts(&alerts, now.timestamp_millis())
                    .await?;
                self.announce(&alerts, &created, &article.title);
                for found in &matches {
                    if let Some(count) = counts.get_mut(found.watchlist) {
                        count.0 += 1;
                    }
                }
                for alert in alerts.iter().filter(|alert| created.contains(&alert.id)) {
                    if let Some(index) = watchlists.iter().position(|w| w.name == alert.watchlist) {
                        counts[index].1 += 1;
                    }
                }
            }
            match page.last() {
                Some(last) if page.len() == PAGE_ROWS => {
                    cursor = Some(ArchiveCursor {
                        processed_at: last.processed_at,
                        id: last.id.clone(),
                    })
                }
                _ => return Ok(counts),
            }
        }
    }

    /// Deletes archived articles older than the retention, a batch per transaction; how many.
    /// Nothing when the archive is off (its rows, if any, are left as they are).
    pub async fn prune_archive(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let Some(retention) = self.config.archive.retention else {
            return Ok(0);
        };
        let before = now.timestamp_millis().saturating_sub(millis(retention));
        let mut total = 0;
        loop {
            let deleted = self.store.prune_archive(before, PRUNE_BATCH).await?;
            total += deleted;
            if deleted < PRUNE_BATCH {
                return Ok(total);
            }
            // let polls and deliveries between batches
            tokio::task::yield_now().await;
        }
    }
}

fn millis(duration: std::time::Duration) -> Millis {
    Millis::try_from(duration.as_millis()).unwrap_or(Millis::MAX)
}

#[cfg(test)]
mod tests;
