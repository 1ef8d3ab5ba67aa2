//! The SQLite backend: one database file in WAL mode, opened private (0700 folder, 0600 file),
//! its schema brought forward by [`schema`] at open, and the daemon's start-up checks (writable,
//! `PRAGMA quick_check`). The operations themselves live beside this file by concern: sources,
//! entries (seen marks, alerts, stories), outbox (deliveries, digests) and WebSub.
//!
//! Calls are synchronous and short (local transactions of a few rows); async callers invoke them
//! directly rather than paying a thread hop for sub-millisecond work. A poll bookkeeping write the
//! database refuses is remembered in memory ([`Unrecorded`]) so health still tells the truth.

mod archive;
mod cluster;
mod entries;
mod export;
mod outbox;
mod recipients;
mod retention;
mod schema;
mod sources;
mod websub;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

pub struct SqliteStore {
    connection: Mutex<Connection>,
    /// What the database could not take: kept in memory so health still tells the truth.
    unrecorded: Mutex<Unrecorded>,
}

/// Poll bookkeeping that failed to reach the database (read-only file, full disk, lock held).
#[derive(Default)]
struct Unrecorded {
    /// Per source: failed polls not counted in the database, and the last one's error.
    failures: std::collections::HashMap<String, (u32, String)>,
    /// The last failed poll-bookkeeping write; cleared when one succeeds again.
    problem: Option<String>,
    /// Failed writes since the store was opened.
    count: u64,
}

/// Rows of `PRAGMA quick_check` reported in an error: the first few say enough.
const QUICK_CHECK_ROWS: u32 = 5;

impl SqliteStore {
    /// Opens (creating if needed) the database file and its folder. What it creates is private
    /// whatever the umask: the folder 0700 and the file 0600 (SQLite gives the -wal and -shm
    /// files the database file's mode), because the database holds WebSub hub secrets.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(folder) = path.parent() {
            if !folder.as_os_str().is_empty() {
                create_private_directory(folder).map_err(|source| StoreError::CreateDirectory {
                    path: folder.display().to_string(),
                    source,
                })?;
            }
        }
        create_private_file(path)?;
        let connection = Connection::open(path).map_err(|error| with_advice(error.into()))?;
        SqliteStore::initialise(connection).map_err(with_advice)
    }

    /// The start-up checks of the daemon (`run` and `once`), which write to the database from
    /// then on: that it can be written, and that it passes `PRAGMA quick_check`. Read-only
    /// commands skip them. quick_check reads the whole file (about a second per few hundred MB
    /// on an SSD; a database of a year of alerts is typically tens of MB).
    pub fn check_for_daemon(&self) -> Result<(), StoreError> {
        let connection = self.lock()?;
        let problems: Vec<String> = connection
            .prepare(&format!("PRAGMA quick_check({QUICK_CHECK_ROWS})"))?
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<Result<_, _>>()
            .map_err(|error| with_advice(error.into()))?;
        if problems.iter().any(|problem| problem != "ok") {
            // one row may hold several lines under a "*** in database main ***" heading
            let lines: Vec<&str> = problems
                .iter()
                .flat_map(|problem| problem.lines())
                .filter(|line| !line.starts_with("***") && !line.trim().is_empty())
                .take(QUICK_CHECK_ROWS as usize)
                .collect();
            return Err(StoreError::Corrupt(format!(
                "PRAGMA quick_check: {}",
                lines.join("; ")
            )));
        }
        // A real write (the version rewritten as it is, then kept): a file opened read-only
        // (mode 0444, a read-only mount) only fails here, not when it is opened.
        let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
        let written = connection
            .execute_batch("BEGIN IMMEDIATE")
            .and_then(|()| connection.pragma_update(None, "user_version", version))
            .and_then(|()| connection.execute_batch("COMMIT"));
        if let Err(error) = written {
            let _ = connection.execute_batch("ROLLBACK");
            return Err(match error.sqlite_error_code() {
                Some(rusqlite::ErrorCode::ReadOnly) | Some(rusqlite::ErrorCode::CannotOpen) => {
                    StoreError::ReadOnly(error.to_string())
                }
                _ => with_advice(error.into()),
            });
        }
        Ok(())
    }

    /// A private in-memory database, for tests and one-shot commands.
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        SqliteStore::initialise(Connection::open_in_memory()?)
    }

    fn initialise(connection: Connection) -> Result<SqliteStore, StoreError> {
        schema::refuse_newer(&connection)?;
        // WAL lets `alerts list` read while the daemon writes; synchronous=NORMAL is durable
        // across process crashes (kill -9) in WAL mode, which is what we promise.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        connection.busy_timeout(Duration::from_secs(10))?;
        schema::migrate(&connection)?;
        Ok(SqliteStore {
            connection: Mutex::new(connection),
            unrecorded: Mutex::new(Unrecorded::default()),
        })
    }

    #[cfg(test)]
    pub(crate) fn make_read_only(&self) {
        if let Ok(connection) = self.lock() {
            connection.pragma_update(None, "query_only", true).unwrap();
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.connection.lock().map_err(|_| StoreError::Poisoned)
    }
}

impl Unrecorded {
    fn note(&mut self, error: &StoreError) {
        self.problem = Some(error.to_string());
        self.count = self.count.saturating_add(1);
    }
}

/// SQLite's "malformed" and "not a database" errors, whenever they surface, as the advice of
/// [`StoreError::Corrupt`]; "readonly" as that of [`StoreError::ReadOnly`].
fn with_advice(error: StoreError) -> StoreError {
    match &error {
        StoreError::Database(inner)
            if inner.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly) =>
        {
            StoreError::ReadOnly(inner.to_string())
        }
        StoreError::Database(inner)
            if matches!(
                inner.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
            ) =>
        {
            StoreError::Corrupt(inner.to_string())
        }
        _ => error,
    }
}

#[cfg(unix)]
fn create_private_directory(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

#[cfg(not(unix))]
fn create_private_directory(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)
}

/// Creates the database file empty with mode 0600 (exactly: the umask does not apply to an
/// explicit chmod) unless it exists; SQLite then fills it in.
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(file) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                file.set_permissions(std::fs::Permissions::from_mode(0o600))
                    .map_err(|source| StoreError::CreateFile {
                        path: path.display().to_string(),
                        source,
                    })?;
            }
            drop(file);
            Ok(())
        }
        // an existing database keeps the mode its operator gave it
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        // let SQLite report what is wrong (a missing directory, no permission) in its words
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests;
