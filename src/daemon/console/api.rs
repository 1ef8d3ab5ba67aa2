//! `/api/…`: the console's data as JSON, for its live parts and for scripts. Each answer is the
//! struct the matching page renders (`views`, `playground`), so page and API never disagree.
//! Read-only; the same token rules as the pages (a bearer header where one is needed).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::super::now_millis;
use super::pages::PlaygroundQuery;
use super::views::{self, AlertFilter};
use super::{playground, Shared};
use crate::store::StoreError;

fn answer<T: serde::Serialize>(result: Result<T, StoreError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "error": format!("the state database did not answer: {error}") })),
        )
            .into_response(),
    }
}

pub async fn overview(State(current): State<Shared>) -> Response {
    let current = current.borrow().clone();
    answer(views::overview(&current, now_millis()).await)
}

pub async fn sources(State(current): State<Shared>) -> Response {
    let current = current.borrow().clone();
    answer(views::sources(&current, now_millis()).await)
}

pub async fn alerts(State(current): State<Shared>, Query(filter): Query<AlertFilter>) -> Response {
    let current = current.borrow().clone();
    match views::alerts(&current, &filter, now_millis()).await {
        Ok(Err(problem)) => (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({ "error": problem })),
        )
            .into_response(),
        other => answer(other.map(|alerts| alerts.unwrap_or_default())),
    }
}

pub async fn alert(State(current): State<Shared>, Path(id): Path<String>) -> Response {
    let current = current.borrow().clone();
    match views::alert(&current, &id, now_millis()).await {
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "error": "no such alert" })),
        )
            .into_response(),
        other => answer(other),
    }
}

pub async fn playground(
    State(current): State<Shared>,
    Query(query): Query<PlaygroundQuery>,
) -> Response {
    let current = current.borrow().clone();
    answer(
        playground::corpus(&current.pipeline.store)
            .await
            .map(|corpus| {
                playground::run(&query.q, &query.name, query.explain.as_deref(), &corpus)
            }),
    )
}
