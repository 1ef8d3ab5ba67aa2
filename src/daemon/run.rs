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
use rand::Rng;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::{now_millis, DeliveryReport, Pipeline};
use crate::config::SourceConfig;

/// Longest back-off after repeated poll failures.
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);

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
    let mut failures: u32 = 0;
    loop {
        let result = tokio::select! {
            result = pipeline.poll_source(&source) => result,
            _ = shutdown.cancelled() => return,
        };
        let delay = match result {
            Ok(report) => {
                failures = 0;
                log_poll(&source, &report);
                jittered(source.interval)
            }
            Err(poll_error) => {
                failures = failures.saturating_add(1);
                let backoff = source
                    .interval
                    .saturating_mul(1 << (failures - 1).min(8))
                    .min(MAX_BACKOFF.max(source.interval));
                let delay = poll_error
                    .retry_after()
                    .map_or(backoff, |asked| asked.max(backoff));
                if let Err(store_error) = pipeline.store.record_poll_failure(
                    &source.name,
                    &poll_error.to_string(),
                    now_millis(),
                ) {
                    error!(source = %source.name, error = %store_error, "cannot record poll failure");
                }
                warn!(
                    source = %source.name,
                    error = %poll_error,
                    failures,
                    next_poll_in = %humantime::format_duration(delay),
                    "poll failed"
                );
                delay
            }
        };
        if !sleep_or_cancel(delay, &shutdown).await {
            return;
        }
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
            "polled"
        );
    } else {
        tracing::debug!(source = %source.name, not_modified = report.not_modified, "polled, nothing new");
    }
}

/// ±10 % so that sources with equal intervals drift apart instead of polling in lock-step.
fn jittered(interval: Duration) -> Duration {
    let factor = rand::thread_rng().gen_range(0.9..1.1);
    interval.mul_f64(factor)
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
            Err(store_error) => {
                error!(sink = %sink, error = %store_error, "cannot read the outbox");
                Duration::from_secs(5)
            }
            Ok(_) => match pipeline.store.next_due(&sink) {
                Ok(Some(next)) => {
                    Duration::from_millis((next - now_millis()).max(0) as u64).min(DELIVERY_IDLE)
                }
                Ok(None) => DELIVERY_IDLE,
                Err(store_error) => {
                    error!(sink = %sink, error = %store_error, "cannot read the outbox");
                    Duration::from_secs(5)
                }
            },
        };
        tokio::select! {
            _ = tokio::time::sleep(idle) => {}
            _ = slot.wake.notified() => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

pub(super) fn warn_about_orphaned_deliveries(pipeline: &Pipeline) {
    match pipeline.store.pending_by_sink() {
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
    pub entries_new: usize,
    pub alerts_created: usize,
    pub delivery: DeliveryReport,
    /// Rows still pending after the pass (their next attempt lies in the future).
    pub pending: u64,
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
    warn_about_orphaned_deliveries(&pipeline);
    let mut summary = OnceSummary {
        sources: pipeline.config.sources.len(),
        ..OnceSummary::default()
    };
    let polls = pipeline.config.sources.iter().map(|source| {
        let pipeline = &pipeline;
        async move { (source, pipeline.poll_source(source).await) }
    });
    for (source, result) in join_all(polls).await {
        match result {
            Ok(report) => {
                log_poll(source, &report);
                summary.entries_new += report.new_entries;
                summary.alerts_created += report.alerts_created.len();
            }
            Err(poll_error) => {
                summary.sources_failed += 1;
                if let Err(store_error) = pipeline.store.record_poll_failure(
                    &source.name,
                    &poll_error.to_string(),
                    now_millis(),
                ) {
                    error!(source = %source.name, error = %store_error, "cannot record poll failure");
                }
                warn!(source = %source.name, error = %poll_error, "poll failed");
            }
        }
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
        .map(|counts| counts.pending)
        .unwrap_or(0);
    summary
}
