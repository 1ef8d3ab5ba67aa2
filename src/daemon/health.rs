//! Bookkeeping after each poll: record the outcome (failure count, last error, entry rhythm),
//! report a source unhealthy after `[daemon] health_failures` consecutive failures and recovered
//! on its next success — each message created once, in the outbox, for the `health_sinks` — and
//! ask the pure scheduler when to poll next (slower while a WebSub hub pushes the source).
//!
//! It neither polls nor sleeps: `run` and `once` call [`Pipeline::after_poll`] with the result
//! of a poll and do what the returned delay says (`once` ignores it).

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rand::Rng;
use tracing::{error, info, warn};

use super::process::{PollError, PollReport};
use super::Pipeline;
use crate::alert::{self, SourceHealthRecord};
use crate::config::{FetchConfig, SourceConfig};
use crate::schedule::{self, EntryRhythm, Outcome, Reason};
use crate::store::{HealthAlert, Millis, SourceHealth};

/// The scheduling policy of a source: its own settings with the `[fetch]` defaults.
pub fn policy(source: &SourceConfig, fetch: &FetchConfig) -> schedule::Policy {
    schedule::Policy {
        interval: source.interval,
        min_interval: source.min_interval,
        max_interval: source.max_interval,
        adaptive: source.adaptive,
        max_backoff: fetch.max_backoff,
        circuit_breaker_failures: fetch.circuit_breaker_failures,
    }
}

/// The entry rhythm a store row remembers.
pub fn stored_rhythm(health: &SourceHealth) -> Option<EntryRhythm> {
    let gap = u64::try_from(health.entry_gap_ms?).ok()?;
    Some(EntryRhythm {
        mean_gap: Duration::from_millis(gap),
        newest: instant(health.newest_entry_at?)?,
    })
}

pub fn instant(millis: Millis) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(millis).single()
}

impl Pipeline {
    /// Records a poll's outcome, creates health messages when due, and returns how long to wait
    /// before polling this source again.
    pub async fn after_poll(
        &self,
        source: &SourceConfig,
        result: &Result<PollReport, PollError>,
    ) -> Duration {
        let now = Utc::now();
        let millis = now.timestamp_millis();
        let policy = policy(source, &self.config.fetch);
        // the database, not the source, failed: nothing is counted against the source (its
        // entries stay unseen) and it is polled again as soon as its bounds allow
        if matches!(result, Err(PollError::Store(error)) if error.is_unavailable()) {
            return policy.min_interval;
        }
        let outcome = match result {
            Ok(report) => {
                let mut freshness = report.freshness;
                let rhythm = freshness.rhythm.map(|rhythm| {
                    (
                        i64::try_from(rhythm.mean_gap.as_millis()).unwrap_or(i64::MAX),
                        rhythm.newest.timestamp_millis(),
                    )
                });
                let new_entry_at = (report.new_entries > 0).then_some(millis);
                if let Err(store_error) = self
                    .store
                    .record_entries(&source.name, new_entry_at, rhythm)
                    .await
                {
                    error!(source = %source.name, error = %store_error, "cannot record the entry rhythm");
                }
                let health = self.store.source_health(&source.name).await.ok().flatten();
                if freshness.rhythm.is_none() {
                    // a 304 (or a feed without dates) keeps the rhythm learned before
                    freshness.rhythm = health.as_ref().and_then(stored_rhythm);
                }
                // read first: a healthy source (nearly every poll) then costs no transaction
                if health.is_none_or(|health| health.unhealthy_since.is_some()) {
                    self.report_recovery(source, now).await;
                }
                Outcome::Success(freshness)
            }
            Err(poll_error) => {
                let failures = match self
                    .store
                    .record_poll_failure(&source.name, &poll_error.to_string(), millis)
                    .await
                {
                    Ok(failures) => failures,
                    Err(store_error) => {
                        error!(source = %source.name, error = %store_error, "cannot record poll failure; the state database refuses writes, so health is kept in memory");
                        // the store counted it in memory on top of what the database holds
                        self.store
                            .source_health(&source.name)
                            .await
                            .ok()
                            .flatten()
                            .map_or(1, |health| health.consecutive_failures.max(1))
                    }
                };
                if failures >= self.config.daemon.health_failures {
                    self.report_unhealthy(source, now, failures, &poll_error.to_string())
                        .await;
                }
                Outcome::Failure {
                    failures,
                    retry_after: poll_error.retry_after(),
                }
            }
        };
        let mut next = schedule::next_poll(&policy, &outcome, now, rand::thread_rng().gen());
        // entries beyond max_entries_per_poll wait in the feed: come back as early as the
        // source's bounds allow instead of after a whole interval
        if matches!(result, Ok(report) if report.deferred_entries > 0) {
            next.delay = next.delay.min(policy.min_interval);
        }
        // while a hub pushes, polling is only the fallback for what it may drop
        let pushed = result.is_ok() && self.websub_active(source, millis).await;
        if pushed {
            next.delay = crate::websub::fallback_delay(next.delay, policy.max_interval);
        }
        let next_poll_at =
            millis.saturating_add(i64::try_from(next.delay.as_millis()).unwrap_or(i64::MAX));
        if let Err(store_error) = self
            .store
            .record_next_poll(&source.name, next_poll_at)
            .await
        {
            error!(source = %source.name, error = %store_error, "cannot record the next poll time");
        }
        if let (Err(poll_error), Outcome::Failure { failures, .. }) = (result, outcome) {
            let delay = humantime::format_duration(Duration::from_secs(next.delay.as_secs()));
            if next.reason == Reason::CircuitOpen {
                if failures == policy.circuit_breaker_failures {
                    error!(source = %source.name, url = %source.url, error = %poll_error, failures, next_poll_in = %delay, "source looks dead: polling it only once per max_backoff until it answers");
                }
            } else {
                warn!(source = %source.name, error = %poll_error, failures, next_poll_in = %delay, reason = next.reason.describe(), "poll failed");
            }
        } else {
            tracing::debug!(source = %source.name, next_poll_in = %humantime::format_duration(Duration::from_secs(next.delay.as_secs())), reason = next.reason.describe(), websub = pushed, "scheduled");
        }
        next.delay
    }

    async fn report_unhealthy(
        &self,
        source: &SourceConfig,
        now: DateTime<Utc>,
        failures: u32,
        last_error: &str,
    ) {
        let millis = now.timestamp_millis();
        let last_success = self
            .store
            .source_health(&source.name)
            .await
            .ok()
            .flatten()
            .and_then(|health| health.last_success_at)
            .and_then(instant);
        let sinks = &self.config.daemon.health_sinks;
        let created = self
            .store
            .mark_unhealthy(&source.name, millis, || {
                if sinks.is_empty() {
                    return None;
                }
                let id = alert::health_id(alert::SOURCE_UNHEALTHY, &source.name, millis);
                let record = SourceHealthRecord {
                    url: source.url.as_str(),
                    kind: source.kind.name(),
                    consecutive_failures: failures,
                    last_error: Some(last_error),
                    last_success: last_success.map(alert::rfc3339),
                    unhealthy_since: alert::rfc3339(now),
                };
                self.health_alert(&id, alert::SOURCE_UNHEALTHY, source, now, record)
            })
            .await;
        match created {
            Ok(true) => {
                error!(source = %source.name, url = %source.url, failures, error = last_error, "source is unhealthy");
                self.wake_health_sinks();
            }
            Ok(false) => {}
            Err(store_error) => {
                error!(source = %source.name, error = %store_error, "cannot record the source as unhealthy")
            }
        }
    }

    async fn report_recovery(&self, source: &SourceConfig, now: DateTime<Utc>) {
        let sinks = &self.config.daemon.health_sinks;
        let created = self
            .store
            .mark_recovered(&source.name, now.timestamp_millis(), |since| {
                if sinks.is_empty() {
                    return None;
                }
                let id = alert::health_id(alert::SOURCE_RECOVERED, &source.name, since);
                let record = SourceHealthRecord {
                    url: source.url.as_str(),
                    kind: source.kind.name(),
                    consecutive_failures: 0,
                    last_error: None,
                    last_success: Some(alert::rfc3339(now)),
                    unhealthy_since: instant(since).map(alert::rfc3339).unwrap_or_default(),
                };
                self.health_alert(&id, alert::SOURCE_RECOVERED, source, now, record)
            })
            .await;
        match created {
            Ok(true) => {
                info!(source = %source.name, url = %source.url, "source recovered");
                self.wake_health_sinks();
            }
            Ok(false) => {}
            Err(store_error) => {
                error!(source = %source.name, error = %store_error, "cannot record the source's recovery")
            }
        }
    }

    fn health_alert(
        &self,
        id: &str,
        kind: &'static str,
        source: &SourceConfig,
        now: DateTime<Utc>,
        record: SourceHealthRecord<'_>,
    ) -> Option<HealthAlert> {
        match alert::health_payload_json(id, kind, &source.name, now, record) {
            Ok(payload) => Some(HealthAlert {
                id: id.to_string(),
                kind,
                payload,
                sinks: self.config.daemon.health_sinks.clone(),
            }),
            Err(error) => {
                warn!(source = %source.name, %error, "cannot serialize the health message");
                None
            }
        }
    }

    fn wake_health_sinks(&self) {
        for sink in &self.config.daemon.health_sinks {
            if let Some(slot) = self.sinks.get(sink) {
                slot.wake.notify_one();
            }
        }
    }
}
