//! The article archive on SQLite: rows written inside the entry commit (see `entries.rs`),
//! read newest first a page at a time, found by id or URL, and pruned in small batches; and
//! the per-watchlist record of the query last backfilled. It does not encode or decode the
//! records (the `archive` module does) or decide retention (the daemon does).

use rusqlite::{params, OptionalExtension, Row};

use super::SqliteStore;
use crate::store::{ArchiveCursor, ArchivedArticle, Millis, StoreError};

const COLUMNS: &str = "id, source, url, fetched_url, title, language, processed_at, record";

/// Archives one article; an article already archived (the same story from another source, or
/// processed again) keeps its first row.
pub(super) fn insert(
    transaction: &rusqlite::Transaction<'_>,
    archived: &ArchivedArticle,
) -> Result<(), rusqlite::Error> {
    transaction
        .prepare_cached(
            "INSERT OR IGNORE INTO archive (id, source, url, fetched_url, title, language, processed_at, record)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            archived.id,
            archived.source,
            archived.url,
            archived.fetched_url,
            archived.title,
            archived.language,
            archived.processed_at,
            archived.record
        ])?;
    Ok(())
}

fn archived(row: &Row<'_>) -> Result<ArchivedArticle, rusqlite::Error> {
    Ok(ArchivedArticle {
        id: row.get(0)?,
        source: row.get(1)?,
        url: row.get(2)?,
        fetched_url: row.get(3)?,
        title: row.get(4)?,
        language: row.get(5)?,
        processed_at: row.get(6)?,
        record: row.get(7)?,
    })
}

impl SqliteStore {
    /// Archived articles processed at or after `since` (of one source, if given), newest
    /// first, at most `limit`, starting after `after`.
    pub fn archive_page(
        &self,
        since: Millis,
        source: Option<&str>,
        after: Option<&ArchiveCursor>,
        limit: usize,
    ) -> Result<Vec<ArchivedArticle>, StoreError> {
        let connection = self.lock()?;
        let before_at = after.map(|cursor| cursor.processed_at);
        let before_id = after.map(|cursor| cursor.id.as_str());
        let mut statement = connection.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM archive
             WHERE processed_at >= ?1 AND (?2 IS NULL OR source = ?2)
               AND (?3 IS NULL OR processed_at < ?3 OR (processed_at = ?3 AND id < ?4))
             ORDER BY processed_at DESC, id DESC LIMIT ?5"
        ))?;
        let rows = statement.query_map(
            params![since, source, before_at, before_id, limit as i64],
            archived,
        )?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The archived article with this id, canonical URL or fetched URL (the newest, if a URL
    /// names several).
    pub fn archived(&self, key: &str) -> Result<Option<ArchivedArticle>, StoreError> {
        let connection = self.lock()?;
        let found = connection
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM archive WHERE id = ?1 OR url = ?1 OR fetched_url = ?1
                 ORDER BY processed_at DESC LIMIT 1"
            ))?
            .query_row(params![key], archived)
            .optional()?;
        Ok(found)
    }

    /// Deletes at most `limit` archived articles processed before `before`, oldest first, in
    /// one short transaction; how many it deleted (fewer than `limit`: nothing older is left).
    pub fn prune_archive(&self, before: Millis, limit: usize) -> Result<usize, StoreError> {
        let connection = self.lock()?;
        let deleted = connection
            .prepare_cached(
                "DELETE FROM archive WHERE id IN (
                     SELECT id FROM archive WHERE processed_at < ?1
                     ORDER BY processed_at, id LIMIT ?2)",
            )?
            .execute(params![before, limit as i64])?;
        Ok(deleted)
    }

    /// The hash of the query last backfilled for this watchlist.
    pub fn backfilled_query(&self, watchlist: &str) -> Result<Option<String>, StoreError> {
        let connection = self.lock()?;
        let found = connection
            .prepare_cached("SELECT query_hash FROM watchlist_backfills WHERE watchlist = ?1")?
            .query_row(params![watchlist], |row| row.get(0))
            .optional()?;
        Ok(found)
    }

    /// Records that this watchlist's query (by hash) has been backfilled.
    pub fn record_backfill(
        &self,
        watchlist: &str,
        query_hash: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "INSERT INTO watchlist_backfills (watchlist, query_hash, backfilled_at)
                 VALUES (?1, ?2, ?3)
                 ON CONFLICT (watchlist) DO UPDATE SET query_hash = ?2, backfilled_at = ?3",
            )?
            .execute(params![watchlist, query_hash, now])?;
        Ok(())
    }
}
