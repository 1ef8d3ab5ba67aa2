//! Tests of the SQLite store: migrations, the commit transaction, outbox bookkeeping, start-up
//! checks.

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

#[test]
fn health_messages_once_per_episode() {
    let store = SqliteStore::open_in_memory().unwrap();
    let message = |id: &str, kind| HealthAlert {
        id: id.to_string(),
        kind,
        payload: "{}".to_string(),
        sinks: vec!["ops".to_string()],
    };
    store.record_poll_failure("s", "timeout", 1).unwrap();
    assert!(store
        .mark_unhealthy("s", 5, || Some(message("u1", "source.unhealthy")))
        .unwrap());
    assert!(!store
        .mark_unhealthy("s", 6, || Some(message("u2", "source.unhealthy")))
        .unwrap());
    assert_eq!(
        store.source_health("s").unwrap().unwrap().unhealthy_since,
        Some(5)
    );
    assert!(store
        .mark_recovered("s", 9, |since| Some(message(
            &format!("r{since}"),
            "source.recovered"
        )))
        .unwrap());
    assert!(!store.mark_recovered("s", 10, |_| None).unwrap());
    let ids: Vec<String> = store
        .due_deliveries("ops", 100, 10)
        .unwrap()
        .into_iter()
        .map(|row| row.alert_id)
        .collect();
    assert_eq!(ids, vec!["u1", "r5"]);
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

#[test]
fn one_alert_per_watchlist_and_article_ever() {
    let store = SqliteStore::open_in_memory().unwrap();
    let created = store
        .commit_entry(
            "s",
            "e1",
            None,
            &[alert("a1", "w", "https://x/1", &["hook", "log"])],
            10,
        )
        .unwrap();
    assert_eq!(created, vec!["a1"]);
    assert!(store.is_seen("s", "e1").unwrap());
    // the same article through another source and entry raises nothing new
    let created = store
        .commit_entry(
            "t",
            "e9",
            None,
            &[alert("a2", "w", "https://x/1", &["hook"])],
            11,
        )
        .unwrap();
    assert!(created.is_empty());
    assert!(store.is_seen("t", "e9").unwrap());
    assert_eq!(store.outbox_counts().unwrap().pending, 2);
}

#[test]
fn near_duplicate_stories_alert_once_per_watchlist() {
    let store = SqliteStore::open_in_memory().unwrap();
    let story = 0x0123_4567_89ab_cdefu64;
    let with = |id: &str, watchlist: &str, url: &str, fingerprint: u64| NewAlert {
        fingerprint: Some(fingerprint),
        ..alert(id, watchlist, url, &["hook"])
    };
    let created = store
        .commit_entry(
            "afp",
            "1",
            None,
            &[with("a1", "w", "https://a/1", story)],
            1_000,
        )
        .unwrap();
    assert_eq!(created, vec!["a1"]);
    // the same story elsewhere, 3 bits off: linked, not alerted, listed in the payload
    let created = store
        .commit_entry(
            "reuters",
            "2",
            None,
            &[with("a2", "w", "https://b/2", story ^ 0b1011)],
            2_000,
        )
        .unwrap();
    assert!(created.is_empty());
    assert_eq!(
        store.story_links("a1").unwrap(),
        vec![("s".to_string(), "https://b/2".to_string())]
    );
    let payload = &store.due_deliveries("hook", 3_000, 10).unwrap()[0].payload;
    let json: serde_json::Value = serde_json::from_str(payload).unwrap();
    assert_eq!(json["also_seen"][0]["url"], "https://b/2");
    // another watchlist still gets its own alert; a different story does too
    let created = store
        .commit_entry(
            "reuters",
            "2",
            None,
            &[with("a3", "v", "https://b/2", story ^ 0b1011)],
            2_000,
        )
        .unwrap();
    assert_eq!(created, vec!["a3"]);
    let created = store
        .commit_entry(
            "afp",
            "3",
            None,
            &[with("a4", "w", "https://a/3", !story)],
            2_500,
        )
        .unwrap();
    assert_eq!(created, vec!["a4"]);
    // once an attempt was made, the payload no longer changes, but the link is kept
    store.mark_retry("a1", "hook", 9_000, "503").unwrap();
    store
        .commit_entry(
            "bbc",
            "4",
            None,
            &[with("a5", "w", "https://c/4", story ^ 1)],
            3_000,
        )
        .unwrap();
    let links = store.story_links("a1").unwrap();
    assert_eq!(links.len(), 2);
    let due = store.due_deliveries("hook", 9_000, 10).unwrap();
    let first = due
        .iter()
        .find(|delivery| delivery.alert_id == "a1")
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&first.payload).unwrap();
    assert_eq!(json["also_seen"].as_array().unwrap().len(), 1);
    // outside the story window, the story alerts again
    let later = 3_000 + STORY_WINDOW + 1;
    let created = store
        .commit_entry(
            "afp",
            "5",
            None,
            &[with("a6", "w", "https://a/5", story)],
            later,
        )
        .unwrap();
    assert_eq!(created, vec!["a6"]);
}

#[test]
fn delivery_lifecycle() {
    let store = SqliteStore::open_in_memory().unwrap();
    store
        .commit_entry("s", "e1", None, &[alert("a1", "w", "u1", &["hook"])], 100)
        .unwrap();
    store
        .commit_entry("s", "e2", None, &[alert("a2", "w", "u2", &["hook"])], 101)
        .unwrap();
    let due = store.due_deliveries("hook", 100, 10).unwrap();
    assert_eq!(due.len(), 1);
    store.mark_retry("a1", "hook", 5_000, "503").unwrap();
    assert_eq!(
        store.due_deliveries("hook", 200, 10).unwrap()[0].alert_id,
        "a2"
    );
    store.mark_delivered("a2", "hook", 300).unwrap();
    assert_eq!(store.next_due("hook").unwrap(), Some(5_000));
    let due = store.due_deliveries("hook", 5_000, 10).unwrap();
    assert_eq!((due[0].alert_id.as_str(), due[0].attempts), ("a1", 1));
    store.mark_dead("a1", "hook", "410").unwrap();
    assert_eq!(store.next_due("hook").unwrap(), None);
    let counts = store.outbox_counts().unwrap();
    assert_eq!((counts.pending, counts.delivered, counts.dead), (0, 1, 1));
}

#[test]
fn websub_subscription_and_inbox() {
    let store = SqliteStore::open_in_memory().unwrap();
    let fresh = |n: &str| {
        let n = n.to_string();
        move || (format!("id-{n}"), format!("secret-{n}"))
    };
    assert!(store
        .websub_advertised("s", "https://hub/", "https://t/", fresh("1"))
        .unwrap());
    // the same hub and topic keep the subscription (and its secret)
    assert!(!store
        .websub_advertised("s", "https://hub/", "https://t/", fresh("2"))
        .unwrap());
    store
        .websub_requested("s", "https://me/websub/id-1", 5)
        .unwrap();
    store.websub_request_result("s", Some("HTTP 503")).unwrap();
    store
        .websub_requested("s", "https://me/websub/id-1", 8)
        .unwrap();
    store.websub_request_result("s", None).unwrap();
    store.websub_unanswered("s").unwrap();
    store
        .websub_requested("s", "https://me/websub/id-1", 10)
        .unwrap();
    store.websub_request_result("s", None).unwrap();
    let subscription = store.websub_subscription("s").unwrap().unwrap();
    assert_eq!(
        (subscription.facts.failures, subscription.facts.accepted),
        (2, true)
    );
    assert_eq!(subscription.secret.expose(), "secret-1");
    assert_eq!(
        subscription.callback.as_deref(),
        Some("https://me/websub/id-1")
    );
    store.websub_verified("id-1", 20, 4_020).unwrap();
    let subscription = store.websub_by_callback("id-1").unwrap().unwrap();
    assert_eq!(
        subscription.facts,
        crate::websub::Facts {
            requested_at: Some(10),
            accepted: true,
            failures: 0,
            verified_at: Some(20),
            expires_at: Some(4_020),
            denied_at: None,
        }
    );
    store.websub_denied("id-1", 30, "topic not found").unwrap();
    let subscription = store.websub_subscription("s").unwrap().unwrap();
    assert_eq!(
        (subscription.facts.expires_at, subscription.facts.denied_at),
        (None, Some(30))
    );
    assert_eq!(subscription.last_error.as_deref(), Some("topic not found"));
    // a new hub: a new subscription, the old callback is unknown from now on
    assert!(store
        .websub_advertised("s", "https://hub2/", "https://t/", fresh("3"))
        .unwrap());
    assert!(store.websub_by_callback("id-1").unwrap().is_none());
    assert_eq!(
        store.websub_subscription("s").unwrap().unwrap().facts,
        crate::websub::Facts::default()
    );
    // the inbox is first in, first out, and bounded
    assert!(store.websub_enqueue("s", None, b"one", 1, 2).unwrap());
    assert!(store
        .websub_enqueue("s", Some("application/atom+xml"), b"two", 2, 2)
        .unwrap());
    assert!(!store.websub_enqueue("s", None, b"three", 3, 2).unwrap());
    let first = store.websub_next_pushed().unwrap().unwrap();
    assert_eq!(first.body, b"one");
    store.websub_pushed_done(first.id).unwrap();
    assert_eq!(store.websub_next_pushed().unwrap().unwrap().body, b"two");
    assert!(store.websub_forget("s").unwrap());
    assert!(!store.websub_forget("s").unwrap());
    assert!(store.websub_subscription("s").unwrap().is_none());
}

#[test]
fn digests_bundle_a_closed_window_and_settle_as_one() {
    let store = SqliteStore::open_in_memory().unwrap();
    for (index, at) in [(1, 1_000), (2, 1_500), (3, 2_500)] {
        store
            .commit_entry(
                "s",
                &format!("e{index}"),
                None,
                &[alert(
                    &format!("a{index}"),
                    "w",
                    &format!("u{index}"),
                    &["d"],
                )],
                at,
            )
            .unwrap();
    }
    let name = |members: &[String]| format!("dig:{}", members.join("+"));
    // the window opened with the first alert
    assert_eq!(store.digest_window_end("d", 1_000).unwrap(), Some(2_000));
    assert_eq!(store.next_digest_due("d", 1_000).unwrap(), Some(2_000));
    // matches are never sent one by one on a digest sink
    assert!(store.due_undigested("d", 9_000, 10).unwrap().is_empty());
    let id = store.form_digest("d", 2_000, 100, 2_000, name).unwrap();
    assert_eq!(id.as_deref(), Some("dig:a1+a2"));
    assert_eq!(
        store.form_digest("d", 2_000, 100, 2_000, name).unwrap(),
        None
    );
    assert_eq!(store.due_digests("d", 2_000).unwrap(), vec!["dig:a1+a2"]);
    // a failed attempt keeps the members together; the next window starts at a3
    store
        .settle_digest(
            "d",
            "dig:a1+a2",
            Settlement::Retry {
                next_attempt_at: 5_000,
                error: "503",
            },
        )
        .unwrap();
    assert_eq!(store.next_digest_due("d", 1_000).unwrap(), Some(3_500));
    assert!(store.due_digests("d", 4_999).unwrap().is_empty());
    let members = store.digest_members("d", "dig:a1+a2").unwrap();
    assert_eq!(
        members
            .iter()
            .map(|member| (member.alert_id.as_str(), member.attempts))
            .collect::<Vec<_>>(),
        vec![("a1", 1), ("a2", 1)]
    );
    store
        .settle_digest("d", "dig:a1+a2", Settlement::Delivered { now: 5_000 })
        .unwrap();
    let rows = store.list_alerts(false, 0, 10).unwrap();
    let delivered: Vec<(&str, &str, Option<&str>)> = rows
        .iter()
        .map(|row| {
            (
                row.alert_id.as_str(),
                row.state.as_str(),
                row.digest_id.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        delivered,
        vec![
            ("a3", "pending", None),
            ("a2", "delivered", Some("dig:a1+a2")),
            ("a1", "delivered", Some("dig:a1+a2")),
        ]
    );
    // a replayed alert is bundled afresh
    store.requeue_alert("a1", 6_000).unwrap();
    assert_eq!(store.digest_window_end("d", 1_000).unwrap(), Some(3_500));
    let id = store.form_digest("d", 7_000, 100, 7_000, name).unwrap();
    assert_eq!(id.as_deref(), Some("dig:a1+a3"));
}

#[test]
fn validators_round_trip_verbatim() {
    let store = SqliteStore::open_in_memory().unwrap();
    assert_eq!(store.validators("s").unwrap(), Validators::default());
    let validators = Validators {
        etag: Some("W/\"abc\"".to_string()),
        last_modified: Some("Tue, 14 May 2024 10:05:00 GMT".to_string()),
    };
    store
        .record_poll_success("s", Some(&validators), 1)
        .unwrap();
    assert_eq!(store.record_poll_failure("s", "timeout", 2).unwrap(), 1);
    assert_eq!(store.record_poll_failure("s", "timeout", 3).unwrap(), 2);
    store.record_poll_success("s", None, 4).unwrap();
    assert_eq!(store.validators("s").unwrap(), validators);
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
