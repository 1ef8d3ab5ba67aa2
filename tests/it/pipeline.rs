//! End to end: the real binary polls real feeds and pages over loopback HTTP and delivers to a
//! local webhook receiver. Asserts the exact set of alerts and ids, that a second run sends
//! nothing, and that kill -9 during delivery loses nothing.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::config::ConfigBuilder;
use common::{wirewatch, Behaviour, Daemon, FixtureServer, Receiver, Wirewatch};
use wirewatch::alert::alert_id;

const SEED_URL: &str = "https://www.themoscowtimes.com/2024/05/14/putin-to-visit-china-in-first-foreign-trip-since-re-election-a85112";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Four sources (one of them old news), five watchlists, a signing webhook and the log sink.
fn config(server: &FixtureServer, receiver: &Receiver) -> ConfigBuilder {
    let base = &server.base;
    let hook = &receiver.url;
    ConfigBuilder::local()
        .state_dir("state")
        .fetch("timeout", "\"10s\"")
        .source(
            "world",
            &format!("url = \"{base}/feeds/world.rss\"\nmax_age = \"none\""),
        )
        .source(
            "wire",
            &format!("url = \"{base}/feeds/wire.rss\"\nmax_age = \"none\""),
        )
        .source(
            "archive",
            &format!(
                "url = \"{base}/feeds/archive.rss\"\nfetch_article = false\nmax_age = \"30d\""
            ),
        )
        .source(
            "nytimes",
            &format!(
                "url = \"{base}/feeds/nytimes.xml\"\nfetch_article = false\nmax_age = \"none\""
            ),
        )
        .watchlist("sudan", "query = 'Sudan AND sanctions'\nsinks = [\"hook\"]")
        .watchlist(
            "africa",
            "query = 'Tunisia OR Zimbabwe'\nsinks = [\"hook\", \"journal\"]",
        )
        .watchlist("russia", "query = 'Putin OR Kremlin'")
        .watchlist(
            "russia-china",
            "query = '(Putin OR Kremlin) AND (China OR \"Xi Jinping\")'\nsinks = [\"hook\"]",
        )
        .watchlist(
            "france",
            "keywords = [\"renseignement\"]\nsources = [\"world\", \"wire\"]",
        )
        .sink(
            "hook",
            &format!(
                "kind = \"webhook\"\nurl = \"{hook}/main\"\nsecret = \"${{TEST_WEBHOOK_SECRET}}\""
            ),
        )
        .sink("journal", "kind = \"log\"")
}

/// (watchlist, canonical article URL) of every alert the fixtures imply: worked out by hand from
/// the pages and feeds (canonical URLs come from the pages' `<link rel=canonical>`).
fn expected_alerts(base: &str) -> BTreeSet<(String, String)> {
    let missing_page = format!("{base}/pages/missing-article.html");
    [
        // world.rss → real pages; wire.rss carries the same two stories again (no second alert)
        ("sudan", "https://www.nytimes.com/2017/01/13/world/africa/sudan-sanctions.html"),
        ("africa", "http://www.washingtonpost.com/world/gunmen-storm-museum-in-tunisia-killing-at-least-8/2015/03/18/00202e76-cd73-11e4-8730-4f473416e759_story.html"),
        ("africa", "http://www.telegraph.co.uk/news/2017/11/16/zimbabwes-robert-mugabe-wife-grace-insisting-finishes-term-priest/"),
        ("france", "http://www.lemonde.fr/pixels/article/2015/05/04/que-contient-la-loi-sur-le-renseignement_4627068_4408996.html"),
        // the seed article (a page built like The Moscow Times' article pages)
        ("russia", SEED_URL),
        ("russia-china", SEED_URL),
        // its page is a 404: matched on the feed entry's own text
        ("russia", missing_page.as_str()),
        // nytimes.xml (a real captured feed, fetch_article = false)
        ("russia", "http://www.nytimes.com/2017/01/06/us/politics/donald-trump-wall-hack-russia.html"),
        ("russia", "http://www.nytimes.com/2017/01/06/us/politics/russian-hack-report.html"),
        ("africa", "http://www.nytimes.com/2017/01/07/world/africa/in-zimbabwe-a-first-lady-exerts-her-power.html"),
        // archive.rss: its one entry matches three watchlists but is older than max_age
    ]
    .into_iter()
    .map(|(watchlist, url)| (watchlist.to_string(), url.to_string()))
    .collect()
}

async fn run_once(config: &Path) -> common::Output {
    Wirewatch::with_config("once", config)
        .env("TEST_WEBHOOK_SECRET", SECRET)
        .output()
        .await
}

fn received_alerts(receiver: &Receiver) -> Vec<(String, String, String)> {
    receiver
        .all()
        .iter()
        .map(|request| {
            let json = request.json();
            (
                json["watchlist"].as_str().unwrap().to_string(),
                json["article"]["url"].as_str().unwrap().to_string(),
                json["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_delivers_exactly_the_implied_alerts_and_a_second_run_nothing() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let config = config(&server, &receiver).write(folder.path());

    let first = run_once(&config).await;
    assert!(first.status.success(), "stderr: {}", first.stderr);
    let alerts = received_alerts(&receiver);

    // every alert arrives once, with the id derived from (watchlist, canonical URL)
    let mut seen_ids = BTreeSet::new();
    for (watchlist, url, id) in &alerts {
        assert_eq!(id, &alert_id(watchlist, url), "id of {watchlist} {url}");
        assert!(seen_ids.insert(id.clone()), "{id} delivered twice");
    }
    let got: BTreeSet<(String, String)> = alerts
        .iter()
        .map(|(w, u, _)| (w.clone(), u.clone()))
        .collect();
    assert_eq!(got, expected_alerts(&server.base));
    assert_eq!(alerts.len(), 10, "each alert exactly once");
    // sinks: "hook" gets every watchlist's alerts, "journal" all but sudan's
    assert!(
        first
            .stderr
            .contains("10 alerts created, 18 delivered, 0 awaiting retry, 0 dead"),
        "{}",
        first.stderr
    );
    // the log sink: one INFO event per alert with watchlist, source, title and url
    assert!(
        first
            .stderr
            .lines()
            .any(|line| line.contains("wirewatch::alert")
                && line.contains("watchlist=\"russia\"")
                && line.contains("source=\"world\"")
                && line.contains("title=\"Putin to Visit China")
                && line.contains(SEED_URL)),
        "{}",
        first.stderr
    );
    // the webhook carries the article as the seed document (links absolute in the payload)
    let seed_alert = receiver
        .all()
        .into_iter()
        .map(|request| request.json())
        .find(|json| json["watchlist"] == "russia-china")
        .unwrap();
    let text = seed_alert["article"]["text"].as_str().unwrap();
    let hashed = regex_lite_replace_links(text);
    let seed = std::fs::read_to_string(common::fixtures().join("seed/article.txt")).unwrap();
    assert_eq!(common::normalise(&hashed), common::normalise(&seed));
    let matched: Vec<&str> = seed_alert["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["term"].as_str().unwrap())
        .collect();
    assert!(
        matched.contains(&"Putin") && matched.contains(&"China"),
        "{matched:?}"
    );

    // Standard Webhooks headers, signature over id.timestamp.body
    let key = wirewatch::sink::webhook::signing_key(SECRET).unwrap();
    for request in receiver.all() {
        let id = &request.headers["webhook-id"];
        let timestamp: i64 = request.headers["webhook-timestamp"].parse().unwrap();
        assert_eq!(request.headers["content-type"], "application/json");
        assert_eq!(
            request.headers["webhook-signature"],
            wirewatch::sink::webhook::sign(&key, id, timestamp, request.body.as_bytes())
        );
        let json = request.json();
        assert_eq!(json["version"], 1);
        assert_eq!(json["type"], "article.matched");
        assert_eq!(&json["id"], id.as_str());
        assert!(json["article"]["text"]
            .as_str()
            .unwrap()
            .contains("Original url:"));
        assert!(!json["matches"].as_array().unwrap().is_empty());
    }
    assert!(
        first.stderr.contains("polled 4 sources (0 failed)"),
        "{}",
        first.stderr
    );

    // a second run finds nothing new and sends nothing
    let before = receiver.all().len();
    let second = run_once(&config).await;
    assert!(second.status.success(), "stderr: {}", second.stderr);
    assert_eq!(
        receiver.all().len(),
        before,
        "second run sent: {:?}",
        &receiver.all()[before..]
    );
    assert!(
        second.stderr.contains("0 new entries, 0 alerts created"),
        "{}",
        second.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_during_delivery_then_restart_delivers_everything() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let config = config(&server, &receiver).write(folder.path());

    // The receiver hangs: the daemon commits alerts, starts delivering, and is killed mid-request.
    receiver.set(Behaviour::Hang);
    let mut daemon = Daemon::start(&config, &[("TEST_WEBHOOK_SECRET", SECRET)]);
    assert!(
        receiver.wait_for(1, Duration::from_secs(60)).await,
        "the daemon never attempted a delivery"
    );
    daemon.kill().await;
    let hung: BTreeSet<String> = receiver
        .all()
        .iter()
        .map(|r| r.headers["webhook-id"].clone())
        .collect();
    assert!(!hung.is_empty());

    receiver.set(Behaviour::Accept);
    let output = run_once(&config).await;
    assert!(output.status.success(), "stderr: {}", output.stderr);
    let delivered: BTreeSet<(String, String)> = received_alerts(&receiver)
        .into_iter()
        .map(|(w, u, _)| (w, u))
        .collect();
    for pair in expected_alerts(&server.base) {
        assert!(delivered.contains(&pair), "lost {pair:?} after kill -9");
    }
    // the alert in flight at the kill was re-sent with the same id
    let all_ids: Vec<String> = receiver
        .all()
        .iter()
        .map(|r| r.headers["webhook-id"].clone())
        .collect();
    for id in &hung {
        assert!(
            all_ids.iter().filter(|other| *other == id).count() >= 2,
            "{id} not re-sent"
        );
    }
    assert!(
        output.stderr.contains("0 awaiting retry, 0 dead"),
        "{}",
        output.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_source_and_a_failing_sink_do_not_stop_the_others() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    // the "down" sink's receiver answers 503; the main one accepts
    let down = Receiver::start().await;
    down.set(Behaviour::Fail(503));
    let config = config(&server, &receiver)
        .source(
            "broken",
            &format!("url = \"{}/feeds/does-not-exist.xml\"", server.base),
        )
        .sink(
            "down",
            &format!("kind = \"webhook\"\nurl = \"{}/down\"", down.url),
        )
        .write(folder.path());

    let output = run_once(&config).await;
    assert!(output.status.success(), "stderr: {}", output.stderr);
    assert!(
        output.stderr.contains("polled 5 sources (1 failed)"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("HTTP 404"), "{}", output.stderr);
    let delivered: BTreeSet<(String, String)> = received_alerts(&receiver)
        .into_iter()
        .map(|(w, u, _)| (w, u))
        .collect();
    for pair in expected_alerts(&server.base) {
        assert!(
            delivered.contains(&pair),
            "missing {pair:?} while another sink was down"
        );
    }
    // the down sink got one attempt per alert of the watchlists that use it and keeps them queued
    assert!(!down.all().is_empty());
    assert!(
        !output.stderr.contains(" 0 awaiting retry"),
        "{}",
        output.stderr
    );
}

#[tokio::test]
async fn check_reports_every_config_error_at_once() {
    let folder = tempfile::tempdir().unwrap();
    let config = common::write_config(
        folder.path(),
        r#"
[sources.a]
url = "not a url"
interval = "often"

[watchlists.w]
query = 'Putin AND'
sinks = ["nowhere"]

[sinks.hook]
kind = "webhook"
url = "https://example.org/hook"
secret = "${WIREWATCH_TEST_UNSET_SECRET}"
"#,
    );
    let output = wirewatch(&["check", "--config", config.to_str().unwrap()]).await;
    assert_eq!(output.status.code(), Some(1), "{}", output.stderr);
    for expected in [
        "sources.a.url: \"not a url\" is not a valid URL",
        "sources.a.interval: invalid duration \"often\"",
        "watchlists.w.query: column",
        "watchlists.w.sinks[0]: no sink named \"nowhere\"",
        "sinks.hook.secret: environment variable WIREWATCH_TEST_UNSET_SECRET is not set",
    ] {
        assert!(
            output.stderr.contains(expected),
            "missing {expected:?} in:\n{}",
            output.stderr
        );
    }
    assert!(output.stderr.contains("5 errors"), "{}", output.stderr);
}

#[tokio::test]
async fn check_accepts_the_example_config() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/wirewatch.toml");
    let output = Wirewatch::with_config("check", &example)
        .env("WIREWATCH_OPS_SECRET", SECRET)
        .output()
        .await;
    let stdout = &output.stdout;
    assert!(output.status.success(), "{}", output.stderr);
    assert!(stdout.contains("OK"), "{stdout}");
}

/// `[text](href)` → `[text](#)`, the seed's link style.
fn regex_lite_replace_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(position) = rest.find("](") {
        out.push_str(&rest[..position + 2]);
        let after = &rest[position + 2..];
        match after.find(')') {
            Some(end) => {
                out.push('#');
                rest = &after[end..];
            }
            None => {
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_from_feeds_cannot_reach_private_addresses_unless_allowed() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    // The feed URL is written in the config (trusted); its entry links point at 127.0.0.1 too,
    // which a hostile feed could use to probe internal services.
    let config = config(&server, &receiver)
        .fetch("allow_private_networks", "false")
        .write(folder.path());
    let output = run_once(&config).await;
    assert!(output.status.success(), "stderr: {}", output.stderr);
    assert_eq!(server.requested("/feeds/world.rss"), 1);
    let page_requests: Vec<String> = server
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|path| path.starts_with("/pages/"))
        .cloned()
        .collect();
    assert!(
        page_requests.is_empty(),
        "article links reached a private address: {page_requests:?}"
    );
    assert!(output.stderr.contains("blocked:"), "{}", output.stderr);
    // entries still alert, from the feed's own content
    assert!(received_alerts(&receiver)
        .iter()
        .any(|(watchlist, _, _)| watchlist == "russia"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_delivers_then_stops_cleanly_on_sigterm() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let config = config(&server, &receiver).write(folder.path());
    let mut daemon = Daemon::start(&config, &[("TEST_WEBHOOK_SECRET", SECRET)]);
    assert!(
        receiver
            .wait_for(expected_alerts(&server.base).len(), Duration::from_secs(60))
            .await,
        "the daemon did not deliver every alert"
    );
    // a second daemon on the same state directory is refused, not run side by side
    let second = run_once(&config).await;
    assert_eq!(second.status.code(), Some(1));
    assert!(
        second
            .stderr
            .contains("another wirewatch process is using the state directory"),
        "{}",
        second.stderr
    );

    daemon.signal("TERM");
    // a bound for a hang, not a timing: systemd's TimeoutStopSec is 90 s by default
    let status = daemon.wait_exit(Duration::from_secs(60)).await;
    assert!(status.success(), "exit status {status:?}");
    let stderr = daemon.log_text();
    assert!(
        stderr.contains("SIGTERM received") && stderr.contains("stopped"),
        "{stderr}"
    );
    let ids: Vec<String> = received_alerts(&receiver)
        .into_iter()
        .map(|(_, _, id)| id)
        .collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(
        ids.len(),
        unique.len(),
        "an alert was delivered twice: {ids:?}"
    );
}
