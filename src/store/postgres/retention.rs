//! Retention on PostgreSQL: the same listing bookkeeping, batch pruning and size report as the
//! SQLite backend (see `sqlite/retention.rs` for the rules; the conformance cases hold both to
//! them). Each prune call is one short transaction of at most `batch` rows. It does not decide
//! the windows nor when to prune.

use std::collections::HashSet;

use super::PostgresStore;
use crate::store::{DatabaseSize, Millis, StoreError, TableSize, LISTING_REFRESH};

impl PostgresStore {
    /// Which of `keys` were seen before; records that `source` lists them now.
    pub async fn seen_listed(
        &self,
        source: &str,
        keys: &[&str],
        now: Millis,
    ) -> Result<HashSet<String>, StoreError> {
        let client = self.client().await?;
        let seen: HashSet<String> = client
            .query(
                "SELECT entry_key FROM seen_entries WHERE source = $1 AND entry_key = ANY($2)",
                &[&source, &keys],
            )
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        if !seen.is_empty() {
            client
                .execute(
                    "UPDATE seen_entries SET listed_at = $3
                     WHERE source = $1 AND entry_key = ANY($2) AND listed_at < $3::BIGINT - $4::BIGINT",
                    &[&source, &keys, &now, &LISTING_REFRESH],
                )
                .await?;
        }
        Ok(seen)
    }

    /// The source answered "not modified": its newest listing is still listed.
    pub async fn still_listed(&self, source: &str, now: Millis) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE seen_entries SET listed_at = $2
                 WHERE source = $1 AND listed_at < $2::BIGINT - $3::BIGINT
                   AND listed_at >= (SELECT MAX(listed_at) FROM seen_entries WHERE source = $1) - $3::BIGINT",
                &[&source, &now, &LISTING_REFRESH],
            )
            .await?;
        Ok(())
    }

    /// Deletes up to `batch` seen entries not listed for `keep` of their source's polls.
    pub async fn prune_seen(
        &self,
        now: Millis,
        keep: Millis,
        batch: usize,
    ) -> Result<usize, StoreError> {
        let client = self.client().await?;
        let deleted = client
            .execute(
                "DELETE FROM seen_entries WHERE (source, entry_key) IN (
                     SELECT seen.source, seen.entry_key
                     FROM source_state AS state
                     JOIN seen_entries AS seen ON seen.source = state.source
                     WHERE seen.listed_at < LEAST(state.last_success_at, $1::BIGINT) - $2::BIGINT
                     LIMIT $3)",
                &[&now, &keep, &(batch as i64)],
            )
            .await?;
        Ok(deleted as usize)
    }

    /// Deletes up to `batch` alerts nothing waits for any more, with their deliveries,
    /// fingerprints, story links and recipient progress.
    pub async fn prune_alerts(
        &self,
        now: Millis,
        keep: Millis,
        batch: usize,
    ) -> Result<usize, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        let ids: Vec<String> = transaction
            .query(
                "SELECT alert.id FROM alerts AS alert
                 WHERE alert.created_at < $1::BIGINT - $2::BIGINT
                   AND NOT EXISTS (SELECT 1 FROM deliveries AS delivery
                       WHERE delivery.alert_id = alert.id
                         AND (delivery.state = 'pending'
                              OR (delivery.state = 'delivered' AND delivery.delivered_at >= $1::BIGINT - $2::BIGINT)))
                 ORDER BY alert.created_at LIMIT $3
                 FOR UPDATE SKIP LOCKED",
                &[&now, &keep, &(batch as i64)],
            )
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        if ids.is_empty() {
            return Ok(0);
        }
        for statement in [
            "DELETE FROM story_links WHERE alert_id = ANY($1)",
            "DELETE FROM alert_fingerprints WHERE alert_id = ANY($1)",
            "DELETE FROM recipient_progress WHERE unit = ANY($1)",
            "DELETE FROM deliveries WHERE alert_id = ANY($1)",
            "DELETE FROM alerts WHERE id = ANY($1)",
        ] {
            transaction.execute(statement, &[&ids]).await?;
        }
        transaction.commit().await?;
        Ok(ids.len())
    }

    /// `pg_database_size` and each table's rows (`count(*)`) and `pg_total_relation_size`.
    pub async fn database_size(&self) -> Result<DatabaseSize, StoreError> {
        let client = self.client().await?;
        let total: i64 = client
            .query_one("SELECT pg_database_size(current_database())", &[])
            .await?
            .get(0);
        let rows = client
            .query(
                "SELECT c.relname::TEXT, pg_total_relation_size(c.oid)
                 FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
                 WHERE n.nspname = current_schema() AND c.relkind = 'r'
                 ORDER BY c.relname",
                &[],
            )
            .await?;
        let mut tables = Vec::with_capacity(rows.len());
        for row in rows {
            let name: String = row.get(0);
            let bytes: i64 = row.get(1);
            // names come from the catalog, quoted as identifiers
            let count: i64 = client
                .query_one(
                    &format!("SELECT count(*) FROM \"{}\"", name.replace('"', "\"\"")),
                    &[],
                )
                .await?
                .get(0);
            tables.push(TableSize {
                name,
                rows: count as u64,
                bytes: Some(bytes as u64),
            });
        }
        Ok(DatabaseSize {
            bytes: total as u64,
            tables,
        })
    }
}
