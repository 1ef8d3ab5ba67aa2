//! Configuration: reads the TOML file, substitutes `${VAR}` from the environment, and turns the
//! raw tables into a validated [`Config`]. Every problem is collected and reported at once, each
//! with its TOML path (`watchlists.russia-china.query: column 7: …`), so one `check` run shows a
//! user everything to fix.
//!
//! This is the only module that reads the config file or the environment for it. It does not
//! touch the state directory or the network; relative paths are resolved against the config
//! file's folder.

mod excerpt;
mod raw;
mod validate;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::rules::Query;
use crate::source::page::CompiledSelectors;

pub use validate::{default_user_agent, parse_duration};

/// New entries processed per poll of a source unless configured: enough for any real feed's
/// burst, while a hostile or broken feed of 100,000 items is worked off over many polls instead of
/// creating 100,000 alerts in one.
pub const DEFAULT_MAX_ENTRIES_PER_POLL: usize = 500;
/// The largest `max_entries_per_poll` accepted.
pub const MAX_ENTRIES_PER_POLL: usize = 100_000;

/// The retry schedule of a webhook sink unless configured: the Standard Webhooks suggestion,
/// about three days in all.
pub const DEFAULT_RETRY: &[&str] = &["5s", "5m", "30m", "2h", "5h", "10h", "14h", "20h", "24h"];

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from.
    pub path: PathBuf,
    /// The first 12 hex digits of the SHA-256 of the file's text: instances sharing a database
    /// compare it and warn when they run different configurations.
    pub hash: String,
    pub daemon: DaemonConfig,
    pub console: ConsoleConfig,
    pub fetch: FetchConfig,
    pub sources: Vec<SourceConfig>,
    pub watchlists: Vec<WatchlistConfig>,
    pub sinks: Vec<SinkConfig>,
    pub archive: ArchiveConfig,
}

/// `[archive]`: how long every processed article's record is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveConfig {
    /// `None`: the archive is off (nothing archived, nothing backfilled).
    pub retention: Option<std::time::Duration>,
}

#[derive(Debug, Clone)]
pub struct DaemonConfig {
    pub state_dir: PathBuf,
    /// A PostgreSQL URL (`postgres://…`, password included, hence a secret) shared by every
    /// instance; `None`: the SQLite file in `state_dir`.
    pub database: Option<Secret>,
    /// Address of the HTTP listener (/healthz, /metrics, /status); `None` when turned off.
    pub listen: Option<std::net::SocketAddr>,
    /// Sinks that receive `source.unhealthy` / `source.recovered` messages (none by default).
    pub health_sinks: Vec<String>,
    /// Consecutive poll failures after which a source is reported unhealthy.
    pub health_failures: u32,
    /// The externally reachable base URL of the listener; WebSub callbacks are built under it.
    /// `None`: no WebSub (hubs would have nowhere to deliver).
    pub public_url: Option<Url>,
    /// How long alerts are kept after their last delivery (dead letters: after creation);
    /// see `crate::retention`.
    pub keep_alerts: std::time::Duration,
    /// This instance's name among those sharing a PostgreSQL database; `None`: hostname-pid.
    pub instance: Option<String>,
    /// How long a lease (a source's poll, an outbox row's attempt, a WebSub renewal) lasts
    /// without renewal: what a dead instance's work waits before another instance takes it.
    pub lease: Duration,
}

impl DaemonConfig {
    pub fn database_path(&self) -> PathBuf {
        self.state_dir.join("wirewatch.db")
    }

    /// The database as messages name it: the PostgreSQL URL with its password masked, or the
    /// SQLite file's path.
    pub fn database_label(&self) -> String {
        match &self.database {
            Some(url) => crate::secret::masked_password(url.expose()),
            None => self.database_path().display().to_string(),
        }
    }

    /// The callback URL a hub delivers one subscription's content to (`None` without a
    /// `public_url`). The listener serves it at `/websub/ID`: a proxy in front maps `public_url`
    /// to the listener's root.
    pub fn websub_callback(&self, id: &str) -> Option<Url> {
        let mut base = self.public_url.clone()?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        base.join(&format!("websub/{id}")).ok()
    }
}

/// `[console]`: the web console on the daemon's listener.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// Served at `/` when the listener is on (the default).
    pub enabled: bool,
    /// Unlocks the actions that change state (replay, sink test); on a listener that is not
    /// loopback, every page needs it.
    pub token: Option<Secret>,
}

#[derive(Debug, Clone)]
pub struct FetchConfig {
    pub user_agent: String,
    pub timeout: Duration,
    pub allow_private_networks: bool,
    pub max_feed_size: u64,
    pub max_page_size: u64,
    /// Time allowed to establish a connection (within `timeout`).
    pub connect_timeout: Duration,
    /// Requests in flight at once to one host (host and port).
    pub per_host_connections: u32,
    /// Minimum time between the starts of two requests to one host.
    pub per_host_gap: Duration,
    /// Defaults of the sources' `min_interval` / `max_interval`.
    pub min_interval: Duration,
    pub max_interval: Duration,
    /// Longest delay after failures (and longest `Retry-After` honoured).
    pub max_backoff: Duration,
    /// Consecutive failures after which a source is polled only once per `max_backoff`.
    pub circuit_breaker_failures: u32,
    /// Default of the sources' `max_entries_per_poll`.
    pub max_entries_per_poll: usize,
}

impl FetchConfig {
    /// The settings used when nothing is configured (also for commands without a config file).
    pub fn defaults() -> FetchConfig {
        FetchConfig {
            user_agent: default_user_agent(),
            timeout: Duration::from_secs(20),
            allow_private_networks: false,
            max_feed_size: 15 << 20,
            max_page_size: 5 << 20,
            connect_timeout: Duration::from_secs(10),
            per_host_connections: 1,
            per_host_gap: Duration::from_secs(1),
            min_interval: Duration::from_secs(60),
            max_interval: Duration::from_secs(3600),
            max_backoff: Duration::from_secs(6 * 3600),
            circuit_breaker_failures: 10,
            max_entries_per_poll: DEFAULT_MAX_ENTRIES_PER_POLL,
        }
    }
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
    /// Bounds of the adaptive interval and of publishers' hints; `min_interval <= interval <=
    /// max_interval` always holds.
    pub min_interval: Duration,
    pub max_interval: Duration,
    /// Whether the interval follows the rhythm of the source's entries.
    pub adaptive: bool,
    /// Whether robots.txt is honoured for its article pages (and for a page source's own URL).
    pub respect_robots: bool,
    /// Whether to subscribe to the hub its feed advertises (WebSub) and accept pushed content.
    pub websub: bool,
    /// New entries processed per poll (newest first); the rest are left unseen for the next.
    pub max_entries_per_poll: usize,
    /// The zone the source's dates written without an offset are read in; `None` keeps them
    /// local times (never UTC).
    pub timezone: Option<chrono_tz::Tz>,
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
    /// When the watchlist is new or its query changed: how far back archived articles raise
    /// alerts (`None`: no backfill).
    pub backfill: Option<std::time::Duration>,
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
    /// When set, the alerts of each window go out together as one digest message.
    pub digest: Option<Duration>,
}

#[derive(Debug, Clone)]
pub enum SinkKind {
    Webhook {
        url: Url,
        /// Signing secrets; several while rotating (every attempt is signed with each).
        secrets: Vec<Secret>,
        timeout: Duration,
        /// HTTP basic auth, from a `json(s)://user:password@…` URL.
        basic_auth: Option<(String, Secret)>,
        /// Extra request headers, from a `json(s)://…?+Name=value` URL.
        headers: Vec<(String, Secret)>,
    },
    Log,
    /// Slack, Discord, Teams, ntfy or Telegram: the service's own message format.
    Chat {
        target: crate::target_url::TargetUrl,
        /// Replaces the default message text (minijinja over the alert payload).
        template: Option<String>,
        timeout: Duration,
        /// Telegram only: the Bot API server to use instead of api.telegram.org.
        api_base: Option<Url>,
    },
    /// SMTP submission (lettre).
    Email {
        target: crate::target_url::EmailTarget,
        timeout: Duration,
    },
    /// NATS JetStream: publish with ack, `Nats-Msg-Id` = alert id.
    Nats {
        target: crate::target_url::nats::NatsTarget,
        /// minijinja over the alert payload, e.g. `news.alerts.{{ watchlist }}`.
        subject: String,
        /// How long to wait for a connection and for each publish's ack.
        timeout: Duration,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub count: u32,
    pub per: Duration,
}

/// Secrets in the config (signing keys, SMTP passwords) are the same type as those in target
/// URLs: never shown by `Debug`, so they cannot reach a log.
pub use crate::secret::Secret;

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

/// How many problems of one kind (see [`ConfigProblem::kind`]) a [`ConfigError`] shows; the
/// rest are counted in one line.
pub const SHOWN_PER_KIND: usize = 50;

impl ConfigProblem {
    /// The kind of problem, for grouping repeats: its path with the name of a source, watchlist
    /// or sink as `*` and list indices as `[]` (`watchlists.*.query`, `sinks.*.to[]`).
    pub fn kind(&self) -> String {
        let mut parts: Vec<&str> = self.path.splitn(3, '.').collect();
        if parts.len() >= 2 && matches!(parts[0], "sources" | "watchlists" | "sinks") {
            parts[1] = "*";
        }
        let path = parts.join(".");
        let mut kind = String::with_capacity(path.len());
        let mut in_index = false;
        for character in path.chars() {
            match character {
                '[' => {
                    in_index = true;
                    kind.push_str("[]");
                }
                ']' => in_index = false,
                _ if in_index => {}
                _ => kind.push(character),
            }
        }
        kind
    }
}

/// Everything wrong with a config file. `Display` shows the first [`SHOWN_PER_KIND`] problems of
/// each kind and counts the rest; `problems` holds them all.
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
        // each kind's first problems, then a count of the rest: one mistake repeated in a
        // generated config reads as one mistake, and a different one is never buried under it
        let mut kinds: Vec<(String, usize)> = Vec::new();
        let mut index_of: HashMap<String, usize> = HashMap::new();
        for problem in &self.problems {
            let kind = problem.kind();
            let index = *index_of.entry(kind.clone()).or_insert_with(|| {
                kinds.push((kind, 0));
                kinds.len() - 1
            });
            kinds[index].1 += 1;
            if kinds[index].1 <= SHOWN_PER_KIND {
                writeln!(formatter, "  {problem}")?;
            }
        }
        for (kind, count) in kinds {
            if count > SHOWN_PER_KIND {
                let place = if kind.is_empty() {
                    "the file".to_string()
                } else {
                    kind
                };
                writeln!(
                    formatter,
                    "  … and {} more errors at {place} (the first {SHOWN_PER_KIND} are shown)",
                    count - SHOWN_PER_KIND
                )?;
            }
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
                config.hash = text_hash(text);
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

/// The first 12 hex digits of the SHA-256 of `text`.
fn text_hash(text: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes())[..6]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
