//! Retention cases, with the clock as input: seen entries and alerts disappear on schedule and
//! not before, and an item a feed lists again inside the margin raises no second alert.

use super::cases::alert;
use super::*;

const DAY: Millis = 86_400_000;
/// An arbitrary "now" far from zero, so `now - keep` stays positive.
const START: Millis = 20_000 * DAY;
const KEEP: Millis = 7 * DAY;

/// A successful poll of `source` at `now` that lists `keys`: what the daemon records.
async fn poll(store: &Store, source: &str, keys: &[&str], now: Millis) -> Vec<String> {
    let seen = store.seen_listed(source, keys, now).await.unwrap();
    store.record_poll_success(source, None, now).await.unwrap();
    let mut new: Vec<String> = keys
        .iter()
        .filter(|key| !seen.contains(**key))
        .map(|key| key.to_string())
        .collect();
    new.sort();
    new
}

pub(in crate::store::conformance) async fn seen_entries_pruned_once_unlisted_for_the_margin(
    store: &Store,
) {
    store
        .commit_seen("s", &[("a", None), ("b", None)], START)
        .await
        .unwrap();
    store.record_poll_success("s", None, START).await.unwrap();
    // b drops out of the feed; a stays
    assert!(poll(store, "s", &["a"], START + DAY).await.is_empty());
    assert_eq!(
        store.prune_seen(START + 6 * DAY, KEEP, 100).await.unwrap(),
        0
    );
    assert!(poll(store, "s", &["a"], START + KEEP + DAY / 2)
        .await
        .is_empty());
    assert_eq!(
        store
            .prune_seen(START + KEEP + DAY / 2, KEEP, 100)
            .await
            .unwrap(),
        1
    );
    assert!(store.is_seen("s", "a").await.unwrap());
    assert!(!store.is_seen("s", "b").await.unwrap());

    // a source that stops answering (or is removed) keeps its marks: the margin counts its
    // successful polls, not the calendar
    store
        .commit_seen("down", &[("x", None)], START)
        .await
        .unwrap();
    store
        .record_poll_success("down", None, START)
        .await
        .unwrap();
    store
        .record_poll_failure("down", "timeout", START + 100 * DAY)
        .await
        .unwrap();
    assert_eq!(
        store
            .prune_seen(START + 100 * DAY, KEEP, 100)
            .await
            .unwrap(),
        0
    );
    assert!(store.is_seen("down", "x").await.unwrap());

    // "not modified" for weeks: the unchanged feed still lists its entries
    store
        .commit_seen("quiet", &[("q1", None), ("q2", None)], START)
        .await
        .unwrap();
    store
        .record_poll_success("quiet", None, START)
        .await
        .unwrap();
    for day in [5, 10, 15, 20] {
        let now = START + day * DAY;
        store.still_listed("quiet", now).await.unwrap();
        store.record_poll_success("quiet", None, now).await.unwrap();
        assert_eq!(store.prune_seen(now, KEEP, 100).await.unwrap(), 0);
    }
    assert!(store.is_seen("quiet", "q1").await.unwrap());
    assert!(store.is_seen("quiet", "q2").await.unwrap());
}

pub(in crate::store::conformance) async fn pruning_goes_in_batches(store: &Store) {
    let keys: Vec<String> = (0..5).map(|index| format!("e{index}")).collect();
    let rows: Vec<(&str, Option<&str>)> = keys.iter().map(|key| (key.as_str(), None)).collect();
    store.commit_seen("s", &rows, START).await.unwrap();
    store
        .record_poll_success("s", None, START + 30 * DAY)
        .await
        .unwrap();
    let now = START + 30 * DAY;
    let mut batches = Vec::new();
    loop {
        let deleted = store.prune_seen(now, KEEP, 2).await.unwrap();
        batches.push(deleted);
        if deleted == 0 {
            break;
        }
    }
    assert_eq!(batches, [2, 2, 1, 0]);
}

/// A feed drops an item and lists it again four days later: still seen, nothing new, no second
/// alert. Past the margin, the mark is gone but the alert is still kept, so the commit
/// creates nothing either.
pub(in crate::store::conformance) async fn item_listed_again_inside_the_margin_alerts_once(
    store: &Store,
) {
    let created = store
        .commit_entry(
            "s",
            "item",
            Some("https://x/item"),
            &[alert("a1", "w", "https://x/item", &["hook"])],
            START,
        )
        .await
        .unwrap();
    assert_eq!(created, ["a1"]);
    store.record_poll_success("s", None, START).await.unwrap();
    store.mark_delivered("a1", "hook", START + 1).await.unwrap();
    store
        .commit_seen("s", &[("other", None)], START)
        .await
        .unwrap();
    for day in 1..4 {
        assert!(poll(store, "s", &["other"], START + day * DAY)
            .await
            .is_empty());
        assert_eq!(
            store
                .prune_seen(START + day * DAY, KEEP, 100)
                .await
                .unwrap(),
            0
        );
    }
    assert!(poll(store, "s", &["item", "other"], START + 4 * DAY)
        .await
        .is_empty());

    // dropped again for longer than the margin: the mark goes, the alert stays
    let later = START + 4 * DAY + KEEP + DAY;
    poll(store, "s", &["other"], later).await;
    assert_eq!(store.prune_seen(later, KEEP, 100).await.unwrap(), 1);
    assert_eq!(poll(store, "s", &["item", "other"], later).await, ["item"]);
    let created = store
        .commit_entry(
            "s",
            "item",
            Some("https://x/item"),
            &[alert("a2", "w", "https://x/item", &["hook"])],
            later,
        )
        .await
        .unwrap();
    assert!(created.is_empty());
    assert_eq!(store.outbox_counts().await.unwrap().pending, 0);
}

pub(in crate::store::conformance) async fn alerts_pruned_after_keep_alerts(store: &Store) {
    let keep = 30 * DAY;
    let story = 0x0123_4567_89ab_cdefu64;
    let with_story = |id: &str, url: &str| NewAlert {
        fingerprint: Some(story),
        ..alert(id, "w", url, &["hook"])
    };
    for (key, new) in [
        ("1", with_story("delivered", "https://x/1")),
        ("2", alert("pending", "w", "https://x/2", &["hook"])),
        ("3", alert("dead", "w", "https://x/3", &["hook"])),
        ("4", alert("replayed", "w", "https://x/4", &["hook"])),
    ] {
        store
            .commit_entry("s", key, None, &[new], START)
            .await
            .unwrap();
    }
    // the same story elsewhere: a link to the first alert, no alert of its own
    let linked = store
        .commit_entry("t", "5", None, &[with_story("copy", "https://y/5")], START)
        .await
        .unwrap();
    assert!(linked.is_empty());
    assert_eq!(store.story_links("delivered").await.unwrap().len(), 1);
    store
        .mark_delivered("delivered", "hook", START + 1)
        .await
        .unwrap();
    store.mark_dead("dead", "hook", "410").await.unwrap();
    store.mark_dead("replayed", "hook", "410").await.unwrap();
    assert_eq!(
        store
            .requeue_alert("replayed", START + 29 * DAY)
            .await
            .unwrap(),
        1
    );
    store
        .mark_delivered("replayed", "hook", START + 29 * DAY)
        .await
        .unwrap();

    assert_eq!(
        store
            .prune_alerts(START + 29 * DAY, keep, 100)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .prune_alerts(START + 31 * DAY, keep, 100)
            .await
            .unwrap(),
        2
    );
    assert!(!store.has_alert("w", "https://x/1").await.unwrap());
    assert!(!store.has_alert("w", "https://x/3").await.unwrap());
    assert!(store.story_links("delivered").await.unwrap().is_empty());
    // the story's fingerprint went with its alert: the same story is news again
    let created = store
        .commit_entry(
            "t",
            "6",
            None,
            &[with_story("fresh", "https://y/6")],
            START + 31 * DAY,
        )
        .await
        .unwrap();
    assert_eq!(created, ["fresh"]);
    store
        .mark_delivered("fresh", "hook", START + 31 * DAY)
        .await
        .unwrap();

    // the replayed one goes a window after its new delivery; the pending one never
    assert_eq!(
        store
            .prune_alerts(START + 60 * DAY, keep, 100)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .prune_alerts(START + 400 * DAY, keep, 100)
            .await
            .unwrap(),
        1
    );
    assert!(store.has_alert("w", "https://x/2").await.unwrap());
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!((counts.pending, counts.delivered, counts.dead), (1, 0, 0));
    let size = store.database_size().await.unwrap();
    let rows = |name: &str| {
        size.tables
            .iter()
            .find(|table| table.name == name)
            .map(|table| table.rows)
    };
    assert_eq!(rows("alerts"), Some(1));
    assert_eq!(rows("deliveries"), Some(1));
    assert_eq!(rows("alert_fingerprints"), Some(0));
    assert_eq!(rows("story_links"), Some(0));
}

pub(in crate::store::conformance) async fn database_size_per_table(store: &Store) {
    store
        .commit_seen("s", &[("a", None), ("b", None), ("c", None)], START)
        .await
        .unwrap();
    let size = store.database_size().await.unwrap();
    assert!(size.bytes > 0);
    let seen = size
        .tables
        .iter()
        .find(|table| table.name == "seen_entries")
        .unwrap();
    assert_eq!(seen.rows, 3);
    assert!(seen.bytes.unwrap() > 0, "{size:?}");
    assert!(size.tables.iter().any(|table| table.name == "alerts"));
}
