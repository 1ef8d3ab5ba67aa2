//! Configuration: reads the TOML file, substitutes `${VAR}` from the environment, and turns the
//! raw tables into a validated [`Config`]. Every problem is collected and reported at once, each
//! with its TOML path (`watchlists.russia-china.query: column 7: …`), so one `check` run shows a
//! user everything to fix.
//!
//! This is the only module that reads the config file or the environment for it. It does not
//! touch the state directory or the network; relative paths are resolved against the config
//! file's folder.

mod raw;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::rules::Query;
use crate::source::page::CompiledSelectors;

pub use validate::{default_user_agent, parse_duration};

/// The retry schedule of a webhook sink unless configured: the Standard Webhooks suggestion,
/// about three days in all.
pub const DEFAULT_RETRY: &[&str] = &["5s", "5m", "30m", "2h", "5h", "10h", "14h", "20h", "24h"];

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from.
    pub path: PathBuf,
    pub daemon: DaemonConfig,
    pub fetch: FetchConfig,
    pub sources: Vec<SourceConfig>,
    pub watchlists: Vec<WatchlistConfig>,
    pub sinks: Vec<SinkConfig>,
}

#[derive(Debug, Clone)]
pub struct DaemonConfig {
    pub state_dir: PathBuf,
    /// Address of the HTTP listener (/healthz, /metrics, /status); `None` when turned off.
    pub listen: Option<std::net::SocketAddr>,
}

impl DaemonConfig {
    pub fn database_path(&self) -> PathBuf {
        self.state_dir.join("wirewatch.db")
    }
}

#[derive(Debug, Clone)]
pub struct FetchConfig {
    pub user_agent: String,
    pub timeout: Duration,
    pub allow_private_networks: bool,
    pub max_feed_size: u64,
    pub max_page_size: u64,
}

#[derive(Debug, Clone)]
pub enum SourceKind {
    /// RSS, Atom or JSON Feed.
    Feed,
    /// An HTML list page turned into entries by CSS selectors (compiled at load).
    Page(Arc<CompiledSelectors>),
    /// A (news) sitemap or sitemap index; the newest `max_entries` URLs per poll.
    Sitemap { max_entries: usize },
    /// A URL that may be a homepage: the feed it announces (or serves at a common path) is found
    /// on the first poll and polled from then on.
    Auto,
}

impl SourceKind {
    pub fn name(&self) -> &'static str {
        match self {
            SourceKind::Feed => "feed",
            SourceKind::Page(_) => "page",
            SourceKind::Sitemap { .. } => "sitemap",
            SourceKind::Auto => "auto",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub name: String,
    pub url: Url,
    pub kind: SourceKind,
    pub interval: Duration,
    pub fetch_article: bool,
    /// Entries older than this are recorded as seen without alerting; `None` means no limit.
    pub max_age: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct WatchlistConfig {
    pub name: String,
    /// The query as the user wrote it (or the `keywords` list joined), for messages.
    pub query_text: String,
    pub query: Query,
    /// Names of the sinks to deliver to (already defaulted to every sink).
    pub sinks: Vec<String>,
    /// Names of the sources this watchlist applies to; `None` means every source.
    pub sources: Option<Vec<String>>,
}

impl WatchlistConfig {
    pub fn applies_to(&self, source: &str) -> bool {
        match &self.sources {
            None => true,
            Some(names) => names.iter().any(|name| name == source),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub name: String,
    pub kind: SinkKind,
    /// At most `count` attempts per `per`, with bursts up to `count`.
    pub rate_limit: Option<RateLimit>,
    /// Delay before each retry; after the last one the alert becomes a dead letter.
    pub retry: Vec<Duration>,
}

#[derive(Debug, Clone)]
pub enum SinkKind {
    Webhook {
        url: Url,
        /// Signing secrets; several while rotating (every attempt is signed with each).
        secrets: Vec<Secret>,
        timeout: Duration,
    },
    Log,
    /// Slack, Discord, Teams, ntfy or Telegram: the service's own message format.
    Chat {
        target: crate::sink::format::TargetUrl,
        /// Replaces the default message text (minijinja over the alert payload).
        template: Option<String>,
        timeout: Duration,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub count: u32,
    pub per: Duration,
}

/// A secret from the config (a signing key): never shown by `Debug`, so it cannot reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Secret(***)")
    }
}

/// One problem in the config file, at a TOML path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(formatter, "{}", self.message)
        } else {
            write!(formatter, "{}: {}", self.path, self.message)
        }
    }
}

/// Everything wrong with a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        writeln!(
            formatter,
            "{}: {} error{} in the configuration",
            self.file.display(),
            count,
            if count == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            writeln!(formatter, "  {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads and validates the file, taking `${VAR}` values from the process environment.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let environment: BTreeMap<String, String> = std::env::vars().collect();
        Config::load_with(path, &|name| environment.get(name).cloned())
    }

    /// Reads and validates the file with an explicit environment lookup (tests use this).
    pub fn load_with(
        path: &Path,
        environment: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
            file: path.to_path_buf(),
            problems: vec![ConfigProblem {
                path: String::new(),
                message: format!("cannot read the config file: {error}"),
            }],
        })?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Config::parse(&text, path, &base, environment)
    }

    /// Validates config text; `base` is the folder relative paths resolve against.
    pub fn parse(
        text: &str,
        path: &Path,
        base: &Path,
        environment: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        validate::parse(text, base, environment)
            .map(|mut config| {
                config.path = path.to_path_buf();
                config
            })
            .map_err(|problems| ConfigError {
                file: path.to_path_buf(),
                problems,
            })
    }

    pub fn watchlist(&self, name: &str) -> Option<&WatchlistConfig> {
        self.watchlists
            .iter()
            .find(|watchlist| watchlist.name == name)
    }

    pub fn sink(&self, name: &str) -> Option<&SinkConfig> {
        self.sinks.iter().find(|sink| sink.name == name)
    }
}
