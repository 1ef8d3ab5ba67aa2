//! Message formats of the alert delivery targets: the alert payload (version 1) turned into the
//! body each service expects — Slack Block Kit, a Discord embed, a Teams Adaptive Card, an ntfy
//! notification, a Telegram `sendMessage` body, an email — one alert at a time or as a digest;
//! source-health messages in each service's own health format ([`health`]). User templates
//! ([`crate::template`]) and Apprise-style target URLs ([`crate::target_url`]) are top-level
//! modules of their own.
//!
//! Everything here is pure: payload text in, message out. Sending, authentication, retries and
//! rate limits belong to the sinks that call these functions. Each service's documented size
//! limits are enforced here, by cutting text cleanly ("…", whole characters, balanced markup) and
//! by dropping whole matches or alerts with an "and N more" line, so a message is never rejected
//! for its size. The payload is parsed once into an [`AlertView`] holding only what messages show
//! (a [`HealthView`] for a source-health message; [`Message::from_payload`] tells them apart by
//! the payload's `type`). Every piece of feed text in a view is cleaned of invisible format
//! characters such as bidirectional overrides ([`crate::text_safety`]) while it is parsed, so no
//! message can be spoofed by them; the stored payload itself is never changed.

pub mod discord;
pub mod email;
pub mod health;
pub mod ntfy;
pub mod slack;
pub mod teams;
pub mod telegram;
pub mod text;

#[cfg(test)]
mod tests;

use serde::Deserialize;

pub use discord::{discord, discord_digest, discord_health};
pub use email::{email, email_digest, email_health, EmailMessage};
pub use health::{HealthKind, HealthView};
pub use ntfy::{ntfy, ntfy_digest, ntfy_health, ntfy_json, NtfyMessage};
pub use slack::{slack, slack_digest, slack_health};
pub use teams::{teams, teams_digest, teams_health};
pub use telegram::{telegram, telegram_digest, telegram_health};

use text::Span;

/// The payload version this module reads; see `alert::PAYLOAD_VERSION`.
const SUPPORTED_VERSION: u64 = 1;

/// Characters of context kept before a snippet's hit (the matcher keeps about 80), so targets
/// that cut snippets from the end, at 200 characters or more, always show the hit.
const CONTEXT_BEFORE_HIT: usize = 90;

/// How many body paragraphs an alert view keeps: messages show at most the lead.
const LEAD_PARAGRAPHS: usize = 2;

/// Why a stored payload cannot be turned into a message. Neither is retryable: the same bytes
/// are sent on every attempt.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("alert payload is not a valid version 1 payload: {0}")]
    Payload(#[from] serde_json::Error),
    #[error("alert payload version {0} is not supported (this build reads version 1)")]
    Version(u64),
    #[error("article url `{0}` is not an absolute http(s) URL, so no message can link to it")]
    Url(String),
    #[error("message type `{0}` is not one this build formats")]
    Type(String),
}

impl FormatError {
    /// Always false: the stored payload is what every attempt would format again, so the
    /// delivery loop should dead-letter the alert at once.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// A stored payload of either kind, parsed for the targets that format messages themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Alert(AlertView),
    Health(HealthView),
}

/// Just enough of the envelope to choose the parser.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

impl Message {
    /// Parses a stored payload by its `type`: `source.unhealthy` and `source.recovered` are
    /// health messages; anything else must be an alert (its parser says what is wrong if not).
    pub fn from_payload(payload: &str) -> Result<Message, FormatError> {
        let envelope: Envelope = serde_json::from_str(payload)?;
        let health = envelope
            .kind
            .as_deref()
            .and_then(HealthKind::from_type)
            .is_some();
        Ok(if health {
            Message::Health(HealthView::from_payload(payload)?)
        } else {
            Message::Alert(AlertView::from_payload(payload)?)
        })
    }
}

/// One matched term as messages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchView {
    pub term: String,
    /// The article field the term matched in: `title`, `body`, `url`, `source`, `author`, `lang`.
    pub field: String,
    /// The snippet with its hit as a bold run.
    pub snippet: Vec<Span>,
}

/// What every message shows of one alert, parsed once from the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertView {
    pub id: String,
    pub watchlist: String,
    /// The configured source name.
    pub source: String,
    pub site_name: Option<String>,
    /// On one line; the URL when the article has no title.
    pub title: String,
    /// The canonical article URL, http(s) only.
    pub url: String,
    /// "May 14, 2024", in the publisher's own offset.
    pub published: Option<String>,
    /// The publication time as the payload has it (RFC 3339, or a local time without offset when
    /// the publisher gave no zone).
    pub published_at: Option<String>,
    /// RFC 3339, UTC: when the alert was created.
    pub detected_at: String,
    pub language: Option<String>,
    pub image_url: Option<String>,
    pub matches: Vec<MatchView>,
    /// The first paragraphs of the body, each on one line.
    pub lead: Vec<String>,
}

#[derive(Deserialize)]
struct RawPayload {
    version: u64,
    id: String,
    watchlist: String,
    source: String,
    detected_at: String,
    #[serde(default)]
    matches: Vec<RawMatch>,
    article: RawArticle,
}

#[derive(Deserialize)]
struct RawMatch {
    term: String,
    field: String,
    snippet: String,
    #[serde(default)]
    start: usize,
    #[serde(default)]
    end: usize,
}

#[derive(Deserialize)]
struct RawArticle {
    url: String,
    #[serde(default)]
    fetched_url: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    authors: Vec<String>,
    #[serde(default)]
    site_name: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    image: Option<RawImage>,
    #[serde(default)]
    blocks: Vec<RawBlock>,
    #[serde(default)]
    body: String,
}

#[derive(Deserialize)]
struct RawImage {
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct RawBlock {
    kind: String,
    #[serde(default)]
    text: String,
}

impl AlertView {
    /// Parses a stored alert payload (the JSON the generic webhook sink sends).
    pub fn from_payload(payload: &str) -> Result<AlertView, FormatError> {
        let raw: RawPayload = serde_json::from_str(payload)?;
        if raw.version != SUPPORTED_VERSION {
            return Err(FormatError::Version(raw.version));
        }
        let article = raw.article;
        let url = http_url(&article.url)
            .or_else(|| article.fetched_url.as_deref().and_then(http_url))
            .ok_or_else(|| FormatError::Url(article.url.clone()))?;

        let title = match text::one_line(&article.title) {
            title if title.is_empty() => url.clone(),
            title => title,
        };
        let published_time = article
            .published
            .as_deref()
            .and_then(crate::model::PublisherTime::from_record);
        let matches = raw
            .matches
            .iter()
            .map(|found| {
                // The hit text, when the offsets still point into the field we can see, picks
                // the right `**` pair even if the article text itself contains `**`.
                let field_text = match found.field.as_str() {
                    "title" => Some(article.title.as_str()),
                    "body" => Some(article.body.as_str()),
                    "url" => Some(article.url.as_str()),
                    "source" => Some(raw.source.as_str()),
                    "author" => article.authors.first().map(String::as_str),
                    "lang" => article.language.as_deref(),
                    _ => None,
                };
                let hit = field_text
                    .and_then(|field| field.get(found.start..found.end))
                    .map(text::one_line);
                MatchView {
                    term: text::one_line(&found.term),
                    field: found.field.clone(),
                    snippet: text::focus(
                        &text::parse_snippet(
                            &text::one_line(&found.snippet),
                            hit.as_deref(),
                            &found.term,
                        ),
                        CONTEXT_BEFORE_HIT,
                    ),
                }
            })
            .collect();

        Ok(AlertView {
            id: raw.id,
            watchlist: text::one_line(&raw.watchlist),
            source: text::one_line(&raw.source),
            site_name: article
                .site_name
                .as_deref()
                .map(text::one_line)
                .filter(|name| !name.is_empty()),
            title,
            url,
            published: published_time.map(|time| time.local().format("%B %-d, %Y").to_string()),
            published_at: published_time.and(article.published),
            detected_at: raw.detected_at,
            language: article.language,
            image_url: article
                .image
                .and_then(|image| image.url)
                .and_then(|url| http_url(&url)),
            matches,
            lead: lead_paragraphs(&article.blocks, &article.body),
        })
    }

    /// Who published the article: the site's own name, else the configured source name.
    pub fn publisher(&self) -> &str {
        self.site_name.as_deref().unwrap_or(&self.source)
    }

    /// "The Moscow Times · May 14, 2024 · watchlist russia-china": the line under the title.
    pub fn meta_line(&self) -> String {
        let mut parts = vec![self.publisher().to_string()];
        if let Some(published) = &self.published {
            parts.push(published.clone());
        }
        parts.push(format!("watchlist {}", self.watchlist));
        parts.join(" · ")
    }

    /// The meta line of a digest item: also the alert's id, so a reader can find the alert
    /// (`alerts list`) as webhook and email digests allow.
    pub fn digest_meta_line(&self) -> String {
        format!("{} · {}", self.meta_line(), self.id)
    }
}

/// The URL normalized (percent-encoded, so it can sit inside markup) if it is absolute http(s).
fn http_url(value: &str) -> Option<String> {
    let parsed = url::Url::parse(value.trim()).ok()?;
    matches!(parsed.scheme(), "http" | "https").then(|| parsed.to_string())
}

fn lead_paragraphs(blocks: &[RawBlock], body: &str) -> Vec<String> {
    let from_blocks: Vec<String> = blocks
        .iter()
        .filter(|block| block.kind == "paragraph")
        .map(|block| text::one_line(&block.text))
        .filter(|text| !text.is_empty())
        .take(LEAD_PARAGRAPHS)
        .collect();
    if !from_blocks.is_empty() {
        return from_blocks;
    }
    body.split("\n\n")
        .map(text::one_line)
        .filter(|text| !text.is_empty())
        .take(LEAD_PARAGRAPHS)
        .collect()
}

/// A digest message and how many of its alerts it lists: the first `listed`. A service's size
/// limit can leave the rest out (the message then says "and N more alerts"); the daemon counts
/// only the listed ones as delivered and sends the rest in a follow-up message.
#[derive(Debug, Clone)]
pub struct Digest<T> {
    pub message: T,
    pub listed: usize,
}

impl<T> Digest<T> {
    /// The same count with the message turned into another form (a body, its text).
    pub fn map<U>(self, change: impl FnOnce(T) -> U) -> Digest<U> {
        Digest {
            message: change(self.message),
            listed: self.listed,
        }
    }
}

/// "and 3 more alerts" / "and 1 more match": the line that says something was left out.
pub(crate) fn and_more(count: usize, singular: &str, plural: &str) -> String {
    let noun = if count == 1 { singular } else { plural };
    format!("and {count} more {noun}")
}
