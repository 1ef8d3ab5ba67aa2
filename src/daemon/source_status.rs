//! `wirewatch sources`: each configured source's health and schedule as the state database
//! records it (last success, consecutive failures, last error, how long it has been silent,
//! next poll, WebSub subscription), as rows and as a plain-text table.
//!
//! Read-only: it neither polls nor takes the state directory's lock, so it runs beside the
//! daemon (SQLite's WAL lets it read while the daemon writes).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::health::{instant, stored_rhythm};
use crate::config::Config;
use crate::schedule;
use crate::store::{Millis, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStatus {
    pub name: String,
    pub kind: &'static str,
    pub url: String,
    pub last_success: Option<Millis>,
    pub failures: u32,
    pub last_error: Option<String>,
    /// Since the last new entry (never polled or never a new entry: `None`).
    pub silent_for: Option<Duration>,
    /// Silent longer than the source's entry rhythm explains.
    pub silent_too_long: bool,
    pub next_poll: Option<Millis>,
    pub unhealthy: bool,
    /// The WebSub subscription's state (`active`, `pending`, …) and lease end; `None` when the
    /// source takes no pushes or its feed advertises no hub.
    pub websub: Option<(&'static str, Option<Millis>)>,
}

pub async fn source_status(
    config: &Config,
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Vec<SourceStatus>, StoreError> {
    let mut rows = Vec::with_capacity(config.sources.len());
    for source in &config.sources {
        let health = store.source_health(&source.name).await?.unwrap_or_default();
        let last_new = health.last_new_entry_at.and_then(instant);
        let silent_for = last_new.map(|last| (now - last).to_std().unwrap_or(Duration::ZERO));
        let silent_too_long = match (stored_rhythm(&health), last_new) {
            (Some(rhythm), Some(last)) => schedule::is_silent(&rhythm, last, now),
            _ => false,
        };
        let websub = if source.websub {
            store
                .websub_subscription(&source.name)
                .await?
                .map(|subscription| {
                    let status = crate::websub::status(&subscription.facts, now.timestamp_millis());
                    let expires_at = match status {
                        crate::websub::Status::Active { expires_at } => Some(expires_at),
                        _ => None,
                    };
                    (status.name(), expires_at)
                })
        } else {
            None
        };
        rows.push(SourceStatus {
            name: source.name.clone(),
            kind: source.kind.name(),
            url: source.url.to_string(),
            last_success: health.last_success_at,
            failures: health.consecutive_failures,
            last_error: health.last_error,
            silent_for,
            silent_too_long,
            next_poll: health.next_poll_at,
            unhealthy: health.unhealthy_since.is_some(),
            websub,
        });
    }
    Ok(rows)
}

/// A plain-text table, one line per source, columns aligned.
pub fn render_table(rows: &[SourceStatus], now: DateTime<Utc>) -> String {
    let header = [
        "NAME",
        "KIND",
        "URL",
        "LAST SUCCESS",
        "FAILURES",
        "LAST ERROR",
        "SILENT FOR",
        "NEXT POLL",
        "WEBSUB",
    ];
    let now_millis = now.timestamp_millis();
    let mut lines: Vec<[String; 9]> = vec![header.map(str::to_string)];
    for row in rows {
        let failures = if row.unhealthy {
            format!("{} (unhealthy)", row.failures)
        } else {
            row.failures.to_string()
        };
        let silent = match row.silent_for {
            None => "-".to_string(),
            Some(duration) if row.silent_too_long => format!("{} (too long)", short(duration)),
            Some(duration) => short(duration),
        };
        lines.push([
            row.name.clone(),
            row.kind.to_string(),
            row.url.clone(),
            row.last_success
                .map_or("never".to_string(), |at| ago(now_millis, at)),
            failures,
            row.last_error
                .as_deref()
                .map_or("-".to_string(), |error| clip(error, 60)),
            silent,
            row.next_poll.map_or("-".to_string(), |at| {
                if at <= now_millis {
                    "due".to_string()
                } else {
                    format!("in {}", short(millis_duration(at - now_millis)))
                }
            }),
            match row.websub {
                None => "-".to_string(),
                Some((state, Some(expires_at))) => format!(
                    "{state}, lease {} left",
                    short(millis_duration(expires_at - now_millis))
                ),
                Some((state, None)) => state.to_string(),
            },
        ]);
    }
    let mut widths = [0usize; 9];
    for line in &lines {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut table = String::new();
    for line in &lines {
        let cells: Vec<String> = line
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        table.push_str(cells.join("  ").trim_end());
        table.push('\n');
    }
    table
}

pub(crate) fn ago(now: Millis, at: Millis) -> String {
    format!("{} ago", short(millis_duration(now - at)))
}

fn millis_duration(millis: i64) -> Duration {
    Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}

/// The two largest units: "45s", "12m 5s", "3h 5m", "2d 4h".
pub(crate) fn short(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let units = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let mut parts = Vec::new();
    let mut rest = seconds;
    for (size, name) in units {
        if rest >= size || (parts.is_empty() && size == 1) {
            parts.push(format!("{}{name}", rest / size));
            rest %= size;
        } else if !parts.is_empty() {
            break;
        }
        if parts.len() == 2 {
            break;
        }
    }
    parts.join(" ")
}

fn clip(text: &str, limit: usize) -> String {
    crate::model::clip(&text.replace(['\n', '\r'], " "), limit).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_durations() {
        for (seconds, text) in [
            (0, "0s"),
            (45, "45s"),
            (725, "12m 5s"),
            (3_600, "1h"),
            (11_100, "3h 5m"),
            (187_200, "2d 4h"),
        ] {
            assert_eq!(short(Duration::from_secs(seconds)), text, "{seconds}");
        }
    }

    #[test]
    fn table_is_aligned() {
        let now = DateTime::parse_from_rfc3339("2024-05-14T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let millis = now.timestamp_millis();
        let rows = vec![
            SourceStatus {
                name: "bbc".into(),
                kind: "feed",
                url: "https://feeds.bbci.co.uk/news/world/rss.xml".into(),
                last_success: Some(millis - 90_000),
                failures: 0,
                last_error: None,
                silent_for: Some(Duration::from_secs(600)),
                silent_too_long: false,
                next_poll: Some(millis + 240_000),
                unhealthy: false,
                websub: Some(("active", Some(millis + 9 * 86_400_000 + 3_600_000))),
            },
            SourceStatus {
                name: "dead".into(),
                kind: "page",
                url: "https://example.org/".into(),
                last_success: None,
                failures: 7,
                last_error: Some("fetch https://example.org/: HTTP 503".into()),
                silent_for: None,
                silent_too_long: false,
                next_poll: Some(millis - 1),
                unhealthy: true,
                websub: None,
            },
        ];
        let table = render_table(&rows, now);
        let expected = "\
NAME  KIND  URL                                          LAST SUCCESS  FAILURES       LAST ERROR                            SILENT FOR  NEXT POLL  WEBSUB
bbc   feed  https://feeds.bbci.co.uk/news/world/rss.xml  1m 30s ago    0              -                                     10m         in 4m      active, lease 9d 1h left
dead  page  https://example.org/                         never         7 (unhealthy)  fetch https://example.org/: HTTP 503  -           due        -
";
        assert_eq!(table, expected);
    }
}
