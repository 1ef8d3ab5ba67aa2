//! The log sink: one INFO event per alert (or source-health message) on target
//! `wirewatch::alert`, for journald and log shippers. It cannot fail in a way a retry would fix,
//! so every attempt is `Delivered`, unless the stored payload is unreadable (a permanent error
//! worth a dead letter).

use super::Outcome;

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
    tracing::info!(
        target: "wirewatch::alert",
        id = alert_id,
        watchlist = text("/watchlist"),
        source = text("/source"),
        title = text("/article/title"),
        url = text("/article/url"),
        terms = terms.join(", "),
        "alert"
    );
    Outcome::Delivered
}
