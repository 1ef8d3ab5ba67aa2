//! `[watchlists.NAME]`: the query (or its `keywords` shorthand), compiled here so a syntax error
//! is reported with its column, and the sinks and sources it refers to.
//!
//! References are checked against every table the file defines, even ones with errors of their
//! own, so one mistake is not reported twice.

use std::collections::BTreeSet;

use std::time::Duration;

use super::load::Problems;
use super::values::{parse_duration, whole_units};
use crate::config::raw::RawWatchlist;
use crate::config::{ArchiveConfig, WatchlistConfig};
use crate::rules::Query;

pub(super) fn watchlist_config(
    name: String,
    raw: RawWatchlist,
    (source_names, sink_names): (&BTreeSet<String>, &[String]),
    archive: &ArchiveConfig,
    problems: &mut Problems,
) -> Option<WatchlistConfig> {
    let path = format!("watchlists.{name}");
    let backfill = raw
        .backfill
        .as_deref()
        .and_then(|text| backfill(text, archive, &format!("{path}.backfill"), problems));
    let query = match (&raw.query, &raw.keywords) {
        (Some(text), None) => match Query::parse(text) {
            Ok(query) => Some((text.clone(), query)),
            Err(error) => {
                problems.add(format!("{path}.query"), error.to_string());
                None
            }
        },
        (None, Some(keywords)) => {
            if keywords.iter().all(|keyword| keyword.trim().is_empty()) {
                problems.add(
                    format!("{path}.keywords"),
                    "must hold at least one non-empty keyword",
                );
                None
            } else {
                match Query::any_of(keywords) {
                    Ok(query) => Some((
                        keywords
                            .iter()
                            .map(|keyword| format!("{keyword:?}"))
                            .collect::<Vec<_>>()
                            .join(" OR "),
                        query,
                    )),
                    Err(error) => {
                        problems.add(format!("{path}.keywords"), error.to_string());
                        None
                    }
                }
            }
        }
        (Some(_), Some(_)) => {
            problems.add(
                &path,
                "has both query and keywords; keep one (keywords = [...] is shorthand for a query of ORs)",
            );
            None
        }
        (None, None) => {
            problems.add(
                &path,
                "needs a query = '…' or keywords = [\"…\"] to say what to watch for",
            );
            None
        }
    };
    let sinks = match raw.sinks {
        None => {
            if sink_names.is_empty() {
                problems.add(
                    &path,
                    "no sinks are configured to deliver its alerts to; add a [sinks.NAME] table",
                );
            }
            sink_names.to_vec()
        }
        Some(names) => {
            if names.is_empty() {
                problems.add(
                    format!("{path}.sinks"),
                    "is empty; leave it out to deliver to every sink",
                );
            }
            for (index, sink) in names.iter().enumerate() {
                if !sink_names.contains(sink) {
                    problems.add(
                        format!("{path}.sinks[{index}]"),
                        format!(
                            "no sink named {sink:?}; defined sinks: {}",
                            list(sink_names)
                        ),
                    );
                }
            }
            names
        }
    };
    if let Some(names) = &raw.sources {
        if names.is_empty() {
            problems.add(
                format!("{path}.sources"),
                "is empty; leave it out to watch every source",
            );
        }
        for (index, source) in names.iter().enumerate() {
            if !source_names.contains(source) {
                let defined: Vec<String> = source_names.iter().map(|s| s.to_string()).collect();
                problems.add(
                    format!("{path}.sources[{index}]"),
                    format!(
                        "no source named {source:?}; defined sources: {}",
                        list(&defined)
                    ),
                );
            }
        }
    }
    let (query_text, query) = query?;
    Some(WatchlistConfig {
        name,
        query_text,
        query,
        sinks,
        sources: raw.sources,
        backfill,
    })
}

/// A backfill window: a duration within the archive's retention (older articles are gone).
fn backfill(
    text: &str,
    archive: &ArchiveConfig,
    path: &str,
    problems: &mut Problems,
) -> Option<Duration> {
    let value = match parse_duration(text) {
        Ok(value) => value,
        Err(message) => {
            problems.add(path, message);
            return None;
        }
    };
    match archive.retention {
        None => {
            problems.add(
                path,
                "needs the archive, which is off ([archive] retention = \"off\"); remove backfill or set a retention",
            );
            None
        }
        Some(retention) if value > retention => {
            problems.add(
                path,
                format!(
                    "{text:?} reaches further back than [archive] retention ({}) keeps articles; shorten it or lengthen the retention",
                    whole_units(retention)
                ),
            );
            None
        }
        Some(_) => Some(value),
    }
}

pub(super) fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}
