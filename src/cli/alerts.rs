//! `wirewatch alerts list|replay|test`: read and re-queue the outbox through the store's own
//! calls (the same ones a running daemon uses, so both may run at once), and send a sample
//! alert to one sink. Nothing here decides when an alert is delivered; the daemon does.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Config;

use super::{load_config, plural};

#[derive(Debug, Subcommand)]
pub(super) enum AlertsCommand {
    /// Alerts and their delivery per sink, newest first.
    List {
        #[arg(long, short)]
        config: PathBuf,
        /// Only dead letters (deliveries that will not be attempted again).
        #[arg(long)]
        dead: bool,
        /// Only alerts created within this long ("2h", "3d") or since this RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Queue alerts again (same ids, fresh retry schedule); a running daemon picks them up.
    Replay {
        #[arg(long, short)]
        config: PathBuf,
        /// Every dead letter.
        #[arg(long, conflicts_with = "ids", required_unless_present = "ids")]
        dead: bool,
        /// Alert ids (msg_…).
        ids: Vec<String>,
    },
    /// Send a sample alert to one sink now and report what it answered.
    Test {
        #[arg(long, short)]
        config: PathBuf,
        sink: String,
    },
}

pub(super) async fn open_store(config: &Config) -> Result<crate::store::Store, ExitCode> {
    if let Some(url) = &config.daemon.database {
        return crate::store::Store::connect(url.expose())
            .await
            .map_err(|error| {
                eprintln!(
                    "error: state database {}: {error}",
                    config.daemon.database_label()
                );
                ExitCode::FAILURE
            });
    }
    let path = config.daemon.database_path();
    if !path.exists() {
        eprintln!(
            "no state database at {} yet: wirewatch has not run with this config",
            path.display()
        );
        return Err(ExitCode::FAILURE);
    }
    crate::store::Store::open(&path).map_err(|error| {
        eprintln!("error: state database {}: {error}", path.display());
        ExitCode::FAILURE
    })
}

pub(super) async fn command(command: AlertsCommand) -> ExitCode {
    let now = chrono::Utc::now();
    match command {
        AlertsCommand::List {
            config,
            dead,
            since,
            limit,
        } => list(&config, dead, since.as_deref(), limit, now).await,
        AlertsCommand::Replay { config, dead, ids } => {
            replay(&config, dead, &ids, now.timestamp_millis()).await
        }
        AlertsCommand::Test { config, sink } => test(&config, &sink, now).await,
    }
}

async fn list(
    path: &Path,
    dead: bool,
    since: Option<&str>,
    limit: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> ExitCode {
    let since = match since.map(|text| parse_since(text, now)) {
        None => 0,
        Some(Ok(millis)) => millis,
        Some(Err(message)) => {
            eprintln!("--since: {message}");
            return ExitCode::FAILURE;
        }
    };
    let config = match load_config(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let store = match open_store(&config).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let rows = match store.list_alerts(dead, since, limit).await {
        Ok(rows) => rows,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{:<20}  {:<36}  {:<16}  {:<12}  {:<9}  {:>3}  TITLE / URL / LAST ERROR",
        "CREATED", "ID", "WATCHLIST", "SINK", "STATE", "TRY"
    );
    for row in &rows {
        let created = chrono::DateTime::from_timestamp_millis(row.created_at)
            .map(|time| time.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        // source-health messages belong to no watchlist and link no article
        let health = row.kind != crate::alert::ALERT_TYPE;
        let _ = writeln!(
            out,
            "{created:<20}  {:<36}  {:<16}  {:<12}  {:<9}  {:>3}  {}",
            row.alert_id,
            if health { "(health)" } else { &row.watchlist },
            row.sink,
            row.state,
            row.attempts,
            row.title
        );
        if !health {
            let _ = writeln!(out, "{:>110}{}", "", row.article_url);
        }
        let window = config.sink(&row.sink).and_then(|sink| sink.digest);
        match (&row.digest_id, row.state.as_str(), window) {
            (Some(digest), "delivered", _) => {
                let _ = writeln!(out, "{:>110}delivered in digest {digest}", "");
            }
            (Some(digest), state, _) => {
                let _ = writeln!(out, "{:>110}{state} in digest {digest}", "");
            }
            (None, "pending", Some(window)) => {
                let _ = writeln!(
                    out,
                    "{:>110}waiting for its {} digest window to close",
                    "",
                    humantime::format_duration(window)
                );
            }
            _ => {}
        }
        if let Some(error) = &row.last_error {
            let _ = writeln!(out, "{:>110}last error: {error}", "");
        }
    }
    let _ = writeln!(out, "{} row{}", rows.len(), plural(rows.len()));
    ExitCode::SUCCESS
}

async fn replay(path: &Path, dead: bool, ids: &[String], now: crate::store::Millis) -> ExitCode {
    let store = match load_config(path) {
        Ok(config) => match open_store(&config).await {
            Ok(store) => store,
            Err(code) => return code,
        },
        Err(code) => return code,
    };
    if dead {
        return match store.requeue_dead(now).await {
            Ok(count) => {
                println!(
                    "{count} dead deliver{} queued again",
                    if count == 1 { "y" } else { "ies" }
                );
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let mut failed = false;
    for id in ids {
        match store.requeue_alert(id, now).await {
            Ok(0) => {
                eprintln!("{id}: no such alert (see `wirewatch alerts list`)");
                failed = true;
            }
            Ok(count) => println!("{id}: queued again for {count} sink{}", plural(count)),
            Err(error) => {
                eprintln!("{id}: {error}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn test(path: &Path, sink: &str, now: chrono::DateTime<chrono::Utc>) -> ExitCode {
    let config = match load_config(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let Some(sink_config) = config.sink(sink) else {
        let names: Vec<&str> = config.sinks.iter().map(|s| s.name.as_str()).collect();
        eprintln!(
            "no sink named {sink:?}; defined sinks: {}",
            names.join(", ")
        );
        return ExitCode::FAILURE;
    };
    let client = match crate::sink::http_client(&config.fetch.user_agent) {
        Ok(client) => client,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let (id, payload) = match crate::alert::sample_payload(sink, now) {
        Ok(sample) => sample,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    match crate::sink::Sink::build(sink_config, &client)
        .deliver(&id, &payload, None)
        .await
    {
        crate::sink::Outcome::Delivered => {
            println!("{sink}: accepted test alert {id}");
            ExitCode::SUCCESS
        }
        crate::sink::Outcome::Retry { error, .. } => {
            eprintln!("{sink}: not accepted ({error}); wirewatch would retry this");
            ExitCode::FAILURE
        }
        crate::sink::Outcome::Permanent { error } | crate::sink::Outcome::Gone { error } => {
            eprintln!("{sink}: refused ({error}); wirewatch would not retry this");
            ExitCode::FAILURE
        }
    }
}

/// `--since`: a duration back from now ("2h") or an RFC 3339 time.
fn parse_since(text: &str, now: chrono::DateTime<chrono::Utc>) -> Result<i64, String> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.timestamp_millis());
    }
    let duration = crate::config::parse_duration(text)?;
    let duration = chrono::Duration::from_std(duration).map_err(|error| error.to_string())?;
    Ok((now - duration).timestamp_millis())
}
