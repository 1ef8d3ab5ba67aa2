//! Delivery as an operator sees it: dead letters listed and replayed with their ids, a sink
//! tested on demand, 410 Gone disabling a sink without losing its alerts, signing-secret
//! rotation, and one sink's failure never slowing another.

mod common;

use std::time::Duration;

use common::{wirewatch, Behaviour, FixtureServer, Receiver};

const NEW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OLD_SECRET: &str = "whsec_b2xkLXNlY3JldC1mb3Itcm90YXRpb24tdGVzdHM=";

fn config(server: &FixtureServer, hook: &str) -> String {
    format!(
        r#"
[daemon]
listen = "off"

[fetch]
allow_private_networks = true

[sources.world]
url = "{base}/feeds/world.rss"
max_age = "none"

[watchlists.africa]
query = 'Tunisia OR Zimbabwe'

[sinks.hook]
kind = "webhook"
url = "{hook}"
secret = ["{NEW_SECRET}", "{OLD_SECRET}"]
retry = ["1h"]
"#,
        base = server.base
    )
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
    let text = config(&server, &format!("{}/main", healthy.url)).replace(
        "[sinks.hook]",
        &format!("[sinks.stuck]\nkind = \"webhook\"\nurl = \"{}/stuck\"\ntimeout = \"20s\"\n\n[sinks.hook]", hanging.url),
    );
    let path = common::write_config(folder.path(), &text);
    let mut daemon = tokio::process::Command::new(common::binary())
        .args(["run", "--config", path.to_str().unwrap()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        healthy.wait_for(2, Duration::from_secs(30)).await,
        "healthy sink starved"
    );
    assert!(hanging.wait_for(1, Duration::from_secs(5)).await);
    // the stuck sink is still holding its first request open (its timeout is 20 s, the wait
    // above far shorter) while the healthy one has delivered everything
    assert_eq!(hanging.all().len(), 1);
    daemon.start_kill().unwrap();
    daemon.wait().await.unwrap();
}
