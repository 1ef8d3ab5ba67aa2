//! Email alerts: a subject line and the two alternative bodies of a `multipart/alternative`
//! message — plain text and HTML — showing title, source line, link, each matched term with its
//! highlighted snippet, and the lead paragraphs. A source-health message has the subject
//! `[wirewatch] Source unhealthy: NAME` (or `recovered`) and bodies with the summary, the facts
//! as a list (the source URL linked) and the message id.
//!
//! This returns a plain [`EmailMessage`]; building the MIME message (headers, encodings, the
//! `multipart/alternative` structure) and sending it are the sink's job, with lettre's builder:
//! `Message::builder().subject(&m.subject).multipart(MultiPart::alternative_plain_html(m.text,
//! m.html))`. Mail has no service size limit worth meeting here; the caps below keep a message
//! readable and the subject a single short line (RFC 5322 recommends lines under 78 characters;
//! lettre folds and encodes the header, so 150 characters is a readability choice). All HTML
//! text is escaped after cutting; links are only ever the alert's http(s) URLs.

use super::text::{self, Span};
use super::{and_more, AlertView, HealthView, MatchView};

/// Our own caps, for readability.
const SUBJECT_CHARS: usize = 150;
const TITLE_CHARS: usize = 500;
const SNIPPET_CHARS: usize = 500;
const LEAD_CHARS: usize = 2000;
const MAX_MATCHES: usize = 20;
const DIGEST_MAX_ALERTS: usize = 100;

/// One email: subject and both alternative bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailMessage {
    /// One line, no control characters.
    pub subject: String,
    pub text: String,
    /// A complete HTML document.
    pub html: String,
}

fn html_spans(spans: &[Span]) -> String {
    text::render(spans, text::escape_html, "<strong>", "</strong>")
}

/// Plain-text emphasis: the hit between asterisks, as mail readers have long shown it.
fn text_spans(spans: &[Span]) -> String {
    fn keep(value: &str) -> String {
        value.to_string()
    }
    text::render(spans, keep, "*", "*")
}

fn cut(spans: &[Span], max: usize) -> Vec<Span> {
    text::fit(spans, |candidate| {
        text::utf16_len(&text::visible(candidate)) <= max
    })
}

fn document(inner: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"></head>\n\
         <body style=\"font-family: sans-serif; line-height: 1.4\">\n{inner}</body>\n</html>\n"
    )
}

fn match_item(found: &MatchView) -> (String, String) {
    let snippet = cut(&found.snippet, SNIPPET_CHARS);
    let term = text::truncate(&found.term, 100);
    (
        format!("- {term} ({}): {}", found.field, text_spans(&snippet)),
        format!(
            "<li><strong>{}</strong> ({}): {}</li>\n",
            text::escape_html(&term),
            text::escape_html(&found.field),
            html_spans(&snippet)
        ),
    )
}

/// The message for one alert.
pub fn email(alert: &AlertView) -> EmailMessage {
    let title = text::truncate(&alert.title, TITLE_CHARS);
    let meta = alert.meta_line();
    let url = text::escape_html(&alert.url);

    let mut plain = format!("{title}\n{meta}\n{}\n", alert.url);
    let mut html = format!(
        "<h2 style=\"margin-bottom: 0.2em\"><a href=\"{url}\">{}</a></h2>\n\
         <p style=\"color: #666; margin-top: 0\">{}</p>\n",
        text::escape_html(&title),
        text::escape_html(&meta)
    );

    if !alert.matches.is_empty() {
        plain.push_str("\nMatched:\n");
        html.push_str("<p>Matched:</p>\n<ul>\n");
        for found in alert.matches.iter().take(MAX_MATCHES) {
            let (line, item) = match_item(found);
            plain.push_str(&line);
            plain.push('\n');
            html.push_str(&item);
        }
        if alert.matches.len() > MAX_MATCHES {
            let more = and_more(alert.matches.len() - MAX_MATCHES, "match", "matches");
            plain.push_str(&format!("{more}\n"));
            html.push_str(&format!("<li>{more}</li>\n"));
        }
        html.push_str("</ul>\n");
    }

    for paragraph in &alert.lead {
        let paragraph = text::truncate(paragraph, LEAD_CHARS);
        plain.push_str(&format!("\n{paragraph}\n"));
        html.push_str(&format!("<p>{}</p>\n", text::escape_html(&paragraph)));
    }

    let footer = format!(
        "Sent by wirewatch for watchlist {} (alert {}).",
        alert.watchlist, alert.id
    );
    plain.push_str(&format!(
        "\nRead the article: {}\n\n-- \n{footer}\n",
        alert.url
    ));
    html.push_str(&format!(
        "<p><a href=\"{url}\">Read the article</a></p>\n\
         <p style=\"color: #999; font-size: small\">{}</p>\n",
        text::escape_html(&footer)
    ));

    let subject = format!("[wirewatch] {}: {}", alert.watchlist, alert.title);
    EmailMessage {
        subject: text::truncate(&text::one_line(&subject), SUBJECT_CHARS),
        text: plain,
        html: document(&html),
    }
}

/// One message for several alerts: title, source line, link, first snippet and alert id of
/// each, up to 100 alerts, then "and N more alerts".
pub fn email_digest(alerts: &[AlertView]) -> EmailMessage {
    let count = alerts.len();
    let noun = if count == 1 { "alert" } else { "alerts" };
    let mut plain = format!("wirewatch: {count} new {noun}\n");
    let mut html = format!("<h2>wirewatch: {count} new {noun}</h2>\n");
    for alert in alerts.iter().take(DIGEST_MAX_ALERTS) {
        let title = text::truncate(&alert.title, TITLE_CHARS);
        let meta = alert.meta_line();
        plain.push_str(&format!("\n{title}\n{meta}\n{}\n", alert.url));
        html.push_str(&format!(
            "<h3 style=\"margin-bottom: 0.2em\"><a href=\"{}\">{}</a></h3>\n\
             <p style=\"color: #666; margin-top: 0\">{}</p>\n",
            text::escape_html(&alert.url),
            text::escape_html(&title),
            text::escape_html(&meta)
        ));
        if let Some(found) = alert.matches.first() {
            let snippet = cut(&found.snippet, SNIPPET_CHARS);
            plain.push_str(&format!("{}\n", text_spans(&snippet)));
            html.push_str(&format!("<p>{}</p>\n", html_spans(&snippet)));
        }
        // each alert keeps its id, as in a single alert's footer, so it can be replayed or
        // matched with what other sinks received
        plain.push_str(&format!("(alert {})\n", alert.id));
        html.push_str(&format!(
            "<p style=\"color: #999; font-size: small\">alert {}</p>\n",
            text::escape_html(&alert.id)
        ));
    }
    if count > DIGEST_MAX_ALERTS {
        let more = and_more(count - DIGEST_MAX_ALERTS, "alert", "alerts");
        plain.push_str(&format!("\n{more}\n"));
        html.push_str(&format!("<p>{more}</p>\n"));
    }
    let first = alerts
        .first()
        .map(|alert| format!(": {}", alert.title))
        .unwrap_or_default();
    let subject = format!("[wirewatch] {count} new {noun}{first}");
    EmailMessage {
        subject: text::truncate(&text::one_line(&subject), SUBJECT_CHARS),
        text: plain,
        html: document(&html),
    }
}

/// The message for one source-health message.
pub fn email_health(health: &HealthView) -> EmailMessage {
    let headline = health.headline();
    let summary = health.summary();
    let mut plain = format!("{headline}\n\n{summary}\n\n");
    let mut html = format!(
        "<h2>{}</h2>\n<p>{}</p>\n<ul>\n",
        text::escape_html(&headline),
        text::escape_html(&summary)
    );
    for fact in health.facts() {
        plain.push_str(&format!("{}: {}\n", fact.label, fact.value));
        let value = text::escape_html(&fact.value);
        let value = match &fact.link {
            Some(link) => format!("<a href=\"{}\">{value}</a>", text::escape_html(link)),
            None => value,
        };
        html.push_str(&format!(
            "<li><strong>{}:</strong> {value}</li>\n",
            fact.label
        ));
    }
    html.push_str("</ul>\n");
    let footer = format!("Sent by wirewatch (source health message {}).", health.id);
    plain.push_str(&format!("\n-- \n{footer}\n"));
    html.push_str(&format!(
        "<p style=\"color: #999; font-size: small\">{}</p>\n",
        text::escape_html(&footer)
    ));
    EmailMessage {
        subject: text::truncate(
            &text::one_line(&format!("[wirewatch] {headline}")),
            SUBJECT_CHARS,
        ),
        text: plain,
        html: document(&html),
    }
}
