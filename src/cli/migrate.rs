//! `wirewatch migrate-store`: moves a config's SQLite state into an empty PostgreSQL database
//! (the copy itself is [`crate::store::transfer`]). It holds the state directory's lock while it
//! reads, so it refuses to run beside a daemon still writing the file; it never changes the
//! SQLite file, which stays as a backup.

use std::path::Path;
use std::process::ExitCode;

use super::load_config;

pub(super) async fn migrate_store(path: &Path, to: Option<&str>) -> ExitCode {
    let config = match load_config(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let from = config.daemon.database_path();
    let exposed = config.daemon.database.as_ref().map(|url| url.expose());
    let Some(url) = to.or(exposed) else {
        eprintln!("error: no PostgreSQL database to move to: give --to postgres://… or set daemon.database in {}", path.display());
        return ExitCode::FAILURE;
    };
    let label = crate::secret::masked_password(url);
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        eprintln!(
            "error: --to {label} is not a PostgreSQL URL (postgres://user:password@host/database)"
        );
        return ExitCode::FAILURE;
    }
    if !from.exists() {
        eprintln!(
            "error: no SQLite state at {}: nothing to move (daemon.state_dir of {} is where wirewatch kept it)",
            from.display(),
            path.display()
        );
        return ExitCode::FAILURE;
    }
    let _lock = match crate::daemon::lock_state_directory(&config.daemon.state_dir) {
        Ok(lock) => lock,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    match crate::store::transfer::sqlite_to_postgres(&from, url).await {
        Ok(copied) => {
            for (table, rows) in &copied {
                println!("{table}: {rows} row{}", super::plural(*rows as usize));
            }
            println!(
                "moved {} to {label}; start wirewatch with daemon.database = \"{label}\" (the SQLite file is left as it was)",
                from.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "error: moving {} to {label}: {error}; nothing was written to PostgreSQL",
                from.display()
            );
            ExitCode::FAILURE
        }
    }
}
