//! `[daemon]`: the state directory, the HTTP listener, WebSub's public URL, source-health
//! alerting and how long alerts are kept.
//!
//! It only checks and resolves values (the state directory against the config's folder); it
//! neither creates the directory nor binds the address.

use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use super::load::Problems;
use super::values::{duration, http_url_like, parse_duration};
use super::watchlists::list;
use crate::config::raw::RawDaemon;
use crate::config::DaemonConfig;
use crate::secret::Secret;

/// How long a lease lasts unless `[daemon] lease` says otherwise.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
const MIN_LEASE: Duration = Duration::from_secs(1);
const MAX_LEASE: Duration = Duration::from_secs(3600);

/// The HTTP listener's default port (loopback only).
pub const DEFAULT_LISTEN_PORT: u16 = 9412;

pub(super) fn daemon_config(
    raw: RawDaemon,
    base: &Path,
    environment: &dyn Fn(&str) -> Option<String>,
    sink_names: &[String],
    problems: &mut Problems,
) -> DaemonConfig {
    let health_sinks = raw.health_sinks.unwrap_or_default();
    for (index, sink) in health_sinks.iter().enumerate() {
        if !sink_names.contains(sink) {
            problems.add(
                format!("daemon.health_sinks[{index}]"),
                format!(
                    "no sink named {sink:?}; defined sinks: {}",
                    list(sink_names)
                ),
            );
        }
    }
    let health_failures = match raw.health_failures {
        Some(0) => {
            problems.add(
                "daemon.health_failures",
                "must be at least 1 (consecutive failures before a source is reported unhealthy)",
            );
            5
        }
        Some(count) => count,
        None => 5,
    };
    // systemd's StateDirectory= exports STATE_DIRECTORY; prefer it when the file says nothing.
    let state_dir = match raw.state_dir {
        Some(text) if text.trim().is_empty() => {
            problems.add("daemon.state_dir", "must not be empty");
            PathBuf::from("state")
        }
        Some(text) => PathBuf::from(text),
        None => environment("STATE_DIRECTORY")
            .and_then(|value| value.split(':').next().map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("state")),
    };
    let listen = match raw.listen.as_deref().map(str::trim) {
        None => Some(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            DEFAULT_LISTEN_PORT,
        ))),
        Some("off") | Some("") => None,
        Some(text) => match text.parse::<std::net::SocketAddr>() {
            Ok(address) => Some(address),
            Err(_) => {
                problems.add(
                    "daemon.listen",
                    format!("{text:?} is not an address; write it like \"127.0.0.1:9412\" or \"[::1]:9412\", or \"off\""),
                );
                None
            }
        },
    };
    let public_url = raw
        .public_url
        .as_deref()
        .and_then(|text| public_url(text, problems));
    let listen_off = matches!(raw.listen.as_deref().map(str::trim), Some("off") | Some(""));
    if public_url.is_some() && listen_off {
        problems.add(
            "daemon.public_url",
            "is set but daemon.listen is \"off\": WebSub hubs deliver to the HTTP listener; set listen to the address public_url leads to, or remove public_url",
        );
    }
    let database = raw
        .database
        .as_deref()
        .map(str::trim)
        .and_then(|text| database_url(text, problems));
    let keep_alerts = duration(
        raw.keep_alerts.as_deref(),
        crate::retention::DEFAULT_KEEP_ALERTS,
        (
            crate::retention::MIN_KEEP_ALERTS,
            super::values::MAX_DURATION,
        ),
        "daemon.keep_alerts",
        problems,
    );
    let instance = raw
        .instance
        .as_deref()
        .and_then(|text| instance_name(text, problems));
    let lease = match raw.lease.as_deref().map(parse_duration) {
        None => DEFAULT_LEASE,
        Some(Ok(lease)) if (MIN_LEASE..=MAX_LEASE).contains(&lease) => lease,
        Some(Ok(_)) => {
            problems.add(
                "daemon.lease",
                "must be between 1s and 1h: a dead instance's sources and deliveries wait this long before another instance takes them over, and a live one renews its leases every third of it",
            );
            DEFAULT_LEASE
        }
        Some(Err(message)) => {
            problems.add("daemon.lease", message);
            DEFAULT_LEASE
        }
    };
    DaemonConfig {
        instance,
        lease,
        state_dir: base.join(state_dir),
        database,
        listen,
        health_sinks,
        health_failures,
        public_url,
        keep_alerts,
    }
}

/// `[daemon] instance`: a name other instances and `wirewatch cluster` show; it must be unique
/// among the instances on one database (their leases are held under it).
fn instance_name(text: &str, problems: &mut Problems) -> Option<String> {
    let name = text.trim();
    let usable = !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "-_.:@".contains(character));
    if !usable {
        problems.add(
            "daemon.instance",
            format!("{text:?} is not a usable name; use 1 to 100 letters, digits and - _ . : @ (or leave it out for hostname-pid)"),
        );
        return None;
    }
    Some(name.to_string())
}

/// `[daemon] database`: a PostgreSQL URL. The text is never repeated in a problem: it may hold
/// a password.
fn database_url(text: &str, problems: &mut Problems) -> Option<Secret> {
    let fine = (text.starts_with("postgres://") || text.starts_with("postgresql://"))
        && Url::parse(text).is_ok_and(|url| url.host_str().is_some_and(|host| !host.is_empty()));
    if !fine {
        problems.add(
            "daemon.database",
            "must be a PostgreSQL URL such as \"postgres://wirewatch:${PGPASSWORD}@db.internal/wirewatch\", or left out to keep the SQLite file in state_dir",
        );
        return None;
    }
    Some(Secret::new(text))
}

/// `[daemon] public_url`: an absolute http(s) URL the callback paths are appended to.
fn public_url(text: &str, problems: &mut Problems) -> Option<Url> {
    let url = http_url_like(
        text,
        "daemon.public_url",
        "https://example.org/wirewatch",
        problems,
    )?;
    if url.query().is_some() || url.fragment().is_some() {
        problems.add(
            "daemon.public_url",
            format!("{text:?} has a query or fragment; write the base URL only, like \"https://example.org/wirewatch\" (callbacks are built as <public_url>/websub/ID)"),
        );
        return None;
    }
    Some(url)
}
