//! The one store interface the daemon, the CLI and the console call: [`Store`], async, over a
//! closed set of backends. Every method means the same on every backend (the conformance tests
//! hold them to it); this file only chooses the backend and forwards, it holds no SQL and no
//! policy of its own.
//!
//! The SQLite backend answers synchronously inside the async call: its transactions are local
//! and a few rows long, cheaper than a thread hop (the daemon's design since the start). The
//! PostgreSQL backend is async through and through (a pool of connections).

use std::path::Path;
use std::sync::Arc;

use super::postgres::PostgresStore;
use super::sqlite::SqliteStore;
use std::collections::HashSet;

use super::{
    AlertRow, ArchiveCursor, ArchivedArticle, Claim, DatabaseSize, DueDelivery, HealthAlert,
    Instance, LiveInstance, Millis, NewAlert, OutboxCounts, Pushed, Settlement, SourceHealth,
    SourceState, StoreError, StoredAlert, Subscription, TurnGrant, Validators,
};

/// Durable state behind one interface; cheap to clone (clones share the backend).
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PostgresStore>),
}

/// Writes one forwarding method per line below: the same name, arguments and result as the
/// backends' methods, awaited where a backend is async.
macro_rules! forward {
    ($($(#[$doc:meta])* fn $name:ident($($argument:ident: $type:ty),*) -> $result:ty;)*) => {
        $(
            $(#[$doc])*
            pub async fn $name(&self, $($argument: $type),*) -> $result {
                match &self.backend {
                    Backend::Sqlite(store) => store.$name($($argument),*),
                    Backend::Postgres(store) => store.$name($($argument),*).await,
                }
            }
        )*
    };
}

impl Store {
    /// Opens (creating if needed) the SQLite database file and its folder, private (0700/0600).
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Ok(Store::from(SqliteStore::open(path)?))
    }

    /// Connects to a PostgreSQL database (`postgres://…`) and brings its schema forward; errors
    /// show the URL with its password masked.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Ok(Store {
            backend: Backend::Postgres(Arc::new(PostgresStore::connect(url).await?)),
        })
    }

    /// A private in-memory SQLite database, for tests and one-shot commands.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Ok(Store::from(SqliteStore::open_in_memory()?))
    }

    /// Whether several instances may share this store (PostgreSQL); a SQLite state directory
    /// belongs to one process.
    pub fn shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Makes every later write fail, as a read-only database file would.
    #[cfg(test)]
    pub(crate) fn make_read_only(&self) {
        match &self.backend {
            Backend::Sqlite(store) => store.make_read_only(),
            Backend::Postgres(_) => {}
        }
    }

    /// The last poll-bookkeeping write the database refused, while it keeps refusing: the
    /// daemon is then unhealthy, whatever the sources say.
    pub fn write_problem(&self) -> Option<String> {
        match &self.backend {
            Backend::Sqlite(store) => store.write_problem(),
            Backend::Postgres(store) => store.write_problem(),
        }
    }

    /// Whether the database answers now (PostgreSQL: a trivial query; an embedded SQLite file
    /// always does): `/healthz` asks before reading [`Store::write_problem`], so an outage shows
    /// even while nothing is being written, and its end shows at once.
    pub async fn probe(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(store) => store.probe().await,
        }
    }

    /// How many writes the database refused since it was opened.
    pub fn write_failures(&self) -> u64 {
        match &self.backend {
            Backend::Sqlite(store) => store.write_failures(),
            Backend::Postgres(store) => store.write_failures(),
        }
    }

    /// Marks the source unhealthy and creates the message `build` returns, atomically — once per
    /// episode: false (and nothing created) if it is already marked.
    pub async fn mark_unhealthy(
        &self,
        source: &str,
        now: Millis,
        build: impl FnOnce() -> Option<HealthAlert>,
    ) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(store) => store.mark_unhealthy(source, now, build),
            Backend::Postgres(store) => store.mark_unhealthy(source, now, build).await,
        }
    }

    /// Clears the unhealthy mark and creates the message `build` returns (given when the
    /// episode began), atomically; false if the source was not marked.
    pub async fn mark_recovered(
        &self,
        source: &str,
        now: Millis,
        build: impl FnOnce(Millis) -> Option<HealthAlert>,
    ) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(store) => store.mark_recovered(source, now, build),
            Backend::Postgres(store) => store.mark_recovered(source, now, build).await,
        }
    }

    /// Bundles the pending matches of `sink` due by `cutoff` into one digest named by `name`
    /// from its members; `None` when nothing was waiting.
    pub async fn form_digest(
        &self,
        sink: &str,
        cutoff: Millis,
        limit: usize,
        now: Millis,
        name: impl FnOnce(&[String]) -> String,
    ) -> Result<Option<String>, StoreError> {
        match &self.backend {
            Backend::Sqlite(store) => store.form_digest(sink, cutoff, limit, now, name),
            Backend::Postgres(store) => store.form_digest(sink, cutoff, limit, now, name).await,
        }
    }

    /// Records the hub and topic a source's feed advertises; a new hub or topic starts a new
    /// subscription with the callback id and secret `fresh` returns. Whether anything changed.
    pub async fn websub_advertised(
        &self,
        source: &str,
        hub: &str,
        topic: &str,
        fresh: impl FnOnce() -> (String, String),
    ) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(store) => store.websub_advertised(source, hub, topic, fresh),
            Backend::Postgres(store) => store.websub_advertised(source, hub, topic, fresh).await,
        }
    }

    forward! {
        /// The daemon's start-up checks: the database can be written and is not damaged.
        fn check_for_daemon() -> Result<(), StoreError>;

        // sources
        fn validators(source: &str) -> Result<Validators, StoreError>;
        /// A successful poll (200 or 304): new validators replace the old ones only on a 200.
        fn record_poll_success(source: &str, validators: Option<&Validators>, now: Millis) -> Result<(), StoreError>;
        /// A failed poll; the number of consecutive failures so far.
        fn record_poll_failure(source: &str, error: &str, now: Millis) -> Result<u32, StoreError>;
        fn source_states() -> Result<Vec<SourceState>, StoreError>;
        /// After a full poll: when a new entry was last seen and the entry rhythm learned.
        fn record_entries(source: &str, new_entry_at: Option<Millis>, rhythm: Option<(i64, Millis)>) -> Result<(), StoreError>;
        fn record_next_poll(source: &str, at: Millis) -> Result<(), StoreError>;
        fn source_health(source: &str) -> Result<Option<SourceHealth>, StoreError>;
        /// Every source the database knows, by name (also sources no longer configured).
        fn all_source_health() -> Result<Vec<SourceHealth>, StoreError>;

        // entries
        fn is_seen(source: &str, entry_key: &str) -> Result<bool, StoreError>;
        /// Whether this watchlist already alerted on this article (from any source).
        fn has_alert(watchlist: &str, article_url: &str) -> Result<bool, StoreError>;
        /// Marks many entries seen in one transaction (entries that raise no alert).
        fn commit_seen(source: &str, entries: &[(&str, Option<&str>)], now: Millis) -> Result<(), StoreError>;
        /// Marks the entry seen and creates its alerts with one outbox row per sink, atomically;
        /// at most one alert per watchlist and article, and per story within the story window.
        /// The ids of the alerts actually created.
        fn commit_entry(source: &str, entry_key: &str, entry_url: Option<&str>, alerts: &[NewAlert], now: Millis) -> Result<Vec<String>, StoreError>;
        /// As `commit_entry`, archiving the processed article in the same transaction: an
        /// article is archived if and only if its entry was marked seen.
        fn commit_processed(source: &str, entry_key: &str, entry_url: Option<&str>, alerts: &[NewAlert], archived: Option<&ArchivedArticle>, now: Millis) -> Result<Vec<String>, StoreError>;
        /// Creates alerts found outside a poll (a backfill over the archive) with the rules of
        /// `commit_entry`, marking no entry seen. The ids of the alerts actually created.
        fn commit_alerts(alerts: &[NewAlert], now: Millis) -> Result<Vec<String>, StoreError>;
        /// Where else the story of this alert was seen: (source, url).
        fn story_links(alert_id: &str) -> Result<Vec<(String, String)>, StoreError>;

        // outbox
        /// Pending deliveries of one sink whose attempt is due, oldest first.
        fn due_deliveries(sink: &str, now: Millis, limit: usize) -> Result<Vec<DueDelivery>, StoreError>;
        /// As `due_deliveries`, without the watchlist matches (what a digest sink sends singly).
        fn due_undigested(sink: &str, now: Millis, limit: usize) -> Result<Vec<DueDelivery>, StoreError>;
        /// When the digest window of `sink` open now closes.
        fn digest_window_end(sink: &str, window: Millis) -> Result<Option<Millis>, StoreError>;
        /// Digests of `sink` with pending members whose attempt is due, oldest first.
        fn due_digests(sink: &str, now: Millis) -> Result<Vec<String>, StoreError>;
        /// The pending members of a digest, in the order the message lists them.
        fn digest_members(sink: &str, digest_id: &str) -> Result<Vec<DueDelivery>, StoreError>;
        /// When the next send of a digest sink falls due.
        fn next_digest_due(sink: &str, window: Millis) -> Result<Option<Millis>, StoreError>;
        /// One outcome for every pending member of a digest at once.
        fn settle_digest(sink: &str, digest_id: &str, settlement: Settlement<'_>) -> Result<(), StoreError>;
        /// When the next pending delivery of this sink falls due, if any is pending.
        fn next_due(sink: &str) -> Result<Option<Millis>, StoreError>;
        fn mark_delivered(alert_id: &str, sink: &str, now: Millis) -> Result<(), StoreError>;
        fn mark_retry(alert_id: &str, sink: &str, next_attempt_at: Millis, error: &str) -> Result<(), StoreError>;
        /// A dead letter: kept with its last error, never attempted again unless replayed.
        fn mark_dead(alert_id: &str, sink: &str, error: &str) -> Result<(), StoreError>;
        fn outbox_counts() -> Result<OutboxCounts, StoreError>;

        // per-recipient progress (sinks with several ntfy topics or Telegram chats)
        /// The recipients that already accepted delivery `unit` (an alert id, or a digest
        /// message's key) of `sink`.
        fn recipients_done(sink: &str, unit: &str) -> Result<Vec<String>, StoreError>;
        /// `recipient` accepted delivery `unit` of `sink`: a retry skips them.
        fn mark_recipient_done(sink: &str, unit: &str, recipient: &str, now: Millis) -> Result<(), StoreError>;
        /// Every recipient accepted `unit`: its progress is no longer needed.
        fn forget_recipients(sink: &str, unit: &str) -> Result<(), StoreError>;
        /// Sinks that have pending deliveries, with how many.
        fn pending_by_sink() -> Result<Vec<(String, u64)>, StoreError>;
        /// Alerts with their deliveries, newest first; only dead letters with `dead_only`.
        fn list_alerts(dead_only: bool, since: Millis, limit: usize) -> Result<Vec<AlertRow>, StoreError>;
        /// Alerts with their payloads, newest first: one by id, or all created since `since`.
        fn stored_alerts(alert_id: Option<&str>, since: Millis, limit: usize) -> Result<Vec<StoredAlert>, StoreError>;
        /// Queues an alert again for every sink it went to; the rows re-queued (0: no such alert).
        fn requeue_alert(alert_id: &str, now: Millis) -> Result<usize, StoreError>;
        /// Queues every dead letter again, with a fresh retry schedule.
        fn requeue_dead(now: Millis) -> Result<usize, StoreError>;

        // the article archive
        /// Archived articles processed at or after `since` (of one source, if given), newest
        /// first, at most `limit`, after `after` (the last row of the previous page).
        fn archive_page(since: Millis, source: Option<&str>, after: Option<&ArchiveCursor>, limit: usize) -> Result<Vec<ArchivedArticle>, StoreError>;
        /// The archived article with this id, canonical URL or fetched URL.
        fn archived(key: &str) -> Result<Option<ArchivedArticle>, StoreError>;
        /// Deletes at most `limit` archived articles processed before `before`, oldest first;
        /// how many (fewer than `limit`: none older is left).
        fn prune_archive(before: Millis, limit: usize) -> Result<usize, StoreError>;
        /// The hash of the query last backfilled for this watchlist.
        fn backfilled_query(watchlist: &str) -> Result<Option<String>, StoreError>;
        /// Records that this watchlist's query (by hash) has been backfilled.
        fn record_backfill(watchlist: &str, query_hash: &str, now: Millis) -> Result<(), StoreError>;

        // WebSub
        /// Forgets a source's subscription; true if there was one.
        fn websub_forget(source: &str) -> Result<bool, StoreError>;
        fn websub_subscription(source: &str) -> Result<Option<Subscription>, StoreError>;
        /// The subscription a callback URL belongs to.
        fn websub_by_callback(callback_id: &str) -> Result<Option<Subscription>, StoreError>;
        /// A subscription request to `callback` is about to be sent.
        fn websub_requested(source: &str, callback: &str, now: Millis) -> Result<(), StoreError>;
        /// The hub's answer to the request: accepted (`None`) or why it failed.
        fn websub_request_result(source: &str, error: Option<&str>) -> Result<(), StoreError>;
        /// The last request was accepted but never verified: it counts as a failure.
        fn websub_unanswered(source: &str) -> Result<(), StoreError>;
        /// The hub verified the subscription and granted a lease until `expires_at`.
        fn websub_verified(callback_id: &str, now: Millis, expires_at: Millis) -> Result<(), StoreError>;
        /// The hub denied the subscription (or ended it): no lease any more.
        fn websub_denied(callback_id: &str, now: Millis, reason: &str) -> Result<(), StoreError>;
        /// Stores a pushed body; false (nothing stored) when `limit` bodies wait already.
        fn websub_enqueue(source: &str, content_type: Option<&str>, body: &[u8], now: Millis, limit: u64) -> Result<bool, StoreError>;
        /// The oldest pushed body not processed yet.
        fn websub_next_pushed() -> Result<Option<Pushed>, StoreError>;
        fn websub_pushed_done(id: i64) -> Result<(), StoreError>;

        // retention (the rules: `crate::retention`)
        /// Which of `keys` (every entry a fetch of `source` lists) were seen before; records
        /// that the source lists them at `now`. Replaces one `is_seen` per entry.
        fn seen_listed(source: &str, keys: &[&str], now: Millis) -> Result<HashSet<String>, StoreError>;
        /// A "not modified" answer: what `source` listed last is still listed at `now`.
        fn still_listed(source: &str, now: Millis) -> Result<(), StoreError>;
        /// Deletes up to `batch` seen entries their source has not listed for `keep` (counted
        /// up to its last successful poll); the rows deleted.
        fn prune_seen(now: Millis, keep: Millis, batch: usize) -> Result<usize, StoreError>;
        /// Deletes up to `batch` alerts older than `keep` with nothing pending and no delivery
        /// within `keep`, with their deliveries, fingerprints and story links; the alerts deleted.
        fn prune_alerts(now: Millis, keep: Millis, batch: usize) -> Result<usize, StoreError>;
        /// The database's size and each table's rows and bytes.
        fn database_size() -> Result<DatabaseSize, StoreError>;
        // cluster (PostgreSQL; on SQLite every lease is granted and no instance is listed)
        /// Announces the instance or refreshes its heartbeat; false when another live process
        /// (heartbeat after `stale_before`) already uses the name.
        fn heartbeat(instance: &Instance, stale_before: Millis) -> Result<bool, StoreError>;
        /// A clean stop: the instance's row goes, its leases end and its in-flight rows are due.
        fn leave(name: &str, now: Millis) -> Result<(), StoreError>;
        /// Instances with a heartbeat since `since`, with the leases they hold at `now`.
        fn live_instances(since: Millis, now: Millis) -> Result<Vec<LiveInstance>, StoreError>;
        /// Takes or renews the named lease unless another holder's runs past `now`.
        fn take_lease(name: &str, holder: &str, now: Millis, until: Millis) -> Result<Claim, StoreError>;
        /// The lease of polling a source; with `due_only`, only when its next poll is due.
        fn claim_source(source: &str, holder: &str, now: Millis, until: Millis, due_only: bool) -> Result<Claim, StoreError>;
        fn release_lease(name: &str, holder: &str) -> Result<(), StoreError>;
        /// Leases one due outbox row for one attempt; false when it is not due or someone else's.
        fn claim_delivery(alert_id: &str, sink: &str, holder: &str, now: Millis, until: Millis) -> Result<bool, StoreError>;
        /// Leases every pending member of a due digest for one attempt, all or none.
        fn claim_digest(sink: &str, digest_id: &str, holder: &str, now: Millis, until: Millis) -> Result<bool, StoreError>;
        /// A turn at `key` shared by every instance: a start at least `gap` ms after the
        /// previous turn's start (by the database's clock, so instances' clocks need not
        /// agree) and, with `slots`, one of that many in-flight slots held for `hold` ms unless
        /// released first.
        fn take_turn(key: &str, holder: &str, slots: Option<u32>, gap: Millis, hold: Millis) -> Result<TurnGrant, StoreError>;
        /// Gives an in-flight slot back before its hold runs out.
        fn release_turn(key: &str, slot: i32, holder: &str) -> Result<(), StoreError>;
    }
}

impl From<SqliteStore> for Store {
    fn from(store: SqliteStore) -> Store {
        Store {
            backend: Backend::Sqlite(Arc::new(store)),
        }
    }
}
