//! Per-source facts on PostgreSQL: validators, poll outcomes, entry rhythm and next poll, and
//! health episodes with their messages. Unlike SQLite, a failure the database could not take
//! is not kept per source in memory (a database that is down affects every instance alike; the
//! daemon reports it through `write_problem`).

use tokio_postgres::Row;

use super::{count, PostgresStore};
use crate::store::{HealthAlert, Millis, SourceHealth, SourceState, StoreError, Validators};

const HEALTH_COLUMNS: &str = "source, last_polled_at, last_success_at, consecutive_failures,
    last_error, last_new_entry_at, entry_gap_ms, newest_entry_at, next_poll_at, unhealthy_since";

fn health_row(row: &Row) -> SourceHealth {
    SourceHealth {
        source: row.get(0),
        last_polled_at: row.get(1),
        last_success_at: row.get(2),
        consecutive_failures: count(row.get(3)),
        last_error: row.get(4),
        last_new_entry_at: row.get(5),
        entry_gap_ms: row.get(6),
        newest_entry_at: row.get(7),
        next_poll_at: row.get(8),
        unhealthy_since: row.get(9),
    }
}

impl PostgresStore {
    pub async fn validators(&self, source: &str) -> Result<Validators, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT etag, last_modified FROM source_state WHERE source = $1",
                &[&source],
            )
            .await?;
        Ok(row.map_or_else(Validators::default, |row| Validators {
            etag: row.get(0),
            last_modified: row.get(1),
        }))
    }

    pub async fn record_poll_success(
        &self,
        source: &str,
        validators: Option<&Validators>,
        now: Millis,
    ) -> Result<(), StoreError> {
        let result: Result<_, StoreError> = async {
            let client = self.client().await?;
            client
                .execute(
                    "INSERT INTO source_state (source, last_polled_at, last_success_at, consecutive_failures)
                     VALUES ($1, $2, $2, 0)
                     ON CONFLICT (source) DO UPDATE SET last_polled_at = $2, last_success_at = $2,
                         consecutive_failures = 0, last_error = NULL",
                    &[&source, &now],
                )
                .await?;
            if let Some(validators) = validators {
                client
                    .execute(
                        "UPDATE source_state SET etag = $2, last_modified = $3 WHERE source = $1",
                        &[&source, &validators.etag, &validators.last_modified],
                    )
                    .await?;
            }
            Ok(())
        }
        .await;
        self.note(&result);
        result
    }

    pub async fn record_poll_failure(
        &self,
        source: &str,
        error: &str,
        now: Millis,
    ) -> Result<u32, StoreError> {
        let result: Result<_, StoreError> = async {
            let client = self.client().await?;
            let row = client
                .query_one(
                    "INSERT INTO source_state (source, last_polled_at, consecutive_failures, last_error)
                     VALUES ($1, $2, 1, $3)
                     ON CONFLICT (source) DO UPDATE SET last_polled_at = $2,
                         consecutive_failures = source_state.consecutive_failures + 1, last_error = $3
                     RETURNING consecutive_failures",
                    &[&source, &now, &error],
                )
                .await?;
            Ok(count(row.get(0)))
        }
        .await;
        self.note(&result);
        result
    }

    pub async fn source_states(&self) -> Result<Vec<SourceState>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT source, last_polled_at, last_success_at, consecutive_failures, last_error
                 FROM source_state ORDER BY source",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| SourceState {
                source: row.get(0),
                last_polled_at: row.get(1),
                last_success_at: row.get(2),
                consecutive_failures: count(row.get(3)),
                last_error: row.get(4),
            })
            .collect())
    }

    pub async fn record_entries(
        &self,
        source: &str,
        new_entry_at: Option<Millis>,
        rhythm: Option<(i64, Millis)>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE source_state SET
                     last_new_entry_at = COALESCE($2, last_new_entry_at),
                     entry_gap_ms = COALESCE($3, entry_gap_ms),
                     newest_entry_at = COALESCE($4, newest_entry_at)
                 WHERE source = $1",
                &[
                    &source,
                    &new_entry_at,
                    &rhythm.map(|(gap, _)| gap),
                    &rhythm.map(|(_, newest)| newest),
                ],
            )
            .await?;
        Ok(())
    }

    pub async fn record_next_poll(&self, source: &str, at: Millis) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE source_state SET next_poll_at = $2 WHERE source = $1",
                &[&source, &at],
            )
            .await?;
        Ok(())
    }

    pub async fn source_health(&self, source: &str) -> Result<Option<SourceHealth>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &*format!("SELECT {HEALTH_COLUMNS} FROM source_state WHERE source = $1"),
                &[&source],
            )
            .await?;
        Ok(row.as_ref().map(health_row))
    }

    pub async fn all_source_health(&self) -> Result<Vec<SourceHealth>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &*format!("SELECT {HEALTH_COLUMNS} FROM source_state ORDER BY source"),
                &[],
            )
            .await?;
        Ok(rows.iter().map(health_row).collect())
    }

    pub async fn mark_unhealthy(
        &self,
        source: &str,
        now: Millis,
        build: impl FnOnce() -> Option<HealthAlert>,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        let changed = transaction
            .execute(
                "UPDATE source_state SET unhealthy_since = $2
                 WHERE source = $1 AND unhealthy_since IS NULL",
                &[&source, &now],
            )
            .await?;
        if changed == 0 {
            return Ok(false);
        }
        if let Some(alert) = build() {
            insert_health_alert(&transaction, source, &alert, now).await?;
        }
        transaction.commit().await?;
        Ok(true)
    }

    pub async fn mark_recovered(
        &self,
        source: &str,
        now: Millis,
        build: impl FnOnce(Millis) -> Option<HealthAlert>,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        // the row lock makes two instances' recoveries of one episode create one message
        let since: Option<Millis> = transaction
            .query_opt(
                "SELECT unhealthy_since FROM source_state WHERE source = $1 FOR UPDATE",
                &[&source],
            )
            .await?
            .and_then(|row| row.get(0));
        let Some(since) = since else {
            return Ok(false);
        };
        transaction
            .execute(
                "UPDATE source_state SET unhealthy_since = NULL WHERE source = $1",
                &[&source],
            )
            .await?;
        if let Some(alert) = build(since) {
            insert_health_alert(&transaction, source, &alert, now).await?;
        }
        transaction.commit().await?;
        Ok(true)
    }
}

/// As on SQLite: a health message belongs to no watchlist, and its `article_url` is a key
/// unique to the source and episode.
async fn insert_health_alert(
    transaction: &tokio_postgres::Transaction<'_>,
    source: &str,
    alert: &HealthAlert,
    now: Millis,
) -> Result<(), StoreError> {
    let inserted = transaction
        .execute(
            "INSERT INTO alerts (id, watchlist, article_url, source, created_at, payload, kind)
             VALUES ($1, '', $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[
                &alert.id,
                &format!("source-health:{}", alert.id),
                &source,
                &now,
                &alert.payload,
                &alert.kind,
            ],
        )
        .await?;
    if inserted > 0 {
        for sink in &alert.sinks {
            transaction
                .execute(
                    "INSERT INTO deliveries (alert_id, sink, next_attempt_at) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                    &[&alert.id, sink, &now],
                )
                .await?;
        }
    }
    Ok(())
}
