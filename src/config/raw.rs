//! The serde mirror of the TOML file, one struct per table, unknown keys refused.
//!
//! These types only describe shape; every semantic check (durations, URLs, references between
//! tables, query syntax) happens in `config::validate`, so that all problems are reported together
//! with their TOML paths instead of stopping at the first.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDaemon {
    pub state_dir: Option<String>,
    pub database: Option<String>,
    pub listen: Option<String>,
    pub health_sinks: Option<Vec<String>>,
    pub health_failures: Option<u32>,
    pub public_url: Option<String>,
    pub instance: Option<String>,
    pub lease: Option<String>,
    pub keep_alerts: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConsole {
    pub enabled: Option<bool>,
    pub token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawArchive {
    /// How long processed articles are kept ("7d"), or "off".
    pub retention: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFetch {
    pub user_agent: Option<String>,
    pub timeout: Option<String>,
    pub allow_private_networks: Option<bool>,
    pub max_feed_size: Option<String>,
    pub max_page_size: Option<String>,
    pub connect_timeout: Option<String>,
    pub per_host_connections: Option<u32>,
    pub per_host_gap: Option<String>,
    pub min_interval: Option<String>,
    pub max_interval: Option<String>,
    pub max_backoff: Option<String>,
    pub circuit_breaker_failures: Option<u32>,
    /// New entries processed per poll of a source; the rest wait for the next poll.
    pub max_entries_per_poll: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub url: String,
    pub kind: Option<String>,
    pub interval: Option<String>,
    pub fetch_article: Option<bool>,
    pub max_age: Option<String>,
    pub min_interval: Option<String>,
    pub max_interval: Option<String>,
    pub adaptive: Option<bool>,
    pub respect_robots: Option<bool>,
    /// Subscribe to the feed's WebSub hub (default: when `[daemon] public_url` is set).
    pub websub: Option<bool>,
    /// `kind = "page"`: CSS selectors that turn a list page into entries.
    pub selectors: Option<RawSelectors>,
    /// `kind = "sitemap"`: how many of the newest URLs to consider per poll.
    pub max_entries: Option<usize>,
    /// Overrides `[fetch] max_entries_per_poll` for this source.
    pub max_entries_per_poll: Option<i64>,
    /// IANA zone ("Europe/Paris") for the source's dates written without an offset.
    pub timezone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSelectors {
    pub item: String,
    pub link: Option<String>,
    pub title: Option<String>,
    pub date: Option<String>,
    pub summary: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWatchlist {
    pub query: Option<String>,
    pub keywords: Option<Vec<String>>,
    pub sinks: Option<Vec<String>>,
    pub sources: Option<Vec<String>>,
    /// How far back into the archive a new or changed query alerts ("24h").
    pub backfill: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSink {
    pub kind: Option<String>,
    pub template: Option<String>,
    pub url: Option<String>,
    pub secret: Option<OneOrMany>,
    pub rate_limit: Option<String>,
    pub retry: Option<Vec<String>>,
    pub timeout: Option<String>,
    /// Bundle each window's alerts into one message ("1h").
    pub digest: Option<String>,
    /// `kind = "telegram"`: the Bot API server (a self-hosted one), default api.telegram.org.
    pub api_base: Option<String>,
    /// `kind = "email"` without a mailto:// URL: the SMTP submission settings.
    pub host: Option<String>,
    pub port: Option<u16>,
    pub security: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: Option<String>,
    pub to: Option<OneOrMany>,
    /// `kind = "nats"`: the subject template and an optional `.creds` file.
    pub subject: Option<String>,
    pub creds: Option<String>,
}

/// A string, or a list of strings (`secret = "whsec_…"` or `secret = ["whsec_new", "whsec_old"]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn items(&self) -> Vec<String> {
        match self {
            OneOrMany::One(item) => vec![item.clone()],
            OneOrMany::Many(items) => items.clone(),
        }
    }
}
