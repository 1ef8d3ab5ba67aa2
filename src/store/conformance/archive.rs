//! The archive cases every backend must pass: rows written with the entry commit, read newest
//! first a page at a time, found by id or URL, pruned on schedule (time is an argument), and
//! the backfill record.

use super::*;

fn row(id: &str, source: &str, processed_at: Millis) -> ArchivedArticle {
    ArchivedArticle {
        id: id.to_string(),
        source: source.to_string(),
        url: format!("https://x/{id}"),
        fetched_url: format!("https://x/{id}?from=feed"),
        title: format!("title of {id}"),
        language: Some("en".to_string()),
        processed_at,
        record: vec![0, 1, 2, 255, id.len() as u8],
    }
}

/// Every page of the archive from `since`, walked with the cursor as the commands walk it.
async fn walk(store: &Store, since: Millis, source: Option<&str>, page: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<ArchiveCursor> = None;
    loop {
        let rows = store
            .archive_page(since, source, cursor.as_ref(), page)
            .await
            .unwrap();
        ids.extend(rows.iter().map(|row| row.id.clone()));
        match rows.last() {
            Some(last) if rows.len() == page => {
                cursor = Some(ArchiveCursor {
                    processed_at: last.processed_at,
                    id: last.id.clone(),
                })
            }
            _ => return ids,
        }
    }
}

pub(in crate::store::conformance) async fn archive_rows_page_and_prune(store: &Store) {
    // archived with the entry's seen mark, and only then
    for (index, (id, source, at)) in [
        ("a1", "s", 10),
        ("a2", "t", 20),
        ("a3", "s", 20),
        ("a4", "s", 30),
        ("a5", "t", 40),
    ]
    .into_iter()
    .enumerate()
    {
        let archived = row(id, source, at);
        store
            .commit_processed(source, &format!("e{index}"), None, &[], Some(&archived), at)
            .await
            .unwrap();
        assert!(store.is_seen(source, &format!("e{index}")).await.unwrap());
    }
    // the same article again (another source) keeps its first row
    let mut again = row("a1", "t", 50);
    again.title = "changed".to_string();
    store
        .commit_processed("t", "e9", None, &[], Some(&again), 50)
        .await
        .unwrap();
    let first = store.archived("a1").await.unwrap().unwrap();
    assert_eq!(first, row("a1", "s", 10));
    // by canonical and by fetched URL
    assert_eq!(
        store.archived("https://x/a2").await.unwrap().unwrap().id,
        "a2"
    );
    assert_eq!(
        store
            .archived("https://x/a3?from=feed")
            .await
            .unwrap()
            .unwrap()
            .id,
        "a3"
    );
    assert!(store.archived("https://x/none").await.unwrap().is_none());

    // newest first, ties by id descending, pages neither overlap nor skip
    for page in [1, 2, 3, 10] {
        assert_eq!(
            walk(store, 0, None, page).await,
            ["a5", "a4", "a3", "a2", "a1"],
            "page size {page}"
        );
    }
    assert_eq!(walk(store, 20, None, 2).await, ["a5", "a4", "a3", "a2"]);
    assert_eq!(walk(store, 0, Some("s"), 1).await, ["a4", "a3", "a1"]);
    assert_eq!(walk(store, 25, Some("t"), 1).await, ["a5"]);

    // pruning: rows processed before the cutoff go, a batch at a time, oldest first
    assert_eq!(store.prune_archive(10, 500).await.unwrap(), 0);
    assert_eq!(store.prune_archive(21, 2).await.unwrap(), 2);
    assert_eq!(walk(store, 0, None, 10).await, ["a5", "a4", "a3"]);
    assert_eq!(store.prune_archive(21, 2).await.unwrap(), 1);
    assert_eq!(store.prune_archive(21, 2).await.unwrap(), 0);
    assert_eq!(walk(store, 0, None, 10).await, ["a5", "a4"]);
    // the seen marks stay: pruning the archive never makes an entry new again
    assert!(store.is_seen("s", "e0").await.unwrap());
}

pub(in crate::store::conformance) async fn backfill_records_and_alerts(store: &Store) {
    assert_eq!(store.backfilled_query("w").await.unwrap(), None);
    store.record_backfill("w", "hash1", 5).await.unwrap();
    assert_eq!(
        store.backfilled_query("w").await.unwrap().as_deref(),
        Some("hash1")
    );
    store.record_backfill("w", "hash2", 6).await.unwrap();
    assert_eq!(
        store.backfilled_query("w").await.unwrap().as_deref(),
        Some("hash2")
    );
    assert_eq!(store.backfilled_query("other").await.unwrap(), None);

    // backfilled alerts follow the commit's rules: once per watchlist and article
    let make = |id: &str, watchlist: &str| NewAlert {
        id: id.to_string(),
        fingerprint: None,
        title: "t".to_string(),
        watchlist: watchlist.to_string(),
        article_url: "https://x/a".to_string(),
        source: "s".to_string(),
        payload: format!("{{\"id\":\"{id}\"}}"),
        sinks: vec!["hook".to_string()],
    };
    store
        .commit_entry("s", "e1", None, &[make("m1", "w")], 7)
        .await
        .unwrap();
    let created = store
        .commit_alerts(&[make("m1", "w"), make("m2", "v")], 8)
        .await
        .unwrap();
    assert_eq!(created, ["m2"]);
    assert_eq!(store.outbox_counts().await.unwrap().pending, 2);
    // no entry was marked seen by the backfill
    assert!(store.commit_alerts(&[], 9).await.unwrap().is_empty());
}
