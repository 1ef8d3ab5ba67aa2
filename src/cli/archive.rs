//! The archive commands: `match --archive` (a query or a watchlist over the articles the daemon
//! archived, newest first, matched by the function the daemon matches with) and `archive show`
//! (an archived article's document or record, as `extract` prints them). They read the state
//! database of a config and never write to it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use super::alerts::open_store;
use super::inspect::{hits_json, Format};
use super::load_config;
use crate::config::Config;
use crate::extract::render::{self, LinkStyle};
use crate::rules::{Matcher, Query};
use crate::store::{ArchiveCursor, ArchivedArticle};

/// Archived rows read per page: memory stays bounded however many match.
const PAGE_ROWS: usize = 200;

#[derive(Debug, Subcommand)]
pub(super) enum ArchiveCommand {
    /// Print an archived article (by its id, canonical URL or fetched URL) as `extract` would.
    Show {
        #[arg(long, short)]
        config: PathBuf,
        /// text: the document; json: the record, with the archive's `archived` facts.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// `art_…` (as `match --archive` prints it) or the article's URL.
        article: String,
    },
}

pub(super) async fn command(command: ArchiveCommand) -> ExitCode {
    match command {
        ArchiveCommand::Show {
            config,
            format,
            article,
        } => show(&config, format, &article).await,
    }
}

/// What `match --archive` searches and with what.
pub(super) struct ArchiveSearch<'a> {
    pub config: &'a Path,
    pub query: Option<String>,
    pub watchlist: Option<String>,
    pub since: Option<String>,
    pub source: Option<String>,
    pub explain: bool,
}

pub(super) async fn match_archive(search: ArchiveSearch<'_>) -> ExitCode {
    let config = match load_config(search.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let since = match search.since.as_deref().map(crate::config::parse_duration) {
        None => 0,
        Some(Ok(window)) => chrono::Utc::now()
            .timestamp_millis()
            .saturating_sub(i64::try_from(window.as_millis()).unwrap_or(i64::MAX)),
        Some(Err(message)) => {
            eprintln!("--since: {message}");
            return ExitCode::FAILURE;
        }
    };
    let Some(watchlists) = chosen_watchlists(&config, search.query, search.watchlist.as_deref())
    else {
        return ExitCode::FAILURE;
    };
    let store = match open_store(&config).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let matcher = Matcher::new(
        watchlists
            .iter()
            .map(|(_, query, _)| query.clone())
            .collect(),
    );
    if config.archive.retention.is_none() {
        // not an error: an archive kept earlier may still be read until it is pruned
        eprintln!(
            "note: [archive] retention is \"off\" in {}: nothing new is archived",
            config.path.display()
        );
    }
    let mut cursor: Option<ArchiveCursor> = None;
    let mut stdout = std::io::stdout().lock();
    let (mut searched, mut matched) = (0usize, 0usize);
    // the tally goes to stderr, so the JSON lines on stdout stay a clean stream
    let tally = |searched: usize, matched: usize| {
        eprintln!("{matched} of {searched} archived articles matched");
        ExitCode::SUCCESS
    };
    loop {
        let page = match store
            .archive_page(since, search.source.as_deref(), cursor.as_ref(), PAGE_ROWS)
            .await
        {
            Ok(page) => page,
            Err(error) => {
                eprintln!("error: reading the archive: {error}");
                return ExitCode::FAILURE;
            }
        };
        for row in &page {
            searched += 1;
            let Some(line) = archived_match(&matcher, &watchlists, row, search.explain) else {
                continue;
            };
            matched += 1;
            if writeln!(stdout, "{line}").is_err() {
                return ExitCode::SUCCESS; // stdout closed (piped into head)
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE_ROWS => {
                cursor = Some(ArchiveCursor {
                    processed_at: last.processed_at,
                    id: last.id.clone(),
                })
            }
            _ => return tally(searched, matched),
        }
    }
}

/// (name, query, the sources it applies to) of what to search with: the query given, or one
/// watchlist of the config, or all of them. `None` after saying what was wrong.
type Chosen = Vec<(String, Query, Option<Vec<String>>)>;

fn chosen_watchlists(config: &Config, query: Option<String>, name: Option<&str>) -> Option<Chosen> {
    if let Some(text) = query {
        return match Query::parse(&text) {
            Ok(query) => Some(vec![("query".to_string(), query, None)]),
            Err(error) => {
                eprintln!("--query: {error}");
                None
            }
        };
    }
    let chosen: Chosen = config
        .watchlists
        .iter()
        .filter(|watchlist| name.is_none_or(|name| watchlist.name == name))
        .map(|watchlist| {
            (
                watchlist.name.clone(),
                watchlist.query.clone(),
                watchlist.sources.clone(),
            )
        })
        .collect();
    if let (Some(name), true) = (name, chosen.is_empty()) {
        let names: Vec<&str> = config.watchlists.iter().map(|w| w.name.as_str()).collect();
        eprintln!(
            "--watchlist: no watchlist named {name:?} in {}; its watchlists: {}",
            config.path.display(),
            names.join(", ")
        );
        return None;
    }
    Some(chosen)
}

/// The JSON line of an archived article that matched (`None`: it did not, or its record is
/// unreadable, which is said on stderr).
fn archived_match(
    matcher: &Matcher,
    watchlists: &Chosen,
    row: &ArchivedArticle,
    explain: bool,
) -> Option<serde_json::Value> {
    let article = match crate::archive::decode(&row.record) {
        Ok(article) => article,
        Err(error) => {
            eprintln!("{}: {error}", row.id);
            return None;
        }
    };
    // a watchlist limited to some sources sees only their articles, as in the daemon
    let applies = |index: usize| {
        watchlists.get(index).is_some_and(|(_, _, sources)| {
            sources
                .as_ref()
                .is_none_or(|names| names.contains(&row.source))
        })
    };
    let (body, matches) = crate::assemble::match_article(matcher, &article, &row.source, &applies);
    if matches.is_empty() {
        return None;
    }
    let name = |index: usize| {
        watchlists
            .get(index)
            .map_or("", |(name, _, _)| name.as_str())
    };
    let mut line = serde_json::json!({
        "id": row.id,
        "url": row.url,
        "fetched_url": row.fetched_url,
        "source": row.source,
        "title": article.title,
        "processed_at": processed_at_text(row.processed_at),
        "matched": true,
        "watchlists": matches.iter().map(|found| name(found.watchlist)).collect::<Vec<_>>(),
        "hits": hits_json(&matches, &name),
    });
    if explain {
        let document = crate::rules::Document::of_article(&article, &body, &row.source);
        line["explain"] = watchlists
            .iter()
            .map(|(name, query, _)| {
                let explanation = crate::rules::explain(query, &document);
                serde_json::json!({ "watchlist": name, "tree": explanation, "text": explanation.to_string() })
            })
            .collect();
    }
    Some(line)
}

/// RFC 3339 in UTC, to the millisecond.
fn processed_at_text(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

async fn show(config: &Path, format: Format, key: &str) -> ExitCode {
    let config = match load_config(config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let store = match open_store(&config).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    // a URL as typed may differ from the stored one only in what canonicalization removes
    let mut found = store.archived(key).await;
    if matches!(found, Ok(None)) && key.contains("://") {
        found = store.archived(&crate::model::canonical_url_text(key)).await;
    }
    let row = match found {
        Ok(Some(row)) => row,
        Ok(None) => {
            eprintln!(
                "{key}: not in the archive (never processed, or older than [archive] retention)"
            );
            return ExitCode::FAILURE;
        }
        Err(error) => {
            eprintln!("error: reading the archive: {error}");
            return ExitCode::FAILURE;
        }
    };
    let article = match crate::archive::decode(&row.record) {
        Ok(article) => article,
        Err(error) => {
            eprintln!("{}: {error}", row.id);
            return ExitCode::FAILURE;
        }
    };
    let output = match format {
        Format::Text => render::document(&article, LinkStyle::Absolute),
        Format::Json => {
            let mut record =
                match serde_json::to_value(render::record(&article, LinkStyle::Absolute)) {
                    Ok(record) => record,
                    Err(error) => {
                        eprintln!("{}: cannot serialize the record: {error}", row.id);
                        return ExitCode::FAILURE;
                    }
                };
            record["archived"] = serde_json::json!({
                "id": row.id,
                "source": row.source,
                "processed_at": processed_at_text(row.processed_at),
            });
            format!("{record}\n")
        }
    };
    // stdout closed (piped into head): nothing more to do
    let _ = std::io::stdout().lock().write_all(output.as_bytes());
    ExitCode::SUCCESS
}
