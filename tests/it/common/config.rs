//! The one config builder of the integration tests: it produces the TOML text of a wirewatch
//! config — the `[daemon]` and `[fetch]` tables, then sources, watchlists and sinks in the order
//! given, then any raw TOML for the unusual case. Table bodies are TOML text written by the test,
//! so a config reads as the file it produces. It does not check the config (the daemon does)
//! nor start anything (`command`).

use std::path::{Path, PathBuf};

/// Builds a config's text; [`ConfigBuilder::local`] is the usual start.
#[derive(Clone, Debug, Default)]
pub struct ConfigBuilder {
    daemon: Vec<(String, String)>,
    fetch: Vec<(String, String)>,
    tables: Vec<(String, String)>,
    raw: Vec<String>,
}

impl ConfigBuilder {
    /// [`ConfigBuilder::local`] polling the fixtures' `world.rss` at `base` into the
    /// `russia-china` watchlist (the seed article is its one match); sinks are the test's.
    pub fn world_russia_china(base: &str) -> ConfigBuilder {
        ConfigBuilder::local()
            .feed("world", &format!("{base}/feeds/world.rss"), "")
            .watchlist(
                "russia-china",
                "query = '(Putin OR Kremlin) AND (China OR \"Xi Jinping\")'",
            )
    }

    /// An empty `[daemon]` table and nothing else.
    pub fn new() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// What most tests want: no listener, and fetching from 127.0.0.1 allowed (the tests'
    /// "internet" is loopback).
    pub fn local() -> ConfigBuilder {
        ConfigBuilder::new()
            .daemon("listen", "\"off\"")
            .fetch("allow_private_networks", "true")
    }

    /// Sets `key = value` in `[daemon]` (`value` is TOML: `"\"state\""`, `"5"`), replacing an
    /// earlier value of that key.
    pub fn daemon(mut self, key: &str, value: &str) -> ConfigBuilder {
        set(&mut self.daemon, key, value);
        self
    }

    /// Sets `key = value` in `[fetch]`, as [`ConfigBuilder::daemon`].
    pub fn fetch(mut self, key: &str, value: &str) -> ConfigBuilder {
        set(&mut self.fetch, key, value);
        self
    }

    /// `[daemon] state_dir`.
    pub fn state_dir(self, path: &str) -> ConfigBuilder {
        self.daemon("state_dir", &quoted(path))
    }

    /// `[daemon] listen` (an address, or `off`).
    pub fn listen(self, address: &str) -> ConfigBuilder {
        self.daemon("listen", &quoted(address))
    }

    /// `[sources.NAME]` with `body` (TOML lines: `url = "…"`, …).
    pub fn source(self, name: &str, body: &str) -> ConfigBuilder {
        self.table(&format!("sources.{name}"), body)
    }

    /// `[sources.NAME]` polling `url` with `max_age = "none"` (the fixtures are old news), then
    /// the `extra` lines (`fetch_article = false`, …).
    pub fn feed(self, name: &str, url: &str, extra: &str) -> ConfigBuilder {
        self.source(
            name,
            &format!("url = {}\nmax_age = \"none\"\n{extra}", quoted(url)),
        )
    }

    /// `[sinks.NAME]`, a webhook to `url`, then the `extra` lines (`secret = …`, `retry = …`).
    pub fn webhook(self, name: &str, url: &str, extra: &str) -> ConfigBuilder {
        self.sink(
            name,
            &format!("kind = \"webhook\"\nurl = {}\n{extra}", quoted(url)),
        )
    }

    /// `[watchlists.NAME]` with `body` (`query = '…'`, …).
    pub fn watchlist(self, name: &str, body: &str) -> ConfigBuilder {
        self.table(&format!("watchlists.{name}"), body)
    }

    /// `[sinks.NAME]` with `body` (`kind = "webhook"`, …).
    pub fn sink(self, name: &str, body: &str) -> ConfigBuilder {
        self.table(&format!("sinks.{name}"), body)
    }

    /// Any other table, `[HEADER]` with `body`.
    pub fn table(mut self, header: &str, body: &str) -> ConfigBuilder {
        self.tables
            .push((header.to_string(), body.trim().to_string()));
        self
    }

    /// TOML text added at the end as it is (tables the builder has no word for, broken input).
    pub fn raw(mut self, text: &str) -> ConfigBuilder {
        self.raw.push(text.to_string());
        self
    }

    /// The config's text.
    pub fn build(&self) -> String {
        let mut text = String::from("[daemon]\n");
        push_keys(&mut text, &self.daemon);
        if !self.fetch.is_empty() {
            text.push_str("\n[fetch]\n");
            push_keys(&mut text, &self.fetch);
        }
        for (header, body) in &self.tables {
            text.push_str(&format!("\n[{header}]\n{body}\n"));
        }
        for raw in &self.raw {
            text.push('\n');
            text.push_str(raw);
            text.push('\n');
        }
        text
    }

    /// Writes the text as `folder/wirewatch.toml` and returns its path.
    pub fn write(&self, folder: &Path) -> PathBuf {
        super::write_config(folder, &self.build())
    }
}

/// A TOML basic string.
pub fn quoted(text: &str) -> String {
    format!("{text:?}")
}

fn set(keys: &mut Vec<(String, String)>, key: &str, value: &str) {
    match keys.iter_mut().find(|(name, _)| name == key) {
        Some(entry) => entry.1 = value.to_string(),
        None => keys.push((key.to_string(), value.to_string())),
    }
}

fn push_keys(text: &mut String, keys: &[(String, String)]) {
    for (key, value) in keys {
        text.push_str(&format!("{key} = {value}\n"));
    }
}
