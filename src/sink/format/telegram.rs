//! Telegram Bot API `sendMessage` bodies in HTML parse mode: linked bold title, source line, one
//! line per matched term with its highlighted snippet, the lead paragraph in italics, and a link
//! preview of the article. A source-health message is the bold headline, the summary, and one
//! line per fact (the source URL linked), without a link preview: a feed's preview shows
//! nothing useful.
//!
//! Limit, from the Bot API reference (core.telegram.org/bots/api#sendmessage): `text` is
//! "1-4096 characters after entities parsing" — the visible text, tags removed and entities
//! decoded. Parts are measured on the visible text in UTF-16 units (the unit of Telegram's
//! entity offsets, never fewer than its character count) and added while they fit. Only `<b>`,
//! `<i>` and `<a href>` are produced, always closed, and every piece of text goes through
//! [`text::escape_html`] after it is cut, so no tag or entity is ever split. It deliberately
//! does not send to several chats at once: the sink calls it once per chat id.

use serde_json::{json, Value};

use super::text::{self, utf16_len, Span};
use super::{and_more, AlertView, Digest, HealthView, MatchView};

/// Telegram: maximum message length after entity parsing.
const MAX_VISIBLE: usize = 4096;
/// Our own caps.
const TITLE_CHARS: usize = 500;
const SNIPPET_CHARS: usize = 400;
const LEAD_CHARS: usize = 800;
/// Room kept for the "and N more …" line.
const MORE_RESERVE: usize = 30;
/// Our own cap on each fact line of a health message (the last error may take what is left).
const FACT_CHARS: usize = 1000;

/// A piece of the message: its HTML and the length Telegram counts for it.
struct Part {
    html: String,
    visible: usize,
}

impl Part {
    fn from_spans(spans: &[Span]) -> Part {
        Part {
            html: text::render(spans, text::escape_html, "<b>", "</b>"),
            visible: utf16_len(&text::visible(spans)),
        }
    }

    fn plain(value: &str, max: usize) -> Part {
        Part::from_spans(&fit_visible(&[Span::plain(value)], max))
    }
}

fn fit_visible(spans: &[Span], max: usize) -> Vec<Span> {
    text::fit(spans, |candidate| {
        utf16_len(&text::visible(candidate)) <= max
    })
}

/// `<a href="…">label</a>`; the label is already HTML.
fn link(url: &str, label_html: &str) -> String {
    format!("<a href=\"{}\">{label_html}</a>", text::escape_html(url))
}

fn title_part(alert: &AlertView, max: usize) -> Part {
    let title = Part::plain(&alert.title, max);
    Part {
        html: format!("<b>{}</b>", link(&alert.url, &title.html)),
        visible: title.visible,
    }
}

fn match_part(found: &MatchView) -> Part {
    let mut spans = vec![
        Span::bold(text::truncate(&found.term, 100)),
        Span::plain(format!(" · {}: ", found.field)),
    ];
    spans.extend(fit_visible(&found.snippet, SNIPPET_CHARS));
    Part::from_spans(&spans)
}

/// Joins `head`, as many `items` as fit (then "and N more"), the italic `filler` cut to the
/// room left, and `tail`, one part per paragraph line; with the number of items it holds.
fn assemble(
    head: Vec<Part>,
    items: Vec<Part>,
    noun: (&str, &str),
    filler: Option<&str>,
    tail: Part,
) -> (String, usize) {
    // Parts are separated by one newline (one visible character each).
    let mut used: usize = head.iter().map(|part| part.visible + 1).sum::<usize>() + tail.visible;
    let mut lines: Vec<String> = head.into_iter().map(|part| part.html).collect();
    lines.push(String::new());
    // The blank line after the head and the one before the tail.
    used += 2;
    let total = items.len();
    let mut shown = 0;
    for item in items {
        if used + item.visible + 1 + MORE_RESERVE > MAX_VISIBLE {
            break;
        }
        used += item.visible + 1;
        lines.push(item.html);
        shown += 1;
    }
    if total > shown {
        let more = and_more(total - shown, noun.0, noun.1);
        used += utf16_len(&more) + 1;
        lines.push(format!("<i>{more}</i>"));
    }
    if let Some(filler) = filler {
        // Two newlines around the lead.
        let room = MAX_VISIBLE.saturating_sub(used + 2);
        let lead = Part::plain(filler, room.min(LEAD_CHARS));
        if lead.visible > 0 {
            lines.push(String::new());
            lines.push(format!("<i>{}</i>", lead.html));
        }
    }
    lines.push(String::new());
    lines.push(tail.html);
    (lines.join("\n"), shown)
}

/// The `sendMessage` body for one alert to `chat_id`.
pub fn telegram(alert: &AlertView, chat_id: &str) -> Value {
    let head = vec![
        title_part(alert, TITLE_CHARS),
        Part::plain(&alert.meta_line(), 500),
    ];
    let items = alert.matches.iter().map(match_part).collect();
    let tail = Part {
        html: link(&alert.url, "Open article"),
        visible: utf16_len("Open article"),
    };
    let (body, _) = assemble(
        head,
        items,
        ("match", "matches"),
        alert.lead.first().map(String::as_str),
        tail,
    );
    json!({
        "chat_id": chat_id,
        "text": body,
        "parse_mode": "HTML",
        "link_preview_options": { "url": alert.url, "prefer_small_media": true },
    })
}

/// One `sendMessage` body for several alerts: a line per alert (linked title, publisher, first
/// snippet), cut with "and N more alerts"; link previews off, as no single article leads.
pub fn telegram_digest(alerts: &[AlertView], chat_id: &str) -> Digest<Value> {
    let count = alerts.len();
    let heading = format!(
        "wirewatch: {count} new alert{}",
        if count == 1 { "" } else { "s" }
    );
    let head = vec![Part {
        visible: utf16_len(&heading),
        html: format!("<b>{}</b>", text::escape_html(&heading)),
    }];
    let items = alerts
        .iter()
        .map(|alert| {
            let title = title_part(alert, 200);
            let publisher = Part::plain(&format!(" — {} · {}", alert.publisher(), alert.id), 150);
            let mut html = format!("• {}{}", title.html, publisher.html);
            let mut visible = 2 + title.visible + publisher.visible;
            if let Some(found) = alert.matches.first() {
                let snippet = Part::from_spans(&fit_visible(&found.snippet, 200));
                html.push('\n');
                html.push_str(&snippet.html);
                visible += 1 + snippet.visible;
            }
            Part { html, visible }
        })
        .collect();
    let tail = Part {
        html: String::new(),
        visible: 0,
    };
    let (body, listed) = assemble(head, items, ("alert", "alerts"), None, tail);
    Digest {
        message: json!({
            "chat_id": chat_id,
            "text": body.trim_end(),
            "parse_mode": "HTML",
            "link_preview_options": { "is_disabled": true },
        }),
        listed,
    }
}

/// The `sendMessage` body for one source-health message to `chat_id`: the facts in order, as
/// many as fit, each cut to the room left.
pub fn telegram_health(health: &HealthView, chat_id: &str) -> Value {
    let headline = Part::plain(&health.headline(), TITLE_CHARS);
    let summary = Part::plain(&health.summary(), FACT_CHARS);
    // a newline between the two, and a blank line before the facts
    let mut used = headline.visible + 1 + summary.visible + 1;
    let mut lines = vec![
        format!("<b>{}</b>", headline.html),
        summary.html,
        String::new(),
    ];
    for fact in health.facts() {
        let label = format!("{}:", fact.label);
        let label_visible = utf16_len(&label);
        // the newline before the line and the space after the label
        let room = MAX_VISIBLE.saturating_sub(used + 2 + label_visible);
        let value = Part::plain(&fact.value, room.min(FACT_CHARS));
        if value.visible == 0 {
            break;
        }
        let value_html = match &fact.link {
            Some(link) => self::link(link, &value.html),
            None => value.html,
        };
        used += 2 + label_visible + value.visible;
        lines.push(format!("<b>{}</b> {value_html}", text::escape_html(&label)));
    }
    let footer = Part::plain(&health.footer(), MAX_VISIBLE.saturating_sub(used + 2));
    if footer.visible > 0 {
        lines.push(String::new());
        lines.push(format!("<i>{}</i>", footer.html));
    }
    json!({
        "chat_id": chat_id,
        "text": lines.join("\n"),
        "parse_mode": "HTML",
        "link_preview_options": { "is_disabled": true },
    })
}
