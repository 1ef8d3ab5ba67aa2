//! The command line: parse arguments, set up logging, hand each command to its file, and map
//! results to exit codes (0 success, 1 failure that the output explains, 2 usage errors via
//! clap). `daemon.rs` holds the commands that run or inspect the daemon (`run`, `once`, `check`,
//! `sources`), `alerts.rs` the outbox commands, `inspect.rs` the ones that look at the web
//! without a daemon (`extract`, `match`, `discover`), `archive.rs` the ones that read the article
//! archive (`match --archive`, `archive show`). No business logic lives here: the
//! commands call the same library functions the daemon uses.

mod alerts;
mod archive;
mod daemon;
mod inspect;
mod migrate;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use url::Url;

use crate::config::Config;
use alerts::AlertsCommand;
use archive::ArchiveCommand;
use inspect::{Format, Links};

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
            conflicts_with = "watchlist",
            required_unless_present = "config"
        )]
        query: Option<String>,
        /// Test every watchlist of this config (and, with --archive, read its state database).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Only this watchlist of the config.
        #[arg(long, requires = "config")]
        watchlist: Option<String>,
        /// Search the articles the daemon archived instead of inputs: one line per article that
        /// matches, newest first.
        #[arg(long, requires = "config", conflicts_with_all = ["inputs", "url"])]
        archive: bool,
        /// With --archive: only articles processed within this long ("24h", "7d").
        #[arg(long, requires = "archive")]
        since: Option<String>,
        /// Add, per watchlist, the tree of sub-expressions with their truth and why.
        #[arg(long)]
        explain: bool,
        /// The page URL of saved HTML files (`//host/path` is read as https).
        #[arg(long, value_parser = page_url_argument)]
        url: Option<Url>,
        /// The source name `source:` terms see, as the daemon gives them the configured source's
        /// name (without it, `source:` terms match nothing). With --archive: only that source's
        /// articles (each is matched with the source it came from).
        #[arg(long)]
        source: Option<String>,
        /// http(s) URLs, saved pages ("-": standard input), or saved records / alert payloads
        /// (.json). Pages are read up to fetch.max_page_size (of --config, else 5 MiB).
        #[arg(required_unless_present = "archive")]
        inputs: Vec<String>,
    },
    /// Read the article archive: `archive show ID|URL`.
    Archive {
        #[command(subcommand)]
        command: ArchiveCommand,
    },
    /// Inspect and re-send alerts in the outbox, or test a sink.
    Alerts {
        #[command(subcommand)]
        command: AlertsCommand,
    },
    /// See it work: the real pipeline against bundled feeds and pages on a local server, offline.
    Demo,
    /// Move the config's SQLite state (seen entries, validators, alerts and outbox, WebSub
    /// subscriptions) into an empty PostgreSQL database; stop wirewatch first.
    MigrateStore {
        #[arg(long, short)]
        config: PathBuf,
        /// The PostgreSQL database (postgres://user:password@host/database?sslmode=…); by
        /// default the config's daemon.database.
        #[arg(long)]
        to: Option<String>,
    },
    /// Show each source's health and schedule (last success, failures, silence, next poll).
    Sources {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Show the state database's size and the rows and bytes of each table.
    Status {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Show the instances sharing the configuration's PostgreSQL database: heartbeat, config
    /// hash and the leases each holds.
    Cluster {
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
        /// The page URL of a saved file (resolves relative links; used as a fallback canonical
        /// URL). A protocol-relative `//host/path`, as manifests and HTML carry them, is https.
        #[arg(long, value_parser = page_url_argument)]
        url: Option<Url>,
        /// http(s) URLs or files ("-": standard input), each up to 5 MiB (the daemon's default
        /// fetch.max_page_size).
        #[arg(required = true)]
        inputs: Vec<String>,
    },
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
        Command::Run { config } => runtime.block_on(daemon::run(&config)),
        Command::Once { config } => runtime.block_on(daemon::once(&config)),
        Command::Check { config } => daemon::check(&config),
        Command::Sources { config } => runtime.block_on(daemon::sources(&config)),
        Command::Status { config } => runtime.block_on(daemon::status(&config)),
        Command::MigrateStore { config, to } => {
            runtime.block_on(migrate::migrate_store(&config, to.as_deref()))
        }
        Command::Cluster { config } => runtime.block_on(daemon::cluster(&config)),
        Command::Demo => runtime.block_on(daemon::demo()),
        Command::Alerts { command } => runtime.block_on(alerts::command(command)),
        Command::Discover { url } => runtime.block_on(inspect::discover(&url)),
        Command::Match {
            query,
            config: Some(config),
            watchlist,
            archive: true,
            since,
            explain,
            source,
            ..
        } => runtime.block_on(archive::match_archive(archive::ArchiveSearch {
            config: &config,
            query,
            watchlist,
            since,
            source,
            explain,
        })),
        Command::Match {
            query,
            config,
            watchlist,
            explain,
            url,
            source,
            inputs,
            ..
        } => runtime.block_on(inspect::match_articles(
            query,
            config,
            watchlist.as_deref(),
            explain,
            url,
            source.as_deref(),
            &inputs,
        )),
        Command::Archive { command } => runtime.block_on(archive::command(command)),
        Command::Extract {
            format,
            links,
            url,
            inputs,
        } => runtime.block_on(inspect::extract(format, links, url, &inputs)),
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

fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

/// `--url`: an absolute URL, or a protocol-relative one (`//host/path`) taken as https.
fn page_url_argument(text: &str) -> Result<Url, String> {
    let text = text.trim();
    let absolute = match text.strip_prefix("//") {
        Some(rest) => format!("https://{rest}"),
        None => text.to_string(),
    };
    Url::parse(&absolute).map_err(|error| {
        format!("{error}: give the page's absolute URL, e.g. https://example.org/news/story")
    })
}
