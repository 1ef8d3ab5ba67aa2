//! The loops the daemon runs — one polling loop per source, one delivery loop per sink, each
//! until cancelled (the supervisor starts and stops them) — and [`once`], one pass over every
//! source followed by delivery of everything due.
//!
//! Shutdown: cancelling the token stops polling and delivery at the next await; whatever was in
//! flight is safe to abandon because an entry is committed (seen + alerts) in one transaction
//! and an outbox row stays pending until a sink accepted it. Tasks get a deadline to finish.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::{now_millis, DeliveryReport, Pipeline};
use crate::config::SourceConfig;

type PollResult = Result<super::PollReport, super::process::PollError>;

/// Sources `once` polls at a time: enough to keep the network busy, few enough that ten thousand
/// sources never hold ten thousand bodies in memory (per-host limits apply on top).
const ONCE_CONCURRENCY: usize = 64;

/// How often archived articles past `[archive] retention` are pruned: rows outlive the
/// retention by at most this.
const ARCHIVE_PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Upper bound on an idle delivery loop's sleep, so rows that fell due (retries) are picked up
/// even without a wake-up.
const DELIVERY_IDLE: Duration = Duration::from_secs(30);

pub(super) async fn source_loop(
    pipeline: Arc<Pipeline>,
    source: SourceConfig,
    stagger: Duration,
    shutdown: CancellationToken,
) {
    if !sleep_or_cancel(stagger, &shutdown).await {
        return;
    }
    let clustered = pipeline.clustered();
    let lease = format!("source:{}", source.name);
    // a wake-up (the WebSub subscription ended) polls before the schedule says so
    let mut woken = false;
    loop {
        if clustered {
            // instances sharing the database: poll only with the source's lease, and only when
            // its schedule (whoever polled it last) is due
            if let Some(wait) = pipeline.claim_poll(&source.name, !woken).await {
                if !sleep_or_wake(&pipeline, &source, wait, &shutdown, &mut woken).await {
                    return;
                }
                continue;
            }
        }
        woken = false;
        let poll = async {
            let result = tokio::select! {
                result = pipeline.poll_source(&source) => result,
                _ = shutdown.cancelled() => return None,
            };
            if let Ok(report) = &result {
                log_poll(&source, report);
            }
            // records the outcome (health, rhythm) and asks crate::schedule for the delay
            Some(pipeline.after_poll(&source, &result).await)
        };
        let delay = if clustered {
            pipeline.holding(&lease, poll).await
        } else {
            poll.await
        };
        let Some(delay) = delay else {
            return;
        };
        if !sleep_or_wake(&pipeline, &source, delay, &shutdown, &mut woken).await {
            return;
        }
    }
}

/// Sleeps `delay`, or less when the source is woken (its WebSub subscription ended: pushes no
/// longer cover it); false when cancelled.
async fn sleep_or_wake(
    pipeline: &Pipeline,
    source: &SourceConfig,
    delay: Duration,
    shutdown: &CancellationToken,
    woken: &mut bool,
) -> bool {
    let wake = pipeline.poll_wakes.get(&source.name);
    tokio::select! {
        _ = tokio::time::sleep(delay) => true,
        _ = async { match wake { Some(wake) => wake.notified().await, None => std::future::pending().await } } => {
            *woken = true;
            true
        }
        _ = shutdown.cancelled() => false,
    }
}

fn log_poll(source: &SourceConfig, report: &super::PollReport) {
    if report.new_entries > 0 || report.failed_entries > 0 {
        info!(
            source = %source.name,
            entries = report.entries,
            new = report.new_entries,
            old = report.old_entries,
            alerts = report.alerts_created.len(),
            failed = report.failed_entries,
            deferred = report.deferred_entries,
            unusable_links = report.unusable_entries,
            "polled"
        );
    } else {
        tracing::debug!(source = %source.name, not_modified = report.not_modified, "polled, nothing new");
    }
}

/// Logs an outbox the delivery loop could not read (an unreachable database is logged once
/// by the store, not here every few seconds) and says when to try again.
fn outbox_unread(sink: &str, store_error: &crate::store::StoreError) -> Duration {
    if store_error.is_unavailable() {
        tracing::debug!(sink, error = %store_error, "cannot read the outbox");
    } else {
        error!(sink, error = %store_error, "cannot read the outbox");
    }
    Duration::from_secs(5)
}

/// Sleeps; false when cancelled first.
async fn sleep_or_cancel(duration: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(duration) => true,
        _ = shutdown.cancelled() => false,
    }
}

pub(super) async fn delivery_loop(
    pipeline: Arc<Pipeline>,
    sink: String,
    shutdown: CancellationToken,
) {
    let Some(slot) = pipeline.sinks.get(&sink) else {
        return;
    };
    loop {
        let result = tokio::select! {
            result = pipeline.deliver_all_due(&sink) => result,
            _ = shutdown.cancelled() => return,
        };
        let idle = match result {
            Err(store_error) => outbox_unread(&sink, &store_error),
            Ok(_) => match pipeline.next_send(&sink).await {
                Ok(Some(next)) => {
                    Duration::from_millis((next - now_millis()).max(0) as u64).min(DELIVERY_IDLE)
                }
                Ok(None) => DELIVERY_IDLE,
                Err(store_error) => outbox_unread(&sink, &store_error),
            },
        };
        tokio::select! {
            _ = tokio::time::sleep(idle) => {}
            _ = slot.wake.notified() => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Prunes the archive now and every [`ARCHIVE_PRUNE_EVERY`] until cancelled.
pub(super) async fn archive_loop(pipeline: Arc<Pipeline>, shutdown: CancellationToken) {
    loop {
        prune_archive(&pipeline).await;
        if !sleep_or_cancel(ARCHIVE_PRUNE_EVERY, &shutdown).await {
            return;
        }
    }
}

async fn prune_archive(pipeline: &Pipeline) {
    match pipeline.prune_archive(chrono::Utc::now()).await {
        Ok(0) => {}
        Ok(deleted) => info!(deleted, "archived articles past the retention pruned"),
        Err(store_error) => {
            warn!(error = %store_error, "cannot prune the archive; trying again later")
        }
    }
}

pub(super) async fn warn_about_orphaned_deliveries(pipeline: &Pipeline) {
    match pipeline.store.pending_by_sink().await {
        Ok(pending) => {
            for (sink, count) in pending {
                if pipeline.config.sink(&sink).is_none() {
                    warn!(sink = %sink, pending = count, "alerts are waiting for a sink that is no longer configured; add it back to deliver them");
                }
            }
        }
        Err(store_error) => error!(error = %store_error, "cannot read the outbox"),
    }
}

/// What `wirewatch once` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OnceSummary {
    pub sources: usize,
    pub sources_failed: usize,
    /// Sources that answered 304 Not Modified.
    pub sources_not_modified: usize,
    pub entries_new: usize,
    pub alerts_created: usize,
    pub delivery: DeliveryReport,
    /// Rows still pending after the pass (their next attempt lies in the future).
    pub pending: u64,
    /// Writes the state database refused during the pass, and the last refusal: results of the
    /// pass are then missing from it, so `once` fails.
    pub store_failures: u64,
    pub store_problem: Option<String>,
}

impl std::fmt::Display for OnceSummary {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "polled {} source{} ({} failed), {} new entr{}, {} alert{} created, {} delivered, {} awaiting retry, {} dead",
            self.sources,
            if self.sources == 1 { "" } else { "s" },
            self.sources_failed,
            self.entries_new,
            if self.entries_new == 1 { "y" } else { "ies" },
            self.alerts_created,
            if self.alerts_created == 1 { "" } else { "s" },
            self.delivery.delivered,
            self.pending,
            self.delivery.dead,
        )
    }
}

/// Polls every source once (concurrently), then delivers until nothing is due now.
pub async fn once(pipeline: Arc<Pipeline>) -> OnceSummary {
    warn_about_orphaned_deliveries(&pipeline).await;
    let store_failures_before = pipeline.store.write_failures();
    let mut summary = OnceSummary {
        sources: pipeline.config.sources.len(),
        ..OnceSummary::default()
    };
    prune_archive(&pipeline).await;
    let backfilled = pipeline.backfill(chrono::Utc::now()).await;
    summary.alerts_created += backfilled
        .iter()
        .map(|(_, _, created)| created)
        .sum::<usize>();
    // Each poll is its own task so parsing and bookkeeping spread over every core; the semaphore
    // keeps ONCE_CONCURRENCY in flight and finished polls are collected as they end, so memory
    // stays bounded with any number of sources.
    let slots = Arc::new(tokio::sync::Semaphore::new(ONCE_CONCURRENCY));
    let mut polls = tokio::task::JoinSet::new();
    let mut record =
        |finished: Result<(SourceConfig, PollResult), tokio::task::JoinError>| match finished {
            Ok((source, Ok(report))) => {
                log_poll(&source, &report);
                summary.entries_new += report.new_entries;
                summary.alerts_created += report.alerts_created.len();
                summary.sources_not_modified += usize::from(report.not_modified);
            }
            Ok((_, Err(_))) => summary.sources_failed += 1,
            Err(join_error) => {
                summary.sources_failed += 1;
                error!(error = %join_error, "a poll task failed");
            }
        };
    for source in pipeline.config.sources.iter().cloned() {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            break; // the semaphore is never closed
        };
        let pipeline = Arc::clone(&pipeline);
        polls.spawn(async move {
            let result = pipeline.poll_source(&source).await;
            // the same bookkeeping as the daemon's (failures, health messages, next poll)
            pipeline.after_poll(&source, &result).await;
            drop(slot);
            (source, result)
        });
        while let Some(finished) = polls.try_join_next() {
            record(finished);
        }
    }
    while let Some(finished) = polls.join_next().await {
        record(finished);
    }
    let deliveries = pipeline.config.sinks.iter().map(|sink| {
        let pipeline = &pipeline;
        async move { (sink, pipeline.deliver_all_due(&sink.name).await) }
    });
    for (sink, result) in join_all(deliveries).await {
        match result {
            Ok(report) => summary.delivery.add(report),
            Err(store_error) => {
                error!(sink = %sink.name, error = %store_error, "cannot read the outbox")
            }
        }
    }
    summary.pending = pipeline
        .store
        .outbox_counts()
        .await
        .map(|counts| counts.pending)
        .unwrap_or(0);
    summary.store_failures = pipeline
        .store
        .write_failures()
        .saturating_sub(store_failures_before);
    if summary.store_failures > 0 {
        summary.store_problem = pipeline.store.write_problem();
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::store::Store;

    /// Regression (issue 16, defect 5): `once` exited 0 although the database refused every
    /// poll result. The refused writes are counted (so the command fails) and the source's
    /// failure is kept in memory.
    #[tokio::test]
    async fn once_reports_store_write_failure() {
        let text = r#"
            [daemon]
            listen = "off"
            [sources.closed]
            url = "http://127.0.0.1:9/feed"
            [watchlists.w]
            query = "x"
            [sinks.journal]
            kind = "log"
        "#;
        let path = std::path::Path::new("wirewatch.toml");
        let config = Config::parse(text, path, std::path::Path::new("."), &|_| None).unwrap();
        let store = Arc::new(Store::open_in_memory().unwrap());
        store.make_read_only();
        let metrics = Arc::new(super::super::Metrics::new());
        let pipeline = Pipeline::build(config, Arc::clone(&store), metrics).unwrap();
        let summary = once(Arc::new(pipeline)).await;
        assert_eq!(summary.sources_failed, 1, "{summary:?}");
        assert!(summary.store_failures >= 1, "{summary:?}");
        assert!(
            summary
                .store_problem
                .as_deref()
                .is_some_and(|problem| problem.contains("readonly")),
            "{summary:?}"
        );
        let health = store.source_health("closed").await.unwrap().unwrap();
        assert_eq!(health.consecutive_failures, 1);
        assert!(health
            .last_error
            .is_some_and(|error| error.contains("fetch")));
    }
}
