//! Slack incoming-webhook messages: Block Kit blocks (title link, source line, one section per
//! matched term with its highlighted snippet, the lead paragraph, an "Open article" button) and
//! a fallback `text` for notifications and clients without blocks; a source-health message as a
//! headline with its summary, the facts one per line (the source URL linked), the last error,
//! and its id in a context line.
//!
//! Limits, from Slack's Block Kit reference (api.slack.com/reference/block-kit/blocks and
//! /block-elements): at most 50 blocks per message; section and context `mrkdwn` text at most
//! 3000 characters; button text 75 and button URL 3000 characters. The top-level `text` is kept
//! under 3000 characters too (Slack truncates it far later, at 40 000, but notifications show
//! only the start). Characters are counted in UTF-16 units, never fewer than Slack's count.
//! A feed can neither format a message nor ping anyone: every `mrkdwn` text object sets
//! `"verbatim": true`, which Slack documents as turning off its automatic parsing of `@here`,
//! `@channel`, `@everyone`, channel names and bare URLs (our links are explicit `<url|label>`),
//! and feed text is escaped with [`text::escape_slack_text`], which also replaces `*`, `~` and
//! `` ` `` by look-alikes, and `_` and `@` where they could format or start a mention, because
//! mrkdwn has no escape for them and the notification `text` has no `verbatim`. Our own bold,
//! links, message ids and configured URLs are not rewritten. The
//! notification `text` of an alert always ends with the source line and the link: a long title
//! is cut to leave room for them.
//! It deliberately does not use the Web API (`chat.postMessage`), threads or bot tokens.

use serde_json::{json, Value};

use super::health::{Fact, LAST_ERROR};
use super::text::{self, utf16_len, Span};
use super::{and_more, AlertView, Digest, HealthView};

/// Slack: maximum characters of a section or context text object.
const SECTION_TEXT: usize = 3000;
/// Slack: maximum blocks per message.
const MAX_BLOCKS: usize = 50;
/// Slack: maximum characters of a button URL.
const BUTTON_URL: usize = 3000;
/// Our own cap on the fallback `text`.
const FALLBACK_TEXT: usize = 3000;
/// Our own cap on the source line in the fallback `text`, leaving the title room.
const FALLBACK_META_CHARS: usize = 500;
/// Matches shown in one alert: more would bury the article under its own hits.
const MAX_MATCHES: usize = 10;
/// Our own cap on the title and the lead paragraph, for a readable message.
const TITLE_CHARS: usize = 500;
const LEAD_CHARS: usize = 600;
/// Each fact line of a health message: seven of them stay well within one section.
const FACT_CHARS: usize = 400;

/// Slack mrkdwn of `spans`, text that may come from a feed: escaped and its formatting
/// characters neutralised, bold runs as `*bold*`.
fn mrkdwn(spans: &[Span]) -> String {
    text::render(spans, text::escape_slack_text, "*", "*")
}

/// Slack mrkdwn of `spans` that are ours or the operator's (a configured URL): only `&`, `<`
/// and `>` escaped, bold runs as `*bold*`.
fn trusted_mrkdwn(spans: &[Span]) -> String {
    text::render(spans, text::escape_slack, "*", "*")
}

/// `prefix` followed by as much of `spans` as fits in `max` characters of mrkdwn.
fn fitted(prefix: &str, spans: &[Span], max: usize) -> String {
    fitted_as(prefix, spans, max, mrkdwn)
}

/// [`fitted`] with the given renderer.
fn fitted_as(prefix: &str, spans: &[Span], max: usize, render: fn(&[Span]) -> String) -> String {
    let budget = max.saturating_sub(utf16_len(prefix));
    let kept = text::fit(spans, |candidate| utf16_len(&render(candidate)) <= budget);
    format!("{prefix}{}", render(&kept))
}

/// A `mrkdwn` text object. `verbatim` stops Slack turning `@here`, `@channel`, `@everyone` and
/// channel names in the text into live mentions and links.
fn mrkdwn_object(mrkdwn_text: String) -> Value {
    json!({ "type": "mrkdwn", "text": mrkdwn_text, "verbatim": true })
}

fn section(mrkdwn_text: String) -> Value {
    json!({ "type": "section", "text": mrkdwn_object(mrkdwn_text) })
}

fn context(mrkdwn_text: String) -> Value {
    json!({ "type": "context", "elements": [ mrkdwn_object(mrkdwn_text) ] })
}

/// `*<url|title>*`, the title cut so the whole link fits `max` characters.
fn title_link(alert: &AlertView, max: usize) -> String {
    let url = text::escape_slack(&text::slack_link_url(&alert.url));
    let title = text::truncate(&alert.title, TITLE_CHARS);
    // The URL is never cut (a cut URL is a wrong URL): a pathological one makes a bare title.
    let wrapper = utf16_len(&url) + 5;
    if wrapper + 1 > max {
        return fitted("", &[Span::bold(title)], max);
    }
    let label = fitted("", &[Span::plain(title)], max - wrapper);
    format!("*<{url}|{label}>*")
}

fn match_text(found: &super::MatchView) -> String {
    let label = format!(
        "*{}* · {}\n>",
        text::escape_slack_text(&text::truncate(&found.term, 200)),
        text::escape_slack(&found.field)
    );
    fitted(&label, &found.snippet, SECTION_TEXT)
}

fn button(url: &str) -> Option<Value> {
    (utf16_len(url) <= BUTTON_URL).then(|| {
        json!({
            "type": "actions",
            "elements": [ {
                "type": "button",
                "text": { "type": "plain_text", "text": "Open article" },
                "url": url,
            } ]
        })
    })
}

/// "TITLE — SOURCE LINE <URL>", for notifications and previews: the title is cut so that the
/// source line and the link always fit; only a URL too long for the whole text is left out, as
/// a cut URL would be a wrong one. The link is explicit (`<url>`), so no `*` or `_` in the URL
/// can pair with text around it.
fn fallback(alert: &AlertView) -> String {
    let meta = fitted(
        " — ",
        &[Span::plain(alert.meta_line())],
        FALLBACK_META_CHARS,
    );
    let url = text::escape_slack(&text::slack_link_url(&alert.url));
    let linked = format!("{meta} <{url}>");
    // at least the ellipsis of the title must fit before the tail
    let tail = if utf16_len(&linked) < FALLBACK_TEXT {
        linked
    } else {
        meta
    };
    let title = text::truncate(&alert.title, TITLE_CHARS);
    let room = FALLBACK_TEXT.saturating_sub(utf16_len(&tail));
    format!("{}{tail}", fitted("", &[Span::plain(title)], room))
}

/// The incoming-webhook body for one alert.
pub fn slack(alert: &AlertView) -> Value {
    let mut blocks = vec![
        section(title_link(alert, SECTION_TEXT)),
        context(fitted("", &[Span::plain(alert.meta_line())], SECTION_TEXT)),
    ];
    // Reserve room for the "more" line, the lead and the button within the block limit.
    let shown = alert.matches.len().min(MAX_MATCHES).min(MAX_BLOCKS - 5);
    for found in &alert.matches[..shown] {
        blocks.push(section(match_text(found)));
    }
    if alert.matches.len() > shown {
        blocks.push(context(and_more(
            alert.matches.len() - shown,
            "match",
            "matches",
        )));
    }
    if let Some(lead) = alert.lead.first() {
        let lead = text::truncate(lead, LEAD_CHARS);
        blocks.push(section(fitted("", &[Span::plain(lead)], SECTION_TEXT)));
    }
    blocks.extend(button(&alert.url));
    json!({ "text": fallback(alert), "blocks": blocks, "unfurl_links": false })
}

/// One message for several alerts: a section per alert (title link, source line, first
/// snippet), within the 50-block limit, ending with "and N more alerts" when cut.
pub fn slack_digest(alerts: &[AlertView]) -> Digest<Value> {
    let count = alerts.len();
    let heading = format!(
        "*wirewatch: {count} new alert{}*",
        if count == 1 { "" } else { "s" }
    );
    let mut blocks = vec![section(heading.clone())];
    // One block for the heading and one for the "more" line.
    let shown = count.min(MAX_BLOCKS - 2);
    for alert in &alerts[..shown] {
        let mut head = title_link(alert, SECTION_TEXT / 3);
        head.push('\n');
        head.push_str(&fitted(
            "",
            &[Span::plain(alert.digest_meta_line())],
            SECTION_TEXT / 3,
        ));
        let body = match alert.matches.first() {
            Some(found) => {
                head.push_str("\n>");
                fitted(&head, &found.snippet, SECTION_TEXT)
            }
            None => head,
        };
        blocks.push(section(body));
    }
    if count > shown {
        blocks.push(context(and_more(count - shown, "alert", "alerts")));
    }
    let titles: Vec<&str> = alerts.iter().map(|alert| alert.title.as_str()).collect();
    let fallback = format!("{count} new alerts: {}", titles.join(" · "));
    Digest {
        message: json!({
            "text": fitted("", &[Span::plain(fallback)], FALLBACK_TEXT),
            "blocks": blocks,
            "unfurl_links": false,
        }),
        listed: shown,
    }
}

/// `*Label:* value`, the value linked when it has a link that fits, cut to `max` characters.
fn fact_line(fact: &Fact, max: usize) -> String {
    let label = format!("*{}:* ", fact.label);
    let linked = fact.link.as_deref().and_then(|link| {
        let url = text::escape_slack(&text::slack_link_url(link));
        // `<url|` and `>` around the value, which must keep at least its ellipsis
        let room = max.checked_sub(utf16_len(&label) + utf16_len(&url) + 3)?;
        // the value of a linked fact is the configured URL itself: shown as written, as
        // look-alike characters would make it a different address to copy
        let value = fitted_as("", &[Span::plain(fact.value.clone())], room, trusted_mrkdwn);
        (!value.is_empty()).then(|| format!("{label}<{url}|{value}>"))
    });
    linked.unwrap_or_else(|| fitted(&label, &[Span::plain(fact.value.clone())], max))
}

/// The incoming-webhook body for one source-health message.
pub fn slack_health(health: &HealthView) -> Value {
    let headline = health.headline();
    let summary = health.summary();
    let mut blocks = vec![section(fitted(
        "",
        &[
            Span::bold(headline.clone()),
            Span::plain(format!("\n{summary}")),
        ],
        SECTION_TEXT,
    ))];
    let (errors, facts): (Vec<Fact>, Vec<Fact>) = health
        .facts()
        .into_iter()
        .partition(|fact| fact.label == LAST_ERROR);
    let lines: Vec<String> = facts
        .iter()
        .map(|fact| fact_line(fact, FACT_CHARS))
        .collect();
    blocks.push(section(lines.join("\n")));
    // the error is the longest fact, so it gets a section of its own
    for error in &errors {
        blocks.push(section(fact_line(error, SECTION_TEXT)));
    }
    // the footer is ours: the message id is shown exactly, to be searched for
    blocks.push(context(fitted_as(
        "",
        &[Span::plain(health.footer())],
        SECTION_TEXT,
        trusted_mrkdwn,
    )));
    let fallback = format!("{headline} — {summary}");
    json!({
        "text": fitted("", &[Span::plain(fallback)], FALLBACK_TEXT),
        "blocks": blocks,
        "unfurl_links": false,
    })
}
