//! `migrate-store` end to end at the store level: a SQLite file holding every kind of row is
//! copied into a fresh PostgreSQL database, and every read of the store interface answers the
//! same on both; a database with rows is refused.

use super::*;
use crate::store::{HealthAlert, NewAlert, Settlement, Store, Validators};
use crate::testing::TestDatabase;

/// Every SQLite table is in the list, with the same columns (a schema step that adds a table
/// or a column must add it here too, or `migrate-store` would leave it behind).
#[test]
fn the_list_names_every_sqlite_table_and_column() {
    let store = SqliteStore::open_in_memory().unwrap();
    assert_eq!(store.tables_not_in(TABLES).unwrap(), Vec::<String>::new());
    assert_eq!(
        store.tables_not_in(&TABLES[1..]).unwrap(),
        vec!["source_state".to_string()]
    );
    for table in TABLES {
        let listed: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
        assert_eq!(store.columns(table.name).unwrap(), listed, "{}", table.name);
    }
}

fn alert(id: &str, watchlist: &str, url: &str, fingerprint: Option<u64>) -> NewAlert {
    NewAlert {
        id: id.to_string(),
        fingerprint,
        title: format!("title of {id}"),
        watchlist: watchlist.to_string(),
        article_url: url.to_string(),
        source: "s".to_string(),
        payload: format!("{{\"id\":\"{id}\",\"type\":\"article.matched\"}}"),
        sinks: vec!["hook".to_string(), "chat".to_string()],
    }
}

/// A state with a row in every table: seen entries, validators and health, alerts in every
/// delivery state, a digest, a story, recipient progress, a WebSub subscription and a push.
async fn fill(store: &Store) {
    let archived = crate::store::ArchivedArticle {
        id: "art_1".to_string(),
        source: "s".to_string(),
        url: "https://a/archived".to_string(),
        fetched_url: "https://a/archived?from=feed".to_string(),
        title: "archived".to_string(),
        language: Some("en".to_string()),
        processed_at: 1_500,
        record: vec![0, 1, 2, 255],
    };
    store
        .commit_processed("s", "archived-1", None, &[], Some(&archived), 1_500)
        .await
        .unwrap();
    store.record_backfill("w", "hash1", 1_600).await.unwrap();
    let validators = Validators {
        etag: Some("\"v1\"".to_string()),
        last_modified: Some("Tue, 01 Dec 2026 10:00:00 GMT".to_string()),
    };
    store
        .record_poll_success("s", Some(&validators), 1_000)
        .await
        .unwrap();
    store
        .record_entries("s", Some(1_000), Some((60_000, 900)))
        .await
        .unwrap();
    store.record_next_poll("s", 61_000).await.unwrap();
    store
        .commit_seen(
            "s",
            &[("old-1", Some("https://a/old")), ("old-2", None)],
            1_000,
        )
        .await
        .unwrap();
    let story = 0x0123_4567_89ab_cdefu64;
    for (key, id, url) in [("1", "a1", "https://a/1"), ("2", "a2", "https://a/2")] {
        store
            .commit_entry("s", key, Some(url), &[alert(id, "w", url, None)], 2_000)
            .await
            .unwrap();
    }
    store
        .commit_entry(
            "s",
            "3",
            None,
            &[alert("a3", "w", "https://a/3", Some(story))],
            2_000,
        )
        .await
        .unwrap();
    // the same story elsewhere: linked to a3, not alerted
    store
        .commit_entry(
            "t",
            "4",
            None,
            &[alert("a4", "w", "https://b/4", Some(story ^ 1))],
            2_500,
        )
        .await
        .unwrap();
    store.mark_delivered("a1", "hook", 3_000).await.unwrap();
    store.mark_retry("a2", "hook", 9_000, "503").await.unwrap();
    store.mark_dead("a3", "hook", "410 Gone").await.unwrap();
    store
        .mark_recipient_done("chat", "a1", "room-1", 3_000)
        .await
        .unwrap();
    let digest = store
        .form_digest("chat", 5_000, 100, 5_000, |members| members.join("+"))
        .await
        .unwrap()
        .unwrap();
    store
        .settle_digest(
            "chat",
            &digest,
            Settlement::Retry {
                next_attempt_at: 8_000,
                error: "429",
            },
        )
        .await
        .unwrap();
    store
        .record_poll_failure("t", "timeout", 4_000)
        .await
        .unwrap();
    store
        .mark_unhealthy("t", 4_000, || {
            Some(HealthAlert {
                id: "u1".to_string(),
                kind: "source.unhealthy",
                payload: "{\"type\":\"source.unhealthy\"}".to_string(),
                sinks: vec!["hook".to_string()],
            })
        })
        .await
        .unwrap();
    store
        .websub_advertised("s", "https://hub/", "https://t/", || {
            ("callback-1".to_string(), "secret-1".to_string())
        })
        .await
        .unwrap();
    store
        .websub_requested("s", "https://me/websub/callback-1", 5_000)
        .await
        .unwrap();
    store.websub_request_result("s", None).await.unwrap();
    store
        .websub_verified("callback-1", 6_000, 90_000)
        .await
        .unwrap();
    for body in [&b"one"[..], b"two"] {
        assert!(store
            .websub_enqueue("s", Some("application/atom+xml"), body, 7_000, 10)
            .await
            .unwrap());
    }
    let first = store.websub_next_pushed().await.unwrap().unwrap();
    store.websub_pushed_done(first.id).await.unwrap();
}

/// What the interface reads back, as text: equal on both backends after the copy.
async fn read(store: &Store) -> String {
    let mut text = String::new();
    let mut line = |value: String| {
        text.push_str(&value);
        text.push('\n');
    };
    line(format!("{:?}", store.validators("s").await.unwrap()));
    line(format!("{:?}", store.archived("art_1").await.unwrap()));
    line(format!("{:?}", store.backfilled_query("w").await.unwrap()));
    line(format!("{:?}", store.all_source_health().await.unwrap()));
    for (source, key) in [
        ("s", "old-1"),
        ("s", "old-2"),
        ("s", "1"),
        ("t", "4"),
        ("s", "new"),
    ] {
        line(format!(
            "seen {source} {key}: {}",
            store.is_seen(source, key).await.unwrap()
        ));
    }
    line(format!(
        "{:?}",
        store.list_alerts(false, 0, 100).await.unwrap()
    ));
    line(format!("{:?}", store.outbox_counts().await.unwrap()));
    line(format!("{:?}", store.story_links("a3").await.unwrap()));
    line(format!(
        "{:?}",
        store.recipients_done("chat", "a1").await.unwrap()
    ));
    for sink in ["hook", "chat"] {
        let due: Vec<_> = store
            .due_deliveries(sink, 100_000, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|due| (due.alert_id, due.attempts, due.created_at, due.payload))
            .collect();
        line(format!("due {sink}: {due:?}"));
        line(format!(
            "digests {sink}: {:?}",
            store.due_digests(sink, 100_000).await.unwrap()
        ));
    }
    line(format!(
        "{:?}",
        store.websub_subscription("s").await.unwrap()
    ));
    line(format!("{:?}", store.websub_next_pushed().await.unwrap()));
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_table_moves_to_postgres_unchanged() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("wirewatch.db");
    let sqlite = Store::open(&path).unwrap();
    fill(&sqlite).await;
    let before = read(&sqlite).await;
    drop(sqlite);

    let copied = sqlite_to_postgres(&path, &database.url).await.unwrap();
    assert_eq!(copied.len(), TABLES.len());
    for (table, rows) in &copied {
        assert!(*rows > 0, "nothing copied from {table}: the fill misses it");
    }
    let postgres = Store::connect(&database.url).await.unwrap();
    assert_eq!(read(&postgres).await, before);
    // a push after the move gets an id after the copied ones
    let copied_push = postgres.websub_next_pushed().await.unwrap().unwrap();
    assert!(postgres
        .websub_enqueue("s", None, b"three", 8_000, 10)
        .await
        .unwrap());
    postgres.websub_pushed_done(copied_push.id).await.unwrap();
    let next = postgres.websub_next_pushed().await.unwrap().unwrap();
    assert!(next.id > copied_push.id, "{next:?} {copied_push:?}");
    // and the move is refused once the database holds state
    let error = sqlite_to_postgres(&path, &database.url)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("already holds wirewatch state"), "{error}");
    drop(postgres);
    database.drop_database().await;
}
