//! The NATS JetStream sink against a real server (`WIREWATCH_TEST_NATS`, default
//! `nats://127.0.0.1:4222`; skipped loudly when none answers): the payload and `Nats-Msg-Id`
//! as a consumer reads them from the stream, a retried publish deduplicated by the stream, the
//! error when no stream captures the subject, an unreachable server with its credentials
//! masked, and the daemon end to end (feed → alert → message in the stream). Each test makes
//! its own stream under a unique subject prefix and deletes it, also when it fails.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use common::config::ConfigBuilder;
use common::{wirewatch, FixtureServer};
use wirewatch::config::SinkKind;
use wirewatch::sink::nats::{NatsSink, NatsTarget};
use wirewatch::sink::Outcome;

fn server_url() -> String {
    std::env::var("WIREWATCH_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string())
}

/// A stream of this test's own, deleted when dropped (a failing assertion included).
struct TestStream {
    context: jetstream::Context,
    name: String,
    /// Subjects under `prefix.` are captured, e.g. `wwtest_123_0.alerts.x`.
    prefix: String,
}

impl TestStream {
    /// `None` (after a loud skip) when no JetStream server answers.
    async fn create() -> Option<TestStream> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let url = server_url();
        let connected = tokio::time::timeout(Duration::from_secs(5), async_nats::connect(&url));
        let client = match connected.await {
            Ok(Ok(client)) => client,
            _ => {
                common::skip(&format!(
                    "no NATS server at {url} (set WIREWATCH_TEST_NATS to one with JetStream)"
                ));
                return None;
            }
        };
        let context = jetstream::new(client);
        let unique = format!(
            "wwtest_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            chrono::Utc::now().timestamp_micros()
        );
        let created = context
            .create_stream(stream::Config {
                name: unique.to_uppercase(),
                subjects: vec![format!("{unique}.>")],
                storage: stream::StorageType::Memory,
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await;
        if let Err(error) = created {
            common::skip(&format!("NATS at {url} has no usable JetStream ({error})"));
            return None;
        }
        Some(TestStream {
            context,
            name: unique.to_uppercase(),
            prefix: unique,
        })
    }

    async fn stream(&self) -> stream::Stream {
        self.context.get_stream(&self.name).await.unwrap()
    }

    async fn messages(&self) -> u64 {
        self.stream().await.get_info().await.unwrap().state.messages
    }
}

impl Drop for TestStream {
    fn drop(&mut self) {
        let (context, name) = (self.context.clone(), self.name.clone());
        // Drop cannot await; a thread of its own with a small runtime does the deletion
        let deleted = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(context.delete_stream(&name))
                .is_ok()
        })
        .join();
        if !matches!(deleted, Ok(true)) {
            eprintln!("could not delete test stream {}", self.name);
        }
    }
}

fn sink(url: &str, subject: &str) -> NatsSink {
    NatsSink::new(
        "bus",
        NatsTarget::parse(url, None).unwrap(),
        subject.to_string(),
        Duration::from_secs(5),
    )
}

fn payload(id: &str) -> String {
    format!(
        r#"{{"version":1,"id":"{id}","type":"article.matched","watchlist":"russia-china","source":"world","article":{{"title":"Putin to Visit China"}}}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_message_is_the_payload_with_the_alert_id_as_msg_id() {
    let Some(test) = TestStream::create().await else {
        return;
    };
    let sink = sink(
        &server_url(),
        &format!("{}.alerts.{{{{ watchlist }}}}", test.prefix),
    );
    let body = payload("msg_0001");
    assert_eq!(sink.deliver("msg_0001", &body).await, Outcome::Delivered);

    let message = test.stream().await.get_raw_message(1).await.unwrap();
    assert_eq!(
        message.subject.as_str(),
        format!("{}.alerts.russia-china", test.prefix)
    );
    assert_eq!(std::str::from_utf8(&message.payload).unwrap(), body);
    assert_eq!(
        message
            .headers
            .get(async_nats::header::NATS_MESSAGE_ID)
            .map(|value| value.as_str()),
        Some("msg_0001")
    );
    assert_eq!(
        message
            .headers
            .get("Content-Type")
            .map(|value| value.as_str()),
        Some("application/json")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_retried_publish_of_one_alert_is_one_message() {
    let Some(test) = TestStream::create().await else {
        return;
    };
    let subject = format!("{}.alerts.{{{{ watchlist }}}}", test.prefix);
    let body = payload("msg_0002");
    // the second attempt as a retry after a lost ack would make it: same id, same bytes, and
    // a fresh connection (a restarted daemon) for good measure
    assert_eq!(
        sink(&server_url(), &subject)
            .deliver("msg_0002", &body)
            .await,
        Outcome::Delivered
    );
    let again = sink(&server_url(), &subject);
    assert_eq!(again.deliver("msg_0002", &body).await, Outcome::Delivered);
    assert_eq!(again.deliver("msg_0002", &body).await, Outcome::Delivered);
    assert_eq!(test.messages().await, 1);
    // another alert is another message
    assert_eq!(
        again.deliver("msg_0003", &payload("msg_0003")).await,
        Outcome::Delivered
    );
    assert_eq!(test.messages().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_subject_without_a_stream_is_retried_with_the_command_that_creates_one() {
    let Some(test) = TestStream::create().await else {
        return;
    };
    // a prefix no stream captures (the test's own stream takes only its own prefix)
    let uncaptured = format!("{}_none", test.prefix);
    let sink = sink(
        &server_url(),
        &format!("{uncaptured}.alerts.{{{{ watchlist }}}}"),
    );
    let outcome = sink.deliver("msg_0004", &payload("msg_0004")).await;
    let Outcome::Retry { error, .. } = outcome else {
        panic!("expected a retry, got {outcome:?}");
    };
    assert_eq!(
        error,
        format!("no JetStream stream captures subject \"{uncaptured}.alerts.russia-china\"; create one, e.g. `nats stream add WIREWATCH --subjects '{uncaptured}.alerts.>' --dupe-window 1h --defaults` (alerts wait in the outbox and are retried)")
    );
    assert_eq!(test.messages().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_unreachable_server_is_retried_and_its_password_never_shown() {
    let port = common::free_port();
    let sink = sink(
        &format!("nats://alice:hunter2@127.0.0.1:{port}"),
        "alerts.x",
    );
    let outcome = sink.deliver("msg_0005", &payload("msg_0005")).await;
    let Outcome::Retry { error, .. } = outcome else {
        panic!("expected a retry, got {outcome:?}");
    };
    assert!(
        error.starts_with(&format!(
            "cannot connect to NATS at nats://127.0.0.1:{port}/: "
        )),
        "{error}"
    );
    assert!(!error.contains("hunter2"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_daemon_publishes_a_feed_match_to_the_stream() {
    let Some(test) = TestStream::create().await else {
        return;
    };
    let server = FixtureServer::start("e2e").await;
    let folder = tempfile::tempdir().unwrap();
    let path = ConfigBuilder::world_russia_china(&server.base)
        .sink(
            "bus",
            &format!(
                "kind = \"nats\"\nurl = \"{}\"\nsubject = \"{}.alerts.{{{{ watchlist }}}}\"\nretry = [\"1h\"]",
                server_url(),
                test.prefix
            ),
        )
        .write(folder.path());
    let config = wirewatch::config::Config::load(&path).unwrap();
    assert!(matches!(config.sinks[0].kind, SinkKind::Nats { .. }));

    let output = wirewatch(&["once", "--config", path.to_str().unwrap()]).await;
    assert!(output.status.success(), "{}", output.stderr);
    assert!(
        output.stderr.contains("1 alert created, 1 delivered"),
        "{}",
        output.stderr
    );
    assert_eq!(test.messages().await, 1);
    let message = test.stream().await.get_raw_message(1).await.unwrap();
    assert_eq!(
        message.subject.as_str(),
        format!("{}.alerts.russia-china", test.prefix)
    );
    let alert: serde_json::Value = serde_json::from_slice(&message.payload).unwrap();
    assert_eq!(alert["watchlist"], "russia-china");
    assert_eq!(alert["source"], "world");
    let id = alert["id"].as_str().unwrap();
    assert!(id.starts_with("msg_"), "{alert}");
    assert_eq!(
        message
            .headers
            .get(async_nats::header::NATS_MESSAGE_ID)
            .map(|value| value.as_str()),
        Some(id)
    );

    // a replay publishes the same alert again under the same id: still one message
    let replay = wirewatch(&["alerts", "replay", "--config", path.to_str().unwrap(), id]).await;
    assert!(replay.status.success(), "{}", replay.stderr);
    let output = wirewatch(&["once", "--config", path.to_str().unwrap()]).await;
    assert!(output.status.success(), "{}", output.stderr);
    assert!(output.stderr.contains("1 delivered"), "{}", output.stderr);
    assert_eq!(test.messages().await, 1);
}
