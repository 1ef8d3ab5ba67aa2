//! Seen entries and the commit transaction on PostgreSQL. Two instances committing the same
//! article at once create one alert: the (watchlist, article) unique constraint decides inside
//! the transaction (the second insert waits for the first to commit, then does nothing). The
//! near-duplicate rule holds across instances because a commit with fingerprints takes an
//! advisory lock per watchlist before looking for an earlier story.

use super::PostgresStore;
use crate::store::{ArchivedArticle, Millis, NewAlert, StoreError, STORY_WINDOW};

/// The advisory-lock namespace of story checks (the watchlist's hash is the second key).
const STORY_LOCK: i32 = 0x7374_6f72;

impl PostgresStore {
    pub async fn is_seen(&self, source: &str, entry_key: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT 1 FROM seen_entries WHERE source = $1 AND entry_key = $2",
                &[&source, &entry_key],
            )
            .await?;
        Ok(row.is_some())
    }

    pub async fn has_alert(&self, watchlist: &str, article_url: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT 1 FROM alerts WHERE watchlist = $1 AND article_url = $2",
                &[&watchlist, &article_url],
            )
            .await?;
        Ok(row.is_some())
    }

    pub async fn commit_seen(
        &self,
        source: &str,
        entries: &[(&str, Option<&str>)],
        now: Millis,
    ) -> Result<(), StoreError> {
        let result: Result<_, StoreError> = async {
            let mut client = self.client().await?;
            let transaction = client.transaction().await?;
            let insert = transaction
                .prepare(
                    "INSERT INTO seen_entries (source, entry_key, url, seen_at, listed_at) VALUES ($1, $2, $3, $4, $4)
                     ON CONFLICT DO NOTHING",
                )
                .await?;
            for (key, url) in entries {
                transaction
                    .execute(&insert, &[&source, key, url, &now])
                    .await?;
            }
            transaction.commit().await?;
            Ok(())
        }
        .await;
        self.note(&result);
        result
    }

    pub async fn commit_entry(
        &self,
        source: &str,
        entry_key: &str,
        entry_url: Option<&str>,
        alerts: &[NewAlert],
        now: Millis,
    ) -> Result<Vec<String>, StoreError> {
        self.commit_processed(source, entry_key, entry_url, alerts, None, now)
            .await
    }

    /// As `commit_entry`, archiving the processed article in the same transaction.
    pub async fn commit_processed(
        &self,
        source: &str,
        entry_key: &str,
        entry_url: Option<&str>,
        alerts: &[NewAlert],
        archived: Option<&ArchivedArticle>,
        now: Millis,
    ) -> Result<Vec<String>, StoreError> {
        let result = self
            .write_entry(source, entry_key, entry_url, alerts, archived, now)
            .await;
        self.note(&result);
        result
    }

    /// Creates alerts found outside a poll (a backfill) with the rules of `commit_entry`,
    /// without marking any entry seen.
    pub async fn commit_alerts(
        &self,
        alerts: &[NewAlert],
        now: Millis,
    ) -> Result<Vec<String>, StoreError> {
        let result: Result<_, StoreError> = async {
            let mut client = self.client().await?;
            let transaction = client.transaction().await?;
            let created = insert_alerts(&transaction, alerts, now).await?;
            transaction.commit().await?;
            Ok(created)
        }
        .await;
        self.note(&result);
        result
    }

    async fn write_entry(
        &self,
        source: &str,
        entry_key: &str,
        entry_url: Option<&str>,
        alerts: &[NewAlert],
        archived: Option<&ArchivedArticle>,
        now: Millis,
    ) -> Result<Vec<String>, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        transaction
            .execute(
                "INSERT INTO seen_entries (source, entry_key, url, seen_at, listed_at) VALUES ($1, $2, $3, $4, $4)
                 ON CONFLICT DO NOTHING",
                &[&source, &entry_key, &entry_url, &now],
            )
            .await?;
        if let Some(archived) = archived {
            super::archive::insert(&transaction, archived).await?;
        }
        let created = insert_alerts(&transaction, alerts, now).await?;
        transaction.commit().await?;
        Ok(created)
    }

    pub async fn story_links(&self, alert_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT source, url FROM story_links WHERE alert_id = $1 ORDER BY seen_at, url",
                &[&alert_id],
            )
            .await?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }
}

/// Inserts alerts with their outbox rows and fingerprints; near-duplicates of a story this
/// watchlist alerted on within the window are linked to it instead. The ids created.
async fn insert_alerts(
    transaction: &tokio_postgres::Transaction<'_>,
    alerts: &[NewAlert],
    now: Millis,
) -> Result<Vec<String>, StoreError> {
    let mut created = Vec::new();
    for alert in alerts {
        if let Some(fingerprint) = alert.fingerprint {
            transaction
                .execute(
                    "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                    &[&STORY_LOCK, &alert.watchlist],
                )
                .await?;
            if let Some(first) =
                near_duplicate_of(transaction, &alert.watchlist, fingerprint, now).await?
            {
                if first != alert.id {
                    link_story(transaction, &first, alert).await?;
                }
                continue;
            }
        }
        let inserted = transaction
            .execute(
                "INSERT INTO alerts (id, watchlist, article_url, source, created_at, payload)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[
                    &alert.id,
                    &alert.watchlist,
                    &alert.article_url,
                    &alert.source,
                    &now,
                    &alert.payload,
                ],
            )
            .await?;
        if inserted == 0 {
            continue;
        }
        for sink in &alert.sinks {
            transaction
                .execute(
                    "INSERT INTO deliveries (alert_id, sink, next_attempt_at) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                    &[&alert.id, sink, &now],
                )
                .await?;
        }
        if let Some(fingerprint) = alert.fingerprint {
            let [b0, b1, b2, b3, b4, b5, b6, b7] = crate::similarity::bands(fingerprint);
            transaction
                .execute(
                    "INSERT INTO alert_fingerprints
                     (alert_id, watchlist, fingerprint, created_at, b0, b1, b2, b3, b4, b5, b6, b7)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                     ON CONFLICT DO NOTHING",
                    &[
                        &alert.id,
                        &alert.watchlist,
                        &(fingerprint as i64),
                        &now,
                        &b0,
                        &b1,
                        &b2,
                        &b3,
                        &b4,
                        &b5,
                        &b6,
                        &b7,
                    ],
                )
                .await?;
        }
        created.push(alert.id.clone());
    }
    Ok(created)
}

/// The first alert of `watchlist` within the story window whose fingerprint is near this one.
async fn near_duplicate_of(
    transaction: &tokio_postgres::Transaction<'_>,
    watchlist: &str,
    fingerprint: u64,
    now: Millis,
) -> Result<Option<String>, StoreError> {
    let [b0, b1, b2, b3, b4, b5, b6, b7] = crate::similarity::bands(fingerprint);
    let rows = transaction
        .query(
            "SELECT alert_id, fingerprint FROM alert_fingerprints
             WHERE watchlist = $1 AND created_at >= $2
               AND (b0 = $3 OR b1 = $4 OR b2 = $5 OR b3 = $6 OR b4 = $7 OR b5 = $8 OR b6 = $9 OR b7 = $10)
             ORDER BY created_at, alert_id",
            &[
                &watchlist,
                &(now - STORY_WINDOW),
                &b0,
                &b1,
                &b2,
                &b3,
                &b4,
                &b5,
                &b6,
                &b7,
            ],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1)))
        .find(|(_, other)| crate::similarity::is_near_duplicate(fingerprint, *other as u64))
        .map(|(alert_id, _)| alert_id))
}

/// Records that `alert`'s article is the story of `first`, and lists it in `first`'s payload
/// while no delivery attempt has been made. The payload goes through jsonb, which keeps its
/// meaning but not its key order or spacing (every attempt still sends the same bytes).
async fn link_story(
    transaction: &tokio_postgres::Transaction<'_>,
    first: &str,
    alert: &NewAlert,
) -> Result<(), StoreError> {
    let inserted = transaction
        .execute(
            "INSERT INTO story_links (alert_id, url, source, title, seen_at)
             VALUES ($1, $2, $3, $4, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT)
             ON CONFLICT DO NOTHING",
            &[&first, &alert.article_url, &alert.source, &alert.title],
        )
        .await?;
    if inserted == 0 {
        return Ok(());
    }
    let link = serde_json::json!({ "url": alert.article_url, "source": alert.source, "title": alert.title }).to_string();
    transaction
        .execute(
            "UPDATE alerts SET payload = jsonb_set(payload::jsonb, '{also_seen}',
                 COALESCE(payload::jsonb -> 'also_seen', '[]'::jsonb) || jsonb_build_array($2::text::jsonb))::text
             WHERE id = $1 AND NOT EXISTS (
                 SELECT 1 FROM deliveries WHERE alert_id = $1 AND (state != 'pending' OR attempts > 0))",
            &[&first, &link],
        )
        .await?;
    Ok(())
}
