//! Seen entries and the commit transaction: an entry is marked seen together with its alerts,
//! their outbox rows and their story fingerprints, so an alert is created exactly once. Near-
//! duplicate stories link to the first alert instead of alerting again. It does not compute
//! fingerprints (see `similarity`).

use rusqlite::{params, OptionalExtension};

use super::SqliteStore;
use crate::store::{ArchivedArticle, Millis, NewAlert, StoreError, STORY_WINDOW};

impl SqliteStore {
    pub fn is_seen(&self, source: &str, entry_key: &str) -> Result<bool, StoreError> {
        let connection = self.lock()?;
        let found = connection
            .prepare_cached("SELECT 1 FROM seen_entries WHERE source = ?1 AND entry_key = ?2")?
            .query_row(params![source, entry_key], |_| Ok(()))
            .optional()?;
        Ok(found.is_some())
    }

    /// Whether this watchlist already alerted on this article (from any source).
    pub fn has_alert(&self, watchlist: &str, article_url: &str) -> Result<bool, StoreError> {
        let connection = self.lock()?;
        let found = connection
            .prepare_cached("SELECT 1 FROM alerts WHERE watchlist = ?1 AND article_url = ?2")?
            .query_row(params![watchlist, article_url], |_| Ok(()))
            .optional()?;
        Ok(found.is_some())
    }

    /// Marks many entries seen in one transaction (entries that raise no alert, such as those
    /// older than `max_age`): one commit instead of one per entry.
    pub fn commit_seen(
        &self,
        source: &str,
        entries: &[(&str, Option<&str>)],
        now: Millis,
    ) -> Result<(), StoreError> {
        let result = self.write_seen(source, entries, now);
        self.note(&result);
        result
    }

    fn write_seen(
        &self,
        source: &str,
        entries: &[(&str, Option<&str>)],
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction()?;
        {
            let mut insert = transaction.prepare_cached(
                "INSERT OR IGNORE INTO seen_entries (source, entry_key, url, seen_at, listed_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            )?;
            for (key, url) in entries {
                insert.execute(params![source, key, url, now])?;
            }
        }
        transaction.commit()?;
        Ok(())
    }

    /// Marks the entry seen and creates its alerts with one outbox row per sink — atomically.
    /// An alert whose (watchlist, article) pair exists already is skipped: at most one alert per
    /// watchlist and article, ever. An alert whose body is a near-duplicate of one this watchlist
    /// raised within [`STORY_WINDOW`] is not created either: the article is linked to the first
    /// alert instead, and listed in its payload's `also_seen` while no attempt was made yet.
    /// Checking inside the transaction makes concurrent polls see each other's stories.
    /// Returns the ids of the alerts actually created.
    pub fn commit_entry(
        &self,
        source: &str,
        entry_key: &str,
        entry_url: Option<&str>,
        alerts: &[NewAlert],
        now: Millis,
    ) -> Result<Vec<String>, StoreError> {
        self.commit_processed(source, entry_key, entry_url, alerts, None, now)
    }

    /// As [`SqliteStore::commit_entry`], archiving the processed article in the same
    /// transaction: an article is archived if and only if its entry was marked seen.
    pub fn commit_processed(
        &self,
        source: &str,
        entry_key: &str,
        entry_url: Option<&str>,
        alerts: &[NewAlert],
        archived: Option<&ArchivedArticle>,
        now: Millis,
    ) -> Result<Vec<String>, StoreError> {
        let result = self.write_entry(source, entry_key, entry_url, alerts, archived, now);
        self.note(&result);
        result
    }

    /// Creates alerts found outside a poll (a backfill over the archive) with the same rules
    /// as [`SqliteStore::commit_entry`] — one per watchlist and article, near-duplicates
    /// linked — without marking any entry seen. The ids of the alerts actually created.
    pub fn commit_alerts(
        &self,
        alerts: &[NewAlert],
        now: Millis,
    ) -> Result<Vec<String>, StoreError> {
        let result = (|| {
            let mut connection = self.lock()?;
            let transaction = connection.transaction()?;
            let created = insert_alerts(&transaction, alerts, now)?;
            transaction.commit()?;
            Ok(created)
        })();
        self.note(&result);
        result
    }

    /// Counts a failed write (the poll's own bookkeeping decides whether it is cleared).
    fn note<T>(&self, result: &Result<T, StoreError>) {
        if let (Err(error), Ok(mut unrecorded)) = (result, self.unrecorded.lock()) {
            unrecorded.note(error);
        }
    }

    fn write_entry(
        &self,
        source: &str,
        entry_key: &str,
        entry_url: Option<&str>,
        alerts: &[NewAlert],
        archived: Option<&ArchivedArticle>,
        now: Millis,
    ) -> Result<Vec<String>, StoreError> {
        let mut connection = self.lock()?;
        let transaction = connection.transaction()?;
        transaction
            .prepare_cached(
                "INSERT OR IGNORE INTO seen_entries (source, entry_key, url, seen_at, listed_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            )?
            .execute(params![source, entry_key, entry_url, now])?;
        if let Some(archived) = archived {
            super::archive::insert(&transaction, archived)?;
        }
        let created = insert_alerts(&transaction, alerts, now)?;
        transaction.commit()?;
        Ok(created)
    }

    /// Where else the story of this alert was seen (near-duplicates from other outlets).
    pub fn story_links(&self, alert_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare(
            "SELECT source, url FROM story_links WHERE alert_id = ?1 ORDER BY seen_at, url",
        )?;
        let rows = statement.query_map(params![alert_id], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

/// Inserts alerts with their outbox rows and fingerprints; near-duplicates of a story this
/// watchlist alerted on within the window are linked to it instead. The ids created.
fn insert_alerts(
    transaction: &rusqlite::Transaction<'_>,
    alerts: &[NewAlert],
    now: Millis,
) -> Result<Vec<String>, rusqlite::Error> {
    let mut created = Vec::new();
    for alert in alerts {
        if let Some(fingerprint) = alert.fingerprint {
            if let Some(first) = near_duplicate_of(transaction, &alert.watchlist, fingerprint, now)?
            {
                if first != alert.id {
                    link_story(transaction, &first, alert)?;
                }
                continue;
            }
        }
        let inserted = transaction
            .prepare_cached(
                "INSERT OR IGNORE INTO alerts (id, watchlist, article_url, source, created_at, payload)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                alert.id,
                alert.watchlist,
                alert.article_url,
                alert.source,
                now,
                alert.payload
            ])?;
        if inserted == 0 {
            continue;
        }
        for sink in &alert.sinks {
            transaction
                .prepare_cached(
                    "INSERT OR IGNORE INTO deliveries (alert_id, sink, next_attempt_at) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![alert.id, sink, now])?;
        }
        if let Some(fingerprint) = alert.fingerprint {
            let [b0, b1, b2, b3, b4, b5, b6, b7] = crate::similarity::bands(fingerprint);
            transaction.execute(
                "INSERT OR IGNORE INTO alert_fingerprints
                 (alert_id, watchlist, fingerprint, created_at, b0, b1, b2, b3, b4, b5, b6, b7)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    alert.id,
                    alert.watchlist,
                    fingerprint as i64,
                    now,
                    b0,
                    b1,
                    b2,
                    b3,
                    b4,
                    b5,
                    b6,
                    b7
                ],
            )?;
        }
        created.push(alert.id.clone());
    }
    Ok(created)
}

/// The first alert of `watchlist` within the story window whose fingerprint is near this one.
fn near_duplicate_of(
    transaction: &rusqlite::Transaction<'_>,
    watchlist: &str,
    fingerprint: u64,
    now: Millis,
) -> Result<Option<String>, rusqlite::Error> {
    let [b0, b1, b2, b3, b4, b5, b6, b7] = crate::similarity::bands(fingerprint);
    let mut statement = transaction.prepare_cached(
        "SELECT alert_id, fingerprint FROM alert_fingerprints
         WHERE watchlist = ?1 AND created_at >= ?2
           AND (b0 = ?3 OR b1 = ?4 OR b2 = ?5 OR b3 = ?6 OR b4 = ?7 OR b5 = ?8 OR b6 = ?9 OR b7 = ?10)
         ORDER BY created_at, alert_id",
    )?;
    let candidates = statement.query_map(
        params![
            watchlist,
            now - STORY_WINDOW,
            b0,
            b1,
            b2,
            b3,
            b4,
            b5,
            b6,
            b7
        ],
        |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)),
    )?;
    for candidate in candidates {
        let (alert_id, other) = candidate?;
        if crate::similarity::is_near_duplicate(fingerprint, other as u64) {
            return Ok(Some(alert_id));
        }
    }
    Ok(None)
}

/// Records that `alert`'s article is the story of `first`, and lists it in `first`'s payload
/// while no delivery attempt has been made (every attempt must send the same bytes).
fn link_story(
    transaction: &rusqlite::Transaction<'_>,
    first: &str,
    alert: &NewAlert,
) -> Result<(), rusqlite::Error> {
    let inserted = transaction.execute(
        "INSERT OR IGNORE INTO story_links (alert_id, url, source, title, seen_at)
         VALUES (?1, ?2, ?3, ?4, strftime('%s','now') * 1000)",
        params![first, alert.article_url, alert.source, alert.title],
    )?;
    if inserted == 0 {
        return Ok(());
    }
    let link = serde_json::json!({ "url": alert.article_url, "source": alert.source, "title": alert.title }).to_string();
    transaction.execute(
        "UPDATE alerts SET payload = json_set(payload, '$.also_seen',
             json_insert(COALESCE(json_extract(payload, '$.also_seen'), json('[]')), '$[#]', json(?2)))
         WHERE id = ?1 AND NOT EXISTS (
             SELECT 1 FROM deliveries WHERE alert_id = ?1 AND (state != 'pending' OR attempts > 0))",
        params![first, link],
    )?;
    Ok(())
}
