//! How long the state database keeps what it records, pure (no clock, no I/O): the windows the
//! daemon's retention loop passes to the store's prune methods. It does not prune (the store
//! does, in batches) nor decide when (the daemon's retention loop).
//!
//! **Seen entries** are what stops a feed item from alerting twice. An entry is kept while its
//! source still lists it (every fetch records that, and a "not modified" answer counts as a
//! listing of what was listed last), and for [`seen_keep`] after the source last listed it,
//! counted up to the source's last successful poll (a source that is down or was removed from
//! the config keeps its marks). That margin is at least [`SEEN_MARGIN`] (a week), at least
//! [`LISTINGS`] times the longest poll interval any source may reach, and at least the longest
//! `max_age`. Why that is safe for a feed that drops an item and lists it again:
//! - re-listed within the margin: its mark is still there, so it is not new (no alert, not
//!   even a page fetch);
//! - re-listed later: if it is dated, it is older than the margin and so older than every
//!   source's `max_age`: recorded as seen, no alert. If it is undated (or `max_age = "none"`)
//!   and had matched, its alert is still in the database for `keep_alerts` (30 days by default)
//!   and alerts are unique per watchlist and article: the commit creates nothing.
//!
//! A second alert therefore needs an undated item that disappears from its feed for longer
//! than both the margin and `keep_alerts`, then comes back: wirewatch treats that as news again.
//!
//! **Alerts** (with their delivery rows, fingerprints and story links) are kept for
//! `[daemon] keep_alerts` after their last delivery; dead letters until they are replayed or
//! that old; an alert still pending for any sink is never pruned.

use std::time::Duration;

/// `[daemon] keep_alerts` when the config says nothing.
pub const DEFAULT_KEEP_ALERTS: Duration = Duration::from_secs(30 * 86_400);

/// The shortest `keep_alerts`: alerts are also what keeps an article from alerting twice.
pub const MIN_KEEP_ALERTS: Duration = Duration::from_secs(86_400);

/// The least time a seen entry is kept after its source stopped listing it.
pub const SEEN_MARGIN: Duration = Duration::from_secs(7 * 86_400);

/// Polls at the longest interval a dropped entry survives, so slow sources get a margin that
/// spans several of their polls.
pub const LISTINGS: u32 = 10;

/// Rows deleted per transaction: a few milliseconds of the database, so polls never wait long.
pub const PRUNE_BATCH: usize = 500;

/// How often the daemon prunes; the windows are days, so hourly is plenty.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// How long seen entries stay after their source last listed them, given each source's
/// `(max_interval, max_age)`.
pub fn seen_keep(sources: impl IntoIterator<Item = (Duration, Option<Duration>)>) -> Duration {
    sources
        .into_iter()
        .fold(SEEN_MARGIN, |keep, (max_interval, max_age)| {
            keep.max(max_interval.saturating_mul(LISTINGS))
                .max(max_age.unwrap_or_default())
        })
}

/// A duration as the store's milliseconds (saturating; durations here are at most a year).
pub fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);
    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn seen_keep_is_at_least_the_margin() {
        assert_eq!(seen_keep([]), SEEN_MARGIN);
        assert_eq!(seen_keep([(HOUR, Some(3 * DAY))]), SEEN_MARGIN);
    }

    #[test]
    fn seen_keep_spans_several_polls_of_the_slowest_source() {
        assert_eq!(seen_keep([(HOUR, None), (DAY, None)]), 10 * DAY);
    }

    #[test]
    fn seen_keep_covers_the_longest_max_age() {
        assert_eq!(seen_keep([(HOUR, Some(30 * DAY))]), 30 * DAY);
    }
}
