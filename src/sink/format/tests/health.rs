//! Source-health messages: told apart from alerts, snapshots of every format, and the same
//! limit checks as alerts over hostile fields.

use super::*;

/// A stored health payload, as `alert::health_payload_json` writes it.
pub(super) fn health_payload(
    kind: &str,
    source: &str,
    url: &str,
    failures: u32,
    last_error: Option<&str>,
    last_success: Option<&str>,
    detected_at: &str,
) -> String {
    json!({
        "version": 1,
        "id": "msg_9a1e0c5d7b3f4e2a8c6d0b1f2e3a4c5d",
        "type": kind,
        "source": source,
        "detected_at": detected_at,
        "health": {
            "url": url,
            "kind": "feed",
            "consecutive_failures": failures,
            "last_error": last_error,
            "last_success": last_success,
            "unhealthy_since": "2024-05-14T10:07:31.201Z",
        }
    })
    .to_string()
}

pub(super) fn health_view(payload: &str) -> HealthView {
    match Message::from_payload(payload) {
        Ok(Message::Health(view)) => view,
        Ok(Message::Alert(_)) => panic!("health payload parsed as an alert"),
        Err(error) => panic!("health payload does not parse: {error}"),
    }
}

pub(super) const FEED: &str = "https://www.themoscowtimes.com/rss/news";

pub(super) fn health_fixtures() -> Vec<(&'static str, HealthView)> {
    vec![
        (
            "unhealthy",
            health_view(&health_payload(
                "source.unhealthy",
                "moscow-times",
                FEED,
                5,
                Some("fetch https://www.themoscowtimes.com/rss/news: HTTP 503 Service Unavailable"),
                Some("2024-05-14T08:02:11.514Z"),
                "2024-05-14T10:07:31.201Z",
            )),
        ),
        (
            "unhealthy_never_answered",
            health_view(&health_payload(
                "source.unhealthy",
                "kommersant <ru>",
                "http://kommersant.example/rss?a=1&b=*2*",
                1,
                Some("fetch http://kommersant.example/rss: connection refused"),
                None,
                "2024-05-14T10:07:31.201Z",
            )),
        ),
        (
            "recovered",
            health_view(&health_payload(
                "source.recovered",
                "moscow-times",
                FEED,
                0,
                None,
                Some("2024-05-14T12:42:05.000Z"),
                "2024-05-14T12:42:05.000Z",
            )),
        ),
    ]
}

/// Every text field as long and as hostile as a payload can make it.
pub(super) fn pathological_health(kind: &str) -> HealthView {
    let url = format!(
        "https://example.org/a_b*c/(x)?q=1&r=<2>|3&{}",
        "p".repeat(5000)
    );
    health_view(&health_payload(
        kind,
        &repeat_to(NASTY, 3000),
        &url,
        u32::MAX,
        Some(&repeat_to(NASTY, 20_000)),
        Some("2024-05-14T08:02:11.514Z"),
        "2024-05-14T10:07:31.201Z",
    ))
}

#[test]
fn health_payloads_are_told_apart_from_alerts() {
    assert!(matches!(
        Message::from_payload(include_str!("../fixtures/moscow_times.json")),
        Ok(Message::Alert(_))
    ));
    let (_, unhealthy) = &health_fixtures()[0];
    assert_eq!(unhealthy.kind, HealthKind::Unhealthy);
    assert_eq!(unhealthy.headline(), "Source unhealthy: moscow-times");
    assert_eq!(
        health_fixtures()[2].1.unhealthy_for().as_deref(),
        Some("2 hours 34 minutes")
    );
    // an unknown type is read as an alert, whose parser says what is missing
    let unknown = health_payload("source.exploded", "s", FEED, 1, None, None, "");
    assert!(Message::from_payload(&unknown)
        .err()
        .is_some_and(|error| error.to_string().contains("missing field `watchlist`")));
    let v2 = health_payload("source.recovered", "s", FEED, 1, None, None, "")
        .replace("\"version\":1", "\"version\":2");
    assert!(Message::from_payload(&v2)
        .err()
        .is_some_and(|error| error.to_string().contains("version 2")));
}

#[test]
fn snapshots_of_every_health_format() {
    for (name, health) in health_fixtures() {
        insta::assert_json_snapshot!(format!("health_{name}__slack"), slack_health(&health));
        insta::assert_json_snapshot!(format!("health_{name}__discord"), discord_health(&health));
        insta::assert_json_snapshot!(format!("health_{name}__teams"), teams_health(&health));
        insta::assert_json_snapshot!(
            format!("health_{name}__ntfy_json"),
            ntfy_health(&health).to_json("ops")
        );
        insta::assert_json_snapshot!(
            format!("health_{name}__telegram"),
            telegram_health(&health, "-1001234567890")
        );
        let mail = email_health(&health);
        insta::assert_snapshot!(
            format!("health_{name}__email_text"),
            format!("{}\n\n{}", mail.subject, mail.text)
        );
        insta::assert_snapshot!(format!("health_{name}__email_html"), mail.html);
    }
}

pub(super) fn check_all_health(where_: &str, health: &HealthView) {
    check_slack(where_, &slack_health(health));
    check_discord(where_, &discord_health(health));
    check_teams(where_, &teams_health(health));
    check_ntfy(where_, &ntfy_health(health));
    check_telegram(where_, &telegram_health(health, "1"));
    check_email(where_, &email_health(health));
}

#[test]
fn health_messages_respect_every_limit() {
    for (name, health) in health_fixtures() {
        check_all_health(name, &health);
    }
    for kind in ["source.unhealthy", "source.recovered"] {
        let health = pathological_health(kind);
        check_all_health(&format!("pathological {kind}"), &health);
        // the URL is too long to link anywhere, yet every message still names the source
        assert_eq!(health.link, None);
        let telegram = telegram_health(&health, "1");
        assert!(str_at(&telegram, "/text").contains("Source "), "{kind}");
    }
    let mut random = Lcg(0x4EA1);
    for iteration in 0..30 {
        let error = repeat_to(NASTY, random.next(6000));
        let source = repeat_to(NASTY, 1 + random.next(400));
        let payload = health_payload(
            if iteration % 2 == 0 {
                "source.unhealthy"
            } else {
                "source.recovered"
            },
            &source,
            FEED,
            iteration,
            Some(&error),
            None,
            "2024-05-14T10:07:31.201Z",
        );
        check_all_health(&format!("health {iteration}"), &health_view(&payload));
    }
}

#[test]
fn ntfy_health_priority_follows_the_kind() {
    let fixtures = health_fixtures();
    let unhealthy = ntfy_health(&fixtures[0].1);
    let recovered = ntfy_health(&fixtures[2].1);
    assert_eq!(unhealthy.priority, Some(4));
    assert_eq!(recovered.priority, Some(3));
    assert!(unhealthy.headers().contains(&("Priority", "4".to_string())));
    assert_eq!(unhealthy.tags[0], "warning");
    assert_eq!(recovered.tags[0], "white_check_mark");
}
