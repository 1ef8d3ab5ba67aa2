//! The cases every backend must pass, written once over [`Store`].

use super::*;

pub(super) use super::archive::{archive_rows_page_and_prune, backfill_records_and_alerts};
pub(super) use super::retention::{
    alerts_pruned_after_keep_alerts, database_size_per_table,
    item_listed_again_inside_the_margin_alerts_once, pruning_goes_in_batches,
    seen_entries_pruned_once_unlisted_for_the_margin,
};

pub(super) fn alert(id: &str, watchlist: &str, url: &str, sinks: &[&str]) -> NewAlert {
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

pub(super) async fn seen_marks(store: &Store) {
    assert!(!store.is_seen("s", "e1").await.unwrap());
    store
        .commit_seen("s", &[("e1", Some("https://x/1")), ("e2", None)], 5)
        .await
        .unwrap();
    // marking again is harmless
    store.commit_seen("s", &[("e1", None)], 6).await.unwrap();
    assert!(store.is_seen("s", "e1").await.unwrap());
    assert!(store.is_seen("s", "e2").await.unwrap());
    assert!(!store.is_seen("t", "e1").await.unwrap());
    store.commit_entry("s", "e3", None, &[], 7).await.unwrap();
    assert!(store.is_seen("s", "e3").await.unwrap());
    assert_eq!(
        store.outbox_counts().await.unwrap(),
        OutboxCounts::default()
    );
}

/// Two commits of the same article at the same moment (two sources, two pollers or two
/// instances) create one alert per watchlist: the unique constraint decides, not a check first.
pub(super) async fn concurrent_commits_of_one_article_alert_once(store: &Store) {
    let mut commits = Vec::new();
    for index in 0..8 {
        let store = store.clone();
        commits.push(tokio::spawn(async move {
            let alerts = [
                alert(&format!("w-{index}"), "w", "https://x/same", &["hook"]),
                alert(&format!("v-{index}"), "v", "https://x/same", &["hook"]),
            ];
            store
                .commit_entry(&format!("source{index}"), "entry", None, &alerts, 10)
                .await
                .unwrap()
        }));
    }
    let mut created = Vec::new();
    for commit in commits {
        created.extend(commit.await.unwrap());
    }
    assert_eq!(created.len(), 2, "{created:?}");
    assert!(store.has_alert("w", "https://x/same").await.unwrap());
    assert!(store.has_alert("v", "https://x/same").await.unwrap());
    assert_eq!(store.outbox_counts().await.unwrap().pending, 2);
}

pub(super) async fn health_messages_once_per_episode(store: &Store) {
    let message = |id: &str, kind| HealthAlert {
        id: id.to_string(),
        kind,
        payload: "{}".to_string(),
        sinks: vec!["ops".to_string()],
    };
    store.record_poll_failure("s", "timeout", 1).await.unwrap();
    assert!(store
        .mark_unhealthy("s", 5, || Some(message("u1", "source.unhealthy")))
        .await
        .unwrap());
    assert!(!store
        .mark_unhealthy("s", 6, || Some(message("u2", "source.unhealthy")))
        .await
        .unwrap());
    assert_eq!(
        store
            .source_health("s")
            .await
            .unwrap()
            .unwrap()
            .unhealthy_since,
        Some(5)
    );
    assert!(store
        .mark_recovered("s", 9, |since| Some(message(
            &format!("r{since}"),
            "source.recovered"
        )))
        .await
        .unwrap());
    assert!(!store.mark_recovered("s", 10, |_| None).await.unwrap());
    let ids: Vec<String> = store
        .due_deliveries("ops", 100, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.alert_id)
        .collect();
    assert_eq!(ids, vec!["u1", "r5"]);
}

pub(super) async fn one_alert_per_watchlist_and_article(store: &Store) {
    let created = store
        .commit_entry(
            "s",
            "e1",
            None,
            &[alert("a1", "w", "https://x/1", &["hook", "log"])],
            10,
        )
        .await
        .unwrap();
    assert_eq!(created, vec!["a1"]);
    assert!(store.is_seen("s", "e1").await.unwrap());
    // the same article through another source and entry raises nothing new
    let created = store
        .commit_entry(
            "t",
            "e9",
            None,
            &[alert("a2", "w", "https://x/1", &["hook"])],
            11,
        )
        .await
        .unwrap();
    assert!(created.is_empty());
    assert!(store.is_seen("t", "e9").await.unwrap());
    assert_eq!(store.outbox_counts().await.unwrap().pending, 2);
}

pub(super) async fn near_duplicate_stories_alert_once(store: &Store) {
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
        .await
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
        .await
        .unwrap();
    assert!(created.is_empty());
    assert_eq!(
        store.story_links("a1").await.unwrap(),
        vec![("s".to_string(), "https://b/2".to_string())]
    );
    let payload = &store.due_deliveries("hook", 3_000, 10).await.unwrap()[0].payload;
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
        .await
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
        .await
        .unwrap();
    assert_eq!(created, vec!["a4"]);
    // once an attempt was made, the payload no longer changes, but the link is kept
    store.mark_retry("a1", "hook", 9_000, "503").await.unwrap();
    store
        .commit_entry(
            "bbc",
            "4",
            None,
            &[with("a5", "w", "https://c/4", story ^ 1)],
            3_000,
        )
        .await
        .unwrap();
    let links = store.story_links("a1").await.unwrap();
    assert_eq!(links.len(), 2);
    let due = store.due_deliveries("hook", 9_000, 10).await.unwrap();
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
        .await
        .unwrap();
    assert_eq!(created, vec!["a6"]);
}

pub(super) async fn outbox_due_retry_dead_requeue(store: &Store) {
    store
        .commit_entry("s", "e1", None, &[alert("a1", "w", "u1", &["hook"])], 100)
        .await
        .unwrap();
    store
        .commit_entry("s", "e2", None, &[alert("a2", "w", "u2", &["hook"])], 101)
        .await
        .unwrap();
    let due = store.due_deliveries("hook", 100, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    store.mark_retry("a1", "hook", 5_000, "503").await.unwrap();
    assert_eq!(
        store.due_deliveries("hook", 200, 10).await.unwrap()[0].alert_id,
        "a2"
    );
    store.mark_delivered("a2", "hook", 300).await.unwrap();
    assert_eq!(store.next_due("hook").await.unwrap(), Some(5_000));
    let due = store.due_deliveries("hook", 5_000, 10).await.unwrap();
    assert_eq!((due[0].alert_id.as_str(), due[0].attempts), ("a1", 1));
    store.mark_dead("a1", "hook", "410").await.unwrap();
    assert_eq!(store.next_due("hook").await.unwrap(), None);
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!((counts.pending, counts.delivered, counts.dead), (0, 1, 1));
    let dead = store.list_alerts(true, 0, 10).await.unwrap();
    assert_eq!(
        dead.iter()
            .map(|row| (row.alert_id.as_str(), row.last_error.as_deref()))
            .collect::<Vec<_>>(),
        [("a1", Some("410"))]
    );
    assert_eq!(store.requeue_dead(6_000).await.unwrap(), 1);
    let due = store.due_deliveries("hook", 6_000, 10).await.unwrap();
    assert_eq!((due[0].alert_id.as_str(), due[0].attempts), ("a1", 0));
    assert_eq!(
        store.pending_by_sink().await.unwrap(),
        [("hook".to_string(), 1)]
    );
    assert_eq!(store.requeue_alert("nope", 6_000).await.unwrap(), 0);
}

pub(super) async fn stored_alerts_keep_their_payloads(store: &Store) {
    store
        .commit_entry("s", "e1", None, &[alert("a1", "w", "u1", &["hook"])], 100)
        .await
        .unwrap();
    store
        .commit_entry(
            "s",
            "e2",
            None,
            &[alert("a2", "v", "u2", &["hook", "chat"])],
            200,
        )
        .await
        .unwrap();
    let all = store.stored_alerts(None, 0, 10).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|row| (
                row.alert_id.as_str(),
                row.watchlist.as_str(),
                row.created_at
            ))
            .collect::<Vec<_>>(),
        [("a2", "v", 200), ("a1", "w", 100)],
        "newest first, one row per alert whatever its sinks"
    );
    assert_eq!(all[1].payload, "{\"id\":\"a1\"}");
    assert_eq!(
        (
            all[1].kind.as_str(),
            all[1].source.as_str(),
            all[1].article_url.as_str()
        ),
        ("article.matched", "s", "u1")
    );
    let one = store.stored_alerts(Some("a1"), 0, 10).await.unwrap();
    assert_eq!(one, all[1..].to_vec());
    assert!(store
        .stored_alerts(None, 150, 10)
        .await
        .unwrap()
        .iter()
        .all(|row| row.alert_id == "a2"));
    assert_eq!(store.stored_alerts(None, 0, 1).await.unwrap().len(), 1);
    assert!(store
        .stored_alerts(Some("nope"), 0, 10)
        .await
        .unwrap()
        .is_empty());
}

pub(super) async fn websub_rows(store: &Store) {
    let fresh = |n: &str| {
        let n = n.to_string();
        move || (format!("id-{n}"), format!("secret-{n}"))
    };
    assert!(store
        .websub_advertised("s", "https://hub/", "https://t/", fresh("1"))
        .await
        .unwrap());
    // the same hub and topic keep the subscription (and its secret)
    assert!(!store
        .websub_advertised("s", "https://hub/", "https://t/", fresh("2"))
        .await
        .unwrap());
    store
        .websub_requested("s", "https://me/websub/id-1", 5)
        .await
        .unwrap();
    store
        .websub_request_result("s", Some("HTTP 503"))
        .await
        .unwrap();
    store
        .websub_requested("s", "https://me/websub/id-1", 8)
        .await
        .unwrap();
    store.websub_request_result("s", None).await.unwrap();
    store.websub_unanswered("s").await.unwrap();
    store
        .websub_requested("s", "https://me/websub/id-1", 10)
        .await
        .unwrap();
    store.websub_request_result("s", None).await.unwrap();
    let subscription = store.websub_subscription("s").await.unwrap().unwrap();
    assert_eq!(
        (subscription.facts.failures, subscription.facts.accepted),
        (2, true)
    );
    assert_eq!(subscription.secret.expose(), "secret-1");
    assert_eq!(
        subscription.callback.as_deref(),
        Some("https://me/websub/id-1")
    );
    store.websub_verified("id-1", 20, 4_020).await.unwrap();
    let subscription = store.websub_by_callback("id-1").await.unwrap().unwrap();
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
    store
        .websub_denied("id-1", 30, "topic not found")
        .await
        .unwrap();
    let subscription = store.websub_subscription("s").await.unwrap().unwrap();
    assert_eq!(
        (subscription.facts.expires_at, subscription.facts.denied_at),
        (None, Some(30))
    );
    assert_eq!(subscription.last_error.as_deref(), Some("topic not found"));
    // a new hub: a new subscription, the old callback is unknown from now on
    assert!(store
        .websub_advertised("s", "https://hub2/", "https://t/", fresh("3"))
        .await
        .unwrap());
    assert!(store.websub_by_callback("id-1").await.unwrap().is_none());
    assert_eq!(
        store.websub_subscription("s").await.unwrap().unwrap().facts,
        crate::websub::Facts::default()
    );
    // the inbox is first in, first out, and bounded
    assert!(store.websub_enqueue("s", None, b"one", 1, 2).await.unwrap());
    assert!(store
        .websub_enqueue("s", Some("application/atom+xml"), b"two", 2, 2)
        .await
        .unwrap());
    assert!(!store
        .websub_enqueue("s", None, b"three", 3, 2)
        .await
        .unwrap());
    let first = store.websub_next_pushed().await.unwrap().unwrap();
    assert_eq!(first.body, b"one");
    store.websub_pushed_done(first.id).await.unwrap();
    assert_eq!(
        store.websub_next_pushed().await.unwrap().unwrap().body,
        b"two"
    );
    assert!(store.websub_forget("s").await.unwrap());
    assert!(!store.websub_forget("s").await.unwrap());
    assert!(store.websub_subscription("s").await.unwrap().is_none());
}

pub(super) async fn digests_bundle_and_settle_as_one(store: &Store) {
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
            .await
            .unwrap();
    }
    let name = |members: &[String]| format!("dig:{}", members.join("+"));
    // the window opened with the first alert
    assert_eq!(
        store.digest_window_end("d", 1_000).await.unwrap(),
        Some(2_000)
    );
    assert_eq!(
        store.next_digest_due("d", 1_000).await.unwrap(),
        Some(2_000)
    );
    // matches are never sent one by one on a digest sink
    assert!(store
        .due_undigested("d", 9_000, 10)
        .await
        .unwrap()
        .is_empty());
    let id = store
        .form_digest("d", 2_000, 100, 2_000, name)
        .await
        .unwrap();
    assert_eq!(id.as_deref(), Some("dig:a1+a2"));
    assert_eq!(
        store
            .form_digest("d", 2_000, 100, 2_000, name)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.due_digests("d", 2_000).await.unwrap(),
        vec!["dig:a1+a2"]
    );
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
        .await
        .unwrap();
    assert_eq!(
        store.next_digest_due("d", 1_000).await.unwrap(),
        Some(3_500)
    );
    assert!(store.due_digests("d", 4_999).await.unwrap().is_empty());
    let members = store.digest_members("d", "dig:a1+a2").await.unwrap();
    assert_eq!(
        members
            .iter()
            .map(|member| (member.alert_id.as_str(), member.attempts))
            .collect::<Vec<_>>(),
        vec![("a1", 1), ("a2", 1)]
    );
    store
        .settle_digest("d", "dig:a1+a2", Settlement::Delivered { now: 5_000 })
        .await
        .unwrap();
    let rows = store.list_alerts(false, 0, 10).await.unwrap();
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
    store.requeue_alert("a1", 6_000).await.unwrap();
    assert_eq!(
        store.digest_window_end("d", 1_000).await.unwrap(),
        Some(3_500)
    );
    let id = store
        .form_digest("d", 7_000, 100, 7_000, name)
        .await
        .unwrap();
    assert_eq!(id.as_deref(), Some("dig:a1+a3"));
}

pub(super) async fn validators_and_poll_bookkeeping(store: &Store) {
    assert_eq!(store.validators("s").await.unwrap(), Validators::default());
    let validators = Validators {
        etag: Some("W/\"abc\"".to_string()),
        last_modified: Some("Tue, 14 May 2024 10:05:00 GMT".to_string()),
    };
    store
        .record_poll_success("s", Some(&validators), 1)
        .await
        .unwrap();
    assert_eq!(
        store.record_poll_failure("s", "timeout", 2).await.unwrap(),
        1
    );
    assert_eq!(
        store.record_poll_failure("s", "timeout", 3).await.unwrap(),
        2
    );
    store.record_poll_success("s", None, 4).await.unwrap();
    assert_eq!(store.validators("s").await.unwrap(), validators);
}
