//! What the pages and the JSON API show, gathered from the store and the config into plain
//! serializable structs: a page renders one of these through its template, and `/api/…` returns
//! the same struct as JSON, so both always agree.
//!
//! Read-only, and nothing secret gets in: sinks appear by name and kind only (never a URL,
//! token or password), and text from feeds stays text (the templates escape it).

use std::collections::BTreeMap;

use serde::Serialize;

use super::super::source_status::{ago, source_status, SourceStatus};
use super::super::supervisor::Current;
use super::highlight::{parts, Part};
use crate::store::{AlertRow, Millis, StoreError};

pub const DAY: Millis = 86_400_000;

#[derive(Debug, Serialize)]
pub struct SourceView {
    pub name: String,
    pub kind: &'static str,
    pub url: String,
    /// healthy, failing, silent (too long), never polled
    pub state: &'static str,
    pub last_success: String,
    pub failures: u32,
    pub last_error: Option<String>,
    pub next_poll: String,
    pub websub: String,
}

#[derive(Debug, Serialize)]
pub struct DeliveryView {
    pub sink: String,
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AlertView {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub watchlist: String,
    pub source: String,
    pub article_url: String,
    pub created: String,
    pub created_at: Millis,
    pub deliveries: Vec<DeliveryView>,
}

#[derive(Debug, Serialize)]
pub struct SinkView {
    pub name: String,
    pub kind: String,
    pub pending: u64,
    pub dead: u64,
}

#[derive(Debug, Serialize)]
pub struct Overview {
    pub sources: Vec<SourceView>,
    pub healthy: usize,
    pub failing: usize,
    pub silent: usize,
    /// Alerts of the last 24 hours per watchlist, every configured watchlist listed.
    pub last_day: Vec<(String, usize)>,
    pub sinks: Vec<SinkView>,
    pub recent: Vec<AlertView>,
}

fn when(now: Millis, at: Option<Millis>, never: &str) -> String {
    match at {
        None => never.to_string(),
        Some(at) if at > now => format!(
            "in {}",
            super::super::source_status::short(std::time::Duration::from_millis(
                u64::try_from(at - now).unwrap_or(0)
            ))
        ),
        Some(at) => ago(now, at),
    }
}

fn sink_kind(kind: &crate::config::SinkKind) -> &'static str {
    use crate::config::SinkKind;
    match kind {
        SinkKind::Webhook { .. } => "webhook",
        SinkKind::Log => "log",
        SinkKind::Chat { .. } => "chat",
        SinkKind::Email { .. } => "email",
        SinkKind::Nats { .. } => "nats",
    }
}

pub fn time_text(at: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(at)
        .map(|time| time.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn source_view(status: SourceStatus, now: Millis) -> SourceView {
    let state = if status.unhealthy || status.failures > 0 {
        "failing"
    } else if status.last_success.is_none() {
        "never polled"
    } else if status.silent_too_long {
        "silent"
    } else {
        "healthy"
    };
    SourceView {
        name: status.name,
        kind: status.kind,
        url: status.url,
        state,
        last_success: when(now, status.last_success, "never"),
        failures: status.failures,
        last_error: status.last_error,
        next_poll: when(now, status.next_poll, "-"),
        websub: match status.websub {
            None => "-".to_string(),
            Some((state, Some(until))) => format!("{state} (lease {})", when(now, Some(until), "")),
            Some((state, None)) => state.to_string(),
        },
    }
}

pub async fn sources(current: &Current, now: Millis) -> Result<Vec<SourceView>, StoreError> {
    let pipeline = &current.pipeline;
    let time = chrono::DateTime::from_timestamp_millis(now).unwrap_or_default();
    let rows = source_status(&pipeline.config, &pipeline.store, time).await?;
    Ok(rows.into_iter().map(|row| source_view(row, now)).collect())
}

/// One view per alert from rows of one alert per sink (`list_alerts` orders them by alert).
pub fn group(rows: Vec<AlertRow>, now: Millis) -> Vec<AlertView> {
    let mut alerts: Vec<AlertView> = Vec::new();
    for row in rows {
        let delivery = DeliveryView {
            sink: row.sink,
            state: row.state,
            attempts: row.attempts,
            last_error: row.last_error,
        };
        match alerts.last_mut() {
            Some(last) if last.id == row.alert_id => last.deliveries.push(delivery),
            _ => alerts.push(AlertView {
                id: row.alert_id,
                kind: row.kind,
                title: row.title,
                watchlist: row.watchlist,
                source: row.source,
                article_url: row.article_url,
                created: ago(now, row.created_at),
                created_at: row.created_at,
                deliveries: vec![delivery],
            }),
        }
    }
    alerts
}

pub async fn overview(current: &Current, now: Millis) -> Result<Overview, StoreError> {
    let pipeline = &current.pipeline;
    let config = &pipeline.config;
    let store = &pipeline.store;
    let sources = sources(current, now).await?;
    let count = |state: &str| {
        sources
            .iter()
            .filter(|source| source.state == state)
            .count()
    };
    let (healthy, failing, silent) = (count("healthy"), count("failing"), count("silent"));
    let day = group(store.list_alerts(false, now - DAY, 10_000).await?, now);
    let mut last_day: BTreeMap<String, usize> = config
        .watchlists
        .iter()
        .map(|watchlist| (watchlist.name.clone(), 0))
        .collect();
    for alert in day
        .iter()
        .filter(|alert| alert.kind == crate::alert::ALERT_TYPE)
    {
        *last_day.entry(alert.watchlist.clone()).or_default() += 1;
    }
    let pending: BTreeMap<String, u64> = store.pending_by_sink().await?.into_iter().collect();
    let mut dead: BTreeMap<String, u64> = BTreeMap::new();
    for row in store.list_alerts(true, 0, 100_000).await? {
        *dead.entry(row.sink).or_default() += 1;
    }
    let sinks = config
        .sinks
        .iter()
        .map(|sink| SinkView {
            name: sink.name.clone(),
            kind: sink_kind(&sink.kind).to_string(),
            pending: pending.get(&sink.name).copied().unwrap_or(0),
            dead: dead.get(&sink.name).copied().unwrap_or(0),
        })
        .collect();
    let recent = group(store.list_alerts(false, 0, 60).await?, now)
        .into_iter()
        .take(15)
        .collect();
    Ok(Overview {
        sources,
        healthy,
        failing,
        silent,
        last_day: last_day.into_iter().collect(),
        sinks,
        recent,
    })
}

/// The filters of the alerts page, from its query string.
#[derive(Debug, Default, serde::Deserialize, Serialize)]
pub struct AlertFilter {
    pub watchlist: Option<String>,
    pub sink: Option<String>,
    pub state: Option<String>,
    /// "24h", "7d": only alerts created within this long.
    pub since: Option<String>,
}

/// A filter's value, if one was chosen (an empty field means any).
fn wanted(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|text| !text.is_empty())
}

pub async fn alerts(
    current: &Current,
    filter: &AlertFilter,
    now: Millis,
) -> Result<Result<Vec<AlertView>, String>, StoreError> {
    let since = match filter
        .since
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
    {
        None => 0,
        Some(text) => match crate::config::parse_duration(text) {
            Ok(duration) => now - i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 2),
            Err(message) => return Ok(Err(format!("since: {message}"))),
        },
    };
    let dead_only = wanted(&filter.state) == Some("dead");
    let rows = current
        .pipeline
        .store
        .list_alerts(dead_only, since, 2_000)
        .await?
        .into_iter()
        .filter(|row| wanted(&filter.watchlist).is_none_or(|name| row.watchlist == name))
        .filter(|row| wanted(&filter.sink).is_none_or(|name| row.sink == name))
        .filter(|row| wanted(&filter.state).is_none_or(|state| row.state == state))
        .collect();
    Ok(Ok(group(rows, now)))
}

#[derive(Debug, Serialize)]
pub struct HitView {
    pub term: String,
    pub field: String,
    pub snippet: Vec<Part>,
}

#[derive(Debug, Serialize)]
pub struct AlertDetail {
    pub alert: AlertView,
    pub hits: Vec<HitView>,
    /// The article as extracted (the document the alert was built from).
    pub document: String,
    pub story: Vec<(String, String)>,
}

pub async fn alert(
    current: &Current,
    id: &str,
    now: Millis,
) -> Result<Option<AlertDetail>, StoreError> {
    let store = &current.pipeline.store;
    let Some(stored) = store
        .stored_alerts(Some(id), 0, 1)
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let rows: Vec<AlertRow> = store
        .list_alerts(false, stored.created_at, 10_000)
        .await?
        .into_iter()
        .filter(|row| row.alert_id == id)
        .collect();
    let Some(alert) = group(rows, now).into_iter().next() else {
        return Ok(None);
    };
    let payload: serde_json::Value = serde_json::from_str(&stored.payload).unwrap_or_default();
    let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_string();
    let hits = payload["matches"]
        .as_array()
        .map(|matches| {
            matches
                .iter()
                .map(|hit| HitView {
                    term: text(&hit["term"]),
                    field: text(&hit["field"]),
                    snippet: parts(hit["snippet"].as_str().unwrap_or_default()),
                })
                .collect()
        })
        .unwrap_or_default();
    let document = match payload["article"]["text"].as_str() {
        Some(document) => document.to_string(),
        // source-health messages carry no article: show what they do carry
        None => serde_json::to_string_pretty(&payload).unwrap_or_default(),
    };
    let story = store.story_links(id).await?;
    Ok(Some(AlertDetail {
        alert,
        hits,
        document,
        story,
    }))
}
