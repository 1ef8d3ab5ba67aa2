//! Snapshots of every target's message for three fixture alerts (the seed Moscow Times article,
//! a Russian-language one, a pathological one), and loops over generated alerts showing that no
//! message exceeds its service's limits, splits a character sequence, or leaves markup open.

use serde_json::{json, Value};

use super::text::utf16_len;
use super::*;

fn moscow_times() -> AlertView {
    view(include_str!("fixtures/moscow_times.json"))
}

fn vedomosti() -> AlertView {
    view(include_str!("fixtures/vedomosti_ru.json"))
}

fn view(payload: &str) -> AlertView {
    match AlertView::from_payload(payload) {
        Ok(view) => view,
        Err(error) => panic!("fixture does not parse: {error}"),
    }
}

/// Text that trips every escaper and every naive truncation: markup characters of each target,
/// emoji (astral, so two UTF-16 units), a ZWJ family, a flag, and combining accents.
const NASTY: &str = "<b>&amp; *x* _y_ ~z~ `c` [l](u) |p| @everyone #h -d >q 😀 👨\u{200D}👩\u{200D}👧 🇺🇦 e\u{301}\u{302} ";

/// Whole words of `pattern`, cycled, until at least `chars` characters: the input itself never
/// ends inside a joined or combining sequence (only our truncation is under test).
fn repeat_to(pattern: &str, chars: usize) -> String {
    let mut out = String::new();
    for word in pattern.split(' ').filter(|word| !word.is_empty()).cycle() {
        if out.chars().count() >= chars {
            break;
        }
        out.push_str(word);
        out.push(' ');
    }
    out
}

fn payload(title_chars: usize, snippet_chars: usize, matches: usize, lead_chars: usize) -> String {
    let title = repeat_to(NASTY, title_chars);
    let context = repeat_to(NASTY, snippet_chars);
    let found: Vec<Value> = (0..matches)
        .map(|index| {
            json!({
                // The payload's offsets point nowhere useful here: the term identifies the hit.
                "term": format!("HIT{index} 😀 e\u{301}"),
                "field": if index % 2 == 0 { "title" } else { "body" },
                // Literal `**` in the article text next to the real hit.
                "snippet": format!("…{context} a**b **hit{index} 😀 e\u{301}** {context}…"),
                "start": 0,
                "end": 0,
            })
        })
        .collect();
    let body = repeat_to(NASTY, lead_chars);
    json!({
        "version": 1,
        "id": "msg_00000000000000000000000000000000",
        "type": "article.matched",
        "watchlist": "nasty<&>",
        "source": "nasty-source",
        "detected_at": "2024-05-14T10:07:31.201Z",
        "matches": found,
        "article": {
            "url": "https://example.org/a_b*c/(x)?q=1&r=<2>|3",
            "fetched_url": "https://example.org/a",
            "title": title,
            "published": "2024-05-14T13:05:00+03:00",
            "updated": null,
            "authors": [],
            "site_name": "Site <&> *Name*",
            "language": "en",
            "image": null,
            "blocks": [ { "kind": "paragraph", "text": body } ],
            "body": body,
            "text": "",
        }
    })
    .to_string()
}

fn pathological() -> AlertView {
    view(&payload(20_000, 1_500, 30, 20_000))
}

fn fixtures() -> Vec<(&'static str, AlertView)> {
    vec![
        ("moscow_times", moscow_times()),
        ("vedomosti_ru", vedomosti()),
        ("pathological", pathological()),
    ]
}

#[test]
fn parses_the_seed_payload() {
    let alert = moscow_times();
    assert_eq!(
        alert.title,
        "Putin to Visit China in First Foreign Trip Since Re-Election"
    );
    assert_eq!(alert.published.as_deref(), Some("May 14, 2024"));
    assert_eq!(
        alert.meta_line(),
        "The Moscow Times · May 14, 2024 · watchlist russia-china"
    );
    assert_eq!(alert.matches.len(), 4);
    assert_eq!(alert.lead.len(), 2);
    assert!(alert.matches[2]
        .snippet
        .iter()
        .any(|span| span.bold && span.text == "Xi Jinping"));
}

#[test]
fn payload_errors_are_clear() {
    let error = |payload: &str| match AlertView::from_payload(payload) {
        Ok(_) => panic!("{payload} parsed"),
        Err(error) => error.to_string(),
    };
    assert!(error("{").starts_with("alert payload is not a valid version 1 payload: EOF"));
    let v2 =
        include_str!("fixtures/moscow_times.json").replacen("\"version\": 1", "\"version\": 2", 1);
    assert_eq!(
        error(&v2),
        "alert payload version 2 is not supported (this build reads version 1)"
    );
    let bad_url = payload(5, 5, 1, 5)
        .replace(
            "https://example.org/a_b*c/(x)?q=1&r=<2>|3",
            "javascript:alert(1)",
        )
        .replace("https://example.org/a", "file:///etc/passwd");
    assert_eq!(
        error(&bad_url),
        "article url `javascript:alert(1)` is not an absolute http(s) URL, so no message can link to it"
    );
}

#[test]
fn snapshots_of_every_target() {
    for (name, alert) in fixtures() {
        insta::assert_json_snapshot!(format!("{name}__slack"), slack(&alert));
        insta::assert_json_snapshot!(format!("{name}__discord"), discord(&alert));
        insta::assert_json_snapshot!(format!("{name}__teams"), teams(&alert));
        insta::assert_json_snapshot!(format!("{name}__ntfy_json"), ntfy_json(&alert, "news"));
        insta::assert_snapshot!(format!("{name}__ntfy_body"), ntfy(&alert).body);
        insta::assert_json_snapshot!(
            format!("{name}__telegram"),
            telegram(&alert, "-1001234567890")
        );
        let mail = email(&alert);
        insta::assert_snapshot!(format!("{name}__email_subject"), mail.subject);
        insta::assert_snapshot!(format!("{name}__email_text"), mail.text);
        insta::assert_snapshot!(format!("{name}__email_html"), mail.html);
    }
}

#[test]
fn snapshots_of_every_digest() {
    let alerts: Vec<AlertView> = fixtures().into_iter().map(|(_, alert)| alert).collect();
    insta::assert_json_snapshot!("digest__slack", slack_digest(&alerts).message);
    insta::assert_json_snapshot!("digest__discord", discord_digest(&alerts).message);
    insta::assert_json_snapshot!("digest__teams", teams_digest(&alerts).message);
    insta::assert_json_snapshot!(
        "digest__ntfy_json",
        ntfy_digest(&alerts).message.to_json("news")
    );
    insta::assert_json_snapshot!(
        "digest__telegram",
        telegram_digest(&alerts, "@newsroom").message
    );
    let mail = email_digest(&alerts);
    insta::assert_snapshot!(
        "digest__email_text",
        format!("{}\n\n{}", mail.subject, mail.text)
    );
    insta::assert_snapshot!("digest__email_html", mail.html);
}

/// Regression (issue 17): chat digests listed no alert ids, while webhook and email digests do.
#[test]
fn chat_digests_list_every_alert_id() {
    let alerts: Vec<AlertView> = fixtures().into_iter().map(|(_, alert)| alert).collect();
    for (service, body) in [
        ("slack", slack_digest(&alerts).message.to_string()),
        ("discord", discord_digest(&alerts).message.to_string()),
        ("teams", teams_digest(&alerts).message.to_string()),
        (
            "ntfy",
            ntfy_digest(&alerts).message.to_json("news").to_string(),
        ),
        (
            "telegram",
            telegram_digest(&alerts, "@newsroom").message.to_string(),
        ),
    ] {
        for alert in &alerts {
            assert!(
                // Markdown formats escape the underscore: read past escapes
                body.replace('\\', "").contains(&alert.id),
                "{service} digest lacks {}",
                alert.id
            );
        }
    }
}

// ---- invariants over generated alerts -------------------------------------------------------

/// Asserts no combining mark or joiner was cut away from its neighbours by a truncation.
fn assert_no_split_sequences(where_: &str, value: &str) {
    let characters: Vec<char> = value.chars().collect();
    let regional = |character: &char| ('\u{1F1E6}'..='\u{1F1FF}').contains(character);
    for (index, _) in characters
        .iter()
        .enumerate()
        .filter(|(_, character)| **character == '…')
    {
        let run = characters[..index]
            .iter()
            .rev()
            .take_while(|character| regional(character))
            .count();
        assert!(
            run % 2 == 0,
            "{where_}: half a flag before an ellipsis in {value:?}"
        );
    }
    for pair in characters.windows(2) {
        let (before, after) = (pair[0], pair[1]);
        assert!(
            !(before == '…' && ('\u{300}'..='\u{36F}').contains(&after)),
            "{where_}: combining mark after an ellipsis in {value:?}"
        );
        assert!(
            !(before == '\u{200D}' && after == '…'),
            "{where_}: joiner before an ellipsis in {value:?}"
        );
    }
}

/// Counts `**` markers that are not backslash-escaped; they must pair up.
fn assert_balanced_markdown(where_: &str, value: &str) {
    let mut markers = 0;
    let mut characters = value.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '\\' => {
                characters.next();
            }
            '*' if characters.peek() == Some(&'*') => {
                characters.next();
                markers += 1;
            }
            _ => {}
        }
    }
    assert!(markers % 2 == 0, "{where_}: unbalanced ** in {value:?}");
}

/// Checks HTML produced for Telegram or email: every tag is allowed and closed in order, every
/// `&` starts a known entity. Returns the visible text (tags removed, entities decoded).
fn check_html(where_: &str, value: &str, allowed: &[&str]) -> String {
    let mut visible = String::new();
    let mut stack: Vec<String> = Vec::new();
    let mut rest = value;
    while let Some(character) = rest.chars().next() {
        if character == '<' {
            let end = rest
                .find('>')
                .unwrap_or_else(|| panic!("{where_}: unclosed tag"));
            let tag = &rest[1..end];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(
                    stack.pop().as_deref(),
                    Some(name),
                    "{where_}: bad close in {value:?}"
                );
            } else if !tag.starts_with('!') && !tag.ends_with('/') {
                let name = tag.split(' ').next().unwrap_or_default();
                assert!(allowed.contains(&name), "{where_}: tag <{name}>");
                if name != "meta" {
                    stack.push(name.to_string());
                }
            }
            rest = &rest[end + 1..];
        } else if character == '&' {
            let entity = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                .into_iter()
                .find(|entity| rest.starts_with(entity))
                .unwrap_or_else(|| panic!("{where_}: bare & in {value:?}"));
            visible.push(match entity {
                "&amp;" => '&',
                "&lt;" => '<',
                "&gt;" => '>',
                "&quot;" => '"',
                _ => '\'',
            });
            rest = &rest[entity.len()..];
        } else {
            visible.push(character);
            rest = &rest[character.len_utf8()..];
        }
    }
    assert!(stack.is_empty(), "{where_}: unclosed {stack:?}");
    visible
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn check_slack(where_: &str, message: &Value) {
    let blocks = message["blocks"].as_array().cloned().unwrap_or_default();
    assert!(blocks.len() <= 50, "{where_}: {} blocks", blocks.len());
    assert!(
        utf16_len(str_at(message, "/text")) <= 3000,
        "{where_}: text"
    );
    for block in &blocks {
        for text in [
            str_at(block, "/text/text"),
            str_at(block, "/elements/0/text"),
        ] {
            assert!(
                utf16_len(text) <= 3000,
                "{where_}: section of {}",
                utf16_len(text)
            );
            assert_no_split_sequences(where_, text);
            // Slack's only escapes: no bare `&`, `<` only opening our links.
            for (index, _) in text.match_indices('&') {
                let after = &text[index..];
                assert!(
                    ["&amp;", "&lt;", "&gt;"]
                        .iter()
                        .any(|entity| after.starts_with(entity)),
                    "{where_}: bare & in {text:?}"
                );
            }
            assert!(
                text.matches('<').count() <= 1,
                "{where_}: stray < in {text:?}"
            );
        }
        let url = str_at(block, "/elements/0/url");
        assert!(utf16_len(url) <= 3000, "{where_}: button url");
    }
}

fn check_discord(where_: &str, message: &Value) {
    let embeds = message["embeds"].as_array().cloned().unwrap_or_default();
    assert!(embeds.len() <= 10, "{where_}: {} embeds", embeds.len());
    assert_eq!(message["allowed_mentions"], json!({ "parse": [] }));
    let mut total = 0;
    for embed in &embeds {
        let limits = [
            ("/title", 256),
            ("/description", 4096),
            ("/footer/text", 2048),
            ("/author/name", 256),
        ];
        for (pointer, limit) in limits {
            let text = str_at(embed, pointer);
            assert!(
                utf16_len(text) <= limit,
                "{where_}: {pointer} {}",
                utf16_len(text)
            );
            // Footers and author names are not Markdown-rendered: plain text, unescaped.
            if matches!(pointer, "/title" | "/description") {
                assert_balanced_markdown(where_, text);
            }
            assert_no_split_sequences(where_, text);
            total += utf16_len(text);
        }
        let fields = embed["fields"].as_array().cloned().unwrap_or_default();
        assert!(fields.len() <= 25, "{where_}: fields");
        for field in &fields {
            let (name, value) = (str_at(field, "/name"), str_at(field, "/value"));
            assert!(
                utf16_len(name) <= 256 && utf16_len(value) <= 1024,
                "{where_}: field"
            );
            assert!(!value.is_empty(), "{where_}: empty field value");
            assert_balanced_markdown(where_, value);
            assert_no_split_sequences(where_, value);
            total += utf16_len(name) + utf16_len(value);
        }
    }
    assert!(total <= 6000, "{where_}: embed total {total}");
}

fn check_teams(where_: &str, message: &Value) {
    let size = serde_json::to_vec(message)
        .map(|bytes| bytes.len())
        .unwrap_or(usize::MAX);
    assert!(size <= 28_000, "{where_}: {size} bytes");
    fn walk(where_: &str, value: &Value) {
        match value {
            Value::Object(object) => {
                if object.get("type") == Some(&json!("TextBlock")) {
                    let text = object["text"].as_str().unwrap_or_default();
                    assert_balanced_markdown(where_, text);
                    assert_no_split_sequences(where_, text);
                }
                object.values().for_each(|child| walk(where_, child));
            }
            Value::Array(items) => items.iter().for_each(|child| walk(where_, child)),
            _ => {}
        }
    }
    walk(where_, message);
    assert_eq!(
        str_at(message, "/attachments/0/contentType"),
        "application/vnd.microsoft.card.adaptive"
    );
}

fn check_ntfy(where_: &str, message: &NtfyMessage) {
    assert!(
        message.body.len() <= 4096,
        "{where_}: {} bytes",
        message.body.len()
    );
    assert!(message.title.chars().count() <= 250, "{where_}: title");
    assert_balanced_markdown(where_, &message.body);
    assert_no_split_sequences(where_, &message.body);
    assert_no_split_sequences(where_, &message.title);
    for (_, value) in message.headers() {
        assert!(
            value.bytes().all(|byte| (0x20..0x7F).contains(&byte)),
            "{where_}: header"
        );
    }
}

fn check_telegram(where_: &str, message: &Value) {
    let text = str_at(message, "/text");
    let visible = check_html(where_, text, &["b", "i", "a"]);
    assert!(
        utf16_len(&visible) <= 4096,
        "{where_}: {} visible",
        utf16_len(&visible)
    );
    assert!(!visible.trim().is_empty(), "{where_}: empty message");
    assert_no_split_sequences(where_, &visible);
    assert_eq!(str_at(message, "/parse_mode"), "HTML");
}

fn check_email(where_: &str, message: &EmailMessage) {
    assert!(message.subject.chars().count() <= 150, "{where_}: subject");
    assert!(
        !message.subject.contains(['\r', '\n']),
        "{where_}: subject lines"
    );
    let tags = [
        "html", "head", "meta", "body", "h2", "h3", "p", "a", "ul", "li", "strong",
    ];
    let visible = check_html(where_, &message.html, &tags);
    assert_no_split_sequences(where_, &visible);
    assert_no_split_sequences(where_, &message.text);
}

fn check_all(where_: &str, alert: &AlertView) {
    check_slack(where_, &slack(alert));
    check_discord(where_, &discord(alert));
    check_teams(where_, &teams(alert));
    check_ntfy(where_, &ntfy(alert));
    check_telegram(where_, &telegram(alert, "1"));
    check_email(where_, &email(alert));
}

#[test]
fn fixtures_respect_every_limit() {
    for (name, alert) in fixtures() {
        check_all(name, &alert);
    }
}

#[test]
fn generated_alerts_respect_every_limit() {
    let lengths = [0, 1, 2, 7, 59, 159, 161, 255, 257, 1023, 3001, 5000];
    for &title in &lengths {
        for (snippet, matches) in [(0, 0), (3, 1), (200, 3), (1100, 12), (40, 60)] {
            let lead = title / 2 + snippet;
            let alert = view(&payload(title.max(1), snippet, matches, lead));
            check_all(
                &format!("title {title}, snippet {snippet}, {matches} matches"),
                &alert,
            );
        }
    }
}

/// Issue 17: each digest format says how many alerts it listed, and that is exactly the
/// alerts shown (the first ones) with the others counted in "and N more alerts": the daemon
/// settles only the listed ones and sends the rest in a follow-up message.
#[test]
fn digests_report_how_many_alerts_they_list() {
    for count in [1, 9, 11, 49, 100] {
        let alerts: Vec<AlertView> = (0..count)
            .map(|index| {
                let mut alert = view(&payload(40 + index * 7 % 100, 120, 1, 100));
                // letters and digits only, which no format escapes
                alert.id = format!("alert{index:05}z");
                alert
            })
            .collect();
        let digests = [
            ("slack", slack_digest(&alerts).map(|body| body.to_string())),
            (
                "discord",
                discord_digest(&alerts).map(|body| body.to_string()),
            ),
            ("teams", teams_digest(&alerts).map(|body| body.to_string())),
            (
                "ntfy",
                ntfy_digest(&alerts).map(|body| body.to_json("t").to_string()),
            ),
            (
                "telegram",
                telegram_digest(&alerts, "1").map(|body| body.to_string()),
            ),
        ];
        for (name, digest) in digests {
            let where_ = format!("{name}, digest of {count}");
            assert!(digest.listed >= 1 && digest.listed <= count, "{where_}");
            for (index, alert) in alerts.iter().enumerate() {
                assert_eq!(
                    digest.message.contains(&alert.id),
                    index < digest.listed,
                    "{where_}: alert {index} of {} listed",
                    digest.listed
                );
            }
            let more = and_more(count - digest.listed, "alert", "alerts");
            assert_eq!(
                digest.message.contains(&more),
                digest.listed < count,
                "{where_}: {more}"
            );
        }
    }
    // Discord's 10 embeds: 11 alerts make two messages
    let eleven: Vec<AlertView> = (0..11).map(|_| view(&payload(60, 120, 1, 100))).collect();
    assert_eq!(discord_digest(&eleven).listed, 10);
}

#[test]
fn digests_respect_every_limit() {
    for count in [1, 2, 9, 10, 11, 49, 120] {
        let alerts: Vec<AlertView> = (0..count)
            .map(|index| {
                view(&payload(
                    50 + index * 37 % 400,
                    index * 13 % 300,
                    index % 4,
                    100,
                ))
            })
            .collect();
        let where_ = format!("digest of {count}");
        check_slack(&where_, &slack_digest(&alerts).message);
        check_discord(&where_, &discord_digest(&alerts).message);
        check_teams(&where_, &teams_digest(&alerts).message);
        check_ntfy(&where_, &ntfy_digest(&alerts).message);
        check_telegram(&where_, &telegram_digest(&alerts, "1").message);
        check_email(&where_, &email_digest(&alerts));
        if count > 48 {
            let blocks = slack_digest(&alerts).message["blocks"].clone();
            let last = blocks
                .as_array()
                .and_then(|blocks| blocks.last())
                .cloned()
                .unwrap_or_default();
            assert!(
                str_at(&last, "/elements/0/text").starts_with("and "),
                "{where_}"
            );
        }
        if count > 10 {
            assert!(discord_digest(&alerts).message["content"]
                .as_str()
                .unwrap_or_default()
                .starts_with("and "));
        }
    }
    // An empty digest is a caller's mistake, but still a valid message everywhere.
    check_slack("empty digest", &slack_digest(&[]).message);
    check_discord("empty digest", &discord_digest(&[]).message);
    assert_eq!(
        discord_digest(&[]).message["content"],
        json!("wirewatch: 0 new alerts")
    );
    check_teams("empty digest", &teams_digest(&[]).message);
    check_ntfy("empty digest", &ntfy_digest(&[]).message);
    check_telegram("empty digest", &telegram_digest(&[], "1").message);
    check_email("empty digest", &email_digest(&[]));

    let big: Vec<AlertView> = (0..40).map(|_| pathological()).collect();
    check_teams("pathological digest", &teams_digest(&big).message);
    check_discord("pathological digest", &discord_digest(&big).message);
    check_telegram("pathological digest", &telegram_digest(&big, "1").message);
    check_ntfy("pathological digest", &ntfy_digest(&big).message);
    check_slack("pathological digest", &slack_digest(&big).message);
}

/// A small deterministic generator (64-bit LCG, Knuth's constants): varied inputs without a
/// property-testing dependency, reproducible from the iteration number in a failure message.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % below.max(1)
    }
}

#[test]
fn random_text_soups_respect_every_limit() {
    let pieces = [
        "<",
        ">",
        "&",
        "&amp;",
        "*",
        "**",
        "_",
        "~",
        "`",
        "|",
        "[",
        "]",
        "(",
        ")",
        "\\",
        "#",
        "-",
        " ",
        " ",
        "\n",
        "a",
        "word",
        "Путин",
        "😀",
        "👨\u{200D}👩\u{200D}👧",
        "e\u{301}",
        "\u{302}",
        "🇺🇦",
        "\"",
        "'",
        "@everyone",
        "中文",
    ];
    let mut random = Lcg(0x5EED);
    for iteration in 0..100 {
        let mut soup = |length: usize| -> String {
            (0..length)
                .map(|_| pieces[random.next(pieces.len())])
                .collect()
        };
        let title = soup(1 + iteration * 97 % 3000);
        let matches: Vec<Value> = (0..iteration % 7)
            .map(|index| {
                json!({
                    "term": format!("t{index}"),
                    "field": "body",
                    "snippet": format!("{}**t{index}**{}", soup(iteration * 13 % 400), soup(iteration * 29 % 900)),
                    "start": 0,
                    "end": 0,
                })
            })
            .collect();
        let body = soup(iteration * 211 % 6000);
        let payload = json!({
            "version": 1, "id": "msg_x", "type": "article.matched",
            "watchlist": soup(10), "source": soup(5), "detected_at": "2024-05-14T10:07:31.201Z",
            "matches": matches,
            "article": {
                "url": "https://example.org/a", "title": title, "published": null,
                "site_name": soup(20), "blocks": [], "body": body,
            }
        });
        let alert = view(&payload.to_string());
        check_all(&format!("random soup {iteration}"), &alert);
    }
}

mod health;
mod hostile;

use health::{check_all_health, health_fixtures, health_payload, health_view, FEED};
