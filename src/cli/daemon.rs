//! The commands that run the daemon or look at its state: `run`, `once`, `check`, `sources`,
//! `status` and `demo`. Start-up failures are printed here, once, with what to change; the daemon itself
//! lives in [`crate::daemon`].

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use crate::config::Config;
use crate::daemon::{self, Pipeline};

use super::{load_config, plural};

/// Loads the config, opens the state (database and lock) and builds the pipeline; the state
/// must outlive it.
async fn start_pipeline(path: &Path) -> Result<(daemon::State, Arc<Pipeline>), ExitCode> {
    daemon::open_files::raise();
    let config = load_config(path)?;
    let fail = |error: daemon::StartError| {
        eprintln!("error: {error}");
        ExitCode::FAILURE
    };
    let state = daemon::State::open(&config).await.map_err(fail)?;
    let pipeline = Pipeline::build(
        config,
        Arc::clone(&state.store),
        Arc::new(daemon::Metrics::new()),
    )
    .map_err(fail)?;
    Ok((state, Arc::new(pipeline)))
}

pub(super) async fn run(path: &Path) -> ExitCode {
    let (_state, pipeline) = match start_pipeline(path).await {
        Ok(started) => started,
        Err(code) => return code,
    };
    let control = daemon::signals::control(path);
    match daemon::run(pipeline, control).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

pub(super) async fn once(path: &Path) -> ExitCode {
    let (_state, pipeline) = match start_pipeline(path).await {
        Ok(started) => started,
        Err(code) => return code,
    };
    let database = pipeline.config.daemon.database_label();
    let summary = daemon::once(pipeline).await;
    eprintln!("{summary}");
    if summary.store_failures > 0 {
        eprintln!(
            "error: state database {}: {} write{} refused{}; what this pass found is not all recorded (alerts may be created again next time): make the database writable",
            database,
            summary.store_failures,
            plural(summary.store_failures as usize),
            summary
                .store_problem
                .map(|problem| format!(" (last: {problem})"))
                .unwrap_or_default()
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

pub(super) fn check(path: &Path) -> ExitCode {
    match Config::load(path) {
        Ok(config) => {
            println!(
                "{}: OK — {} source{}, {} watchlist{}, {} sink{}; state in {}",
                path.display(),
                config.sources.len(),
                plural(config.sources.len()),
                config.watchlists.len(),
                plural(config.watchlists.len()),
                config.sinks.len(),
                plural(config.sinks.len()),
                config.daemon.database_label()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprint!("{error}");
            ExitCode::FAILURE
        }
    }
}

/// Reads the state database without taking the daemon's lock, so it works while `run` is going.
pub(super) async fn sources(path: &Path) -> ExitCode {
    let config = match load_config(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let database = config.daemon.database_path();
    let store = match open_for_reading(&config).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let now = chrono::Utc::now();
    match daemon::source_status::source_status(&config, &store, now).await {
        Ok(rows) => {
            print!("{}", daemon::source_status::render_table(&rows, now));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: state database {}: {error}", database.display());
            ExitCode::FAILURE
        }
    }
}

/// The state database for a command that only reads it. No database yet (never run): an
/// empty one in memory, so nothing is created.
async fn open_for_reading(config: &Config) -> Result<crate::store::Store, ExitCode> {
    let database = config.daemon.database_path();
    let store = if let Some(url) = &config.daemon.database {
        crate::store::Store::connect(url.expose()).await
    } else if database.exists() {
        crate::store::Store::open(&database)
    } else {
        crate::store::Store::open_in_memory()
    };
    store.map_err(|error| {
        eprintln!(
            "error: state database {}: {error}",
            config.daemon.database_label()
        );
        ExitCode::FAILURE
    })
}

/// `status`: the state database's size and each table's rows and bytes.
pub(super) async fn status(path: &Path) -> ExitCode {
    let config = match load_config(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let store = match open_for_reading(&config).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    match store.database_size().await {
        Ok(size) => {
            print!(
                "{}",
                render_database_size(&config.daemon.database_label(), &size)
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "error: state database {}: {error}",
                config.daemon.database_label()
            );
            ExitCode::FAILURE
        }
    }
}

fn render_database_size(label: &str, size: &crate::store::DatabaseSize) -> String {
    let bytes = binary_size;
    let mut text = format!("database {label}: {}\n", bytes(size.bytes));
    text.push_str(&format!("{:<22} {:>12} {:>12}\n", "table", "rows", "size"));
    for table in &size.tables {
        let table_bytes = table.bytes.map_or_else(|| "?".to_string(), bytes);
        text.push_str(&format!(
            "{:<22} {:>12} {:>12}\n",
            table.name, table.rows, table_bytes
        ));
    }
    text
}

/// Bytes in the largest binary unit that keeps a whole number in front: "512 B", "3.4 MiB".
fn binary_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

pub(super) async fn cluster(path: &Path) -> ExitCode {
    let config = match load_config(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let Some(url) = &config.daemon.database else {
        println!("{} uses SQLite: one instance per state directory, no cluster; set [daemon] database to a PostgreSQL URL to run several instances", path.display());
        return ExitCode::SUCCESS;
    };
    let now = chrono::Utc::now().timestamp_millis();
    let since = now - daemon::cluster::millis(config.daemon.lease);
    let live = match crate::store::Store::connect(url.expose()).await {
        Ok(store) => store.live_instances(since, now).await,
        Err(error) => Err(error),
    };
    match live {
        Ok(live) if live.is_empty() => {
            println!(
                "no live instance (none has sent a heartbeat within the last {})",
                humantime::format_duration(config.daemon.lease)
            );
            ExitCode::SUCCESS
        }
        Ok(live) => {
            print!("{}", daemon::cluster::report(&live, now));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "error: state database {}: {error}",
                config.daemon.database_label()
            );
            ExitCode::FAILURE
        }
    }
}

pub(super) async fn demo() -> ExitCode {
    match daemon::demo::run().await {
        Ok(count) if count > 0 => ExitCode::SUCCESS,
        Ok(_) => {
            eprintln!("error: the demo produced no alert");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
