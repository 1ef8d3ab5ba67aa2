//! Raw TOML → [`Config`], collecting every problem with its TOML path instead of stopping at the
//! first. Each table is deserialized on its own (with `serde_path_to_error` for the key that was
//! wrong), then checked for meaning: durations, URLs, query syntax, and references between tables.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use url::Url;

use super::raw::{OneOrMany, RawDaemon, RawFetch, RawSink, RawSource, RawWatchlist};
use super::{
    Config, ConfigProblem, DaemonConfig, FetchConfig, RateLimit, Secret, SinkConfig, SinkKind,
    SourceConfig, SourceKind, WatchlistConfig, DEFAULT_RETRY,
};
use crate::rules::Query;
use crate::source::page::PageSelectors;

/// The HTTP listener's default port (loopback only).
pub const DEFAULT_LISTEN_PORT: u16 = 9412;

const TOP_LEVEL_TABLES: &[&str] = &["daemon", "fetch", "sources", "watchlists", "sinks"];

/// The problems found so far, and the paths whose value had the wrong type (left out, so the
/// checks that then miss it must not report it a second time).
struct Problems(Vec<ConfigProblem>, BTreeSet<String>);

impl Problems {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigProblem {
            path: path.into(),
            message: message.into(),
        });
    }
}

pub(super) fn parse(
    text: &str,
    base: &Path,
    environment: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Vec<ConfigProblem>> {
    let mut problems = Problems(Vec::new(), BTreeSet::new());
    let mut table: toml::Table = match toml::from_str(text) {
        Ok(table) => table,
        Err(error) => {
            // the offending line is often the one holding a secret: a bounded, masked excerpt
            problems.add("", super::excerpt::syntax_error(text, &error));
            return Err(problems.0);
        }
    };
    for (key, value) in table.iter_mut() {
        substitute_environment(value, key, environment, &mut problems);
    }
    for key in table.keys() {
        if !TOP_LEVEL_TABLES.contains(&key.as_str()) {
            problems.add(
                key.as_str(),
                format!(
                    "unknown table, expected one of: {}",
                    TOP_LEVEL_TABLES.join(", ")
                ),
            );
        }
    }

    let daemon: RawDaemon = section(table.remove("daemon"), "daemon", &mut problems);
    let fetch: RawFetch = section(table.remove("fetch"), "fetch", &mut problems);
    let raw_sources = named_tables::<RawSource>(table.remove("sources"), "sources", &mut problems);
    let raw_sinks = named_tables::<RawSink>(table.remove("sinks"), "sinks", &mut problems);
    let raw_watchlists =
        named_tables::<RawWatchlist>(table.remove("watchlists"), "watchlists", &mut problems);

    // References are checked against every table the file defines, even ones with errors of
    // their own, so one mistake is not reported twice.
    let source_names: BTreeSet<String> = raw_sources.iter().map(|(name, _)| name.clone()).collect();
    let sink_names: Vec<String> = raw_sinks.iter().map(|(name, _)| name.clone()).collect();
    let daemon = daemon_config(daemon, base, environment, &sink_names, &mut problems);
    let fetch = fetch_config(fetch, &mut problems);
    let sources: Vec<SourceConfig> = raw_sources
        .into_iter()
        .filter_map(|(name, raw)| {
            source_config(
                name,
                raw,
                &fetch,
                daemon.public_url.is_some(),
                &mut problems,
            )
        })
        .collect();
    let sinks: Vec<SinkConfig> = raw_sinks
        .into_iter()
        .filter_map(|(name, raw)| sink_config(name, raw, &mut problems))
        .collect();
    let watchlists: Vec<WatchlistConfig> = raw_watchlists
        .into_iter()
        .filter_map(|(name, raw)| {
            watchlist_config(name, raw, &source_names, &sink_names, &mut problems)
        })
        .collect();

    // A value whose `${VAR}` failed, or whose type was wrong, is reported once, not again as an
    // invalid or missing value.
    let mut unresolved: BTreeSet<String> = problems
        .0
        .iter()
        .filter(|problem| problem.message.contains("environment variable"))
        .map(|problem| problem.path.clone())
        .collect();
    unresolved.extend(problems.1.iter().cloned());
    let mut reported = BTreeSet::new();
    problems.0.retain(|problem| {
        !unresolved.contains(&problem.path) || reported.insert(problem.path.clone())
    });

    if problems.0.is_empty() {
        Ok(Config {
            path: PathBuf::new(),
            daemon,
            fetch,
            sources,
            watchlists,
            sinks,
        })
    } else {
        Err(problems.0)
    }
}

/// TOML errors span several lines (a source excerpt with a caret); one line reads better in a list.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && *line != "|")
        .collect::<Vec<_>>()
        .join(" ")
}

/// Replaces `${NAME}` in every string value; `$${` stands for a literal `${`.
fn substitute_environment(
    value: &mut toml::Value,
    path: &str,
    environment: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) {
    match value {
        toml::Value::String(text) if text.contains('$') => match expand(text, environment) {
            Ok(expanded) => *text = expanded,
            Err(message) => problems.add(path, message),
        },
        toml::Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                substitute_environment(item, &format!("{path}[{index}]"), environment, problems);
            }
        }
        toml::Value::Table(table) => {
            for (key, item) in table.iter_mut() {
                substitute_environment(item, &format!("{path}.{key}"), environment, problems);
            }
        }
        _ => {}
    }
}

fn expand(text: &str, environment: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut output = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(position) = rest.find('$') {
        output.push_str(&rest[..position]);
        let after = &rest[position..];
        if let Some(stripped) = after.strip_prefix("$${") {
            output.push_str("${");
            rest = stripped;
        } else if let Some(stripped) = after.strip_prefix("${") {
            let Some(end) = stripped.find('}') else {
                return Err("unterminated `${` (write `$${` for a literal `${`)".to_string());
            };
            let name = &stripped[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "`${{{name}}}` is not a valid environment variable reference"
                ));
            }
            match environment(name) {
                Some(value) => output.push_str(&value),
                None => {
                    return Err(format!(
                        "environment variable {name} is not set (export it, or set it in the service's EnvironmentFile)"
                    ))
                }
            }
            rest = &stripped[end + 1..];
        } else {
            output.push('$');
            rest = &after[1..];
        }
    }
    output.push_str(rest);
    Ok(output)
}

/// Deserializes one table, reporting a wrong key as `path.key: message`.
fn section<T: DeserializeOwned + Default>(
    value: Option<toml::Value>,
    path: &str,
    problems: &mut Problems,
) -> T {
    match value {
        None => T::default(),
        Some(value) => deserialize(value, path, problems).unwrap_or_default(),
    }
}

/// Deserializes one table. serde stops at the first wrong key, so each wrong key is reported
/// and left out and the rest deserialized again: the table's semantic checks still run on what
/// parsed, and one `check` shows type and semantic errors together. A problem that cannot be
/// pinned to one key (a required key missing) ends it.
fn deserialize<T: DeserializeOwned>(
    mut value: toml::Value,
    path: &str,
    problems: &mut Problems,
) -> Option<T> {
    let mut removed = BTreeSet::new();
    let mut filled = BTreeSet::new();
    loop {
        let error = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(parsed) => return Some(parsed),
            Err(error) => error,
        };
        let inner = error.path().to_string();
        let message = one_line(error.inner().message());
        let toml::Value::Table(table) = &mut value else {
            problems.add(path, message);
            return None;
        };
        // a required key left out for its wrong type: stand in an empty string, so the rest of
        // the table is still checked (the empty value's own complaint is dropped as a repeat)
        if let Some(missing) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            if removed.contains(missing) && filled.insert(missing.to_string()) {
                table.insert(missing.to_string(), toml::Value::String(String::new()));
                continue;
            }
        }
        let full = if inner.is_empty() || inner == "." {
            path.to_string()
        } else {
            format!("{path}.{inner}")
        };
        let key = wrong_key(&inner, &message);
        problems.add(&full, message);
        problems.1.insert(full);
        match key {
            Some(key) if table.remove(&key).is_some() => {
                problems.1.insert(format!("{path}.{key}"));
                removed.insert(key);
            }
            _ => return None,
        }
    }
}

/// The top-level key a deserialization error is about: the first part of its path, or the key an
/// "unknown field" message names.
fn wrong_key(inner: &str, message: &str) -> Option<String> {
    let first = inner.split(['.', '[']).next().unwrap_or("");
    if !first.is_empty() && first != "?" {
        return Some(first.to_string());
    }
    let named = message.strip_prefix("unknown field `")?;
    Some(named.split('`').next()?.to_string())
}

/// `[sources.NAME]`-style tables, in file order, each deserialized on its own.
fn named_tables<T: DeserializeOwned>(
    value: Option<toml::Value>,
    path: &str,
    problems: &mut Problems,
) -> Vec<(String, T)> {
    let table = match value {
        None => return Vec::new(),
        Some(toml::Value::Table(table)) => table,
        Some(_) => {
            problems.add(path, format!("expected tables like [{path}.NAME]"));
            return Vec::new();
        }
    };
    let mut parsed = Vec::new();
    for (name, value) in table {
        let item_path = format!("{path}.{name}");
        if !valid_name(&name) {
            problems.add(
                &item_path,
                "names may only hold letters, digits, '-', '_' and '.'",
            );
            continue;
        }
        if !value.is_table() {
            problems.add(&item_path, format!("expected a table [{item_path}]"));
            continue;
        }
        if let Some(item) = deserialize(value, &item_path, problems) {
            parsed.push((name, item));
        }
    }
    parsed
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The longest duration any key accepts. Anything longer is a typo or an attack, and would
/// overflow the clock arithmetic of the daemon (an `Instant` a few hundred years ahead panics).
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);
/// Timeouts (fetch, connect, sink delivery): a request still unanswered after an hour is dead.
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// `fetch.per_host_gap`: a longer gap would starve every article of a busy host.
const MAX_PER_HOST_GAP: Duration = Duration::from_secs(3600);
/// One retry delay, a digest window, or the `per` of a rate limit.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(7 * 24 * 3600);
const MAX_DIGEST: Duration = Duration::from_secs(7 * 24 * 3600);
const MAX_RATE_PERIOD: Duration = Duration::from_secs(24 * 3600);

/// A humantime duration ("90s", "5m", "3d") of at most [`MAX_DURATION`]; the error says what is
/// accepted.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    parse_duration_at_most(text, MAX_DURATION)
}

/// A humantime duration of at most `maximum`; the error names the maximum.
fn parse_duration_at_most(text: &str, maximum: Duration) -> Result<Duration, String> {
    let value = humantime::parse_duration(text.trim()).map_err(|error| {
        format!("invalid duration {text:?} ({error}); write a number with a unit, like \"90s\", \"5m\", \"2h\" or \"3d\"")
    })?;
    if value > maximum {
        return Err(format!(
            "{text:?} is too long, the maximum is {}",
            whole_units(maximum)
        ));
    }
    Ok(value)
}

/// A limit in its largest whole unit ("365d", "1h"), as a user would write it; humantime's own
/// formatting counts in 365.25-day years and would print "365d" as months and hours.
fn whole_units(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0 => format!("{}ms", duration.as_millis()),
        _ if seconds.is_multiple_of(86_400) => format!("{}d", seconds / 86_400),
        _ if seconds.is_multiple_of(3_600) => format!("{}h", seconds / 3_600),
        _ if seconds.is_multiple_of(60) => format!("{}m", seconds / 60),
        _ => format!("{seconds}s"),
    }
}

/// The duration at `path`: `default` when absent (or invalid, after saying so), and within
/// `minimum..=maximum`.
fn duration(
    text: Option<&str>,
    default: Duration,
    (minimum, maximum): (Duration, Duration),
    path: &str,
    problems: &mut Problems,
) -> Duration {
    let Some(text) = text else { return default };
    match parse_duration_at_most(text, maximum) {
        Ok(value) if value < minimum => {
            problems.add(
                path,
                format!(
                    "{text:?} is too short, the minimum is {}",
                    humantime::format_duration(minimum)
                ),
            );
            default
        }
        Ok(value) => value,
        Err(message) => {
            problems.add(path, message);
            default
        }
    }
}

/// `max_entries_per_poll`: 1 to [`MAX_ENTRIES_PER_POLL`].
fn entries_per_poll(
    value: Option<i64>,
    default: usize,
    path: &str,
    problems: &mut Problems,
) -> usize {
    let Some(value) = value else { return default };
    match usize::try_from(value) {
        Ok(count) if (1..=super::MAX_ENTRIES_PER_POLL).contains(&count) => count,
        _ => {
            problems.add(
                path,
                format!(
                    "{value} is out of range: write a number of entries from 1 to {}",
                    super::MAX_ENTRIES_PER_POLL
                ),
            );
            default
        }
    }
}

fn kind_of(target: &crate::sink::format::TargetUrl) -> &'static str {
    use crate::sink::format::TargetUrl;
    match target {
        TargetUrl::Json { .. } => "webhook",
        TargetUrl::Slack { .. } => "slack",
        TargetUrl::Discord { .. } => "discord",
        TargetUrl::Teams { .. } => "teams",
        TargetUrl::Ntfy { .. } => "ntfy",
        TargetUrl::Telegram { .. } => "telegram",
        TargetUrl::Email(_) => "email",
    }
}

/// The pace each service documents (or enforces) for one webhook / bot / topic.
fn default_rate_limit(kind: &SinkKind) -> Option<RateLimit> {
    use crate::sink::format::TargetUrl;
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
        SinkKind::Webhook { .. } | SinkKind::Log | SinkKind::Email { .. } => None,
    }
}

/// "5/2s": at most 5 deliveries in any 2 seconds; "1/s", "30/min", "100/h".
fn parse_rate_limit(text: &str) -> Result<RateLimit, String> {
    let explain = || {
        format!("invalid rate limit {text:?}; write deliveries per time, like \"1/s\", \"5/2s\" or \"30/min\"")
    };
    let (count, per) = text.split_once('/').ok_or_else(explain)?;
    let count: u32 = count.trim().parse().map_err(|_| explain())?;
    let per = per.trim();
    // "s" and "min" alone mean one of them
    let per = if per.starts_with(|c: char| c.is_ascii_digit()) {
        per.to_string()
    } else {
        format!("1{per}")
    };
    let per = humantime::parse_duration(&per).map_err(|_| explain())?;
    if count == 0 || per.is_zero() {
        return Err(explain());
    }
    if per > MAX_RATE_PERIOD {
        return Err(format!(
            "rate limit {text:?} counts over too long a time, the maximum is {}; write it per day or shorter, like \"100/d\"",
            whole_units(MAX_RATE_PERIOD)
        ));
    }
    Ok(RateLimit { count, per })
}

/// A size like "15MiB", "512KB" or "1000000" (bytes).
fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" => 1 << 10,
        "mb" => 1_000_000,
        "mib" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "invalid size {text:?}; write a number with an optional unit, like \"15MiB\" or \"512KB\""
            ))
        }
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|value| value.checked_mul(multiplier))
        .filter(|value| *value > 0)
        .ok_or_else(|| format!("invalid size {text:?}; write a positive number, like \"15MiB\""))
}

fn size(text: Option<&str>, default: u64, path: &str, problems: &mut Problems) -> u64 {
    match text.map(parse_size) {
        None => default,
        Some(Ok(value)) => value,
        Some(Err(message)) => {
            problems.add(path, message);
            default
        }
    }
}

fn daemon_config(
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
    DaemonConfig {
        state_dir: base.join(state_dir),
        database,
        listen,
        health_sinks,
        health_failures,
        public_url,
    }
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

fn fetch_config(raw: RawFetch, problems: &mut Problems) -> FetchConfig {
    let defaults = FetchConfig::defaults();
    let per_host_connections = match raw.per_host_connections {
        Some(0) => {
            problems.add(
                "fetch.per_host_connections",
                "must be at least 1 (requests in flight at once to one host)",
            );
            defaults.per_host_connections
        }
        Some(count) => count,
        None => defaults.per_host_connections,
    };
    let circuit_breaker_failures = match raw.circuit_breaker_failures {
        Some(0) => {
            problems.add(
                "fetch.circuit_breaker_failures",
                "must be at least 1 (consecutive failures before a source is polled rarely)",
            );
            defaults.circuit_breaker_failures
        }
        Some(count) => count,
        None => defaults.circuit_breaker_failures,
    };
    let min_interval = duration(
        raw.min_interval.as_deref(),
        defaults.min_interval,
        (Duration::from_secs(1), MAX_DURATION),
        "fetch.min_interval",
        problems,
    );
    let max_interval = duration(
        raw.max_interval.as_deref(),
        defaults.max_interval,
        (Duration::from_secs(1), MAX_DURATION),
        "fetch.max_interval",
        problems,
    );
    if min_interval > max_interval {
        problems.add(
            "fetch.max_interval",
            format!(
                "is shorter than fetch.min_interval ({}); make it at least as long",
                humantime::format_duration(min_interval)
            ),
        );
    }
    let user_agent = match raw.user_agent {
        Some(agent) if agent.trim().is_empty() => {
            problems.add("fetch.user_agent", "must not be empty");
            default_user_agent()
        }
        Some(agent) => agent,
        None => default_user_agent(),
    };
    let max_entries_per_poll = entries_per_poll(
        raw.max_entries_per_poll,
        defaults.max_entries_per_poll,
        "fetch.max_entries_per_poll",
        problems,
    );
    FetchConfig {
        max_entries_per_poll,
        user_agent,
        timeout: duration(
            raw.timeout.as_deref(),
            defaults.timeout,
            (Duration::from_millis(100), MAX_TIMEOUT),
            "fetch.timeout",
            problems,
        ),
        allow_private_networks: raw.allow_private_networks.unwrap_or(false),
        max_feed_size: size(
            raw.max_feed_size.as_deref(),
            15 << 20,
            "fetch.max_feed_size",
            problems,
        ),
        max_page_size: size(
            raw.max_page_size.as_deref(),
            5 << 20,
            "fetch.max_page_size",
            problems,
        ),
        connect_timeout: duration(
            raw.connect_timeout.as_deref(),
            defaults.connect_timeout,
            (Duration::from_millis(100), MAX_TIMEOUT),
            "fetch.connect_timeout",
            problems,
        ),
        per_host_connections,
        per_host_gap: duration(
            raw.per_host_gap.as_deref(),
            defaults.per_host_gap,
            (Duration::ZERO, MAX_PER_HOST_GAP),
            "fetch.per_host_gap",
            problems,
        ),
        min_interval,
        max_interval,
        max_backoff: duration(
            raw.max_backoff.as_deref(),
            defaults.max_backoff,
            (Duration::from_secs(1), MAX_DURATION),
            "fetch.max_backoff",
            problems,
        ),
        circuit_breaker_failures,
    }
}

pub fn default_user_agent() -> String {
    format!(
        "wirewatch/{} (news monitor; +https://github.com/wirewatch/wirewatch)",
        env!("CARGO_PKG_VERSION")
    )
}

fn http_url(text: &str, path: &str, problems: &mut Problems) -> Option<Url> {
    http_url_like(text, path, "https://example.org/feed", problems)
}

/// An absolute http(s) URL; an error shows `example` as the form to write.
fn http_url_like(text: &str, path: &str, example: &str, problems: &mut Problems) -> Option<Url> {
    match Url::parse(text.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Some(url),
        Ok(url) => {
            problems.add(
                path,
                format!(
                    "{text:?} is not an http(s) URL (scheme {:?}); write it like {example:?}",
                    url.scheme()
                ),
            );
            None
        }
        Err(error) => {
            problems.add(
                path,
                format!("{text:?} is not a valid URL ({error}); write it like {example:?}"),
            );
            None
        }
    }
}

/// A webhook sink's http(s) URL. Its path and query often hold the receiver's token, so an
/// error never shows the URL itself (as `sink::masked_url` never does elsewhere).
fn sink_http_url(text: &str, path: &str, problems: &mut Problems) -> Option<Url> {
    let example = "https://hooks.example.org/…";
    match Url::parse(text.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Some(url),
        Ok(url) => {
            problems.add(
                path,
                format!(
                    "is not an http(s) URL (scheme {:?}); write it like {example:?}",
                    url.scheme()
                ),
            );
            None
        }
        Err(error) => {
            problems.add(
                path,
                format!("is not a valid URL ({error}); write it like {example:?}"),
            );
            None
        }
    }
}

fn source_config(
    name: String,
    raw: RawSource,
    fetch: &FetchConfig,
    websub_available: bool,
    problems: &mut Problems,
) -> Option<SourceConfig> {
    let path = format!("sources.{name}");
    let url = http_url(&raw.url, &format!("{path}.url"), problems);
    let kind_name = raw.kind.as_deref().unwrap_or("feed");
    if raw.selectors.is_some() && kind_name != "page" {
        problems.add(
            format!("{path}.selectors"),
            "only sources of kind = \"page\" take selectors",
        );
    }
    if raw.max_entries.is_some() && kind_name != "sitemap" {
        problems.add(
            format!("{path}.max_entries"),
            "only sources of kind = \"sitemap\" take max_entries",
        );
    }
    let kind = match kind_name {
        "feed" => Some(SourceKind::Feed),
        "auto" => Some(SourceKind::Auto),
        "sitemap" => match raw.max_entries {
            None => Some(SourceKind::Sitemap { max_entries: 100 }),
            Some(count) if (1..=50_000).contains(&count) => {
                Some(SourceKind::Sitemap { max_entries: count })
            }
            Some(_) => {
                problems.add(
                    format!("{path}.max_entries"),
                    "must be between 1 and 50000 (a sitemap holds at most 50000 URLs)",
                );
                None
            }
        },
        "page" => match &raw.selectors {
            None => {
                problems.add(
                    format!("{path}.selectors"),
                    "missing: a page source needs selectors = { item = \"CSS selector of one story\" } (link, title, date and summary are optional)",
                );
                None
            }
            Some(selectors) => {
                let selectors = PageSelectors {
                    item: selectors.item.clone(),
                    link: selectors.link.clone(),
                    title: selectors.title.clone(),
                    date: selectors.date.clone(),
                    summary: selectors.summary.clone(),
                };
                match crate::source::page::compile(&selectors) {
                    Ok(compiled) => Some(SourceKind::Page(Arc::new(compiled))),
                    Err(error) => {
                        problems.add(format!("{path}.selectors"), error.to_string());
                        None
                    }
                }
            }
        },
        other => {
            problems.add(
                format!("{path}.kind"),
                format!("unknown source kind {other:?}, expected \"feed\", \"page\", \"sitemap\" or \"auto\""),
            );
            None
        }
    };
    let interval = duration(
        raw.interval.as_deref(),
        Duration::from_secs(300),
        (Duration::from_secs(1), MAX_DURATION),
        &format!("{path}.interval"),
        problems,
    );
    let max_age = match raw.max_age.as_deref() {
        None => Some(Duration::from_secs(3 * 24 * 3600)),
        Some("none") | Some("off") => None,
        Some(text) => match parse_duration(text) {
            Ok(value) => Some(value),
            Err(message) => {
                problems.add(
                    format!("{path}.max_age"),
                    format!("{message}, or \"none\" for no limit"),
                );
                None
            }
        },
    };
    // Bounds written for this source must hold its interval; the [fetch] defaults simply widen
    // to include it, so a source polled every 10s or every day needs no extra keys.
    let min_interval = match raw.min_interval.as_deref() {
        None => fetch.min_interval.min(interval),
        Some(text) => {
            let value = duration(
                Some(text),
                interval,
                (Duration::from_secs(1), MAX_DURATION),
                &format!("{path}.min_interval"),
                problems,
            );
            if value > interval {
                problems.add(
                    format!("{path}.min_interval"),
                    format!(
                        "is longer than the interval ({}); make it at most as long",
                        humantime::format_duration(interval)
                    ),
                );
            }
            value.min(interval)
        }
    };
    let max_interval = match raw.max_interval.as_deref() {
        None => fetch.max_interval.max(interval),
        Some(text) => {
            let value = duration(
                Some(text),
                interval,
                (Duration::from_secs(1), MAX_DURATION),
                &format!("{path}.max_interval"),
                problems,
            );
            if value < interval {
                problems.add(
                    format!("{path}.max_interval"),
                    format!(
                        "is shorter than the interval ({}); make it at least as long",
                        humantime::format_duration(interval)
                    ),
                );
            }
            value.max(interval)
        }
    };
    // Hubs push feeds; a page or sitemap has no hub to subscribe to.
    let pushable = matches!(kind_name, "feed" | "auto");
    let websub = match raw.websub {
        Some(true) if !websub_available => {
            problems.add(
                format!("{path}.websub"),
                "needs [daemon] public_url, the address hubs deliver to; set it, or remove websub",
            );
            false
        }
        Some(true) if !pushable => {
            problems.add(
                format!("{path}.websub"),
                format!("only feed and auto sources can be pushed by a WebSub hub, not kind = {kind_name:?}"),
            );
            false
        }
        Some(wanted) => wanted,
        None => websub_available && pushable,
    };
    let max_entries_per_poll = entries_per_poll(
        raw.max_entries_per_poll,
        fetch.max_entries_per_poll,
        &format!("{path}.max_entries_per_poll"),
        problems,
    );
    Some(SourceConfig {
        max_entries_per_poll,
        name,
        url: url?,
        kind: kind?,
        interval,
        fetch_article: raw.fetch_article.unwrap_or(true),
        max_age,
        min_interval,
        max_interval,
        adaptive: raw.adaptive.unwrap_or(true),
        respect_robots: raw.respect_robots.unwrap_or(true),
        websub,
    })
}

fn sink_config(name: String, raw: RawSink, problems: &mut Problems) -> Option<SinkConfig> {
    let path = format!("sinks.{name}");
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
    // `kind` may be left out when the url names the service (slack://…, tgram://…)
    let parsed = raw
        .url
        .as_deref()
        .map(crate::sink::format::parse_target_url);
    let inferred = match &parsed {
        Some(Ok(target)) => Some(kind_of(target).to_string()),
        _ => None,
    };
    // a service URL (tgram://…) names its kind even when malformed: say what is wrong with it
    // rather than that the kind is missing
    if raw.kind.is_none() {
        if let Some(Err(error)) = &parsed {
            if !matches!(
                error,
                crate::sink::format::TargetUrlError::MissingScheme
                    | crate::sink::format::TargetUrlError::UnknownScheme(_)
            ) {
                problems.add(format!("{path}.url"), error.to_string());
                return None;
            }
        }
    }
    let Some(kind_name) = raw.kind.clone().or(inferred) else {
        problems.add(
            format!("{path}.kind"),
            "missing: one of \"webhook\", \"log\", \"slack\", \"discord\", \"teams\", \"ntfy\", \"telegram\", \"email\" (or a service URL like slack://… that names it)",
        );
        return None;
    };
    let timeout = duration(
        raw.timeout.as_deref(),
        Duration::from_secs(15),
        (Duration::from_millis(100), MAX_TIMEOUT),
        &format!("{path}.timeout"),
        problems,
    );
    if let Some(template) = &raw.template {
        if let Err(error) = crate::sink::format::check_template(template) {
            problems.add(format!("{path}.template"), error.to_string());
        }
    }
    // keys that belong to one family of kinds: said once here instead of in every branch
    let email_keys = [
        ("host", raw.host.is_some()),
        ("port", raw.port.is_some()),
        ("security", raw.security.is_some()),
        ("username", raw.username.is_some()),
        ("password", raw.password.is_some()),
        ("from", raw.from.is_some()),
        ("to", raw.to.is_some()),
    ];
    if kind_name != "email" {
        for (key, present) in email_keys {
            if present {
                problems.add(
                    format!("{path}.{key}"),
                    "only email sinks take SMTP settings",
                );
            }
        }
    }
    if kind_name != "telegram" && raw.api_base.is_some() {
        problems.add(
            format!("{path}.api_base"),
            "only telegram sinks take api_base (the Bot API server); other kinds take their endpoint as url",
        );
    }
    let kind = match kind_name.as_str() {
        "slack" | "discord" | "teams" | "ntfy" | "telegram" => {
            let target_kind: crate::sink::format::TargetKind = match kind_name.parse() {
                Ok(kind) => kind,
                Err(error) => {
                    problems.add(format!("{path}.kind"), error.to_string());
                    return None;
                }
            };
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
            match crate::sink::format::parse_target(target_kind, url) {
                Ok(target) => SinkKind::Chat {
                    target,
                    template: raw.template.clone(),
                    timeout,
                    api_base,
                },
                Err(error) => {
                    problems.add(format!("{path}.url"), error.to_string());
                    return None;
                }
            }
        }
        "email" => {
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
            SinkKind::Email {
                target: email_target(&raw, &path, problems)?,
                timeout,
            }
        }
        "webhook" => {
            let url = match raw.url.as_deref() {
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
                match crate::sink::webhook::signing_key(text) {
                    Ok(_) => secrets.push(Secret::new(text)),
                    Err(message) => problems.add(at, message),
                }
            }
            if raw.template.is_some() {
                problems.add(format!("{path}.template"), "the generic webhook sends the versioned alert payload as it is; templates are for chat sinks");
            }
            SinkKind::Webhook {
                url: url?,
                secrets,
                timeout,
            }
        }
        "log" => {
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
        other => {
            problems.add(
                format!("{path}.kind"),
                format!("unknown sink kind {other:?}, expected one of \"webhook\", \"log\", \"slack\", \"discord\", \"teams\", \"ntfy\", \"telegram\", \"email\""),
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
    Some(SinkConfig {
        name,
        kind,
        rate_limit,
        retry,
        digest,
    })
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

/// The SMTP target of an email sink: a mailto:// / mailtos:// `url`, or the separate keys.
fn email_target(
    raw: &RawSink,
    path: &str,
    problems: &mut Problems,
) -> Option<crate::sink::format::EmailTarget> {
    use crate::sink::format::{valid_address, EmailTarget, SmtpSecurity};
    let separate = [
        raw.host.is_some(),
        raw.port.is_some(),
        raw.security.is_some(),
        raw.username.is_some(),
        raw.password.is_some(),
        raw.from.is_some(),
        raw.to.is_some(),
    ]
    .contains(&true);
    if let Some(url) = raw.url.as_deref() {
        if separate {
            problems.add(
                format!("{path}.url"),
                "give either a mailto:// url or host, from and to (with port, security, username, password), not both",
            );
            return None;
        }
        return match crate::sink::format::parse_target(crate::sink::format::TargetKind::Email, url)
        {
            Ok(crate::sink::format::TargetUrl::Email(target)) => Some(target),
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

fn watchlist_config(
    name: String,
    raw: RawWatchlist,
    source_names: &BTreeSet<String>,
    sink_names: &[String],
    problems: &mut Problems,
) -> Option<WatchlistConfig> {
    let path = format!("watchlists.{name}");
    let query = match (&raw.query, &raw.keywords) {
        (Some(text), None) => match Query::parse(text) {
            Ok(query) => Some((text.clone(), query)),
            Err(error) => {
                problems.add(format!("{path}.query"), error.to_string());
                None
            }
        },
        (None, Some(keywords)) => {
            if keywords.iter().all(|keyword| keyword.trim().is_empty()) {
                problems.add(
                    format!("{path}.keywords"),
                    "must hold at least one non-empty keyword",
                );
                None
            } else {
                match Query::any_of(keywords) {
                    Ok(query) => Some((
                        keywords
                            .iter()
                            .map(|keyword| format!("{keyword:?}"))
                            .collect::<Vec<_>>()
                            .join(" OR "),
                        query,
                    )),
                    Err(error) => {
                        problems.add(format!("{path}.keywords"), error.to_string());
                        None
                    }
                }
            }
        }
        (Some(_), Some(_)) => {
            problems.add(
                &path,
                "has both query and keywords; keep one (keywords = [...] is shorthand for a query of ORs)",
            );
            None
        }
        (None, None) => {
            problems.add(
                &path,
                "needs a query = '…' or keywords = [\"…\"] to say what to watch for",
            );
            None
        }
    };
    let sinks = match raw.sinks {
        None => {
            if sink_names.is_empty() {
                problems.add(
                    &path,
                    "no sinks are configured to deliver its alerts to; add a [sinks.NAME] table",
                );
            }
            sink_names.to_vec()
        }
        Some(names) => {
            if names.is_empty() {
                problems.add(
                    format!("{path}.sinks"),
                    "is empty; leave it out to deliver to every sink",
                );
            }
            for (index, sink) in names.iter().enumerate() {
                if !sink_names.contains(sink) {
                    problems.add(
                        format!("{path}.sinks[{index}]"),
                        format!(
                            "no sink named {sink:?}; defined sinks: {}",
                            list(sink_names)
                        ),
                    );
                }
            }
            names
        }
    };
    if let Some(names) = &raw.sources {
        if names.is_empty() {
            problems.add(
                format!("{path}.sources"),
                "is empty; leave it out to watch every source",
            );
        }
        for (index, source) in names.iter().enumerate() {
            if !source_names.contains(source) {
                let defined: Vec<String> = source_names.iter().map(|s| s.to_string()).collect();
                problems.add(
                    format!("{path}.sources[{index}]"),
                    format!(
                        "no source named {source:?}; defined sources: {}",
                        list(&defined)
                    ),
                );
            }
        }
    }
    let (query_text, query) = query?;
    Some(WatchlistConfig {
        name,
        query_text,
        query,
        sinks,
        sources: raw.sources,
    })
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests;
