//! `[archive]`: the retention of processed articles ("7d" by default, "off" to keep none). It
//! does not check a watchlist's `backfill` (the watchlist's own pass does, against this).

use std::time::Duration;

use super::load::Problems;
use super::values::parse_duration;
use crate::config::raw::RawArchive;
use crate::config::ArchiveConfig;

/// Kept when `[archive] retention` is not given: a week of articles to query and backfill from.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

pub(super) fn archive_config(raw: RawArchive, problems: &mut Problems) -> ArchiveConfig {
    let retention = match raw.retention.as_deref().map(str::trim) {
        None => Some(DEFAULT_RETENTION),
        Some("off") => None,
        Some(text) => match parse_duration(text) {
            Ok(value) if value.is_zero() => {
                problems.add(
                    "archive.retention",
                    "is zero; write \"off\" to keep no articles, or a duration like \"7d\"",
                );
                Some(DEFAULT_RETENTION)
            }
            Ok(value) => Some(value),
            Err(message) => {
                problems.add(
                    "archive.retention",
                    format!("{message}, or \"off\" to keep no articles"),
                );
                Some(DEFAULT_RETENTION)
            }
        },
    };
    ArchiveConfig { retention }
}
