//! Command-line commands (run, once, check, sources, discover, extract): parse arguments, set up logging, call into the library, and map
//! results to exit codes (0 success, 1 failure that the output explains, 2 usage errors via clap).
//! No business logic lives here.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;
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
        /// http(s) URLs or files.
        #[arg(required = true)]
        inputs: Vec<String>,
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
    init_logging(arguments.log_format);
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
        Command::Sources { config } => sources(&config),
        Command::Discover { url } => runtime.block_on(discover(&url)),
        Command::Extract {
            format,
            links,
            url,
            inputs,
        } => runtime.block_on(extract_command(format, links, url, &inputs)),
    }
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("WIREWATCH_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
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

fn build_pipeline(config: Config) -> Result<Arc<Pipeline>, ExitCode> {
    Pipeline::new(config).map(Arc::new).map_err(|error| {
        eprintln!("error: {error}");
        ExitCode::FAILURE
    })
}

async fn run(path: &Path) -> ExitCode {
    let pipeline = match load_config(path).and_then(build_pipeline) {
        Ok(pipeline) => pipeline,
        Err(code) => return code,
    };
    let shutdown = CancellationToken::new();
    let signals = shutdown.clone();
    tokio::spawn(async move {
        wait_for_stop_signal().await;
        signals.cancel();
    });
    daemon::run(pipeline, shutdown).await;
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => tracing::info!("SIGTERM received"),
                    _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the daemon");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn once(path: &Path) -> ExitCode {
    let pipeline = match load_config(path).and_then(build_pipeline) {
        Ok(pipeline) => pipeline,
        Err(code) => return code,
    };
    let summary = daemon::once(pipeline).await;
    eprintln!("{summary}");
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
fn sources(path: &Path) -> ExitCode {
    let config = match load_config(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let database = config.daemon.database_path();
    // No database yet (never run): every source shows as never polled; nothing is created.
    let store = if database.exists() {
        crate::store::Store::open(&database)
    } else {
        crate::store::Store::open_in_memory()
    };
    let store = match store {
        Ok(store) => store,
        Err(error) => {
            eprintln!("error: state database {}: {error}", database.display());
            return ExitCode::FAILURE;
        }
    };
    let now = chrono::Utc::now();
    match daemon::status::source_status(&config, &store, now) {
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
    let mut failed = false;
    let stdout = std::io::stdout();
    for (index, input) in inputs.iter().enumerate() {
        let page = match load_page(&fetcher, input, page_url.as_ref()).await {
            Ok(page) => page,
            Err(message) => {
                eprintln!("{input}: {message}");
                failed = true;
                continue;
            }
        };
        let (bytes, content_type, url) = page;
        let html = extract::charset::decode_html(&bytes, content_type.as_deref());
        let article = extract::extract(&html, &url);
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

async fn load_page(
    fetcher: &Fetcher,
    input: &str,
    page_url: Option<&Url>,
) -> Result<LoadedPage, String> {
    if input.starts_with("http://") || input.starts_with("https://") {
        let url = Url::parse(input).map_err(|error| format!("not a valid URL: {error}"))?;
        return match fetcher.get(&url, Origin::Config, None, 5 << 20).await {
            Ok(Fetched::Page(page)) => Ok((page.body, page.content_type, page.final_url)),
            Ok(Fetched::NotModified(_)) => Err("the server answered 304 Not Modified".to_string()),
            Err(error) => Err(error.to_string()),
        };
    }
    let path = Path::new(input);
    let bytes = std::fs::read(path).map_err(|error| format!("cannot read the file: {error}"))?;
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
