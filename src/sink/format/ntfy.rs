//! ntfy notifications: a title, a Markdown body (one line per matched term with its highlighted
//! snippet, the lead paragraph, the source line, the link), a click URL and tags — as a struct
//! for publishing with headers and body, or as the JSON of ntfy's JSON publishing API. A
//! source-health message is titled with its headline, lists the summary and the facts, opens the
//! source URL, and is the one kind with a priority: high (4) for unhealthy, default (3) once
//! recovered, with `warning` and `white_check_mark` tags (ntfy shows them as emoji).
//!
//! Limit, from ntfy's publishing docs (docs.ntfy.sh/publish, "Limitations"; server default
//! `message-size-limit`): a message body of at most 4096 bytes — longer bodies are turned into
//! an attachment — so the body is built to fit 4096 bytes of UTF-8. ntfy documents no title
//! limit; titles are cut at 250 characters so they stay a reasonable HTTP header. Header values
//! must be ASCII: [`NtfyMessage::headers`] encodes non-ASCII ones as RFC 2047 words, which the
//! ntfy server decodes. It deliberately does not set priorities on alerts (a watchlist match is
//! news, not an outage), delays or e-mail forwarding. The body is CommonMark (ntfy's web and
//! Android apps), escaped with [`text::escape_commonmark`]; the title is shown as plain text.

use serde_json::{json, Value};

use super::text::{self, Span};
use super::{and_more, AlertView, Digest, HealthKind, HealthView};

/// ntfy: maximum message body, in bytes.
const BODY_BYTES: usize = 4096;
/// Our own caps.
const TITLE_CHARS: usize = 250;
const SNIPPET_CHARS: usize = 300;
const LEAD_CHARS: usize = 600;
/// A URL longer than this is left out of the body (it stays the click target).
const URL_IN_BODY: usize = 1500;
/// Room kept for the "and N more …" line.
const MORE_RESERVE: usize = 40;
/// The action label of alerts and digests.
const OPEN_ARTICLE: &str = "Open article";
/// ntfy priorities: 4 is "high" (a longer vibration, a pop-over), 3 the default.
const HIGH_PRIORITY: u8 = 4;
const DEFAULT_PRIORITY: u8 = 3;
/// Our own cap on each fact line of a health message (the last error may take what is left).
const FACT_CHARS: usize = 600;

/// One ntfy notification, ready for header-style publishing (`body` as the request body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtfyMessage {
    pub title: String,
    /// Markdown: publish with `Markdown: yes` (headers) or `"markdown": true` (JSON).
    pub body: String,
    pub click: String,
    /// The label of the action opening `click`.
    pub action: &'static str,
    pub tags: Vec<String>,
    /// 1 (min) to 5 (max); `None` leaves the server's default (3).
    pub priority: Option<u8>,
}

impl NtfyMessage {
    /// The body of a `POST` to the server root (ntfy's JSON publishing API) for `topic`.
    pub fn to_json(&self, topic: &str) -> Value {
        let mut body = json!({
            "topic": topic,
            "title": self.title,
            "message": self.body,
            "markdown": true,
            "tags": self.tags,
        });
        // An empty digest has nothing to open; ntfy rejects an empty action URL.
        if !self.click.is_empty() {
            body["click"] = json!(self.click);
            body["actions"] =
                json!([ { "action": "view", "label": self.action, "url": self.click } ]);
        }
        if let Some(priority) = self.priority {
            body["priority"] = json!(priority);
        }
        body
    }

    /// Headers for publishing `body` to `https://host/topic`, values ASCII-safe.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("Title", header_value(&self.title)),
            ("Tags", header_value(&self.tags.join(","))),
            ("Markdown", "yes".to_string()),
        ];
        if !self.click.is_empty() {
            // Normalized http(s) URLs are ASCII (percent-encoded, punycode hosts).
            headers.push(("Click", self.click.clone()));
        }
        if let Some(priority) = self.priority {
            headers.push(("Priority", priority.to_string()));
        }
        headers
    }
}

/// The value as is when it is printable ASCII, else an RFC 2047 `=?UTF-8?B?…?=` word.
fn header_value(value: &str) -> String {
    if value.bytes().all(|byte| (0x20..0x7F).contains(&byte)) {
        value.to_string()
    } else {
        format!("=?UTF-8?B?{}?=", base64(value.as_bytes()))
    }
}

/// Standard base64 with padding (RFC 4648), enough for header words.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let symbols = chunk.len() + 1;
        for index in 0..4 {
            if index < symbols {
                let six = (n >> (18 - 6 * index)) & 0x3F;
                out.push(char::from(ALPHABET[six as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn markdown(spans: &[Span]) -> String {
    text::render(spans, text::escape_commonmark, "**", "**")
}

/// As much of `spans` as fits `max_bytes` of Markdown and `max_chars` characters.
fn fitted(spans: &[Span], max_bytes: usize, max_chars: usize) -> String {
    markdown(&text::fit(spans, |candidate| {
        let rendered = markdown(candidate);
        rendered.len() <= max_bytes && text::utf16_len(&rendered) <= max_chars
    }))
}

/// Joins `lines` as a body ending in `tail`, within the byte limit: lines are added in order
/// while they fit (the rest counted in an "and N more" line), then the `filler` is cut to fit.
/// Returns the body and how many of `lines` it holds.
fn assemble(
    lines: &[Vec<Span>],
    noun: (&str, &str),
    filler: Option<&str>,
    tail: &str,
) -> (String, usize) {
    let mut body = String::new();
    let budget = BODY_BYTES.saturating_sub(tail.len() + MORE_RESERVE);
    let mut shown = 0;
    for line in lines {
        // The list marker stays raw: escaping would turn `- ` at a line start into text.
        let rendered = format!("- {}", fitted(line, usize::MAX, SNIPPET_CHARS * 2));
        if body.len() + rendered.len() + 1 > budget {
            break;
        }
        body.push_str(&rendered);
        body.push('\n');
        shown += 1;
    }
    if lines.len() > shown {
        body.push_str(&and_more(lines.len() - shown, noun.0, noun.1));
        body.push('\n');
    }
    if let Some(filler) = filler {
        let room = BODY_BYTES.saturating_sub(body.len() + tail.len() + 2);
        let lead = fitted(&[Span::plain(filler)], room, LEAD_CHARS);
        if !lead.is_empty() {
            body.push('\n');
            body.push_str(&lead);
            body.push('\n');
        }
    }
    body.push_str(tail);
    (body, shown)
}

fn match_line(found: &super::MatchView) -> Vec<Span> {
    let mut line = vec![
        Span::bold(text::truncate(&found.term, 100)),
        Span::plain(format!(" · {}: ", found.field)),
    ];
    let snippet = text::fit(&found.snippet, |candidate| {
        text::utf16_len(&text::visible(candidate)) <= SNIPPET_CHARS
    });
    line.extend(snippet);
    line
}

fn tag(value: &str) -> String {
    value.replace(',', " ")
}

/// The notification for one alert.
pub fn ntfy(alert: &AlertView) -> NtfyMessage {
    let meta = fitted(&[Span::plain(alert.meta_line())], 500, 500);
    let tail = if alert.url.len() <= URL_IN_BODY {
        format!("\n{meta}\n{}", alert.url)
    } else {
        format!("\n{meta}")
    };
    let lines: Vec<Vec<Span>> = alert.matches.iter().map(match_line).collect();
    NtfyMessage {
        title: text::truncate(&alert.title, TITLE_CHARS),
        body: assemble(
            &lines,
            ("match", "matches"),
            alert.lead.first().map(String::as_str),
            &tail,
        )
        .0,
        click: alert.url.clone(),
        action: OPEN_ARTICLE,
        tags: vec!["newspaper".to_string(), tag(&alert.watchlist)],
        priority: None,
    }
}

/// The JSON publishing body for one alert and `topic`.
pub fn ntfy_json(alert: &AlertView, topic: &str) -> Value {
    ntfy(alert).to_json(topic)
}

/// One notification for several alerts: a line per alert (title, publisher, link), cut with
/// "and N more alerts"; clicking opens the first alert's article.
pub fn ntfy_digest(alerts: &[AlertView]) -> Digest<NtfyMessage> {
    let lines: Vec<Vec<Span>> = alerts
        .iter()
        .map(|alert| {
            let mut line = vec![
                Span::bold(text::truncate(&alert.title, 200)),
                Span::plain(format!(" ({})", text::truncate(alert.publisher(), 100))),
            ];
            if alert.url.len() <= URL_IN_BODY / 3 {
                line.push(Span::plain(format!(" {}", alert.url)));
            }
            line.push(Span::plain(format!(" [{}]", alert.id)));
            line
        })
        .collect();
    let count = alerts.len();
    let watchlists: Vec<String> = {
        let mut names: Vec<String> = alerts.iter().map(|alert| tag(&alert.watchlist)).collect();
        names.sort();
        names.dedup();
        names
    };
    let mut tags = vec!["newspaper".to_string()];
    tags.extend(watchlists.into_iter().take(5));
    let (body, listed) = assemble(&lines, ("alert", "alerts"), None, "");
    Digest {
        message: NtfyMessage {
            title: format!(
                "wirewatch: {count} new alert{}",
                if count == 1 { "" } else { "s" }
            ),
            body,
            click: alerts
                .first()
                .map(|alert| alert.url.clone())
                .unwrap_or_default(),
            action: OPEN_ARTICLE,
            tags,
            priority: None,
        },
        listed,
    }
}

/// The notification for one source-health message: as many fact lines as fit the body, in
/// order, the last error cut to the room left.
pub fn ntfy_health(health: &HealthView) -> NtfyMessage {
    let mut body = fitted(&[Span::plain(health.summary())], BODY_BYTES / 4, FACT_CHARS);
    body.push('\n');
    for fact in health.facts() {
        // the list marker and label stay raw: escaping would turn them into text
        let label = format!("\n- **{}:** ", fact.label);
        let room = BODY_BYTES.saturating_sub(body.len() + label.len());
        let value = fitted(&[Span::plain(fact.value)], room, FACT_CHARS * 2);
        if value.is_empty() {
            break;
        }
        body.push_str(&label);
        body.push_str(&value);
    }
    let (symbol, priority) = match health.kind {
        HealthKind::Unhealthy => ("warning", HIGH_PRIORITY),
        HealthKind::Recovered => ("white_check_mark", DEFAULT_PRIORITY),
    };
    NtfyMessage {
        title: text::truncate(&health.headline(), TITLE_CHARS),
        body,
        click: health.link.clone().unwrap_or_default(),
        action: "Open source URL",
        tags: vec![symbol.to_string(), tag(&health.source)],
        priority: Some(priority),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected, "{input}");
        }
    }

    #[test]
    fn non_ascii_headers_are_encoded_words() {
        assert_eq!(header_value("plain"), "plain");
        assert_eq!(header_value("Путин"), "=?UTF-8?B?0J/Rg9GC0LjQvQ==?=");
    }
}
