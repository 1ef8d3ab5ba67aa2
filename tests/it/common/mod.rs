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

pub mod browser;

/// A test that needs something this machine may lack (a service, a system tool) calls this
/// when it is missing: on a user's machine the test prints the reason and passes as a skip; with
/// `WIREWATCH_REQUIRE_SERVICES=1` (set by `.ci/run`) a skip is a failure, so CI always runs it.
pub fn skip(reason: &str) {
    if std::env::var_os("WIREWATCH_REQUIRE_SERVICES").is_some_and(|value| value == "1") {
        panic!("{reason}, and WIREWATCH_REQUIRE_SERVICES=1 makes that a failure");
    }
    eprintln!("SKIPPED: {reason}");
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
        let state = FixtureState {
            root: fixtures().join(root),
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

/// Output of a finished command.
pub struct Output {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

pub async fn wirewatch(arguments: &[&str]) -> Output {
    wirewatch_with_env(arguments, &[]).await
}

/// As [`wirewatch`], with extra environment variables (`${VAR}` values of the config).
pub async fn wirewatch_with_env(arguments: &[&str], environment: &[(&str, &str)]) -> Output {
    let output = tokio::process::Command::new(binary())
        .args(arguments)
        .env("WIREWATCH_LOG", "info")
        .env("NO_COLOR", "1")
        .envs(environment.iter().copied())
        .output()
        .await
        .unwrap();
    Output {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
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

/// `wirewatch run` in the background, its stderr collected line by line; killed on drop.
pub struct Daemon {
    pub child: tokio::process::Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Daemon {
    /// Starts `run` on `config` with extra environment variables.
    pub fn start(config: &Path, environment: &[(&str, &str)]) -> Daemon {
        Daemon::spawn(tokio::process::Command::new(binary()), config, environment)
    }

    /// Like [`Daemon::start`], with the soft and hard open-files limits both set to `limit` (by
    /// `sh`'s `ulimit -n`, which then execs the binary: the pid is the daemon's).
    pub fn start_with_open_files(
        config: &Path,
        environment: &[(&str, &str)],
        limit: u32,
    ) -> Daemon {
        let mut command = tokio::process::Command::new("sh");
        command
            .arg("-c")
            .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
            .arg(binary());
        Daemon::spawn(command, config, environment)
    }

    fn spawn(
        mut command: tokio::process::Command,
        config: &Path,
        environment: &[(&str, &str)],
    ) -> Daemon {
        use tokio::io::{AsyncBufReadExt, BufReader};
        let mut child = command
            .args(["run", "--config", config.to_str().unwrap()])
            .env("NO_COLOR", "1")
            .envs(environment.iter().copied())
            .kill_on_drop(true)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = log.clone();
        let stderr = child.stderr.take().unwrap();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                lines.lock().unwrap().push(line);
            }
        });
        Daemon { child, log }
    }

    /// Starts `run` with `[daemon] listen` on a free loopback port: writes `config(port)` into
    /// `folder` and waits until the daemon says it listens. A port that was taken between the
    /// choice and the bind (the daemon exits with "cannot listen on") is replaced by another, so
    /// the race between choosing a port and binding it cannot fail a test. The configuration
    /// needs the port itself (`public_url` names it), which is why the port is not 0.
    pub async fn start_listening(
        folder: &Path,
        environment: &[(&str, &str)],
        config: impl Fn(u16) -> String,
    ) -> (Daemon, u16, PathBuf) {
        let mut environment: Vec<(&str, &str)> = environment.to_vec();
        if !environment.iter().any(|(name, _)| *name == "WIREWATCH_LOG") {
            environment.push(("WIREWATCH_LOG", "info"));
        }
        for _ in 0..10 {
            let port = free_port();
            let path = write_config(folder, &config(port));
            let mut daemon = Daemon::start(&path, &environment);
            let start = std::time::Instant::now();
            while start.elapsed() < Duration::from_secs(60) {
                if daemon.log_text().contains("HTTP listener: /healthz") {
                    return (daemon, port, path);
                }
                if daemon.child.try_wait().unwrap().is_some() {
                    // let the reader catch the last lines
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let log = daemon.log_text();
            assert!(
                log.contains("cannot listen on"),
                "the daemon did not start listening:\n{log}"
            );
        }
        panic!("no free port after 10 tries");
    }

    /// Sends a signal by name (`TERM`, `HUP`, …).
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().unwrap().to_string();
        assert!(std::process::Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .unwrap()
            .success());
    }

    /// Whether a log line containing `needle` appears before `deadline`.
    pub async fn wait_for_log(&self, needle: &str, deadline: Duration) -> bool {
        let start = std::time::Instant::now();
        while start.elapsed() < deadline {
            if self
                .log
                .lock()
                .unwrap()
                .iter()
                .any(|line| line.contains(needle))
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// The address the listener bound, from its start-up line (`listen = "127.0.0.1:0"` lets
    /// the kernel choose a free port, with no race).
    pub async fn listen_address(&self) -> String {
        assert!(
            self.wait_for_log("HTTP listener: /healthz", Duration::from_secs(60))
                .await,
            "the daemon did not start listening:\n{}",
            self.log_text()
        );
        let log = self.log_text();
        let line = log
            .lines()
            .find(|line| line.contains("HTTP listener: /healthz"))
            .unwrap();
        let (_, rest) = line.split_once("address=").unwrap();
        rest.split_whitespace().next().unwrap().to_string()
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}
