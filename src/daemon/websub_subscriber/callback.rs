//! The listener's side of WebSub, at `/websub/{callback id}`: the hub's verification of intent
//! (GET: echo `hub.challenge` for a subscription we asked for, 404 for anything else), its denial
//! notifications, and content distribution (POST: check `X-Hub-Signature` against the
//! subscription's secret, store the body, answer).
//!
//! It answers quickly and does no parsing or matching: a verified body is stored in the inbox
//! and processed by the push task after the hub has its answer. A push whose signature does not
//! verify is acknowledged (2xx, as the spec allows) but ignored, logged at WARN and counted.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;
use tracing::{error, info, warn};

use super::INBOX_LIMIT;
use crate::daemon::now_millis;
use crate::daemon::supervisor::Current;
use crate::websub;

/// `GET /websub/{id}`: verification of intent, or a denial.
pub async fn verify(
    State(current): State<watch::Receiver<Current>>,
    Path(callback_id): Path<String>,
    Query(parameters): Query<HashMap<String, String>>,
) -> Response {
    let pipeline = current.borrow().pipeline.clone();
    let not_found = || (StatusCode::NOT_FOUND, "no such subscription\n").into_response();
    let Some((source, subscription)) = pipeline.websub_lookup(&callback_id).await else {
        info!(callback = %callback_id, "WebSub verification for an unknown subscription refused");
        return not_found();
    };
    let parameter = |name: &str| parameters.get(name).map(String::as_str);
    if parameter("hub.topic") != Some(subscription.topic.as_str()) {
        warn!(source = %source.name, topic = parameter("hub.topic").unwrap_or(""), expected = %subscription.topic, "WebSub verification for another topic refused");
        return not_found();
    }
    let now = now_millis();
    match parameter("hub.mode") {
        Some("subscribe") => {
            let Some(challenge) = parameter("hub.challenge").filter(|text| !text.is_empty()) else {
                return (StatusCode::BAD_REQUEST, "hub.challenge is missing\n").into_response();
            };
            let lease = websub::granted_lease(parameter("hub.lease_seconds"));
            let expires_at = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(0));
            if let Err(store_error) = pipeline
                .store
                .websub_verified(&subscription.callback_id, now, expires_at)
                .await
            {
                // not confirmed: the hub retries or the subscription is requested again
                error!(source = %source.name, error = %store_error, "cannot record the WebSub verification");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            info!(source = %source.name, hub = %subscription.hub, lease = %humantime::format_duration(lease), "WebSub subscription verified");
            pipeline.websub_wake.notify_one();
            (
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                challenge.to_string(),
            )
                .into_response()
        }
        Some("denied") => {
            let reason = parameter("hub.reason").unwrap_or("no reason given");
            if let Err(store_error) = pipeline
                .store
                .websub_denied(&subscription.callback_id, now, reason)
                .await
            {
                error!(source = %source.name, error = %store_error, "cannot record the WebSub denial");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            warn!(source = %source.name, hub = %subscription.hub, reason, "the hub denied the WebSub subscription; polling at the normal rate, asking again in a day");
            pipeline.wake_poll(&source.name);
            pipeline.websub_wake.notify_one();
            StatusCode::OK.into_response()
        }
        // wirewatch never unsubscribes, so such a request did not come from it
        Some("unsubscribe") => not_found(),
        _ => (StatusCode::BAD_REQUEST, "unknown hub.mode\n").into_response(),
    }
}

/// `POST /websub/{id}`: content distribution.
pub async fn push(
    State(current): State<watch::Receiver<Current>>,
    Path(callback_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let pipeline = current.borrow().pipeline.clone();
    let Some((source, subscription)) = pipeline.websub_lookup(&callback_id).await else {
        info!(callback = %callback_id, "pushed content for an unknown subscription refused (410 Gone tells the hub to drop it)");
        pipeline.count_push("", "unknown_subscription");
        return (StatusCode::GONE, "no such subscription\n").into_response();
    };
    let limit = usize::try_from(pipeline.config.fetch.max_feed_size).unwrap_or(usize::MAX);
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(body) => body,
        Err(read_error) => {
            warn!(source = %source.name, error = %read_error, limit, "pushed content not read (larger than fetch.max_feed_size, or cut off)");
            pipeline.count_push(&source.name, "too_large");
            return StatusCode::PAYLOAD_TOO_LARGE.into_response();
        }
    };
    let signature = headers
        .get("x-hub-signature")
        .and_then(|value| value.to_str().ok());
    if let Err(problem) =
        websub::verify_signature(signature, subscription.secret.expose().as_bytes(), &body)
    {
        warn!(source = %source.name, hub = %subscription.hub, %problem, "pushed content ignored");
        pipeline.count_push(&source.name, "bad_signature");
        // acknowledged all the same, as the spec allows: a forger learns nothing
        return StatusCode::ACCEPTED.into_response();
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    match pipeline
        .store
        .websub_enqueue(&source.name, content_type, &body, now_millis(), INBOX_LIMIT)
        .await
    {
        Ok(true) => {
            pipeline.count_push(&source.name, "accepted");
            pipeline.inbox_wake.notify_one();
            StatusCode::ACCEPTED.into_response()
        }
        Ok(false) => {
            warn!(source = %source.name, waiting = INBOX_LIMIT, "too much pushed content waiting; the hub is asked to retry later");
            pipeline.count_push(&source.name, "deferred");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "60")],
            )
                .into_response()
        }
        Err(store_error) => {
            // not stored, so not acknowledged: the hub delivers it again
            error!(source = %source.name, error = %store_error, "cannot store pushed content");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
