//! Wiring: the [`Pipeline`] holds everything built once per config load (store, HTTP clients,
//! compiled matcher, sinks) and runs the stages in order — poll a source, process each new entry
//! into an article and its matches, commit entry + alerts atomically, deliver from the outbox.
//!
//! This is the only module that spawns tasks, and it decides the pipeline's times (when to
//! poll, when an alert was created); fetch and the sinks read the clock only for their own
//! pacing, caches, `Retry-After` and signatures. It owns no parsing, extraction, article assembly or
//! matching logic: those are pure functions it calls (`source`, `extract`, `assemble`, `rules`).
//! Files are named after what they do; README.md's codemap lists them.

mod backfill;
pub mod cluster;
mod console;
mod deliver;
pub mod demo;
mod fetch_source;
pub mod find_feed;
pub mod health;
pub mod http;
mod listener;
mod loops;
pub mod metrics;
pub mod notify;
pub mod open_files;
mod process;
pub mod retention;
pub mod signals;
pub mod source_status;
mod supervisor;
mod websub_subscriber;

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Notify;

use crate::config::Config;
use crate::fetch::Fetcher;
use crate::rules::Matcher;
use crate::sink::Sink;
use crate::store::{Millis, Store};

pub use metrics::Metrics;

pub use deliver::DeliveryReport;
pub use http::serve as serve_http;
pub use loops::{once, OnceSummary};
pub use process::PollReport;
pub use supervisor::{run, Control, Current, Liveness};

/// Everything built from one config load, shared read-only by all tasks. A reload builds a new
/// one over the same store and metrics.
pub struct Pipeline {
    pub config: Arc<Config>,
    pub store: Arc<Store>,
    pub metrics: Arc<Metrics>,
    /// This instance's name among those sharing the database (its leases are held under it).
    instance: String,
    fetcher: Fetcher,
    /// Compiled watchlists; index i is `config.watchlists[i]`.
    matcher: Matcher,
    sinks: BTreeMap<String, SinkSlot>,
    /// Feeds found for `kind = "auto"` sources, by source name (rediscovered after a restart).
    discovered: std::sync::Mutex<std::collections::HashMap<String, url::Url>>,
    /// Woken when a poll finds a new hub or a hub answers: subscription requests may be due.
    websub_wake: Notify,
    /// Woken when pushed content was stored.
    inbox_wake: Notify,
    /// Per source: woken to poll at once (its WebSub subscription ended).
    poll_wakes: std::collections::HashMap<String, Notify>,
}

struct SinkSlot {
    sink: Sink,
    /// Woken when new alerts for this sink are committed.
    wake: Notify,
    /// Paces attempts when the sink has a rate limit.
    bucket: Option<std::sync::Mutex<crate::sink::rate::Bucket>>,
    /// Set when the receiver answered 410 Gone: no more attempts until a restart or reload
    /// (its alerts stay queued, so fixing the URL delivers them).
    gone: std::sync::atomic::AtomicBool,
    /// When a dead letter of this sink was last logged at ERROR, and how many were not since.
    dead_letter_log: std::sync::Mutex<(Option<std::time::Instant>, u64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("state database {path}: {source}")]
    Store {
        path: String,
        source: crate::store::StoreError,
    },
    #[error("{0}")]
    Locked(String),
    #[error("{0}")]
    Listen(String),
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

/// The open state: the database and, on SQLite, the state directory's lock, held while the
/// process runs. Two processes polling and delivering from one SQLite outbox would send every
/// alert twice; the OS releases the lock when the process ends, even on kill -9. Instances on
/// one PostgreSQL database take no lock: the database's constraints keep alert creation single.
pub struct State {
    pub store: Arc<Store>,
    _lock: Option<std::fs::File>,
}

impl State {
    pub async fn open(config: &Config) -> Result<State, StartError> {
        let failed = |source| StartError::Store {
            path: config.daemon.database_label(),
            source,
        };
        if let Some(url) = &config.daemon.database {
            let store = Store::connect(url.expose()).await.map_err(failed)?;
            store.check_for_daemon().await.map_err(failed)?;
            return Ok(State {
                store: Arc::new(store),
                _lock: None,
            });
        }
        let store = Store::open(&config.daemon.database_path()).map_err(failed)?;
        let lock = lock_state_directory(&config.daemon.state_dir)?;
        // after the lock: the write probe must not race another daemon's start
        store.check_for_daemon().await.map_err(failed)?;
        Ok(State {
            store: Arc::new(store),
            _lock: Some(lock),
        })
    }
}

impl Pipeline {
    /// Builds the stages of `config` over an open store.
    pub fn build(
        config: Config,
        store: Arc<Store>,
        metrics: Arc<Metrics>,
    ) -> Result<Pipeline, StartError> {
        let fetcher =
            Fetcher::new(&config.fetch).map_err(|error| StartError::Http(error.to_string()))?;
        let client = crate::sink::http_client(&config.fetch.user_agent)
            .map_err(|error| StartError::Http(crate::fetch::error_chain(&error)))?;
        let matcher = Matcher::new(
            config
                .watchlists
                .iter()
                .map(|watchlist| watchlist.query.clone())
                .collect(),
        );
        let sinks = config
            .sinks
            .iter()
            .map(|sink| {
                (
                    sink.name.clone(),
                    SinkSlot {
                        sink: Sink::build(sink, &client),
                        wake: Notify::new(),
                        bucket: sink.rate_limit.map(|limit| {
                            std::sync::Mutex::new(crate::sink::rate::Bucket::new(
                                limit,
                                std::time::Instant::now(),
                            ))
                        }),
                        gone: std::sync::atomic::AtomicBool::new(false),
                        dead_letter_log: std::sync::Mutex::new((None, 0)),
                    },
                )
            })
            .collect();
        let poll_wakes = config
            .sources
            .iter()
            .map(|source| (source.name.clone(), Notify::new()))
            .collect();
        let instance = cluster::instance_name(&config);
        if store.shared() {
            // a slot outlives any request: the longest a fetch may take, plus a margin
            let hold = config
                .fetch
                .timeout
                .saturating_add(std::time::Duration::from_secs(10));
            fetcher.share_turns(
                std::sync::Arc::new(cluster::StoreTurns {
                    store: Arc::clone(&store),
                    holder: instance.clone(),
                }),
                hold,
            );
        }
        Ok(Pipeline {
            config: Arc::new(config),
            store,
            metrics,
            instance,
            fetcher,
            matcher,
            sinks,
            discovered: std::sync::Mutex::new(std::collections::HashMap::new()),
            websub_wake: Notify::new(),
            inbox_wake: Notify::new(),
            poll_wakes,
        })
    }
}

pub(crate) fn lock_state_directory(
    state_dir: &std::path::Path,
) -> Result<std::fs::File, StartError> {
    let path = state_dir.join("wirewatch.lock");
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&path).map_err(|error| {
        StartError::Locked(format!(
            "cannot open the lock file {}: {error}",
            path.display()
        ))
    })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StartError::Locked(format!(
            "another wirewatch process is using the state directory {} (lock file {}); stop it first, or give this config its own state_dir",
            state_dir.display(),
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(error)) => Err(StartError::Locked(format!(
            "cannot lock {}: {error}",
            path.display()
        ))),
    }
}

pub(crate) fn now_millis() -> Millis {
    chrono::Utc::now().timestamp_millis()
}
