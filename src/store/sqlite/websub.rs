//! WebSub rows: one subscription per source (callback id, secret, hub, topic and the facts
//! `websub::Facts` reasons over), and the inbox of pushed bodies waiting to be processed. It does
//! not decide when to subscribe or renew (`websub` and the daemon do).

use rusqlite::{params, OptionalExtension};

use super::SqliteStore;
use crate::store::{Millis, Pushed, StoreError, Subscription};

impl SqliteStore {
    /// Records the hub and topic a source's feed advertises. A new hub or topic starts a new
    /// subscription with a fresh callback id and secret from `fresh` (the old one lapses
    /// unrenewed); the same ones keep it. Returns whether anything changed.
    pub fn websub_advertised(
        &self,
        source: &str,
        hub: &str,
        topic: &str,
        fresh: impl FnOnce() -> (String, String),
    ) -> Result<bool, StoreError> {
        let connection = self.lock()?;
        let current: Option<(String, String)> = connection
            .prepare_cached("SELECT hub, topic FROM websub_subscriptions WHERE source = ?1")?
            .query_row(params![source], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        if current
            .as_ref()
            .is_some_and(|(h, t)| h == hub && t == topic)
        {
            return Ok(false);
        }
        let (callback_id, secret) = fresh();
        connection
            .prepare_cached(
                "INSERT OR REPLACE INTO websub_subscriptions (source, callback_id, secret, hub, topic)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![source, callback_id, secret, hub, topic])?;
        Ok(true)
    }

    /// Forgets a source's subscription (its feed no longer advertises a hub); true if there was
    /// one. Pushes to its callback are refused from now on, and the lease lapses unrenewed.
    pub fn websub_forget(&self, source: &str) -> Result<bool, StoreError> {
        let connection = self.lock()?;
        let deleted = connection
            .prepare_cached("DELETE FROM websub_subscriptions WHERE source = ?1")?
            .execute(params![source])?;
        Ok(deleted > 0)
    }

    pub fn websub_subscription(&self, source: &str) -> Result<Option<Subscription>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(&format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM websub_subscriptions WHERE source = ?1"
        ))?;
        Ok(statement
            .query_row(params![source], subscription_row)
            .optional()?)
    }

    /// The subscription a callback URL belongs to.
    pub fn websub_by_callback(
        &self,
        callback_id: &str,
    ) -> Result<Option<Subscription>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(&format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM websub_subscriptions WHERE callback_id = ?1"
        ))?;
        Ok(statement
            .query_row(params![callback_id], subscription_row)
            .optional()?)
    }

    /// A subscription request to `callback` is about to be sent.
    pub fn websub_requested(
        &self,
        source: &str,
        callback: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "UPDATE websub_subscriptions SET requested_at = ?2, callback = ?3, accepted = 0
                 WHERE source = ?1",
            )?
            .execute(params![source, now, callback])?;
        Ok(())
    }

    /// The hub's answer to the request: accepted (`None`: a verification should follow) or why
    /// it failed.
    pub fn websub_request_result(
        &self,
        source: &str,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        let sql = match error {
            None => "UPDATE websub_subscriptions SET accepted = 1, last_error = ?2 WHERE source = ?1",
            Some(_) => {
                "UPDATE websub_subscriptions SET accepted = 0, failures = failures + 1, last_error = ?2
                 WHERE source = ?1"
            }
        };
        connection
            .prepare_cached(sql)?
            .execute(params![source, error])?;
        Ok(())
    }

    /// The last request was accepted but never verified: it counts as a failure.
    pub fn websub_unanswered(&self, source: &str) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "UPDATE websub_subscriptions SET accepted = 0, failures = failures + 1,
                 last_error = 'the hub accepted the request but never verified it' WHERE source = ?1",
            )?
            .execute(params![source])?;
        Ok(())
    }

    /// The hub verified the subscription and granted a lease until `expires_at`.
    pub fn websub_verified(
        &self,
        callback_id: &str,
        now: Millis,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "UPDATE websub_subscriptions SET verified_at = ?2, expires_at = ?3, failures = 0,
                 denied_at = NULL, last_error = NULL WHERE callback_id = ?1",
            )?
            .execute(params![callback_id, now, expires_at])?;
        Ok(())
    }

    /// The hub denied the subscription (or ended it): no lease any more.
    pub fn websub_denied(
        &self,
        callback_id: &str,
        now: Millis,
        reason: &str,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "UPDATE websub_subscriptions SET denied_at = ?2, expires_at = NULL, last_error = ?3
                 WHERE callback_id = ?1",
            )?
            .execute(params![callback_id, now, reason])?;
        Ok(())
    }

    /// Stores a pushed body for processing; false (nothing stored) when `limit` bodies are
    /// waiting already, so a flood cannot fill the disk.
    pub fn websub_enqueue(
        &self,
        source: &str,
        content_type: Option<&str>,
        body: &[u8],
        now: Millis,
        limit: u64,
    ) -> Result<bool, StoreError> {
        let connection = self.lock()?;
        let waiting: u64 = connection
            .prepare_cached("SELECT COUNT(*) FROM websub_inbox")?
            .query_row([], |row| row.get(0))?;
        if waiting >= limit {
            return Ok(false);
        }
        connection
            .prepare_cached(
                "INSERT INTO websub_inbox (source, content_type, body, received_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![source, content_type, body, now])?;
        Ok(true)
    }

    /// The oldest pushed body not processed yet.
    pub fn websub_next_pushed(&self) -> Result<Option<Pushed>, StoreError> {
        let connection = self.lock()?;
        let row = connection
            .prepare_cached(
                "SELECT id, source, content_type, body, received_at FROM websub_inbox ORDER BY id LIMIT 1",
            )?
            .query_row([], |row| {
                Ok(Pushed {
                    id: row.get(0)?,
                    source: row.get(1)?,
                    content_type: row.get(2)?,
                    body: row.get(3)?,
                    received_at: row.get(4)?,
                })
            })
            .optional()?;
        Ok(row)
    }

    pub fn websub_pushed_done(&self, id: i64) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached("DELETE FROM websub_inbox WHERE id = ?1")?
            .execute(params![id])?;
        Ok(())
    }
}

const SUBSCRIPTION_COLUMNS: &str = "source, callback_id, secret, hub, topic, callback,
    requested_at, accepted, failures, verified_at, expires_at, denied_at, last_error";

fn subscription_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Subscription> {
    Ok(Subscription {
        source: row.get(0)?,
        callback_id: row.get(1)?,
        secret: crate::secret::Secret::new(row.get::<_, String>(2)?),
        hub: row.get(3)?,
        topic: row.get(4)?,
        callback: row.get(5)?,
        facts: crate::websub::Facts {
            requested_at: row.get(6)?,
            accepted: row.get(7)?,
            failures: row.get(8)?,
            verified_at: row.get(9)?,
            expires_at: row.get(10)?,
            denied_at: row.get(11)?,
        },
        last_error: row.get(12)?,
    })
}
