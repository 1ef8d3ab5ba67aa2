//! `[fetch]`: the HTTP client's identity, timeouts and body caps, per-host politeness, and the
//! default poll bounds and backoff every source inherits.
//!
//! Only defaults and limits are decided here; a source's own bounds are checked in `sources`.

use std::time::Duration;

use super::load::Problems;
use super::values::{
    duration, entries_per_poll, size, MAX_DURATION, MAX_PER_HOST_GAP, MAX_TIMEOUT,
};
use crate::config::raw::RawFetch;
use crate::config::FetchConfig;

pub(super) fn fetch_config(raw: RawFetch, problems: &mut Problems) -> FetchConfig {
    let defaults = FetchConfig::defaults();
    let per_host_connections = match raw.per_host_connections {
        Some(0) => {
            problems.add(
                "fetch.per_host_connections",
                "must be at least 1 (requests in flight at once to one host)",
            );
            defaults.per_host_connections
        }
        Some(count) => count,
        None => defaults.per_host_connections,
    };
    let circuit_breaker_failures = match raw.circuit_breaker_failures {
        Some(0) => {
            problems.add(
                "fetch.circuit_breaker_failures",
                "must be at least 1 (consecutive failures before a source is polled rarely)",
            );
            defaults.circuit_breaker_failures
        }
        Some(count) => count,
        None => defaults.circuit_breaker_failures,
    };
    let min_interval = duration(
        raw.min_interval.as_deref(),
        defaults.min_interval,
        (Duration::from_secs(1), MAX_DURATION),
        "fetch.min_interval",
        problems,
    );
    let max_interval = duration(
        raw.max_interval.as_deref(),
        defaults.max_interval,
        (Duration::from_secs(1), MAX_DURATION),
        "fetch.max_interval",
        problems,
    );
    if min_interval > max_interval {
        problems.add(
            "fetch.max_interval",
            format!(
                "is shorter than fetch.min_interval ({}); make it at least as long",
                humantime::format_duration(min_interval)
            ),
        );
    }
    let user_agent = match raw.user_agent {
        Some(agent) if agent.trim().is_empty() => {
            problems.add("fetch.user_agent", "must not be empty");
            default_user_agent()
        }
        Some(agent) => agent,
        None => default_user_agent(),
    };
    let max_entries_per_poll = entries_per_poll(
        raw.max_entries_per_poll,
        defaults.max_entries_per_poll,
        "fetch.max_entries_per_poll",
        problems,
    );
    FetchConfig {
        max_entries_per_poll,
        user_agent,
        timeout: duration(
            raw.timeout.as_deref(),
            defaults.timeout,
            (Duration::from_millis(100), MAX_TIMEOUT),
            "fetch.timeout",
            problems,
        ),
        allow_private_networks: raw.allow_private_networks.unwrap_or(false),
        max_feed_size: size(
            raw.max_feed_size.as_deref(),
            15 << 20,
            "fetch.max_feed_size",
            problems,
        ),
        max_page_size: size(
            raw.max_page_size.as_deref(),
            5 << 20,
            "fetch.max_page_size",
            problems,
        ),
        connect_timeout: duration(
            raw.connect_timeout.as_deref(),
            defaults.connect_timeout,
            (Duration::from_millis(100), MAX_TIMEOUT),
            "fetch.connect_timeout",
            problems,
        ),
        per_host_connections,
        per_host_gap: duration(
            raw.per_host_gap.as_deref(),
            defaults.per_host_gap,
            (Duration::ZERO, MAX_PER_HOST_GAP),
            "fetch.per_host_gap",
            problems,
        ),
        min_interval,
        max_interval,
        max_backoff: duration(
            raw.max_backoff.as_deref(),
            defaults.max_backoff,
            (Duration::from_secs(1), MAX_DURATION),
            "fetch.max_backoff",
            problems,
        ),
        circuit_breaker_failures,
    }
}

pub fn default_user_agent() -> String {
    format!(
        "wirewatch/{} (news monitor; +https://github.com/wirewatch/wirewatch)",
        env!("CARGO_PKG_VERSION")
    )
}
