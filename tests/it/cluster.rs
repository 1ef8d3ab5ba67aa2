//! Three `wirewatch run` processes on one PostgreSQL database over a local feed site, one of
//! them SIGKILLed mid-cycle: the receiver gets the same alerts as a single instance's pass, no
//! article is alerted under two ids, and each feed is fetched once (plus at most one repeat
//! for a source whose poller died). No timing assertions: polls are counted in the fixture
//! server's request log, with an hour-long interval so that any second fetch is a repeat.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{Daemon, FixtureServer, Receiver};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

const FEEDS: &[&str] = &[
    "world.rss",
    "nytimes.xml",
    "wire.rss",
    "wires.rss",
    "archive.rss",
];

fn config_text(server: &FixtureServer, receiver: &Receiver) -> String {
    let base = &server.base;
    let hook = &receiver.url;
    let mut text = format!(
        r#"
[daemon]
state_dir = "state"
database = "${{TEST_DATABASE_URL}}"
listen = "off"
lease = "2s"

[fetch]
timeout = "10s"
allow_private_networks = true   # the test's "internet" is 127.0.0.1
min_interval = "1h"
max_interval = "2h"

[watchlists.russia]
query = 'Putin OR Kremlin'
sinks = ["hook"]

[watchlists.africa]
query = 'Tunisia OR Zimbabwe OR Sudan'
sinks = ["hook"]

[sinks.hook]
kind = "webhook"
url = "{hook}/main"
secret = "${{TEST_WEBHOOK_SECRET}}"
"#
    );
    for (index, feed) in FEEDS.iter().enumerate() {
        text.push_str(&format!(
            "\n[sources.feed{index}]\nurl = \"{base}/feeds/{feed}\"\ninterval = \"1h\"\nmax_age = \"none\"\n"
        ));
        // its articles live on the real internet, which tests never reach
        if *feed == "nytimes.xml" {
            text.push_str("fetch_article = false\n");
        }
    }
    text
}

fn environment(database: &str) -> Vec<(&'static str, String)> {
    vec![
        ("TEST_WEBHOOK_SECRET", SECRET.to_string()),
        ("TEST_DATABASE_URL", database.to_string()),
        ("WIREWATCH_LOG", "info".to_string()),
    ]
}

/// (watchlist, article url) → the alert ids that carried it; the fixture server's address is
/// written `{{BASE}}`, so runs against two servers compare.
fn accepted(
    receiver: &Receiver,
    server: &FixtureServer,
) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut pairs: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for request in receiver
        .all()
        .iter()
        .filter(|request| (200..300).contains(&request.status))
    {
        let json = request.json();
        let watchlist = json["watchlist"].as_str().unwrap_or_default();
        let url = json["article"]["url"].as_str().unwrap_or_default();
        pairs
            .entry((watchlist.to_string(), url.replace(&server.base, "{{BASE}}")))
            .or_default()
            .insert(json["id"].as_str().unwrap().to_string());
    }
    pairs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_the_work_and_survive_a_sigkill() {
    let Some(reference_database) = wirewatch::testing::TestDatabase::create().await else {
        return;
    };
    let Some(database) = wirewatch::testing::TestDatabase::create().await else {
        return;
    };

    // the reference: one instance, one pass, on a database of its own
    let reference_server = FixtureServer::start("e2e").await;
    let reference_receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let config = common::write_config(
        folder.path(),
        &config_text(&reference_server, &reference_receiver),
    );
    let once = crate::postgres::run_once(&config, &reference_database.url).await;
    assert!(once.status.success(), "stderr: {}", once.stderr);
    let expected = accepted(&reference_receiver, &reference_server);
    assert!(
        !expected.is_empty(),
        "the reference pass alerted nothing: {}",
        once.stderr
    );
    reference_database.drop_database().await;

    // the cluster: three processes, same config file, one database
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let config = common::write_config(folder.path(), &config_text(&server, &receiver));
    let environment = environment(&database.url);
    let environment: Vec<(&str, &str)> = environment
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let mut instances: Vec<Daemon> = (0..3)
        .map(|_| Daemon::start(&config, &environment))
        .collect();

    // SIGKILL the first instance as soon as the site sees the first feed request: the cycle
    // is under way, and whatever it leased (a poll, a delivery) dies with it
    let start = std::time::Instant::now();
    while server.requests.lock().unwrap().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no instance polled"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut killed = instances.remove(0);
    killed.child.start_kill().unwrap();
    killed.child.wait().await.unwrap();

    // the survivors take over what it held once its leases expire
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    while accepted(&receiver, &server).len() < expected.len()
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = accepted(&receiver, &server);
    let logs: Vec<String> = instances.iter().map(Daemon::log_text).collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the cluster's accepted set differs from a single instance's; logs:\n{}",
        logs.join("\n----\n")
    );
    for (pair, ids) in &got {
        assert_eq!(ids.len(), 1, "{pair:?} alerted under several ids: {ids:?}");
    }
    for (index, feed) in FEEDS.iter().enumerate() {
        let fetched = server.requested(&format!("/feeds/{feed}"));
        assert!(
            (1..=2).contains(&fetched),
            "feed{index} ({feed}) fetched {fetched} times; logs:\n{}",
            logs.join("\n----\n")
        );
    }

    // `wirewatch cluster` lists the two survivors once the killed one's heartbeat is older
    // than a lease
    let mut listing = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let output = tokio::process::Command::new(common::binary())
            .args(["cluster", "--config", config.to_str().unwrap()])
            .env("TEST_WEBHOOK_SECRET", SECRET)
            .env("TEST_DATABASE_URL", &database.url)
            .env("NO_COLOR", "1")
            .output()
            .await
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        listing = String::from_utf8_lossy(&output.stdout).into_owned();
        if listing
            .lines()
            .filter(|line| line.contains("heartbeat"))
            .count()
            == 2
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        listing
            .lines()
            .filter(|line| line.contains("heartbeat"))
            .count(),
        2,
        "{listing}"
    );
    for instance in &instances {
        let name = format!("-{} ", instance.child.id().unwrap());
        assert!(listing.contains(&name), "{name:?} missing from:\n{listing}");
    }

    drop(instances);
    database.drop_database().await;
}

/// A feed host that answers slowly and counts the requests it is serving at once.
struct SlowHost {
    base: String,
    in_flight: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    most_in_flight: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    served: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl SlowHost {
    async fn start() -> SlowHost {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let in_flight = Arc::new(AtomicUsize::new(0));
        let most_in_flight = Arc::new(AtomicUsize::new(0));
        let served = Arc::new(AtomicUsize::new(0));
        let counters = (
            Arc::clone(&in_flight),
            Arc::clone(&most_in_flight),
            Arc::clone(&served),
        );
        let app = axum::Router::new().route(
            "/feeds/:name",
            axum::routing::get(move |axum::extract::Path(name): axum::extract::Path<String>| {
                let (in_flight, most_in_flight, served) = counters.clone();
                async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    most_in_flight.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    served.fetch_add(1, Ordering::SeqCst);
                    (
                        [("content-type", "application/rss+xml")],
                        format!(
                            "<rss version=\"2.0\"><channel><title>{name}</title><link>https://example.org/</link>\
                             <item><title>Weather in {name}</title><link>https://example.org/{name}/1</link>\
                             <description>Mild.</description></item></channel></rss>"
                        ),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        SlowHost {
            base,
            in_flight,
            most_in_flight,
            served,
        }
    }
}

/// `per_host_connections = 1` holds across instances: two processes on one database, each
/// polling five feeds of one slow host (two config files, so that neither can take every
/// source's lease before the other starts), and the host never serves two requests at once.
/// Each process alone keeps one request in flight; without shared turns the two together keep
/// two (checked by hand by turning the sharing off: `most_in_flight` was 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_host_connections_hold_across_instances() {
    use std::sync::atomic::Ordering;
    let Some(database) = wirewatch::testing::TestDatabase::create().await else {
        return;
    };
    let host = SlowHost::start().await;
    let folder = tempfile::tempdir().unwrap();
    const FEEDS: usize = 10;
    let config = |half: usize| {
        let mut text = String::from(
            "[daemon]\nstate_dir = \"state\"\ndatabase = \"${TEST_DATABASE_URL}\"\nlisten = \"off\"\n\
             [fetch]\nallow_private_networks = true\nper_host_connections = 1\nper_host_gap = \"0s\"\n\
             timeout = \"10s\"\n\
             [watchlists.weather]\nquery = 'Weather'\nsinks = [\"journal\"]\n\
             [sinks.journal]\nkind = \"log\"\n",
        );
        for index in (0..FEEDS).filter(|index| index % 2 == half) {
            text.push_str(&format!(
                "[sources.city{index}]\nurl = \"{}/feeds/city{index}\"\ninterval = \"1h\"\nfetch_article = false\nmax_age = \"none\"\n",
                host.base
            ));
        }
        let path = folder.path().join(format!("half{half}.toml"));
        std::fs::write(&path, text).unwrap();
        path
    };
    let environment = [
        ("TEST_DATABASE_URL", database.url.as_str()),
        ("WIREWATCH_LOG", "info"),
    ];
    let mut first = Daemon::start(&config(0), &environment);
    let mut second = Daemon::start(&config(1), &environment);
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while host.served.load(Ordering::SeqCst) < FEEDS && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    first.kill().await;
    second.kill().await;
    database.drop_database().await;
    assert!(
        host.served.load(Ordering::SeqCst) >= FEEDS,
        "every feed polled: {} of {FEEDS}\n{}\n{}",
        host.served.load(Ordering::SeqCst),
        first.log_text(),
        second.log_text()
    );
    assert_eq!(host.in_flight.load(Ordering::SeqCst), 0);
    assert_eq!(
        host.most_in_flight.load(Ordering::SeqCst),
        1,
        "two requests to one host at once across the instances"
    );
}
