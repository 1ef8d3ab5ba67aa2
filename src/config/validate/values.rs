//! Value parsers shared by the tables: durations with their limits, sizes, rate limits, http(s)
//! URLs and entry counts, each with an error that says what to write instead.
//!
//! The parsers are plain functions of text; the `Problems`-taking wrappers put a message at a
//! TOML path and fall back to a default so the rest of the table is still checked.

use std::time::Duration;

use url::Url;

use super::load::Problems;
use crate::config::RateLimit;

/// The longest duration any key accepts. Anything longer is a typo or an attack, and would
/// overflow the clock arithmetic of the daemon (an `Instant` a few hundred years ahead panics).
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);
/// Timeouts (fetch, connect, sink delivery): a request still unanswered after an hour is dead.
pub(super) const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// `fetch.per_host_gap`: a longer gap would starve every article of a busy host.
pub(super) const MAX_PER_HOST_GAP: Duration = Duration::from_secs(3600);
/// One retry delay, a digest window, or the `per` of a rate limit.
pub(super) const MAX_RETRY_DELAY: Duration = Duration::from_secs(7 * 24 * 3600);
pub(super) const MAX_DIGEST: Duration = Duration::from_secs(7 * 24 * 3600);
pub(super) const MAX_RATE_PERIOD: Duration = Duration::from_secs(24 * 3600);

/// A humantime duration ("90s", "5m", "3d") of at most [`MAX_DURATION`]; the error says what is
/// accepted.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    parse_duration_at_most(text, MAX_DURATION)
}

/// A humantime duration of at most `maximum`; the error names the maximum.
pub(super) fn parse_duration_at_most(text: &str, maximum: Duration) -> Result<Duration, String> {
    let value = humantime::parse_duration(text.trim()).map_err(|error| {
        format!("invalid duration {text:?} ({error}); write a number with a unit, like \"90s\", \"5m\", \"2h\" or \"3d\"")
    })?;
    if value > maximum {
        return Err(format!(
            "{text:?} is too long, the maximum is {}",
            whole_units(maximum)
        ));
    }
    Ok(value)
}

/// A limit in its largest whole unit ("365d", "1h"), as a user would write it; humantime's own
/// formatting counts in 365.25-day years and would print "365d" as months and hours.
pub(super) fn whole_units(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0 => format!("{}ms", duration.as_millis()),
        _ if seconds.is_multiple_of(86_400) => format!("{}d", seconds / 86_400),
        _ if seconds.is_multiple_of(3_600) => format!("{}h", seconds / 3_600),
        _ if seconds.is_multiple_of(60) => format!("{}m", seconds / 60),
        _ => format!("{seconds}s"),
    }
}

/// The duration at `path`: `default` when absent (or invalid, after saying so), and within
/// `minimum..=maximum`.
pub(super) fn duration(
    text: Option<&str>,
    default: Duration,
    (minimum, maximum): (Duration, Duration),
    path: &str,
    problems: &mut Problems,
) -> Duration {
    let Some(text) = text else { return default };
    match parse_duration_at_most(text, maximum) {
        Ok(value) if value < minimum => {
            problems.add(
                path,
                format!(
                    "{text:?} is too short, the minimum is {}",
                    humantime::format_duration(minimum)
                ),
            );
            default
        }
        Ok(value) => value,
        Err(message) => {
            problems.add(path, message);
            default
        }
    }
}

/// `max_entries_per_poll`: 1 to [`MAX_ENTRIES_PER_POLL`].
pub(super) fn entries_per_poll(
    value: Option<i64>,
    default: usize,
    path: &str,
    problems: &mut Problems,
) -> usize {
    let Some(value) = value else { return default };
    match usize::try_from(value) {
        Ok(count) if (1..=crate::config::MAX_ENTRIES_PER_POLL).contains(&count) => count,
        _ => {
            problems.add(
                path,
                format!(
                    "{value} is out of range: write a number of entries from 1 to {}",
                    crate::config::MAX_ENTRIES_PER_POLL
                ),
            );
            default
        }
    }
}
/// "5/2s": at most 5 deliveries in any 2 seconds; "1/s", "30/min", "100/h".
pub(super) fn parse_rate_limit(text: &str) -> Result<RateLimit, String> {
    let explain = || {
        format!("invalid rate limit {text:?}; write deliveries per time, like \"1/s\", \"5/2s\" or \"30/min\"")
    };
    let (count, per) = text.split_once('/').ok_or_else(explain)?;
    let count: u32 = count.trim().parse().map_err(|_| explain())?;
    let per = per.trim();
    // "s" and "min" alone mean one of them
    let per = if per.starts_with(|c: char| c.is_ascii_digit()) {
        per.to_string()
    } else {
        format!("1{per}")
    };
    let per = humantime::parse_duration(&per).map_err(|_| explain())?;
    if count == 0 || per.is_zero() {
        return Err(explain());
    }
    if per > MAX_RATE_PERIOD {
        return Err(format!(
            "rate limit {text:?} counts over too long a time, the maximum is {}; write it per day or shorter, like \"100/d\"",
            whole_units(MAX_RATE_PERIOD)
        ));
    }
    Ok(RateLimit { count, per })
}

/// A size like "15MiB", "512KB" or "1000000" (bytes).
pub(super) fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" => 1 << 10,
        "mb" => 1_000_000,
        "mib" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "invalid size {text:?}; write a number with an optional unit, like \"15MiB\" or \"512KB\""
            ))
        }
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|value| value.checked_mul(multiplier))
        .filter(|value| *value > 0)
        .ok_or_else(|| format!("invalid size {text:?}; write a positive number, like \"15MiB\""))
}

pub(super) fn size(text: Option<&str>, default: u64, path: &str, problems: &mut Problems) -> u64 {
    match text.map(parse_size) {
        None => default,
        Some(Ok(value)) => value,
        Some(Err(message)) => {
            problems.add(path, message);
            default
        }
    }
}
pub(super) fn http_url(text: &str, path: &str, problems: &mut Problems) -> Option<Url> {
    http_url_like(text, path, "https://example.org/feed", problems)
}

/// An absolute http(s) URL; an error shows `example` as the form to write.
pub(super) fn http_url_like(
    text: &str,
    path: &str,
    example: &str,
    problems: &mut Problems,
) -> Option<Url> {
    match Url::parse(text.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Some(url),
        Ok(url) => {
            problems.add(
                path,
                format!(
                    "{text:?} is not an http(s) URL (scheme {:?}); write it like {example:?}",
                    url.scheme()
                ),
            );
            None
        }
        Err(error) => {
            problems.add(
                path,
                format!("{text:?} is not a valid URL ({error}); write it like {example:?}"),
            );
            None
        }
    }
}

/// A webhook sink's http(s) URL. Its path and query often hold the receiver's token, so an
/// error never shows the URL itself (as `sink::masked_url` never does elsewhere).
pub(super) fn sink_http_url(text: &str, path: &str, problems: &mut Problems) -> Option<Url> {
    let example = "https://hooks.example.org/…";
    match Url::parse(text.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Some(url),
        Ok(url) => {
            problems.add(
                path,
                format!(
                    "is not an http(s) URL (scheme {:?}); write it like {example:?}",
                    url.scheme()
                ),
            );
            None
        }
        Err(error) => {
            problems.add(
                path,
                format!("is not a valid URL ({error}); write it like {example:?}"),
            );
            None
        }
    }
}
