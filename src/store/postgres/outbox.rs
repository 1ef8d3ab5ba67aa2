//! The outbox on PostgreSQL: due deliveries, outcomes, digests, counts, listings and
//! requeues, with the SQLite backend's meanings. Rows are not leased yet: two instances would
//! both attempt a due row (still at-least-once with the same id, but twice).

use tokio_postgres::Row;

use super::{count, PostgresStore};
use crate::store::{
    AlertRow, DueDelivery, Millis, OutboxCounts, Settlement, StoreError, StoredAlert,
};

fn due_row(row: &Row) -> DueDelivery {
    DueDelivery {
        alert_id: row.get(0),
        sink: row.get(1),
        payload: row.get(2),
        attempts: count(row.get(3)),
        created_at: row.get(4),
    }
}

fn limit(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl PostgresStore {
    pub async fn due_deliveries(
        &self,
        sink: &str,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        self.due_rows(sink, now, limit, false).await
    }

    pub async fn due_undigested(
        &self,
        sink: &str,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        self.due_rows(sink, now, limit, true).await
    }

    async fn due_rows(
        &self,
        sink: &str,
        now: Millis,
        count: usize,
        skip_matches: bool,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT d.alert_id, d.sink, a.payload, d.attempts, a.created_at
                 FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                 WHERE d.sink = $1 AND d.state = 'pending' AND d.next_attempt_at <= $2
                   AND (NOT $4 OR a.kind != 'article.matched')
                 ORDER BY d.next_attempt_at, a.created_at, d.alert_id LIMIT $3",
                &[&sink, &now, &limit(count), &skip_matches],
            )
            .await?;
        Ok(rows.iter().map(due_row).collect())
    }

    pub async fn digest_window_end(
        &self,
        sink: &str,
        window: Millis,
    ) -> Result<Option<Millis>, StoreError> {
        let client = self.client().await?;
        let first: Option<Millis> = client
            .query_one(
                "SELECT MIN(d.next_attempt_at) FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                 WHERE d.sink = $1 AND d.state = 'pending' AND d.digest_id IS NULL
                   AND a.kind = 'article.matched'",
                &[&sink],
            )
            .await?
            .get(0);
        Ok(first.map(|first| first.saturating_add(window)))
    }

    pub async fn form_digest(
        &self,
        sink: &str,
        cutoff: Millis,
        count: usize,
        now: Millis,
        name: impl FnOnce(&[String]) -> String,
    ) -> Result<Option<String>, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        // FOR UPDATE: two instances closing the same window bundle disjoint members
        let members: Vec<String> = transaction
            .query(
                "SELECT d.alert_id FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                 WHERE d.sink = $1 AND d.state = 'pending' AND d.digest_id IS NULL
                   AND a.kind = 'article.matched' AND d.next_attempt_at <= $2
                 ORDER BY a.created_at, d.alert_id LIMIT $3
                 FOR UPDATE OF d SKIP LOCKED",
                &[&sink, &cutoff, &limit(count)],
            )
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        if members.is_empty() {
            return Ok(None);
        }
        let digest_id = name(&members);
        transaction
            .execute(
                "UPDATE deliveries SET digest_id = $3, next_attempt_at = $4
                 WHERE alert_id = ANY($1) AND sink = $2",
                &[&members, &sink, &digest_id, &now],
            )
            .await?;
        transaction.commit().await?;
        Ok(Some(digest_id))
    }

    pub async fn due_digests(&self, sink: &str, now: Millis) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT digest_id FROM deliveries
                 WHERE sink = $1 AND state = 'pending' AND digest_id IS NOT NULL
                 GROUP BY digest_id HAVING MIN(next_attempt_at) <= $2
                 ORDER BY MIN(next_attempt_at), digest_id",
                &[&sink, &now],
            )
            .await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    pub async fn digest_members(
        &self,
        sink: &str,
        digest_id: &str,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT d.alert_id, d.sink, a.payload, d.attempts, a.created_at
                 FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                 WHERE d.sink = $1 AND d.digest_id = $2 AND d.state = 'pending'
                 ORDER BY a.created_at, d.alert_id",
                &[&sink, &digest_id],
            )
            .await?;
        Ok(rows.iter().map(due_row).collect())
    }

    pub async fn next_digest_due(
        &self,
        sink: &str,
        window: Millis,
    ) -> Result<Option<Millis>, StoreError> {
        let window_end = self.digest_window_end(sink, window).await?;
        let client = self.client().await?;
        let other: Option<Millis> = client
            .query_one(
                "SELECT MIN(d.next_attempt_at) FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                 WHERE d.sink = $1 AND d.state = 'pending'
                   AND (d.digest_id IS NOT NULL OR a.kind != 'article.matched')",
                &[&sink],
            )
            .await?
            .get(0);
        Ok(match (window_end, other) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    pub async fn settle_digest(
        &self,
        sink: &str,
        digest_id: &str,
        settlement: Settlement<'_>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        match settlement {
            Settlement::Delivered { now } => {
                client
                    .execute(
                        "UPDATE deliveries SET state = 'delivered', lease_holder = NULL, attempts = attempts + 1,
                             delivered_at = $3, last_error = NULL
                         WHERE sink = $1 AND digest_id = $2 AND state = 'pending'",
                        &[&sink, &digest_id, &now],
                    )
                    .await?
            }
            Settlement::Retry {
                next_attempt_at,
                error,
            } => {
                client
                    .execute(
                        "UPDATE deliveries SET lease_holder = NULL, attempts = attempts + 1, next_attempt_at = $3,
                             last_error = $4
                         WHERE sink = $1 AND digest_id = $2 AND state = 'pending'",
                        &[&sink, &digest_id, &next_attempt_at, &error],
                    )
                    .await?
            }
            Settlement::Dead { error } => client
                .execute(
                    "UPDATE deliveries SET state = 'dead', lease_holder = NULL, attempts = attempts + 1, last_error = $3
                         WHERE sink = $1 AND digest_id = $2 AND state = 'pending'",
                    &[&sink, &digest_id, &error],
                )
                .await?,
        };
        Ok(())
    }

    pub async fn next_due(&self, sink: &str) -> Result<Option<Millis>, StoreError> {
        let client = self.client().await?;
        Ok(client
            .query_one(
                "SELECT MIN(next_attempt_at) FROM deliveries WHERE sink = $1 AND state = 'pending'",
                &[&sink],
            )
            .await?
            .get(0))
    }

    pub async fn mark_delivered(
        &self,
        alert_id: &str,
        sink: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE deliveries SET state = 'delivered', lease_holder = NULL, attempts = attempts + 1, delivered_at = $3,
                     last_error = NULL
                 WHERE alert_id = $1 AND sink = $2",
                &[&alert_id, &sink, &now],
            )
            .await?;
        Ok(())
    }

    pub async fn mark_retry(
        &self,
        alert_id: &str,
        sink: &str,
        next_attempt_at: Millis,
        error: &str,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE deliveries SET lease_holder = NULL, attempts = attempts + 1, next_attempt_at = $3, last_error = $4
                 WHERE alert_id = $1 AND sink = $2",
                &[&alert_id, &sink, &next_attempt_at, &error],
            )
            .await?;
        Ok(())
    }

    pub async fn mark_dead(
        &self,
        alert_id: &str,
        sink: &str,
        error: &str,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE deliveries SET state = 'dead', lease_holder = NULL, attempts = attempts + 1, last_error = $3
                 WHERE alert_id = $1 AND sink = $2",
                &[&alert_id, &sink, &error],
            )
            .await?;
        Ok(())
    }

    pub async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let client = self.client().await?;
        let mut counts = OutboxCounts::default();
        for row in client
            .query("SELECT state, COUNT(*) FROM deliveries GROUP BY state", &[])
            .await?
        {
            let state: String = row.get(0);
            let number = u64::try_from(row.get::<_, i64>(1)).unwrap_or(0);
            match state.as_str() {
                "pending" => counts.pending = number,
                "delivered" => counts.delivered = number,
                _ => counts.dead = number,
            }
        }
        Ok(counts)
    }

    pub async fn pending_by_sink(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT sink, COUNT(*) FROM deliveries WHERE state = 'pending'
                 GROUP BY sink ORDER BY sink",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| (row.get(0), u64::try_from(row.get::<_, i64>(1)).unwrap_or(0)))
            .collect())
    }

    pub async fn list_alerts(
        &self,
        dead_only: bool,
        since: Millis,
        count_limit: usize,
    ) -> Result<Vec<AlertRow>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT a.id, a.watchlist, a.source, a.article_url,
                        COALESCE(a.payload::jsonb #>> '{article,title}',
                                 (a.payload::jsonb ->> 'type') || ': ' || a.source
                                   || COALESCE(' (' || (a.payload::jsonb #>> '{health,last_error}') || ')', ''),
                                 ''), a.created_at,
                        d.sink, d.state, d.attempts, d.last_error, d.digest_id, a.kind
                 FROM alerts a JOIN deliveries d ON d.alert_id = a.id
                 WHERE a.created_at >= $1 AND (NOT $2 OR d.state = 'dead')
                 ORDER BY a.created_at DESC, a.id, d.sink LIMIT $3",
                &[&since, &dead_only, &limit(count_limit)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| AlertRow {
                alert_id: row.get(0),
                watchlist: row.get(1),
                source: row.get(2),
                article_url: row.get(3),
                title: row.get(4),
                created_at: row.get(5),
                sink: row.get(6),
                state: row.get(7),
                attempts: count(row.get(8)),
                last_error: row.get(9),
                digest_id: row.get(10),
                kind: row.get(11),
            })
            .collect())
    }

    pub async fn stored_alerts(
        &self,
        alert_id: Option<&str>,
        since: Millis,
        count_limit: usize,
    ) -> Result<Vec<StoredAlert>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, kind, watchlist, source, article_url, created_at, payload FROM alerts
                 WHERE ($1::text IS NULL OR id = $1) AND created_at >= $2
                 ORDER BY created_at DESC, id LIMIT $3",
                &[&alert_id, &since, &limit(count_limit)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| StoredAlert {
                alert_id: row.get(0),
                kind: row.get(1),
                watchlist: row.get(2),
                source: row.get(3),
                article_url: row.get(4),
                created_at: row.get(5),
                payload: row.get(6),
            })
            .collect())
    }

    pub async fn requeue_alert(&self, alert_id: &str, now: Millis) -> Result<usize, StoreError> {
        let client = self.client().await?;
        let changed = client
            .execute(
                "UPDATE deliveries SET state = 'pending', lease_holder = NULL, attempts = 0, next_attempt_at = $2,
                     delivered_at = NULL, digest_id = NULL
                 WHERE alert_id = $1",
                &[&alert_id, &now],
            )
            .await?;
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    }

    pub async fn requeue_dead(&self, now: Millis) -> Result<usize, StoreError> {
        let client = self.client().await?;
        let changed = client
            .execute(
                "UPDATE deliveries SET state = 'pending', lease_holder = NULL, attempts = 0, next_attempt_at = $1,
                     digest_id = NULL
                 WHERE state = 'dead'",
                &[&now],
            )
            .await?;
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    }
}
