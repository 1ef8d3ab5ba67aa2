//! Retention soak: a year of a busy feed in a few seconds, with the clock as input, to show
//! that the state database stops growing once retention holds.
//!
//! ```sh
//! cargo run --release --example retention_soak              # 120 days, 10 new items an hour
//! cargo run --release --example retention_soak -- 365 20    # days, new items per hour
//! ```
//!
//! What it does, honestly: it drives the store itself (a real SQLite file in a temporary
//! folder), not the daemon over HTTP, because the daemon reads the wall clock. Each simulated
//! hour one poll of one feed lists its last 50 items, of which K are new: the poll records the
//! listing (`seen_listed`, as the daemon does), commits the new items (one in five raises an
//! alert with a 2 KB payload and one outbox row, delivered a minute later; the rest are only
//! marked seen), and every simulated hour the daemon's own prune pass
//! (`daemon::retention::prune`) runs with the default windows (`keep_alerts` 30 days, the seen
//! entries' margin for a source polled at most hourly). It prints per simulated day the
//! database size and the rows kept, and at the end the bytes per seen entry and per alert
//! (dbstat, indexes included). Every new item is also archived in the same commit, as the
//! daemon does (a real article: the fixture seed page's, under the item's URL), and the archive
//! is pruned to the default `[archive] retention` of 7 days, as the daemon's archive loop does;
//! the end prints the bytes per archived article. Freed pages are reused, not returned to the
//! file system, so the file's size levels off rather than shrinks.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use wirewatch::daemon::retention::{prune, Windows};
use wirewatch::retention::{millis, seen_keep, DEFAULT_KEEP_ALERTS};
use wirewatch::store::{DatabaseSize, Millis, NewAlert, Store};

const HOUR: Millis = 3_600_000;
const LISTED: usize = 50;
const SOURCE: &str = "soak-feed";
/// The default `[archive] retention`.
const ARCHIVE_RETENTION: Millis = 7 * 24 * HOUR;

#[tokio::main]
async fn main() {
    let mut arguments = std::env::args().skip(1);
    let days: i64 = arguments
        .next()
        .map_or(120, |text| text.parse().expect("days"));
    let per_hour: usize = arguments
        .next()
        .map_or(10, |text| text.parse().expect("items per hour"));
    let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seed/moscow-times.html");
    let page_url = url::Url::parse("https://news.example/").expect("a valid URL");
    let article = wirewatch::assemble::article_from_page(
        &std::fs::read(&seed).expect("the seed page is readable"),
        None,
        &page_url,
    )
    .0;
    let folder = tempfile::tempdir().expect("temporary folder");
    let store = Store::open(&folder.path().join("wirewatch.db")).expect("database");
    let windows = Windows {
        seen: millis(seen_keep([(
            Duration::from_secs(3600),
            Some(Duration::from_secs(3 * 86_400)),
        )])),
        alerts: millis(DEFAULT_KEEP_ALERTS),
    };
    println!(
        "{days} simulated days, {per_hour} new items an hour, feed lists the last {LISTED}; seen entries kept {} h after the last listing, alerts {} d",
        windows.seen / HOUR,
        windows.alerts / (24 * HOUR)
    );
    println!(
        "{:>4} {:>12} {:>13} {:>8} {:>11} {:>9}",
        "day", "db bytes", "seen entries", "alerts", "deliveries", "archived"
    );
    let never = CancellationToken::new();
    let start: Millis = 1_700_000_000_000;
    let payload_padding = "x".repeat(2000);
    let mut published = 0usize;
    let mut forgotten_while_listed = 0usize;
    for hour in 0..days * 24 {
        let now = start + hour * HOUR;
        let first_new = published;
        published += per_hour;
        let keys: Vec<String> = (published.saturating_sub(LISTED)..published)
            .map(|item| format!("https://news.example/item/{item}"))
            .collect();
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let seen = store
            .seen_listed(SOURCE, &key_refs, now)
            .await
            .expect("listing");
        for (offset, key) in keys.iter().enumerate() {
            let item = published.saturating_sub(LISTED) + offset;
            if seen.contains(key) {
                continue;
            }
            if item < first_new {
                // still listed, yet its mark is gone: retention would have let it alert again
                forgotten_while_listed += 1;
                continue;
            }
            let alerts = if item.is_multiple_of(5) {
                vec![NewAlert {
                    id: format!("alert-{item}"),
                    fingerprint: None,
                    title: format!("Item {item}"),
                    watchlist: "soak".to_string(),
                    article_url: key.clone(),
                    source: SOURCE.to_string(),
                    payload: format!("{{\"id\":\"alert-{item}\",\"text\":\"{payload_padding}\"}}"),
                    sinks: vec!["hook".to_string()],
                }]
            } else {
                Vec::new()
            };
            let mut item_article = article.clone();
            item_article.url = key.clone();
            item_article.fetched_url = key.clone();
            let archived = wirewatch::archive::archived(&item_article, key, SOURCE, now)
                .expect("the record encodes");
            let created = store
                .commit_processed(SOURCE, key, Some(key), &alerts, Some(&archived), now)
                .await
                .expect("commit");
            for id in created {
                store
                    .mark_delivered(&id, "hook", now + 60_000)
                    .await
                    .expect("delivered");
            }
        }
        store
            .record_poll_success(SOURCE, None, now)
            .await
            .expect("poll");
        prune(&store, windows, now, &never).await.expect("prune");
        while store
            .prune_archive(now - ARCHIVE_RETENTION, 500)
            .await
            .expect("archive prune")
            == 500
        {}
        if (hour + 1) % 24 == 0 {
            let size = store.database_size().await.expect("size");
            println!(
                "{:>4} {:>12} {:>13} {:>8} {:>11} {:>9}",
                (hour + 1) / 24,
                size.bytes,
                rows(&size, "seen_entries"),
                rows(&size, "alerts"),
                rows(&size, "deliveries"),
                rows(&size, "archive")
            );
        }
    }
    println!("entries forgotten while the feed still listed them: {forgotten_while_listed}");
    let size = store.database_size().await.expect("size");
    for (table, what) in [
        ("seen_entries", "seen entry"),
        ("alerts", "alert (payload 2 KB)"),
    ] {
        if let Some(bytes) = bytes_per_row(&size, table) {
            println!("bytes per {what}: {bytes:.0}");
        }
    }
    // the article archive (issue 13, part 1) is another change: its table, when present, is
    // reported here by name
    for table in size
        .tables
        .iter()
        .filter(|table| table.name.contains("archive"))
    {
        match bytes_per_row(&size, &table.name) {
            Some(bytes) => println!("bytes per archived article ({}): {bytes:.0}", table.name),
            None => println!("bytes per archived article ({}): no rows", table.name),
        }
    }
}

fn rows(size: &DatabaseSize, name: &str) -> u64 {
    size.tables
        .iter()
        .find(|table| table.name == name)
        .map_or(0, |table| table.rows)
}

fn bytes_per_row(size: &DatabaseSize, name: &str) -> Option<f64> {
    let table = size.tables.iter().find(|table| table.name == name)?;
    (table.rows > 0).then(|| table.bytes.unwrap_or(0) as f64 / table.rows as f64)
}
