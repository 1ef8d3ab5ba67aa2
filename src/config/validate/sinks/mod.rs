//! `[sinks.NAME]`: the kind (written, or named by a service URL like `slack://…`), then one
//! function per kind for the keys only it takes, then what every sink shares: the retry
//! schedule, timeout, rate limit and digest window.
//!
//! The kind is a closed enum deserialized by serde from its configuration name, so adding a kind
//! is a variant plus a function here. Target URLs are parsed by `sink::format`; this module only
//! decides which keys fit which kind and reports the rest.

mod email;
mod nats;

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::load::Problems;
use super::values::{
    duration, http_url, parse_duration_at_most, parse_rate_limit, sink_http_url, MAX_DIGEST,
    MAX_RETRY_DELAY, MAX_TIMEOUT,
};
use crate::config::raw::{OneOrMany, RawSink};
use crate::config::{RateLimit, Secret, SinkConfig, SinkKind, DEFAULT_RETRY};
use crate::target_url::{TargetKind, TargetUrl, TargetUrlError};

/// The sink kinds, as `kind = "…"` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Webhook,
    Log,
    Slack,
    Discord,
    Teams,
    Ntfy,
    Telegram,
    Email,
    Nats,
}

impl Kind {
    /// The kind a `kind = "…"` value names; `None` for a name no kind has.
    fn named(name: &str) -> Option<Kind> {
        let deserializer = serde::de::value::StrDeserializer::<serde::de::value::Error>::new(name);
        Kind::deserialize(deserializer).ok()
    }

    /// The kind a service URL names, for sinks that leave `kind` out.
    fn of_target(target: &TargetUrl) -> Kind {
        match target {
            TargetUrl::Json { .. } => Kind::Webhook,
            TargetUrl::Slack { .. } => Kind::Slack,
            TargetUrl::Discord { .. } => Kind::Discord,
            TargetUrl::Teams { .. } => Kind::Teams,
            TargetUrl::Ntfy { .. } => Kind::Ntfy,
            TargetUrl::Telegram { .. } => Kind::Telegram,
            TargetUrl::Email(_) => Kind::Email,
        }
    }
}

pub(super) use nats::check_health_subjects;

pub(super) fn sink_config(
    name: String,
    raw: RawSink,
    base: &Path,
    problems: &mut Problems,
) -> Option<SinkConfig> {
    let path = format!("sinks.{name}");
    let retry = retry_schedule(&raw, &path, problems);
    // `kind` may be left out when the url names the service (slack://…, tgram://…)
    let parsed = raw.url.as_deref().map(crate::target_url::parse_target_url);
    let inferred = match &parsed {
        Some(Ok(target)) => Some(Kind::of_target(target)),
        _ => None,
    };
    // a service URL (tgram://…) names its kind even when malformed: say what is wrong with it
    // rather than that the kind is missing
    if raw.kind.is_none() {
        if let Some(Err(error)) = &parsed {
            if !matches!(
                error,
                TargetUrlError::MissingScheme | TargetUrlError::UnknownScheme(_)
            ) {
                problems.add(format!("{path}.url"), error.to_string());
                return None;
            }
        }
    }
    // Err: a written name no kind has, reported once the keys every kind shares are checked
    let kind: Result<Kind, &str> = match (raw.kind.as_deref(), inferred) {
        (Some(written), _) => Kind::named(written).ok_or(written),
        (None, Some(kind)) => Ok(kind),
        (None, None) => {
            problems.add(
                format!("{path}.kind"),
                "missing: one of \"webhook\", \"log\", \"slack\", \"discord\", \"teams\", \"ntfy\", \"telegram\", \"email\", \"nats\" (or a service URL like slack://… that names it)",
            );
            return None;
        }
    };
    let timeout = duration(
        raw.timeout.as_deref(),
        Duration::from_secs(15),
        (Duration::from_millis(100), MAX_TIMEOUT),
        &format!("{path}.timeout"),
        problems,
    );
    if let Some(template) = &raw.template {
        if let Err(error) = crate::template::check_template(template) {
            problems.add(format!("{path}.template"), error.to_string());
        }
    }
    // keys that belong to one family of kinds: said once here instead of in every kind
    if kind != Ok(Kind::Email) {
        for (key, present) in email::keys(&raw) {
            if present {
                problems.add(
                    format!("{path}.{key}"),
                    "only email sinks take SMTP settings",
                );
            }
        }
    }
    if kind != Ok(Kind::Nats) {
        for (key, present) in nats::keys(&raw) {
            if present {
                problems.add(
                    format!("{path}.{key}"),
                    "only nats sinks take a subject and a creds file",
                );
            }
        }
    }
    if kind != Ok(Kind::Telegram) && raw.api_base.is_some() {
        problems.add(
            format!("{path}.api_base"),
            "only telegram sinks take api_base (the Bot API server); other kinds take their endpoint as url",
        );
    }
    let kind = match kind {
        Ok(Kind::Slack) => chat_sink(TargetKind::Slack, &raw, &path, timeout, problems)?,
        Ok(Kind::Discord) => chat_sink(TargetKind::Discord, &raw, &path, timeout, problems)?,
        Ok(Kind::Teams) => chat_sink(TargetKind::Teams, &raw, &path, timeout, problems)?,
        Ok(Kind::Ntfy) => chat_sink(TargetKind::Ntfy, &raw, &path, timeout, problems)?,
        Ok(Kind::Telegram) => chat_sink(TargetKind::Telegram, &raw, &path, timeout, problems)?,
        Ok(Kind::Email) => email::email_sink(&raw, &path, timeout, problems)?,
        Ok(Kind::Webhook) => webhook_sink(&raw, &path, timeout, problems)?,
        Ok(Kind::Log) => log_sink(&raw, &path, problems),
        Ok(Kind::Nats) => nats::nats_sink(&raw, &path, base, timeout, problems)?,
        Err(other) => {
            problems.add(
                format!("{path}.kind"),
                format!("unknown sink kind {other:?}, expected one of \"webhook\", \"log\", \"slack\", \"discord\", \"teams\", \"ntfy\", \"telegram\", \"email\", \"nats\""),
            );
            return None;
        }
    };
    let rate_limit = match raw.rate_limit.as_deref() {
        Some("none") => None,
        Some(text) => match parse_rate_limit(text) {
            Ok(limit) => Some(limit),
            Err(message) => {
                problems.add(format!("{path}.rate_limit"), message);
                None
            }
        },
        None => default_rate_limit(&kind),
    };
    let digest = digest_window(&raw, &kind, &path, problems);
    Some(SinkConfig {
        name,
        kind,
        rate_limit,
        retry,
        digest,
    })
}

/// `retry`: the delays before each retry (the default schedule when absent).
fn retry_schedule(raw: &RawSink, path: &str, problems: &mut Problems) -> Vec<Duration> {
    let retry_texts: Vec<String> = raw
        .retry
        .clone()
        .unwrap_or_else(|| DEFAULT_RETRY.iter().map(|text| text.to_string()).collect());
    let mut retry = Vec::with_capacity(retry_texts.len());
    for (index, text) in retry_texts.iter().enumerate() {
        match parse_duration_at_most(text, MAX_RETRY_DELAY) {
            // a zero delay would make `once` retry a failing receiver in a tight loop
            Ok(delay) if delay < Duration::from_secs(1) => problems.add(
                format!("{path}.retry[{index}]"),
                format!("{text:?} is too short, the minimum retry delay is 1s"),
            ),
            Ok(delay) => retry.push(delay),
            Err(message) => problems.add(format!("{path}.retry[{index}]"), message),
        }
    }
    retry
}

/// Slack, Discord, Teams, ntfy or Telegram: the service's URL (or its Apprise form), an optional
/// template, and for Telegram a Bot API server.
fn chat_sink(
    target_kind: TargetKind,
    raw: &RawSink,
    path: &str,
    timeout: Duration,
    problems: &mut Problems,
) -> Option<SinkKind> {
    let kind_name = target_kind.name();
    let Some(url) = raw.url.as_deref() else {
        problems.add(format!("{path}.url"), format!("missing: a {kind_name} sink needs the service's webhook URL (or its {kind_name}:// form)"));
        return None;
    };
    if raw.secret.is_some() {
        problems.add(
            format!("{path}.secret"),
            "only webhook sinks are signed; chat services authenticate by their URL",
        );
    }
    let api_base = raw
        .api_base
        .as_deref()
        .and_then(|text| api_base(text, &format!("{path}.api_base"), problems));
    match crate::target_url::parse_target(target_kind, url) {
        Ok(target) => Some(SinkKind::Chat {
            target,
            template: raw.template.clone(),
            timeout,
            api_base,
        }),
        Err(error) => {
            problems.add(format!("{path}.url"), error.to_string());
            None
        }
    }
}

/// The generic webhook: an http(s) URL, or its Apprise form `json(s)://` carrying basic auth and
/// headers, and optional Standard Webhooks signing secrets (a list while rotating).
fn webhook_sink(
    raw: &RawSink,
    path: &str,
    timeout: Duration,
    problems: &mut Problems,
) -> Option<SinkKind> {
    let mut basic_auth = None;
    let mut headers = Vec::new();
    let url = match raw.url.as_deref() {
        Some(text) if is_json_url(text) => {
            match json_target(text, &format!("{path}.url"), problems) {
                Some((url, auth, extra)) => {
                    basic_auth = auth;
                    headers = extra;
                    Some(url)
                }
                None => None,
            }
        }
        Some(text) => sink_http_url(text, &format!("{path}.url"), problems),
        None => {
            problems.add(
                format!("{path}.url"),
                "missing: a webhook sink needs url = \"https://…\"",
            );
            None
        }
    };
    let mut secrets = Vec::new();
    let texts = raw
        .secret
        .as_ref()
        .map(|secret| secret.items())
        .unwrap_or_default();
    let listed = matches!(raw.secret, Some(OneOrMany::Many(_)));
    if listed && texts.is_empty() {
        problems.add(
            format!("{path}.secret"),
            "is an empty list; leave it out to send unsigned",
        );
    }
    for (index, text) in texts.iter().enumerate() {
        let at = if listed {
            format!("{path}.secret[{index}]")
        } else {
            format!("{path}.secret")
        };
        match crate::secret::signing_key(text) {
            Ok(_) => secrets.push(Secret::new(text)),
            Err(message) => problems.add(at, message),
        }
    }
    if raw.template.is_some() {
        problems.add(format!("{path}.template"), "the generic webhook sends the versioned alert payload as it is; templates are for chat sinks");
    }
    Some(SinkKind::Webhook {
        url: url?,
        secrets,
        timeout,
        basic_auth,
        headers,
    })
}

/// Whether a webhook URL is in the Apprise form (`json://`, `jsons://`, any case).
fn is_json_url(text: &str) -> bool {
    text.trim()
        .split_once("://")
        .is_some_and(|(scheme, _)| matches!(scheme.to_ascii_lowercase().as_str(), "json" | "jsons"))
}

/// Headers wirewatch sets itself on every webhook request: a `+Name` parameter may not replace
/// them (a second `webhook-signature` would make receivers reject the alert).
const OWN_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "host",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

/// A `json(s)://` webhook URL: the http(s) endpoint, basic auth and extra headers it carries.
#[allow(clippy::type_complexity)]
fn json_target(
    text: &str,
    path: &str,
    problems: &mut Problems,
) -> Option<(Url, Option<(String, Secret)>, Vec<(String, Secret)>)> {
    let (url, basic_auth, headers) = match crate::target_url::parse_target_url(text) {
        Ok(TargetUrl::Json {
            url,
            basic_auth,
            headers,
        }) => (url, basic_auth, headers),
        // is_json_url chose this branch: no other target comes back
        Ok(_) => return None,
        Err(error) => {
            problems.add(path, error.to_string());
            return None;
        }
    };
    let mut valid = true;
    for (name, _) in &headers {
        if OWN_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            problems.add(
                path,
                format!("header `{name}` is set by wirewatch on every request; remove the +{name} parameter"),
            );
            valid = false;
        }
        if basic_auth.is_some() && name.eq_ignore_ascii_case("authorization") {
            problems.add(
                path,
                "gives both a user (basic auth) and +Authorization; keep one",
            );
            valid = false;
        }
    }
    // the parser built this URL from http(s) and a host it checked, so it parses again
    let url = Url::parse(url.expose()).ok()?;
    valid.then_some((url, basic_auth, headers))
}

/// The log sink takes no keys of its own.
fn log_sink(raw: &RawSink, path: &str, problems: &mut Problems) -> SinkKind {
    for (key, present) in [
        ("url", raw.url.is_some()),
        ("secret", raw.secret.is_some()),
        ("timeout", raw.timeout.is_some()),
        ("template", raw.template.is_some()),
    ] {
        if present {
            problems.add(
                format!("{path}.{key}"),
                "a log sink takes no such key (only webhook sinks do)",
            );
        }
    }
    SinkKind::Log
}

/// `digest`: the window whose alerts go out as one message; not for log sinks or templates.
fn digest_window(
    raw: &RawSink,
    kind: &SinkKind,
    path: &str,
    problems: &mut Problems,
) -> Option<Duration> {
    let digest = match raw.digest.as_deref() {
        None | Some("none") => None,
        Some(text) => match parse_duration_at_most(text, MAX_DIGEST) {
            // a shorter window would bundle nothing and only delay
            Ok(window) if window < Duration::from_secs(1) => {
                problems.add(
                    format!("{path}.digest"),
                    format!("{text:?} is too short, the minimum digest window is 1s"),
                );
                None
            }
            Ok(window) => Some(window),
            Err(message) => {
                problems.add(format!("{path}.digest"), message);
                None
            }
        },
    };
    if digest.is_some() {
        if matches!(kind, SinkKind::Log) {
            problems.add(
                format!("{path}.digest"),
                "a log sink writes one line per alert; digests are for webhook, chat and email sinks",
            );
        }
        if raw.template.is_some() {
            problems.add(
                format!("{path}.digest"),
                "a digest uses the service's digest format, so it cannot be combined with a template (the template shapes single alerts)",
            );
        }
    }
    digest
}

/// The pace each service documents (or enforces) for one webhook / bot / topic.
fn default_rate_limit(kind: &SinkKind) -> Option<RateLimit> {
    let limit = |count, seconds| {
        Some(RateLimit {
            count,
            per: Duration::from_secs(seconds),
        })
    };
    match kind {
        SinkKind::Chat { target, .. } => match target {
            // Slack: about one message per second per incoming webhook
            TargetUrl::Slack { .. } => limit(1, 1),
            // Discord: 5 requests per 2 seconds per webhook
            TargetUrl::Discord { .. } => limit(5, 2),
            // Telegram: 20 messages per minute to one group
            TargetUrl::Telegram { .. } => limit(20, 60),
            // Teams workflows and ntfy.sh throttle bursts: stay gentle
            TargetUrl::Teams { .. } => limit(4, 1),
            TargetUrl::Ntfy { .. } => limit(1, 1),
            TargetUrl::Json { .. } | TargetUrl::Email(_) => None,
        },
        SinkKind::Webhook { .. }
        | SinkKind::Log
        | SinkKind::Email { .. }
        | SinkKind::Nats { .. } => None,
    }
}

/// `api_base`: an http(s) URL without query or fragment. Like every URL in this file it is
/// trusted (a loopback or private address is fine): the SSRF guard is for URLs found in content.
fn api_base(text: &str, path: &str, problems: &mut Problems) -> Option<Url> {
    let url = http_url(text, path, problems)?;
    if url.query().is_some() || url.fragment().is_some() {
        problems.add(
            path,
            format!("{text:?} has a query or fragment; give the server's base URL, like \"http://127.0.0.1:8081\""),
        );
        return None;
    }
    Some(url)
}
