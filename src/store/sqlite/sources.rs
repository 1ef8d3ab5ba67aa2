//! Per-source facts: HTTP validators, poll outcomes (with the failures the database could not
//! take, kept in memory), the entry rhythm and next poll, and health episodes with their
//! messages. It does not decide when a source is unhealthy (the daemon's health module does).

use rusqlite::{params, OptionalExtension};

use super::SqliteStore;
use crate::store::{HealthAlert, Millis, SourceHealth, SourceState, StoreError, Validators};

impl SqliteStore {
    pub fn validators(&self, source: &str) -> Result<Validators, StoreError> {
        let connection = self.lock()?;
        let row = connection
            .prepare_cached("SELECT etag, last_modified FROM source_state WHERE source = ?1")?
            .query_row(params![source], |row| {
                Ok(Validators {
                    etag: row.get(0)?,
                    last_modified: row.get(1)?,
                })
            })
            .optional()?;
        Ok(row.unwrap_or_default())
    }

    /// A successful poll (200 or 304): new validators replace the old ones only on a 200.
    pub fn record_poll_success(
        &self,
        source: &str,
        validators: Option<&Validators>,
        now: Millis,
    ) -> Result<(), StoreError> {
        let result = self.write_poll_success(source, validators, now);
        if let Ok(mut unrecorded) = self.unrecorded.lock() {
            match &result {
                Ok(()) => {
                    unrecorded.failures.remove(source);
                    unrecorded.problem = None;
                }
                Err(error) => unrecorded.note(error),
            }
        }
        result
    }

    fn write_poll_success(
        &self,
        source: &str,
        validators: Option<&Validators>,
        now: Millis,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "INSERT INTO source_state (source, last_polled_at, last_success_at, consecutive_failures)
             VALUES (?1, ?2, ?2, 0)
             ON CONFLICT (source) DO UPDATE SET last_polled_at = ?2, last_success_at = ?2,
                 consecutive_failures = 0, last_error = NULL",
            )?
            .execute(params![source, now])?;
        if let Some(validators) = validators {
            connection
                .prepare_cached(
                    "UPDATE source_state SET etag = ?2, last_modified = ?3 WHERE source = ?1",
                )?
                .execute(params![source, validators.etag, validators.last_modified])?;
        }
        Ok(())
    }

    /// A failed poll; returns the number of consecutive failures so far. When the database
    /// cannot take it, the failure is counted in memory (see [`SqliteStore::source_health`]) and the
    /// error returned.
    pub fn record_poll_failure(
        &self,
        source: &str,
        error: &str,
        now: Millis,
    ) -> Result<u32, StoreError> {
        let result = self.write_poll_failure(source, error, now);
        if let Ok(mut unrecorded) = self.unrecorded.lock() {
            match &result {
                Ok(_) => unrecorded.problem = None,
                Err(store_error) => {
                    unrecorded.note(store_error);
                    let failures = unrecorded
                        .failures
                        .entry(source.to_string())
                        .or_insert((0, String::new()));
                    failures.0 = failures.0.saturating_add(1);
                    failures.1 = error.to_string();
                }
            }
        }
        result
    }

    /// The last poll-bookkeeping write the database refused, while it keeps refusing: the
    /// daemon is then unhealthy, whatever the sources say.
    pub fn write_problem(&self) -> Option<String> {
        self.unrecorded.lock().ok()?.problem.clone()
    }

    /// How many writes the database refused since it was opened.
    pub fn write_failures(&self) -> u64 {
        self.unrecorded
            .lock()
            .map_or(0, |unrecorded| unrecorded.count)
    }

    /// Adds the failures the database could not take to what it says of a source.
    fn with_unrecorded(&self, source: &str, failures: &mut u32, last_error: &mut Option<String>) {
        if let Ok(unrecorded) = self.unrecorded.lock() {
            if let Some((count, error)) = unrecorded.failures.get(source) {
                *failures = failures.saturating_add(*count);
                *last_error = Some(error.clone());
            }
        }
    }

    fn write_poll_failure(
        &self,
        source: &str,
        error: &str,
        now: Millis,
    ) -> Result<u32, StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "INSERT INTO source_state (source, last_polled_at, consecutive_failures, last_error)
             VALUES (?1, ?2, 1, ?3)
             ON CONFLICT (source) DO UPDATE SET last_polled_at = ?2,
                 consecutive_failures = consecutive_failures + 1, last_error = ?3",
            )?
            .execute(params![source, now, error])?;
        let failures: u32 = connection
            .prepare_cached("SELECT consecutive_failures FROM source_state WHERE source = ?1")?
            .query_row(params![source], |row| row.get(0))?;
        Ok(failures)
    }

    pub fn source_states(&self) -> Result<Vec<SourceState>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare(
            "SELECT source, last_polled_at, last_success_at, consecutive_failures, last_error
             FROM source_state ORDER BY source",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(SourceState {
                source: row.get(0)?,
                last_polled_at: row.get(1)?,
                last_success_at: row.get(2)?,
                consecutive_failures: row.get(3)?,
                last_error: row.get(4)?,
            })
        })?;
        let mut states = rows.collect::<Result<Vec<_>, _>>()?;
        // a source whose first poll could not be recorded has no row yet
        if let Ok(unrecorded) = self.unrecorded.lock() {
            for source in unrecorded.failures.keys() {
                if !states.iter().any(|state| &state.source == source) {
                    states.push(SourceState {
                        source: source.clone(),
                        ..SourceState::default()
                    });
                }
            }
        }
        for state in &mut states {
            self.with_unrecorded(
                &state.source,
                &mut state.consecutive_failures,
                &mut state.last_error,
            );
        }
        Ok(states)
    }

    /// After a full poll: when a new entry was last seen (if this poll found one) and the entry
    /// rhythm learned from the feed (kept as it was when the feed has too few dates).
    pub fn record_entries(
        &self,
        source: &str,
        new_entry_at: Option<Millis>,
        rhythm: Option<(i64, Millis)>,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached(
                "UPDATE source_state SET
                 last_new_entry_at = COALESCE(?2, last_new_entry_at),
                 entry_gap_ms = COALESCE(?3, entry_gap_ms),
                 newest_entry_at = COALESCE(?4, newest_entry_at)
             WHERE source = ?1",
            )?
            .execute(params![
                source,
                new_entry_at,
                rhythm.map(|(gap, _)| gap),
                rhythm.map(|(_, newest)| newest)
            ])?;
        Ok(())
    }

    pub fn record_next_poll(&self, source: &str, at: Millis) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection
            .prepare_cached("UPDATE source_state SET next_poll_at = ?2 WHERE source = ?1")?
            .execute(params![source, at])?;
        Ok(())
    }

    pub fn source_health(&self, source: &str) -> Result<Option<SourceHealth>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(&format!(
            "SELECT {HEALTH_COLUMNS} FROM source_state WHERE source = ?1"
        ))?;
        let mut health = statement
            .query_row(params![source], health_row)
            .optional()?;
        if health.is_none()
            && self
                .unrecorded
                .lock()
                .is_ok_and(|u| u.failures.contains_key(source))
        {
            health = Some(SourceHealth {
                source: source.to_string(),
                ..SourceHealth::default()
            });
        }
        if let Some(health) = &mut health {
            self.with_unrecorded(
                source,
                &mut health.consecutive_failures,
                &mut health.last_error,
            );
        }
        Ok(health)
    }

    /// Every source the database knows, by name (also sources no longer configured).
    pub fn all_source_health(&self) -> Result<Vec<SourceHealth>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare(&format!(
            "SELECT {HEALTH_COLUMNS} FROM source_state ORDER BY source"
        ))?;
        let rows = statement.query_map([], health_row)?;
        let mut all = rows.collect::<Result<Vec<_>, _>>()?;
        for health in &mut all {
            self.with_unrecorded(
                &health.source,
                &mut health.consecutive_failures,
                &mut health.last_error,
            );
        }
        Ok(all)
    }

    /// Marks the source unhealthy and creates the message `build` returns, atomically — once per
    /// episode: returns false (and creates nothing) if it is already marked.
    pub fn mark_unhealthy(
        &self,
        source: &str,
        now: Millis,
        build: impl FnOnce() -> Option<HealthAlert>,
    ) -> Result<bool, StoreError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction()?;
        let changed = transaction
            .prepare_cached(
                "UPDATE source_state SET unhealthy_since = ?2
             WHERE source = ?1 AND unhealthy_since IS NULL",
            )?
            .execute(params![source, now])?;
        if changed == 0 {
            return Ok(false);
        }
        if let Some(alert) = build() {
            insert_health_alert(&transaction, source, &alert, now)?;
        }
        transaction.commit()?;
        Ok(true)
    }

    /// Clears the unhealthy mark and creates the message `build` returns (given when the
    /// episode began), atomically; false if the source was not marked.
    pub fn mark_recovered(
        &self,
        source: &str,
        now: Millis,
        build: impl FnOnce(Millis) -> Option<HealthAlert>,
    ) -> Result<bool, StoreError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction()?;
        let since: Option<Millis> = transaction
            .prepare_cached("SELECT unhealthy_since FROM source_state WHERE source = ?1")?
            .query_row(params![source], |row| row.get(0))
            .optional()?
            .flatten();
        let Some(since) = since else {
            return Ok(false);
        };
        transaction
            .prepare_cached("UPDATE source_state SET unhealthy_since = NULL WHERE source = ?1")?
            .execute(params![source])?;
        if let Some(alert) = build(since) {
            insert_health_alert(&transaction, source, &alert, now)?;
        }
        transaction.commit()?;
        Ok(true)
    }
}

const HEALTH_COLUMNS: &str = "source, last_polled_at, last_success_at, consecutive_failures,
    last_error, last_new_entry_at, entry_gap_ms, newest_entry_at, next_poll_at, unhealthy_since";

fn health_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SourceHealth> {
    Ok(SourceHealth {
        source: row.get(0)?,
        last_polled_at: row.get(1)?,
        last_success_at: row.get(2)?,
        consecutive_failures: row.get(3)?,
        last_error: row.get(4)?,
        last_new_entry_at: row.get(5)?,
        entry_gap_ms: row.get(6)?,
        newest_entry_at: row.get(7)?,
        next_poll_at: row.get(8)?,
        unhealthy_since: row.get(9)?,
    })
}

/// A health message goes into the same tables as a match, so the outbox delivers it durably.
/// It belongs to no watchlist (an empty name no configured watchlist can have) and its
/// `article_url` is a key unique to the source and episode.
fn insert_health_alert(
    transaction: &rusqlite::Transaction<'_>,
    source: &str,
    alert: &HealthAlert,
    now: Millis,
) -> Result<(), StoreError> {
    let inserted = transaction
        .prepare_cached(
            "INSERT OR IGNORE INTO alerts (id, watchlist, article_url, source, created_at, payload, kind)
         VALUES (?1, '', ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            alert.id,
            format!("source-health:{}", alert.id),
            source,
            now,
            alert.payload,
            alert.kind
        ])?;
    if inserted > 0 {
        for sink in &alert.sinks {
            transaction
                .prepare_cached(
                    "INSERT OR IGNORE INTO deliveries (alert_id, sink, next_attempt_at) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![alert.id, sink, now])?;
        }
    }
    Ok(())
}
