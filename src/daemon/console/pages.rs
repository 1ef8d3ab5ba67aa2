//! The HTML pages: each handler gathers its data (`views`, `playground`) and renders its
//! template with the fields every page shares (who is asking, the CSRF field, the version).
//! The two actions and the login live here too; they answer with a page, never a bare error.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use minijinja::context;
use serde::Deserialize;

use super::super::now_millis;
use super::super::supervisor::Current;
use super::auth::{self, Access};
use super::views::{self, AlertFilter, DAY};
use super::{playground, render, Shared};
use crate::store::StoreError;

/// The fields of the base layout.
fn base(
    current: &Current,
    access: &Access,
    page: &str,
    notice: Option<String>,
) -> minijinja::Value {
    let token = current.pipeline.config.console.token.as_ref();
    let operator = matches!(access, Access::Operator { .. });
    context! {
        version => env!("CARGO_PKG_VERSION"),
        page,
        operator,
        token_set => token.is_some(),
        // only an operator's pages carry it: it is all a form needs besides the cookie
        csrf => token.filter(|_| operator).map(|token| auth::csrf_value(token.expose())),
        notice,
    }
}

fn unavailable(error: StoreError) -> Response {
    tracing::warn!(%error, "console: the state database did not answer");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the state database did not answer: {error}\n"),
    )
        .into_response()
}

fn not_found(what: &str) -> Response {
    (StatusCode::NOT_FOUND, format!("{what}\n")).into_response()
}

pub async fn overview(
    State(current): State<Shared>,
    Extension(access): Extension<Access>,
) -> Response {
    let current = current.borrow().clone();
    overview_with(&current, &access, None).await
}

async fn overview_with(current: &Current, access: &Access, notice: Option<String>) -> Response {
    match views::overview(current, now_millis()).await {
        Ok(data) => render(
            "overview.html",
            context! { data, ..base(current, access, "overview", notice) },
        ),
        Err(error) => unavailable(error),
    }
}

pub async fn sources(
    State(current): State<Shared>,
    Extension(access): Extension<Access>,
) -> Response {
    let current = current.borrow().clone();
    match views::sources(&current, now_millis()).await {
        Ok(data) => render(
            "sources.html",
            context! { data, ..base(&current, &access, "sources", None) },
        ),
        Err(error) => unavailable(error),
    }
}

/// Days shown on a source's page.
const SOURCE_DAYS: i64 = 14;

pub async fn source(
    State(current): State<Shared>,
    Extension(access): Extension<Access>,
    Path(name): Path<String>,
) -> Response {
    let current = current.borrow().clone();
    let now = now_millis();
    let sources = match views::sources(&current, now).await {
        Ok(sources) => sources,
        Err(error) => return unavailable(error),
    };
    let Some(source) = sources.into_iter().find(|source| source.name == name) else {
        return not_found("no such source in the config");
    };
    let since = now - SOURCE_DAYS * DAY;
    let rows = match current
        .pipeline
        .store
        .list_alerts(false, since, 10_000)
        .await
    {
        Ok(rows) => rows.into_iter().filter(|row| row.source == name).collect(),
        Err(error) => return unavailable(error),
    };
    let alerts = views::group(rows, now);
    let mut days: BTreeMap<String, usize> = (0..SOURCE_DAYS)
        .map(|back| (views::time_text(now - back * DAY)[..10].to_string(), 0))
        .collect();
    for alert in &alerts {
        *days
            .entry(views::time_text(alert.created_at)[..10].to_string())
            .or_default() += 1;
    }
    let days: Vec<(String, usize)> = days.into_iter().rev().collect();
    let busiest = days
        .iter()
        .map(|(_, count)| *count)
        .max()
        .unwrap_or(0)
        .max(1);
    let data = context! { source, alerts, days, busiest };
    render(
        "source.html",
        context! { data, ..base(&current, &access, "sources", None) },
    )
}

pub async fn alerts(
    State(current): State<Shared>,
    Extension(access): Extension<Access>,
    Query(filter): Query<AlertFilter>,
) -> Response {
    let current = current.borrow().clone();
    let config = &current.pipeline.config;
    let (alerts, error) = match views::alerts(&current, &filter, now_millis()).await {
        Ok(Ok(alerts)) => (alerts, None),
        Ok(Err(problem)) => (Vec::new(), Some(problem)),
        Err(error) => return unavailable(error),
    };
    let watchlists: Vec<&str> = config.watchlists.iter().map(|w| w.name.as_str()).collect();
    let sinks: Vec<&str> = config.sinks.iter().map(|s| s.name.as_str()).collect();
    render(
        "alerts.html",
        context! { alerts, error, filter, watchlists, sinks, ..base(&current, &access, "alerts", None) },
    )
}

pub async fn alert(
    State(current): State<Shared>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
) -> Response {
    let current = current.borrow().clone();
    alert_with(&current, &access, &id, None).await
}

async fn alert_with(
    current: &Current,
    access: &Access,
    id: &str,
    notice: Option<String>,
) -> Response {
    match views::alert(current, id, now_millis()).await {
        Ok(Some(data)) => render(
            "alert.html",
            context! { data, ..base(current, access, "alerts", notice) },
        ),
        Ok(None) => not_found("no such alert"),
        Err(error) => unavailable(error),
    }
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    csrf: Option<String>,
}

/// The refusal page of an action, or `None` when it may run.
fn refused(
    current: &Current,
    access: &Access,
    headers: &axum::http::HeaderMap,
    form: &ActionForm,
) -> Option<Response> {
    let reason = auth::action_refusal(
        &current.pipeline.config,
        access,
        headers,
        form.csrf.as_deref(),
    )?;
    Some(
        (
            StatusCode::FORBIDDEN,
            render_notice(current, access, reason),
        )
            .into_response(),
    )
}

fn render_notice(current: &Current, access: &Access, notice: &str) -> Response {
    render(
        "login.html",
        context! { next => "/", ..base(current, access, "", Some(notice.to_string())) },
    )
}

pub async fn replay(
    State(current): State<Shared>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    let current = current.borrow().clone();
    if let Some(refusal) = refused(&current, &access, &headers, &form) {
        return refusal;
    }
    let pipeline = &current.pipeline;
    match pipeline.store.requeue_alert(&id, now_millis()).await {
        Ok(0) => not_found("no such alert"),
        Ok(count) => {
            tracing::info!(alert = %id, deliveries = count, "console: alert queued again");
            for slot in pipeline.sinks.values() {
                slot.wake.notify_one();
            }
            let notice = format!("Queued again for {count} sink(s).");
            alert_with(&current, &access, &id, Some(notice)).await
        }
        Err(error) => unavailable(error),
    }
}

pub async fn test_sink(
    State(current): State<Shared>,
    Extension(access): Extension<Access>,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    let current = current.borrow().clone();
    if let Some(refusal) = refused(&current, &access, &headers, &form) {
        return refusal;
    }
    let Some(slot) = current.pipeline.sinks.get(&name) else {
        return not_found("no such sink in the config");
    };
    let notice = match crate::alert::sample_payload(&name, chrono::Utc::now()) {
        Err(error) => format!("{name}: no sample alert ({error})"),
        Ok((id, payload)) => match slot.sink.deliver(&id, &payload, None).await {
            crate::sink::Outcome::Delivered => format!("{name}: accepted test alert {id}"),
            crate::sink::Outcome::Retry { error, .. } => {
                format!("{name}: not accepted ({error}); wirewatch would retry this")
            }
            crate::sink::Outcome::Permanent { error } | crate::sink::Outcome::Gone { error } => {
                format!("{name}: refused ({error}); wirewatch would not retry this")
            }
        },
    };
    overview_with(&current, &access, Some(notice)).await
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// Only a path of this site: `next` must not send a user elsewhere after logging in.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

pub async fn login_form(
    State(current): State<Shared>,
    Extension(access): Extension<Access>,
    Query(query): Query<LoginQuery>,
) -> Response {
    let current = current.borrow().clone();
    let next = local_path(query.next.as_deref());
    render(
        "login.html",
        context! { next, ..base(&current, &access, "login", None) },
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    token: String,
    next: Option<String>,
}

pub async fn login(
    State(current): State<Shared>,
    Extension(access): Extension<Access>,
    Form(form): Form<LoginForm>,
) -> Response {
    let current = current.borrow().clone();
    let next = local_path(form.next.as_deref());
    let Some(token) = current.pipeline.config.console.token.as_ref() else {
        return Redirect::to(&next).into_response();
    };
    if !auth::same(form.token.trim(), token.expose()) {
        tracing::warn!("console: a login with a wrong token");
        let page = render(
            "login.html",
            context! { next, ..base(&current, &access, "login", Some("That is not the console token.".to_string())) },
        );
        return (StatusCode::FORBIDDEN, page).into_response();
    }
    let cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Strict",
        auth::SESSION_COOKIE,
        auth::session_value(token.expose())
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}

pub async fn logout() -> Response {
    let cookie = format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
        auth::SESSION_COOKIE
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

#[derive(Debug, Default, Deserialize)]
pub struct PlaygroundQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub name: String,
    pub explain: Option<String>,
    /// Only the results (what the page's script swaps in as you type).
    pub fragment: Option<String>,
}

pub async fn playground(
    State(current): State<Shared>,
    Extension(access): Extension<Access>,
    Query(query): Query<PlaygroundQuery>,
) -> Response {
    let current = current.borrow().clone();
    let corpus = match playground::corpus(&current.pipeline.store).await {
        Ok(corpus) => corpus,
        Err(error) => return unavailable(error),
    };
    let outcome = playground::run(&query.q, &query.name, query.explain.as_deref(), &corpus);
    let page = if query.fragment.is_some() {
        "results.html"
    } else {
        "playground.html"
    };
    render(
        page,
        context! { outcome, ..base(&current, &access, "playground", None) },
    )
}
