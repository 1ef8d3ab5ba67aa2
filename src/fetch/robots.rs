//! robots.txt: what the fetcher may request from a site, per RFC 9309. Each site's file (scheme,
//! host and port) is fetched once and kept for a day; its rules are read by `texting_robots`,
//! which is tested against Google's interpretation and real-world files (wildcards, `$`,
//! longest-match precedence, user-agent groups) — details a small parser of our own would get
//! subtly wrong.
//!
//! Outcomes follow the RFC: 2xx → the file's rules for our product token; 4xx (no file) → all
//! allowed; 5xx or unreachable → all disallowed for a short while, then asked again. This module
//! only decides; whether a source honours robots.txt is the caller's (per-source) choice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use url::Url;

/// How long a fetched robots.txt is trusted (RFC 9309 suggests at most 24 hours).
const KEEP: Duration = Duration::from_secs(24 * 3600);
/// How long an unreachable robots.txt means "disallow everything" before it is asked again.
const KEEP_UNREACHABLE: Duration = Duration::from_secs(10 * 60);
/// RFC 9309: crawlers must parse at least 500 KiB; more is not read.
pub(super) const MAX_SIZE: u64 = 500 << 10;

pub(super) enum Rules {
    AllowAll,
    /// The server could not be asked (5xx, network error): nothing may be fetched for now.
    Unreachable(String),
    File(Box<texting_robots::Robot>),
}

impl Rules {
    /// Builds the rules from a fetched file; a file that does not parse restricts nothing.
    pub(super) fn from_file(agent: &str, body: &[u8]) -> Rules {
        match texting_robots::Robot::new(agent, body) {
            Ok(robot) => Rules::File(Box::new(robot)),
            Err(_) => Rules::AllowAll,
        }
    }

    /// `Err(reason)` when the URL may not be fetched.
    pub(super) fn check(&self, url: &Url) -> Result<(), String> {
        match self {
            Rules::AllowAll => Ok(()),
            Rules::Unreachable(error) => Err(format!(
                "robots.txt of {} could not be read ({error}), which means nothing may be fetched for now",
                origin(url)
            )),
            Rules::File(robot) if robot.allowed(url.as_str()) => Ok(()),
            Rules::File(_) => Err(format!("robots.txt of {} disallows {url}", origin(url))),
        }
    }

    fn keep(&self) -> Duration {
        match self {
            Rules::Unreachable(_) => KEEP_UNREACHABLE,
            _ => KEEP,
        }
    }
}

/// The site a URL belongs to, as robots.txt scopes it.
pub(super) fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

pub(super) fn robots_url(url: &Url) -> Option<Url> {
    let mut robots = url.clone();
    robots.set_path("/robots.txt");
    robots.set_query(None);
    robots.set_fragment(None);
    (robots.host().is_some()).then_some(robots)
}

/// Rules per site, with their expiry.
#[derive(Default)]
pub(super) struct Cache {
    sites: Mutex<HashMap<String, (Arc<Rules>, Instant)>>,
    /// One lock per site being fetched, so simultaneous requests to a new site read its
    /// robots.txt once, not once each.
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Cache {
    /// The lock to hold while fetching this site's robots.txt.
    pub(super) fn fetch_lock(&self, origin: &str) -> Arc<tokio::sync::Mutex<()>> {
        match self.fetching.lock() {
            Ok(mut fetching) => {
                if fetching.len() > 4096 {
                    fetching.retain(|_, lock| Arc::strong_count(lock) > 1);
                }
                Arc::clone(fetching.entry(origin.to_string()).or_default())
            }
            // a poisoned table only costs a duplicate fetch
            Err(_) => Arc::default(),
        }
    }

    pub(super) fn get(&self, origin: &str) -> Option<Arc<Rules>> {
        let sites = self.sites.lock().ok()?;
        let (rules, expires) = sites.get(origin)?;
        (*expires > Instant::now()).then(|| Arc::clone(rules))
    }

    pub(super) fn put(&self, origin: String, rules: Rules) -> Arc<Rules> {
        let rules = Arc::new(rules);
        if let Ok(mut sites) = self.sites.lock() {
            let now = Instant::now();
            if sites.len() > 4096 {
                sites.retain(|_, (_, expires)| *expires > now);
            }
            sites.insert(origin, (Arc::clone(&rules), now + rules.keep()));
        }
        rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_for_our_agent() {
        let file = b"User-agent: *\nDisallow: /private/\n\nUser-agent: wirewatch\nDisallow: /no-bots/\nAllow: /no-bots/news/\n";
        let rules = Rules::from_file("wirewatch", file);
        let url = |path: &str| Url::parse(&format!("https://example.org{path}")).unwrap();
        assert!(
            rules.check(&url("/private/x")).is_ok(),
            "our group replaces *"
        );
        assert!(rules.check(&url("/no-bots/x")).is_err());
        assert!(rules.check(&url("/no-bots/news/1")).is_ok());
        let error = rules.check(&url("/no-bots/x")).unwrap_err();
        assert_eq!(
            error,
            "robots.txt of https://example.org disallows https://example.org/no-bots/x"
        );
        assert!(Rules::AllowAll.check(&url("/x")).is_ok());
        assert!(Rules::Unreachable("HTTP 503".into())
            .check(&url("/x"))
            .is_err());
    }

    #[test]
    fn robots_location() {
        let url = Url::parse("https://example.org:8443/a/b?c=d#e").unwrap();
        assert_eq!(
            robots_url(&url).unwrap().as_str(),
            "https://example.org:8443/robots.txt"
        );
        assert_eq!(origin(&url), "https://example.org:8443");
    }
}
