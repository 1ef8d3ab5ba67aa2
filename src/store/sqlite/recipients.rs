//! Per-recipient progress of one delivery (an alert, or one message of a digest) to a sink that
//! sends it to several recipients (ntfy topics, Telegram chats): which of them accepted it
//! already, so a retry after a later recipient failed, or after a crash between two of them,
//! only sends to the rest. It does not decide who the recipients are (the sink does) nor when
//! the delivery as a whole counts as done (the outbox rows do).

use rusqlite::params;

use super::SqliteStore;
use crate::store::{Millis, StoreError};

impl SqliteStore {
    /// The recipients that already accepted delivery `unit` of `sink`.
    pub fn recipients_done(&self, sink: &str, unit: &str) -> Result<Vec<String>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(
            "SELECT recipient FROM recipient_progress WHERE sink = ?1 AND unit = ?2",
        )?;
        let rows = statement.query_map(params![sink, unit], |row| row.get(0))?;
        Ok(rows.collect::<Result<Vec<String>, _>>()?)
    }

    /// `recipient` accepted delivery `unit` of `sink`: never send it to them again.
    pub fn mark_recipient_done(
        &self,
        sink: &str,
        unit: &str,
        recipient: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "INSERT OR IGNORE INTO recipient_progress (sink, unit, recipient, done_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![sink, unit, recipient, now])?;
        Ok(())
    }

    /// Forgets the progress of a delivery every recipient accepted (its outbox rows say
    /// delivered from now on; a replay sends to everyone again).
    pub fn forget_recipients(&self, sink: &str, unit: &str) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached("DELETE FROM recipient_progress WHERE sink = ?1 AND unit = ?2")?
            .execute(params![sink, unit])?;
        Ok(())
    }
}
