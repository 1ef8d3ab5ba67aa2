//! Durable state: each source's HTTP validators, poll health and schedule facts (entry rhythm,
//! next poll), the entries already seen, the alerts created — watchlist matches and
//! source-health messages alike — and their delivery outbox (one row per alert and sink);
//! WebSub subscriptions and the pushed bodies waiting to be processed; the article archive
//! (every processed article's record, compressed, for `match --archive`, `archive show` and
//! backfill) and which watchlist queries were backfilled.
//!
//! This file holds the interface's nouns and errors, `interface.rs` the async [`Store`] every
//! caller uses; [`sqlite`] is the embedded backend (one file, WAL). The invariant the daemon
//! relies on: [`Store::commit_entry`] marks an entry seen and inserts its alerts and outbox
//! rows in ONE transaction, so an alert is created exactly once and never lost; outbox rows
//! stay until a sink accepts them (or they become dead letters). No SQL leaves this module.

#[cfg(test)]
mod conformance;
mod interface;
pub mod postgres;
pub mod sqlite;
pub mod transfer;

pub use interface::Store;

/// Milliseconds since the Unix epoch: the store's only notion of time, always passed in.
pub type Millis = i64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the state directory {path}: {source}")]
    CreateDirectory {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot create the database file {path}: {source}")]
    CreateFile {
        path: String,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("was written by a newer wirewatch (schema version {found}; this build, wirewatch {}, knows versions up to {known}): downgrades are not supported; use a wirewatch newer than {}, or give this config a new state_dir", env!("CARGO_PKG_VERSION"), env!("CARGO_PKG_VERSION"))]
    NewerSchema { found: i64, known: i64 },
    #[error("cannot be written ({0}); wirewatch records every poll and alert in it, so make the file, its -wal and -shm files and its directory writable by the user running wirewatch (e.g. chown or chmod u+w), or set another daemon.state_dir")]
    ReadOnly(String),
    #[error("is damaged ({0}); restore it from a backup, or move it away with its -wal and -shm files to start with an empty one (alerts still waiting in its outbox would then never be delivered)")]
    Corrupt(String),
    #[error("the database lock is poisoned (a previous operation panicked)")]
    Poisoned,
    #[error("database error: {}", postgres::postgres_message(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error(
        "cannot get a database connection: {}; check that PostgreSQL is running and reachable",
        postgres::pool_message(.0)
    )]
    PostgresPool(#[from] deadpool_postgres::PoolError),
    #[error("{0}")]
    Transfer(String),
    #[error("the database is unreachable ({0}); retrying with back-off")]
    Unavailable(String),
    #[error("cannot connect to {url}: {reason}; check the address, user, password and database name in daemon.database, and that PostgreSQL accepts connections from this host")]
    Unreachable { url: String, reason: String },
}

impl StoreError {
    /// Whether the database could not be reached (down, restarting, network cut, timed out)
    /// rather than refusing what was asked: the same call later is expected to succeed, so
    /// callers retry instead of counting it against a source or a delivery.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) | StoreError::PostgresPool(_) => true,
            StoreError::Postgres(error) => postgres::is_connection_error(error),
            _ => false,
        }
    }
}

/// HTTP validators remembered per source, sent back verbatim on the next poll.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// An alert to create together with the entry that raised it.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub id: String,
    /// SimHash of the article body (`similarity::fingerprint`); `None` for short bodies.
    pub fingerprint: Option<u64>,
    /// The article's title, recorded with the first alert when this is a near-duplicate.
    pub title: String,
    pub watchlist: String,
    pub article_url: String,
    pub source: String,
    pub payload: String,
    pub sinks: Vec<String>,
}

/// An outbox row whose delivery attempt is due.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub alert_id: String,
    pub sink: String,
    pub payload: String,
    /// Attempts already made (0 for a fresh alert).
    pub attempts: u32,
    pub created_at: Millis,
}

/// An alert as it was created: its payload (the JSON every sink is sent), for the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAlert {
    pub alert_id: String,
    /// The payload's `type`: `article.matched`, or a source-health message's.
    pub kind: String,
    pub watchlist: String,
    pub source: String,
    pub article_url: String,
    pub created_at: Millis,
    pub payload: String,
}

/// One row of `alerts list`: an alert and its delivery to one sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    pub alert_id: String,
    /// The payload's `type`: `article.matched`, or a source-health message's.
    pub kind: String,
    pub watchlist: String,
    pub source: String,
    pub article_url: String,
    pub title: String,
    pub created_at: Millis,
    pub sink: String,
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// The digest that carries (or carried) this alert to this sink.
    pub digest_id: Option<String>,
}

/// What the store knows of a source's polls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceState {
    pub source: String,
    pub last_polled_at: Option<Millis>,
    pub last_success_at: Option<Millis>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: u64,
    pub delivered: u64,
    pub dead: u64,
}

/// A source's health and schedule facts, as `wirewatch sources` shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceHealth {
    pub source: String,
    pub last_polled_at: Option<Millis>,
    pub last_success_at: Option<Millis>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    /// When the last poll found a new entry.
    pub last_new_entry_at: Option<Millis>,
    /// The entry rhythm learned on the last full poll: mean gap and newest entry date.
    pub entry_gap_ms: Option<i64>,
    pub newest_entry_at: Option<Millis>,
    pub next_poll_at: Option<Millis>,
    /// Set while the source is reported unhealthy (a `source.unhealthy` message was created).
    pub unhealthy_since: Option<Millis>,
}

/// A message about a source (not a watchlist match) to create with its outbox rows.
#[derive(Debug, Clone)]
pub struct HealthAlert {
    pub id: String,
    /// `source.unhealthy` or `source.recovered`.
    pub kind: &'static str,
    pub payload: String,
    pub sinks: Vec<String>,
}

/// A source's WebSub subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub source: String,
    /// The unguessable last segment of the callback URL.
    pub callback_id: String,
    /// The `hub.secret` pushes are signed with (never shown by `Debug`).
    pub secret: crate::secret::Secret,
    pub hub: String,
    pub topic: String,
    /// The callback URL of the last request (it changes with `[daemon] public_url`).
    pub callback: Option<String>,
    pub facts: crate::websub::Facts,
    /// Why the last request failed, or the hub's reason for a denial.
    pub last_error: Option<String>,
}

/// A pushed body, stored before the hub is answered and processed afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub id: i64,
    pub source: String,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub received_at: Millis,
}

/// One processed article as the archive keeps it. The store does not look inside `record`
/// (the `archive` module encodes and decodes it); the other fields are what lookups filter on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedArticle {
    /// `art_` and the hex SHA-256 of `url` (see `archive::article_id`).
    pub id: String,
    pub source: String,
    /// The URL that identifies the article (alert ids and de-duplication derive from it).
    pub url: String,
    pub fetched_url: String,
    pub title: String,
    pub language: Option<String>,
    pub processed_at: Millis,
    /// The compressed FORMAT.md record.
    pub record: Vec<u8>,
}

/// Where a page of [`Store::archive_page`] starts: strictly older than this row
/// (`processed_at`, then `id`, both descending), so pages never overlap or skip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveCursor {
    pub processed_at: Millis,
    pub id: String,
}

/// What became of one attempt, for [`Store::settle_digest`].
#[derive(Debug, Clone, Copy)]
pub enum Settlement<'a> {
    Delivered {
        now: Millis,
    },
    Retry {
        next_attempt_at: Millis,
        error: &'a str,
    },
    Dead {
        error: &'a str,
    },
}

/// The database's size and what each table holds, for `wirewatch status` and `/status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseSize {
    /// Bytes the database takes (SQLite: the main file's pages, not its `-wal`; PostgreSQL:
    /// `pg_database_size`).
    pub bytes: u64,
    /// Every table of wirewatch's schema, by name.
    pub tables: Vec<TableSize>,
}

/// One table's rows and bytes (its indexes included).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableSize {
    pub name: String,
    pub rows: u64,
    /// `None` where the backend cannot tell (SQLite built without `dbstat`).
    pub bytes: Option<u64>,
}

/// How stale a seen entry's `listed_at` may get before a poll that lists it again writes it:
/// retention counts in days, so refreshing at most hourly keeps a busy feed's polls from
/// rewriting its fifty rows every minute.
pub const LISTING_REFRESH: Millis = 3600 * 1000;
/// A running instance as it announces itself to the others (PostgreSQL only: a SQLite state
/// directory has one instance, its lock sees to that).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub name: String,
    pub started_at: Millis,
    pub heartbeat_at: Millis,
    /// SHA-256 prefix of the configuration file: instances that disagree are warned about.
    pub config_hash: String,
    pub version: String,
}

/// A live instance and what it holds right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveInstance {
    pub instance: Instance,
    /// Names of the leases it holds (`source:NAME`, `websub:NAME`), with their expiry.
    pub leases: Vec<(String, Millis)>,
    /// Outbox rows it is attempting (leased, not settled yet).
    pub deliveries: u64,
}

/// The answer to a lease request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The caller holds the lease until the expiry it asked for.
    Granted,
    /// Someone else holds it, or the work is not due: ask again at this time (or earlier).
    NotBefore(Millis),
}

/// The answer to a request for a turn at a shared resource (a host, a rate-limited sink).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnGrant {
    /// The caller may start after waiting `wait` milliseconds; it holds in-flight `slot` (if
    /// slots were asked for) until it releases it or the hold runs out.
    Granted { slot: Option<i32>, wait: Millis },
    /// Every in-flight slot is held: ask again a little later.
    Busy,
}

/// How far back a story counts as already alerted (a wire story resurfacing a month later is
/// news again).
pub const STORY_WINDOW: Millis = 7 * 24 * 3600 * 1000;
