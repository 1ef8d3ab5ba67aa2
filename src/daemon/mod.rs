//! Wiring: the [`Pipeline`] holds everything built once per config load (store, HTTP clients,
//! compiled matcher, sinks) and runs the stages in order — poll a source, process each new entry
//! into an article and its matches, commit entry + alerts atomically, deliver from the outbox.
//!
//! This is the only module that spawns tasks or reads the clock for the pipeline. It owns no
//! parsing, extraction or matching logic: those are pure functions it calls.

mod deliver;
pub mod discovery;
pub mod health;
mod process;
mod run;
mod sources;
pub mod status;

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Notify;

use crate::config::Config;
use crate::fetch::Fetcher;
use crate::rules::Matcher;
use crate::sink::Sink;
use crate::store::{Millis, Store};

pub use deliver::DeliveryReport;
pub use process::PollReport;
pub use run::{once, run, OnceSummary};

/// Everything built from one config load, shared read-only by all tasks.
pub struct Pipeline {
    pub config: Arc<Config>,
    pub store: Arc<Store>,
    fetcher: Fetcher,
    /// Compiled watchlists; index i is `config.watchlists[i]`.
    matcher: Matcher,
    sinks: BTreeMap<String, SinkSlot>,
    /// Feeds found for `kind = "auto"` sources, by source name (rediscovered after a restart).
    discovered: std::sync::Mutex<std::collections::HashMap<String, url::Url>>,
    /// Held for the pipeline's life; the OS releases it when the process ends, even on kill -9.
    lock: Option<std::fs::File>,
}

struct SinkSlot {
    sink: Sink,
    /// Woken when new alerts for this sink are committed.
    wake: Notify,
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
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

impl Pipeline {
    /// Opens the state database and takes the state directory's lock: two processes polling
    /// and delivering from one outbox would send every alert twice.
    pub fn new(config: Config) -> Result<Pipeline, StartError> {
        let database = config.daemon.database_path();
        let store = Store::open(&database).map_err(|source| StartError::Store {
            path: database.display().to_string(),
            source,
        })?;
        let lock = lock_state_directory(&config.daemon.state_dir)?;
        let mut pipeline = Pipeline::with_store(config, store)?;
        pipeline.lock = Some(lock);
        Ok(pipeline)
    }

    pub fn with_store(config: Config, store: Store) -> Result<Pipeline, StartError> {
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
                    },
                )
            })
            .collect();
        Ok(Pipeline {
            config: Arc::new(config),
            store: Arc::new(store),
            fetcher,
            matcher,
            sinks,
            discovered: std::sync::Mutex::new(std::collections::HashMap::new()),
            lock: None,
        })
    }
}

fn lock_state_directory(state_dir: &std::path::Path) -> Result<std::fs::File, StartError> {
    let path = state_dir.join("wirewatch.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|error| {
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
