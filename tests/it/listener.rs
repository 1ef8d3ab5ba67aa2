//! The daemon's HTTP listener against hostile clients (issue 16, defect 4): connections that
//! trickle a request head or send nothing are closed after the header timeout, and connections
//! held open beyond the listener's cap — with an open-files limit as low as 256 — neither keep
//! `/healthz` from answering nor make polls fail for want of descriptors; and the soft
//! open-files limit is raised to the hard one at start.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Daemon, FixtureServer, Receiver};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::config::ConfigBuilder;

fn config(server: &FixtureServer, receiver: &Receiver) -> String {
    ConfigBuilder::local()
        .listen("127.0.0.1:0")
        .source(
            "world",
            &format!(
                "url = \"{}/feeds/world.rss\"\nfetch_article = false\nmax_age = \"none\"\ninterval = \"1s\"\nmin_interval = \"1s\"\nadaptive = false",
                server.base
            ),
        )
        .watchlist("africa", "query = 'Tunisia OR Zimbabwe'")
        .sink(
            "hook",
            &format!("kind = \"webhook\"\nurl = \"{}/listener\"", receiver.url),
        )
        .build()
}

/// Reads until the server closes the connection (end of stream or an error); true then. With
/// `trickle`, sends a partial request head first and one more header line every second, as a
/// slowloris client does.
async fn until_closed(address: String, trickle: bool) -> bool {
    let Ok(mut stream) = TcpStream::connect(&address).await else {
        return false;
    };
    if trickle
        && stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await
            .is_err()
    {
        return true;
    }
    let mut buffer = [0u8; 1024];
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            read = stream.read(&mut buffer) => match read {
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            },
            _ = ticker.tick(), if trickle => {
                if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
                    return true;
                }
            }
        }
    }
}

async fn healthz(address: &str) -> reqwest::Result<reqwest::Response> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?
        .get(format!("http://{address}/healthz"))
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed_after_the_header_timeout() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let config_path = common::write_config(folder.path(), &config(&server, &receiver));
    let daemon = Daemon::start(&config_path, &[]);
    assert!(
        daemon
            .wait_for_log("HTTP listener:", Duration::from_secs(30))
            .await,
        "{}",
        daemon.log_text()
    );
    let address = daemon.listen_address().await;
    // 40 trickling a head that never ends, 20 sending nothing at all
    let mut clients = tokio::task::JoinSet::new();
    for index in 0..60 {
        clients.spawn(until_closed(address.clone(), index < 40));
    }
    // far beyond the header timeout; before the fix none was ever closed
    let closed = tokio::time::timeout(Duration::from_secs(90), async {
        let mut closed = 0;
        while let Some(outcome) = clients.join_next().await {
            closed += usize::from(outcome.unwrap());
        }
        closed
    })
    .await
    .unwrap_or_else(|_| panic!("slow connections still open after 90 s"));
    assert_eq!(closed, 60, "some clients could not connect");
    let health = healthz(&address).await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_do_not_starve_healthz() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let config_path = common::write_config(folder.path(), &config(&server, &receiver));
    // the numbers: a soft limit of 256 and 368 idle connections
    let daemon = Daemon::start_with_open_files(&config_path, &[], 256);
    assert!(
        daemon
            .wait_for_log("HTTP listener:", Duration::from_secs(30))
            .await,
        "{}",
        daemon.log_text()
    );
    assert!(
        daemon.log_text().contains("max_connections=64"),
        "the cap is not a quarter of 256:\n{}",
        daemon.log_text()
    );
    let address = daemon.listen_address().await;
    // each attacker reopens its connection as soon as the daemon closes it, so the connections
    // stay held for the whole test
    let connected = Arc::new(AtomicUsize::new(0));
    let mut attackers = tokio::task::JoinSet::new();
    for _ in 0..368 {
        let connected = Arc::clone(&connected);
        let address = address.clone();
        attackers.spawn(async move {
            loop {
                connected.fetch_add(1, Ordering::Relaxed);
                if !until_closed(address.clone(), false).await {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        });
    }
    let start = Instant::now();
    while connected.load(Ordering::Relaxed) < 368 && start.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let polls_before = server.requested("/feeds/world.rss");
    for _ in 0..3 {
        let health = healthz(&address)
            .await
            .unwrap_or_else(|error| panic!("/healthz not answered: {error:?}"));
        assert_eq!(health.status(), 200);
        assert_eq!(health.text().await.unwrap(), "ok\n");
    }
    // polls go on (every second) while the connections are held
    let start = Instant::now();
    while server.requested("/feeds/world.rss") < polls_before + 3
        && start.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        server.requested("/feeds/world.rss") >= polls_before + 3,
        "polls stopped while idle connections were held:\n{}",
        daemon.log_text()
    );
    let status: serde_json::Value = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
        .get(format!("http://{address}/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    attackers.abort_all();
    assert_eq!(
        status["sources"][0]["consecutive_failures"], 0,
        "{status:#}"
    );
    assert!(status["sources"][0]["last_error"].is_null(), "{status:#}");
    let log = daemon.log_text();
    assert!(!log.contains("Too many open files"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_raises_the_soft_open_files_limit_to_the_hard_limit() {
    let hard = std::process::Command::new("sh")
        .args(["-c", "ulimit -H -n"])
        .output()
        .unwrap();
    let hard = String::from_utf8_lossy(&hard.stdout).trim().to_string();
    if hard.parse::<u64>().map_or(true, |hard| hard <= 256) {
        common::skip(&format!(
            "the hard open-files limit ({hard}) leaves nothing to raise"
        ));
        return;
    }
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let config_path = common::write_config(folder.path(), &config(&server, &receiver));
    let output = common::Wirewatch::with_config("once", &config_path)
        .prelude("ulimit -S -n 256")
        .output()
        .await;
    let stderr = &output.stderr;
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "open-files limit (RLIMIT_NOFILE) soft={hard} hard={hard}"
        )),
        "{stderr}"
    );
}
