//! Source-health messages (`source.unhealthy`, `source.recovered`) as every target shows them:
//! the stored health payload parsed once into a [`HealthView`] — which source, its URL and kind,
//! the failures and the last error, since when it was unhealthy and for how long, its last
//! success — with the headline, summary and labelled facts that each service's `*_health`
//! function lays out in its own markup and within its own limits.
//!
//! Pure like the alert formats: durations are measured between the payload's own times (the
//! report, the start of the episode, the last success), never against the clock, so a message
//! retried hours later still says the same thing. Health messages are never bundled into digests
//! and never rendered through a user template (a template is written against the alert payload):
//! they always use these built-in formats.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::text;
use super::{http_url, FormatError, SUPPORTED_VERSION};
use crate::alert::{SOURCE_RECOVERED, SOURCE_UNHEALTHY};

/// Our own caps on what a payload may make long, so that every service's layout of the facts
/// fits its limits before its own escaping and fitting.
const SOURCE_CHARS: usize = 200;
const URL_CHARS: usize = 500;
const ERROR_CHARS: usize = 1000;
const KIND_CHARS: usize = 40;
/// Longest URL still made a link: a longer one is shown (cut) but links nowhere.
const LINK_CHARS: usize = 2000;

/// The label of the last error's fact: the one fact that can be long.
pub const LAST_ERROR: &str = "Last error";

/// Which of the two health messages this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthKind {
    Unhealthy,
    Recovered,
}

impl HealthKind {
    /// The payload `type` naming this kind, if it is a health message at all.
    pub fn from_type(kind: &str) -> Option<HealthKind> {
        match kind {
            SOURCE_UNHEALTHY => Some(HealthKind::Unhealthy),
            SOURCE_RECOVERED => Some(HealthKind::Recovered),
            _ => None,
        }
    }
}

/// One labelled line of a health message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub label: &'static str,
    /// One line, unescaped.
    pub value: String,
    /// An http(s) URL the value should link to.
    pub link: Option<String>,
}

/// What every target shows of one health message, parsed once from the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthView {
    pub id: String,
    pub kind: HealthKind,
    /// The configured source name, on one line.
    pub source: String,
    /// The source URL as configured, on one line (cut when absurdly long).
    pub url: String,
    /// The source URL normalized, when it is http(s) and short enough to link to.
    pub link: Option<String>,
    /// feed, page, sitemap or auto.
    pub source_kind: String,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    /// When this message was created: the report of the failure, or the recovery.
    pub reported_at: Option<DateTime<Utc>>,
    pub unhealthy_since: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct RawHealthPayload {
    version: u64,
    id: String,
    #[serde(rename = "type")]
    kind: String,
    source: String,
    #[serde(default)]
    detected_at: String,
    health: RawHealth,
}

#[derive(Deserialize)]
struct RawHealth {
    url: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    consecutive_failures: u32,
    #[serde(default)]
    last_error: Option<String>,
    #[serde(default)]
    last_success: Option<String>,
    #[serde(default)]
    unhealthy_since: Option<String>,
}

fn instant(value: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value?)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// "2024-05-14 10:07 UTC": minutes are as precise as an operator needs.
pub fn clock_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// "2 hours 5 minutes", "3 days 4 hours", "less than a minute": the two largest units, rounded
/// down. `None` for a negative span (clocks that disagree), which no message should state.
pub fn human_duration(from: DateTime<Utc>, to: DateTime<Utc>) -> Option<String> {
    let seconds = (to - from).num_seconds();
    if seconds < 0 {
        return None;
    }
    if seconds < 60 {
        return Some("less than a minute".to_string());
    }
    let units = [
        (seconds / 86_400, "day", "days"),
        (seconds % 86_400 / 3_600, "hour", "hours"),
        (seconds % 3_600 / 60, "minute", "minutes"),
    ];
    let parts: Vec<String> = units
        .iter()
        .skip_while(|(count, _, _)| *count == 0)
        .take(2)
        .filter(|(count, _, _)| *count > 0)
        .map(|(count, singular, plural)| {
            format!("{count} {}", if *count == 1 { singular } else { plural })
        })
        .collect();
    Some(parts.join(" "))
}

impl HealthView {
    /// Parses a stored source-health payload (the JSON the generic webhook sink sends).
    pub fn from_payload(payload: &str) -> Result<HealthView, FormatError> {
        let raw: RawHealthPayload = serde_json::from_str(payload)?;
        if raw.version != SUPPORTED_VERSION {
            return Err(FormatError::Version(raw.version));
        }
        let kind = HealthKind::from_type(&raw.kind).ok_or(FormatError::Type(raw.kind))?;
        let health = raw.health;
        let url = text::one_line(&health.url);
        Ok(HealthView {
            id: raw.id,
            kind,
            source: text::truncate(&text::one_line(&raw.source), SOURCE_CHARS),
            link: http_url(&url).filter(|link| text::utf16_len(link) <= LINK_CHARS),
            url: text::truncate(&url, URL_CHARS),
            source_kind: text::truncate(&text::one_line(&health.kind), KIND_CHARS),
            consecutive_failures: health.consecutive_failures,
            last_error: health
                .last_error
                .as_deref()
                .map(|error| text::truncate(&text::one_line(error), ERROR_CHARS))
                .filter(|error| !error.is_empty()),
            reported_at: instant(Some(&raw.detected_at)),
            unhealthy_since: instant(health.unhealthy_since.as_deref()),
            last_success: instant(health.last_success.as_deref()),
        })
    }

    /// "Source unhealthy: bbc" / "Source recovered: bbc".
    pub fn headline(&self) -> String {
        match self.kind {
            HealthKind::Unhealthy => format!("Source unhealthy: {}", self.source),
            HealthKind::Recovered => format!("Source recovered: {}", self.source),
        }
    }

    /// How long the source was unhealthy, for a recovery: from the report to the recovery.
    pub fn unhealthy_for(&self) -> Option<String> {
        match self.kind {
            HealthKind::Recovered => human_duration(self.unhealthy_since?, self.reported_at?),
            HealthKind::Unhealthy => None,
        }
    }

    /// One sentence saying what happened, for the line under the headline and notifications.
    pub fn summary(&self) -> String {
        let failures = self.consecutive_failures;
        match (self.kind, self.unhealthy_for()) {
            (HealthKind::Unhealthy, _) => {
                let failed = match failures {
                    1 => "failed its last poll".to_string(),
                    _ => format!("failed {failures} polls in a row"),
                };
                format!(
                    "{} {failed}. wirewatch keeps polling it and reports when it answers again.",
                    self.source
                )
            }
            (HealthKind::Recovered, Some(duration)) => format!(
                "{} answers again after being unhealthy for {duration}.",
                self.source
            ),
            (HealthKind::Recovered, None) => format!("{} answers again.", self.source),
        }
    }

    /// The labelled lines every target lists, in order; only what this message knows.
    pub fn facts(&self) -> Vec<Fact> {
        let fact = |label, value: String| Fact {
            label,
            value,
            link: None,
        };
        let mut facts = vec![Fact {
            label: "URL",
            value: self.url.clone(),
            link: self.link.clone(),
        }];
        if !self.source_kind.is_empty() {
            facts.push(fact("Kind", self.source_kind.clone()));
        }
        match self.kind {
            HealthKind::Unhealthy => {
                facts.push(fact(
                    "Consecutive failures",
                    self.consecutive_failures.to_string(),
                ));
                if let Some(since) = self.unhealthy_since {
                    facts.push(fact("Unhealthy since", clock_time(since)));
                }
                let last_success = match (self.last_success, self.reported_at) {
                    (Some(success), Some(reported)) => match human_duration(success, reported) {
                        Some(gap) => format!("{} ({gap} before this report)", clock_time(success)),
                        None => clock_time(success),
                    },
                    (Some(success), None) => clock_time(success),
                    (None, _) => "never".to_string(),
                };
                facts.push(fact("Last success", last_success));
            }
            HealthKind::Recovered => {
                if let Some(since) = self.unhealthy_since {
                    facts.push(fact("Unhealthy since", clock_time(since)));
                }
                if let Some(reported) = self.reported_at {
                    facts.push(fact("Recovered at", clock_time(reported)));
                }
                if let Some(duration) = self.unhealthy_for() {
                    facts.push(fact("Unhealthy for", duration));
                }
                if self.consecutive_failures > 0 {
                    facts.push(fact(
                        "Consecutive failures",
                        self.consecutive_failures.to_string(),
                    ));
                }
            }
        }
        if let Some(error) = &self.last_error {
            facts.push(fact(LAST_ERROR, error.clone()));
        }
        facts
    }

    /// The small print naming the message, so it can be matched with what other sinks got.
    pub fn footer(&self) -> String {
        format!("wirewatch source health · {}", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(value: &str) -> DateTime<Utc> {
        instant(Some(value)).unwrap_or_default()
    }

    #[test]
    fn durations_read_like_speech() {
        let start = at("2024-05-14T10:00:00Z");
        let span = |end: &str| human_duration(start, at(end));
        assert_eq!(
            span("2024-05-14T10:00:59Z").as_deref(),
            Some("less than a minute")
        );
        assert_eq!(span("2024-05-14T10:01:00Z").as_deref(), Some("1 minute"));
        assert_eq!(
            span("2024-05-14T12:05:30Z").as_deref(),
            Some("2 hours 5 minutes")
        );
        assert_eq!(span("2024-05-14T12:00:00Z").as_deref(), Some("2 hours"));
        assert_eq!(
            span("2024-05-17T14:59:00Z").as_deref(),
            Some("3 days 4 hours")
        );
        assert_eq!(span("2024-05-15T10:30:00Z").as_deref(), Some("1 day"));
        assert_eq!(span("2024-05-14T09:00:00Z"), None);
    }
}
