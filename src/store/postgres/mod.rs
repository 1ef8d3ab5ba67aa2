//! The PostgreSQL backend: the same tables and meanings as the SQLite one, for several
//! instances sharing one database. A pool of connections (deadpool-postgres over
//! tokio-postgres); the schema is brought forward at connect by [`schema`] under an advisory
//! lock, so instances starting together migrate once. Exactly-once alert creation rests on
//! unique constraints inside the commit transaction (`ON CONFLICT DO NOTHING`), never on a
//! check-then-insert.
//!
//! It does not lease sources or outbox rows yet (every instance would poll and deliver
//! everything), and connects without TLS; both are the next steps of issue 12.

mod archive;
mod entries;
mod outbox;
mod recipients;
mod schema;
mod sources;
mod websub;

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};

use super::StoreError;

/// Connections per instance: the daemon's loops each hold one for a few statements at a time.
const POOL_SIZE: usize = 16;

pub struct PostgresStore {
    pool: Pool,
    /// The last write the database refused, while it keeps refusing (see `write_problem`).
    problem: Mutex<Option<String>>,
    failures: AtomicU64,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host/database`) and brings the schema
    /// forward. Errors name the URL with its password masked.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let unreachable = |reason: String| StoreError::Unreachable {
            url: crate::secret::masked_password(url),
            reason,
        };
        let config = tokio_postgres::Config::from_str(url)
            .map_err(|error| unreachable(postgres_message(&error)))?;
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|error| unreachable(error.to_string()))?;
        let store = PostgresStore {
            pool,
            problem: Mutex::new(None),
            failures: AtomicU64::new(0),
        };
        let mut client = store
            .client()
            .await
            .map_err(|error| unreachable(error.to_string()))?;
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
        self.problem.lock().ok()?.clone()
    }

    pub fn write_failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    async fn client(&self) -> Result<Object, StoreError> {
        Ok(self.pool.get().await?)
    }

    /// Keeps what a write's outcome says of the database's health.
    fn note<T>(&self, result: &Result<T, StoreError>) {
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

/// Counts stored as INTEGER come back as i32; they are never negative.
fn count(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}
