//! Delivery from the outbox: for one sink, attempt every due row and record the outcome —
//! delivered, retry at the next step of the sink's schedule (or later, if the receiver asked with
//! Retry-After), or dead letter after the last step or on a permanent error.
//!
//! Each sink is driven separately (its own task in the daemon), so a slow or failing receiver
//! only ever delays its own rows.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tracing::{debug, error, warn};

use super::metrics::SinkLabel;
use super::{now_millis, Pipeline};
use crate::sink::Outcome;
use crate::store::StoreError;

/// Rows fetched per round; small enough that a shutdown is noticed between rounds.
const BATCH: usize = 32;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    pub attempted: usize,
    pub delivered: usize,
    pub retrying: usize,
    pub dead: usize,
}

impl DeliveryReport {
    pub fn add(&mut self, other: DeliveryReport) {
        self.attempted += other.attempted;
        self.delivered += other.delivered;
        self.retrying += other.retrying;
        self.dead += other.dead;
    }
}

impl Pipeline {
    /// Attempts one batch of this sink's due deliveries.
    pub async fn deliver_due(&self, sink_name: &str) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        let (Some(slot), Some(config)) = (self.sinks.get(sink_name), self.config.sink(sink_name))
        else {
            return Ok(report);
        };
        if slot.gone.load(Ordering::SeqCst) {
            return Ok(report);
        }
        let due = self.store.due_deliveries(sink_name, now_millis(), BATCH)?;
        for delivery in due {
            if slot.gone.load(Ordering::SeqCst) {
                break;
            }
            if let Some(bucket) = &slot.bucket {
                loop {
                    let wait = match bucket.lock() {
                        Ok(mut bucket) => bucket.take(std::time::Instant::now()).err(),
                        Err(_) => None,
                    };
                    match wait {
                        Some(wait) => tokio::time::sleep(wait).await,
                        None => break,
                    }
                }
            }
            report.attempted += 1;
            let outcome = slot
                .sink
                .deliver(&delivery.alert_id, &delivery.payload)
                .await;
            let attempt = delivery.attempts + 1;
            let now = now_millis();
            match outcome {
                Outcome::Delivered => {
                    self.store
                        .mark_delivered(&delivery.alert_id, sink_name, now)?;
                    report.delivered += 1;
                    self.metrics.delivery(sink_name, "delivered");
                    self.metrics
                        .delivery_latency_seconds
                        .get_or_create(&SinkLabel {
                            sink: sink_name.to_string(),
                        })
                        .observe((now - delivery.created_at).max(0) as f64 / 1000.0);
                    debug!(sink = sink_name, id = %delivery.alert_id, attempt, latency_ms = now - delivery.created_at, "delivered");
                }
                Outcome::Retry { error, retry_after } => {
                    match config.retry.get(delivery.attempts as usize) {
                        Some(delay) => {
                            let wait = retry_after.map_or(*delay, |asked| asked.max(*delay));
                            let next = now.saturating_add(millis(wait));
                            self.store
                                .mark_retry(&delivery.alert_id, sink_name, next, &error)?;
                            report.retrying += 1;
                            self.metrics.delivery(sink_name, "retry");
                            warn!(sink = sink_name, id = %delivery.alert_id, attempt, %error, retry_in = %humantime::format_duration(wait), "delivery failed; will retry");
                        }
                        None => {
                            let error = format!("{error} (after {attempt} attempts, the retry schedule is exhausted)");
                            self.store
                                .mark_dead(&delivery.alert_id, sink_name, &error)?;
                            report.dead += 1;
                            self.metrics.delivery(sink_name, "dead");
                            error!(sink = sink_name, id = %delivery.alert_id, attempt, %error, "alert is now a dead letter");
                        }
                    }
                }
                Outcome::Gone { error } => {
                    slot.gone.store(true, Ordering::SeqCst);
                    // the alert stays queued and due: it goes out once the URL is fixed
                    self.store
                        .mark_retry(&delivery.alert_id, sink_name, now, &error)?;
                    report.retrying += 1;
                    self.metrics.delivery(sink_name, "gone");
                    error!(sink = sink_name, id = %delivery.alert_id, %error, "sink disabled: its receiver is gone; alerts for it stay queued until the sink's url is fixed and wirewatch reloaded or restarted");
                }
                Outcome::Permanent { error } => {
                    self.store
                        .mark_dead(&delivery.alert_id, sink_name, &error)?;
                    report.dead += 1;
                    self.metrics.delivery(sink_name, "dead");
                    error!(sink = sink_name, id = %delivery.alert_id, attempt, %error, "delivery refused permanently; alert is now a dead letter");
                }
            }
        }
        Ok(report)
    }

    /// Delivers until nothing of this sink is due now (rows waiting for a later retry stay).
    pub async fn deliver_all_due(&self, sink_name: &str) -> Result<DeliveryReport, StoreError> {
        let mut total = DeliveryReport::default();
        loop {
            let report = self.deliver_due(sink_name).await?;
            total.add(report);
            if report.attempted < BATCH {
                return Ok(total);
            }
        }
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
