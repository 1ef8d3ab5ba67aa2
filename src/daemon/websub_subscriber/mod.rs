//! The WebSub subscriber around the pure rules of [`crate::websub`]: remembering the hub a polled
//! feed advertises, one task per generation that sends subscription requests (first ones,
//! renewals before the lease lapses, retries with back-off), and one that processes pushed bodies
//! through the same entry pipeline as a poll. The listener's callback handlers are in
//! `callback.rs`.
//!
//! Polling never stops: while a subscription is active its source is polled
//! [`crate::websub::FALLBACK_FACTOR`] times slower (see `health.rs`), and when it lapses or is
//! denied the source is polled at once and at its normal rate again. Pushed bodies are stored
//! before the hub is answered, so a crash loses none; processing one twice is harmless, since
//! entries are de-duplicated by the same identity as polled ones. It never unsubscribes: a
//! subscription nobody renews ends with its lease, and pushes for a source no longer configured
//! are answered `410 Gone`, which tells the hub to drop it.

mod callback;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::future::join_all;
use rand::Rng;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};
use url::Url;

use super::metrics::SourceOutcome;
use super::process::PollReport;
use super::{now_millis, Pipeline};
use crate::config::SourceConfig;
use crate::fetch::Origin;
use crate::store::{Millis, Pushed, Subscription};
use crate::websub::{self, Discovered, Status};

pub use callback::{push, verify};

/// Pushed bodies waiting at most; beyond that the hub is asked to come back later (503), so a
/// flood cannot fill the disk.
const INBOX_LIMIT: u64 = 1_000;

/// Longest sleep of the subscription task: it also wakes when a poll finds a hub and when a hub
/// verifies or denies, so this only bounds the effect of a wall-clock jump.
const SUBSCRIPTION_IDLE: Duration = Duration::from_secs(600);

/// Longest sleep of the push task when nothing wakes it (bodies left by a previous run).
const INBOX_IDLE: Duration = Duration::from_secs(30);

/// After the store failed, wait this long before trying again.
const STORE_RETRY: Duration = Duration::from_secs(5);

impl Pipeline {
    /// Whether this pipeline runs the WebSub tasks: a public URL to give hubs, and a source that
    /// wants pushes.
    pub(super) fn websub_enabled(&self) -> bool {
        self.config.daemon.public_url.is_some()
            && self.config.daemon.listen.is_some()
            && self.config.sources.iter().any(|source| source.websub)
    }

    /// After a full poll of a WebSub source: remember the hub its feed advertises (a new hub or
    /// topic starts a new subscription), or forget the subscription when it advertises none.
    pub(super) async fn note_hub(&self, source: &SourceConfig, hub: Option<&Discovered>) {
        let changed = match hub {
            Some(hub) => {
                self.store
                    .websub_advertised(
                        &source.name,
                        hub.hub.as_str(),
                        hub.topic.as_str(),
                        fresh_credentials,
                    )
                    .await
            }
            None => self.store.websub_forget(&source.name).await,
        };
        match (changed, hub) {
            (Ok(true), Some(hub)) => {
                info!(source = %source.name, hub = %hub.hub, topic = %hub.topic, "the feed advertises a WebSub hub");
                self.websub_wake.notify_one();
            }
            (Ok(true), None) => {
                info!(source = %source.name, "the feed no longer advertises a WebSub hub; polling only");
            }
            (Ok(false), _) => {}
            (Err(store_error), _) => {
                error!(source = %source.name, error = %store_error, "cannot record the feed's WebSub hub");
            }
        }
    }

    /// Whether a hub currently pushes this source's content (its polling is then a fallback).
    pub(super) async fn websub_active(&self, source: &SourceConfig, now: Millis) -> bool {
        source.websub
            && self
                .store
                .websub_subscription(&source.name)
                .await
                .ok()
                .flatten()
                .is_some_and(|subscription| {
                    matches!(
                        websub::status(&subscription.facts, now),
                        Status::Active { .. }
                    )
                })
    }

    /// The subscription of a WebSub source, for `/status`.
    pub(super) async fn websub_status(&self, source: &SourceConfig) -> serde_json::Value {
        if !source.websub {
            return serde_json::Value::Null;
        }
        let Ok(Some(subscription)) = self.store.websub_subscription(&source.name).await else {
            return serde_json::Value::Null;
        };
        let status = websub::status(&subscription.facts, now_millis());
        serde_json::json!({
            "hub": subscription.hub,
            "topic": subscription.topic,
            "state": status.name(),
            "verified_at": subscription.facts.verified_at.map(rfc3339),
            "expires_at": subscription.facts.expires_at.map(rfc3339),
            "last_error": subscription.last_error,
        })
    }

    /// A configured WebSub source and its subscription, by callback id.
    async fn websub_lookup(&self, callback_id: &str) -> Option<(&SourceConfig, Subscription)> {
        let subscription = match self.store.websub_by_callback(callback_id).await {
            Ok(found) => found?,
            Err(store_error) => {
                error!(error = %store_error, "cannot read WebSub subscriptions");
                return None;
            }
        };
        let source = self
            .config
            .sources
            .iter()
            .find(|source| source.name == subscription.source && source.websub)?;
        Some((source, subscription))
    }

    fn count_push(&self, source: &str, outcome: &str) {
        self.metrics
            .websub_pushes
            .get_or_create(&SourceOutcome {
                source: source.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Polls the source now (its subscription ended, so pushes no longer cover it).
    fn wake_poll(&self, source: &str) {
        if let Some(wake) = self.poll_wakes.get(source) {
            wake.notify_one();
        }
    }

    /// Sends a due subscription request — on a shared database only while holding the
    /// subscription's renewal lease (`websub:NAME`), and only if it is still due once held, so
    /// of several instances noticing the same due renewal one sends it.
    async fn request_owned(&self, source: &SourceConfig, subscription: &Subscription) {
        if !self.clustered() {
            return self.request_subscription(source, subscription).await;
        }
        let lease = format!("websub:{}", source.name);
        let now = now_millis();
        match self
            .store
            .take_lease(&lease, &self.instance, now, self.lease_end(now))
            .await
        {
            Ok(crate::store::Claim::Granted) => {}
            Ok(crate::store::Claim::NotBefore(_)) => return, // another instance renews it
            Err(store_error) => {
                error!(source = %source.name, error = %store_error, "cannot ask for the WebSub renewal lease");
                return;
            }
        }
        let request = async {
            match self.store.websub_subscription(&source.name).await {
                Ok(Some(fresh))
                    if websub::next_request(
                        &fresh.facts,
                        now_millis(),
                        self.config.fetch.max_backoff,
                    ) <= now_millis() =>
                {
                    self.request_subscription(source, &fresh).await
                }
                Ok(_) => {} // sent by another instance meanwhile, or forgotten
                Err(store_error) => {
                    error!(source = %source.name, error = %store_error, "cannot read the WebSub subscription")
                }
            }
        };
        self.holding(&lease, request).await
    }

    /// Sends one subscription request (a first one, a renewal or a retry) and records the answer.
    async fn request_subscription(&self, source: &SourceConfig, subscription: &Subscription) {
        let (Some(callback), Ok(hub)) = (
            self.config
                .daemon
                .websub_callback(&subscription.callback_id),
            Url::parse(&subscription.hub),
        ) else {
            warn!(source = %source.name, hub = %subscription.hub, "cannot build the WebSub subscription request");
            return;
        };
        let now = now_millis();
        let renewal = matches!(
            websub::status(&subscription.facts, now),
            Status::Active { .. }
        );
        if subscription.facts.unanswered() {
            if let Err(store_error) = self.store.websub_unanswered(&source.name).await {
                error!(source = %source.name, error = %store_error, "cannot record the unanswered WebSub request");
            }
        }
        // recorded before sending: a hub that verifies before it answers must find its
        // verification newer than the request
        if let Err(store_error) = self
            .store
            .websub_requested(&source.name, callback.as_str(), now)
            .await
        {
            error!(source = %source.name, error = %store_error, "cannot record the WebSub subscription request");
            return;
        }
        let form = [
            ("hub.mode", "subscribe"),
            ("hub.topic", subscription.topic.as_str()),
            ("hub.callback", callback.as_str()),
            ("hub.secret", subscription.secret.expose()),
        ];
        let failure = match self.fetcher.post_form(&hub, Origin::Content, &form).await {
            Ok(answer) if (200..300).contains(&answer.status) => None,
            Ok(answer) if answer.text.is_empty() => {
                Some(format!("hub {hub} answered HTTP {}", answer.status))
            }
            Ok(answer) => Some(format!(
                "hub {hub} answered HTTP {}: {}",
                answer.status, answer.text
            )),
            Err(fetch_error) => Some(format!("hub {hub}: {fetch_error}")),
        };
        let outcome = if failure.is_some() { "failed" } else { "sent" };
        self.metrics
            .websub_requests
            .get_or_create(&SourceOutcome {
                source: source.name.clone(),
                outcome: outcome.to_string(),
            })
            .inc();
        if let Err(store_error) = self
            .store
            .websub_request_result(&source.name, failure.as_deref())
            .await
        {
            error!(source = %source.name, error = %store_error, "cannot record the hub's answer");
        }
        match failure {
            None => {
                info!(source = %source.name, hub = %hub, topic = %subscription.topic, renewal, "WebSub subscription requested")
            }
            Some(message) => {
                let failures = subscription
                    .facts
                    .failures
                    .saturating_add(1 + u32::from(subscription.facts.unanswered()));
                let retry = websub::backoff(failures, self.config.fetch.max_backoff);
                let retry_in =
                    humantime::format_duration(Duration::from_secs((retry / 1000) as u64));
                warn!(source = %source.name, error = %message, failures, %retry_in, "WebSub subscription request failed; polling continues")
            }
        }
    }

    /// Parses one pushed body and processes its entries like a poll's.
    async fn process_pushed(&self, pushed: &Pushed) {
        let Some(source) = self
            .config
            .sources
            .iter()
            .find(|source| source.name == pushed.source)
        else {
            warn!(source = %pushed.source, "pushed content for a source no longer configured; dropped");
            return;
        };
        // relative links in the body resolve against the topic, the URL the content stands for
        let topic = self
            .store
            .websub_subscription(&source.name)
            .await
            .ok()
            .flatten()
            .and_then(|subscription| Url::parse(&subscription.topic).ok())
            .unwrap_or_else(|| source.url.clone());
        let mut parsed = match crate::source::feed::parse_feed(
            &pushed.body,
            pushed.content_type.as_deref(),
            &topic,
        ) {
            Ok(parsed) => parsed,
            Err(parse_error) => {
                warn!(source = %source.name, error = %parse_error, "pushed content is not a feed; ignored");
                self.count_push(&source.name, "unparsable");
                return;
            }
        };
        crate::assemble::entries_in_zone(&mut parsed.entries, source.timezone);
        let now = Utc::now();
        let mut report = PollReport {
            entries: parsed.entries.len(),
            ..PollReport::default()
        };
        self.process_entries(source, &topic, &parsed.entries, now, &mut report)
            .await;
        self.metrics
            .entries
            .get_or_create(&super::metrics::SourceLabel {
                source: source.name.clone(),
            })
            .inc_by(report.new_entries as u64);
        if report.new_entries > 0 {
            if let Err(store_error) = self
                .store
                .record_entries(&source.name, Some(now.timestamp_millis()), None)
                .await
            {
                error!(source = %source.name, error = %store_error, "cannot record the new entry");
            }
        }
        info!(
            source = %source.name,
            entries = report.entries,
            new = report.new_entries,
            old = report.old_entries,
            alerts = report.alerts_created.len(),
            failed = report.failed_entries,
            waited_ms = now.timestamp_millis() - pushed.received_at,
            "pushed content processed"
        );
    }
}

/// A callback id (128 random bits) and a `hub.secret` (256 bits), hex-encoded: the id makes the
/// callback URL unguessable, the secret signs what the hub pushes. `thread_rng` is a CSPRNG.
fn fresh_credentials() -> (String, String) {
    let mut random = rand::thread_rng();
    let id: [u8; 16] = random.gen();
    let secret: [u8; 32] = random.gen();
    (hex(&id), hex(&secret))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn rfc3339(millis: Millis) -> String {
    super::health::instant(millis)
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Sends subscription requests when they are due — for every WebSub source whose feed advertised
/// a hub — and notices subscriptions that lapse, until cancelled.
pub(in crate::daemon) async fn subscription_loop(
    pipeline: Arc<Pipeline>,
    shutdown: CancellationToken,
) {
    let mut active = HashSet::new();
    loop {
        let now = now_millis();
        let mut wake_at = now.saturating_add(millis(SUBSCRIPTION_IDLE));
        let mut due = Vec::new();
        for source in pipeline
            .config
            .sources
            .iter()
            .filter(|source| source.websub)
        {
            let subscription = match pipeline.store.websub_subscription(&source.name).await {
                Ok(Some(subscription)) => subscription,
                Ok(None) => continue, // no hub known (yet)
                Err(store_error) => {
                    error!(source = %source.name, error = %store_error, "cannot read the WebSub subscription");
                    wake_at = wake_at.min(now.saturating_add(millis(STORE_RETRY)));
                    continue;
                }
            };
            match websub::status(&subscription.facts, now) {
                Status::Active { expires_at } => {
                    active.insert(source.name.clone());
                    wake_at = wake_at.min(expires_at);
                }
                status => {
                    if active.remove(&source.name) {
                        let reason = match status {
                            Status::Denied => "denied",
                            _ => "lapsed",
                        };
                        warn!(source = %source.name, reason, "WebSub subscription ended; polling at the normal rate until it is renewed");
                        pipeline.wake_poll(&source.name);
                    }
                }
            }
            let at =
                websub::next_request(&subscription.facts, now, pipeline.config.fetch.max_backoff);
            if at <= now {
                due.push((source, subscription));
            } else {
                wake_at = wake_at.min(at);
            }
        }
        if !due.is_empty() {
            // concurrently: one slow or failing hub does not hold up the others
            let requests = due
                .iter()
                .map(|(source, subscription)| pipeline.request_owned(source, subscription));
            tokio::select! {
                _ = join_all(requests) => {}
                _ = shutdown.cancelled() => return,
            }
            // every request moved its own next time forward; look again after a breath, which
            // also keeps a store that cannot record requests from turning this into a busy loop
            wake_at = wake_at.min(now_millis().saturating_add(1_000));
        }
        let sleep = Duration::from_millis(u64::try_from(wake_at - now_millis()).unwrap_or(0));
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = pipeline.websub_wake.notified() => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Processes pushed bodies in the order they arrived, until cancelled. A body is deleted only
/// after processing, so one interrupted by a crash or a reload is processed again.
pub(in crate::daemon) async fn inbox_loop(pipeline: Arc<Pipeline>, shutdown: CancellationToken) {
    loop {
        let idle = match pipeline.store.websub_next_pushed().await {
            Ok(Some(pushed)) => {
                tokio::select! {
                    _ = pipeline.process_pushed(&pushed) => {}
                    _ = shutdown.cancelled() => return,
                }
                match pipeline.store.websub_pushed_done(pushed.id).await {
                    Ok(()) => continue,
                    Err(store_error) => {
                        error!(error = %store_error, "cannot remove processed pushed content");
                        STORE_RETRY
                    }
                }
            }
            Ok(None) => INBOX_IDLE,
            Err(store_error) => {
                error!(error = %store_error, "cannot read pushed content");
                STORE_RETRY
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(idle) => {}
            _ = pipeline.inbox_wake.notified() => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

fn millis(duration: Duration) -> Millis {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
