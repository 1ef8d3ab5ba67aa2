//! The email sink: SMTP submission settings from a `mailto://` / `mailtos://` URL or from the
//! separate keys (host, port, security, username, password, from, to), never both.
//!
//! Addresses are checked for shape only; nothing connects to the server.

use std::time::Duration;

use super::super::load::Problems;
use crate::config::raw::{OneOrMany, RawSink};
use crate::config::{Secret, SinkKind};
use crate::target_url::{valid_address, EmailTarget, SmtpSecurity, TargetKind, TargetUrl};

/// The SMTP keys and whether each is given; only email sinks take them.
pub(super) fn keys(raw: &RawSink) -> [(&'static str, bool); 7] {
    [
        ("host", raw.host.is_some()),
        ("port", raw.port.is_some()),
        ("security", raw.security.is_some()),
        ("username", raw.username.is_some()),
        ("password", raw.password.is_some()),
        ("from", raw.from.is_some()),
        ("to", raw.to.is_some()),
    ]
}

/// An email sink: no signing secret or template (mail has its own format and login).
pub(super) fn email_sink(
    raw: &RawSink,
    path: &str,
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
                "an email sink takes no such key: mail has its own message format and authenticates with username and password",
            );
        }
    }
    Some(SinkKind::Email {
        target: email_target(raw, path, problems)?,
        timeout,
    })
}

/// The SMTP target of an email sink: a mailto:// / mailtos:// `url`, or the separate keys.
fn email_target(raw: &RawSink, path: &str, problems: &mut Problems) -> Option<EmailTarget> {
    let separate = keys(raw).iter().any(|(_, present)| *present);
    if let Some(url) = raw.url.as_deref() {
        if separate {
            problems.add(
                format!("{path}.url"),
                "give either a mailto:// url or host, from and to (with port, security, username, password), not both",
            );
            return None;
        }
        return match crate::target_url::parse_target(TargetKind::Email, url) {
            Ok(TargetUrl::Email(target)) => Some(target),
            Ok(_) => None,
            Err(error) => {
                problems.add(format!("{path}.url"), error.to_string());
                None
            }
        };
    }
    let mut valid = true;
    let mut missing = |key: &str, example: &str| {
        problems.add(
            format!("{path}.{key}"),
            format!("missing: an email sink needs {key} = {example} (or a mailto:// url)"),
        );
        valid = false;
    };
    let host = raw.host.clone().filter(|host| !host.trim().is_empty());
    if host.is_none() {
        missing("host", "\"smtp.example.org\"");
    }
    // `from` may carry a display name, as mail clients write it: "wirewatch <alerts@example.org>".
    let (from_name, from) = match raw.from.as_deref().map(split_display_name) {
        Some((name, address)) => (name, Some(address)),
        None => (None, None),
    };
    if from.is_none() {
        missing("from", "\"alerts@example.org\"");
    }
    let to: Vec<String> = raw
        .to
        .as_ref()
        .map(OneOrMany::items)
        .unwrap_or_default()
        .iter()
        .map(|address| split_display_name(address).1)
        .collect();
    if raw.to.is_none() {
        missing("to", "[\"you@example.org\"]");
    } else if to.is_empty() {
        problems.add(
            format!("{path}.to"),
            "is empty; name at least one recipient",
        );
        valid = false;
    }
    if let Some(from) = &from {
        if !valid_address(from) {
            problems.add(
                format!("{path}.from"),
                format!("{from:?} is not an email address like \"alerts@example.org\""),
            );
            valid = false;
        }
    }
    for (index, address) in to.iter().enumerate() {
        if !valid_address(address) {
            problems.add(
                format!("{path}.to[{index}]"),
                format!("{address:?} is not an email address like \"you@example.org\""),
            );
            valid = false;
        }
    }
    let security = match raw.security.as_deref().unwrap_or("starttls") {
        "starttls" => SmtpSecurity::StartTls,
        "tls" => SmtpSecurity::ImplicitTls,
        "none" => SmtpSecurity::Plaintext,
        other => {
            problems.add(
                format!("{path}.security"),
                format!("unknown security {other:?}, expected \"starttls\" (port 587), \"tls\" (port 465) or \"none\" (a relay on a trusted network)"),
            );
            valid = false;
            SmtpSecurity::StartTls
        }
    };
    if raw.username.is_some() != raw.password.is_some() {
        problems.add(
            format!("{path}.password"),
            "username and password go together: give both, or neither for a relay that needs no login",
        );
        valid = false;
    }
    if security == SmtpSecurity::Plaintext && raw.password.is_some() {
        problems.add(
            format!("{path}.security"),
            "\"none\" would send the password unencrypted; use \"starttls\" or \"tls\", or a relay that needs no login",
        );
        valid = false;
    }
    if !valid {
        return None;
    }
    Some(EmailTarget {
        smtp_host: host?.trim().to_ascii_lowercase(),
        port: raw.port.unwrap_or(match security {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::ImplicitTls => 465,
            SmtpSecurity::Plaintext => 25,
        }),
        security,
        user: raw.username.clone(),
        password: raw.password.clone().map(Secret::new),
        from: from?,
        from_name,
        to,
        cc: Vec::new(),
        bcc: Vec::new(),
    })
}

/// `Name <address>` → (Some(name), address); a bare address → (None, address). Quotes around the
/// name are dropped; what is left is checked as an address by the caller.
fn split_display_name(text: &str) -> (Option<String>, String) {
    let text = text.trim();
    if let (Some(open), true) = (text.rfind('<'), text.ends_with('>')) {
        let address = text[open + 1..text.len() - 1].trim().to_string();
        let name = text[..open].trim().trim_matches('"').trim();
        return ((!name.is_empty()).then(|| name.to_string()), address);
    }
    (None, text.to_string())
}
