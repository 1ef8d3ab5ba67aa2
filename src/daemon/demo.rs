//! `wirewatch demo`: the real pipeline, offline, in seconds. An in-process server on 127.0.0.1
//! plays the internet (bundled real feeds and article pages) and a webhook receiver; a sample
//! config watches them; one `once` pass runs; each alert is printed as the receiver gets it.
//!
//! Nothing here is a mock: the same fetcher, parsers, extractor, matcher, SQLite outbox and
//! signed webhook sink as in production run against real HTTP over loopback. The state lives in
//! a temporary folder that is removed afterwards.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::mpsc;

use super::{once, Metrics, Pipeline, State as DaemonState};
use crate::config::Config;

/// The bundled "internet": captured publisher content from the test fixtures (demo use only).
const FEEDS: &[(&str, &[u8])] = &[
    (
        "world.rss",
        include_bytes!("../../tests/fixtures/e2e/feeds/world.rss"),
    ),
    (
        "nytimes.xml",
        include_bytes!("../../tests/fixtures/e2e/feeds/nytimes.xml"),
    ),
];
const PAGES: &[(&str, &[u8])] = &[
    (
        "nytimes-sudan.html",
        include_bytes!("../../tests/fixtures/e2e/pages/nytimes-sudan.html.gz"),
    ),
    (
        "wapo-tunisia.html",
        include_bytes!("../../tests/fixtures/e2e/pages/wapo-tunisia.html.gz"),
    ),
    (
        "telegraph-mugabe.html",
        include_bytes!("../../tests/fixtures/e2e/pages/telegraph-mugabe.html.gz"),
    ),
    (
        "lemonde-renseignement.html",
        include_bytes!("../../tests/fixtures/e2e/pages/lemonde-renseignement.html.gz"),
    ),
    (
        "moscow-times-putin-china.html",
        include_bytes!("../../tests/fixtures/e2e/pages/moscow-times-putin-china.html.gz"),
    ),
];

/// `println!` that tolerates a closed stdout (`wirewatch demo | head`) instead of panicking.
macro_rules! say {
    ($($argument:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($argument)*);
    }};
}

const CONFIG: &str = r#"
[daemon]
state_dir = "{{STATE}}"
listen = "off"

[fetch]
allow_private_networks = true   # the demo's "internet" is 127.0.0.1

[sources.world-desk]
url = "{{BASE}}/feeds/world.rss"
max_age = "none"

[sources.nytimes]
url = "{{BASE}}/feeds/nytimes.xml"
fetch_article = false
max_age = "none"

[watchlists.russia-china]
query = '(Putin OR Kremlin) AND (China OR "Xi Jinping")'

[watchlists.africa]
query = 'Sudan OR Tunisia OR Zimbabwe'

[sinks.receiver]
kind = "webhook"
url = "{{BASE}}/hook"
secret = "whsec_ZGVtby1zZWNyZXQtd2lyZXdhdGNoLWRlbW8h"
"#;

#[derive(Clone)]
struct Demo {
    base: Arc<String>,
    alerts: mpsc::UnboundedSender<serde_json::Value>,
}

async fn feed(State(demo): State<Demo>, UrlPath(name): UrlPath<String>) -> Response {
    match FEEDS.iter().find(|(file, _)| *file == name) {
        Some((_, bytes)) => {
            let text = String::from_utf8_lossy(bytes).replace("{{BASE}}", &demo.base);
            ([("content-type", "application/xml")], text).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn page(UrlPath(name): UrlPath<String>) -> Response {
    match PAGES.iter().find(|(file, _)| *file == name) {
        Some((_, bytes)) => (
            [("content-type", "text/html"), ("content-encoding", "gzip")],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn hook(State(demo): State<Demo>, body: Bytes) -> StatusCode {
    match serde_json::from_slice(&body) {
        Ok(alert) => {
            let _ = demo.alerts.send(alert);
            StatusCode::NO_CONTENT
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

/// Runs the demo, printing to stdout; returns the number of alerts received.
pub async fn run() -> Result<usize, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|error| format!("cannot open a loopback port: {error}"))?;
    let address = listener.local_addr().map_err(|error| error.to_string())?;
    let base = format!("http://{address}");
    let (sender, mut received) = mpsc::unbounded_channel();
    let end_marker = sender.clone();
    let demo = Demo {
        base: Arc::new(base.clone()),
        alerts: sender,
    };
    let router = Router::new()
        .route("/feeds/:name", get(feed))
        .route("/pages/:name", get(page))
        .route("/hook", post(hook))
        .with_state(demo);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });

    let state_dir = std::env::temp_dir().join(format!("wirewatch-demo-{}", std::process::id()));
    let text = CONFIG.replace("{{BASE}}", &base).replace(
        "{{STATE}}",
        &state_dir.display().to_string().replace('\\', "/"),
    );
    let config = Config::parse(
        &text,
        std::path::Path::new("demo.toml"),
        &state_dir,
        &|_| None,
    )
    .map_err(|error| error.to_string())?;
    say!("wirewatch demo — offline: a local server on {base} serves 2 real feeds and 5 real article pages.");
    say!("Watchlists: russia-china = (Putin OR Kremlin) AND (China OR \"Xi Jinping\"); africa = Sudan OR Tunisia OR Zimbabwe");
    say!("Each alert below is what the demo's webhook receiver got (signed, Standard Webhooks).\n");

    let printer = tokio::spawn(async move {
        let mut count = 0;
        // every delivery was answered before `once` returned, so everything sent before the end
        // marker is all there is
        while let Some(alert) = received.recv().await {
            if alert.is_null() {
                break;
            }
            count += 1;
            print_alert(count, &alert);
        }
        count
    });
    let result = async {
        let state = DaemonState::open(&config)
            .await
            .map_err(|error| error.to_string())?;
        let pipeline = Pipeline::build(config, Arc::clone(&state.store), Arc::new(Metrics::new()))
            .map_err(|error| error.to_string())?;
        let summary = once(Arc::new(pipeline)).await;
        Ok::<_, String>(summary)
    }
    .await;
    let _ = end_marker.send(serde_json::Value::Null);
    let count = printer.await.unwrap_or(0);
    server.abort();
    let _ = std::fs::remove_dir_all(&state_dir);
    let summary = result?;
    say!("{summary}");
    say!("\nNext: edit config/wirewatch.toml, then `wirewatch check --config config/wirewatch.toml` and `wirewatch run --config config/wirewatch.toml`.");
    Ok(count)
}

fn print_alert(number: usize, alert: &serde_json::Value) {
    let text = |pointer: &str| {
        alert
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .unwrap_or("")
    };
    say!(
        "━━ alert {number} · watchlist {} · source {}",
        text("/watchlist"),
        text("/source")
    );
    say!("   id {}", text("/id"));
    let terms: Vec<String> = alert
        .pointer("/matches")
        .and_then(|m| m.as_array())
        .map(|matches| {
            matches
                .iter()
                .map(|m| {
                    format!(
                        "{} ({})",
                        m["term"].as_str().unwrap_or(""),
                        m["field"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    say!("   matched: {}", terms.join(", "));
    if let Some(snippet) = alert.pointer("/matches/0/snippet").and_then(|s| s.as_str()) {
        say!("   “{snippet}”");
    }
    for line in text("/article/text")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .take(6)
    {
        let shown: String = line.chars().take(110).collect();
        let ellipsis = if line.chars().count() > 110 {
            "…"
        } else {
            ""
        };
        say!("   │ {shown}{ellipsis}");
    }
    say!("   │ …");
    say!("   └ {}\n", text("/article/url"));
}
