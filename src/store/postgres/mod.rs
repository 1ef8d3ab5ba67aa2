//! The PostgreSQL backend: the same tables and meanings as the SQLite one, for several
//! instances sharing one database. A pool of connections (deadpool-postgres over
//! tokio-postgres); the schema is brought forward at connect by [`schema`] under an advisory
//! lock, so instances starting together migrate once. Exactly-once alert creation rests on
//! unique constraints inside the commit transaction (`ON CONFLICT DO NOTHING`), never on a
//! check-then-insert.
//!
//! Connections use TLS as the URL's `sslmode` says ([`tls`]). While the database is
//! unreachable (restarting, network cut) every call fails fast with an error
//! [`StoreError::is_unavailable`] recognises; the store remembers the outage (logged once when
//! it begins and once when it ends, shown by `/healthz`) and tries a new connection at most
//! once per back-off step, so callers can simply retry later: nothing uncommitted was written.
//!
//! Instances share the work through `cluster.rs` (heartbeats, leases of polls, renewals and
//! delivery attempts).

mod archive;
mod cluster;
mod entries;
mod import;
mod outbox;
mod recipients;
mod retention;
mod schema;
mod sources;
mod tls;
mod websub;

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime, Timeouts};
use tracing::{info, warn};

use super::StoreError;

/// Connections per instance: the daemon's loops each hold one for a few statements at a time.
const POOL_SIZE: usize = 16;

/// A connection attempt (TCP, TLS and start-up) that takes longer has failed: an unreachable
/// host must not hold a poll or a delivery forever. The URL's `connect_timeout` wins.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Silence on an open connection after which the kernel gives up on it (keepalive probes, and
/// data left unacknowledged): a cable pulled mid-query ends in an error, not a hang.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_RETRIES: u32 = 3;
const UNACKNOWLEDGED: Duration = Duration::from_secs(30);

/// Statements are a few rows each; one running longer than this is stuck (a lock never
/// released) and is cancelled by the server.
const STATEMENT_TIMEOUT: &str = "60s";

/// The back-off between connection attempts while the database is unreachable: doubling from
/// the first to the last.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_LAST: Duration = Duration::from_secs(8);

pub struct PostgresStore {
    pool: Pool,
    /// The last write the database refused, while it keeps refusing (see `write_problem`).
    problem: Mutex<Option<String>>,
    failures: AtomicU64,
    /// Set while the database cannot be reached.
    outage: Mutex<Option<Outage>>,
}

/// An ongoing loss of the database: why, since when, and when to try connecting again.
struct Outage {
    reason: String,
    since: Instant,
    retry_at: Instant,
    retry_in: Duration,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host/database`) and brings the schema
    /// forward. Errors name the URL with its password masked.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let unreachable = |reason: String| StoreError::Unreachable {
            url: crate::secret::masked_password(url),
            reason,
        };
        let split = tls::split_url(url).map_err(unreachable)?;
        let mut config = tokio_postgres::Config::from_str(&split.url)
            .map_err(|error| unreachable(postgres_message(&error)))?;
        config.ssl_mode(split.mode.ssl_mode());
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(UNACKNOWLEDGED);
        }
        config
            .keepalives_idle(KEEPALIVE_IDLE)
            .keepalives_interval(KEEPALIVE_INTERVAL)
            .keepalives_retries(KEEPALIVE_RETRIES);
        if config.get_options().is_none() {
            config.options(format!("-c statement_timeout={STATEMENT_TIMEOUT}"));
        }
        let connector =
            tls::Connector::new(split.mode, split.root_file.as_ref()).map_err(unreachable)?;
        let manager = Manager::from_config(
            config,
            connector,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let wait = CONNECT_TIMEOUT + Duration::from_secs(5);
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .timeouts(Timeouts {
                wait: Some(wait),
                create: Some(wait),
                recycle: Some(CONNECT_TIMEOUT),
            })
            .build()
            .map_err(|error| unreachable(error.to_string()))?;
        let store = PostgresStore {
            pool,
            problem: Mutex::new(None),
            failures: AtomicU64::new(0),
            outage: Mutex::new(None),
        };
        let mut client = store.pool.get().await.map_err(|error| {
            let reason = pool_message(&error);
            let mode = split.mode.name();
            if split.mode.requires_tls() && reason.contains("server does not support TLS") {
                unreachable(format!("{reason}: the URL asks for TLS (sslmode={mode}) and the server offers none; turn on ssl in postgresql.conf, or lower sslmode to prefer or disable on a network you trust"))
            } else if reason.contains("invalid peer certificate") {
                unreachable(format!("{reason}: the server's certificate does not pass sslmode={mode}; give the CA that signed it in sslrootcert=/path/to/root.crt, and use the host name the certificate names"))
            } else {
                unreachable(reason)
            }
        })?;
        schema::migrate(&mut client).await?;
        Ok(store)
    }

    /// The daemon's start-up check: a write goes through (a read-only replica or a user
    /// without write grants is refused now rather than at the first alert).
    pub async fn check_for_daemon(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        transaction
            .execute(
                "UPDATE wirewatch_schema SET version = version WHERE version = (SELECT MAX(version) FROM wirewatch_schema)",
                &[],
            )
            .await
            .map_err(|error| StoreError::ReadOnly(postgres_message(&error)))?;
        transaction.commit().await?;
        Ok(())
    }

    pub fn write_problem(&self) -> Option<String> {
        if let Some(outage) = self.outage.lock().ok()?.as_ref() {
            return Some(format!(
                "PostgreSQL unreachable for {}s: {}",
                outage.since.elapsed().as_secs(),
                outage.reason
            ));
        }
        self.problem.lock().ok()?.clone()
    }

    /// Asks the database a trivial question now, bypassing the back-off: whether it answers,
    /// and why not. What `/healthz` shows while the daemon has nothing to write.
    pub async fn probe(&self) -> Result<(), StoreError> {
        let result = match self.pool.get().await {
            Ok(client) => client
                .simple_query("SELECT 1")
                .await
                .map(drop)
                .map_err(StoreError::from),
            Err(error) => Err(StoreError::from(error)),
        };
        self.observe(&result);
        result
    }

    pub fn write_failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// A pooled connection; while the database is unreachable, an error without trying
    /// unless the back-off step is over.
    async fn client(&self) -> Result<Object, StoreError> {
        if let Ok(outage) = self.outage.lock() {
            if let Some(outage) = outage
                .as_ref()
                .filter(|outage| Instant::now() < outage.retry_at)
            {
                return Err(StoreError::Unavailable(outage.reason.clone()));
            }
        }
        let result = self.pool.get().await.map_err(StoreError::from);
        if result.is_err() {
            self.observe(&result);
        }
        result
    }

    /// Keeps what an outcome says of the database's reachability: an outage begins (logged
    /// once, with the first reason), goes on (the next attempt backs off further) or ends.
    fn observe<T>(&self, result: &Result<T, StoreError>) {
        let Ok(mut outage) = self.outage.lock() else {
            return;
        };
        match (result, outage.as_mut()) {
            (Ok(_), Some(ended)) => {
                info!(
                    after = %humantime::format_duration(Duration::from_secs(ended.since.elapsed().as_secs())),
                    "PostgreSQL is reachable again; polls and deliveries carry on"
                );
                *outage = None;
            }
            // only a real attempt backs off further, not the calls turned away meanwhile
            (Err(error), Some(ongoing))
                if error.is_unavailable() && Instant::now() >= ongoing.retry_at =>
            {
                ongoing.retry_in = (ongoing.retry_in * 2).min(RETRY_LAST);
                ongoing.retry_at = Instant::now() + ongoing.retry_in;
            }
            (Err(error), None) if error.is_unavailable() => {
                warn!(%error, "PostgreSQL is unreachable: nothing is committed (entries stay unseen, deliveries pending) until it answers again; reconnecting with back-off");
                *outage = Some(Outage {
                    reason: error.to_string(),
                    since: Instant::now(),
                    retry_at: Instant::now() + RETRY_FIRST,
                    retry_in: RETRY_FIRST,
                });
            }
            _ => {}
        }
    }

    /// Keeps what a write's outcome says of the database's health.
    fn note<T>(&self, result: &Result<T, StoreError>) {
        self.observe(result);
        if let Ok(mut problem) = self.problem.lock() {
            match result {
                Ok(_) => *problem = None,
                Err(error) => {
                    *problem = Some(error.to_string());
                    self.failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// tokio-postgres says only "db error" for what the server reported; the server's message is
/// what tells an operator what to fix.
pub(crate) fn postgres_message(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(inner) = source {
                text.push_str(": ");
                text.push_str(&inner.to_string());
                source = inner.source();
            }
            text
        }
    }
}

/// The pool's error with tokio-postgres's causes (the pool names only its own step).
pub(crate) fn pool_message(error: &deadpool_postgres::PoolError) -> String {
    match error {
        deadpool_postgres::PoolError::Backend(error) => postgres_message(error),
        other => other.to_string(),
    }
}

/// Whether the connection failed (closed, timed out, the socket refused) or the server is
/// shutting down or starting up, as opposed to a statement it refused.
pub(crate) fn is_connection_error(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    match error.code() {
        // class 08: connection exception; 57P01..57P03: shutting down, crashed, starting up
        Some(code) => {
            let code = code.code();
            code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
        }
        None => {
            let mut source = std::error::Error::source(error);
            while let Some(inner) = source {
                if inner.is::<std::io::Error>() {
                    return true;
                }
                source = inner.source();
            }
            false
        }
    }
}

/// Counts stored as INTEGER come back as i32; they are never negative.
fn count(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}
