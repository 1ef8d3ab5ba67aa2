//! Durable state in one SQLite file (WAL): each source's HTTP validators, poll health and
//! schedule facts (entry rhythm, next poll), the entries already seen, the alerts created —
//! watchlist matches and source-health messages alike — and their delivery outbox (one row per
//! alert and sink); WebSub subscriptions and the pushed bodies waiting to be processed.
//!
//! The invariant the daemon relies on: [`Store::commit_entry`] marks an entry seen and inserts
//! its alerts and outbox rows in ONE transaction, so an alert is created exactly once and never
//! lost; outbox rows stay until a sink accepts them (or they become dead letters). The interface
//! is deliberately narrow (no SQL leaves this module) so a Postgres store can be added later.
//!
//! Calls are synchronous and short (local transactions of a few rows); async callers invoke them
//! directly rather than paying a thread hop for sub-millisecond work.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

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
    pub secret: crate::config::Secret,
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

pub struct Store {
    connection: Mutex<Connection>,
    /// What the database could not take: kept in memory so health still tells the truth.
    unrecorded: Mutex<Unrecorded>,
}

/// Poll bookkeeping that failed to reach the database (read-only file, full disk, lock held).
#[derive(Default)]
struct Unrecorded {
    /// Per source: failed polls not counted in the database, and the last one's error.
    failures: std::collections::HashMap<String, (u32, String)>,
    /// The last failed poll-bookkeeping write; cleared when one succeeds again.
    problem: Option<String>,
    /// Failed writes since the store was opened.
    count: u64,
}

/// Steps from each older schema version to the next (the last one's version is current); a database is brought forward step by step
/// at open, so databases of every earlier release keep working.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        2,
        "ALTER TABLE source_state ADD COLUMN last_new_entry_at INTEGER;
     ALTER TABLE source_state ADD COLUMN entry_gap_ms INTEGER;
     ALTER TABLE source_state ADD COLUMN newest_entry_at INTEGER;
     ALTER TABLE source_state ADD COLUMN next_poll_at INTEGER;
     ALTER TABLE source_state ADD COLUMN unhealthy_since INTEGER;
     ALTER TABLE alerts ADD COLUMN kind TEXT NOT NULL DEFAULT 'article.matched';",
    ),
    // WebSub: one subscription per source (its callback id and secret, the hub and topic, and
    // the facts of `websub::Facts`), and pushed bodies waiting to be processed.
    (
        3,
        "CREATE TABLE websub_subscriptions (
         source TEXT PRIMARY KEY,
         callback_id TEXT NOT NULL UNIQUE,
         secret TEXT NOT NULL,
         hub TEXT NOT NULL,
         topic TEXT NOT NULL,
         callback TEXT,
         requested_at INTEGER,
         accepted INTEGER NOT NULL DEFAULT 0,
         failures INTEGER NOT NULL DEFAULT 0,
         verified_at INTEGER,
         expires_at INTEGER,
         denied_at INTEGER,
         last_error TEXT
     );
     CREATE TABLE websub_inbox (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         source TEXT NOT NULL,
         content_type TEXT,
         body BLOB NOT NULL,
         received_at INTEGER NOT NULL
     );",
    ),
    (
        // the digest a row was bundled into (sinks with `digest`): kept after delivery, so
        // `alerts list` can say which message carried the alert
        4,
        "ALTER TABLE deliveries ADD COLUMN digest_id TEXT;
     CREATE INDEX deliveries_digest ON deliveries (sink, digest_id);",
    ),
];

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS source_state (
    source TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    last_polled_at INTEGER,
    last_success_at INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS seen_entries (
    source TEXT NOT NULL,
    entry_key TEXT NOT NULL,
    url TEXT,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (source, entry_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    watchlist TEXT NOT NULL,
    article_url TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    payload TEXT NOT NULL,
    UNIQUE (watchlist, article_url)
);
CREATE TABLE IF NOT EXISTS deliveries (
    alert_id TEXT NOT NULL REFERENCES alerts(id),
    sink TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    delivered_at INTEGER,
    PRIMARY KEY (alert_id, sink)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (sink, state, next_attempt_at);
";

/// Near-duplicate bookkeeping: one fingerprint per alert (with its eight 8-bit bands indexed,
/// see `similarity::bands`), and every other place a story was seen.
const STORY_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alert_fingerprints (
    alert_id TEXT PRIMARY KEY REFERENCES alerts(id),
    watchlist TEXT NOT NULL,
    fingerprint INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    b0 INTEGER NOT NULL, b1 INTEGER NOT NULL, b2 INTEGER NOT NULL, b3 INTEGER NOT NULL,
    b4 INTEGER NOT NULL, b5 INTEGER NOT NULL, b6 INTEGER NOT NULL, b7 INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS fingerprint_b0 ON alert_fingerprints (watchlist, b0);
CREATE INDEX IF NOT EXISTS fingerprint_b1 ON alert_fingerprints (watchlist, b1);
CREATE INDEX IF NOT EXISTS fingerprint_b2 ON alert_fingerprints (watchlist, b2);
CREATE INDEX IF NOT EXISTS fingerprint_b3 ON alert_fingerprints (watchlist, b3);
CREATE INDEX IF NOT EXISTS fingerprint_b4 ON alert_fingerprints (watchlist, b4);
CREATE INDEX IF NOT EXISTS fingerprint_b5 ON alert_fingerprints (watchlist, b5);
CREATE INDEX IF NOT EXISTS fingerprint_b6 ON alert_fingerprints (watchlist, b6);
CREATE INDEX IF NOT EXISTS fingerprint_b7 ON alert_fingerprints (watchlist, b7);
CREATE TABLE IF NOT EXISTS story_links (
    alert_id TEXT NOT NULL REFERENCES alerts(id),
    url TEXT NOT NULL,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (alert_id, url)
);
";

/// How far back a story counts as already alerted (a wire story resurfacing a month later is
/// news again).
pub const STORY_WINDOW: Millis = 7 * 24 * 3600 * 1000;

/// The newest schema version this build knows (the last migration's).
const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Rows of `PRAGMA quick_check` reported in an error: the first few say enough.
const QUICK_CHECK_ROWS: u32 = 5;

impl Store {
    /// Opens (creating if needed) the database file and its folder. What it creates is private
    /// whatever the umask: the folder 0700 and the file 0600 (SQLite gives the -wal and -shm
    /// files the database file's mode), because the database holds WebSub hub secrets.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(folder) = path.parent() {
            if !folder.as_os_str().is_empty() {
                create_private_directory(folder).map_err(|source| StoreError::CreateDirectory {
                    path: folder.display().to_string(),
                    source,
                })?;
            }
        }
        create_private_file(path)?;
        let connection = Connection::open(path).map_err(|error| with_advice(error.into()))?;
        Store::initialise(connection).map_err(with_advice)
    }

    /// The start-up checks of the daemon (`run` and `once`), which write to the database from
    /// then on: that it can be written, and that it passes `PRAGMA quick_check`. Read-only
    /// commands skip them. quick_check reads the whole file (about a second per few hundred MB
    /// on an SSD; a database of a year of alerts is typically tens of MB).
    pub fn check_for_daemon(&self) -> Result<(), StoreError> {
        let connection = self.lock()?;
        let problems: Vec<String> = connection
            .prepare(&format!("PRAGMA quick_check({QUICK_CHECK_ROWS})"))?
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<Result<_, _>>()
            .map_err(|error| with_advice(error.into()))?;
        if problems.iter().any(|problem| problem != "ok") {
            // one row may hold several lines under a "*** in database main ***" heading
            let lines: Vec<&str> = problems
                .iter()
                .flat_map(|problem| problem.lines())
                .filter(|line| !line.starts_with("***") && !line.trim().is_empty())
                .take(QUICK_CHECK_ROWS as usize)
                .collect();
            return Err(StoreError::Corrupt(format!(
                "PRAGMA quick_check: {}",
                lines.join("; ")
            )));
        }
        // A real write (the version rewritten as it is, then kept): a file opened read-only
        // (mode 0444, a read-only mount) only fails here, not when it is opened.
        let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
        let written = connection
            .execute_batch("BEGIN IMMEDIATE")
            .and_then(|()| connection.pragma_update(None, "user_version", version))
            .and_then(|()| connection.execute_batch("COMMIT"));
        if let Err(error) = written {
            let _ = connection.execute_batch("ROLLBACK");
            return Err(match error.sqlite_error_code() {
                Some(rusqlite::ErrorCode::ReadOnly) | Some(rusqlite::ErrorCode::CannotOpen) => {
                    StoreError::ReadOnly(error.to_string())
                }
                _ => with_advice(error.into()),
            });
        }
        Ok(())
    }

    /// A private in-memory database, for tests and one-shot commands.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::initialise(Connection::open_in_memory()?)
    }

    fn initialise(connection: Connection) -> Result<Store, StoreError> {
        // A newer build may have changed tables this one would misread or clobber.
        let found: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                found,
                known: SCHEMA_VERSION,
            });
        }
        // WAL lets `alerts list` read while the daemon writes; synchronous=NORMAL is durable
        // across process crashes (kill -9) in WAL mode, which is what we promise.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        connection.busy_timeout(Duration::from_secs(10))?;
        // A new database gets the first schema, then the same steps as an old one. Each step
        // and its version bump commit together (a crash leaves either), and the version is read
        // inside the step's write transaction: another process opening the same file at the
        // same moment (`alerts list` while the daemon starts) waits, then sees the step done,
        // instead of applying it twice or setting the version back.
        let steps = std::iter::once((1, SCHEMA)).chain(MIGRATIONS.iter().copied());
        for (target, step) in steps {
            let version: i64 =
                connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
            if version >= target {
                continue;
            }
            connection.execute_batch("BEGIN IMMEDIATE")?;
            let applied = (|| {
                let version: i64 =
                    connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
                if version < target {
                    connection.execute_batch(step)?;
                    connection.pragma_update(None, "user_version", target)?;
                }
                connection.execute_batch("COMMIT")
            })();
            if let Err(error) = applied {
                let _ = connection.execute_batch("ROLLBACK");
                return Err(error.into());
            }
        }
        // idempotent additions, whatever the version: safe on old and new databases alike
        connection.execute_batch(STORY_SCHEMA)?;
        Ok(Store {
            connection: Mutex::new(connection),
            unrecorded: Mutex::new(Unrecorded::default()),
        })
    }

    #[cfg(test)]
    pub(crate) fn make_read_only(&self) {
        if let Ok(connection) = self.lock() {
            connection.pragma_update(None, "query_only", true).unwrap();
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.connection.lock().map_err(|_| StoreError::Poisoned)
    }

    pub fn validators(&self, source: &str) -> Result<Validators, StoreError> {
        let connection = self.lock()?;
        let row = connection
            .prepare_cached("SELECT etag, last_modified FROM source_state WHERE source = ?1")?
            .query_row(params![source], |row| {
                Ok(Validators {
                    etag: row.get(0)?,
                    last_modified: row.get(1)?,
                })
            })
            .optional()?;
        Ok(row.unwrap_or_default())
    }

    /// A successful poll (200 or 304): new validators replace the old ones only on a 200.
    pub fn record_poll_success(
        &self,
        source: &str,
        validators: Option<&Validators>,
        now: Millis,
    ) -> Result<(), StoreError> {
        let result = self.write_poll_success(source, validators, now);
        if let Ok(mut unrecorded) = self.unrecorded.lock() {
            match &result {
                Ok(()) => {
                    unrecorded.failures.remove(source);
                    unrecorded.problem = None;
                }
                Err(error) => unrecorded.note(error),
            }
        }
        result
    }

    fn write_poll_success(
        &self,
        source: &str,
        validators: Option<&Validators>,
        now: Millis,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "INSERT INTO source_state (source, last_polled_at, last_success_at, consecutive_failures)
             VALUES (?1, ?2, ?2, 0)
             ON CONFLICT (source) DO UPDATE SET last_polled_at = ?2, last_success_at = ?2,
                 consecutive_failures = 0, last_error = NULL",
            )?
            .execute(params![source, now])?;
        if let Some(validators) = validators {
            connection
                .prepare_cached(
                    "UPDATE source_state SET etag = ?2, last_modified = ?3 WHERE source = ?1",
                )?
                .execute(params![source, validators.etag, validators.last_modified])?;
        }
        Ok(())
    }

    /// A failed poll; returns the number of consecutive failures so far. When the database
    /// cannot take it, the failure is counted in memory (see [`Store::source_health`]) and the
    /// error returned.
    pub fn record_poll_failure(
        &self,
        source: &str,
        error: &str,
        now: Millis,
    ) -> Result<u32, StoreError> {
        let result = self.write_poll_failure(source, error, now);
        if let Ok(mut unrecorded) = self.unrecorded.lock() {
            match &result {
                Ok(_) => unrecorded.problem = None,
                Err(store_error) => {
                    unrecorded.note(store_error);
                    let failures = unrecorded
                        .failures
                        .entry(source.to_string())
                        .or_insert((0, String::new()));
                    failures.0 = failures.0.saturating_add(1);
                    failures.1 = error.to_string();
                }
            }
        }
        result
    }

    /// The last poll-bookkeeping write the database refused, while it keeps refusing: the
    /// daemon is then unhealthy, whatever the sources say.
    pub fn write_problem(&self) -> Option<String> {
        self.unrecorded.lock().ok()?.problem.clone()
    }

    /// How many writes the database refused since it was opened.
    pub fn write_failures(&self) -> u64 {
        self.unrecorded
            .lock()
            .map_or(0, |unrecorded| unrecorded.count)
    }

    /// Adds the failures the database could not take to what it says of a source.
    fn with_unrecorded(&self, source: &str, failures: &mut u32, last_error: &mut Option<String>) {
        if let Ok(unrecorded) = self.unrecorded.lock() {
            if let Some((count, error)) = unrecorded.failures.get(source) {
                *failures = failures.saturating_add(*count);
                *last_error = Some(error.clone());
            }
        }
    }

    fn write_poll_failure(
        &self,
        source: &str,
        error: &str,
        now: Millis,
    ) -> Result<u32, StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "INSERT INTO source_state (source, last_polled_at, consecutive_failures, last_error)
             VALUES (?1, ?2, 1, ?3)
             ON CONFLICT (source) DO UPDATE SET last_polled_at = ?2,
                 consecutive_failures = consecutive_failures + 1, last_error = ?3",
            )?
            .execute(params![source, now, error])?;
        let failures: u32 = connection
            .prepare_cached("SELECT consecutive_failures FROM source_state WHERE source = ?1")?
            .query_row(params![source], |row| row.get(0))?;
        Ok(failures)
    }

    pub fn source_states(&self) -> Result<Vec<SourceState>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare(
            "SELECT source, last_polled_at, last_success_at, consecutive_failures, last_error
             FROM source_state ORDER BY source",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(SourceState {
                source: row.get(0)?,
                last_polled_at: row.get(1)?,
                last_success_at: row.get(2)?,
                consecutive_failures: row.get(3)?,
                last_error: row.get(4)?,
            })
        })?;
        let mut states = rows.collect::<Result<Vec<_>, _>>()?;
        // a source whose first poll could not be recorded has no row yet
        if let Ok(unrecorded) = self.unrecorded.lock() {
            for source in unrecorded.failures.keys() {
                if !states.iter().any(|state| &state.source == source) {
                    states.push(SourceState {
                        source: source.clone(),
                        ..SourceState::default()
                    });
                }
            }
        }
        for state in &mut states {
            self.with_unrecorded(
                &state.source,
                &mut state.consecutive_failures,
                &mut state.last_error,
            );
        }
        Ok(states)
    }

    /// After a full poll: when a new entry was last seen (if this poll found one) and the entry
    /// rhythm learned from the feed (kept as it was when the feed has too few dates).
    pub fn record_entries(
        &self,
        source: &str,
        new_entry_at: Option<Millis>,
        rhythm: Option<(i64, Millis)>,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "UPDATE source_state SET
                 last_new_entry_at = COALESCE(?2, last_new_entry_at),
                 entry_gap_ms = COALESCE(?3, entry_gap_ms),
                 newest_entry_at = COALESCE(?4, newest_entry_at)
             WHERE source = ?1",
            )?
            .execute(params![
                source,
                new_entry_at,
                rhythm.map(|(gap, _)| gap),
                rhythm.map(|(_, newest)| newest)
            ])?;
        Ok(())
    }

    pub fn record_next_poll(&self, source: &str, at: Millis) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached("UPDATE source_state SET next_poll_at = ?2 WHERE source = ?1")?
            .execute(params![source, at])?;
        Ok(())
    }

    pub fn source_health(&self, source: &str) -> Result<Option<SourceHealth>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(&format!(
            "SELECT {HEALTH_COLUMNS} FROM source_state WHERE source = ?1"
        ))?;
        let mut health = statement
            .query_row(params![source], health_row)
            .optional()?;
        if health.is_none()
            && self
                .unrecorded
                .lock()
                .is_ok_and(|u| u.failures.contains_key(source))
        {
            health = Some(SourceHealth {
                source: source.to_string(),
                ..SourceHealth::default()
            });
        }
        if let Some(health) = &mut health {
            self.with_unrecorded(
                source,
                &mut health.consecutive_failures,
                &mut health.last_error,
            );
        }
        Ok(health)
    }

    /// Every source the database knows, by name (also sources no longer configured).
    pub fn all_source_health(&self) -> Result<Vec<SourceHealth>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare(&format!(
            "SELECT {HEALTH_COLUMNS} FROM source_state ORDER BY source"
        ))?;
        let rows = statement.query_map([], health_row)?;
        let mut all = rows.collect::<Result<Vec<_>, _>>()?;
        for health in &mut all {
            self.with_unrecorded(
                &health.source,
                &mut health.consecutive_failures,
                &mut health.last_error,
            );
        }
        Ok(all)
    }

    /// Marks the source unhealthy and creates the message `build` returns, atomically — once per
    /// episode: returns false (and creates nothing) if it is already marked.
    pub fn mark_unhealthy(
        &self,
        source: &str,
        now: Millis,
        build: impl FnOnce() -> Option<HealthAlert>,
    ) -> Result<bool, StoreError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction()?;
        let changed = transaction
            .prepare_cached(
                "UPDATE source_state SET unhealthy_since = ?2
             WHERE source = ?1 AND unhealthy_since IS NULL",
            )?
            .execute(params![source, now])?;
        if changed == 0 {
            return Ok(false);
        }
        if let Some(alert) = build() {
            insert_health_alert(&transaction, source, &alert, now)?;
        }
        transaction.commit()?;
        Ok(true)
    }

    /// Clears the unhealthy mark and creates the message `build` returns (given when the
    /// episode began), atomically; false if the source was not marked.
    pub fn mark_recovered(
        &self,
        source: &str,
        now: Millis,
        build: impl FnOnce(Millis) -> Option<HealthAlert>,
    ) -> Result<bool, StoreError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction()?;
        let since: Option<Millis> = transaction
            .prepare_cached("SELECT unhealthy_since FROM source_state WHERE source = ?1")?
            .query_row(params![source], |row| row.get(0))
            .optional()?
            .flatten();
        let Some(since) = since else {
            return Ok(false);
        };
        transaction
            .prepare_cached("UPDATE source_state SET unhealthy_since = NULL WHERE source = ?1")?
            .execute(params![source])?;
        if let Some(alert) = build(since) {
            insert_health_alert(&transaction, source, &alert, now)?;
        }
        transaction.commit()?;
        Ok(true)
    }

    pub fn is_seen(&self, source: &str, entry_key: &str) -> Result<bool, StoreError> {
        let connection = self.lock()?;
        let found = connection
            .prepare_cached("SELECT 1 FROM seen_entries WHERE source = ?1 AND entry_key = ?2")?
            .query_row(params![source, entry_key], |_| Ok(()))
            .optional()?;
        Ok(found.is_some())
    }

    /// Whether this watchlist already alerted on this article (from any source).
    pub fn has_alert(&self, watchlist: &str, article_url: &str) -> Result<bool, StoreError> {
        let connection = self.lock()?;
        let found = connection
            .prepare_cached("SELECT 1 FROM alerts WHERE watchlist = ?1 AND article_url = ?2")?
            .query_row(params![watchlist, article_url], |_| Ok(()))
            .optional()?;
        Ok(found.is_some())
    }

    /// Marks many entries seen in one transaction (entries that raise no alert, such as those
    /// older than `max_age`): one commit instead of one per entry.
    pub fn commit_seen(
        &self,
        source: &str,
        entries: &[(&str, Option<&str>)],
        now: Millis,
    ) -> Result<(), StoreError> {
        let result = self.write_seen(source, entries, now);
        self.note(&result);
        result
    }

    fn write_seen(
        &self,
        source: &str,
        entries: &[(&str, Option<&str>)],
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction()?;
        {
            let mut insert = transaction.prepare_cached(
                "INSERT OR IGNORE INTO seen_entries (source, entry_key, url, seen_at) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (key, url) in entries {
                insert.execute(params![source, key, url, now])?;
            }
        }
        transaction.commit()?;
        Ok(())
    }

    /// Marks the entry seen and creates its alerts with one outbox row per sink — atomically.
    /// An alert whose (watchlist, article) pair exists already is skipped: at most one alert per
    /// watchlist and article, ever. An alert whose body is a near-duplicate of one this watchlist
    /// raised within [`STORY_WINDOW`] is not created either: the article is linked to the first
    /// alert instead, and listed in its payload's `also_seen` while no attempt was made yet.
    /// Checking inside the transaction makes concurrent polls see each other's stories.
    /// Returns the ids of the alerts actually created.
    pub fn commit_entry(
        &self,
        source: &str,
        entry_key: &str,
        entry_url: Option<&str>,
        alerts: &[NewAlert],
        now: Millis,
    ) -> Result<Vec<String>, StoreError> {
        let result = self.write_entry(source, entry_key, entry_url, alerts, now);
        self.note(&result);
        result
    }

    /// Counts a failed write (the poll's own bookkeeping decides whether it is cleared).
    fn note<T>(&self, result: &Result<T, StoreError>) {
        if let (Err(error), Ok(mut unrecorded)) = (result, self.unrecorded.lock()) {
            unrecorded.note(error);
        }
    }

    fn write_entry(
        &self,
        source: &str,
        entry_key: &str,
        entry_url: Option<&str>,
        alerts: &[NewAlert],
        now: Millis,
    ) -> Result<Vec<String>, StoreError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction()?;
        transaction
            .prepare_cached(
                "INSERT OR IGNORE INTO seen_entries (source, entry_key, url, seen_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![source, entry_key, entry_url, now])?;
        let mut created = Vec::new();
        for alert in alerts {
            if let Some(fingerprint) = alert.fingerprint {
                if let Some(first) =
                    near_duplicate_of(&transaction, &alert.watchlist, fingerprint, now)?
                {
                    if first != alert.id {
                        link_story(&transaction, &first, alert)?;
                    }
                    continue;
                }
            }
            let inserted = transaction
                .prepare_cached(
                    "INSERT OR IGNORE INTO alerts (id, watchlist, article_url, source, created_at, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    alert.id,
                    alert.watchlist,
                    alert.article_url,
                    alert.source,
                    now,
                    alert.payload
                ])?;
            if inserted == 0 {
                continue;
            }
            for sink in &alert.sinks {
                transaction
                    .prepare_cached(
                        "INSERT OR IGNORE INTO deliveries (alert_id, sink, next_attempt_at) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![alert.id, sink, now])?;
            }
            if let Some(fingerprint) = alert.fingerprint {
                let [b0, b1, b2, b3, b4, b5, b6, b7] = crate::similarity::bands(fingerprint);
                transaction.execute(
                    "INSERT OR IGNORE INTO alert_fingerprints
                     (alert_id, watchlist, fingerprint, created_at, b0, b1, b2, b3, b4, b5, b6, b7)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    params![
                        alert.id,
                        alert.watchlist,
                        fingerprint as i64,
                        now,
                        b0,
                        b1,
                        b2,
                        b3,
                        b4,
                        b5,
                        b6,
                        b7
                    ],
                )?;
            }
            created.push(alert.id.clone());
        }
        transaction.commit()?;
        Ok(created)
    }

    /// Where else the story of this alert was seen (near-duplicates from other outlets).
    pub fn story_links(&self, alert_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare(
            "SELECT source, url FROM story_links WHERE alert_id = ?1 ORDER BY seen_at, url",
        )?;
        let rows = statement.query_map(params![alert_id], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Pending deliveries of one sink whose attempt is due, oldest first.
    pub fn due_deliveries(
        &self,
        sink: &str,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        self.due_rows(sink, now, limit, false)
    }

    /// As [`Store::due_deliveries`], without the watchlist matches: what a digest sink still
    /// sends one by one (source-health messages, which are not news to bundle).
    pub fn due_undigested(
        &self,
        sink: &str,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        self.due_rows(sink, now, limit, true)
    }

    fn due_rows(
        &self,
        sink: &str,
        now: Millis,
        limit: usize,
        skip_matches: bool,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(
            "SELECT d.alert_id, d.sink, a.payload, d.attempts, a.created_at
             FROM deliveries d JOIN alerts a ON a.id = d.alert_id
             WHERE d.sink = ?1 AND d.state = 'pending' AND d.next_attempt_at <= ?2
               AND (?4 = 0 OR a.kind != 'article.matched')
             ORDER BY d.next_attempt_at, a.created_at, d.alert_id LIMIT ?3",
        )?;
        let rows = statement.query_map(
            params![sink, now, limit as i64, skip_matches as i64],
            due_row,
        )?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// When the digest window of `sink` that is open now closes: the earliest pending match not
    /// yet in a digest, plus `window`. Windows start at their first alert rather than on
    /// wall-clock boundaries, so every alert waits at most one window and a lone alert is never
    /// sent moments after it arrived just because a boundary fell then.
    pub fn digest_window_end(
        &self,
        sink: &str,
        window: Millis,
    ) -> Result<Option<Millis>, StoreError> {
        let connection = self.lock()?;
        let first: Option<Millis> = connection
            .prepare_cached(
                "SELECT MIN(d.next_attempt_at) FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                 WHERE d.sink = ?1 AND d.state = 'pending' AND d.digest_id IS NULL
                   AND a.kind = 'article.matched'",
            )?
            .query_row(params![sink], |row| row.get(0))?;
        Ok(first.map(|first| first.saturating_add(window)))
    }

    /// Bundles up to `limit` pending matches of `sink` that were due by `cutoff` (the end of a
    /// closed window) into one digest, oldest first, whose id `name` derives from the member
    /// ids; the digest is due at once. Returns its id, `None` when nothing was waiting. Members
    /// are fixed from here on: every retry re-sends the same alerts under the same id, and a
    /// crash before the send leaves the digest pending, to be sent after the restart.
    pub fn form_digest(
        &self,
        sink: &str,
        cutoff: Millis,
        limit: usize,
        now: Millis,
        name: impl FnOnce(&[String]) -> String,
    ) -> Result<Option<String>, StoreError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction()?;
        let members: Vec<String> = {
            let mut statement = transaction.prepare_cached(
                "SELECT d.alert_id FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                 WHERE d.sink = ?1 AND d.state = 'pending' AND d.digest_id IS NULL
                   AND a.kind = 'article.matched' AND d.next_attempt_at <= ?2
                 ORDER BY a.created_at, d.alert_id LIMIT ?3",
            )?;
            let rows =
                statement.query_map(params![sink, cutoff, limit as i64], |row| row.get(0))?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        if members.is_empty() {
            return Ok(None);
        }
        let digest_id = name(&members);
        {
            let mut update = transaction.prepare_cached(
                "UPDATE deliveries SET digest_id = ?3, next_attempt_at = ?4
                 WHERE alert_id = ?1 AND sink = ?2",
            )?;
            for member in &members {
                update.execute(params![member, sink, digest_id, now])?;
            }
        }
        transaction.commit()?;
        Ok(Some(digest_id))
    }

    /// Digests of `sink` with pending members whose attempt is due, oldest first.
    pub fn due_digests(&self, sink: &str, now: Millis) -> Result<Vec<String>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(
            "SELECT digest_id FROM deliveries
             WHERE sink = ?1 AND state = 'pending' AND digest_id IS NOT NULL
             GROUP BY digest_id HAVING MIN(next_attempt_at) <= ?2
             ORDER BY MIN(next_attempt_at), digest_id",
        )?;
        let rows = statement.query_map(params![sink, now], |row| row.get(0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The pending members of a digest, in the order the message lists them.
    pub fn digest_members(
        &self,
        sink: &str,
        digest_id: &str,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(
            "SELECT d.alert_id, d.sink, a.payload, d.attempts, a.created_at
             FROM deliveries d JOIN alerts a ON a.id = d.alert_id
             WHERE d.sink = ?1 AND d.digest_id = ?2 AND d.state = 'pending'
             ORDER BY a.created_at, d.alert_id",
        )?;
        let rows = statement.query_map(params![sink, digest_id], due_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// When the next send of a digest sink falls due: a pending digest or single message, or
    /// the end of the open window.
    pub fn next_digest_due(
        &self,
        sink: &str,
        window: Millis,
    ) -> Result<Option<Millis>, StoreError> {
        let window_end = self.digest_window_end(sink, window)?;
        let connection = self.lock()?;
        let other: Option<Millis> = connection
            .prepare_cached(
                "SELECT MIN(d.next_attempt_at) FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                 WHERE d.sink = ?1 AND d.state = 'pending'
                   AND (d.digest_id IS NOT NULL OR a.kind != 'article.matched')",
            )?
            .query_row(params![sink], |row| row.get(0))?;
        Ok(match (window_end, other) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// Records one outcome for every pending member of a digest at once, so a crash can never
    /// split a digest into a delivered and a pending part.
    pub fn settle_digest(
        &self,
        sink: &str,
        digest_id: &str,
        settlement: Settlement<'_>,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        match settlement {
            Settlement::Delivered { now } => connection
                .prepare_cached(
                    "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1,
                         delivered_at = ?3, last_error = NULL
                     WHERE sink = ?1 AND digest_id = ?2 AND state = 'pending'",
                )?
                .execute(params![sink, digest_id, now])?,
            Settlement::Retry {
                next_attempt_at,
                error,
            } => connection
                .prepare_cached(
                    "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?3,
                         last_error = ?4
                     WHERE sink = ?1 AND digest_id = ?2 AND state = 'pending'",
                )?
                .execute(params![sink, digest_id, next_attempt_at, error])?,
            Settlement::Dead { error } => connection
                .prepare_cached(
                    "UPDATE deliveries SET state = 'dead', attempts = attempts + 1, last_error = ?3
                     WHERE sink = ?1 AND digest_id = ?2 AND state = 'pending'",
                )?
                .execute(params![sink, digest_id, error])?,
        };
        Ok(())
    }

    /// When the next pending delivery of this sink falls due, if any is pending.
    pub fn next_due(&self, sink: &str) -> Result<Option<Millis>, StoreError> {
        let connection = self.lock()?;
        let next: Option<Millis> = connection
            .prepare_cached(
                "SELECT MIN(next_attempt_at) FROM deliveries WHERE sink = ?1 AND state = 'pending'",
            )?
            .query_row(params![sink], |row| row.get(0))?;
        Ok(next)
    }

    pub fn mark_delivered(
        &self,
        alert_id: &str,
        sink: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, delivered_at = ?3,
                 last_error = NULL
             WHERE alert_id = ?1 AND sink = ?2",
            )?
            .execute(params![alert_id, sink, now])?;
        Ok(())
    }

    pub fn mark_retry(
        &self,
        alert_id: &str,
        sink: &str,
        next_attempt_at: Millis,
        error: &str,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?3, last_error = ?4
             WHERE alert_id = ?1 AND sink = ?2",
            )?
            .execute(params![alert_id, sink, next_attempt_at, error])?;
        Ok(())
    }

    /// A dead letter: kept with its last error, never attempted again unless replayed.
    pub fn mark_dead(&self, alert_id: &str, sink: &str, error: &str) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "UPDATE deliveries SET state = 'dead', attempts = attempts + 1, last_error = ?3
             WHERE alert_id = ?1 AND sink = ?2",
            )?
            .execute(params![alert_id, sink, error])?;
        Ok(())
    }

    pub fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let connection = self.lock()?;
        let mut counts = OutboxCounts::default();
        let mut statement =
            connection.prepare("SELECT state, COUNT(*) FROM deliveries GROUP BY state")?;
        let rows = statement.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?))
        })?;
        for row in rows {
            let (state, count) = row?;
            match state.as_str() {
                "pending" => counts.pending = count,
                "delivered" => counts.delivered = count,
                _ => counts.dead = count,
            }
        }
        Ok(counts)
    }

    /// Sinks that have pending deliveries, with how many (to warn about sinks no longer configured).
    pub fn pending_by_sink(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare(
            "SELECT sink, COUNT(*) FROM deliveries WHERE state = 'pending' GROUP BY sink ORDER BY sink",
        )?;
        let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Alerts with their deliveries, newest first; only dead letters with `dead_only`.
    pub fn list_alerts(
        &self,
        dead_only: bool,
        since: Millis,
        limit: usize,
    ) -> Result<Vec<AlertRow>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare(
            "SELECT a.id, a.watchlist, a.source, a.article_url,
                    -- A source-health message has no article: its type and source's last
                    -- error say what it is.
                    COALESCE(json_extract(a.payload, '$.article.title'),
                             json_extract(a.payload, '$.type') || ': ' || a.source
                               || COALESCE(' (' || json_extract(a.payload, '$.health.last_error') || ')', ''),
                             ''), a.created_at,
                    d.sink, d.state, d.attempts, d.last_error, d.digest_id, a.kind
             FROM alerts a JOIN deliveries d ON d.alert_id = a.id
             WHERE a.created_at >= ?1 AND (?2 = 0 OR d.state = 'dead')
             ORDER BY a.created_at DESC, a.id, d.sink LIMIT ?3",
        )?;
        let rows = statement.query_map(params![since, dead_only as i64, limit as i64], |row| {
            Ok(AlertRow {
                alert_id: row.get(0)?,
                watchlist: row.get(1)?,
                source: row.get(2)?,
                article_url: row.get(3)?,
                title: row.get(4)?,
                created_at: row.get(5)?,
                sink: row.get(6)?,
                state: row.get(7)?,
                attempts: row.get(8)?,
                last_error: row.get(9)?,
                digest_id: row.get(10)?,
                kind: row.get(11)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Queues an alert again for every sink it went to (whatever their state), with the same id
    /// and a fresh retry schedule. Returns the rows re-queued (0: no such alert).
    pub fn requeue_alert(&self, alert_id: &str, now: Millis) -> Result<usize, StoreError> {
        let connection = self.lock()?;
        Ok(connection.execute(
            "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?2,
                 delivered_at = NULL, digest_id = NULL
             WHERE alert_id = ?1",
            params![alert_id, now],
        )?)
    }

    /// Queues every dead letter again, with a fresh retry schedule.
    pub fn requeue_dead(&self, now: Millis) -> Result<usize, StoreError> {
        let connection = self.lock()?;
        Ok(connection.execute(
            "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?1,
                 digest_id = NULL
             WHERE state = 'dead'",
            params![now],
        )?)
    }

    /// Records the hub and topic a source's feed advertises. A new hub or topic starts a new
    /// subscription with a fresh callback id and secret from `fresh` (the old one lapses
    /// unrenewed); the same ones keep it. Returns whether anything changed.
    pub fn websub_advertised(
        &self,
        source: &str,
        hub: &str,
        topic: &str,
        fresh: impl FnOnce() -> (String, String),
    ) -> Result<bool, StoreError> {
        let connection = self.lock()?;
        let current: Option<(String, String)> = connection
            .prepare_cached("SELECT hub, topic FROM websub_subscriptions WHERE source = ?1")?
            .query_row(params![source], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        if current
            .as_ref()
            .is_some_and(|(h, t)| h == hub && t == topic)
        {
            return Ok(false);
        }
        let (callback_id, secret) = fresh();
        connection
            .prepare_cached(
                "INSERT OR REPLACE INTO websub_subscriptions (source, callback_id, secret, hub, topic)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![source, callback_id, secret, hub, topic])?;
        Ok(true)
    }

    /// Forgets a source's subscription (its feed no longer advertises a hub); true if there was
    /// one. Pushes to its callback are refused from now on, and the lease lapses unrenewed.
    pub fn websub_forget(&self, source: &str) -> Result<bool, StoreError> {
        let connection = self.lock()?;
        let deleted = connection
            .prepare_cached("DELETE FROM websub_subscriptions WHERE source = ?1")?
            .execute(params![source])?;
        Ok(deleted > 0)
    }

    pub fn websub_subscription(&self, source: &str) -> Result<Option<Subscription>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(&format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM websub_subscriptions WHERE source = ?1"
        ))?;
        Ok(statement
            .query_row(params![source], subscription_row)
            .optional()?)
    }

    /// The subscription a callback URL belongs to.
    pub fn websub_by_callback(
        &self,
        callback_id: &str,
    ) -> Result<Option<Subscription>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(&format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM websub_subscriptions WHERE callback_id = ?1"
        ))?;
        Ok(statement
            .query_row(params![callback_id], subscription_row)
            .optional()?)
    }

    /// A subscription request to `callback` is about to be sent.
    pub fn websub_requested(
        &self,
        source: &str,
        callback: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "UPDATE websub_subscriptions SET requested_at = ?2, callback = ?3, accepted = 0
                 WHERE source = ?1",
            )?
            .execute(params![source, now, callback])?;
        Ok(())
    }

    /// The hub's answer to the request: accepted (`None`: a verification should follow) or why
    /// it failed.
    pub fn websub_request_result(
        &self,
        source: &str,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        let sql = match error {
            None => "UPDATE websub_subscriptions SET accepted = 1, last_error = ?2 WHERE source = ?1",
            Some(_) => {
                "UPDATE websub_subscriptions SET accepted = 0, failures = failures + 1, last_error = ?2
                 WHERE source = ?1"
            }
        };
        connection
            .prepare_cached(sql)?
            .execute(params![source, error])?;
        Ok(())
    }

    /// The last request was accepted but never verified: it counts as a failure.
    pub fn websub_unanswered(&self, source: &str) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "UPDATE websub_subscriptions SET accepted = 0, failures = failures + 1,
                 last_error = 'the hub accepted the request but never verified it' WHERE source = ?1",
            )?
            .execute(params![source])?;
        Ok(())
    }

    /// The hub verified the subscription and granted a lease until `expires_at`.
    pub fn websub_verified(
        &self,
        callback_id: &str,
        now: Millis,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "UPDATE websub_subscriptions SET verified_at = ?2, expires_at = ?3, failures = 0,
                 denied_at = NULL, last_error = NULL WHERE callback_id = ?1",
            )?
            .execute(params![callback_id, now, expires_at])?;
        Ok(())
    }

    /// The hub denied the subscription (or ended it): no lease any more.
    pub fn websub_denied(
        &self,
        callback_id: &str,
        now: Millis,
        reason: &str,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "UPDATE websub_subscriptions SET denied_at = ?2, expires_at = NULL, last_error = ?3
                 WHERE callback_id = ?1",
            )?
            .execute(params![callback_id, now, reason])?;
        Ok(())
    }

    /// Stores a pushed body for processing; false (nothing stored) when `limit` bodies are
    /// waiting already, so a flood cannot fill the disk.
    pub fn websub_enqueue(
        &self,
        source: &str,
        content_type: Option<&str>,
        body: &[u8],
        now: Millis,
        limit: u64,
    ) -> Result<bool, StoreError> {
        let connection = self.lock()?;
        let waiting: u64 = connection
            .prepare_cached("SELECT COUNT(*) FROM websub_inbox")?
            .query_row([], |row| row.get(0))?;
        if waiting >= limit {
            return Ok(false);
        }
        connection
            .prepare_cached(
                "INSERT INTO websub_inbox (source, content_type, body, received_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![source, content_type, body, now])?;
        Ok(true)
    }

    /// The oldest pushed body not processed yet.
    pub fn websub_next_pushed(&self) -> Result<Option<Pushed>, StoreError> {
        let connection = self.lock()?;
        let row = connection
            .prepare_cached(
                "SELECT id, source, content_type, body, received_at FROM websub_inbox ORDER BY id LIMIT 1",
            )?
            .query_row([], |row| {
                Ok(Pushed {
                    id: row.get(0)?,
                    source: row.get(1)?,
                    content_type: row.get(2)?,
                    body: row.get(3)?,
                    received_at: row.get(4)?,
                })
            })
            .optional()?;
        Ok(row)
    }

    pub fn websub_pushed_done(&self, id: i64) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached("DELETE FROM websub_inbox WHERE id = ?1")?
            .execute(params![id])?;
        Ok(())
    }
}

const SUBSCRIPTION_COLUMNS: &str = "source, callback_id, secret, hub, topic, callback,
    requested_at, accepted, failures, verified_at, expires_at, denied_at, last_error";

fn subscription_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Subscription> {
    Ok(Subscription {
        source: row.get(0)?,
        callback_id: row.get(1)?,
        secret: crate::config::Secret::new(row.get::<_, String>(2)?),
        hub: row.get(3)?,
        topic: row.get(4)?,
        callback: row.get(5)?,
        facts: crate::websub::Facts {
            requested_at: row.get(6)?,
            accepted: row.get(7)?,
            failures: row.get(8)?,
            verified_at: row.get(9)?,
            expires_at: row.get(10)?,
            denied_at: row.get(11)?,
        },
        last_error: row.get(12)?,
    })
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

fn due_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<DueDelivery> {
    Ok(DueDelivery {
        alert_id: row.get(0)?,
        sink: row.get(1)?,
        payload: row.get(2)?,
        attempts: row.get(3)?,
        created_at: row.get(4)?,
    })
}

const HEALTH_COLUMNS: &str = "source, last_polled_at, last_success_at, consecutive_failures,
    last_error, last_new_entry_at, entry_gap_ms, newest_entry_at, next_poll_at, unhealthy_since";

fn health_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SourceHealth> {
    Ok(SourceHealth {
        source: row.get(0)?,
        last_polled_at: row.get(1)?,
        last_success_at: row.get(2)?,
        consecutive_failures: row.get(3)?,
        last_error: row.get(4)?,
        last_new_entry_at: row.get(5)?,
        entry_gap_ms: row.get(6)?,
        newest_entry_at: row.get(7)?,
        next_poll_at: row.get(8)?,
        unhealthy_since: row.get(9)?,
    })
}

/// A health message goes into the same tables as a match, so the outbox delivers it durably.
/// It belongs to no watchlist (an empty name no configured watchlist can have) and its
/// `article_url` is a key unique to the source and episode.
fn insert_health_alert(
    transaction: &rusqlite::Transaction<'_>,
    source: &str,
    alert: &HealthAlert,
    now: Millis,
) -> Result<(), StoreError> {
    let inserted = transaction
        .prepare_cached(
            "INSERT OR IGNORE INTO alerts (id, watchlist, article_url, source, created_at, payload, kind)
         VALUES (?1, '', ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            alert.id,
            format!("source-health:{}", alert.id),
            source,
            now,
            alert.payload,
            alert.kind
        ])?;
    if inserted > 0 {
        for sink in &alert.sinks {
            transaction
                .prepare_cached(
                    "INSERT OR IGNORE INTO deliveries (alert_id, sink, next_attempt_at) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![alert.id, sink, now])?;
        }
    }
    Ok(())
}

/// The first alert of `watchlist` within the story window whose fingerprint is near this one.
fn near_duplicate_of(
    transaction: &rusqlite::Transaction<'_>,
    watchlist: &str,
    fingerprint: u64,
    now: Millis,
) -> Result<Option<String>, rusqlite::Error> {
    let [b0, b1, b2, b3, b4, b5, b6, b7] = crate::similarity::bands(fingerprint);
    let mut statement = transaction.prepare_cached(
        "SELECT alert_id, fingerprint FROM alert_fingerprints
         WHERE watchlist = ?1 AND created_at >= ?2
           AND (b0 = ?3 OR b1 = ?4 OR b2 = ?5 OR b3 = ?6 OR b4 = ?7 OR b5 = ?8 OR b6 = ?9 OR b7 = ?10)
         ORDER BY created_at, alert_id",
    )?;
    let candidates = statement.query_map(
        params![
            watchlist,
            now - STORY_WINDOW,
            b0,
            b1,
            b2,
            b3,
            b4,
            b5,
            b6,
            b7
        ],
        |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)),
    )?;
    for candidate in candidates {
        let (alert_id, other) = candidate?;
        if crate::similarity::is_near_duplicate(fingerprint, other as u64) {
            return Ok(Some(alert_id));
        }
    }
    Ok(None)
}

/// Records that `alert`'s article is the story of `first`, and lists it in `first`'s payload
/// while no delivery attempt has been made (every attempt must send the same bytes).
fn link_story(
    transaction: &rusqlite::Transaction<'_>,
    first: &str,
    alert: &NewAlert,
) -> Result<(), rusqlite::Error> {
    let inserted = transaction.execute(
        "INSERT OR IGNORE INTO story_links (alert_id, url, source, title, seen_at)
         VALUES (?1, ?2, ?3, ?4, strftime('%s','now') * 1000)",
        params![first, alert.article_url, alert.source, alert.title],
    )?;
    if inserted == 0 {
        return Ok(());
    }
    let link = serde_json::json!({ "url": alert.article_url, "source": alert.source, "title": alert.title }).to_string();
    transaction.execute(
        "UPDATE alerts SET payload = json_set(payload, '$.also_seen',
             json_insert(COALESCE(json_extract(payload, '$.also_seen'), json('[]')), '$[#]', json(?2)))
         WHERE id = ?1 AND NOT EXISTS (
             SELECT 1 FROM deliveries WHERE alert_id = ?1 AND (state != 'pending' OR attempts > 0))",
        params![first, link],
    )?;
    Ok(())
}

impl Unrecorded {
    fn note(&mut self, error: &StoreError) {
        self.problem = Some(error.to_string());
        self.count = self.count.saturating_add(1);
    }
}

/// SQLite's "malformed" and "not a database" errors, whenever they surface, as the advice of
/// [`StoreError::Corrupt`]; "readonly" as that of [`StoreError::ReadOnly`].
fn with_advice(error: StoreError) -> StoreError {
    match &error {
        StoreError::Database(inner)
            if inner.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly) =>
        {
            StoreError::ReadOnly(inner.to_string())
        }
        StoreError::Database(inner)
            if matches!(
                inner.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
            ) =>
        {
            StoreError::Corrupt(inner.to_string())
        }
        _ => error,
    }
}

#[cfg(unix)]
fn create_private_directory(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

#[cfg(not(unix))]
fn create_private_directory(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)
}

/// Creates the database file empty with mode 0600 (exactly: the umask does not apply to an
/// explicit chmod) unless it exists; SQLite then fills it in.
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(file) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                file.set_permissions(std::fs::Permissions::from_mode(0o600))
                    .map_err(|source| StoreError::CreateFile {
                        path: path.display().to_string(),
                        source,
                    })?;
            }
            drop(file);
            Ok(())
        }
        // an existing database keeps the mode its operator gave it
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        // let SQLite report what is wrong (a missing directory, no permission) in its words
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests;
