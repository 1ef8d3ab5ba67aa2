//! Command-line commands (run, once, check, sources, discover, extract): parse arguments, set up logging, call into the library, and map
//! results to exit codes (0 success, 1 failure that the output explains, 2 usage errors via clap).
//! No business logic lives here.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use url::Url;

use crate::config::{Config, FetchConfig};
use crate::daemon::{self, Pipeline};
use crate::extract::{self, render};
use crate::fetch::{Fetched, Fetcher, Origin};

#[derive(Debug, Parser)]
#[command(
    name = "wirewatch",
    version,
    about = "Watch the news: poll feeds, extract articles, match watchlists, deliver alerts"
)]
struct Arguments {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon until SIGTERM or SIGINT.
    Run {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Poll every source once, process new entries, deliver what is due, and exit.
    Once {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a config file: print every error with its TOML path, or a summary.
    Check {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Test watchlists against articles: one JSON line per input with the matching watchlists
    /// and their hits; --explain says which parts of each query were true or false.
    Match {
        /// A query to test (instead of a config's watchlists).
        #[arg(
            long,
            short,
            conflicts_with = "config",
            required_unless_present = "config"
        )]
        query: Option<String>,
        /// Test every watchlist of this config.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Add, per watchlist, the tree of sub-expressions with their truth and why.
        #[arg(long)]
        explain: bool,
        /// The page URL of saved HTML files.
        #[arg(long)]
        url: Option<Url>,
        /// The source name `source:` terms see, as the daemon gives them the configured source's
        /// name (without it, `source:` terms match nothing).
        #[arg(long)]
        source: Option<String>,
        /// http(s) URLs, saved pages ("-": standard input), or saved records / alert payloads
        /// (.json). Pages are read up to fetch.max_page_size (of --config, else 5 MiB).
        #[arg(required = true)]
        inputs: Vec<String>,
    },
    /// Inspect and re-send alerts in the outbox, or test a sink.
    Alerts {
        #[command(subcommand)]
        command: AlertsCommand,
    },
    /// See it work: the real pipeline against bundled feeds and pages on a local server, offline.
    Demo,
    /// Show each source's health and schedule (last success, failures, silence, next poll).
    Sources {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Find the feed of a site: the URL itself, the feeds its page announces, or a common path.
    Discover {
        /// A homepage or any page of the site.
        url: Url,
    },
    /// Extract articles from URLs or saved pages and print their documents.
    Extract {
        /// text: the document; json: the record (one per line).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// How links are written: absolute URLs, or "#" (as in the seed document).
        #[arg(long, value_enum, default_value_t = Links::Absolute)]
        links: Links,
        /// The page URL of a saved file (resolves relative links; used as a fallback canonical URL).
        #[arg(long)]
        url: Option<Url>,
        /// http(s) URLs or files ("-": standard input), each up to 5 MiB (the daemon's default
        /// fetch.max_page_size).
        #[arg(required = true)]
        inputs: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum AlertsCommand {
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

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Links {
    Absolute,
    Hash,
}

pub fn main() -> ExitCode {
    let arguments = Arguments::parse();
    // the demo prints its own story on stdout; only problems belong on stderr
    let default_filter = if matches!(arguments.command, Command::Demo) {
        "error"
    } else {
        "info"
    };
    init_logging(arguments.log_format, default_filter);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match arguments.command {
        Command::Run { config } => runtime.block_on(run(&config)),
        Command::Once { config } => runtime.block_on(once(&config)),
        Command::Check { config } => check(&config),
        Command::Sources { config } => runtime.block_on(sources(&config)),
        Command::Discover { url } => runtime.block_on(discover(&url)),
        Command::Match {
            query,
            config,
            explain,
            url,
            source,
            inputs,
        } => runtime.block_on(match_command(
            query,
            config,
            explain,
            url,
            source.as_deref(),
            &inputs,
        )),
        Command::Alerts { command } => runtime.block_on(alerts_command(command)),
        Command::Demo => runtime.block_on(async {
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
        }),
        Command::Extract {
            format,
            links,
            url,
            inputs,
        } => runtime.block_on(extract_command(format, links, url, &inputs)),
    }
}

fn init_logging(format: LogFormat, default_filter: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("WIREWATCH_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(default_filter));
    // journald stamps every line and shows no colours: add neither when it is our stderr
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text if under_journald => builder.with_ansi(false).without_time().init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
}

fn load_config(path: &Path) -> Result<Config, ExitCode> {
    Config::load(path).map_err(|error| {
        eprint!("{error}");
        ExitCode::FAILURE
    })
}

/// Opens the state (database and lock) and builds the pipeline; the state must outlive it.
async fn start_pipeline(config: Config) -> Result<(daemon::State, Arc<Pipeline>), ExitCode> {
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

async fn run(path: &Path) -> ExitCode {
    daemon::open_files::raise();
    let config = match load_config(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let (_state, pipeline) = match start_pipeline(config).await {
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

async fn once(path: &Path) -> ExitCode {
    daemon::open_files::raise();
    let config = match load_config(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let (_state, pipeline) = match start_pipeline(config).await {
        Ok(started) => started,
        Err(code) => return code,
    };
    let database = pipeline.config.daemon.database_path();
    let summary = daemon::once(pipeline).await;
    eprintln!("{summary}");
    if summary.store_failures > 0 {
        eprintln!(
            "error: state database {}: {} write{} refused{}; what this pass found is not all recorded (alerts may be created again next time): make the database writable",
            database.display(),
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

fn check(path: &Path) -> ExitCode {
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
                config.daemon.database_path().display()
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
async fn sources(path: &Path) -> ExitCode {
    let config = match load_config(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let database = config.daemon.database_path();
    // No database yet (never run): every source shows as never polled; nothing is created.
    let store = if let Some(url) = &config.daemon.database {
        crate::store::Store::connect(url.expose()).await
    } else if database.exists() {
        crate::store::Store::open(&database)
    } else {
        crate::store::Store::open_in_memory()
    };
    let store = match store {
        Ok(store) => store,
        Err(error) => {
            eprintln!(
                "error: state database {}: {error}",
                config.daemon.database_label()
            );
            return ExitCode::FAILURE;
        }
    };
    let now = chrono::Utc::now();
    match daemon::status::source_status(&config, &store, now).await {
        Ok(rows) => {
            print!("{}", daemon::status::render_table(&rows, now));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: state database {}: {error}", database.display());
            ExitCode::FAILURE
        }
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

async fn extract_command(
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

async fn match_command(
    query: Option<String>,
    config: Option<PathBuf>,
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
                config
                    .watchlists
                    .iter()
                    .map(|watchlist| (watchlist.name.clone(), watchlist.query.clone()))
                    .collect()
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
        let body = render::body(&article);
        let document = crate::rules::Document::of_article(&article, &body, source.unwrap_or(""));
        let matches = matcher.matches(&document);
        let name = |index: usize| watchlists.get(index).map_or("", |(name, _)| name.as_str());
        let hits: Vec<serde_json::Value> = matches
            .iter()
            .flat_map(|found| {
                found.hits.iter().map(move |hit| {
                    serde_json::json!({
                        "watchlist": name(found.watchlist), "term": hit.term, "field": hit.field,
                        "start": hit.start, "end": hit.end, "snippet": hit.snippet,
                    })
                })
            })
            .collect();
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
    let html = extract::charset::decode_html(bytes, content_type);
    let (article, notes) = extract::extract_with_notes(&html, url);
    for warning in notes.warnings() {
        eprintln!("{input}: {warning}");
    }
    article
}

async fn open_store(config: &Config) -> Result<crate::store::Store, ExitCode> {
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

async fn alerts_command(command: AlertsCommand) -> ExitCode {
    let now = chrono::Utc::now();
    match command {
        AlertsCommand::List {
            config,
            dead,
            since,
            limit,
        } => {
            let since = match since.as_deref().map(|text| parse_since(text, now)) {
                None => 0,
                Some(Ok(millis)) => millis,
                Some(Err(message)) => {
                    eprintln!("--since: {message}");
                    return ExitCode::FAILURE;
                }
            };
            let config = match load_config(&config) {
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
                let _ = writeln!(
                    out,
                    "{created:<20}  {:<36}  {:<16}  {:<12}  {:<9}  {:>3}  {}",
                    row.alert_id,
                    // Health messages belong to no watchlist (stored with an empty name).
                    if row.watchlist.is_empty() {
                        "(health)"
                    } else {
                        &row.watchlist
                    },
                    row.sink,
                    row.state,
                    row.attempts,
                    row.title
                );
                if !row.article_url.starts_with("source-health:") {
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
        AlertsCommand::Replay { config, dead, ids } => {
            let store = match load_config(&config) {
                Ok(config) => match open_store(&config).await {
                    Ok(store) => store,
                    Err(code) => return code,
                },
                Err(code) => return code,
            };
            let now = now.timestamp_millis();
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
            for id in &ids {
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
        AlertsCommand::Test { config, sink } => {
            let config = match load_config(&config) {
                Ok(config) => config,
                Err(code) => return code,
            };
            let Some(sink_config) = config.sink(&sink) else {
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
            let (id, payload) = match crate::alert::sample_payload(&sink, now) {
                Ok(sample) => sample,
                Err(error) => {
                    eprintln!("error: {error}");
                    return ExitCode::FAILURE;
                }
            };
            match crate::sink::Sink::build(sink_config, &client)
                .deliver(&id, &payload)
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
                crate::sink::Outcome::Permanent { error }
                | crate::sink::Outcome::Gone { error } => {
                    eprintln!("{sink}: refused ({error}); wirewatch would not retry this");
                    ExitCode::FAILURE
                }
            }
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

async fn discover(url: &Url) -> ExitCode {
    let fetcher = match command_line_fetcher() {
        Ok(fetcher) => fetcher,
        Err(code) => return code,
    };
    match daemon::discovery::discover(&fetcher, url, 15 << 20).await {
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
