//! Discord webhook messages: one embed per alert (linked title, publisher as author, lead as
//! description, one field per matched term with its highlighted snippet, date and watchlist in
//! the footer, the lead image as thumbnail), mentions disabled so article text such as
//! "@everyone" can never ping anyone. A source-health message is one embed too: the headline
//! linking to the source URL, red for unhealthy and green for recovered, the summary, one field
//! per fact, and the message id in the footer.
//!
//! Limits, from Discord's developer docs (Message resource, "Embed Limits"): title 256,
//! description 4096, at most 25 fields, field name 256, field value 1024, footer text 2048,
//! author name 256, and 6000 characters across all of those in all embeds of a message; at most
//! 10 embeds; `content` 2000. Characters are counted in UTF-16 units (JavaScript's length, never
//! fewer than Discord's count). Titles, field names and text are Markdown-escaped; snippets keep
//! only their hit as `**bold**`. It deliberately does not set username or avatar overrides: the
//! webhook's own identity, configured in Discord, is what operators expect to see.

use serde_json::{json, Value};

use super::health::LAST_ERROR;
use super::text::{self, utf16_len, Span};
use super::{and_more, AlertView, Digest, HealthKind, HealthView, MatchView};

const TITLE: usize = 256;
const DESCRIPTION: usize = 4096;
const MAX_FIELDS: usize = 25;
const FIELD_NAME: usize = 256;
const FIELD_VALUE: usize = 1024;
const FOOTER: usize = 2048;
const AUTHOR: usize = 256;
/// Discord: all title, description, field, footer and author text of one message.
const EMBED_TOTAL: usize = 6000;
const MAX_EMBEDS: usize = 10;
/// Our own caps, for a readable message: the lead and each snippet.
const LEAD_CHARS: usize = 600;
const SNIPPET_CHARS: usize = 400;
/// Matches shown as fields before an "and N more" field.
const MAX_MATCHES: usize = 10;
/// An embed's accent colour (a muted blue).
const COLOR: u32 = 0x002B_6CB0;
/// Health embeds: red while a source is unhealthy, green once it recovered.
const UNHEALTHY_COLOR: u32 = 0x00C0_392B;
const RECOVERED_COLOR: u32 = 0x002E_8B57;
/// Our own cap on each short fact of a health message (the last error may fill its field).
const FACT_CHARS: usize = 400;

fn markdown(spans: &[Span]) -> String {
    text::render(spans, text::escape_markdown, "**", "**")
}

/// As much of `spans` as fits `max` characters once escaped.
fn fitted(spans: &[Span], max: usize) -> String {
    markdown(&text::fit(spans, |candidate| {
        utf16_len(&markdown(candidate)) <= max
    }))
}

fn plain_fitted(value: &str, max: usize) -> String {
    fitted(&[Span::plain(value)], max)
}

struct Field {
    name: String,
    value: String,
}

impl Field {
    fn size(&self) -> usize {
        utf16_len(&self.name) + utf16_len(&self.value)
    }

    fn to_json(&self) -> Value {
        json!({ "name": self.name, "value": self.value, "inline": false })
    }
}

fn match_field(found: &MatchView) -> Field {
    let name = format!("{} · {}", found.term, found.field);
    Field {
        name: plain_fitted(&name, FIELD_NAME),
        value: fitted(&found.snippet, SNIPPET_CHARS.min(FIELD_VALUE)),
    }
}

fn footer(alert: &AlertView) -> String {
    let mut parts = Vec::new();
    if let Some(published) = &alert.published {
        parts.push(published.clone());
    }
    parts.push(format!("watchlist {}", alert.watchlist));
    // Footers are not Markdown-rendered: plain text, cut only.
    text::truncate(&parts.join(" · "), FOOTER.min(300))
}

/// One embed whose counted text stays within `budget`, dropping match fields from the end
/// (replaced by an "and N more matches" field) and then shortening the description.
fn embed(alert: &AlertView, budget: usize, max_matches: usize, with_lead: bool) -> (Value, usize) {
    let title = plain_fitted(&alert.title, TITLE);
    let author = text::truncate(alert.publisher(), AUTHOR);
    let footer = footer(alert);
    let fixed = utf16_len(&title) + utf16_len(&author) + utf16_len(&footer);

    let mut fields: Vec<Field> = alert
        .matches
        .iter()
        .take(max_matches.min(MAX_FIELDS - 1))
        .map(match_field)
        .collect();
    let more_field = |hidden: usize| Field {
        name: and_more(hidden, "match", "matches"),
        value: "\u{200B}".to_string(),
    };
    let mut hidden = alert.matches.len() - fields.len();
    let fields_size = |fields: &[Field], hidden: usize| {
        fields.iter().map(Field::size).sum::<usize>()
            + if hidden > 0 {
                more_field(hidden).size()
            } else {
                0
            }
    };
    // Drop fields from the end until title, author, footer and fields fit; the lead then gets
    // whatever room is left.
    while !fields.is_empty() && fixed + fields_size(&fields, hidden) > budget {
        fields.pop();
        hidden += 1;
    }
    let room = budget.saturating_sub(fixed + fields_size(&fields, hidden));
    let description = alert
        .lead
        .first()
        .filter(|_| with_lead)
        .map(|lead| plain_fitted(&text::truncate(lead, LEAD_CHARS), room.min(DESCRIPTION)))
        .unwrap_or_default();
    if hidden > 0 {
        fields.push(more_field(hidden));
    }
    let used = fixed + utf16_len(&description) + fields.iter().map(Field::size).sum::<usize>();

    let mut embed = json!({
        "title": title,
        "url": alert.url,
        "color": COLOR,
        "author": { "name": author },
        "footer": { "text": footer },
    });
    if !description.is_empty() {
        embed["description"] = json!(description);
    }
    if !fields.is_empty() {
        embed["fields"] = Value::Array(fields.iter().map(Field::to_json).collect());
    }
    if let Some(image) = &alert.image_url {
        embed["thumbnail"] = json!({ "url": image });
    }
    (embed, used)
}

/// The webhook body for one alert.
pub fn discord(alert: &AlertView) -> Value {
    let (embed, _) = embed(alert, EMBED_TOTAL, MAX_MATCHES, true);
    json!({ "embeds": [embed], "allowed_mentions": { "parse": [] } })
}

/// One message for several alerts: a compact embed each (title, first snippet) up to Discord's
/// 10 embeds and 6000 characters; `content` says "and N more alerts" when cut.
pub fn discord_digest(alerts: &[AlertView]) -> Digest<Value> {
    let mut embeds = Vec::new();
    let mut used = 0;
    for alert in alerts.iter().take(MAX_EMBEDS) {
        // An equal share of what is left keeps later alerts from being starved.
        let remaining_alerts = alerts.len().min(MAX_EMBEDS) - embeds.len();
        let share = (EMBED_TOTAL - used) / remaining_alerts.max(1);
        let (mut compact, size) = embed(alert, share, 1, false);
        if size > share {
            break;
        }
        // Digest embeds stay small: no lead, no image.
        if let Some(object) = compact.as_object_mut() {
            object.remove("thumbnail");
        }
        // the alert's id, as webhook and email digests carry it; within the share when it fits
        let id = format!(" · {}", text::truncate(&alert.id, 200));
        let mut size = size;
        if size + utf16_len(&id) <= share {
            if let Some(footer) = compact["footer"]["text"].as_str() {
                size += utf16_len(&id);
                compact["footer"]["text"] = json!(format!("{footer}{id}"));
            }
        }
        used += size;
        embeds.push(compact);
    }
    let mut body = json!({ "embeds": embeds, "allowed_mentions": { "parse": [] } });
    if alerts.len() > embeds.len() {
        body["content"] = json!(and_more(alerts.len() - embeds.len(), "alert", "alerts"));
    } else if embeds.is_empty() {
        // Discord rejects a message with neither content nor embeds.
        body["content"] = json!("wirewatch: 0 new alerts");
    }
    Digest {
        message: body,
        listed: embeds.len(),
    }
}

/// The webhook body for one source-health message.
pub fn discord_health(health: &HealthView) -> Value {
    let fields: Vec<Field> = health
        .facts()
        .iter()
        .take(MAX_FIELDS)
        .map(|fact| {
            let max = if fact.label == LAST_ERROR {
                FIELD_VALUE
            } else {
                FACT_CHARS
            };
            let value = match &fact.link {
                Some(link) => {
                    let label = plain_fitted(&fact.value, max / 2);
                    let linked = format!("[{label}]({})", text::markdown_link_url(link));
                    if utf16_len(&linked) <= max {
                        linked
                    } else {
                        plain_fitted(&fact.value, max)
                    }
                }
                None => plain_fitted(&fact.value, max),
            };
            Field {
                name: plain_fitted(fact.label, FIELD_NAME),
                // Discord refuses an empty field value
                value: if value.is_empty() {
                    "\u{200B}".to_string()
                } else {
                    value
                },
            }
        })
        .collect();
    let mut embed = json!({
        "title": plain_fitted(&health.headline(), TITLE),
        "description": plain_fitted(&health.summary(), DESCRIPTION.min(1000)),
        "color": match health.kind {
            HealthKind::Unhealthy => UNHEALTHY_COLOR,
            HealthKind::Recovered => RECOVERED_COLOR,
        },
        "fields": fields.iter().map(Field::to_json).collect::<Vec<_>>(),
        // footers are not Markdown-rendered: plain text, cut only
        "footer": { "text": text::truncate(&health.footer(), FOOTER) },
    });
    if let Some(link) = &health.link {
        embed["url"] = json!(link);
    }
    json!({ "embeds": [embed], "allowed_mentions": { "parse": [] } })
}
