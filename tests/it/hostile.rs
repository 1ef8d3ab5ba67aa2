//! Hostile feeds and careless operators (issue 16's weak spots), through the real binary: secrets
//! never echoed (sink URLs, config lines), every config error reported in one run, polls bounded
//! in entries and in field sizes, unusable article links kept out of payloads, and URL errors
//! that say what is wrong.

use crate::common;

use std::path::Path;

use axum::routing::get;
use axum::Router;
use common::config::ConfigBuilder;
use common::{wirewatch, Receiver};

/// Serves one feed body at `/feed.xml`.
struct FeedServer {
    url: String,
}

impl FeedServer {
    async fn start(body: String) -> FeedServer {
        let router = Router::new().route(
            "/feed.xml",
            get(move || {
                let body = body.clone();
                async move { ([("content-type", "application/rss+xml")], body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        FeedServer {
            url: format!("http://{address}/feed.xml"),
        }
    }
}

/// An RSS feed of `(guid, title, link, description)` items, newest first.
fn rss(items: &[(String, String, String, String)]) -> String {
    let mut text = String::from(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>hostile</title><link>http://example.org/</link>",
    );
    for (index, (guid, title, link, description)) in items.iter().enumerate() {
        // one minute apart, the first newest
        let minute = 59 - (index % 60);
        let hour = 23 - (index / 60) % 24;
        let day = 28 - (index / 1440) % 28;
        text.push_str(&format!(
            "<item><guid>{guid}</guid><title>{}</title><link>{}</link><description>{}</description><pubDate>{day:02} Feb 2024 {hour:02}:{minute:02}:00 +0000</pubDate></item>",
            escape(title),
            escape(link),
            escape(description)
        ));
    }
    text.push_str("</channel></rss>");
    text
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A config polling `feed` (entries matched on "Sudan") into the named sinks, which the test
/// adds.
fn config(folder: &Path, feed: &str, sinks: &[&str]) -> ConfigBuilder {
    let sinks = sinks
        .iter()
        .map(|name| format!("{name:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    ConfigBuilder::local()
        .state_dir(&folder.join("state").display().to_string())
        .source(
            "hostile",
            &format!("url = \"{feed}\"\nfetch_article = false\nmax_age = \"none\""),
        )
        .watchlist("sudan", &format!("query = 'Sudan'\nsinks = [{sinks}]"))
}

async fn once(config: &Path) -> common::Output {
    wirewatch(&["once", "--config", config.to_str().unwrap()]).await
}

async fn alerts_list(config: &Path) -> common::Output {
    wirewatch(&[
        "alerts",
        "list",
        "--config",
        config.to_str().unwrap(),
        "--limit",
        "100000",
    ])
    .await
}

fn item(index: usize, title: &str, link: &str) -> (String, String, String, String) {
    (
        format!("urn:hostile:{index}"),
        title.to_string(),
        link.to_string(),
        "Sudan news.".to_string(),
    )
}

#[tokio::test]
async fn webhook_sink_url_tokens_never_shown() {
    let folder = tempfile::tempdir().unwrap();
    let feed = FeedServer::start(rss(&[item(1, "Sudan talks", "http://example.org/a")])).await;
    // a closed loopback port: every delivery is a network error naming the URL in reqwest's text
    let port = common::free_port();
    let token = "TOPSECRETTOKEN";
    let path = config(folder.path(), &feed.url, &["hook"])
        .sink(
            "hook",
            &format!(
                "kind = \"webhook\"\nurl = \"http://127.0.0.1:{port}/hooks/{token}?token={token}\""
            ),
        )
        .write(folder.path());
    let run = once(&path).await;
    assert!(
        !run.stderr.contains(token),
        "log shows the token:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("127.0.0.1:{port}/…")),
        "{}",
        run.stderr
    );
    let list = alerts_list(&path).await;
    assert!(list.status.success(), "{}", list.stderr);
    assert!(list.stdout.contains("last error"), "{}", list.stdout);
    assert!(
        !list.stdout.contains(token) && !list.stderr.contains(token),
        "{}",
        list.stdout
    );
    let test = wirewatch(&["alerts", "test", "--config", path.to_str().unwrap(), "hook"]).await;
    assert!(!test.status.success());
    assert!(
        !test.stdout.contains(token) && !test.stderr.contains(token),
        "{}",
        test.stderr
    );
}

/// A minimal valid config around `body` (sources, watchlists or sinks as the test needs).
fn check_config(folder: &Path, body: &str) -> std::path::PathBuf {
    ConfigBuilder::new()
        .state_dir(&folder.join("state").display().to_string())
        .listen("off")
        .raw(body)
        .write(folder)
}

async fn check(config: &Path) -> common::Output {
    wirewatch(&["check", "--config", config.to_str().unwrap()]).await
}

#[tokio::test]
async fn check_syntax_error_masks_secret_and_bounds_the_line() {
    let folder = tempfile::tempdir().unwrap();
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let path = check_config(
        folder.path(),
        &format!("[sinks.hook]\nkind = \"webhook\"\nsecret = \"{secret}\nurl = \"http://127.0.0.1:9/\"\n"),
    );
    let output = check(&path).await;
    assert!(!output.status.success());
    let text = format!("{}{}", output.stdout, output.stderr);
    assert!(text.contains("not valid TOML"), "{text}");
    assert!(!text.contains("MfKQ9r8GKYqrTwjUPD8"), "{text}");
    assert!(text.contains("[redacted]"), "{text}");

    let long = "x".repeat(20_000);
    let path = check_config(
        folder.path(),
        &format!("[sources.a]\nurl = \"https://example.org/{long}\" trailing\n"),
    );
    let output = check(&path).await;
    assert!(!output.status.success());
    let text = format!("{}{}", output.stdout, output.stderr);
    assert!(text.contains("not valid TOML"), "{text}");
    assert!(text.len() < 1_000, "{} bytes: {text}", text.len());
}

#[tokio::test]
async fn check_type_error_does_not_hide_semantic_errors() {
    let folder = tempfile::tempdir().unwrap();
    let path = check_config(
        folder.path(),
        r#"health_failures = -1
health_sinks = ["nowhere"]

[fetch]
timeout = "soon"

[sources.a]
url = "https://example.org/feed"
interval = "often"
adaptive = "yes"

[watchlists.w]
query = "(unbalanced"
sinks = ["missing"]

[sinks.hook]
kind = "webhook"
url = "not a url"
timeout = 5
"#,
    );
    let output = check(&path).await;
    assert!(!output.status.success());
    let text = format!("{}{}", output.stdout, output.stderr);
    for expected in [
        "daemon.health_failures",
        "daemon.health_sinks",
        "fetch.timeout",
        "sources.a.interval",
        "sources.a.adaptive",
        "watchlists.w.query",
        "watchlists.w.sinks",
        "sinks.hook.url",
        "sinks.hook.timeout",
    ] {
        assert!(text.contains(expected), "{expected} not reported:\n{text}");
    }
    // the wrong-typed key is reported once, not again as missing or invalid
    assert_eq!(text.matches("sinks.hook.timeout").count(), 1, "{text}");
}

#[tokio::test]
async fn telegram_url_without_chat_id_says_so() {
    let folder = tempfile::tempdir().unwrap();
    let path = check_config(
        folder.path(),
        "[sinks.tg]\nurl = \"tgram://123456789:AAHdqTcvabcdef\"\n",
    );
    let output = check(&path).await;
    assert!(!output.status.success());
    let text = format!("{}{}", output.stdout, output.stderr);
    assert!(text.contains("sinks.tg.url"), "{text}");
    assert!(text.contains("no chat id"), "{text}");
    assert!(text.contains("tgram://BotToken/ChatID"), "{text}");
    assert!(!text.contains("kind: missing"), "{text}");
}

/// `(created rows, titles)` of `alerts list`.
async fn listed_titles(config: &Path) -> (usize, Vec<String>) {
    let list = alerts_list(config).await;
    assert!(list.status.success(), "{}", list.stderr);
    let rows = list
        .stdout
        .lines()
        .last()
        .and_then(|line| line.split(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or(usize::MAX);
    let titles = list
        .stdout
        .lines()
        .filter_map(|line| line.split("  Sudan item ").nth(1))
        .map(|rest| format!("Sudan item {}", rest.trim()))
        .collect();
    (rows, titles)
}

#[tokio::test]
async fn entries_per_poll_are_capped_newest_first_without_loss() {
    let folder = tempfile::tempdir().unwrap();
    let items: Vec<_> = (0..1_200)
        .map(|index| {
            item(
                index,
                &format!("Sudan item {index}"),
                &format!("http://example.org/{index}"),
            )
        })
        .collect();
    let feed = FeedServer::start(rss(&items)).await;
    let path = config(folder.path(), &feed.url, &["journal"])
        .fetch("max_entries_per_poll", "500")
        .sink("journal", "kind = \"log\"")
        .write(folder.path());
    let expected = |range: std::ops::Range<usize>| -> std::collections::BTreeSet<String> {
        range.map(|index| format!("Sudan item {index}")).collect()
    };
    for (round, processed) in [(1, 500), (2, 1_000), (3, 1_200)] {
        let run = once(&path).await;
        assert!(run.status.success(), "{}", run.stderr);
        if round < 3 {
            assert!(
                run.stderr.contains("max_entries_per_poll"),
                "round {round}: deferral not logged:\n{}",
                &run.stderr[run.stderr.len().saturating_sub(2_000)..]
            );
        }
        let (rows, titles) = listed_titles(&path).await;
        assert_eq!(rows, processed, "round {round}");
        let unique: std::collections::BTreeSet<String> = titles.iter().cloned().collect();
        assert_eq!(unique.len(), titles.len(), "round {round}: duplicates");
        // the feed lists newest first: each poll takes the newest of what is left
        assert_eq!(unique, expected(0..processed), "round {round}");
    }
    let run = once(&path).await;
    assert!(run.status.success());
    assert_eq!(
        listed_titles(&path).await.0,
        1_200,
        "a fourth poll adds nothing"
    );
    // a per-source override wins over [fetch]
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "max_age = \"none\"",
        "max_age = \"none\"\nmax_entries_per_poll = 0",
    );
    std::fs::write(&path, text).unwrap();
    let output = check(&path).await;
    assert!(
        output
            .stderr
            .contains("sources.hostile.max_entries_per_poll"),
        "{}",
        output.stderr
    );
}

#[tokio::test]
async fn megabyte_title_is_bounded_in_payload_and_log() {
    let folder = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    let title = format!("Sudan {}", "long ".repeat(200_000));
    let feed = FeedServer::start(rss(&[item(1, &title, "http://example.org/a")])).await;
    let path = config(folder.path(), &feed.url, &["hook", "journal"])
        .sink(
            "hook",
            &format!("kind = \"webhook\"\nurl = \"{}/main\"", receiver.url),
        )
        .sink("journal", "kind = \"log\"")
        .write(folder.path());
    let run = once(&path).await;
    assert!(
        run.status.success(),
        "{}",
        &run.stderr[..run.stderr.len().min(2_000)]
    );
    let received = receiver.all();
    assert_eq!(received.len(), 1);
    let payload = received[0].json();
    let shown = payload["article"]["title"].as_str().unwrap();
    assert_eq!(
        shown.chars().count(),
        wirewatch::model::MAX_TITLE_CHARS,
        "{shown}"
    );
    assert!(shown.ends_with('…'));
    assert!(
        received[0].body.len() < 50_000,
        "payload is {} bytes",
        received[0].body.len()
    );
    assert!(
        run.stderr.len() < 50_000,
        "log is {} bytes",
        run.stderr.len()
    );
}

#[tokio::test]
async fn unusable_article_links_stay_out_of_payloads() {
    let folder = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    let links = [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "gopher://example.org/1",
        "http://user:pass@example.org/secret",
        "data:text/html,hi",
        "https://example.org/fine",
    ];
    let items: Vec<_> = links
        .iter()
        .enumerate()
        .map(|(index, link)| item(index, &format!("Sudan link {index}"), link))
        .collect();
    let feed = FeedServer::start(rss(&items)).await;
    // article pages are fetched (the default): an unusable link must not even be tried
    let text = config(folder.path(), &feed.url, &["hook"])
        .sink(
            "hook",
            &format!("kind = \"webhook\"\nurl = \"{}/main\"", receiver.url),
        )
        .build()
        .replace("fetch_article = false\n", "");
    let path = common::write_config(folder.path(), &text);
    for _ in 0..2 {
        let run = once(&path).await;
        assert!(run.status.success(), "{}", run.stderr);
        assert!(!run.stderr.contains("ERROR"), "{}", run.stderr);
        assert!(!run.stderr.contains("user:pass"), "{}", run.stderr);
    }
    let received = receiver.all();
    assert_eq!(received.len(), 1, "only the http(s) entry alerts, once");
    let payload = received[0].json();
    assert_eq!(payload["article"]["url"], "https://example.org/fine");
    for body in received.iter().map(|request| &request.body) {
        for bad in ["javascript:", "file:", "gopher:", "user:pass", "data:text"] {
            assert!(!body.contains(bad), "{bad} in {body}");
        }
    }
}

#[tokio::test]
async fn undeliverable_alerts_do_not_flood_the_error_log() {
    let folder = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    // entries without any link: a chat message must link to the article, so each alert to a
    // Slack sink is refused for good (a dead letter)
    let items: Vec<_> = (0..30)
        .map(|index| item(index, &format!("Sudan item {index}"), ""))
        .collect();
    let feed = FeedServer::start(rss(&items)).await;
    let path = config(folder.path(), &feed.url, &["chat"])
        .sink(
            "chat",
            &format!(
                "kind = \"slack\"\nurl = \"{}/services/T1/B2/c3\"\nrate_limit = \"none\"",
                receiver.url.trim_end_matches("/hooks")
            ),
        )
        .write(folder.path());
    let run = once(&path).await;
    assert!(run.status.success(), "{}", run.stderr);
    let errors = run
        .stderr
        .lines()
        .filter(|line| line.contains("ERROR"))
        .count();
    assert_eq!(errors, 1, "{}", run.stderr);
    let dead = wirewatch(&[
        "alerts",
        "list",
        "--dead",
        "--config",
        path.to_str().unwrap(),
    ])
    .await;
    assert!(dead.stdout.contains("30 rows"), "{}", dead.stdout);
}
