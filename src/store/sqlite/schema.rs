//! The SQLite schema as numbered steps: a new database gets version 1, then every step after
//! it, exactly like an old database brought forward; the version lives in `PRAGMA user_version`.
//! It does not open files or decide on pragmas (that is the backend's `open`).

use rusqlite::Connection;

use crate::store::StoreError;

/// Steps from each older schema version to the next (the last one's version is current); a database is brought forward step by step
/// at open, so databases of every earlier release keep working.
pub(super) const MIGRATIONS: &[(i64, &str)] = &[
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
    // Near-duplicate bookkeeping: one fingerprint per alert (with its eight 8-bit bands indexed,
    // see `similarity::bands`), and every other place a story was seen. Releases before this
    // step created these tables outside the numbered steps on every open, hence IF NOT EXISTS:
    // a database of those releases (version 4, tables present) takes the step as a no-op.
    (
        5,
        "CREATE TABLE IF NOT EXISTS alert_fingerprints (
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
     );",
    ),
    // Which recipients (ntfy topics, Telegram chats) of a multi-recipient sink accepted a
    // delivery already: `unit` is the alert id, or the digest id and its first listed member
    // for one message of a digest. Rows live only while the delivery is under way.
    (
        6,
        "CREATE TABLE recipient_progress (
         sink TEXT NOT NULL,
         unit TEXT NOT NULL,
         recipient TEXT NOT NULL,
         done_at INTEGER NOT NULL,
         PRIMARY KEY (sink, unit, recipient)
     ) WITHOUT ROWID;",
    ),
    // The article archive (one row per processed article: its compressed record and what
    // lookups filter on, newest first by time or by source), and per watchlist the hash of
    // the query last backfilled, so a restart or a reload does not backfill again.
    (
        7,
        "CREATE TABLE archive (
         id TEXT PRIMARY KEY,
         source TEXT NOT NULL,
         url TEXT NOT NULL,
         fetched_url TEXT NOT NULL,
         title TEXT NOT NULL,
         language TEXT,
         processed_at INTEGER NOT NULL,
         record BLOB NOT NULL
     );
     CREATE INDEX archive_time ON archive (processed_at, id);
     CREATE INDEX archive_source_time ON archive (source, processed_at, id);
     CREATE INDEX archive_url ON archive (url);
     CREATE INDEX archive_fetched_url ON archive (fetched_url);
     CREATE TABLE watchlist_backfills (
         watchlist TEXT PRIMARY KEY,
         query_hash TEXT NOT NULL,
         backfilled_at INTEGER NOT NULL
     );",
    ),
    // Retention (see `crate::retention`): when the source last listed each seen entry (existing
    // rows start from when they were first seen), indexed per source for the listing refresh
    // and the pruning join; alerts by age for pruning. Step 7 belongs to the article archive.
    (
        8,
        "ALTER TABLE seen_entries ADD COLUMN listed_at INTEGER NOT NULL DEFAULT 0;
     UPDATE seen_entries SET listed_at = seen_at;
     CREATE INDEX seen_entries_listed ON seen_entries (source, listed_at);
     CREATE INDEX alerts_created ON alerts (created_at);",
    ),
];

pub(super) const SCHEMA: &str = "
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

/// The newest schema version this build knows (the last migration's).
pub(super) const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// A newer build may have changed tables this one would misread or clobber: refuse its database.
pub(super) fn refuse_newer(connection: &Connection) -> Result<(), StoreError> {
    let found: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found,
            known: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Brings the database to [`SCHEMA_VERSION`]. A new database gets the first schema, then the
/// same steps as an old one. Each step and its version bump commit together (a crash leaves
/// either), and the version is read inside the step's write transaction: another process
/// opening the same file at the same moment (`alerts list` while the daemon starts) waits, then
/// sees the step done, instead of applying it twice or setting the version back.
pub(super) fn migrate(connection: &Connection) -> Result<(), StoreError> {
    let steps = std::iter::once((1, SCHEMA)).chain(MIGRATIONS.iter().copied());
    for (target, step) in steps {
        let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
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
    Ok(())
}
