//! When to poll a source next: a pure function of the source's policy (interval, bounds,
//! back-off cap, circuit breaker), what the last poll said (cache headers, RSS `<ttl>`,
//! `sy:updatePeriod`, the rhythm of its entries, or the failure and its `Retry-After`), the
//! current time and a jitter value — all passed in.
//!
//! It reads no clock, draws no random numbers and does no I/O, so the whole policy is tested as
//! data tables; the daemon supplies `now` and the jitter and sleeps. It does not decide what a
//! failure *is* (the fetcher classifies errors) nor keep state (the store keeps failure counts and
//! the entry rhythm between polls).

use std::time::Duration;

use chrono::{DateTime, Utc};

/// How one source is scheduled (from its config, with the `[fetch]` defaults applied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The configured interval: the delay after a success when nothing else is known.
    pub interval: Duration,
    /// Bounds of every success delay: the adaptive interval and the publisher's hints are kept
    /// inside them. Always `min_interval <= interval <= max_interval`.
    pub min_interval: Duration,
    pub max_interval: Duration,
    /// Whether the entry rhythm may move the interval (within the bounds).
    pub adaptive: bool,
    /// Longest delay after failures; `Retry-After` is honoured up to this too.
    pub max_backoff: Duration,
    /// After this many consecutive failures the source is considered dead: polled once per
    /// `max_backoff` until it answers again.
    pub circuit_breaker_failures: u32,
}

/// The rhythm of a source's entries: the mean gap between its newest dated entries, and the date
/// of the newest one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRhythm {
    pub mean_gap: Duration,
    pub newest: DateTime<Utc>,
}

/// What a successful poll (200 or 304) said about when to come back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Freshness {
    /// `Cache-Control: max-age`, else `Expires` minus `Date`: how long the response stays fresh.
    pub lifetime: Option<Duration>,
    /// RSS `<ttl>`.
    pub ttl: Option<Duration>,
    /// `sy:updatePeriod` / `sy:updateFrequency`.
    pub update_period: Option<Duration>,
    /// Learned from the entries' dates (this poll's, or the last full poll's after a 304).
    pub rhythm: Option<EntryRhythm>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success(Freshness),
    Failure {
        /// Consecutive failures including this one (at least 1).
        failures: u32,
        retry_after: Option<Duration>,
    },
}

/// Why the delay is what it is, for logs and `wirewatch sources`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Interval,
    /// The entry rhythm moved the interval.
    Adaptive,
    /// The publisher asked for at least this long (which hint).
    Publisher(&'static str),
    Backoff,
    RetryAfter,
    /// Too many failures in a row: polled rarely until it answers.
    CircuitOpen,
}

impl Reason {
    pub fn describe(self) -> &'static str {
        match self {
            Reason::Interval => "interval",
            Reason::Adaptive => "adaptive interval (entry rhythm)",
            Reason::Publisher(hint) => hint,
            Reason::Backoff => "back-off after failure",
            Reason::RetryAfter => "Retry-After",
            Reason::CircuitOpen => "circuit open (source looks dead)",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Next {
    pub delay: Duration,
    pub reason: Reason,
}

/// The share of jitter either way: sources with equal intervals drift apart instead of polling
/// in lock-step.
const JITTER: f64 = 0.1;

/// The delay before the next poll. `jitter` is a number in `[0, 1)` (the caller draws it); it
/// moves the delay by up to ±10 %, never below an explicit `Retry-After` nor above a cap.
pub fn next_poll(policy: &Policy, outcome: &Outcome, now: DateTime<Utc>, jitter: f64) -> Next {
    let factor = 1.0 - JITTER + 2.0 * JITTER * jitter.clamp(0.0, 1.0);
    match outcome {
        Outcome::Success(freshness) => {
            let (base, mut reason) = match (policy.adaptive, freshness.rhythm) {
                (true, Some(rhythm)) => {
                    let adaptive = clamp(expected_gap(&rhythm, now) / 2, policy);
                    let reason = if adaptive == policy.interval {
                        Reason::Interval
                    } else {
                        Reason::Adaptive
                    };
                    (adaptive, reason)
                }
                _ => (policy.interval, Reason::Interval),
            };
            // Publishers' hints only ever lengthen the delay, and never past max_interval.
            let mut delay = base;
            for (hint, name) in [
                (freshness.lifetime, "Cache-Control/Expires"),
                (freshness.ttl, "RSS ttl"),
                (freshness.update_period, "sy:updatePeriod"),
            ] {
                if let Some(hint) = hint {
                    let hint = hint.min(policy.max_interval);
                    if hint > delay {
                        delay = hint;
                        reason = Reason::Publisher(name);
                    }
                }
            }
            Next {
                delay: scaled(delay, factor).min(policy.max_interval),
                reason,
            }
        }
        Outcome::Failure {
            failures,
            retry_after,
        } => {
            let cap = policy.max_backoff.max(policy.interval);
            let (backoff, reason) = if *failures >= policy.circuit_breaker_failures {
                (cap, Reason::CircuitOpen)
            } else {
                let doublings = failures.saturating_sub(1).min(20);
                (
                    policy.interval.saturating_mul(1 << doublings).min(cap),
                    Reason::Backoff,
                )
            };
            let jittered = scaled(backoff, factor).min(cap);
            match retry_after.map(|asked| asked.min(cap)) {
                Some(asked) if asked > jittered => Next {
                    delay: asked,
                    reason: Reason::RetryAfter,
                },
                _ => Next {
                    delay: jittered,
                    reason,
                },
            }
        }
    }
}

/// `delay` times `factor`, saturating: `Duration::mul_f64` panics when the product does not fit,
/// and the config bounds durations but this function must not rely on it.
fn scaled(delay: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(delay.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

fn clamp(delay: Duration, policy: &Policy) -> Duration {
    delay.clamp(policy.min_interval, policy.max_interval)
}

/// The gap a new entry is expected within now: the mean gap, or longer if the newest entry is
/// already older than that (a feed that went quiet is polled less).
pub fn expected_gap(rhythm: &EntryRhythm, now: DateTime<Utc>) -> Duration {
    let since_newest = (now - rhythm.newest).to_std().unwrap_or(Duration::ZERO);
    rhythm.mean_gap.max(since_newest)
}

/// How many of the newest dated entries the rhythm is learned from.
const RHYTHM_ENTRIES: usize = 20;

/// The rhythm of a feed from its entries' dates (any order). Needs three dated entries at
/// distinct times; dates more than a day in the future (broken clocks, scheduled posts) are
/// ignored.
pub fn entry_rhythm(
    dates: impl IntoIterator<Item = DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<EntryRhythm> {
    let limit = now + chrono::Duration::days(1);
    let mut dates: Vec<DateTime<Utc>> = dates.into_iter().filter(|date| *date <= limit).collect();
    dates.sort_unstable_by(|a, b| b.cmp(a));
    dates.truncate(RHYTHM_ENTRIES);
    let (newest, oldest) = (*dates.first()?, *dates.last()?);
    if dates.len() < 3 {
        return None;
    }
    let span = (newest - oldest).to_std().ok()?;
    let mean_gap = span / (dates.len() as u32 - 1);
    (!mean_gap.is_zero()).then_some(EntryRhythm { mean_gap, newest })
}

/// Whether a source has been silent for longer than its rhythm explains: no new entry for four
/// mean gaps (and at least a day, so a busy feed's lunch break is not news).
pub fn is_silent(rhythm: &EntryRhythm, last_new_entry: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    let silent_for = (now - last_new_entry.max(rhythm.newest))
        .to_std()
        .unwrap_or(Duration::ZERO);
    silent_for
        > rhythm
            .mean_gap
            .saturating_mul(4)
            .max(Duration::from_secs(86_400))
}

/// How long a response stays fresh: `Cache-Control: max-age` (unless `no-cache`/`no-store`),
/// else `Expires` minus `Date` (or `now` without a `Date`). An unparseable `Expires` ("0", "-1")
/// means already expired, as HTTP says.
pub fn cache_lifetime(
    cache_control: Option<&str>,
    expires: Option<&str>,
    date: Option<&str>,
    now: DateTime<Utc>,
) -> Option<Duration> {
    if let Some(cache_control) = cache_control {
        let mut max_age = None;
        for directive in cache_control.split(',') {
            let directive = directive.trim();
            let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
            match name.trim().to_ascii_lowercase().as_str() {
                "no-cache" | "no-store" => return None,
                "max-age" => max_age = value.trim().trim_matches('"').parse::<u64>().ok(),
                _ => {}
            }
        }
        if let Some(seconds) = max_age {
            return (seconds > 0).then(|| Duration::from_secs(seconds));
        }
    }
    let expires = http_date(expires?)?;
    let origin = date.and_then(http_date).unwrap_or(now);
    (expires - origin)
        .to_std()
        .ok()
        .filter(|lifetime| !lifetime.is_zero())
}

fn http_date(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(text.trim())
        .ok()
        .map(|date| date.with_timezone(&Utc))
}

/// `sy:updatePeriod` (hourly, daily, weekly, monthly, yearly) divided by `sy:updateFrequency`
/// (default 1), as the RSS 1.0 syndication module defines it.
pub fn update_period(period: &str, frequency: Option<u32>) -> Option<Duration> {
    let hours: u64 = match period.trim().to_ascii_lowercase().as_str() {
        "hourly" => 1,
        "daily" => 24,
        "weekly" => 24 * 7,
        "monthly" => 24 * 30,
        "yearly" => 24 * 365,
        _ => return None,
    };
    let frequency = frequency.filter(|frequency| *frequency > 0).unwrap_or(1);
    Some(Duration::from_secs(hours * 3600) / frequency)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn now() -> DateTime<Utc> {
        at("2024-05-14T12:00:00Z")
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn policy() -> Policy {
        Policy {
            interval: 5 * MINUTE,
            min_interval: MINUTE,
            max_interval: 60 * MINUTE,
            adaptive: true,
            max_backoff: 360 * MINUTE,
            circuit_breaker_failures: 10,
        }
    }

    fn rhythm(mean_gap_minutes: u32, newest: &str) -> Option<EntryRhythm> {
        Some(EntryRhythm {
            mean_gap: mean_gap_minutes * MINUTE,
            newest: at(newest),
        })
    }

    /// (what happened, expected delay in seconds with jitter 0.5 — i.e. none, reason)
    fn check(cases: &[(Outcome, u64, Reason)]) {
        for (outcome, seconds, reason) in cases {
            let next = next_poll(&policy(), outcome, now(), 0.5);
            assert_eq!(
                (next.delay.as_secs(), next.reason),
                (*seconds, *reason),
                "{outcome:?}"
            );
        }
    }

    fn fresh(freshness: Freshness) -> Outcome {
        Outcome::Success(freshness)
    }

    #[test]
    fn success_delays() {
        let nothing = Freshness::default();
        check(&[
            (fresh(nothing), 300, Reason::Interval),
            // a busy feed (an entry every 4 min, the last a minute ago): half the gap, ≥ 1 min
            (
                fresh(Freshness {
                    rhythm: rhythm(4, "2024-05-14T11:59:00Z"),
                    ..nothing
                }),
                120,
                Reason::Adaptive,
            ),
            (
                fresh(Freshness {
                    rhythm: rhythm(1, "2024-05-14T11:59:30Z"),
                    ..nothing
                }),
                60,
                Reason::Adaptive,
            ),
            // a quiet feed (daily), or one whose newest entry is old: up to max_interval
            (
                fresh(Freshness {
                    rhythm: rhythm(24 * 60, "2024-05-14T11:00:00Z"),
                    ..nothing
                }),
                3600,
                Reason::Adaptive,
            ),
            (
                fresh(Freshness {
                    rhythm: rhythm(4, "2024-05-13T12:00:00Z"),
                    ..nothing
                }),
                3600,
                Reason::Adaptive,
            ),
            // hints lengthen the delay, within max_interval; a short hint changes nothing
            (
                fresh(Freshness {
                    lifetime: Some(15 * MINUTE),
                    ..nothing
                }),
                900,
                Reason::Publisher("Cache-Control/Expires"),
            ),
            (
                fresh(Freshness {
                    lifetime: Some(MINUTE),
                    ..nothing
                }),
                300,
                Reason::Interval,
            ),
            (
                fresh(Freshness {
                    ttl: Some(24 * 60 * MINUTE),
                    ..nothing
                }),
                3600,
                Reason::Publisher("RSS ttl"),
            ),
            (
                fresh(Freshness {
                    update_period: Some(30 * MINUTE),
                    lifetime: Some(10 * MINUTE),
                    rhythm: rhythm(4, "2024-05-14T11:59:00Z"),
                    ..nothing
                }),
                1800,
                Reason::Publisher("sy:updatePeriod"),
            ),
        ]);
    }

    #[test]
    fn adaptive_can_be_switched_off() {
        let policy = Policy {
            adaptive: false,
            ..policy()
        };
        let outcome = fresh(Freshness {
            rhythm: rhythm(1, "2024-05-14T11:59:30Z"),
            ..Freshness::default()
        });
        assert_eq!(next_poll(&policy, &outcome, now(), 0.5).delay, 5 * MINUTE);
    }

    #[test]
    fn failure_delays() {
        let failure = |failures, retry_after| Outcome::Failure {
            failures,
            retry_after,
        };
        check(&[
            (failure(1, None), 300, Reason::Backoff),
            (failure(2, None), 600, Reason::Backoff),
            (failure(4, None), 2400, Reason::Backoff),
            (failure(8, None), 21_600, Reason::Backoff), // capped at max_backoff
            (failure(10, None), 21_600, Reason::CircuitOpen),
            (failure(500, None), 21_600, Reason::CircuitOpen),
            (failure(1, Some(30 * MINUTE)), 1800, Reason::RetryAfter),
            (failure(1, Some(MINUTE)), 300, Reason::Backoff),
            // a Retry-After beyond the cap is honoured only up to the cap
            (
                failure(1, Some(24 * 60 * MINUTE)),
                21_600,
                Reason::RetryAfter,
            ),
        ]);
    }

    #[test]
    fn jitter_spreads_within_ten_percent_but_never_undercuts_retry_after() {
        let outcome = fresh(Freshness::default());
        assert_eq!(
            next_poll(&policy(), &outcome, now(), 0.0).delay,
            270 * Duration::from_secs(1)
        );
        assert_eq!(
            next_poll(&policy(), &outcome, now(), 0.999_999)
                .delay
                .as_secs(),
            329
        );
        let asked = Outcome::Failure {
            failures: 1,
            retry_after: Some(310 * Duration::from_secs(1)),
        };
        for jitter in [0.0, 0.5, 0.99] {
            assert!(next_poll(&policy(), &asked, now(), jitter).delay >= Duration::from_secs(310));
        }
    }

    #[test]
    fn rhythm_from_dates() {
        let dates = |texts: &[&str]| texts.iter().map(|text| at(text)).collect::<Vec<_>>();
        let three = dates(&[
            "2024-05-14T10:00:00Z",
            "2024-05-14T11:00:00Z",
            "2024-05-14T09:00:00Z",
        ]);
        assert_eq!(
            entry_rhythm(three, now()),
            Some(EntryRhythm {
                mean_gap: 60 * MINUTE,
                newest: at("2024-05-14T11:00:00Z")
            })
        );
        // too few dates, all at one instant, or only future dates: nothing learned
        assert_eq!(entry_rhythm(dates(&["2024-05-14T10:00:00Z"]), now()), None);
        assert_eq!(
            entry_rhythm(dates(&["2024-05-14T10:00:00Z"; 5]), now()),
            None
        );
        assert_eq!(
            entry_rhythm(
                dates(&[
                    "2030-01-01T00:00:00Z",
                    "2030-01-02T00:00:00Z",
                    "2030-01-03T00:00:00Z"
                ]),
                now()
            ),
            None
        );
    }

    #[test]
    fn silence() {
        let hourly = rhythm(60, "2024-05-14T11:00:00Z").unwrap();
        assert!(!is_silent(&hourly, at("2024-05-14T11:00:00Z"), now()));
        let last_week = rhythm(60, "2024-05-07T11:00:00Z").unwrap();
        assert!(is_silent(&last_week, at("2024-05-07T11:00:00Z"), now()));
    }

    #[test]
    fn cache_headers() {
        let lifetime = |cache_control, expires, date| {
            cache_lifetime(cache_control, expires, date, now()).map(|d| d.as_secs())
        };
        assert_eq!(lifetime(Some("public, max-age=600"), None, None), Some(600));
        assert_eq!(lifetime(Some("max-age=\"90\""), None, None), Some(90));
        assert_eq!(lifetime(Some("no-cache, max-age=600"), None, None), None);
        assert_eq!(lifetime(Some("max-age=0"), None, None), None);
        assert_eq!(
            lifetime(
                None,
                Some("Tue, 14 May 2024 12:30:00 GMT"),
                Some("Tue, 14 May 2024 12:00:00 GMT")
            ),
            Some(1800)
        );
        assert_eq!(
            lifetime(None, Some("Tue, 14 May 2024 12:10:00 GMT"), None),
            Some(600)
        );
        assert_eq!(lifetime(None, Some("0"), None), None);
        assert_eq!(
            lifetime(None, Some("Tue, 14 May 2024 11:00:00 GMT"), None),
            None
        );
        // max-age wins over Expires
        assert_eq!(
            lifetime(
                Some("max-age=60"),
                Some("Tue, 14 May 2024 12:30:00 GMT"),
                None
            ),
            Some(60)
        );
    }

    #[test]
    fn syndication_periods() {
        assert_eq!(update_period("hourly", None), Some(60 * MINUTE));
        assert_eq!(update_period("daily", Some(4)), Some(360 * MINUTE));
        assert_eq!(
            update_period(" Weekly ", Some(0)),
            Some(7 * 24 * 60 * MINUTE)
        );
        assert_eq!(update_period("fortnightly", None), None);
    }

    /// Regression (issue 16, defect 3): `interval = "213503982334601d"` panicked in `next_poll`
    /// (`Duration::mul_f64` overflow) and killed the source's loop.
    #[test]
    fn absurd_durations_do_not_panic_next_poll() {
        let huge = Policy {
            interval: Duration::MAX,
            min_interval: Duration::MAX,
            max_interval: Duration::MAX,
            adaptive: true,
            max_backoff: Duration::MAX,
            circuit_breaker_failures: 10,
        };
        let rhythm = Some(EntryRhythm {
            mean_gap: Duration::MAX,
            newest: now(),
        });
        let hints = Freshness {
            lifetime: Some(Duration::MAX),
            ttl: Some(Duration::MAX),
            update_period: Some(Duration::MAX),
            rhythm,
        };
        for outcome in [
            Outcome::Success(Freshness::default()),
            Outcome::Success(hints),
            Outcome::Failure {
                failures: 1,
                retry_after: Some(Duration::MAX),
            },
            Outcome::Failure {
                failures: 5,
                retry_after: None,
            },
            Outcome::Failure {
                failures: u32::MAX,
                retry_after: None,
            },
        ] {
            for jitter in [0.0, 0.5, 0.999_999] {
                let next = next_poll(&huge, &outcome, now(), jitter);
                assert!(
                    next.delay > Duration::from_secs(365 * 24 * 3600),
                    "{outcome:?}"
                );
            }
        }
        let silent = EntryRhythm {
            mean_gap: Duration::MAX,
            newest: now(),
        };
        assert!(!is_silent(&silent, now(), now()));
    }
}
