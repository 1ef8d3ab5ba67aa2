//! Hostile feed text (issue 19): bidi controls and invisible characters never reach a rendered
//! message but stay in the raw payload; right-to-left text renders unchanged; Slack feed text can
//! neither format nor ping; entities show as typed; every format's snapshot with such a title.

use super::*;
use crate::text_safety;

/// The spoofing title of issue 19: one RIGHT-TO-LEFT OVERRIDE and no closing mark, long enough
/// that every service cuts it.
fn bidi_title() -> String {
    format!("the \u{202E}{}", "evil.exe txt.report ".repeat(300))
}

/// An alert whose title, snippet, lead and publisher are `text`.
fn hostile_alert(title: &str, text: &str, site_name: &str) -> AlertView {
    view(
        &json!({
            "version": 1,
            "id": "msg_0123456789abcdef0123456789abcdef",
            "type": "article.matched",
            "watchlist": "hostile",
            "source": "hostile-source",
            "detected_at": "2024-05-14T10:07:31.201Z",
            "matches": [ {
                "term": "evil",
                "field": "title",
                "snippet": format!("{text} **evil** {text}"),
                "start": 0,
                "end": 0,
            } ],
            "article": {
                "url": "https://example.org/news/a_b~c?x=1&y=2",
                "title": title,
                "published": "2024-05-14T13:05:00+03:00",
                "site_name": site_name,
                "blocks": [ { "kind": "paragraph", "text": text } ],
                "body": text,
            }
        })
        .to_string(),
    )
}

/// Every string in a JSON message.
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(object) => object.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// Every piece of text each of the six formats renders for `alert`, by format name.
fn rendered_alert(alert: &AlertView) -> Vec<(&'static str, Vec<String>)> {
    let ntfy = ntfy(alert);
    let mail = email(alert);
    vec![
        ("slack", strings(&slack(alert))),
        ("discord", strings(&discord(alert))),
        ("teams", strings(&teams(alert))),
        ("ntfy", vec![ntfy.title, ntfy.body]),
        ("telegram", strings(&telegram(alert, "1"))),
        ("email", vec![mail.subject, mail.text, mail.html]),
    ]
}

fn rendered_digest(alerts: &[AlertView]) -> Vec<(&'static str, Vec<String>)> {
    let ntfy = ntfy_digest(alerts).message;
    let mail = email_digest(alerts);
    vec![
        ("slack", strings(&slack_digest(alerts).message)),
        ("discord", strings(&discord_digest(alerts).message)),
        ("teams", strings(&teams_digest(alerts).message)),
        ("ntfy", vec![ntfy.title, ntfy.body]),
        ("telegram", strings(&telegram_digest(alerts, "1").message)),
        ("email", vec![mail.subject, mail.text, mail.html]),
    ]
}

fn rendered_health(health: &HealthView) -> Vec<(&'static str, Vec<String>)> {
    let ntfy = ntfy_health(health);
    let mail = email_health(health);
    vec![
        ("slack", strings(&slack_health(health))),
        ("discord", strings(&discord_health(health))),
        ("teams", strings(&teams_health(health))),
        ("ntfy", vec![ntfy.title, ntfy.body]),
        ("telegram", strings(&telegram_health(health, "1"))),
        ("email", vec![mail.subject, mail.text, mail.html]),
    ]
}

fn assert_no_invisible_controls(where_: &str, rendered: &[(&str, Vec<String>)]) {
    for (format, texts) in rendered {
        // Discord's own placeholder for an empty field value is the one zero-width space allowed.
        for text in texts.iter().filter(|text| text.as_str() != "\u{200B}") {
            let found: Vec<char> = text
                .chars()
                .filter(|&character| {
                    matches!(character as u32, 0x202A..=0x202E | 0x2066..=0x2069)
                        || text_safety::is_invisible_control(character)
                })
                .collect();
            assert!(
                found.is_empty(),
                "{where_}, {format}: {found:?} survived in {text:?}"
            );
        }
    }
}

#[test]
fn bidi_controls_in_a_cut_title_reach_no_message() {
    let title = bidi_title();
    let hidden = format!("zero\u{200B}width \u{2066}isolated\u{2069} \u{FEFF}bom {title}");
    let alert = hostile_alert(&title, &hidden, "site \u{202B}name");
    assert_no_invisible_controls("alert", &rendered_alert(&alert));
    check_all("bidi alert", &alert);
    // the title is still there, cut, only without the override
    let expected_start = "the evil.exe txt.report evil.exe";
    assert!(ntfy(&alert).title.starts_with(expected_start));
    assert!(discord(&alert)["embeds"][0]["title"]
        .as_str()
        .is_some_and(|shown| shown.starts_with(expected_start) && shown.ends_with('…')));

    let alerts = vec![alert.clone(), alert.clone(), moscow_times()];
    assert_no_invisible_controls("digest", &rendered_digest(&alerts));
    check_slack("bidi digest", &slack_digest(&alerts).message);
    check_discord("bidi digest", &discord_digest(&alerts).message);
    check_teams("bidi digest", &teams_digest(&alerts).message);
    check_ntfy("bidi digest", &ntfy_digest(&alerts).message);
    check_telegram("bidi digest", &telegram_digest(&alerts, "1").message);
    check_email("bidi digest", &email_digest(&alerts));

    for kind in ["source.unhealthy", "source.recovered"] {
        let health = health_view(&health_payload(
            kind,
            &format!("feed \u{202E}{}", "gpj.exe ".repeat(100)),
            &format!("https://example.org/{title}"),
            3,
            Some(&hidden),
            None,
            "2024-05-14T10:07:31.201Z",
        ));
        assert_no_invisible_controls(kind, &rendered_health(&health));
        check_all_health(kind, &health);
    }
}

#[test]
fn bidi_controls_stay_in_the_raw_payload() {
    // The generic webhook sends the stored payload, which is data: parsing a view of it for
    // messages must not be the place that changes it.
    let payload = json!({ "version": 1, "id": "msg_x", "watchlist": "w", "source": "s",
        "detected_at": "2024-05-14T10:07:31.201Z",
        "article": { "url": "https://example.org/a", "title": bidi_title() } })
    .to_string();
    let before = payload.clone();
    let alert = view(&payload);
    assert_eq!(payload, before);
    assert!(payload.contains('\u{202E}'));
    assert!(!alert.title.contains('\u{202E}'));
}

#[test]
fn right_to_left_titles_render_unchanged() {
    // Arabic (with an Arabic letter mark) and Hebrew (with a right-to-left mark), and a Persian
    // word spelled with a zero-width non-joiner: direction marks and joiners are kept.
    let arabic = "بوتين يزور الصين في أول رحلة خارجية منذ إعادة انتخابه \u{061C}2024";
    let hebrew = "פוטין יבקר בסין בנסיעה הראשונה לחו\"ל מאז בחירתו מחדש\u{200F} – רויטרס";
    let persian = "پوتین می\u{200C}خواهد به چین برود";
    for title in [arabic, hebrew, persian] {
        let alert = hostile_alert(title, title, "الجزيرة · הארץ");
        assert_eq!(alert.title, title);
        let slack = slack(&alert);
        assert!(str_at(&slack, "/blocks/0/text/text").contains(&format!("|{title}>")));
        assert!(str_at(&slack, "/text").starts_with(title));
        assert_eq!(str_at(&discord(&alert), "/embeds/0/title"), title);
        assert_eq!(
            str_at(&teams(&alert), "/attachments/0/content/body/0/text"),
            title
        );
        assert_eq!(ntfy(&alert).title, title);
        // Telegram and email escape `"` in HTML.
        let html_title = text::escape_html(title);
        assert!(str_at(&telegram(&alert, "1"), "/text").contains(&html_title));
        let mail = email(&alert);
        assert!(mail.subject.ends_with(title));
        assert!(mail.text.starts_with(title));
        assert!(mail.html.contains(&html_title));
        // the publisher line keeps both scripts as well
        assert!(str_at(&slack, "/blocks/1/elements/0/text").starts_with("الجزيرة · הארץ"));
        check_all(title, &alert);
    }
}

/// Every `mrkdwn` text object in a Slack message.
fn mrkdwn_objects(value: &Value) -> Vec<Value> {
    match value {
        Value::Object(object) if object.get("type") == Some(&json!("mrkdwn")) => {
            vec![value.clone()]
        }
        Value::Object(object) => object.values().flat_map(mrkdwn_objects).collect(),
        Value::Array(items) => items.iter().flat_map(mrkdwn_objects).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn slack_feed_text_can_neither_format_nor_ping() {
    let hostile =
        "*bold* _it_ ~strike~ `code` ```block``` @here @channel @everyone <!here> #general";
    let alert = hostile_alert(hostile, hostile, "@everyone *Site*");
    let health = health_view(&health_payload(
        "source.unhealthy",
        "@here *src*",
        FEED,
        2,
        Some(hostile),
        None,
        "2024-05-14T10:07:31.201Z",
    ));
    let messages = [
        ("alert", slack(&alert)),
        (
            "digest",
            slack_digest(&[alert.clone(), moscow_times()]).message,
        ),
        ("health", slack_health(&health)),
    ];
    for (name, message) in &messages {
        let objects = mrkdwn_objects(message);
        assert!(!objects.is_empty(), "{name}");
        for object in &objects {
            assert_eq!(object["verbatim"], json!(true), "{name}: {object}");
        }
        // The feed's own markers are gone from every text, whatever is ours around them.
        for text in strings(message) {
            for marker in [
                "*bold*", "_it_", "~strike~", "`code`", "```", "@here", "@channel",
            ] {
                assert!(!text.contains(marker), "{name}: {marker} in {text:?}");
            }
            assert!(!text.contains("<!"), "{name}: {text:?}");
        }
    }
    let (_, message) = &messages[0];
    // Our bold and link survive around the neutralised title.
    let title = str_at(message, "/blocks/0/text/text");
    assert_eq!(
        title,
        "*<https://example.org/news/a_b~c?x=1&amp;y=2|∗bold∗ ˍitˍ ∼strike∼ ˋcodeˋ ˋˋˋblockˋˋˋ \
         ＠here ＠channel ＠everyone &lt;!here&gt; #general>*"
    );
    // the snippet's hit is still our bold; the URL keeps its `_` and `~`
    assert!(str_at(message, "/blocks/2/text/text").contains(" *evil* "));
    assert!(str_at(message, "/text").ends_with(" <https://example.org/news/a_b~c?x=1&amp;y=2>"));
}

#[test]
fn slack_fallback_of_a_long_title_keeps_source_and_link() {
    let alert = hostile_alert(&bidi_title(), "lead", "Example News");
    let message = slack(&alert);
    let fallback = str_at(&message, "/text");
    assert!(utf16_len(fallback) <= 3000, "{}", utf16_len(fallback));
    assert!(
        fallback.starts_with("the evil.exe txt.report"),
        "{fallback}"
    );
    assert!(
        fallback.ends_with(
            "… — Example News · May 14, 2024 · watchlist hostile \
             <https://example.org/news/a_b~c?x=1&amp;y=2>"
        ),
        "{fallback}"
    );
    // a short title gets the same line, uncut
    let short = slack(&hostile_alert("Short", "lead", "Example News"));
    assert_eq!(
        str_at(&short, "/text"),
        "Short — Example News · May 14, 2024 · watchlist hostile \
         <https://example.org/news/a_b~c?x=1&amp;y=2>"
    );
    // a URL too long for the text is left out, never cut; the title and source line stay
    let long_url = format!("https://example.org/{}", "a".repeat(3000));
    let mut huge = alert.clone();
    huge.url = long_url.clone();
    let fallback = slack(&huge)["text"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(utf16_len(&fallback) <= 3000);
    assert!(!fallback.contains("https://"), "{fallback}");
    assert!(fallback.ends_with("· watchlist hostile"), "{fallback}");
}

#[test]
fn ntfy_and_teams_show_a_literal_entity_as_typed() {
    let title = "Fish &amp; Chips &#38; &#x26; AT&T Q & A";
    let alert = hostile_alert(title, title, "Site");
    // ntfy renders CommonMark: a backslash keeps `&amp;` from being read as an entity
    let body = ntfy(&alert).body;
    assert!(
        body.contains(r"Fish \&amp; Chips \&#38; \&#x26; AT&T Q & A"),
        "{body}"
    );
    // the title is not Markdown: as typed
    assert_eq!(ntfy(&alert).title, title);
    let digest = ntfy_digest(std::slice::from_ref(&alert)).message.body;
    assert!(digest.contains(r"**Fish \&amp; Chips"), "{digest}");
    // Teams: `&amp;amp;` decodes once, to the `&amp;` of the title
    let card = teams(&alert);
    let expected = "Fish &amp;amp; Chips &amp;#38; &amp;#x26; AT&T Q & A";
    assert_eq!(
        str_at(&card, "/attachments/0/content/body/0/text"),
        expected
    );
    assert!(strings(&teams_digest(std::slice::from_ref(&alert)).message)
        .iter()
        .any(|text| text.contains(expected)));
    // Discord decodes no entities: left as typed
    assert_eq!(str_at(&discord(&alert), "/embeds/0/title"), title);
}

#[test]
fn teams_cards_declare_the_version_their_heading_needs() {
    let alert = moscow_times();
    let (_, health) = &health_fixtures()[0];
    for (name, card) in [
        ("alert", teams(&alert)),
        ("digest", teams_digest(std::slice::from_ref(&alert)).message),
        ("health", teams_health(health)),
    ] {
        let content = &card["attachments"][0]["content"];
        let uses_heading = strings(content).iter().any(|text| text == "heading");
        assert!(uses_heading, "{name}");
        // `style: "heading"` is Adaptive Cards 1.5
        assert_eq!(content["version"], json!("1.5"), "{name}");
    }
}

#[test]
fn snapshots_of_hostile_feed_text() {
    let hostile = format!(
        "*bold* _it_ ~strike~ `code` @here &amp; AT&T zero\u{200B}width {}",
        bidi_title()
    );
    let alert = hostile_alert(&hostile, &hostile, "الجزيرة \u{2067}@channel\u{2069}");
    insta::assert_json_snapshot!("slack", slack(&alert));
    insta::assert_json_snapshot!("discord", discord(&alert));
    insta::assert_json_snapshot!("teams", teams(&alert));
    insta::assert_json_snapshot!("ntfy_json", ntfy_json(&alert, "news"));
    insta::assert_json_snapshot!("telegram", telegram(&alert, "1"));
    let mail = email(&alert);
    insta::assert_snapshot!(
        "email",
        format!("{}\n\n{}\n\n{}", mail.subject, mail.text, mail.html)
    );
}
