//! Delivery from the outbox: for one sink, attempt every due row and record the outcome —
//! delivered, retry at the next step of the sink's schedule (or later, if the receiver asked with
//! Retry-After), or dead letter after the last step or on a permanent error.
//!
//! A sink with a `digest` window sends watchlist matches as digests instead: once the window
//! that opened with the oldest waiting match has closed, the matches due by then are bundled
//! (their membership recorded in the store before the first attempt) and sent as one message;
//! the digest then retries, succeeds or dies as one, with every member keeping its own row.
//! When a chat service's size limit leaves room for only the first alerts of a digest, the
//! message carries those, only they are counted delivered, and the rest go out right away in a
//! follow-up message under the same digest (not after another window). Source-health messages
//! are never bundled.
//!
//! Each sink is driven separately (its own task in the daemon), so a slow or failing receiver
//! only ever delays its own rows.

use std::sync::atomic::Ordering;
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tracing::{debug, error, info, warn};

use super::metrics::SinkLabel;
use super::{now_millis, Pipeline, SinkSlot};
use crate::config::SinkConfig;
use crate::sink::Outcome;
use crate::store::{DueDelivery, Settlement, StoreError};

/// Rows fetched per round; small enough that a shutdown is noticed between rounds.
const BATCH: usize = 32;

/// At most one dead letter per sink is logged at ERROR in this long; the others go to DEBUG and
/// are counted into the next ERROR line (`unlogged_dead_letters`). A feed that yields
/// undeliverable alerts by the hundred cannot flood the error log: every dead letter is still
/// stored (`alerts list --dead`) and counted in the metrics.
const DEAD_LETTER_LOG_GAP: Duration = Duration::from_secs(60);

/// Whether this dead letter is logged at ERROR: `Some(dead letters not logged since the last)`.
fn dead_letter_to_log(slot: &SinkSlot) -> Option<u64> {
    let Ok(mut log) = slot.dead_letter_log.lock() else {
        return Some(0);
    };
    let now = std::time::Instant::now();
    match log.0 {
        Some(last) if now.duration_since(last) < DEAD_LETTER_LOG_GAP => {
            log.1 = log.1.saturating_add(1);
            None
        }
        _ => {
            let unlogged = log.1;
            *log = (Some(now), 0);
            Some(unlogged)
        }
    }
}

/// Alerts per digest message at most: the most any digest format lists one by one (email's),
/// so a long window's backlog goes out as several digests rather than one oversized message.
pub const DIGEST_MAX_ALERTS: usize = 100;

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

/// What one attempt carried: a single alert, or a digest of several.
enum Unit<'a> {
    Single(&'a DueDelivery),
    Digest {
        id: &'a str,
        /// The digest's pending members, all handed to the sink's digest format.
        members: &'a [DueDelivery],
        /// How many of them (the first ones) the message lists within the service's limits;
        /// it counts the others ("and N more alerts"), which follow in the next message.
        listed: usize,
    },
}

impl Unit<'_> {
    fn id(&self) -> &str {
        match self {
            Unit::Single(delivery) => &delivery.alert_id,
            Unit::Digest { id, .. } => id,
        }
    }

    /// What recipient progress is kept under: the alert, or the digest and the first alert its
    /// message lists (a digest sent in several messages keeps each message's progress apart).
    fn progress_key(&self) -> String {
        match self {
            Unit::Single(delivery) => delivery.alert_id.clone(),
            Unit::Digest { id, members, .. } => match members.first() {
                Some(first) => format!("{id}/{}", first.alert_id),
                None => id.to_string(),
            },
        }
    }

    fn members(&self) -> &[DueDelivery] {
        match self {
            Unit::Single(delivery) => std::slice::from_ref(*delivery),
            Unit::Digest { members, .. } => members,
        }
    }

    /// The members the message lists: the ones delivered when the receiver accepts it.
    fn listed(&self) -> &[DueDelivery] {
        match self {
            Unit::Single(delivery) => std::slice::from_ref(*delivery),
            Unit::Digest {
                members, listed, ..
            } => members.get(..*listed).unwrap_or(members),
        }
    }

    /// Members left for a follow-up message once this one is accepted.
    fn unlisted(&self) -> usize {
        self.members().len() - self.listed().len()
    }
}

/// One request of the unit to the sink (to `recipient` alone when named).
async fn send_to(slot: &SinkSlot, unit: &Unit<'_>, recipient: Option<&str>) -> Outcome {
    match unit {
        Unit::Single(delivery) => {
            slot.sink
                .deliver(&delivery.alert_id, &delivery.payload, recipient)
                .await
        }
        Unit::Digest { id, members, .. } => {
            let payloads: Vec<&str> = members
                .iter()
                .map(|member| member.payload.as_str())
                .collect();
            slot.sink.deliver_digest(id, &payloads, recipient).await
        }
    }
}

/// `dig_` and 32 hex digits of SHA-256 over the sink and the member ids: the same digest keeps
/// its id on every attempt, and two sinks never share one.
pub fn digest_id(sink: &str, members: &[String]) -> String {
    let mut hash = Sha256::new();
    hash.update(sink.as_bytes());
    for member in members {
        hash.update(b"\n");
        hash.update(member.as_bytes());
    }
    let digest = hash.finalize();
    let hex: String = digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("dig_{hex}")
}

impl Pipeline {
    /// Attempts one batch of this sink's due deliveries (for a digest sink: its due single
    /// messages, then every digest whose window has closed).
    pub async fn deliver_due(&self, sink_name: &str) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        let (Some(slot), Some(config)) = (self.sinks.get(sink_name), self.config.sink(sink_name))
        else {
            return Ok(report);
        };
        if slot.gone.load(Ordering::SeqCst) {
            return Ok(report);
        }
        let due = match config.digest {
            Some(_) => {
                self.store
                    .due_undigested(sink_name, now_millis(), BATCH)
                    .await?
            }
            None => {
                self.store
                    .due_deliveries(sink_name, now_millis(), BATCH)
                    .await?
            }
        };
        for delivery in &due {
            if slot.gone.load(Ordering::SeqCst) {
                break;
            }
            self.attempt(slot, config, Unit::Single(delivery), &mut report)
                .await?;
        }
        if let Some(window) = config.digest {
            self.deliver_digests(slot, config, window, &mut report)
                .await?;
        }
        Ok(report)
    }

    async fn deliver_digests(
        &self,
        slot: &SinkSlot,
        config: &SinkConfig,
        window: Duration,
        report: &mut DeliveryReport,
    ) -> Result<(), StoreError> {
        let sink_name = config.name.as_str();
        // Bundle what a closed window holds; more than one digest when the window overflowed.
        // Digests formed earlier (and not yet accepted) are picked up below with these.
        let now = now_millis();
        if let Some(window_end) = self
            .store
            .digest_window_end(sink_name, millis(window))
            .await?
        {
            if window_end <= now {
                while let Some(id) = self
                    .store
                    .form_digest(sink_name, window_end, DIGEST_MAX_ALERTS, now, |members| {
                        digest_id(sink_name, members)
                    })
                    .await?
                {
                    debug!(sink = sink_name, digest = %id, "digest window closed");
                }
            }
        }
        for id in self.store.due_digests(sink_name, now_millis()).await? {
            // One message per turn: what the service's limits left out follows at once.
            loop {
                if slot.gone.load(Ordering::SeqCst) {
                    return Ok(());
                }
                let members = self.store.digest_members(sink_name, &id).await?;
                if members.is_empty() {
                    break;
                }
                let payloads: Vec<&str> = members
                    .iter()
                    .map(|member| member.payload.as_str())
                    .collect();
                // At least one, so a digest always moves on (no format lists none of a
                // non-empty digest; the clamp only guards the loop).
                let listed = slot.sink.digest_listed(&payloads).clamp(1, members.len());
                let unit = Unit::Digest {
                    id: &id,
                    members: &members,
                    listed,
                };
                let delivered = self.attempt(slot, config, unit, report).await?;
                if !delivered || listed == members.len() {
                    break;
                }
            }
        }
        Ok(())
    }

    /// One request to the sink, paced by its rate limit, and the bookkeeping of its outcome for
    /// every alert it carried. True when the receiver accepted it.
    async fn attempt(
        &self,
        slot: &SinkSlot,
        config: &SinkConfig,
        unit: Unit<'_>,
        report: &mut DeliveryReport,
    ) -> Result<bool, StoreError> {
        let sink_name = config.name.as_str();
        if let Some(bucket) = &slot.bucket {
            // on a cluster the limit holds across instances: the shared turn first, then the
            // local bucket (which then rarely waits)
            if self.clustered() {
                self.shared_rate_turn(sink_name).await;
            }
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
        // after the rate limit's wait: the lease covers the request, not the queue before it
        if self.clustered() && !self.claim(sink_name, &unit).await? {
            return Ok(false); // another instance attempts it
        }
        let members = unit.members();
        let count = members.len();
        report.attempted += count;
        let recipients = slot.sink.recipients();
        let outcome = self.send(slot, sink_name, &unit, &recipients).await?;
        let delivered = outcome == Outcome::Delivered;
        // every member of a digest has seen the same attempts; the most any has seen decides
        let attempts = members
            .iter()
            .map(|member| member.attempts)
            .max()
            .unwrap_or(0);
        let attempt = attempts + 1;
        let id = unit.id();
        let now = now_millis();
        let count_all = |outcome: &str| {
            for _ in 0..count {
                self.metrics.delivery(sink_name, outcome);
            }
        };
        match outcome {
            Outcome::Delivered => {
                self.settle(&unit, sink_name, Settlement::Delivered { now })
                    .await?;
                if recipients.len() > 1 {
                    self.store
                        .forget_recipients(sink_name, &unit.progress_key())
                        .await?;
                }
                let listed = unit.listed();
                report.delivered += listed.len();
                for _ in listed {
                    self.metrics.delivery(sink_name, "delivered");
                }
                // a digest's alerts waited for their window: their latency is read apart
                let family = match unit {
                    Unit::Single(_) => &self.metrics.delivery_latency_seconds,
                    Unit::Digest { .. } => &self.metrics.digest_delivery_latency_seconds,
                };
                let latency = family.get_or_create(&SinkLabel {
                    sink: sink_name.to_string(),
                });
                for member in listed {
                    latency.observe((now - member.created_at).max(0) as f64 / 1000.0);
                }
                if let Unit::Digest { .. } = unit {
                    info!(sink = sink_name, digest = %id, alerts = listed.len(), left_for_next_message = unit.unlisted(), attempt, "digest delivered");
                } else {
                    debug!(sink = sink_name, %id, attempt, latency_ms = now - members[0].created_at, "delivered");
                }
            }
            Outcome::Retry { error, retry_after } => match config.retry.get(attempts as usize) {
                Some(delay) => {
                    let wait = retry_after.map_or(*delay, |asked| asked.max(*delay));
                    let next = now.saturating_add(millis(wait));
                    self.settle(
                        &unit,
                        sink_name,
                        Settlement::Retry {
                            next_attempt_at: next,
                            error: &error,
                        },
                    )
                    .await?;
                    report.retrying += count;
                    count_all("retry");
                    warn!(sink = sink_name, %id, alerts = count, attempt, %error, retry_in = %humantime::format_duration(wait), "delivery failed; will retry");
                }
                None => {
                    let error = format!(
                        "{error} (after {attempt} attempts, the retry schedule is exhausted)"
                    );
                    self.settle(&unit, sink_name, Settlement::Dead { error: &error })
                        .await?;
                    report.dead += count;
                    count_all("dead");
                    match dead_letter_to_log(slot) {
                        Some(unlogged) => {
                            error!(sink = sink_name, %id, alerts = count, attempt, %error, unlogged_dead_letters = unlogged, "now a dead letter")
                        }
                        None => {
                            debug!(sink = sink_name, %id, alerts = count, attempt, %error, "now a dead letter")
                        }
                    }
                }
            },
            Outcome::Gone { error } => {
                slot.gone.store(true, Ordering::SeqCst);
                // the alerts stay queued and due: they go out once the URL is fixed
                self.settle(
                    &unit,
                    sink_name,
                    Settlement::Retry {
                        next_attempt_at: now,
                        error: &error,
                    },
                )
                .await?;
                report.retrying += count;
                count_all("gone");
                error!(sink = sink_name, %id, %error, "sink disabled: its receiver is gone; alerts for it stay queued until the sink's url is fixed and wirewatch reloaded or restarted");
            }
            Outcome::Permanent { error } => {
                self.settle(&unit, sink_name, Settlement::Dead { error: &error })
                    .await?;
                report.dead += count;
                count_all("dead");
                match dead_letter_to_log(slot) {
                    Some(unlogged) => {
                        error!(sink = sink_name, %id, alerts = count, attempt, %error, unlogged_dead_letters = unlogged, "delivery refused permanently; now a dead letter")
                    }
                    None => {
                        debug!(sink = sink_name, %id, alerts = count, attempt, %error, "delivery refused permanently; now a dead letter")
                    }
                }
            }
        }
        Ok(delivered)
    }

    /// Leases the unit's rows for this attempt (instances sharing a database): false when
    /// another instance attempts them, or they were settled meanwhile.
    async fn claim(&self, sink_name: &str, unit: &Unit<'_>) -> Result<bool, StoreError> {
        let now = now_millis();
        let end = self.lease_end(now);
        match unit {
            Unit::Single(delivery) => {
                self.store
                    .claim_delivery(&delivery.alert_id, sink_name, &self.instance, now, end)
                    .await
            }
            Unit::Digest { id, .. } => {
                self.store
                    .claim_digest(sink_name, id, &self.instance, now, end)
                    .await
            }
        }
    }

    /// Sends the unit: in one call when the sink has a single receiver; else recipient by
    /// recipient, recording each acceptance before the next request, so that neither a later
    /// recipient's failure nor a crash between two makes a retry send to one already done.
    async fn send(
        &self,
        slot: &SinkSlot,
        sink_name: &str,
        unit: &Unit<'_>,
        recipients: &[String],
    ) -> Result<Outcome, StoreError> {
        if recipients.len() < 2 {
            return Ok(send_to(slot, unit, None).await);
        }
        let key = unit.progress_key();
        let done = self.store.recipients_done(sink_name, &key).await?;
        for recipient in recipients
            .iter()
            .filter(|recipient| !done.contains(recipient))
        {
            let outcome = send_to(slot, unit, Some(recipient)).await;
            if outcome != Outcome::Delivered {
                return Ok(outcome);
            }
            self.store
                .mark_recipient_done(sink_name, &key, recipient, now_millis())
                .await?;
        }
        Ok(Outcome::Delivered)
    }

    /// Delivers until nothing of this sink is due now (rows waiting for a later retry, or for
    /// their digest window to close, stay).
    pub async fn deliver_all_due(&self, sink_name: &str) -> Result<DeliveryReport, StoreError> {
        let mut total = DeliveryReport::default();
        loop {
            let report = self.deliver_due(sink_name).await?;
            total.add(report);
            // a round that attempted fewer rows than a batch left nothing due behind it; a
            // digest round sends every due digest, and the next round finds nothing
            if report.attempted < BATCH {
                return Ok(total);
            }
        }
    }

    /// Records one attempt's outcome for every row the unit carries. The request is already
    /// made: while the database is unreachable the outcome is kept here and recorded when it
    /// answers again (backing off), since forgetting it would send a delivered alert twice.
    async fn settle(
        &self,
        unit: &Unit<'_>,
        sink_name: &str,
        settlement: Settlement<'_>,
    ) -> Result<(), StoreError> {
        let mut wait = SETTLE_RETRY_FIRST;
        loop {
            match self.settle_once(unit, sink_name, settlement).await {
                Err(error) if error.is_unavailable() => {
                    debug!(sink = sink_name, %error, retry_in = ?wait, "outcome kept until the database answers");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(SETTLE_RETRY_LAST);
                }
                result => return result,
            }
        }
    }

    async fn settle_once(
        &self,
        unit: &Unit<'_>,
        sink_name: &str,
        settlement: Settlement<'_>,
    ) -> Result<(), StoreError> {
        match unit {
            Unit::Single(delivery) => match settlement {
                Settlement::Delivered { now } => {
                    self.store
                        .mark_delivered(&delivery.alert_id, sink_name, now)
                        .await
                }
                Settlement::Retry {
                    next_attempt_at,
                    error,
                } => {
                    self.store
                        .mark_retry(&delivery.alert_id, sink_name, next_attempt_at, error)
                        .await
                }
                Settlement::Dead { error } => {
                    self.store
                        .mark_dead(&delivery.alert_id, sink_name, error)
                        .await
                }
            },
            // Only what the message listed was delivered: the rest stay pending under the
            // digest for the follow-up. One row at a time, so a crash in between can only send
            // an alert twice (in the follow-up), never lose one.
            Unit::Digest { id, .. } => match settlement {
                Settlement::Delivered { now } if unit.unlisted() > 0 => {
                    for member in unit.listed() {
                        self.store
                            .mark_delivered(&member.alert_id, sink_name, now)
                            .await?;
                    }
                    Ok(())
                }
                // the whole digest was listed, or nothing was sent: every member at once
                _ => self.store.settle_digest(sink_name, id, settlement).await,
            },
        }
    }

    /// When this sink next has something to send: a due row, a digest, or a window closing.
    pub async fn next_send(
        &self,
        sink_name: &str,
    ) -> Result<Option<crate::store::Millis>, StoreError> {
        match self.config.sink(sink_name).and_then(|config| config.digest) {
            Some(window) => self.store.next_digest_due(sink_name, millis(window)).await,
            None => self.store.next_due(sink_name).await,
        }
    }
}

/// The back-off of recording an outcome while the database is unreachable.
const SETTLE_RETRY_FIRST: Duration = Duration::from_millis(500);
const SETTLE_RETRY_LAST: Duration = Duration::from_secs(5);

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
