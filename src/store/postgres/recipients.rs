//! Per-recipient progress on PostgreSQL: the same rows and meaning as `sqlite/recipients.rs`
//! (which recipients of a multi-recipient sink already accepted a delivery, so a retry sends only
//! to the rest). It does not decide who the recipients are nor when a delivery is done.

use super::PostgresStore;
use crate::store::{Millis, StoreError};

impl PostgresStore {
    pub async fn recipients_done(&self, sink: &str, unit: &str) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT recipient FROM recipient_progress WHERE sink = $1 AND unit = $2",
                &[&sink, &unit],
            )
            .await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    pub async fn mark_recipient_done(
        &self,
        sink: &str,
        unit: &str,
        recipient: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO recipient_progress (sink, unit, recipient, done_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&sink, &unit, &recipient, &now],
            )
            .await?;
        Ok(())
    }

    pub async fn forget_recipients(&self, sink: &str, unit: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM recipient_progress WHERE sink = $1 AND unit = $2",
                &[&sink, &unit],
            )
            .await?;
        Ok(())
    }
}
