//! The log sink: one INFO event per alert (or source-health message) on target
//! `wirewatch::alert`, for journald and log shippers. It cannot fail in a way a retry would fix,
//! so every attempt is `Delivered`, unless the stored payload is unreadable (a permanent error
//! worth a dead letter).

use super::Outcome;

/// Longest article URL written into the log line, in characters.
const LOG_URL_CHARS: usize = 2_000;

pub fn deliver(alert_id: &str, payload: &str) -> Outcome {
    let value: serde_json::Value = match serde_json::from_str(payload) {
        Ok(value) => value,
        Err(error) => {
            return Outcome::Permanent {
                error: format!("stored payload is not valid JSON: {error}"),
            }
        }
    };
    let text = |pointer: &str| {
        value
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .unwrap_or("")
    };
    // source-health messages have no watchlist or article: say what they are about instead
    let kind = text("/type");
    if kind.starts_with("source.") {
        tracing::info!(
            target: "wirewatch::alert",
            id = alert_id,
            kind,
            source = text("/source"),
            url = text("/health/url"),
            error = text("/health/last_error"),
            "source health"
        );
        return Outcome::Delivered;
    }
    let terms: Vec<&str> = value
        .pointer("/matches")
        .and_then(|matches| matches.as_array())
        .map(|matches| {
            matches
                .iter()
                .filter_map(|m| m.get("term")?.as_str())
                .collect()
        })
        .unwrap_or_default();
    // payloads stored before titles were bounded may still hold a megabyte-long one
    let title = crate::model::clip(text("/article/title"), crate::model::MAX_TITLE_CHARS);
    let url = crate::model::clip(text("/article/url"), LOG_URL_CHARS);
    tracing::info!(
        target: "wirewatch::alert",
        id = alert_id,
        watchlist = text("/watchlist"),
        source = text("/source"),
        title = title.as_ref(),
        url = url.as_ref(),
        terms = terms.join(", "),
        "alert"
    );
    Outcome::Delivered
}
