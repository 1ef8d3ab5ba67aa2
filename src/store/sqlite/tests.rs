//! Tests of what only the SQLite backend has: migrations of older files, start-up checks,
//! failed writes kept in memory, per-recipient progress. What every backend must do (seen marks,
//! alert uniqueness, the outbox, digests, health episodes, WebSub rows) is in
//! `store/conformance`, which runs each case on SQLite as well as on PostgreSQL.

use super::schema::{MIGRATIONS, SCHEMA, SCHEMA_VERSION};
use super::SqliteStore;
use crate::store::*;
use rusqlite::Connection;

/// Regression (issue 16, defect 5): a poll whose result the database refused was reported
/// healthy, because the failure could not be recorded. It is now counted in memory.
#[test]
fn store_write_failure_is_kept_in_memory() {
    let store = SqliteStore::open_in_memory().unwrap();
    store.record_poll_success("a", None, 1).unwrap();
    store.make_read_only();
    assert_eq!(store.write_problem(), None);
    assert!(store.record_poll_success("a", None, 2).is_err());
    assert!(store.record_poll_failure("a", "timed out", 3).is_err());
    assert!(store.record_poll_failure("a", "refused", 4).is_err());
    assert!(store.record_poll_failure("b", "refused", 4).is_err());
    let health = store.source_health("a").unwrap().unwrap();
    assert_eq!(
        (health.consecutive_failures, health.last_error.as_deref()),
        (2, Some("refused"))
    );
    let states = store.source_states().unwrap();
    let failures: Vec<(&str, u32)> = states
        .iter()
        .map(|state| (state.source.as_str(), state.consecutive_failures))
        .collect();
    assert_eq!(failures, [("a", 2), ("b", 1)]);
    assert!(
        store.write_problem().unwrap().contains("readonly"),
        "{:?}",
        store.write_problem()
    );
    assert_eq!(store.write_failures(), 4);
}

/// Regression (issue 16, defect 6): a database from a newer wirewatch was used silently.
#[test]
fn database_from_a_newer_wirewatch_is_refused() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("new.db");
    drop(SqliteStore::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    let error = SqliteStore::open(&path).err().unwrap().to_string();
    assert!(error.contains("schema version 999"), "{error}");
    assert!(
        error.contains(&format!("knows versions up to {SCHEMA_VERSION}")),
        "{error}"
    );
    assert!(error.contains("downgrades are not supported"), "{error}");
}

#[test]
fn version_one_database_is_migrated() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("old.db");
    {
        let connection = Connection::open(&path).unwrap();
        connection.execute_batch(SCHEMA).unwrap();
        connection.pragma_update(None, "user_version", 1).unwrap();
        connection
                .execute(
                    "INSERT INTO source_state (source, etag, consecutive_failures) VALUES ('s', '\"x\"', 2)",
                    [],
                )
                .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.validators("s").unwrap().etag.as_deref(),
        Some("\"x\"")
    );
    let health = store.source_health("s").unwrap().unwrap();
    assert_eq!(
        (health.consecutive_failures, health.unhealthy_since),
        (2, None)
    );
    drop(store);
    // opening again is a no-op
    let store = SqliteStore::open(&path).unwrap();
    assert!(store.source_health("s").unwrap().is_some());
}

#[test]
fn concurrent_first_opens_agree_on_the_schema() {
    // regression: a second process opening a new database while the first was migrating
    // it set the version back, and every later open failed with "duplicate column name"
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("race.db");
    let openers: Vec<_> = (0..6)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || SqliteStore::open(&path).map(|_| ()))
        })
        .collect();
    for opener in openers {
        opener.join().unwrap().unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.outbox_counts().unwrap(), OutboxCounts::default());
    let connection = store.lock().unwrap();
    let version: i64 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, MIGRATIONS.last().unwrap().0);
}

fn alert(id: &str, watchlist: &str, url: &str, sinks: &[&str]) -> NewAlert {
    NewAlert {
        id: id.to_string(),
        fingerprint: None,
        title: format!("title of {id}"),
        watchlist: watchlist.to_string(),
        article_url: url.to_string(),
        source: "s".to_string(),
        payload: format!("{{\"id\":\"{id}\"}}"),
        sinks: sinks.iter().map(|s| s.to_string()).collect(),
    }
}

/// Issue 18: the story tables were created outside the numbered steps on every open; they are
/// step 5 now. A version-4 database as the previous release left it (story tables present,
/// rows in them) upgrades keeping its rows; one without them (an older release's) gains them.
#[test]
fn version_four_database_takes_the_story_step() {
    let folder = tempfile::tempdir().unwrap();
    for with_story_tables in [true, false] {
        let path = folder.path().join(format!("v4-{with_story_tables}.db"));
        {
            let connection = Connection::open(&path).unwrap();
            connection.execute_batch(SCHEMA).unwrap();
            for (version, step) in MIGRATIONS.iter().filter(|(version, _)| *version <= 4) {
                connection.execute_batch(step).unwrap();
                connection
                    .pragma_update(None, "user_version", version)
                    .unwrap();
            }
            if with_story_tables {
                let (_, story) = MIGRATIONS
                    .iter()
                    .find(|(version, _)| *version == 5)
                    .unwrap();
                connection.execute_batch(story).unwrap();
                connection
                    .execute_batch(
                        "INSERT INTO alerts (id, watchlist, article_url, source, created_at, payload)
                         VALUES ('a1', 'w', 'https://x/1', 's', 1, '{}');
                         INSERT INTO story_links (alert_id, url, source, title, seen_at)
                         VALUES ('a1', 'https://y/1', 't', 'Title', 2);",
                    )
                    .unwrap();
            }
        }
        let store = SqliteStore::open(&path).unwrap();
        let version: i64 = store
            .lock()
            .unwrap()
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let links = store.story_links("a1").unwrap();
        if with_story_tables {
            assert_eq!(links, [("t".to_string(), "https://y/1".to_string())]);
        } else {
            assert!(links.is_empty());
        }
        let alert = alert("a2", "w", "https://x/2", &["log"]);
        let alert = NewAlert {
            fingerprint: Some(7),
            ..alert
        };
        assert_eq!(
            store.commit_entry("s", "k", None, &[alert], 3).unwrap(),
            ["a2"]
        );
    }
}

/// Regression (issue 17): per-recipient progress survives until forgotten, per sink and unit.
#[test]
fn recipient_progress_is_kept_per_sink_and_unit_until_forgotten() {
    let store = SqliteStore::open_in_memory().unwrap();
    store
        .mark_recipient_done("bot", "msg_1", "-1001", 1)
        .unwrap();
    store
        .mark_recipient_done("bot", "msg_1", "-1001", 2)
        .unwrap();
    store
        .mark_recipient_done("bot", "msg_1", "-1002", 3)
        .unwrap();
    store
        .mark_recipient_done("other", "msg_1", "-1003", 3)
        .unwrap();
    let mut done = store.recipients_done("bot", "msg_1").unwrap();
    done.sort();
    assert_eq!(done, ["-1001", "-1002"]);
    assert!(store.recipients_done("bot", "msg_2").unwrap().is_empty());
    store.forget_recipients("bot", "msg_1").unwrap();
    assert!(store.recipients_done("bot", "msg_1").unwrap().is_empty());
    assert_eq!(store.recipients_done("other", "msg_1").unwrap(), ["-1003"]);
}
