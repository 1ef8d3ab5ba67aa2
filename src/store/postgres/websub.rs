//! WebSub rows on PostgreSQL: subscriptions (any instance can answer a hub's verification or
//! push, since all read the same rows) and the inbox of pushed bodies. The inbox is taken one
//! body at a time by whichever instance asks; renewal is not leased to one instance yet.

use tokio_postgres::Row;

use super::{count, PostgresStore};
use crate::store::{Millis, Pushed, StoreError, Subscription};

const SUBSCRIPTION_COLUMNS: &str = "source, callback_id, secret, hub, topic, callback,
    requested_at, accepted, failures, verified_at, expires_at, denied_at, last_error";

fn subscription_row(row: &Row) -> Subscription {
    Subscription {
        source: row.get(0),
        callback_id: row.get(1),
        secret: crate::secret::Secret::new(row.get::<_, String>(2)),
        hub: row.get(3),
        topic: row.get(4),
        callback: row.get(5),
        facts: crate::websub::Facts {
            requested_at: row.get(6),
            accepted: row.get(7),
            failures: count(row.get(8)),
            verified_at: row.get(9),
            expires_at: row.get(10),
            denied_at: row.get(11),
        },
        last_error: row.get(12),
    }
}

impl PostgresStore {
    pub async fn websub_advertised(
        &self,
        source: &str,
        hub: &str,
        topic: &str,
        fresh: impl FnOnce() -> (String, String),
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let current = client
            .query_opt(
                "SELECT hub, topic FROM websub_subscriptions WHERE source = $1",
                &[&source],
            )
            .await?
            .map(|row| (row.get::<_, String>(0), row.get::<_, String>(1)));
        if current
            .as_ref()
            .is_some_and(|(h, t)| h == hub && t == topic)
        {
            return Ok(false);
        }
        let (callback_id, secret) = fresh();
        // a fresh row, as SQLite's INSERT OR REPLACE: the old facts belong to the old hub
        client
            .execute(
                "INSERT INTO websub_subscriptions (source, callback_id, secret, hub, topic)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (source) DO UPDATE SET callback_id = $2, secret = $3, hub = $4,
                     topic = $5, callback = NULL, requested_at = NULL, accepted = FALSE,
                     failures = 0, verified_at = NULL, expires_at = NULL, denied_at = NULL,
                     last_error = NULL",
                &[&source, &callback_id, &secret, &hub, &topic],
            )
            .await?;
        Ok(true)
    }

    pub async fn websub_forget(&self, source: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let deleted = client
            .execute(
                "DELETE FROM websub_subscriptions WHERE source = $1",
                &[&source],
            )
            .await?;
        Ok(deleted > 0)
    }

    pub async fn websub_subscription(
        &self,
        source: &str,
    ) -> Result<Option<Subscription>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &*format!(
                    "SELECT {SUBSCRIPTION_COLUMNS} FROM websub_subscriptions WHERE source = $1"
                ),
                &[&source],
            )
            .await?;
        Ok(row.as_ref().map(subscription_row))
    }

    pub async fn websub_by_callback(
        &self,
        callback_id: &str,
    ) -> Result<Option<Subscription>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &*format!(
                    "SELECT {SUBSCRIPTION_COLUMNS} FROM websub_subscriptions WHERE callback_id = $1"
                ),
                &[&callback_id],
            )
            .await?;
        Ok(row.as_ref().map(subscription_row))
    }

    pub async fn websub_requested(
        &self,
        source: &str,
        callback: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE websub_subscriptions SET requested_at = $2, callback = $3, accepted = FALSE
                 WHERE source = $1",
                &[&source, &now, &callback],
            )
            .await?;
        Ok(())
    }

    pub async fn websub_request_result(
        &self,
        source: &str,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let sql = match error {
            None => {
                "UPDATE websub_subscriptions SET accepted = TRUE, last_error = $2 WHERE source = $1"
            }
            Some(_) => {
                "UPDATE websub_subscriptions SET accepted = FALSE, failures = failures + 1,
                 last_error = $2 WHERE source = $1"
            }
        };
        client.execute(sql, &[&source, &error]).await?;
        Ok(())
    }

    pub async fn websub_unanswered(&self, source: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE websub_subscriptions SET accepted = FALSE, failures = failures + 1,
                 last_error = 'the hub accepted the request but never verified it' WHERE source = $1",
                &[&source],
            )
            .await?;
        Ok(())
    }

    pub async fn websub_verified(
        &self,
        callback_id: &str,
        now: Millis,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE websub_subscriptions SET verified_at = $2, expires_at = $3, failures = 0,
                 denied_at = NULL, last_error = NULL WHERE callback_id = $1",
                &[&callback_id, &now, &expires_at],
            )
            .await?;
        Ok(())
    }

    pub async fn websub_denied(
        &self,
        callback_id: &str,
        now: Millis,
        reason: &str,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE websub_subscriptions SET denied_at = $2, expires_at = NULL, last_error = $3
                 WHERE callback_id = $1",
                &[&callback_id, &now, &reason],
            )
            .await?;
        Ok(())
    }

    pub async fn websub_enqueue(
        &self,
        source: &str,
        content_type: Option<&str>,
        body: &[u8],
        now: Millis,
        limit: u64,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // one statement, so concurrent pushes cannot both pass the limit check on a stale count
        let inserted = client
            .execute(
                "INSERT INTO websub_inbox (source, content_type, body, received_at)
                 SELECT $1::TEXT, $2::TEXT, $3::BYTEA, $4::BIGINT
                 WHERE (SELECT COUNT(*) FROM websub_inbox) < $5::BIGINT",
                &[&source, &content_type, &body, &now, &limit],
            )
            .await?;
        Ok(inserted > 0)
    }

    pub async fn websub_next_pushed(&self) -> Result<Option<Pushed>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT id, source, content_type, body, received_at FROM websub_inbox
                 ORDER BY id LIMIT 1",
                &[],
            )
            .await?;
        Ok(row.map(|row| Pushed {
            id: row.get(0),
            source: row.get(1),
            content_type: row.get(2),
            body: row.get(3),
            received_at: row.get(4),
        }))
    }

    pub async fn websub_pushed_done(&self, id: i64) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute("DELETE FROM websub_inbox WHERE id = $1", &[&id])
            .await?;
        Ok(())
    }
}
