//! The daemon's HTTP listener (`[daemon] listen`): `/healthz` for liveness probes, `/metrics` in
//! the Prometheus/OpenMetrics text format, `/status` as JSON, and `/websub/{id}`, where WebSub
//! hubs verify subscriptions and push content (`daemon::websub_subscriber`). Only the WebSub callbacks change
//! state; everything serves whichever pipeline generation is current (reloads swap it underneath).
//! The web console (`daemon::console`, `[console]`) adds its pages at `/` and its API at `/api/`.
//! Connections are served by `daemon::listener`, which bounds their number and how long they take.

use std::net::SocketAddr;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::listener::Limits;
use super::metrics::StateLabel;
use super::supervisor::Current;

/// Binds the listener (so a port clash is a start-up error) and serves until `shutdown`.
pub async fn serve(
    address: SocketAddr,
    current: watch::Receiver<Current>,
    shutdown: CancellationToken,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    // the console is chosen at start: turning it on or off takes a restart, not a reload
    let console = current.borrow().pipeline.config.console.enabled;
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route(
            "/websub/:id",
            get(super::websub_subscriber::verify).post(super::websub_subscriber::push),
        )
        .merge(if console {
            super::console::routes(current.clone())
        } else {
            Router::new()
        })
        .with_state(current);
    let limits = Limits::for_open_files(super::open_files::soft_limit());
    tracing::info!(
        max_connections = limits.max_connections,
        header_timeout = %humantime::format_duration(limits.header_timeout),
        request_timeout = %humantime::format_duration(limits.request_timeout),
        "HTTP listener limits (connections: a quarter of the open-files limit)"
    );
    let handle = tokio::spawn(super::listener::serve(listener, router, limits, shutdown));
    Ok((bound, handle))
}

/// How long `/healthz` waits for the database to answer before reporting what it knew.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

async fn healthz(State(current): State<watch::Receiver<Current>>) -> Response {
    let current = current.borrow().clone();
    // the answer is in the outage state the probe leaves behind (so a write refused for
    // another reason still shows); a probe hanging on a dead network is cut short there
    let _ = tokio::time::timeout(PROBE_TIMEOUT, current.pipeline.store.probe()).await;
    if let Some(problem) = current.pipeline.store.write_problem() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unhealthy: the state database refuses writes ({problem})\n"),
        )
            .into_response()
    } else if current.liveness.healthy() {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unhealthy: {}\n", current.liveness.counts()),
        )
            .into_response()
    }
}

async fn metrics(State(current): State<watch::Receiver<Current>>) -> Response {
    let current = current.borrow().clone();
    let pipeline = &current.pipeline;
    if let Ok(counts) = pipeline.store.outbox_counts().await {
        for (state, count) in [
            ("pending", counts.pending),
            ("delivered", counts.delivered),
            ("dead", counts.dead),
        ] {
            pipeline
                .metrics
                .outbox
                .get_or_create(&StateLabel {
                    state: state.to_string(),
                })
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        pipeline.metrics.encode(),
    )
        .into_response()
}

async fn status(State(current): State<watch::Receiver<Current>>) -> Response {
    let current = current.borrow().clone();
    let pipeline = &current.pipeline;
    let config = &pipeline.config;
    let states = pipeline.store.source_states().await.unwrap_or_default();
    let mut websub = Vec::with_capacity(config.sources.len());
    for source in &config.sources {
        websub.push(pipeline.websub_status(source).await);
    }
    let sources: Vec<serde_json::Value> = config
        .sources
        .iter()
        .zip(websub)
        .map(|(source, websub)| {
            let state = states.iter().find(|state| state.source == source.name);
            serde_json::json!({
                "name": source.name,
                "kind": source.kind.name(),
                "url": source.url.as_str(),
                "interval_seconds": source.interval.as_secs(),
                "last_polled_at": state.and_then(|s| s.last_polled_at).map(rfc3339),
                "last_success_at": state.and_then(|s| s.last_success_at).map(rfc3339),
                "consecutive_failures": state.map_or(0, |s| s.consecutive_failures),
                "last_error": state.and_then(|s| s.last_error.clone()),
                "websub": websub,
            })
        })
        .collect();
    let outbox = pipeline.store.outbox_counts().await.unwrap_or_default();
    // counted on each request: a scan per table, fine for an operator's look, not for polling
    // /status every second on a database of millions of rows
    let database = pipeline.store.database_size().await.ok().map(|size| {
        serde_json::json!({
            "bytes": size.bytes,
            "tables": size.tables.iter().map(|table| serde_json::json!({
                "name": table.name, "rows": table.rows, "bytes": table.bytes,
            })).collect::<Vec<_>>(),
        })
    });
    let loops = current.liveness.counts();
    let store_problem = pipeline.store.write_problem();
    let cluster = pipeline.cluster_status().await;
    Json(serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "started_at": current.started_at.to_rfc3339(),
        "reloads": current.reloads,
        "healthy": current.liveness.healthy() && store_problem.is_none(),
        "state_database_error": store_problem,
        "loops": {
            "sources_alive": loops.polling.0,
            "sinks_alive": loops.delivery.0,
            "websub_alive": loops.websub.0,
        },
        "sources": sources,
        "watchlists": config.watchlists.iter().map(|w| serde_json::json!({"name": w.name, "query": w.query_text, "sinks": w.sinks})).collect::<Vec<_>>(),
        "sinks": config.sinks.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        "outbox": { "pending": outbox.pending, "delivered": outbox.delivered, "dead": outbox.dead },
        "database": database,
        "cluster": cluster,
    }))
    .into_response()
}

fn rfc3339(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}
