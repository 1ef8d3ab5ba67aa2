//! Microsoft Teams messages for a Workflows (Power Automate) webhook: an Adaptive Card 1.5 in
//! the `{"type":"message","attachments":[…]}` envelope that the "When a Teams webhook request is
//! received" trigger expects — title, source line, one text block per matched term with its
//! highlighted snippet, the lead paragraph, and an "Open article" action. A source-health message
//! is a card with the headline (in the attention colour while unhealthy, the good colour once
//! recovered), the summary, a FactSet of the facts, and an "Open source URL" action.
//!
//! Limit, from Microsoft's Teams documentation (webhooks and connectors: "the message size limit
//! is 28 KB"): the whole serialized body stays under 28 000 bytes, by dropping matches (with an
//! "and N more" line) and then shortening the lead and title. Adaptive Card TextBlocks render a
//! Markdown subset: hits are `**bold**`, everything else escaped ([`text::escape_adaptive_card`]:
//! Markdown specials with a backslash, a `&` that would start an entity as `&amp;`). The card
//! declares version 1.5, the first schema with the `heading` TextBlock style the title uses
//! (Teams renders 1.5 on desktop, web and mobile). It deliberately does not target the retired
//! Office 365 connector (MessageCard) format.

use serde_json::{json, Value};

use super::text::{self, utf16_len, Span};
use super::{and_more, AlertView, Digest, HealthKind, HealthView};

/// The Adaptive Card schema version the cards need: `style: "heading"` is new in 1.5.
const CARD_VERSION: &str = "1.5";
/// Teams: maximum message size, in bytes of the serialized body.
const MAX_BYTES: usize = 28_000;
/// Our own caps, for a readable card.
const TITLE_CHARS: usize = 500;
const SNIPPET_CHARS: usize = 600;
const LEAD_CHARS: usize = 1500;
const MAX_MATCHES: usize = 20;
const DIGEST_MAX_ALERTS: usize = 50;
/// Each fact of a health message, and its headline and summary.
const FACT_CHARS: usize = 1500;

fn markdown(spans: &[Span]) -> String {
    text::render(spans, text::escape_adaptive_card, "**", "**")
}

fn fitted(spans: &[Span], max: usize) -> String {
    markdown(&text::fit(spans, |candidate| {
        utf16_len(&markdown(candidate)) <= max
    }))
}

fn text_block(value: String) -> Value {
    json!({ "type": "TextBlock", "text": value, "wrap": true })
}

fn subtle_block(value: String) -> Value {
    json!({ "type": "TextBlock", "text": value, "wrap": true, "isSubtle": true, "spacing": "None" })
}

fn title_block(value: String) -> Value {
    json!({
        "type": "TextBlock", "text": value, "wrap": true,
        "weight": "Bolder", "size": "Medium", "style": "heading",
    })
}

fn envelope(body: Vec<Value>, actions: Vec<Value>) -> Value {
    json!({
        "type": "message",
        "attachments": [ {
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": CARD_VERSION,
                "msteams": { "width": "Full" },
                "body": body,
                "actions": actions,
            },
        } ],
    })
}

fn size(value: &Value) -> usize {
    // Serializing a `Value` cannot fail (string keys only); an empty result would only make
    // the size check pass, and the cap is conservative.
    serde_json::to_vec(value)
        .map(|bytes| bytes.len())
        .unwrap_or(0)
}

fn open_action(url: &str) -> Value {
    json!({ "type": "Action.OpenUrl", "title": "Open article", "url": url })
}

/// The card for one alert with at most `shown` matches and the given text caps.
fn card(alert: &AlertView, shown: usize, lead_chars: usize, title_chars: usize) -> Value {
    let mut body = vec![
        title_block(fitted(&[Span::plain(alert.title.clone())], title_chars)),
        subtle_block(fitted(&[Span::plain(alert.meta_line())], 1000)),
    ];
    for found in alert.matches.iter().take(shown) {
        let label = format!(
            "{} · {}: ",
            text::escape_adaptive_card(&text::truncate(&found.term, 200)),
            found.field
        );
        body.push(text_block(format!(
            "{label}{}",
            fitted(&found.snippet, SNIPPET_CHARS)
        )));
    }
    if alert.matches.len() > shown {
        body.push(subtle_block(and_more(
            alert.matches.len() - shown,
            "match",
            "matches",
        )));
    }
    if let Some(lead) = alert.lead.first().filter(|_| lead_chars > 0) {
        body.push(text_block(fitted(&[Span::plain(lead.clone())], lead_chars)));
    }
    envelope(body, vec![open_action(&alert.url)])
}

/// The workflow webhook body for one alert.
pub fn teams(alert: &AlertView) -> Value {
    let mut shown = alert.matches.len().min(MAX_MATCHES);
    loop {
        let candidate = card(alert, shown, LEAD_CHARS, TITLE_CHARS);
        if size(&candidate) <= MAX_BYTES || shown == 0 {
            if size(&candidate) <= MAX_BYTES {
                return candidate;
            }
            break;
        }
        shown -= 1;
    }
    // Still too big with no matches: only a pathological title or URL does this.
    card(alert, 0, 0, 200)
}

/// One card for several alerts: a container per alert (linked title, source line, first
/// snippet), under 28 KB, ending with "and N more alerts" when cut.
pub fn teams_digest(alerts: &[AlertView]) -> Digest<Value> {
    let count = alerts.len();
    let heading = format!(
        "wirewatch: {count} new alert{}",
        if count == 1 { "" } else { "s" }
    );
    let build = |shown: usize| {
        let mut body = vec![title_block(heading.clone())];
        for alert in alerts.iter().take(shown) {
            let title = fitted(&[Span::plain(alert.title.clone())], 300);
            let mut items = vec![
                json!({
                    "type": "TextBlock", "wrap": true, "weight": "Bolder",
                    "text": format!("[{title}]({})", text::markdown_link_url(&alert.url)),
                }),
                subtle_block(fitted(&[Span::plain(alert.digest_meta_line())], 300)),
            ];
            if let Some(found) = alert.matches.first() {
                items.push(text_block(fitted(&found.snippet, 300)));
            }
            body.push(json!({
                "type": "Container", "separator": true, "items": items,
                "selectAction": open_action(&alert.url),
            }));
        }
        if count > shown {
            body.push(subtle_block(and_more(count - shown, "alert", "alerts")));
        }
        envelope(body, Vec::new())
    };
    let mut shown = count.min(DIGEST_MAX_ALERTS);
    let mut candidate = build(shown);
    while size(&candidate) > MAX_BYTES && shown > 0 {
        shown -= 1;
        candidate = build(shown);
    }
    Digest {
        message: candidate,
        listed: shown,
    }
}

/// The workflow webhook body for one source-health message.
pub fn teams_health(health: &HealthView) -> Value {
    let mut title = title_block(fitted(&[Span::plain(health.headline())], FACT_CHARS));
    title["color"] = json!(match health.kind {
        HealthKind::Unhealthy => "Attention",
        HealthKind::Recovered => "Good",
    });
    // FactSet values take the same Markdown subset as TextBlocks; titles are plain
    let facts: Vec<Value> = health
        .facts()
        .iter()
        .map(|fact| {
            json!({
                "title": fact.label,
                "value": fitted(&[Span::plain(fact.value.clone())], FACT_CHARS),
            })
        })
        .collect();
    let body = vec![
        title,
        text_block(fitted(&[Span::plain(health.summary())], FACT_CHARS)),
        json!({ "type": "FactSet", "facts": facts }),
        subtle_block(fitted(&[Span::plain(health.footer())], FACT_CHARS)),
    ];
    let actions = health
        .link
        .iter()
        .map(|link| json!({ "type": "Action.OpenUrl", "title": "Open source URL", "url": link }))
        .collect();
    envelope(body, actions)
}
