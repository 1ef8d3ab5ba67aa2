//! Operating the daemon as systemd and a monitoring system would: the notify protocol (READY,
//! WATCHDOG, RELOADING/READY around SIGHUP, STOPPING), reloads that add a watchlist and a source
//! or are refused, and the HTTP listener's /healthz, /metrics and /status over real HTTP.

use crate::common;

use std::os::unix::net::UnixDatagram;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::config::ConfigBuilder;
use common::{Daemon, FixtureServer, Receiver};

fn config(
    server: &FixtureServer,
    receiver: &Receiver,
    port: u16,
    extra_watchlist: bool,
    extra_source: bool,
) -> String {
    let mut config = ConfigBuilder::local()
        .listen(&format!("127.0.0.1:{port}"))
        .source(
            "world",
            &format!(
                "url = \"{}/feeds/world.rss\"\nmax_age = \"none\"\ninterval = \"1h\"",
                server.base
            ),
        )
        .watchlist("africa", "query = 'Tunisia OR Zimbabwe'");
    if extra_watchlist {
        config = config.watchlist(
            "russia-china",
            "query = '(Putin OR Kremlin) AND (China OR \"Xi Jinping\")'",
        );
    }
    if extra_source {
        config = config.source(
            "nytimes",
            &format!(
                "url = \"{}/feeds/nytimes.xml\"\nfetch_article = false\nmax_age = \"none\"",
                server.base
            ),
        );
    }
    config
        .sink(
            "hook",
            &format!("kind = \"webhook\"\nurl = \"{}/ops\"", receiver.url),
        )
        .build()
}

/// Collects notify datagrams in the background.
fn listen_notify(path: &std::path::Path) -> Arc<Mutex<Vec<String>>> {
    let socket = UnixDatagram::bind(path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let messages = Arc::new(Mutex::new(Vec::new()));
    let collected = messages.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        loop {
            match socket.recv(&mut buffer) {
                Ok(length) => collected
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buffer[..length]).into_owned()),
                Err(error)
                    if error.kind() == std::io::ErrorKind::WouldBlock
                        || error.kind() == std::io::ErrorKind::TimedOut =>
                {
                    if Arc::strong_count(&collected) == 1 {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    });
    messages
}

async fn wait_for_message(messages: &Arc<Mutex<Vec<String>>>, from: usize, needle: &str) -> usize {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if let Some(position) = messages
            .lock()
            .unwrap()
            .iter()
            .skip(from)
            .position(|m| m.contains(needle))
        {
            return from + position;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "no {needle:?} after message {from}: {:?}",
        messages.lock().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systemd_notify_protocol_and_sighup_reload() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let socket_path = folder.path().join("notify.sock");
    let messages = listen_notify(&socket_path);
    let (mut daemon, _, config_path) = Daemon::start_listening(
        folder.path(),
        &[
            ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
        ],
        |port| config(&server, &receiver, port, false, false),
    )
    .await;

    let ready = wait_for_message(&messages, 0, "READY=1").await;
    assert!(
        messages.lock().unwrap()[ready].contains("STATUS=1 sources, 1 watchlists, 1 sinks"),
        "{:?}",
        messages.lock().unwrap()
    );
    wait_for_message(&messages, ready, "WATCHDOG=1").await;
    assert!(
        receiver.wait_for(2, Duration::from_secs(30)).await,
        "africa alerts not delivered"
    );
    assert!(receiver
        .all()
        .iter()
        .all(|r| r.json()["watchlist"] == "africa"));

    // SIGHUP with a config that adds a watchlist and a source
    let port = {
        let text = std::fs::read_to_string(&config_path).unwrap();
        text.lines()
            .find(|l| l.starts_with("listen"))
            .unwrap()
            .split(':')
            .nth(1)
            .unwrap()
            .trim_end_matches('"')
            .parse::<u16>()
            .unwrap()
    };
    std::fs::write(&config_path, config(&server, &receiver, port, true, true)).unwrap();
    let before = messages.lock().unwrap().len();
    daemon.signal("HUP");
    let reloading = wait_for_message(&messages, before, "RELOADING=1").await;
    assert!(
        messages.lock().unwrap()[reloading].contains("MONOTONIC_USEC="),
        "{:?}",
        messages.lock().unwrap()[reloading]
    );
    let ready_again = wait_for_message(&messages, reloading, "READY=1").await;
    assert!(messages.lock().unwrap()[ready_again].contains("2 sources, 2 watchlists"));
    assert!(
        daemon
            .wait_for_log("configuration reloaded", Duration::from_secs(10))
            .await,
        "{}",
        daemon.log_text()
    );
    // the new watchlist catches the seed article (already seen by the old config: no alert for
    // it), the new source's entries arrive, and nothing is delivered twice
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30)
        && !receiver
            .all()
            .iter()
            .any(|r| r.json()["source"] == "nytimes")
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let alerts: Vec<(String, String)> = receiver
        .all()
        .iter()
        .map(|r| {
            (
                r.json()["watchlist"].as_str().unwrap().to_string(),
                r.json()["source"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        alerts.contains(&("africa".to_string(), "nytimes".to_string())),
        "{alerts:?}"
    );
    let ids: Vec<String> = receiver
        .all()
        .iter()
        .map(|r| r.headers["webhook-id"].clone())
        .collect();
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(
        ids.len(),
        unique.len(),
        "duplicate delivery across the reload"
    );

    // SIGHUP with a broken config: refused, errors at ERROR, the old config keeps running
    std::fs::write(&config_path, "[sources.x]\nurl = \"nope\"\n").unwrap();
    let before = messages.lock().unwrap().len();
    daemon.signal("HUP");
    let reloading = wait_for_message(&messages, before, "RELOADING=1").await;
    wait_for_message(&messages, reloading, "READY=1").await;
    assert!(
        daemon
            .wait_for_log("reload refused", Duration::from_secs(10))
            .await,
        "{}",
        daemon.log_text()
    );
    assert!(daemon.log_text().contains("ERROR"), "{}", daemon.log_text());
    assert!(
        daemon.log_text().contains("sources.x.url"),
        "{}",
        daemon.log_text()
    );
    let health = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    let before = messages.lock().unwrap().len();
    daemon.signal("TERM");
    wait_for_message(&messages, before, "STOPPING=1").await;
    let status = tokio::time::timeout(Duration::from_secs(15), daemon.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_metrics_and_status_over_http() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let (mut daemon, port, _) = Daemon::start_listening(folder.path(), &[], |port| {
        config(&server, &receiver, port, true, false)
    })
    .await;
    assert!(
        receiver.wait_for(3, Duration::from_secs(30)).await,
        "{}",
        daemon.log_text()
    );
    assert!(
        daemon
            .wait_for_log("HTTP listener", Duration::from_secs(10))
            .await
    );
    let base = format!("http://127.0.0.1:{port}");

    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok\n");

    // alerts go out while the poll is still working through its entries: wait for the poll to
    // finish (its metric) before reading the figures
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        let text = reqwest::get(format!("{base}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains("wirewatch_polls_total{source=\"world\",outcome=\"ok\"} 1")
            && text.contains("wirewatch_deliveries_total{sink=\"hook\",outcome=\"delivered\"} 3")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = metrics.text().await.unwrap();
    let samples = parse_exposition(&text);
    let value = |name: &str| samples.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
    assert_eq!(
        value("wirewatch_polls_total{source=\"world\",outcome=\"ok\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value("wirewatch_entries_total{source=\"world\"}"),
        Some(6.0),
        "{text}"
    );
    assert_eq!(
        value("wirewatch_alerts_total{watchlist=\"africa\"}"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value("wirewatch_alerts_total{watchlist=\"russia-china\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value("wirewatch_deliveries_total{sink=\"hook\",outcome=\"delivered\"}"),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value("wirewatch_outbox{state=\"delivered\"}"),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value("wirewatch_outbox{state=\"pending\"}"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        value("wirewatch_delivery_latency_seconds_count{sink=\"hook\"}"),
        Some(3.0),
        "{text}"
    );
    assert!(text.trim_end().ends_with("# EOF"));

    let status: serde_json::Value = reqwest::get(format!("{base}/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["healthy"], true);
    assert_eq!(status["sources"][0]["name"], "world");
    assert_eq!(status["sources"][0]["consecutive_failures"], 0);
    assert!(status["sources"][0]["last_success_at"].is_string());
    assert_eq!(status["outbox"]["delivered"], 3);
    assert_eq!(status["watchlists"].as_array().unwrap().len(), 2);

    daemon.signal("TERM");
    let exit = tokio::time::timeout(Duration::from_secs(15), daemon.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success());
}

#[tokio::test]
async fn a_taken_listen_address_is_a_clear_start_up_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let config_path = common::write_config(
        folder.path(),
        &config(&server, &receiver, port, false, false),
    );
    let output = common::wirewatch(&["run", "--config", config_path.to_str().unwrap()]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        output
            .stderr
            .contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{}",
        output.stderr
    );
}

/// Parses the text exposition format strictly enough to catch malformed lines: every
/// non-comment line is `name{labels} value`, and every family has HELP and TYPE.
fn parse_exposition(text: &str) -> Vec<(String, f64)> {
    let mut samples = Vec::new();
    let mut typed = std::collections::BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            typed.insert(rest.split_whitespace().next().unwrap().to_string());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (name, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("malformed line {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("malformed value in {line:?}"));
        let family = name.split('{').next().unwrap();
        assert!(
            typed.iter().any(|t| family.starts_with(t.as_str())),
            "sample {family} has no TYPE line"
        );
        samples.push((name.to_string(), value));
    }
    samples
}
