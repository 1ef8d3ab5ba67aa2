//! The commands that look at the web without a daemon: `extract` (an article's document),
//! `match` (which watchlists an article meets, and why) and `discover` (a site's feeds). They
//! read what the daemon would read — pages capped at fetch.max_page_size, decoded and extracted
//! by the same functions — so what they show is what the daemon would do. URLs typed here are
//! trusted like config URLs.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use url::Url;

use crate::config::FetchConfig;
use crate::daemon;
use crate::extract::render;
use crate::fetch::{Fetched, Fetcher, Origin};

use super::load_config;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum Links {
    Absolute,
    Hash,
}

pub(super) async fn extract(
    format: Format,
    links: Links,
    page_url: Option<Url>,
    inputs: &[String],
) -> ExitCode {
    let link_style = match links {
        Links::Absolute => render::LinkStyle::Absolute,
        Links::Hash => render::LinkStyle::Hash,
    };
    let fetcher = match command_line_fetcher() {
        Ok(fetcher) => fetcher,
        Err(code) => return code,
    };
    let limit = FetchConfig::defaults().max_page_size;
    let mut failed = false;
    let stdout = std::io::stdout();
    for (index, input) in inputs.iter().enumerate() {
        let page = match load_page(&fetcher, input, page_url.as_ref(), limit).await {
            Ok(page) => page,
            Err(message) => {
                eprintln!("{input}: {message}");
                failed = true;
                continue;
            }
        };
        let (bytes, content_type, url) = page;
        let article = extract_page(input, &bytes, content_type.as_deref(), &url);
        let output = match format {
            Format::Text => {
                let separator = if index > 0 { "\n" } else { "" };
                format!("{separator}{}", render::document(&article, link_style))
            }
            Format::Json => match serde_json::to_string(&render::record(&article, link_style)) {
                Ok(json) => format!("{json}\n"),
                Err(error) => {
                    eprintln!("{input}: cannot serialize the record: {error}");
                    failed = true;
                    continue;
                }
            },
        };
        let mut handle = stdout.lock();
        if handle.write_all(output.as_bytes()).is_err() {
            // stdout closed (e.g. piped into head): nothing more to do
            return if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

pub(super) async fn match_articles(
    query: Option<String>,
    config: Option<PathBuf>,
    only: Option<&str>,
    explain: bool,
    page_url: Option<Url>,
    source: Option<&str>,
    inputs: &[String],
) -> ExitCode {
    let mut limit = FetchConfig::defaults().max_page_size;
    let watchlists: Vec<(String, crate::rules::Query)> = match (query, config) {
        (Some(text), _) => match crate::rules::Query::parse(&text) {
            Ok(query) => vec![("query".to_string(), query)],
            Err(error) => {
                eprintln!("--query: {error}");
                return ExitCode::FAILURE;
            }
        },
        (None, Some(path)) => match load_config(&path) {
            Ok(config) => {
                limit = config.fetch.max_page_size;
                let chosen: Vec<_> = config
                    .watchlists
                    .iter()
                    .filter(|watchlist| only.is_none_or(|name| watchlist.name == name))
                    .map(|watchlist| (watchlist.name.clone(), watchlist.query.clone()))
                    .collect();
                if chosen.is_empty() && only.is_some() {
                    eprintln!(
                        "--watchlist: no watchlist of that name in {}",
                        path.display()
                    );
                    return ExitCode::FAILURE;
                }
                chosen
            }
            Err(code) => return code,
        },
        (None, None) => {
            eprintln!("give --query or --config");
            return ExitCode::FAILURE;
        }
    };
    let matcher =
        crate::rules::Matcher::new(watchlists.iter().map(|(_, query)| query.clone()).collect());
    let fetcher = match command_line_fetcher() {
        Ok(fetcher) => fetcher,
        Err(code) => return code,
    };
    let mut failed = false;
    for input in inputs {
        let article = match load_article(&fetcher, input, page_url.as_ref(), limit).await {
            Ok(article) => article,
            Err(message) => {
                eprintln!("{input}: {message}");
                failed = true;
                continue;
            }
        };
        let source = source.unwrap_or("");
        let (body, matches) = crate::assemble::match_article(&matcher, &article, source, &|_| true);
        let document = crate::rules::Document::of_article(&article, &body, source);
        let name = |index: usize| watchlists.get(index).map_or("", |(name, _)| name.as_str());
        let hits = hits_json(&matches, &name);
        let mut line = serde_json::json!({
            "input": input,
            "title": article.title,
            "matched": !matches.is_empty(),
            "watchlists": matches.iter().map(|found| name(found.watchlist)).collect::<Vec<_>>(),
            "hits": hits,
        });
        if explain {
            line["explain"] = watchlists
                .iter()
                .map(|(name, query)| {
                    let explanation = crate::rules::explain(query, &document);
                    serde_json::json!({ "watchlist": name, "tree": explanation, "text": explanation.to_string() })
                })
                .collect();
        }
        let mut handle = std::io::stdout().lock();
        if writeln!(handle, "{line}").is_err() {
            break;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// One object per hit of every match: the watchlist (by `name` of its index), term, field,
/// where, and the snippet.
pub(super) fn hits_json<'a>(
    matches: &[crate::rules::Match],
    name: &dyn Fn(usize) -> &'a str,
) -> Vec<serde_json::Value> {
    matches
        .iter()
        .flat_map(|found| {
            found.hits.iter().map(move |hit| {
                serde_json::json!({
                    "watchlist": name(found.watchlist), "term": hit.term, "field": hit.field,
                    "start": hit.start, "end": hit.end, "snippet": hit.snippet,
                })
            })
        })
        .collect()
}

/// An article from a URL, a saved page, or a saved record / alert payload (JSON).
async fn load_article(
    fetcher: &Fetcher,
    input: &str,
    page_url: Option<&Url>,
    limit: u64,
) -> Result<crate::model::Article, String> {
    if input.ends_with(".json") {
        // a record carries the page's text twice (body and text) plus JSON escapes
        let bytes = read_limited(
            input,
            limit.saturating_mul(4),
            "records are read up to four times fetch.max_page_size",
        )?;
        let text = String::from_utf8(bytes)
            .map_err(|error| format!("not valid JSON: not UTF-8: {error}"))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|error| format!("not valid JSON: {error}"))?;
        // an alert payload carries the record under "article"
        let record = value.get("article").cloned().unwrap_or(value);
        return serde_json::from_value(record)
            .map_err(|error| format!("not an article record (see docs/FORMAT.md): {error}"));
    }
    let (bytes, content_type, url) = load_page(fetcher, input, page_url, limit).await?;
    Ok(extract_page(input, &bytes, content_type.as_deref(), &url))
}

/// Decodes and extracts a page, telling stderr what extraction had to change to read it.
fn extract_page(
    input: &str,
    bytes: &[u8],
    content_type: Option<&str>,
    url: &Url,
) -> crate::model::Article {
    let (article, notes) = crate::assemble::article_from_page(bytes, content_type, url);
    for warning in notes.warnings() {
        eprintln!("{input}: {warning}");
    }
    article
}

/// A fetcher for URLs typed on the command line: the operator chose them, so they are trusted
/// like config URLs.
fn command_line_fetcher() -> Result<Fetcher, ExitCode> {
    let fetch_config = FetchConfig {
        allow_private_networks: true,
        ..FetchConfig::defaults()
    };
    Fetcher::new(&fetch_config).map_err(|error| {
        eprintln!("error: {error}");
        ExitCode::FAILURE
    })
}

pub(super) async fn discover(url: &Url) -> ExitCode {
    let fetcher = match command_line_fetcher() {
        Ok(fetcher) => fetcher,
        Err(code) => return code,
    };
    match daemon::find_feed::discover(&fetcher, url, 15 << 20).await {
        Ok(candidates) => {
            let chosen = candidates
                .iter()
                .position(|candidate| candidate.check.is_ok());
            for (index, candidate) in candidates.iter().enumerate() {
                let check = match &candidate.check {
                    Ok(entries) => format!("{entries} entries"),
                    Err(error) => format!("does not parse: {error}"),
                };
                let title = candidate
                    .title
                    .as_deref()
                    .map(|title| format!(" \"{title}\""))
                    .unwrap_or_default();
                let mark = if Some(index) == chosen {
                    "  ← chosen"
                } else {
                    ""
                };
                println!(
                    "{}  ({}, {check}){title}{mark}",
                    candidate.url,
                    candidate.found.describe()
                );
            }
            if chosen.is_some() {
                ExitCode::SUCCESS
            } else {
                eprintln!("no working feed found for {url}");
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}

type LoadedPage = (Vec<u8>, Option<String>, Url);

/// A page from a URL, a file or standard input ("-"), at most `limit` bytes (the daemon's
/// fetch.max_page_size), so the command holds no more than the daemon would.
async fn load_page(
    fetcher: &Fetcher,
    input: &str,
    page_url: Option<&Url>,
    limit: u64,
) -> Result<LoadedPage, String> {
    if input.starts_with("http://") || input.starts_with("https://") {
        let url = Url::parse(input).map_err(|error| format!("not a valid URL: {error}"))?;
        return match fetcher.get(&url, Origin::Config, None, limit).await {
            Ok(Fetched::Page(page)) => Ok((page.body, page.content_type, page.final_url)),
            Ok(Fetched::NotModified(_)) => Err("the server answered 304 Not Modified".to_string()),
            Err(error) => Err(error.to_string()),
        };
    }
    let bytes = read_limited(
        input,
        limit,
        "pages are read up to fetch.max_page_size as the daemon fetches them (5 MiB; \
         `match --config` uses the config's)",
    )?;
    if input == "-" {
        let url = match page_url {
            Some(url) => url.clone(),
            None => Url::parse("file:///dev/stdin")
                .map_err(|error| format!("cannot name standard input: {error}"))?,
        };
        return Ok((bytes, None, url));
    }
    let path = Path::new(input);
    let url = match page_url {
        Some(url) => url.clone(),
        None => {
            let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            Url::from_file_path(&absolute)
                .map_err(|_| "cannot turn the path into a URL; pass --url".to_string())?
        }
    };
    Ok((bytes, None, url))
}

/// Reads a file, or standard input for "-", refusing more than `limit` bytes ("input larger
/// than …; {why}"). It reads at most one byte past the limit, so an endless input
/// (`/dev/zero`, a pipe that never closes) ends too.
fn read_limited(input: &str, limit: u64, why: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let allowed = limit.saturating_add(1);
    let read = if input == "-" {
        std::io::stdin()
            .lock()
            .take(allowed)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(input).and_then(|file| file.take(allowed).read_to_end(&mut bytes))
    };
    read.map_err(|error| format!("cannot read the file: {error}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!("input larger than {}; {why}", size_text(limit)));
    }
    Ok(bytes)
}

/// "5 MiB", "512 KiB" or "1000 bytes": the largest binary unit that divides the size exactly.
fn size_text(bytes: u64) -> String {
    if bytes > 0 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes > 0 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}
