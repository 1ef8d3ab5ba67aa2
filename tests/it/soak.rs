//! The reliability scenario of `tests/delivery.rs` (`flaky…kill_9…`), run longer and measured:
//! a local feed publishes new matching entries at a steady pace, the daemon delivers them to a
//! flaky receiver (about 30 % 503, 10 % 429 + Retry-After) and is killed with SIGKILL at random
//! moments and restarted. At the end it prints alerts, kills, requests, duplicates, losses and
//! the delivery latency (alert created, i.e. entry seen, → accepted by the receiver).
//!
//! Ignored, so CI never runs it; `tests/soak.sh` does, with the knobs as environment variables:
//! SOAK_SECONDS (publishing time, default 180), SOAK_ALERTS (entries published, default 300),
//! SOAK_KILLS (default 10), SOAK_DRAIN (seconds allowed to deliver the rest, default 90). Only
//! loopback addresses are used, and every loop is bounded in time.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use common::{Behaviour, Receiver};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// The feed: entry `i` is published at `start + i * pace`; every published entry stays listed.
#[derive(Clone)]
struct Feed {
    start: Instant,
    pace: Duration,
    total: u64,
}

impl Feed {
    fn published(&self) -> u64 {
        let elapsed = self.start.elapsed().as_secs_f64();
        ((elapsed / self.pace.as_secs_f64()) as u64 + 1).min(self.total)
    }
}

async fn feed(State(feed): State<Arc<Feed>>) -> impl IntoResponse {
    let mut items = String::new();
    for index in (0..feed.published()).rev() {
        items.push_str(&format!(
            "<item><title>Soak entry {index} mentions the watchword</title>\
             <link>https://soak.example/{index}</link><guid>soak-{index}</guid>\
             <description>Entry {index} of the soak run, about the watchword.</description></item>"
        ));
    }
    (
        [("content-type", "application/rss+xml")],
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>soak</title>\
             <link>https://soak.example/</link><description>soak</description>{items}</channel></rss>"
        ),
    )
}

fn percentile(sorted: &[f64], share: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * share).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a soak run of minutes: tests/soak.sh"]
async fn soak_flaky_receiver_and_kills() {
    let seconds = setting("SOAK_SECONDS", 180);
    let total = setting("SOAK_ALERTS", 300).max(1);
    let kills_wanted = setting("SOAK_KILLS", 10);
    let drain = Duration::from_secs(setting("SOAK_DRAIN", 90));
    let duration = Duration::from_secs(seconds);

    let state = Arc::new(Feed {
        start: Instant::now(),
        pace: duration / u32::try_from(total).unwrap_or(u32::MAX),
        total,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let feed_url = format!("http://{}/feed.xml", listener.local_addr().unwrap());
    let router = Router::new()
        .route("/feed.xml", get(feed))
        .with_state(state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let receiver = Receiver::start().await;
    receiver.set(Behaviour::Flaky);
    let folder = tempfile::tempdir().unwrap();
    let retry = vec!["\"1s\""; 30].join(", ");
    let path = common::write_config(
        folder.path(),
        &format!(
            r#"
[daemon]
listen = "off"

[sources.soak]
url = "{feed_url}"
fetch_article = false
max_age = "none"
interval = "1s"
min_interval = "1s"
adaptive = false

[watchlists.soak]
query = 'watchword'

[sinks.hook]
kind = "webhook"
url = "{hook}/soak"
secret = "{SECRET}"
retry = [{retry}]
"#,
            hook = receiver.url
        ),
    );
    let spawn = || common::Daemon::start(&path, &[]);

    // kills at random moments while entries are being published
    let mut moments: Vec<Duration> = (0..kills_wanted)
        .map(|_| duration.mul_f64(rand::random::<f64>()))
        .collect();
    moments.sort();
    let mut daemon = spawn();
    let mut kills = 0;
    for moment in moments {
        let wait = moment.saturating_sub(state.start.elapsed());
        tokio::time::sleep(wait).await;
        daemon.kill().await;
        kills += 1;
        daemon = spawn();
    }
    tokio::time::sleep(duration.saturating_sub(state.start.elapsed())).await;

    let accepted_ids = || -> BTreeSet<String> {
        receiver
            .all()
            .iter()
            .filter(|request| request.status == 204)
            .map(|request| request.headers["webhook-id"].clone())
            .collect()
    };
    let drain_end = Instant::now() + drain;
    while Instant::now() < drain_end && (accepted_ids().len() as u64) < total {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let drained_in = drain - drain_end.saturating_duration_since(Instant::now());
    daemon.kill().await;

    let requests = receiver.all();
    let key = wirewatch::sink::webhook::signing_key(SECRET).unwrap();
    // per alert id: the article it names, and when it was created and first accepted
    let mut urls: BTreeMap<String, String> = BTreeMap::new();
    let mut created: BTreeMap<String, SystemTime> = BTreeMap::new();
    let mut first_accepted: BTreeMap<String, SystemTime> = BTreeMap::new();
    let mut accepted_requests = 0;
    let mut bad_signatures = 0;
    for request in &requests {
        let json = request.json();
        let id = request.headers["webhook-id"].clone();
        let timestamp: i64 = request.headers["webhook-timestamp"].parse().unwrap();
        if request.headers["webhook-signature"]
            != wirewatch::sink::webhook::sign(&key, &id, timestamp, request.body.as_bytes())
        {
            bad_signatures += 1;
        }
        let url = json["article"]["url"].as_str().unwrap().to_string();
        assert_eq!(
            urls.entry(id.clone()).or_insert_with(|| url.clone()),
            &url,
            "{id} names two alerts"
        );
        let detected =
            chrono::DateTime::parse_from_rfc3339(json["detected_at"].as_str().unwrap()).unwrap();
        created.insert(id.clone(), SystemTime::from(detected));
        if request.status == 204 {
            accepted_requests += 1;
            first_accepted.entry(id).or_insert(request.at);
        }
    }
    let expected: BTreeSet<String> = (0..total)
        .map(|index| format!("https://soak.example/{index}"))
        .collect();
    let delivered_urls: BTreeSet<&String> = first_accepted
        .keys()
        .filter_map(|id| urls.get(id))
        .collect();
    let lost: Vec<&String> = expected
        .iter()
        .filter(|url| !delivered_urls.contains(url))
        .collect();
    let mut latencies: Vec<f64> = first_accepted
        .iter()
        .filter_map(|(id, accepted)| {
            accepted
                .duration_since(*created.get(id)?)
                .ok()
                .map(|latency| latency.as_secs_f64())
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let duplicates = accepted_requests - first_accepted.len();
    println!(
        "soak: {seconds}s publishing, {total} entries, {kills} kills (SIGKILL), drained in {:.1}s",
        drained_in.as_secs_f64()
    );
    println!(
        "alerts: {} created, {} delivered, {} lost{}",
        urls.len(),
        first_accepted.len(),
        lost.len(),
        if lost.is_empty() {
            String::new()
        } else {
            format!(" {:?}", &lost[..lost.len().min(10)])
        }
    );
    println!(
        "requests: {} ({} accepted, {} refused or cut by a kill), {duplicates} accepted duplicates, {bad_signatures} bad signatures",
        requests.len(),
        accepted_requests,
        requests.len() - accepted_requests
    );
    println!(
        "delivery latency (alert created → accepted): p50 {:.2}s, p90 {:.2}s, p99 {:.2}s, max {:.2}s over {} alerts",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.90),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
        latencies.len()
    );
    assert!(lost.is_empty(), "lost after {kills} kills: {lost:?}");
    assert_eq!(bad_signatures, 0);
}
