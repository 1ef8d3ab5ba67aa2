//! Raw TOML → [`Config`], collecting every problem with its TOML path instead of stopping at the
//! first. Each table is deserialized on its own (with `serde_path_to_error` for the key that was
//! wrong), then checked for meaning: durations, URLs, query syntax, and references between tables.
//!
//! This file is the entry point and the order of the passes; `load` reads the text and collects
//! problems, `values` parses the value types the tables share, and one module per table
//! (`daemon`, `fetch`, `sources`, `sinks`, `watchlists`) checks its keys. Nothing here reads a
//! file, the network or the clock: the text and the environment lookup are arguments.

mod archive;
mod console;
mod daemon;
mod fetch;
mod load;
mod sinks;
mod sources;
mod values;
mod watchlists;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{Config, ConfigProblem, SinkConfig, SourceConfig, WatchlistConfig};
use crate::config::raw::{
    RawArchive, RawConsole, RawDaemon, RawFetch, RawSink, RawSource, RawWatchlist,
};
use load::{named_tables, section, Problems};

pub use fetch::default_user_agent;
pub use values::parse_duration;

// what the tests reach through `super::*`
#[cfg(test)]
use {
    super::{RateLimit, SinkKind, DEFAULT_RETRY},
    load::expand,
    std::time::Duration,
    values::{parse_rate_limit, parse_size},
};

const TOP_LEVEL_TABLES: &[&str] = &[
    "daemon",
    "console",
    "fetch",
    "sources",
    "watchlists",
    "sinks",
    "archive",
];

pub(super) fn parse(
    text: &str,
    base: &Path,
    environment: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Vec<ConfigProblem>> {
    let mut problems = Problems::new();
    let Some(mut table) = load::read(text, environment, &mut problems) else {
        return Err(problems.into_reported());
    };
    for key in table.keys() {
        if !TOP_LEVEL_TABLES.contains(&key.as_str()) {
            problems.add(
                key.as_str(),
                format!(
                    "unknown table, expected one of: {}",
                    TOP_LEVEL_TABLES.join(", ")
                ),
            );
        }
    }

    let daemon: RawDaemon = section(table.remove("daemon"), "daemon", &mut problems);
    let console: RawConsole = section(table.remove("console"), "console", &mut problems);
    let fetch: RawFetch = section(table.remove("fetch"), "fetch", &mut problems);
    let archive: RawArchive = section(table.remove("archive"), "archive", &mut problems);
    let raw_sources = named_tables::<RawSource>(table.remove("sources"), "sources", &mut problems);
    let raw_sinks = named_tables::<RawSink>(table.remove("sinks"), "sinks", &mut problems);
    let raw_watchlists =
        named_tables::<RawWatchlist>(table.remove("watchlists"), "watchlists", &mut problems);

    // References are checked against every table the file defines, even ones with errors of
    // their own, so one mistake is not reported twice.
    let source_names: BTreeSet<String> = raw_sources.iter().map(|(name, _)| name.clone()).collect();
    let sink_names: Vec<String> = raw_sinks.iter().map(|(name, _)| name.clone()).collect();
    let daemon = daemon::daemon_config(daemon, base, environment, &sink_names, &mut problems);
    let console = console::console_config(console, daemon.listen, &mut problems);
    let fetch = fetch::fetch_config(fetch, &mut problems);
    let archive = archive::archive_config(archive, &mut problems);
    let sources: Vec<SourceConfig> = raw_sources
        .into_iter()
        .filter_map(|(name, raw)| {
            sources::source_config(
                name,
                raw,
                &fetch,
                daemon.public_url.is_some(),
                &mut problems,
            )
        })
        .collect();
    let sinks: Vec<SinkConfig> = raw_sinks
        .into_iter()
        .filter_map(|(name, raw)| sinks::sink_config(name, raw, base, &mut problems))
        .collect();
    sinks::check_health_subjects(&daemon.health_sinks, &sinks, &mut problems);
    let watchlists: Vec<WatchlistConfig> = raw_watchlists
        .into_iter()
        .filter_map(|(name, raw)| {
            watchlists::watchlist_config(
                name,
                raw,
                (&source_names, &sink_names),
                &archive,
                &mut problems,
            )
        })
        .collect();

    let problems = problems.into_reported();
    if problems.is_empty() {
        Ok(Config {
            path: PathBuf::new(),
            hash: String::new(),
            daemon,
            console,
            fetch,
            sources,
            watchlists,
            sinks,
            archive,
        })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests;
