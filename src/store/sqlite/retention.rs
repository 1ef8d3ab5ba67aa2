//! Retention on SQLite: when a source last listed each seen entry, pruning in small batches
//! (seen entries no longer listed, alerts with their deliveries, fingerprints and story links),
//! and the database's size per table. Each prune call is one short transaction of at most
//! `batch` rows, so the daemon's polls wait for a few milliseconds at worst. It does not decide
//! the windows (`crate::retention` does) nor when to prune (the daemon's retention loop).
//! Processed WebSub inbox rows need no pruning: they are deleted when processed.

use std::collections::HashSet;

use rusqlite::params;

use super::SqliteStore;
use crate::store::{DatabaseSize, Millis, StoreError, TableSize, LISTING_REFRESH};

impl SqliteStore {
    /// Which of `keys` (the entries a poll of `source` lists) were seen before; records that
    /// the source lists them now (rows older than [`LISTING_REFRESH`] are rewritten). Two
    /// statements per poll, however long the feed.
    pub fn seen_listed(
        &self,
        source: &str,
        keys: &[&str],
        now: Millis,
    ) -> Result<HashSet<String>, StoreError> {
        let keys = serde_json::to_string(keys).map_err(|error| {
            StoreError::Database(rusqlite::Error::ToSqlConversionFailure(Box::new(error)))
        })?;
        let mut connection = self.lock()?;
        let transaction = connection.transaction()?;
        let seen = transaction
            .prepare_cached(
                "SELECT entry_key FROM seen_entries
                 WHERE source = ?1 AND entry_key IN (SELECT value FROM json_each(?2))",
            )?
            .query_map(params![source, keys], |row| row.get(0))?
            .collect::<Result<HashSet<String>, _>>()?;
        if !seen.is_empty() {
            transaction
                .prepare_cached(
                    "UPDATE seen_entries SET listed_at = ?3
                     WHERE source = ?1 AND entry_key IN (SELECT value FROM json_each(?2))
                       AND listed_at < ?3 - ?4",
                )?
                .execute(params![source, keys, now, LISTING_REFRESH])?;
        }
        transaction.commit()?;
        Ok(seen)
    }

    /// The source answered "not modified": what it listed last is still listed. Its newest
    /// listing (rows within [`LISTING_REFRESH`] of the newest `listed_at`) is moved to `now`
    /// once it is older than the refresh; entries dropped just before may ride along, which
    /// only keeps them a little longer.
    pub fn still_listed(&self, source: &str, now: Millis) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "UPDATE seen_entries SET listed_at = ?2
                 WHERE source = ?1 AND listed_at < ?2 - ?3
                   AND listed_at >= (SELECT MAX(listed_at) FROM seen_entries WHERE source = ?1) - ?3",
            )?
            .execute(params![source, now, LISTING_REFRESH])?;
        Ok(())
    }

    /// Deletes up to `batch` seen entries whose source has not listed them for `keep` of its
    /// successful polls (counted up to its last success, so a source that is down or removed
    /// from the config keeps its marks). The rows deleted.
    pub fn prune_seen(&self, now: Millis, keep: Millis, batch: usize) -> Result<usize, StoreError> {
        let connection = self.lock()?;
        let deleted = connection
            .prepare_cached(
                "DELETE FROM seen_entries WHERE (source, entry_key) IN (
                     SELECT seen.source, seen.entry_key
                     FROM source_state AS state
                     JOIN seen_entries AS seen ON seen.source = state.source
                     WHERE seen.listed_at < MIN(state.last_success_at, ?1) - ?2
                     LIMIT ?3)",
            )?
            .execute(params![now, keep, batch as i64])?;
        Ok(deleted)
    }

    /// Deletes up to `batch` alerts created before `now - keep` that nothing waits for: no
    /// delivery pending and none delivered within `keep` (a replayed dead letter counts from
    /// its new delivery); dead letters go once they are that old. Their deliveries,
    /// fingerprints, story links and recipient progress go with them. The alerts deleted.
    pub fn prune_alerts(
        &self,
        now: Millis,
        keep: Millis,
        batch: usize,
    ) -> Result<usize, StoreError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction()?;
        let ids: Vec<String> = transaction
            .prepare_cached(
                "SELECT alert.id FROM alerts AS alert
                 WHERE alert.created_at < ?1 - ?2
                   AND NOT EXISTS (SELECT 1 FROM deliveries AS delivery
                       WHERE delivery.alert_id = alert.id
                         AND (delivery.state = 'pending'
                              OR (delivery.state = 'delivered' AND delivery.delivered_at >= ?1 - ?2)))
                 ORDER BY alert.created_at LIMIT ?3",
            )?
            .query_map(params![now, keep, batch as i64], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        if ids.is_empty() {
            return Ok(0);
        }
        let ids_json = serde_json::to_string(&ids).map_err(|error| {
            StoreError::Database(rusqlite::Error::ToSqlConversionFailure(Box::new(error)))
        })?;
        // children first: deliveries, fingerprints and story links reference the alert
        for statement in [
            "DELETE FROM story_links WHERE alert_id IN (SELECT value FROM json_each(?1))",
            "DELETE FROM alert_fingerprints WHERE alert_id IN (SELECT value FROM json_each(?1))",
            "DELETE FROM recipient_progress WHERE unit IN (SELECT value FROM json_each(?1))",
            "DELETE FROM deliveries WHERE alert_id IN (SELECT value FROM json_each(?1))",
            "DELETE FROM alerts WHERE id IN (SELECT value FROM json_each(?1))",
        ] {
            transaction
                .prepare_cached(statement)?
                .execute(params![ids_json])?;
        }
        transaction.commit()?;
        Ok(ids.len())
    }

    /// The file's size (pages in use and free) and each table's rows and bytes (`dbstat`,
    /// indexes counted with their table). Counting reads every table once: fine for `status`,
    /// not for a hot path.
    pub fn database_size(&self) -> Result<DatabaseSize, StoreError> {
        let connection = self.lock()?;
        let pages: i64 = connection.pragma_query_value(None, "page_count", |row| row.get(0))?;
        let page_size: i64 = connection.pragma_query_value(None, "page_size", |row| row.get(0))?;
        let names: Vec<String> = connection
            .prepare(
                "SELECT name FROM sqlite_schema
                 WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        // dbstat is compiled into the bundled SQLite; a system SQLite may lack it
        let bytes: Option<Vec<(String, i64)>> = connection
            .prepare(
                "SELECT schema.tbl_name, SUM(stat.pgsize) FROM dbstat AS stat
                 JOIN sqlite_schema AS schema ON schema.name = stat.name
                 GROUP BY schema.tbl_name",
            )
            .and_then(|mut statement| {
                let sizes = statement
                    .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect();
                sizes
            })
            .ok();
        let mut tables = Vec::with_capacity(names.len());
        for name in names {
            // names come from sqlite_schema, quoted as identifiers
            let rows: i64 = connection.query_row(
                &format!("SELECT COUNT(*) FROM \"{}\"", name.replace('"', "\"\"")),
                [],
                |row| row.get(0),
            )?;
            let table_bytes = bytes.as_ref().map(|bytes| {
                bytes
                    .iter()
                    .find(|(table, _)| *table == name)
                    .map_or(0, |(_, size)| *size as u64)
            });
            tables.push(TableSize {
                name,
                rows: rows as u64,
                bytes: table_bytes,
            });
        }
        Ok(DatabaseSize {
            bytes: (pages * page_size) as u64,
            tables,
        })
    }
}
