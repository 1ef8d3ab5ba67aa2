//! Shared harness for integration tests: a local "internet" (fixture feeds and pages over real
//! HTTP on 127.0.0.1:0), a local webhook receiver that records every request and can be told to
//! hang or fail, and helpers to run the real `wirewatch` binary.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

mod command;
pub mod config;

pub use command::{wirewatch, wirewatch_with_env, Daemon, Output, Wirewatch};
pub mod browser;

/// A test that needs something this machine may lack (a service, a system tool) calls this
/// when it is missing: it prints the reason and passes as a skip, or fails under
/// `WIREWATCH_REQUIRE_SERVICES=1`. The rule lives in `wirewatch::testing`, shared with the
/// store's conformance suite.
pub use wirewatch::testing::skip;

/// Whether `program --version` runs and succeeds; a [`skip`] naming `why` (what the test
/// needs it for and which package has it) when not.
pub fn tool_present(program: &str, why: &str) -> bool {
    let present = std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !present {
        skip(&format!("{program} does not run here ({why})"));
    }
    present
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_wirewatch")
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    address
}

/// Serves `tests/fixtures/<root>/feeds/NAME` (with `{{BASE}}` replaced by the server's URL) and
/// `pages/NAME` (from `NAME.gz`, sent gzip-encoded as a real server would).
pub struct FixtureServer {
    pub base: String,
    pub requests: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone)]
struct FixtureState {
    root: PathBuf,
    base: Arc<Mutex<String>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl FixtureServer {
    pub async fn start(root: &str) -> FixtureServer {
        FixtureServer::start_in(fixtures().join(root)).await
    }

    /// Serves a folder laid out like a fixture root (`feeds/`, `pages/`), read at each request:
    /// a test changes a feed mid-run by writing the file.
    pub async fn start_in(root: PathBuf) -> FixtureServer {
        let state = FixtureState {
            root,
            base: Arc::new(Mutex::new(String::new())),
            requests: Arc::new(Mutex::new(Vec::new())),
        };
        let router = Router::new()
            .route("/feeds/:name", get(feed))
            .route("/pages/:name", get(page))
            .with_state(state.clone());
        let address = serve(router).await;
        let base = format!("http://{address}");
        *state.base.lock().unwrap() = base.clone();
        FixtureServer {
            base,
            requests: state.requests,
        }
    }

    pub fn requested(&self, path: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.as_str() == path)
            .count()
    }
}

async fn feed(State(state): State<FixtureState>, UrlPath(name): UrlPath<String>) -> Response {
    state
        .requests
        .lock()
        .unwrap()
        .push(format!("/feeds/{name}"));
    let Ok(bytes) = std::fs::read(state.root.join("feeds").join(&name)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let base = state.base.lock().unwrap().clone();
    let body = match String::from_utf8(bytes) {
        Ok(text) => text.replace("{{BASE}}", &base).into_bytes(),
        Err(error) => error.into_bytes(),
    };
    let content_type = if name.ends_with(".json") {
        "application/feed+json"
    } else if name.ends_with(".html") {
        "text/html; charset=utf-8"
    } else {
        "application/xml"
    };
    ([("content-type", content_type)], body).into_response()
}

async fn page(State(state): State<FixtureState>, UrlPath(name): UrlPath<String>) -> Response {
    state
        .requests
        .lock()
        .unwrap()
        .push(format!("/pages/{name}"));
    match std::fs::read(state.root.join("pages").join(format!("{name}.gz"))) {
        Ok(bytes) => (
            [("content-type", "text/html"), ("content-encoding", "gzip")],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Accept,
    /// Hold every request open (never answer) — for killing the daemon mid-delivery.
    Hang,
    /// Answer with this status.
    Fail(u16),
    /// Answer with this status the requests whose body contains the text, accept the others
    /// (one ntfy topic or Telegram chat failing while the others work).
    FailWhen(&'static str, u16),
    /// Like a struggling real receiver: about 30 % 503, 10 % 429 with `Retry-After: 1`, the rest
    /// accepted.
    Flaky,
}

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    /// The status the receiver answered (an open request counts as 0).
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    /// When the request arrived.
    pub at: std::time::SystemTime,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A webhook receiver recording every request (also those it then fails or hangs on).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    behaviour: Arc<Mutex<Behaviour>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let received = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Arc::new(Mutex::new(Behaviour::Accept));
        let state = (received.clone(), behaviour.clone());
        let router = Router::new()
            .route("/hooks/:name", post(hook))
            .route("/", post(hook_root))
            .fallback(hook_other)
            .with_state(state);
        let address = serve(router).await;
        Receiver {
            url: format!("http://{address}/hooks"),
            received,
            behaviour,
        }
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    pub fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// (watchlist, article URL) of every alert received, in arrival order.
    pub fn alerts(&self) -> Vec<(String, String)> {
        self.all()
            .iter()
            .map(|request| {
                let json = request.json();
                (
                    json["watchlist"].as_str().unwrap().to_string(),
                    json["article"]["url"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    pub async fn wait_for(&self, count: usize, deadline: Duration) -> bool {
        let start = std::time::Instant::now();
        while start.elapsed() < deadline {
            if self.received.lock().unwrap().len() >= count {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }
}

type ReceiverState = (Arc<Mutex<Vec<Received>>>, Arc<Mutex<Behaviour>>);

async fn hook(
    State((received, behaviour)): State<ReceiverState>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let index = {
        let mut all = received.lock().unwrap();
        all.push(Received {
            path: name,
            status: 0,
            headers: headers
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("").to_string()))
                .collect(),
            body: String::from_utf8_lossy(&body).into_owned(),
            at: std::time::SystemTime::now(),
        });
        all.len() - 1
    };
    let current = match *behaviour.lock().unwrap() {
        Behaviour::FailWhen(needle, status)
            if body
                .windows(needle.len())
                .any(|part| part == needle.as_bytes()) =>
        {
            Behaviour::Fail(status)
        }
        Behaviour::FailWhen(..) => Behaviour::Accept,
        other => other,
    };
    let response = answer(current).await;
    received.lock().unwrap()[index].status = response.status().as_u16();
    response
}

/// Any other path (a Bot API method, a chat service's webhook path), recorded in full.
async fn hook_other(
    state: State<ReceiverState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    hook(state, UrlPath(uri.path().to_string()), headers, body).await
}

/// ntfy publishes JSON to the server root.
async fn hook_root(state: State<ReceiverState>, headers: HeaderMap, body: Bytes) -> Response {
    hook(state, UrlPath(String::new()), headers, body).await
}

async fn answer(current: Behaviour) -> Response {
    match current {
        Behaviour::Accept => StatusCode::NO_CONTENT.into_response(),
        Behaviour::Fail(status) | Behaviour::FailWhen(_, status) => {
            StatusCode::from_u16(status).unwrap().into_response()
        }
        Behaviour::Flaky => {
            let roll: f64 = rand::random();
            if roll < 0.3 {
                StatusCode::SERVICE_UNAVAILABLE.into_response()
            } else if roll < 0.4 {
                (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")]).into_response()
            } else {
                StatusCode::NO_CONTENT.into_response()
            }
        }
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::NO_CONTENT.into_response()
        }
    }
}

/// Writes a config file into `folder` and returns its path.
pub fn write_config(folder: &Path, text: &str) -> PathBuf {
    let path = folder.join("wirewatch.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// FORMAT.md equivalence: trim, and collapse every run of whitespace-only lines to one blank line.
pub fn normalise(text: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut blank = false;
    for line in text.trim().lines() {
        if line.trim().is_empty() {
            blank = true;
            continue;
        }
        if blank && !out.is_empty() {
            out.push("");
        }
        blank = false;
        out.push(line.trim_end());
    }
    out.join("\n")
}

/// A port free a moment ago on 127.0.0.1 (for a closed port to send to). Another process can
/// take it before a daemon binds it, so daemons that listen use port 0 and
/// [`Daemon::listen_address`], or [`Daemon::start_listening`] when the config must name the port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
