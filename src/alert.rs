//! The alert payload (version 1): the one outbound serialized type, sent as the body of generic
//! webhooks and stored in the outbox at creation so every delivery attempt sends the same bytes.
//! Changing its shape is a contract change: add fields, never rename or remove them.
//!
//! Alert ids are derived from (watchlist, canonical article URL): that pair raises at most one
//! alert ever, so the id is unique, stable across restarts, and predictable for receivers.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::extract::render::{self, LinkStyle};
use crate::model::Article;
use crate::rules::{Field, Hit};

pub const PAYLOAD_VERSION: u32 = 1;
pub const ALERT_TYPE: &str = "article.matched";

#[derive(Serialize)]
pub struct AlertPayload<'a> {
    pub version: u32,
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub watchlist: &'a str,
    pub source: &'a str,
    /// RFC 3339, UTC: when wirewatch created the alert.
    pub detected_at: String,
    pub matches: Vec<MatchedTerm<'a>>,
    pub article: render::Record<'a>,
}

#[derive(Debug, Serialize)]
pub struct MatchedTerm<'a> {
    pub term: &'a str,
    pub field: Field,
    pub snippet: &'a str,
    pub start: usize,
    pub end: usize,
}

/// `msg_` + 32 hex digits of SHA-256 over watchlist and canonical article URL.
pub fn alert_id(watchlist: &str, article_url: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(watchlist.as_bytes());
    hasher.update([0u8]);
    hasher.update(article_url.as_bytes());
    let digest = hasher.finalize();
    let hex: String = digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("msg_{hex}")
}

/// Serializes the payload; `detected_at` is passed in (no clock here).
pub fn payload_json(
    id: &str,
    watchlist: &str,
    source: &str,
    detected_at: chrono::DateTime<chrono::Utc>,
    hits: &[Hit],
    article: &Article,
) -> Result<String, serde_json::Error> {
    let payload = AlertPayload {
        version: PAYLOAD_VERSION,
        id,
        kind: ALERT_TYPE,
        watchlist,
        source,
        detected_at: detected_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        matches: hits
            .iter()
            .map(|hit| MatchedTerm {
                term: &hit.term,
                field: hit.field,
                snippet: &hit.snippet,
                start: hit.start,
                end: hit.end,
            })
            .collect(),
        article: render::record(article, LinkStyle::Absolute),
    };
    serde_json::to_string(&payload)
}

/// The payload `wirewatch alerts test` sends: a real payload shape around a clearly labelled
/// sample article, with an id that can never collide with a real alert's.
pub fn sample_payload(
    sink: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(String, String), serde_json::Error> {
    use crate::model::{Block, BlockKind};
    let id = format!("msg_test_{}", now.timestamp_millis());
    let text = format!("This is a test alert from wirewatch, sent by `wirewatch alerts test {sink}` to check that this sink receives and accepts alerts.");
    let article = Article {
        url: "https://example.org/wirewatch/test-alert".to_string(),
        fetched_url: "https://example.org/wirewatch/test-alert".to_string(),
        title: "wirewatch test alert".to_string(),
        published: Some(now.fixed_offset()),
        site_name: Some("wirewatch".to_string()),
        language: Some("en".to_string()),
        blocks: vec![Block::new(BlockKind::Paragraph, text)],
        ..Article::default()
    };
    let hit = Hit {
        term: "test".to_string(),
        field: Field::Title,
        start: 16,
        end: 20,
        snippet: "wirewatch **test** alert".to_string(),
    };
    let payload = payload_json(&id, "wirewatch-test", "wirewatch", now, &[hit], &article)?;
    Ok((id, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = alert_id("w", "https://example.org/a");
        assert_eq!(a, alert_id("w", "https://example.org/a"));
        assert_ne!(a, alert_id("w2", "https://example.org/a"));
        assert_ne!(a, alert_id("w", "https://example.org/b"));
        assert!(a.starts_with("msg_") && a.len() == 36, "{a}");
    }
}
