//! Moving up from SQLite to PostgreSQL (`wirewatch migrate-store`): every table of a SQLite
//! state file is copied, row by row with its ids and states unchanged, into an empty PostgreSQL
//! database, all in ONE PostgreSQL transaction: a failure half-way leaves the database empty,
//! so the command can simply be run again. Rows stream in batches (bounded memory whatever the
//! size of the seen-entries table): the SQLite side reads on a blocking thread, the PostgreSQL
//! side inserts.
//!
//! [`TABLES`] is the one list of what is copied, with each column's type on PostgreSQL; a table
//! the SQLite file holds and the list does not name stops the copy before anything is written,
//! so a schema step added later without a line here cannot be silently left behind. It does
//! not copy the other way, nor merge into a database that already holds wirewatch state.

use std::path::Path;
use std::sync::Arc;

use super::postgres::PostgresStore;
use super::sqlite::SqliteStore;
use super::StoreError;

/// A column's type on PostgreSQL (SQLite stores integers and booleans alike as INTEGER).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    BigInt,
    Int,
    Bool,
    Bytes,
}

pub(crate) struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
}

/// One value as SQLite holds it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

pub(crate) type Row = Vec<Value>;

/// Rows sent to PostgreSQL per statement: few enough to stay far below its 65,535 parameters.
pub(crate) const BATCH: usize = 500;

use Kind::{BigInt, Bool, Bytes, Int, Text};

/// Every table, parents before the tables whose rows refer to them (`alerts` first).
pub(crate) const TABLES: &[Table] = &[
    Table {
        name: "source_state",
        columns: &[
            ("source", Text),
            ("etag", Text),
            ("last_modified", Text),
            ("last_polled_at", BigInt),
            ("last_success_at", BigInt),
            ("consecutive_failures", Int),
            ("last_error", Text),
            ("last_new_entry_at", BigInt),
            ("entry_gap_ms", BigInt),
            ("newest_entry_at", BigInt),
            ("next_poll_at", BigInt),
            ("unhealthy_since", BigInt),
        ],
    },
    Table {
        name: "seen_entries",
        columns: &[
            ("source", Text),
            ("entry_key", Text),
            ("url", Text),
            ("seen_at", BigInt),
            ("listed_at", BigInt),
        ],
    },
    Table {
        name: "alerts",
        columns: &[
            ("id", Text),
            ("watchlist", Text),
            ("article_url", Text),
            ("source", Text),
            ("created_at", BigInt),
            ("payload", Text),
            ("kind", Text),
        ],
    },
    Table {
        name: "deliveries",
        columns: &[
            ("alert_id", Text),
            ("sink", Text),
            ("state", Text),
            ("attempts", Int),
            ("next_attempt_at", BigInt),
            ("last_error", Text),
            ("delivered_at", BigInt),
            ("digest_id", Text),
        ],
    },
    Table {
        name: "alert_fingerprints",
        columns: &[
            ("alert_id", Text),
            ("watchlist", Text),
            ("fingerprint", BigInt),
            ("created_at", BigInt),
            ("b0", BigInt),
            ("b1", BigInt),
            ("b2", BigInt),
            ("b3", BigInt),
            ("b4", BigInt),
            ("b5", BigInt),
            ("b6", BigInt),
            ("b7", BigInt),
        ],
    },
    Table {
        name: "story_links",
        columns: &[
            ("alert_id", Text),
            ("url", Text),
            ("source", Text),
            ("title", Text),
            ("seen_at", BigInt),
        ],
    },
    Table {
        name: "websub_subscriptions",
        columns: &[
            ("source", Text),
            ("callback_id", Text),
            ("secret", Text),
            ("hub", Text),
            ("topic", Text),
            ("callback", Text),
            ("requested_at", BigInt),
            ("accepted", Bool),
            ("failures", Int),
            ("verified_at", BigInt),
            ("expires_at", BigInt),
            ("denied_at", BigInt),
            ("last_error", Text),
        ],
    },
    Table {
        name: "websub_inbox",
        columns: &[
            ("id", BigInt),
            ("source", Text),
            ("content_type", Text),
            ("body", Bytes),
            ("received_at", BigInt),
        ],
    },
    Table {
        name: "recipient_progress",
        columns: &[
            ("sink", Text),
            ("unit", Text),
            ("recipient", Text),
            ("done_at", BigInt),
        ],
    },
    Table {
        name: "archive",
        columns: &[
            ("id", Text),
            ("source", Text),
            ("url", Text),
            ("fetched_url", Text),
            ("title", Text),
            ("language", Text),
            ("processed_at", BigInt),
            ("record", Bytes),
        ],
    },
    Table {
        name: "watchlist_backfills",
        columns: &[
            ("watchlist", Text),
            ("query_hash", Text),
            ("backfilled_at", BigInt),
        ],
    },
];

/// How many rows of each table were copied, in [`TABLES`] order.
pub type Copied = Vec<(&'static str, u64)>;

/// Copies the SQLite state file at `sqlite` into the empty PostgreSQL database at `url`
/// (its schema is created first). Refuses a database that holds any wirewatch row.
pub async fn sqlite_to_postgres(sqlite: &Path, url: &str) -> Result<Copied, StoreError> {
    let source = Arc::new(SqliteStore::open(sqlite)?);
    let unknown = source.tables_not_in(TABLES)?;
    if !unknown.is_empty() {
        return Err(StoreError::Transfer(format!(
            "{} holds tables this wirewatch does not know how to copy ({}); use the wirewatch that wrote it",
            sqlite.display(),
            unknown.join(", ")
        )));
    }
    let target = PostgresStore::connect(url).await?;
    target.import(source).await
}

#[cfg(test)]
mod tests;
