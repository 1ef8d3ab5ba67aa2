//! The article archive on PostgreSQL: the same rows and meanings as SQLite's `archive.rs`
//! (written inside the entry commit, read newest first a page at a time, pruned in small
//! batches) and the per-watchlist record of the query last backfilled. It does not encode or
//! decode records or decide retention.

use tokio_postgres::Row;

use super::PostgresStore;
use crate::store::{ArchiveCursor, ArchivedArticle, Millis, StoreError};

const COLUMNS: &str = "id, source, url, fetched_url, title, language, processed_at, record";

/// Archives one article; an article already archived keeps its first row.
pub(super) async fn insert(
    transaction: &tokio_postgres::Transaction<'_>,
    archived: &ArchivedArticle,
) -> Result<(), StoreError> {
    transaction
        .execute(
            "INSERT INTO archive (id, source, url, fetched_url, title, language, processed_at, record)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            &[
                &archived.id,
                &archived.source,
                &archived.url,
                &archived.fetched_url,
                &archived.title,
                &archived.language,
                &archived.processed_at,
                &archived.record,
            ],
        )
        .await?;
    Ok(())
}

fn archived(row: &Row) -> ArchivedArticle {
    ArchivedArticle {
        id: row.get(0),
        source: row.get(1),
        url: row.get(2),
        fetched_url: row.get(3),
        title: row.get(4),
        language: row.get(5),
        processed_at: row.get(6),
        record: row.get(7),
    }
}

impl PostgresStore {
    pub async fn archive_page(
        &self,
        since: Millis,
        source: Option<&str>,
        after: Option<&ArchiveCursor>,
        limit: usize,
    ) -> Result<Vec<ArchivedArticle>, StoreError> {
        let client = self.client().await?;
        let before_at = after.map(|cursor| cursor.processed_at);
        let before_id = after.map(|cursor| cursor.id.as_str());
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM archive
                     WHERE processed_at >= $1 AND ($2::TEXT IS NULL OR source = $2)
                       AND ($3::BIGINT IS NULL OR processed_at < $3
                            OR (processed_at = $3 AND id < $4))
                     ORDER BY processed_at DESC, id DESC LIMIT $5"
                ),
                &[&since, &source, &before_at, &before_id, &(limit as i64)],
            )
            .await?;
        Ok(rows.iter().map(archived).collect())
    }

    pub async fn archived(&self, key: &str) -> Result<Option<ArchivedArticle>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM archive WHERE id = $1 OR url = $1 OR fetched_url = $1
                     ORDER BY processed_at DESC LIMIT 1"
                ),
                &[&key],
            )
            .await?;
        Ok(row.as_ref().map(archived))
    }

    pub async fn prune_archive(&self, before: Millis, limit: usize) -> Result<usize, StoreError> {
        let client = self.client().await?;
        let deleted = client
            .execute(
                "DELETE FROM archive WHERE id IN (
                     SELECT id FROM archive WHERE processed_at < $1
                     ORDER BY processed_at, id LIMIT $2)",
                &[&before, &(limit as i64)],
            )
            .await?;
        Ok(deleted as usize)
    }

    pub async fn backfilled_query(&self, watchlist: &str) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT query_hash FROM watchlist_backfills WHERE watchlist = $1",
                &[&watchlist],
            )
            .await?;
        Ok(row.map(|row| row.get(0)))
    }

    pub async fn record_backfill(
        &self,
        watchlist: &str,
        query_hash: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO watchlist_backfills (watchlist, query_hash, backfilled_at)
                 VALUES ($1, $2, $3)
                 ON CONFLICT (watchlist) DO UPDATE SET query_hash = $2, backfilled_at = $3",
                &[&watchlist, &query_hash, &now],
            )
            .await?;
        Ok(())
    }
}
