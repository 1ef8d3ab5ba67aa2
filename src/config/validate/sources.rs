//! `[sources.NAME]`: the URL, the kind (feed, page with its compiled selectors, sitemap, auto),
//! the poll interval and its bounds, age limit and WebSub.
//!
//! Selectors are compiled here so a bad one is a config error, not a poll error; nothing is
//! fetched.

use std::sync::Arc;
use std::time::Duration;

use super::load::Problems;
use super::values::{duration, entries_per_poll, http_url, parse_duration, MAX_DURATION};
use crate::config::raw::RawSource;
use crate::config::{FetchConfig, SourceConfig, SourceKind};
use crate::source::page::PageSelectors;

pub(super) fn source_config(
    name: String,
    raw: RawSource,
    fetch: &FetchConfig,
    websub_available: bool,
    problems: &mut Problems,
) -> Option<SourceConfig> {
    let path = format!("sources.{name}");
    let url = http_url(&raw.url, &format!("{path}.url"), problems);
    let kind_name = raw.kind.as_deref().unwrap_or("feed");
    if raw.selectors.is_some() && kind_name != "page" {
        problems.add(
            format!("{path}.selectors"),
            "only sources of kind = \"page\" take selectors",
        );
    }
    if raw.max_entries.is_some() && kind_name != "sitemap" {
        problems.add(
            format!("{path}.max_entries"),
            "only sources of kind = \"sitemap\" take max_entries",
        );
    }
    let kind = match kind_name {
        "feed" => Some(SourceKind::Feed),
        "auto" => Some(SourceKind::Auto),
        "sitemap" => match raw.max_entries {
            None => Some(SourceKind::Sitemap { max_entries: 100 }),
            Some(count) if (1..=50_000).contains(&count) => {
                Some(SourceKind::Sitemap { max_entries: count })
            }
            Some(_) => {
                problems.add(
                    format!("{path}.max_entries"),
                    "must be between 1 and 50000 (a sitemap holds at most 50000 URLs)",
                );
                None
            }
        },
        "page" => match &raw.selectors {
            None => {
                problems.add(
                    format!("{path}.selectors"),
                    "missing: a page source needs selectors = { item = \"CSS selector of one story\" } (link, title, date and summary are optional)",
                );
                None
            }
            Some(selectors) => {
                let selectors = PageSelectors {
                    item: selectors.item.clone(),
                    link: selectors.link.clone(),
                    title: selectors.title.clone(),
                    date: selectors.date.clone(),
                    summary: selectors.summary.clone(),
                };
                match crate::source::page::compile(&selectors) {
                    Ok(compiled) => Some(SourceKind::Page(Arc::new(compiled))),
                    Err(error) => {
                        problems.add(format!("{path}.selectors"), error.to_string());
                        None
                    }
                }
            }
        },
        other => {
            problems.add(
                format!("{path}.kind"),
                format!("unknown source kind {other:?}, expected \"feed\", \"page\", \"sitemap\" or \"auto\""),
            );
            None
        }
    };
    let interval = duration(
        raw.interval.as_deref(),
        Duration::from_secs(300),
        (Duration::from_secs(1), MAX_DURATION),
        &format!("{path}.interval"),
        problems,
    );
    let max_age = match raw.max_age.as_deref() {
        None => Some(Duration::from_secs(3 * 24 * 3600)),
        Some("none") | Some("off") => None,
        Some(text) => match parse_duration(text) {
            Ok(value) => Some(value),
            Err(message) => {
                problems.add(
                    format!("{path}.max_age"),
                    format!("{message}, or \"none\" for no limit"),
                );
                None
            }
        },
    };
    // Bounds written for this source must hold its interval; the [fetch] defaults simply widen
    // to include it, so a source polled every 10s or every day needs no extra keys.
    let min_interval = match raw.min_interval.as_deref() {
        None => fetch.min_interval.min(interval),
        Some(text) => {
            let value = duration(
                Some(text),
                interval,
                (Duration::from_secs(1), MAX_DURATION),
                &format!("{path}.min_interval"),
                problems,
            );
            if value > interval {
                problems.add(
                    format!("{path}.min_interval"),
                    format!(
                        "is longer than the interval ({}); make it at most as long",
                        humantime::format_duration(interval)
                    ),
                );
            }
            value.min(interval)
        }
    };
    let max_interval = match raw.max_interval.as_deref() {
        None => fetch.max_interval.max(interval),
        Some(text) => {
            let value = duration(
                Some(text),
                interval,
                (Duration::from_secs(1), MAX_DURATION),
                &format!("{path}.max_interval"),
                problems,
            );
            if value < interval {
                problems.add(
                    format!("{path}.max_interval"),
                    format!(
                        "is shorter than the interval ({}); make it at least as long",
                        humantime::format_duration(interval)
                    ),
                );
            }
            value.max(interval)
        }
    };
    // Hubs push feeds; a page or sitemap has no hub to subscribe to.
    let pushable = matches!(kind_name, "feed" | "auto");
    let websub = match raw.websub {
        Some(true) if !websub_available => {
            problems.add(
                format!("{path}.websub"),
                "needs [daemon] public_url, the address hubs deliver to; set it, or remove websub",
            );
            false
        }
        Some(true) if !pushable => {
            problems.add(
                format!("{path}.websub"),
                format!("only feed and auto sources can be pushed by a WebSub hub, not kind = {kind_name:?}"),
            );
            false
        }
        Some(wanted) => wanted,
        None => websub_available && pushable,
    };
    let max_entries_per_poll = entries_per_poll(
        raw.max_entries_per_poll,
        fetch.max_entries_per_poll,
        &format!("{path}.max_entries_per_poll"),
        problems,
    );
    let timezone = raw
        .timezone
        .as_deref()
        .and_then(|name| timezone(name, &format!("{path}.timezone"), problems));
    Some(SourceConfig {
        max_entries_per_poll,
        timezone,
        name,
        url: url?,
        kind: kind?,
        interval,
        fetch_article: raw.fetch_article.unwrap_or(true),
        max_age,
        min_interval,
        max_interval,
        adaptive: raw.adaptive.unwrap_or(true),
        respect_robots: raw.respect_robots.unwrap_or(true),
        websub,
    })
}

/// An IANA zone name, as in `timezone = "Europe/Paris"`. Abbreviations and fixed offsets are
/// refused: "CET" or "+01:00" ignore daylight saving, the error the setting exists to avoid.
fn timezone(name: &str, path: &str, problems: &mut Problems) -> Option<chrono_tz::Tz> {
    match name.trim().parse::<chrono_tz::Tz>() {
        Ok(zone) if name.contains('/') || name.trim() == "UTC" => Some(zone),
        _ => {
            problems.add(
                path,
                format!(
                    "{name:?} is not an IANA time zone name; write the publisher's zone as \
                     Region/City, like \"Europe/Paris\" or \"America/New_York\" (or \"UTC\")"
                ),
            );
            None
        }
    }
}
