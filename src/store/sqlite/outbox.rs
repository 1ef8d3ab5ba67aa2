//! The outbox: due deliveries, their outcomes (delivered, retry, dead), digests formed from
//! closed windows and settled as one, counts and listings for `alerts`, and requeues. It does
//! not send anything or choose retry delays (the daemon's delivery loop does).

use rusqlite::params;

use super::SqliteStore;
use crate::store::{
    AlertRow, DueDelivery, Millis, OutboxCounts, Settlement, StoreError, StoredAlert,
};

impl SqliteStore {
    /// Pending deliveries of one sink whose attempt is due, oldest first.
    pub fn due_deliveries(
        &self,
        sink: &str,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        self.due_rows(sink, now, limit, false)
    }

    /// As [`SqliteStore::due_deliveries`], without the watchlist matches: what a digest sink still
    /// sends one by one (source-health messages, which are not news to bundle).
    pub fn due_undigested(
        &self,
        sink: &str,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        self.due_rows(sink, now, limit, true)
    }

    fn due_rows(
        &self,
        sink: &str,
        now: Millis,
        limit: usize,
        skip_matches: bool,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(
            "SELECT d.alert_id, d.sink, a.payload, d.attempts, a.created_at
             FROM deliveries d JOIN alerts a ON a.id = d.alert_id
             WHERE d.sink = ?1 AND d.state = 'pending' AND d.next_attempt_at <= ?2
               AND (?4 = 0 OR a.kind != 'article.matched')
             ORDER BY d.next_attempt_at, a.created_at, d.alert_id LIMIT ?3",
        )?;
        let rows = statement.query_map(
            params![sink, now, limit as i64, skip_matches as i64],
            due_row,
        )?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// When the digest window of `sink` that is open now closes: the earliest pending match not
    /// yet in a digest, plus `window`. Windows start at their first alert rather than on
    /// wall-clock boundaries, so every alert waits at most one window and a lone alert is never
    /// sent moments after it arrived just because a boundary fell then.
    pub fn digest_window_end(
        &self,
        sink: &str,
        window: Millis,
    ) -> Result<Option<Millis>, StoreError> {
        let connection = self.lock()?;
        let first: Option<Millis> = connection
            .prepare_cached(
                "SELECT MIN(d.next_attempt_at) FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                 WHERE d.sink = ?1 AND d.state = 'pending' AND d.digest_id IS NULL
                   AND a.kind = 'article.matched'",
            )?
            .query_row(params![sink], |row| row.get(0))?;
        Ok(first.map(|first| first.saturating_add(window)))
    }

    /// Bundles up to `limit` pending matches of `sink` that were due by `cutoff` (the end of a
    /// closed window) into one digest, oldest first, whose id `name` derives from the member
    /// ids; the digest is due at once. Returns its id, `None` when nothing was waiting. Members
    /// are fixed from here on: every retry re-sends the same alerts under the same id, and a
    /// crash before the send leaves the digest pending, to be sent after the restart.
    pub fn form_digest(
        &self,
        sink: &str,
        cutoff: Millis,
        limit: usize,
        now: Millis,
        name: impl FnOnce(&[String]) -> String,
    ) -> Result<Option<String>, StoreError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction()?;
        let members: Vec<String> = {
            let mut statement = transaction.prepare_cached(
                "SELECT d.alert_id FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                 WHERE d.sink = ?1 AND d.state = 'pending' AND d.digest_id IS NULL
                   AND a.kind = 'article.matched' AND d.next_attempt_at <= ?2
                 ORDER BY a.created_at, d.alert_id LIMIT ?3",
            )?;
            let rows =
                statement.query_map(params![sink, cutoff, limit as i64], |row| row.get(0))?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        if members.is_empty() {
            return Ok(None);
        }
        let digest_id = name(&members);
        {
            let mut update = transaction.prepare_cached(
                "UPDATE deliveries SET digest_id = ?3, next_attempt_at = ?4
                 WHERE alert_id = ?1 AND sink = ?2",
            )?;
            for member in &members {
                update.execute(params![member, sink, digest_id, now])?;
            }
        }
        transaction.commit()?;
        Ok(Some(digest_id))
    }

    /// Digests of `sink` with pending members whose attempt is due, oldest first.
    pub fn due_digests(&self, sink: &str, now: Millis) -> Result<Vec<String>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(
            "SELECT digest_id FROM deliveries
             WHERE sink = ?1 AND state = 'pending' AND digest_id IS NOT NULL
             GROUP BY digest_id HAVING MIN(next_attempt_at) <= ?2
             ORDER BY MIN(next_attempt_at), digest_id",
        )?;
        let rows = statement.query_map(params![sink, now], |row| row.get(0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The pending members of a digest, in the order the message lists them.
    pub fn digest_members(
        &self,
        sink: &str,
        digest_id: &str,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(
            "SELECT d.alert_id, d.sink, a.payload, d.attempts, a.created_at
             FROM deliveries d JOIN alerts a ON a.id = d.alert_id
             WHERE d.sink = ?1 AND d.digest_id = ?2 AND d.state = 'pending'
             ORDER BY a.created_at, d.alert_id",
        )?;
        let rows = statement.query_map(params![sink, digest_id], due_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// When the next send of a digest sink falls due: a pending digest or single message, or
    /// the end of the open window.
    pub fn next_digest_due(
        &self,
        sink: &str,
        window: Millis,
    ) -> Result<Option<Millis>, StoreError> {
        let window_end = self.digest_window_end(sink, window)?;
        let connection = self.lock()?;
        let other: Option<Millis> = connection
            .prepare_cached(
                "SELECT MIN(d.next_attempt_at) FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                 WHERE d.sink = ?1 AND d.state = 'pending'
                   AND (d.digest_id IS NOT NULL OR a.kind != 'article.matched')",
            )?
            .query_row(params![sink], |row| row.get(0))?;
        Ok(match (window_end, other) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// Records one outcome for every pending member of a digest at once, so a crash can never
    /// split a digest into a delivered and a pending part.
    pub fn settle_digest(
        &self,
        sink: &str,
        digest_id: &str,
        settlement: Settlement<'_>,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        match settlement {
            Settlement::Delivered { now } => connection
                .prepare_cached(
                    "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1,
                         delivered_at = ?3, last_error = NULL
                     WHERE sink = ?1 AND digest_id = ?2 AND state = 'pending'",
                )?
                .execute(params![sink, digest_id, now])?,
            Settlement::Retry {
                next_attempt_at,
                error,
            } => connection
                .prepare_cached(
                    "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?3,
                         last_error = ?4
                     WHERE sink = ?1 AND digest_id = ?2 AND state = 'pending'",
                )?
                .execute(params![sink, digest_id, next_attempt_at, error])?,
            Settlement::Dead { error } => connection
                .prepare_cached(
                    "UPDATE deliveries SET state = 'dead', attempts = attempts + 1, last_error = ?3
                     WHERE sink = ?1 AND digest_id = ?2 AND state = 'pending'",
                )?
                .execute(params![sink, digest_id, error])?,
        };
        Ok(())
    }

    /// When the next pending delivery of this sink falls due, if any is pending.
    pub fn next_due(&self, sink: &str) -> Result<Option<Millis>, StoreError> {
        let connection = self.lock()?;
        let next: Option<Millis> = connection
            .prepare_cached(
                "SELECT MIN(next_attempt_at) FROM deliveries WHERE sink = ?1 AND state = 'pending'",
            )?
            .query_row(params![sink], |row| row.get(0))?;
        Ok(next)
    }

    pub fn mark_delivered(
        &self,
        alert_id: &str,
        sink: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, delivered_at = ?3,
                 last_error = NULL
             WHERE alert_id = ?1 AND sink = ?2",
            )?
            .execute(params![alert_id, sink, now])?;
        Ok(())
    }

    pub fn mark_retry(
        &self,
        alert_id: &str,
        sink: &str,
        next_attempt_at: Millis,
        error: &str,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?3, last_error = ?4
             WHERE alert_id = ?1 AND sink = ?2",
            )?
            .execute(params![alert_id, sink, next_attempt_at, error])?;
        Ok(())
    }

    /// A dead letter: kept with its last error, never attempted again unless replayed.
    pub fn mark_dead(&self, alert_id: &str, sink: &str, error: &str) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "UPDATE deliveries SET state = 'dead', attempts = attempts + 1, last_error = ?3
             WHERE alert_id = ?1 AND sink = ?2",
            )?
            .execute(params![alert_id, sink, error])?;
        Ok(())
    }

    pub fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let connection = self.lock()?;
        let mut counts = OutboxCounts::default();
        let mut statement =
            connection.prepare("SELECT state, COUNT(*) FROM deliveries GROUP BY state")?;
        let rows = statement.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?))
        })?;
        for row in rows {
            let (state, count) = row?;
            match state.as_str() {
                "pending" => counts.pending = count,
                "delivered" => counts.delivered = count,
                _ => counts.dead = count,
            }
        }
        Ok(counts)
    }

    /// Sinks that have pending deliveries, with how many (to warn about sinks no longer configured).
    pub fn pending_by_sink(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare(
            "SELECT sink, COUNT(*) FROM deliveries WHERE state = 'pending' GROUP BY sink ORDER BY sink",
        )?;
        let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Alerts with their deliveries, newest first; only dead letters with `dead_only`.
    pub fn list_alerts(
        &self,
        dead_only: bool,
        since: Millis,
        limit: usize,
    ) -> Result<Vec<AlertRow>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare(
            "SELECT a.id, a.watchlist, a.source, a.article_url,
                    -- A source-health message has no article: its type and source's last
                    -- error say what it is.
                    COALESCE(json_extract(a.payload, '$.article.title'),
                             json_extract(a.payload, '$.type') || ': ' || a.source
                               || COALESCE(' (' || json_extract(a.payload, '$.health.last_error') || ')', ''),
                             ''), a.created_at,
                    d.sink, d.state, d.attempts, d.last_error, d.digest_id, a.kind
             FROM alerts a JOIN deliveries d ON d.alert_id = a.id
             WHERE a.created_at >= ?1 AND (?2 = 0 OR d.state = 'dead')
             ORDER BY a.created_at DESC, a.id, d.sink LIMIT ?3",
        )?;
        let rows = statement.query_map(params![since, dead_only as i64, limit as i64], |row| {
            Ok(AlertRow {
                alert_id: row.get(0)?,
                watchlist: row.get(1)?,
                source: row.get(2)?,
                article_url: row.get(3)?,
                title: row.get(4)?,
                created_at: row.get(5)?,
                sink: row.get(6)?,
                state: row.get(7)?,
                attempts: row.get(8)?,
                last_error: row.get(9)?,
                digest_id: row.get(10)?,
                kind: row.get(11)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn stored_alerts(
        &self,
        alert_id: Option<&str>,
        since: Millis,
        limit: usize,
    ) -> Result<Vec<StoredAlert>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare(
            "SELECT id, kind, watchlist, source, article_url, created_at, payload FROM alerts
             WHERE (?1 IS NULL OR id = ?1) AND created_at >= ?2
             ORDER BY created_at DESC, id LIMIT ?3",
        )?;
        let rows = statement.query_map(params![alert_id, since, limit as i64], |row| {
            Ok(StoredAlert {
                alert_id: row.get(0)?,
                kind: row.get(1)?,
                watchlist: row.get(2)?,
                source: row.get(3)?,
                article_url: row.get(4)?,
                created_at: row.get(5)?,
                payload: row.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Queues an alert again for every sink it went to (whatever their state), with the same id
    /// and a fresh retry schedule. Returns the rows re-queued (0: no such alert).
    pub fn requeue_alert(&self, alert_id: &str, now: Millis) -> Result<usize, StoreError> {
        let connection = self.lock()?;
        Ok(connection.execute(
            "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?2,
                 delivered_at = NULL, digest_id = NULL
             WHERE alert_id = ?1",
            params![alert_id, now],
        )?)
    }

    /// Queues every dead letter again, with a fresh retry schedule.
    pub fn requeue_dead(&self, now: Millis) -> Result<usize, StoreError> {
        let connection = self.lock()?;
        Ok(connection.execute(
            "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?1,
                 digest_id = NULL
             WHERE state = 'dead'",
            params![now],
        )?)
    }
}

fn due_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<DueDelivery> {
    Ok(DueDelivery {
        alert_id: row.get(0)?,
        sink: row.get(1)?,
        payload: row.get(2)?,
        attempts: row.get(3)?,
        created_at: row.get(4)?,
    })
}
