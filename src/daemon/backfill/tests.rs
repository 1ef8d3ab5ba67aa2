use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::config::Config;
use crate::model::{Article, Block, BlockKind};
use crate::store::Store;

fn config(query: &str, backfill: &str) -> Config {
    let text = format!(
        r#"
        [daemon]
        listen = "off"
        [sources.wire]
        url = "http://127.0.0.1:9/feed"
        [watchlists.w]
        query = '{query}'
        {backfill}
        [sinks.journal]
        kind = "log"
    "#
    );
    Config::parse(
        &text,
        std::path::Path::new("wirewatch.toml"),
        std::path::Path::new("."),
        &|_| None,
    )
    .unwrap()
}

fn pipeline(config: Config, store: &Arc<Store>) -> Pipeline {
    Pipeline::build(
        config,
        Arc::clone(store),
        Arc::new(super::super::Metrics::new()),
    )
    .unwrap()
}

fn article(slug: &str, text: &str) -> Article {
    Article {
        url: format!("https://news.example/{slug}"),
        fetched_url: format!("https://news.example/{slug}"),
        title: format!("Story {slug}"),
        blocks: vec![Block::new(BlockKind::Paragraph, text)],
        ..Article::default()
    }
}

/// Archives an article as the daemon's commit does, processed at `at`.
async fn archive(store: &Store, slug: &str, text: &str, at: DateTime<Utc>) {
    let article = article(slug, text);
    let row =
        crate::archive::archived(&article, &article.url, "wire", at.timestamp_millis()).unwrap();
    store
        .commit_processed("wire", slug, None, &[], Some(&row), at.timestamp_millis())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_new_watchlist_backfills_once_and_a_changed_query_again() {
    let store = Arc::new(Store::open_in_memory().unwrap());
    let now = Utc::now();
    archive(
        &store,
        "old",
        "Putin spoke long ago.",
        now - Duration::hours(30),
    )
    .await;
    archive(
        &store,
        "recent",
        "Putin spoke today.",
        now - Duration::hours(2),
    )
    .await;
    archive(&store, "other", "Nothing to see.", now - Duration::hours(1)).await;
    archive(
        &store,
        "xi",
        "Xi Jinping visited.",
        now - Duration::hours(1),
    )
    .await;

    // new watchlist: only the article inside the 24h window alerts
    let first = pipeline(config("Putin", "backfill = \"24h\""), &store);
    let report = first.backfill(now).await;
    assert_eq!(report, [("w".to_string(), 1, 1)]);
    let alerts = store.list_alerts(false, 0, 10).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].article_url, "https://news.example/recent");
    // the alert id is the one a live poll would have given it
    assert_eq!(
        alerts[0].alert_id,
        crate::alert::alert_id("w", "https://news.example/recent")
    );

    // a restart (or a reload with the same query): nothing again
    let restarted = pipeline(config("Putin", "backfill = \"24h\""), &store);
    assert!(restarted.backfill(now).await.is_empty());
    assert_eq!(store.list_alerts(false, 0, 10).await.unwrap().len(), 1);

    // the query changes: a new backfill; the article already alerted for w raises nothing
    let edited = pipeline(config("Putin OR Xi", "backfill = \"24h\""), &store);
    assert_eq!(edited.backfill(now).await, [("w".to_string(), 2, 1)]);
    let urls: Vec<String> = store
        .list_alerts(false, 0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|alert| alert.article_url)
        .collect();
    assert_eq!(urls.len(), 2);
    assert!(urls.contains(&"https://news.example/xi".to_string()));
}

#[tokio::test]
async fn without_backfill_a_watchlist_is_recorded_and_never_alerts_on_the_past() {
    let store = Arc::new(Store::open_in_memory().unwrap());
    let now = Utc::now();
    archive(
        &store,
        "recent",
        "Putin spoke today.",
        now - Duration::hours(2),
    )
    .await;
    let plain = pipeline(config("Putin", ""), &store);
    assert!(plain.backfill(now).await.is_empty());
    assert!(store.list_alerts(false, 0, 10).await.unwrap().is_empty());
    // adding backfill later to the unchanged watchlist: it is neither new nor changed
    let later = pipeline(config("Putin", "backfill = \"24h\""), &store);
    assert!(later.backfill(now).await.is_empty());
    assert!(store.list_alerts(false, 0, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn archive_rows_disappear_after_the_retention() {
    let store = Arc::new(Store::open_in_memory().unwrap());
    let now = Utc::now();
    for hours in [1, 100, 200] {
        archive(
            &store,
            &format!("h{hours}"),
            "text",
            now - Duration::hours(hours),
        )
        .await;
    }
    // the default retention is 7 days (168h)
    let daemon = pipeline(config("Putin", ""), &store);
    assert_eq!(daemon.prune_archive(now).await.unwrap(), 1);
    assert!(store
        .archived("https://news.example/h200")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .archived("https://news.example/h100")
        .await
        .unwrap()
        .is_some());
    // three days later the 100h-old row is past the retention too
    assert_eq!(
        daemon.prune_archive(now + Duration::days(3)).await.unwrap(),
        1
    );
    assert!(store
        .archived("https://news.example/h1")
        .await
        .unwrap()
        .is_some());
}
