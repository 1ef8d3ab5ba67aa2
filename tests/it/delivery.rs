//! Delivery as an operator sees it: dead letters listed and replayed with their ids, a sink
//! tested on demand, 410 Gone disabling a sink without losing its alerts, signing-secret
//! rotation, and one sink's failure never slowing another.

use crate::common;

use std::time::{Duration, Instant};

use common::config::ConfigBuilder;
use common::{wirewatch, Behaviour, Daemon, FixtureServer, Receiver};

const NEW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OLD_SECRET: &str = "whsec_b2xkLXNlY3JldC1mb3Itcm90YXRpb24tdGVzdHM=";

/// The world feed, one watchlist, and whatever sinks the test adds.
fn sources(server: &FixtureServer) -> ConfigBuilder {
    ConfigBuilder::local()
        .feed("world", &format!("{}/feeds/world.rss", server.base), "")
        .watchlist("africa", "query = 'Tunisia OR Zimbabwe'")
}

/// A webhook sink signing with the new and the old secret, retrying only after an hour.
fn rotating_webhook(hook: &str) -> String {
    format!(
        "kind = \"webhook\"\nurl = \"{hook}\"\nsecret = [\"{NEW_SECRET}\", \"{OLD_SECRET}\"]\nretry = [\"1h\"]"
    )
}

fn config(server: &FixtureServer, hook: &str) -> String {
    sources(server)
        .sink("hook", &rotating_webhook(hook))
        .build()
}

async fn once(config: &std::path::Path) -> common::Output {
    let output = wirewatch(&["once", "--config", config.to_str().unwrap()]).await;
    assert!(output.status.success(), "{}", output.stderr);
    output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_and_replayed_with_the_same_ids() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    receiver.set(Behaviour::Fail(400));
    let folder = tempfile::tempdir().unwrap();
    let path = common::write_config(
        folder.path(),
        &config(&server, &format!("{}/main", receiver.url)),
    );
    let output = once(&path).await;
    assert!(
        output
            .stderr
            .contains("2 alerts created, 0 delivered, 0 awaiting retry, 2 dead"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("ERROR"),
        "dead letters are logged at ERROR: {}",
        output.stderr
    );
    let first_ids: Vec<String> = receiver
        .all()
        .iter()
        .map(|r| r.headers["webhook-id"].clone())
        .collect();

    let list = wirewatch(&[
        "alerts",
        "list",
        "--config",
        path.to_str().unwrap(),
        "--dead",
    ])
    .await;
    assert!(list.status.success(), "{}", list.stderr);
    for id in &first_ids {
        assert!(list.stdout.contains(id.as_str()), "{}", list.stdout);
    }
    assert!(
        list.stdout.contains("HTTP 400 Bad Request"),
        "{}",
        list.stdout
    );
    assert!(list.stdout.contains("2 rows"), "{}", list.stdout);

    receiver.set(Behaviour::Accept);
    let replay = wirewatch(&[
        "alerts",
        "replay",
        "--config",
        path.to_str().unwrap(),
        "--dead",
    ])
    .await;
    assert!(
        replay.stdout.contains("2 dead deliveries queued again"),
        "{}",
        replay.stdout
    );
    let output = once(&path).await;
    assert!(output.stderr.contains("2 delivered"), "{}", output.stderr);
    let replayed: Vec<String> = receiver.all()[first_ids.len()..]
        .iter()
        .map(|r| r.headers["webhook-id"].clone())
        .collect();
    let mut expected = first_ids.clone();
    expected.sort();
    let mut got = replayed.clone();
    got.sort();
    assert_eq!(got, expected, "replays carry the original ids");

    let missing = wirewatch(&[
        "alerts",
        "replay",
        "--config",
        path.to_str().unwrap(),
        "msg_nope",
    ])
    .await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        missing.stderr.contains("msg_nope: no such alert"),
        "{}",
        missing.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_test_sends_a_signed_sample_to_one_sink() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let path = common::write_config(
        folder.path(),
        &config(&server, &format!("{}/main", receiver.url)),
    );
    let output = wirewatch(&["alerts", "test", "--config", path.to_str().unwrap(), "hook"]).await;
    assert!(output.status.success(), "{}", output.stderr);
    assert!(
        output
            .stdout
            .contains("hook: accepted test alert msg_test_"),
        "{}",
        output.stdout
    );
    let request = &receiver.all()[0];
    let json = request.json();
    assert_eq!(json["type"], "article.matched");
    assert_eq!(json["article"]["title"], "wirewatch test alert");
    // rotation: one signature per secret, space-separated, each verifiable on its own
    let signatures: Vec<&str> = request.headers["webhook-signature"].split(' ').collect();
    assert_eq!(signatures.len(), 2);
    let timestamp: i64 = request.headers["webhook-timestamp"].parse().unwrap();
    for (secret, signature) in [NEW_SECRET, OLD_SECRET].iter().zip(&signatures) {
        let key = wirewatch::sink::webhook::signing_key(secret).unwrap();
        assert_eq!(
            *signature,
            wirewatch::sink::webhook::sign(
                &key,
                &request.headers["webhook-id"],
                timestamp,
                request.body.as_bytes()
            )
        );
    }
    let unknown = wirewatch(&["alerts", "test", "--config", path.to_str().unwrap(), "nope"]).await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        unknown
            .stderr
            .contains("no sink named \"nope\"; defined sinks: hook"),
        "{}",
        unknown.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_disables_the_sink_but_keeps_its_alerts_queued() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    receiver.set(Behaviour::Fail(410));
    let folder = tempfile::tempdir().unwrap();
    let path = common::write_config(
        folder.path(),
        &config(&server, &format!("{}/main", receiver.url)),
    );
    let output = once(&path).await;
    assert_eq!(
        receiver.all().len(),
        1,
        "one attempt, then the sink is disabled"
    );
    assert!(output.stderr.contains("sink disabled"), "{}", output.stderr);
    assert!(
        output.stderr.contains("2 awaiting retry, 0 dead"),
        "{}",
        output.stderr
    );
    // the URL is fixed (here: the receiver comes back) and wirewatch restarted: all delivered
    receiver.set(Behaviour::Accept);
    let output = once(&path).await;
    assert!(output.stderr.contains("2 delivered"), "{}", output.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_sink_does_not_delay_a_healthy_one() {
    let server = FixtureServer::start("e2e").await;
    let healthy = Receiver::start().await;
    let hanging = Receiver::start().await;
    hanging.set(Behaviour::Hang);
    let folder = tempfile::tempdir().unwrap();
    let path = sources(&server)
        .sink(
            "stuck",
            &format!(
                "kind = \"webhook\"\nurl = \"{}/stuck\"\ntimeout = \"20s\"",
                hanging.url
            ),
        )
        .sink("hook", &rotating_webhook(&format!("{}/main", healthy.url)))
        .write(folder.path());
    let mut daemon = Daemon::start(&path, &[]);
    assert!(
        healthy.wait_for(2, Duration::from_secs(30)).await,
        "healthy sink starved"
    );
    assert!(hanging.wait_for(1, Duration::from_secs(60)).await);
    // the stuck sink is still holding its first request open (its timeout is 20 s, the wait
    // above far shorter) while the healthy one has delivered everything
    assert_eq!(hanging.all().len(), 1);
    daemon.kill().await;
}

/// The receiver fails about 40 % of requests (503, or 429 with Retry-After) and the daemon is
/// killed with SIGKILL at random moments, ten times, then left to finish: every alert arrives,
/// each id means one alert only, and every signature verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaky_receiver_and_repeated_kill_9_lose_nothing() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    receiver.set(Behaviour::Flaky);
    let folder = tempfile::tempdir().unwrap();
    let flaky = |hook: &str| {
        ConfigBuilder::local()
            .feed("world", &format!("{}/feeds/world.rss", server.base), "")
            .feed(
                "nytimes",
                &format!("{}/feeds/nytimes.xml", server.base),
                "fetch_article = false",
            )
            .watchlist("broad", "query = 'the OR le'")
            .watchlist("africa", "query = 'Tunisia OR Zimbabwe OR Sudan'")
            .webhook(
                "hook",
                hook,
                &format!(
                    "secret = \"{NEW_SECRET}\"\nretry = [{}]",
                    ["\"1s\""; 12].join(", ")
                ),
            )
    };
    let path = flaky(&format!("{}/flaky", receiver.url)).write(folder.path());
    let spawn = || Daemon::start(&path, &[]);
    let mut kills = 0;
    for round in 0..10u64 {
        let mut daemon = spawn();
        // kill at a different moment each round: during polling, extraction, commit or delivery
        let pause = 50 + (round * 137 + rand::random::<u64>() % 300) % 700;
        tokio::time::sleep(Duration::from_millis(pause)).await;
        daemon.kill().await;
        kills += 1;
    }
    // the expected alerts: what one clean `once` on a fresh state produces
    let reference_folder = tempfile::tempdir().unwrap();
    let reference_receiver = Receiver::start().await;
    let reference_path =
        flaky(&format!("{}/clean", reference_receiver.url)).write(reference_folder.path());
    once(&reference_path).await;
    let expected: std::collections::BTreeMap<String, (String, String)> = reference_receiver
        .all()
        .iter()
        .map(|r| {
            let json = r.json();
            (
                json["id"].as_str().unwrap().to_string(),
                (
                    json["watchlist"].as_str().unwrap().to_string(),
                    json["article"]["url"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    assert!(
        expected.len() > 30,
        "the scenario needs volume: {}",
        expected.len()
    );

    let mut daemon = spawn();
    let deadline = Instant::now() + Duration::from_secs(45);
    let accepted = || -> std::collections::BTreeSet<String> {
        receiver
            .all()
            .iter()
            .filter(|r| r.status == 204)
            .map(|r| r.headers["webhook-id"].clone())
            .collect()
    };
    while Instant::now() < deadline && accepted().len() < expected.len() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    daemon.kill().await;

    let requests = receiver.all();
    let accepted = accepted();
    let missing: Vec<&String> = expected
        .keys()
        .filter(|id| !accepted.contains(*id))
        .collect();
    assert!(missing.is_empty(), "lost after {kills} kills: {missing:?}");
    let key = wirewatch::sink::webhook::signing_key(NEW_SECRET).unwrap();
    let mut meaning = std::collections::BTreeMap::new();
    for request in &requests {
        let json = request.json();
        let id = request.headers["webhook-id"].clone();
        let pair = (
            json["watchlist"].as_str().unwrap().to_string(),
            json["article"]["url"].as_str().unwrap().to_string(),
        );
        assert_eq!(
            expected.get(&id),
            Some(&pair),
            "{id} is not the alert it should be"
        );
        assert_eq!(
            meaning.entry(id.clone()).or_insert_with(|| pair.clone()),
            &pair,
            "{id} names two alerts"
        );
        let timestamp: i64 = request.headers["webhook-timestamp"].parse().unwrap();
        assert_eq!(
            request.headers["webhook-signature"],
            wirewatch::sink::webhook::sign(&key, &id, timestamp, request.body.as_bytes())
        );
    }
    let duplicates = requests.iter().filter(|r| r.status == 204).count() - accepted.len();
    eprintln!(
        "reliability: {} alerts, {kills} kills, {} requests ({} accepted, {duplicates} accepted duplicates), 0 lost",
        expected.len(),
        requests.len(),
        accepted.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ntfy_sink_publishes_the_alert_as_a_push_message() {
    let server = FixtureServer::start("e2e").await;
    let ntfy = Receiver::start().await;
    let ntfy_server = ntfy.url.trim_end_matches("/hooks").to_string();
    let folder = tempfile::tempdir().unwrap();
    let path = ConfigBuilder::world_russia_china(&server.base)
        .sink(
            "phone",
            &format!(
                "kind = \"ntfy\"\nurl = \"{ntfy_server}/wirewatch-alerts\"\nrate_limit = \"none\""
            ),
        )
        .write(folder.path());
    let output = once(&path).await;
    assert!(output.stderr.contains("1 delivered"), "{}", output.stderr);
    let request = &ntfy.all()[0];
    let json = request.json();
    assert_eq!(json["topic"], "wirewatch-alerts");
    assert!(
        json["title"]
            .as_str()
            .unwrap()
            .contains("Putin to Visit China"),
        "{json}"
    );
    assert!(
        json["message"].as_str().unwrap().contains("Putin"),
        "{json}"
    );
    assert_eq!(
        json["click"],
        "https://www.themoscowtimes.com/2024/05/14/putin-to-visit-china-in-first-foreign-trip-since-re-election-a85112"
    );
    assert!(
        json.to_string().len() < 4096 + 1024,
        "ntfy message within limits"
    );
}

#[tokio::test]
async fn chat_sink_config_errors_name_the_key_and_the_expected_form() {
    let folder = tempfile::tempdir().unwrap();
    let path = common::write_config(
        folder.path(),
        r#"
[sinks.team]
kind = "slack"
url = "https://discord.com/api/webhooks/1/abc"

[sinks.bad-template]
url = "discord://123/abc"
template = "{{ title"

[sinks.mail]
kind = "email"
url = "mailto://me:pw@smtp.example.org?to=you@example.org&mode=none"
"#,
    );
    let output = wirewatch(&["check", "--config", path.to_str().unwrap()]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        output
            .stderr
            .contains("sinks.team.url: this https:// URL does not fit target kind `slack`"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("hooks.slack.com"),
        "{}",
        output.stderr
    );
    assert!(
        output
            .stderr
            .contains("sinks.bad-template.template: template line 1"),
        "{}",
        output.stderr
    );
    assert!(
        output
            .stderr
            .contains("sinks.mail.url: mailto:// URL: mode `none` is not one of starttls, ssl (there is no plaintext mode)"),
        "{}",
        output.stderr
    );
}
