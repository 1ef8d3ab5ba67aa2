//! wirewatch: a news-monitoring daemon. It polls news sources, fetches every new article, turns it
//! into a structured document, matches it against keyword watchlists and delivers alerts durably.
//!
//! Codemap (the pipeline runs top to bottom; see README.md "Architecture"):
//! - [`config`]: the TOML file → validated runtime configuration, every error with its TOML path.
//! - [`fetch`]: the only inbound HTTP: conditional GET, size caps, SSRF guard, per-host
//!   politeness, robots.txt.
//! - [`source`]: feed bytes → [`model::Entry`] values, and entry identity (pure).
//! - [`extract`]: HTML → [`model::Article`], and its rendering as document / record (pure).
//! - [`rules`]: watchlist query language and the compiled matcher (pure).
//! - [`similarity`]: SimHash fingerprints of bodies, for one alert per story across outlets.
//! - [`schedule`]: when to poll a source next (intervals, hints, back-off, breaker; pure).
//! - [`alert`]: the outbound alert payload (a versioned contract).
//! - [`store`]: SQLite: source validators, seen entries, alerts and their delivery outbox.
//! - [`sink`]: alert delivery targets (webhook, log); the only outbound HTTP.
//! - [`target_url`], [`template`], [`secret`]: sink settings the config checks at load (Apprise
//!   target URLs, user templates, credentials), below both `config` and `sink` (pure);
//!   [`text_safety`]: the invisible characters every message drops.
//! - [`websub`]: WebSub subscriber rules: hub discovery, push signatures, leases (pure).
//! - [`daemon`]: wiring: polling, processing, delivery loops, shutdown.
//! - [`cli`]: command-line commands; no business logic.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod alert;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod extract;
pub mod fetch;
pub mod model;
pub mod rules;
pub mod schedule;
pub mod secret;
pub mod similarity;
pub mod sink;
pub mod source;
pub mod store;
pub mod target_url;
pub mod template;
pub mod text_safety;
pub mod websub;
