//! `kind = "nats"` sinks: the server URL and creds file, and the subject template — compiled and
//! rendered over a sample alert (and, for a health sink, a sample source-health message), so a
//! subject that could never be published to is reported by `check`, not by the first alert.

use std::path::Path;
use std::time::Duration;

use super::super::load::Problems;
use crate::config::raw::RawSink;
use crate::config::{SinkConfig, SinkKind};
use crate::target_url::nats::{render_subject, NatsTarget};

/// The keys only a nats sink takes, so other kinds can refuse them by name.
pub(super) fn keys(raw: &RawSink) -> [(&'static str, bool); 2] {
    [
        ("subject", raw.subject.is_some()),
        ("creds", raw.creds.is_some()),
    ]
}

pub(super) fn nats_sink(
    raw: &RawSink,
    path: &str,
    base: &Path,
    timeout: Duration,
    problems: &mut Problems,
) -> Option<SinkKind> {
    for (key, present) in [
        ("secret", raw.secret.is_some()),
        ("template", raw.template.is_some()),
    ] {
        if present {
            problems.add(
                format!("{path}.{key}"),
                "a nats sink takes no such key: it publishes the alert payload as it is (route by subject) and authenticates with the url's credentials or creds",
            );
        }
    }
    let credentials = raw.creds.as_deref().map(|file| base.join(file));
    if let Some(file) = &credentials {
        if !file.is_file() {
            problems.add(
                format!("{path}.creds"),
                format!(
                    "{} is not a readable file; give the path of the .creds file (`nsc generate creds` writes one)",
                    file.display()
                ),
            );
        }
    }
    let target = match raw.url.as_deref() {
        Some(text) => match NatsTarget::parse(text, credentials) {
            Ok(target) => Some(target),
            Err(message) => {
                problems.add(format!("{path}.url"), message);
                None
            }
        },
        None => {
            problems.add(
                format!("{path}.url"),
                "missing: a nats sink needs url = \"nats://host:4222\"",
            );
            None
        }
    };
    let subject = match raw.subject.as_deref() {
        Some(subject) => match sample_subject(subject, false) {
            Ok(()) => Some(subject.to_string()),
            Err(message) => {
                problems.add(format!("{path}.subject"), message);
                None
            }
        },
        None => {
            problems.add(
                format!("{path}.subject"),
                "missing: a nats sink needs subject = \"news.alerts.{{ watchlist }}\" (a template over the alert payload)",
            );
            None
        }
    };
    if raw.digest.as_deref().is_some_and(|digest| digest != "none") {
        problems.add(
            format!("{path}.digest"),
            "a nats sink publishes each alert as one message; a stream's consumers batch for themselves",
        );
    }
    Some(SinkKind::Nats {
        target: target?,
        subject: subject?,
        timeout,
    })
}

/// Renders `subject` over a sample alert, or a sample source-health message, and checks the
/// result: a syntax error, a misspelled field or an unpublishable subject (`news.alerts.` for a
/// health message, which has no watchlist) is reported here.
fn sample_subject(subject: &str, health: bool) -> Result<(), String> {
    // a fixed instant: validation reads no clock
    let now = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    let payload = if health {
        crate::alert::health_payload_json(
            "msg_sample",
            crate::alert::SOURCE_UNHEALTHY,
            "sample-source",
            now,
            crate::alert::SourceHealthRecord {
                url: "https://example.org/feed",
                kind: "feed",
                consecutive_failures: 5,
                last_error: Some("HTTP 503"),
                last_success: None,
                unhealthy_since: crate::alert::rfc3339(now),
            },
        )
    } else {
        crate::alert::sample_payload("sample", now).map(|(_, payload)| payload)
    };
    let payload: serde_json::Value = payload
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    render_subject(subject, &payload).map(|_| ())
}

/// A nats sink named in `[daemon] health_sinks` must render a subject for source-health
/// messages too, which carry `source` and `health` but no `watchlist` or `article`.
pub(in crate::config::validate) fn check_health_subjects(
    health_sinks: &[String],
    sinks: &[SinkConfig],
    problems: &mut Problems,
) {
    for sink in sinks {
        let SinkKind::Nats { subject, .. } = &sink.kind else {
            continue;
        };
        if !health_sinks.contains(&sink.name) {
            continue;
        }
        if let Err(message) = sample_subject(subject, true) {
            problems.add(
                format!("sinks.{}.subject", sink.name),
                format!("{message} for source-health messages (the sink is in daemon.health_sinks; they have no watchlist or article): use e.g. {{{{ watchlist | default(\"health\") }}}} or {{{{ type }}}}"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::SinkKind;

    fn problems_of(sink: &str, daemon: &str) -> Vec<String> {
        let text = format!(
            "[daemon]\n{daemon}\n[sources.a]\nurl = \"https://example.org/feed\"\n[watchlists.w]\nkeywords = [\"Putin\"]\n[sinks.bus]\n{sink}\n"
        );
        let environment = |name: &str| (name == "NATS_PASSWORD").then(|| "hunter2".to_string());
        match crate::config::validate::parse(&text, Path::new("/etc/wirewatch"), &environment) {
            Ok(config) => {
                assert!(matches!(config.sinks[0].kind, SinkKind::Nats { .. }));
                Vec::new()
            }
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    }

    fn check(sink: &str, expected: &[&str]) {
        assert_eq!(problems_of(sink, ""), expected, "{sink}");
    }

    #[test]
    fn valid_nats_sinks() {
        check(
            "kind = \"nats\"\nurl = \"nats://127.0.0.1:4222\"\nsubject = \"news.alerts.{{ watchlist }}\"",
            &[],
        );
        check(
            "kind = \"nats\"\nurl = \"tls://wirewatch:${NATS_PASSWORD}@bus.example.org\"\nsubject = \"news.{{ source }}.{{ watchlist }}\"\nretry = [\"5s\"]\ntimeout = \"5s\"",
            &[],
        );
    }

    #[test]
    fn nats_sink_problems_name_their_key() {
        check(
            "kind = \"nats\"",
            &[
                "sinks.bus.url: missing: a nats sink needs url = \"nats://host:4222\"",
                "sinks.bus.subject: missing: a nats sink needs subject = \"news.alerts.{{ watchlist }}\" (a template over the alert payload)",
            ],
        );
        check(
            "kind = \"nats\"\nurl = \"https://bus\"\nsubject = \"news.{{ watchlst }}\"",
            &[
                "sinks.bus.url: unsupported scheme `https://`; expected nats:// (TLS if the server asks for it) or tls:// (TLS required)",
                "sinks.bus.subject: subject template: template line 1: undefined value at `watchlst`",
            ],
        );
        check(
            "kind = \"nats\"\nurl = \"nats://bus\"\nsubject = \"news.alerts.>\"",
            &["sinks.bus.subject: subject \"news.alerts.>\" has a wildcard token (`*` or `>`); publish to a concrete subject and let the stream's subject filter use wildcards"],
        );
        check(
            "kind = \"nats\"\nurl = \"nats://bus\"\nsubject = \"news.{{ article.title }}\"",
            &["sinks.bus.subject: subject \"news.wirewatch test alert\" contains ' '; subjects cannot hold whitespace or control characters (filter names through `replace`)"],
        );
        check(
            "kind = \"nats\"\nurl = \"nats://bus\"\nsubject = \"a\"\ncreds = \"missing.creds\"",
            &["sinks.bus.creds: /etc/wirewatch/missing.creds is not a readable file; give the path of the .creds file (`nsc generate creds` writes one)"],
        );
        check(
            "kind = \"nats\"\nurl = \"nats://bus\"\nsubject = \"a\"\ndigest = \"1h\"\ntemplate = \"x\"\nsecret = \"whsec_x\"",
            &[
                "sinks.bus.secret: a nats sink takes no such key: it publishes the alert payload as it is (route by subject) and authenticates with the url's credentials or creds",
                "sinks.bus.template: a nats sink takes no such key: it publishes the alert payload as it is (route by subject) and authenticates with the url's credentials or creds",
                "sinks.bus.digest: a nats sink publishes each alert as one message; a stream's consumers batch for themselves",
                "sinks.bus.digest: a digest uses the service's digest format, so it cannot be combined with a template (the template shapes single alerts)",
            ],
        );
    }

    #[test]
    fn other_kinds_refuse_nats_keys() {
        let problems = problems_of("kind = \"log\"\nsubject = \"a\"\ncreds = \"x\"", "");
        assert_eq!(
            problems,
            [
                "sinks.bus.subject: only nats sinks take a subject and a creds file",
                "sinks.bus.creds: only nats sinks take a subject and a creds file",
            ]
        );
    }

    #[test]
    fn credentials_never_reach_the_problem_text() {
        let problems = problems_of(
            "kind = \"nats\"\nurl = \"nats://u:${NATS_PASSWORD}@bus/x\"\nsubject = \"a\"",
            "",
        );
        assert_eq!(problems.len(), 1);
        assert!(!problems[0].contains("hunter2"), "{problems:?}");
    }

    #[test]
    fn health_sinks_need_a_subject_without_watchlist() {
        let sink = "kind = \"nats\"\nurl = \"nats://bus\"\nsubject = \"news.{{ watchlist }}\"";
        let problems = problems_of(sink, "health_sinks = [\"bus\"]");
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("sinks.bus.subject: subject template: template line 1: undefined value at `watchlist` for source-health messages"),
            "{problems:?}"
        );
        let sink = "kind = \"nats\"\nurl = \"nats://bus\"\nsubject = \"news.{{ watchlist | default('health') }}\"";
        assert_eq!(
            problems_of(sink, "health_sinks = [\"bus\"]"),
            Vec::<String>::new()
        );
    }
}
