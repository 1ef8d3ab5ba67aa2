//! The PostgreSQL schema as numbered steps, recorded in `wirewatch_schema`. Steps run in one
//! transaction holding an advisory lock, so instances starting together migrate once and the
//! others wait, then find the steps done. It does not hold the SQLite history: version 1 here
//! is the shape SQLite reaches at its step 5.

use crate::store::StoreError;

/// The advisory lock key of schema changes (any constant that no other tool uses on the
/// database; "wirewatch" in ASCII, truncated).
const MIGRATION_LOCK: i64 = 0x7769_7265_7761_7463;

const STEPS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE source_state (
        source TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        last_polled_at BIGINT,
        last_success_at BIGINT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        last_new_entry_at BIGINT,
        entry_gap_ms BIGINT,
        newest_entry_at BIGINT,
        next_poll_at BIGINT,
        unhealthy_since BIGINT
    );
    CREATE TABLE seen_entries (
        source TEXT NOT NULL,
        entry_key TEXT NOT NULL,
        url TEXT,
        seen_at BIGINT NOT NULL,
        PRIMARY KEY (source, entry_key)
    );
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        watchlist TEXT NOT NULL,
        article_url TEXT NOT NULL,
        source TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        payload TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'article.matched',
        UNIQUE (watchlist, article_url)
    );
    CREATE TABLE deliveries (
        alert_id TEXT NOT NULL REFERENCES alerts(id),
        sink TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        last_error TEXT,
        delivered_at BIGINT,
        digest_id TEXT,
        PRIMARY KEY (alert_id, sink)
    );
    CREATE INDEX deliveries_due ON deliveries (sink, state, next_attempt_at);
    CREATE INDEX deliveries_digest ON deliveries (sink, digest_id);
    CREATE TABLE alert_fingerprints (
        alert_id TEXT PRIMARY KEY REFERENCES alerts(id),
        watchlist TEXT NOT NULL,
        fingerprint BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        b0 BIGINT NOT NULL, b1 BIGINT NOT NULL, b2 BIGINT NOT NULL, b3 BIGINT NOT NULL,
        b4 BIGINT NOT NULL, b5 BIGINT NOT NULL, b6 BIGINT NOT NULL, b7 BIGINT NOT NULL
    );
    CREATE INDEX fingerprint_b0 ON alert_fingerprints (watchlist, b0);
    CREATE INDEX fingerprint_b1 ON alert_fingerprints (watchlist, b1);
    CREATE INDEX fingerprint_b2 ON alert_fingerprints (watchlist, b2);
    CREATE INDEX fingerprint_b3 ON alert_fingerprints (watchlist, b3);
    CREATE INDEX fingerprint_b4 ON alert_fingerprints (watchlist, b4);
    CREATE INDEX fingerprint_b5 ON alert_fingerprints (watchlist, b5);
    CREATE INDEX fingerprint_b6 ON alert_fingerprints (watchlist, b6);
    CREATE INDEX fingerprint_b7 ON alert_fingerprints (watchlist, b7);
    CREATE TABLE story_links (
        alert_id TEXT NOT NULL REFERENCES alerts(id),
        url TEXT NOT NULL,
        source TEXT NOT NULL,
        title TEXT NOT NULL,
        seen_at BIGINT NOT NULL,
        PRIMARY KEY (alert_id, url)
    );
    CREATE TABLE websub_subscriptions (
        source TEXT PRIMARY KEY,
        callback_id TEXT NOT NULL UNIQUE,
        secret TEXT NOT NULL,
        hub TEXT NOT NULL,
        topic TEXT NOT NULL,
        callback TEXT,
        requested_at BIGINT,
        accepted BOOLEAN NOT NULL DEFAULT FALSE,
        failures INTEGER NOT NULL DEFAULT 0,
        verified_at BIGINT,
        expires_at BIGINT,
        denied_at BIGINT,
        last_error TEXT
    );
    CREATE TABLE websub_inbox (
        id BIGSERIAL PRIMARY KEY,
        source TEXT NOT NULL,
        content_type TEXT,
        body BYTEA NOT NULL,
        received_at BIGINT NOT NULL
    );",
    ),
    // per-recipient progress of deliveries to sinks with several recipients (SQLite step 6)
    (
        2,
        "CREATE TABLE recipient_progress (
        sink TEXT NOT NULL,
        unit TEXT NOT NULL,
        recipient TEXT NOT NULL,
        done_at BIGINT NOT NULL,
        PRIMARY KEY (sink, unit, recipient)
    );",
    ),
    // the article archive and the backfilled watchlist queries (SQLite step 7)
    (
        3,
        "CREATE TABLE archive (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        url TEXT NOT NULL,
        fetched_url TEXT NOT NULL,
        title TEXT NOT NULL,
        language TEXT,
        processed_at BIGINT NOT NULL,
        record BYTEA NOT NULL
    );
    CREATE INDEX archive_time ON archive (processed_at, id);
    CREATE INDEX archive_source_time ON archive (source, processed_at, id);
    CREATE INDEX archive_url ON archive (url);
    CREATE INDEX archive_fetched_url ON archive (fetched_url);
    CREATE TABLE watchlist_backfills (
        watchlist TEXT PRIMARY KEY,
        query_hash TEXT NOT NULL,
        backfilled_at BIGINT NOT NULL
    );",
    ),
    // Retention (SQLite step 8): when the source last listed each seen entry, indexed per
    // source; alerts by age. Step 3 belongs to the article archive.
    (
        4,
        "ALTER TABLE seen_entries ADD COLUMN listed_at BIGINT;
    UPDATE seen_entries SET listed_at = seen_at;
    ALTER TABLE seen_entries ALTER COLUMN listed_at SET NOT NULL;
    CREATE INDEX seen_entries_listed ON seen_entries (source, listed_at);
    CREATE INDEX alerts_created ON alerts (created_at);",
    ),
    // cluster coordination (issue 12): live instances, named leases (a source's poll, a
    // WebSub subscription's renewal) and who is attempting an outbox row
    (
        5,
        "CREATE TABLE instances (
        name TEXT PRIMARY KEY,
        started_at BIGINT NOT NULL,
        heartbeat_at BIGINT NOT NULL,
        config_hash TEXT NOT NULL,
        version TEXT NOT NULL
    );
    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    ALTER TABLE deliveries ADD COLUMN lease_holder TEXT;",
    ),
    // cluster-wide pacing (issue 12): the next start of a request per host (or per rate-limited
    // sink) and the in-flight slots per host, shared by every instance
    (
        6,
        "CREATE TABLE turn_starts (
        key TEXT PRIMARY KEY,
        next_start BIGINT NOT NULL
    );
    CREATE TABLE turn_slots (
        key TEXT NOT NULL,
        slot INTEGER NOT NULL,
        holder TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (key, slot)
    );",
    ),
];

/// The newest schema version this build knows.
pub(super) const SCHEMA_VERSION: i64 = STEPS[STEPS.len() - 1].0;

pub(super) async fn migrate(client: &mut tokio_postgres::Client) -> Result<(), StoreError> {
    let transaction = client.transaction().await?;
    // `CREATE TABLE IF NOT EXISTS` on an existing table is a NOTICE, which tokio-postgres logs at
    // INFO on every start and every CLI command: nothing an operator needs to read
    transaction
        .batch_execute("SET LOCAL client_min_messages = warning")
        .await?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    transaction
        .batch_execute("CREATE TABLE IF NOT EXISTS wirewatch_schema (version BIGINT PRIMARY KEY)")
        .await?;
    let found: Option<i64> = transaction
        .query_one("SELECT MAX(version) FROM wirewatch_schema", &[])
        .await?
        .get(0);
    let found = found.unwrap_or(0);
    // A newer build may have changed tables this one would misread or clobber.
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (version, step) in STEPS.iter().filter(|(version, _)| *version > found) {
        transaction.batch_execute(step).await?;
        transaction
            .execute(
                "INSERT INTO wirewatch_schema (version) VALUES ($1)",
                &[version],
            )
            .await?;
    }
    transaction.commit().await?;
    Ok(())
}
