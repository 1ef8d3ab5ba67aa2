//! WebSub end to end through the binary, against a hub written for the test: the feed advertises
//! the hub (in the document, or in `Link` headers with a different `self` URL), the daemon
//! subscribes, answers the verification, turns a signed push into an alert at the webhook
//! receiver within seconds (no poll involved), ignores pushes with a bad or missing signature,
//! refuses unknown subscriptions, renews a short lease before it lapses, and goes back to polling
//! when the hub denies the subscription.

use crate::common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use common::config::ConfigBuilder;
use common::{Daemon, Receiver};
use hmac::{Hmac, Mac};

/// How the test hub announces itself, and whether it verifies subscriptions on its own.
#[derive(Clone, Copy)]
enum Announce {
    /// `<link rel="hub">` and `<link rel="self">` in the Atom document.
    Document,
    /// `Link` headers only, whose `self` differs from the URL polled.
    Headers,
}

/// One of the hub's own verifications: when, the challenge sent, and the callback's answer
/// (status, body).
type Verification = (Instant, String, u16, String);

#[derive(Clone)]
struct Hub {
    base: String,
    entries: Arc<Mutex<Vec<String>>>,
    announce: Announce,
    /// Form fields of every subscription request, in order.
    requests: Arc<Mutex<Vec<HashMap<String, String>>>>,
    /// When set, the hub verifies each request itself, granting this lease (seconds).
    auto_verify: Option<u64>,
    verifications: Arc<Mutex<Vec<Verification>>>,
    feed_requests: Arc<Mutex<usize>>,
}

impl Hub {
    async fn start(announce: Announce, auto_verify: Option<u64>) -> Hub {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hub = Hub {
            base: format!("http://{}", listener.local_addr().unwrap()),
            entries: Arc::new(Mutex::new(vec![entry("oslo", "Weather in Oslo", "Rain.")])),
            announce,
            requests: Arc::default(),
            auto_verify,
            verifications: Arc::default(),
            feed_requests: Arc::default(),
        };
        let router = Router::new()
            .route("/feed.xml", get(serve_feed))
            .route("/hub", post(subscribe))
            .with_state(hub.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        hub
    }

    fn topic(&self) -> String {
        match self.announce {
            Announce::Document => format!("{}/feed.xml", self.base),
            Announce::Headers => format!("{}/canonical.xml", self.base),
        }
    }

    fn document(&self) -> String {
        let links = match self.announce {
            Announce::Document => format!(
                r#"<link rel="hub" href="{base}/hub"/><link rel="self" href="{base}/feed.xml"/>"#,
                base = self.base
            ),
            Announce::Headers => String::new(),
        };
        atom(&links, &self.entries.lock().unwrap())
    }

    fn requests(&self) -> Vec<HashMap<String, String>> {
        self.requests.lock().unwrap().clone()
    }

    async fn wait_for_requests(&self, count: usize, deadline: Duration) -> bool {
        wait_until(deadline, || self.requests.lock().unwrap().len() >= count).await
    }
}

fn atom(links: &str, entries: &[String]) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Wire</title><id>urn:wire</id>{links}
<updated>2024-05-14T10:00:00Z</updated>{}</feed>"#,
        entries.join("")
    )
}

fn entry(id: &str, title: &str, text: &str) -> String {
    format!(
        r#"<entry><id>urn:wire:{id}</id><title>{title}</title><link href="https://news.example/{id}"/><updated>2024-05-14T10:00:00Z</updated><content type="html">&lt;p&gt;{text}&lt;/p&gt;</content></entry>"#
    )
}

async fn serve_feed(State(hub): State<Hub>) -> Response {
    *hub.feed_requests.lock().unwrap() += 1;
    let mut response = ([("content-type", "application/atom+xml")], hub.document()).into_response();
    if let Announce::Headers = hub.announce {
        let link = format!(
            r#"<{base}/hub>; rel="hub", <{base}/canonical.xml>; rel="self""#,
            base = hub.base
        );
        response.headers_mut().insert("link", link.parse().unwrap());
    }
    response
}

async fn subscribe(State(hub): State<Hub>, Form(form): Form<HashMap<String, String>>) -> Response {
    hub.requests.lock().unwrap().push(form.clone());
    if let Some(lease) = hub.auto_verify {
        // verification of intent happens after the 202, as most hubs do it
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let challenge = format!("challenge-{}", rand::random::<u32>());
            let (status, body) = verify(
                &form["hub.callback"],
                &[
                    ("hub.mode", "subscribe"),
                    ("hub.topic", &form["hub.topic"]),
                    ("hub.challenge", &challenge),
                    ("hub.lease_seconds", &lease.to_string()),
                ],
            )
            .await;
            hub.verifications
                .lock()
                .unwrap()
                .push((Instant::now(), challenge, status, body));
        });
    }
    StatusCode::ACCEPTED.into_response()
}

/// A GET to the callback with these query parameters: (status, body).
async fn verify(callback: &str, parameters: &[(&str, &str)]) -> (u16, String) {
    let mut url = url::Url::parse(callback).unwrap();
    url.query_pairs_mut().extend_pairs(parameters);
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn call(callback: &str, parameters: Vec<(&str, String)>) -> (u16, String) {
    let borrowed: Vec<(&str, &str)> = parameters
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    verify(callback, &borrowed).await
}

async fn push(callback: &str, body: &str, signature: Option<String>) -> u16 {
    let client = reqwest::Client::new();
    let mut request = client
        .post(callback)
        .header("content-type", "application/atom+xml")
        .body(body.to_string());
    if let Some(signature) = signature {
        request = request.header("x-hub-signature", signature);
    }
    request.send().await.unwrap().status().as_u16()
}

fn sign_sha256(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let digest: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("sha256={digest}")
}

async fn wait_until(deadline: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done()
}

/// `polling` holds the source's scheduling keys.
fn config(hub: &Hub, receiver: &Receiver, port: u16, polling: &str) -> String {
    ConfigBuilder::local()
        .listen(&format!("127.0.0.1:{port}"))
        .daemon("public_url", &format!("\"http://127.0.0.1:{port}\""))
        .source(
            "wire",
            &format!(
                "url = \"{}/feed.xml\"\n{polling}\nfetch_article = false\nmax_age = \"none\"",
                hub.base
            ),
        )
        .watchlist("russia", "keywords = [\"Putin\"]")
        .sink(
            "hook",
            &format!("kind = \"webhook\"\nurl = \"{}/alerts\"", receiver.url),
        )
        .build()
}

async fn get_json(url: &str) -> serde_json::Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_verify_push_and_refuse_forgeries() {
    let hub = Hub::start(Announce::Document, None).await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let (mut daemon, port, config_path) =
        Daemon::start_listening(folder.path(), &[("WIREWATCH_LOG", "info")], |port| {
            config(&hub, &receiver, port, "interval = \"1h\"")
        })
        .await;

    // the first poll finds the hub in the document and subscribes to the self URL
    assert!(
        hub.wait_for_requests(1, Duration::from_secs(15)).await,
        "no subscription request\n{}",
        daemon.log_text()
    );
    let request = hub.requests()[0].clone();
    assert_eq!(request["hub.mode"], "subscribe");
    assert_eq!(request["hub.topic"], hub.topic());
    let callback = request["hub.callback"].clone();
    let prefix = format!("http://127.0.0.1:{port}/websub/");
    assert!(callback.starts_with(&prefix), "{callback}");
    assert!(
        callback.len() - prefix.len() >= 32,
        "guessable id: {callback}"
    );
    let secret = request["hub.secret"].clone();
    assert!(
        (32..200).contains(&secret.len()),
        "the spec wants a secret under 200 bytes: {secret:?}"
    );

    // verification of intent: the challenge comes back; another topic or subscription gets 404
    let subscribe = |topic: String| {
        vec![
            ("hub.mode", "subscribe".to_string()),
            ("hub.topic", topic),
            ("hub.challenge", "kB7x".to_string()),
            ("hub.lease_seconds", "3600".to_string()),
        ]
    };
    assert_eq!(
        call(&callback, subscribe(hub.topic())).await,
        (200, "kB7x".to_string())
    );
    let other_topic = subscribe(format!("{}/other.xml", hub.base));
    assert_eq!(call(&callback, other_topic).await.0, 404);
    let unknown = format!("{prefix}0123456789abcdef0123456789abcdef");
    assert_eq!(call(&unknown, subscribe(hub.topic())).await.0, 404);
    let unsubscribe = vec![
        ("hub.mode", "unsubscribe".to_string()),
        ("hub.topic", hub.topic()),
        ("hub.challenge", "x".to_string()),
    ];
    assert_eq!(call(&callback, unsubscribe).await.0, 404);

    let status = get_json(&format!("http://127.0.0.1:{port}/status")).await;
    let websub = &status["sources"][0]["websub"];
    assert_eq!(websub["state"], "active", "{status:#}");
    assert_eq!(websub["topic"], hub.topic().as_str());
    // the subscription and pushed-content loops count for /healthz and the watchdog
    assert_eq!(status["loops"]["websub_alive"], 2, "{status:#}");
    assert_eq!(status["healthy"], true, "{status:#}");

    // forged pushes (wrong secret, no signature) are acknowledged and ignored; a signed one
    // becomes an alert within seconds, though the next poll is an hour away
    let forged = atom("", &[entry("forged", "Putin forged", "Forged.")]);
    let unsigned = atom("", &[entry("unsigned", "Putin unsigned", "Unsigned.")]);
    let genuine = atom(
        "",
        &[entry(
            "genuine",
            "Putin visits Beijing",
            "Putin and Xi met.",
        )],
    );
    assert_eq!(
        push(
            &callback,
            &forged,
            Some(sign_sha256("not-the-secret", &forged))
        )
        .await,
        202
    );
    assert_eq!(push(&callback, &unsigned, None).await, 202);
    assert_eq!(
        push(&callback, &genuine, Some(sign_sha256(&secret, &genuine))).await,
        202
    );
    assert!(
        receiver.wait_for(1, Duration::from_secs(10)).await,
        "no alert for the signed push\n{}",
        daemon.log_text()
    );
    // pushes are processed in arrival order, so a forged one would have alerted first; and both
    // were refused (logged) before their 202, which came before the genuine push
    assert!(
        daemon
            .wait_for_log("no X-Hub-Signature header", Duration::from_secs(10))
            .await
    );
    let alerts = receiver.all();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = alerts[0].json();
    assert_eq!(alert["article"]["title"], "Putin visits Beijing");
    assert_eq!(alert["source"], "wire");
    assert_eq!(*hub.feed_requests.lock().unwrap(), 1, "a poll was involved");
    let log = daemon.log_text();
    assert!(log.contains("pushed content ignored"), "{log}");
    assert!(
        log.contains("does not match the body") && log.contains("no X-Hub-Signature header"),
        "{log}"
    );

    // a push to an unknown subscription is told 410 Gone, so the hub drops it
    assert_eq!(
        push(
            &format!("{prefix}ffffffffffffffffffffffffffffffff"),
            &genuine,
            None
        )
        .await,
        410
    );
    let metrics = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"wirewatch_websub_pushes_total{source="wire",outcome="bad_signature"} 2"#,
        r#"wirewatch_websub_pushes_total{source="wire",outcome="accepted"} 1"#,
        r#"wirewatch_websub_requests_total{source="wire",outcome="sent"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} missing in\n{metrics}");
    }

    // a denial ends the subscription: the source is polled again at once, not an hour later
    let denial = vec![
        ("hub.mode", "denied".to_string()),
        ("hub.topic", hub.topic()),
        ("hub.reason", "over quota".to_string()),
    ];
    assert_eq!(call(&callback, denial).await.0, 200);
    assert!(
        wait_until(Duration::from_secs(5), || *hub
            .feed_requests
            .lock()
            .unwrap()
            >= 2)
        .await,
        "no poll after the denial\n{}",
        daemon.log_text()
    );
    let status = get_json(&format!("http://127.0.0.1:{port}/status")).await;
    assert_eq!(status["sources"][0]["websub"]["state"], "denied");
    assert_eq!(status["sources"][0]["websub"]["last_error"], "over quota");
    daemon.child.kill().await.unwrap();

    // the pushed entry, polled later, raises no second alert: same identity, same seen-mark
    hub.entries.lock().unwrap().push(entry(
        "genuine",
        "Putin visits Beijing",
        "Putin and Xi met.",
    ));
    let output = common::wirewatch(&["once", "--config", config_path.to_str().unwrap()]).await;
    assert!(output.status.success(), "{}", output.stderr);
    assert!(
        output.stderr.contains("0 new entries, 0 alerts created"),
        "{}",
        output.stderr
    );
    assert_eq!(receiver.all().len(), 1);
    let output = common::wirewatch(&["sources", "--config", config_path.to_str().unwrap()]).await;
    let table = output.stdout;
    assert!(
        table.lines().next().unwrap().ends_with("WEBSUB") && table.contains("denied"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_header_hub_and_lease_renewed_before_it_lapses() {
    const LEASE_SECONDS: u64 = 4;
    let hub = Hub::start(Announce::Headers, Some(LEASE_SECONDS)).await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    // polled every 2 s (±10 %) until pushes arrive, then every 8 s as a fallback
    let (daemon, port, _) =
        Daemon::start_listening(folder.path(), &[("WIREWATCH_LOG", "info")], |port| {
            config(&hub, &receiver, port, "interval = \"2s\"\nadaptive = false")
        })
        .await;
    let started = Instant::now();

    assert!(
        hub.wait_for_requests(2, Duration::from_secs(20)).await,
        "no renewal\n{}",
        daemon.log_text()
    );
    let requests = hub.requests();
    // the topic is the `self` of the Link header, not the URL polled
    assert_eq!(requests[0]["hub.topic"], hub.topic());
    assert_eq!(requests[1]["hub.topic"], requests[0]["hub.topic"]);
    assert_eq!(requests[1]["hub.callback"], requests[0]["hub.callback"]);
    assert_eq!(requests[1]["hub.secret"], requests[0]["hub.secret"]);
    let renewal_at = Instant::now();
    let verifications = hub.verifications.lock().unwrap().clone();
    let (verified_at, challenge, status, body) = &verifications[0];
    assert_eq!((*status, body), (200, challenge), "{verifications:?}");
    // renewed at about 85 % of the lease, not at once (a load can only make it later; that it
    // came before the lease lapsed is what "never stopped being active" below shows, and the
    // renewal moment itself is unit-tested with explicit instants in `websub::tests`)
    let after = renewal_at.duration_since(*verified_at);
    assert!(
        after > Duration::from_secs(2),
        "renewed {after:?} after the verification"
    );
    // the renewal is verified too, and the subscription never stopped being active
    assert!(
        wait_until(Duration::from_secs(60), || hub
            .verifications
            .lock()
            .unwrap()
            .len()
            >= 2)
        .await
    );
    let (_, challenge, status, body) = hub.verifications.lock().unwrap()[1].clone();
    assert_eq!((status, body), (200, challenge));
    let status = get_json(&format!("http://127.0.0.1:{port}/status")).await;
    assert_eq!(
        status["sources"][0]["websub"]["state"], "active",
        "{status:#}"
    );
    let log = daemon.log_text();
    assert!(log.contains("renewal=true"), "{log}");
    assert!(!log.contains("subscription ended"), "{log}");
    // the first poll and the one 2 s later (scheduled before the verification); later ones come
    // at most every 8 s less 10 % jitter (×4 fallback), where a normal schedule polls every 2 s.
    // Counted against the time that really passed, so a slow machine loosens the bound but can
    // never fail it: ~6 s in, 2 polls are allowed where the normal schedule would have made 4.
    let elapsed = started.elapsed();
    let polls = *hub.feed_requests.lock().unwrap();
    let allowed = 2 + ((elapsed.as_secs_f64() - 2.0).max(0.0) / 7.2).floor() as usize;
    assert!(
        polls <= allowed,
        "{polls} polls in {elapsed:?} (at most {allowed} with the fallback schedule)\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_url_needs_the_listener() {
    let folder = tempfile::tempdir().unwrap();
    let config_path = common::write_config(
        folder.path(),
        "[daemon]\nlisten = \"off\"\npublic_url = \"https://example.org/wirewatch\"\n\n[sources.a]\nurl = \"https://example.org/feed\"\n",
    );
    let output = common::wirewatch(&["check", "--config", config_path.to_str().unwrap()]).await;
    assert_eq!(output.status.code(), Some(1));
    let text = format!("{}{}", output.stdout, output.stderr);
    assert!(
        text.contains("daemon.public_url: is set but daemon.listen is \"off\""),
        "{text}"
    );
}
