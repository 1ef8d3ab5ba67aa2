//! Lenient parsing of the dates found in feeds and sitemaps, keeping the offset the publisher
//! wrote: "Tue, 14 May 2024 13:05:00 +0300" stays at +03:00 so documents can show the
//! publisher's local date.
//!
//! Accepted: RFC 3339 / ISO 8601 (with or without seconds, fraction, zone or time), RFC 2822 /
//! RFC 822 with the usual breakage (wrong or localized weekday, long or localized month names,
//! two-digit years, "1500" without a colon, "UTC", " Z", North American and a few European
//! zone names), "2020/1/10 14:33:00", dates written on web pages without a time ("Wednesday, 15
//! October 2025", "Oct. 3rd, 2025"), and Unix timestamps (UTC by definition).
//! A date without a zone, or with a zone name we do not know, stays a local wall-clock time
//! ([`PublisherTime::Local`]): inventing UTC would put a Paris entry an hour off. A source's
//! configured `timezone` is applied later, by the caller. It does not guess day/month order for
//! numeric dates like "01/02/2020" (they are rejected).

use std::sync::OnceLock;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use regex::Regex;

use crate::model::PublisherTime;

/// Parses a date as written in a feed; `None` when it cannot be read.
pub fn parse_date(text: &str) -> Option<PublisherTime> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(date) = DateTime::parse_from_rfc3339(text) {
        return Some(PublisherTime::Zoned(date));
    }
    parse_iso_like(text)
        .or_else(|| parse_rfc822_like(text))
        .or_else(|| parse_written_date(text))
        .or_else(|| parse_unix_timestamp(text))
}

// The patterns below are literals: compiling them cannot fail, and the unit tests run each.
#[allow(clippy::unwrap_used)]
fn iso_regex() -> &'static Regex {
    static REGEX: OnceLock<Regex> = OnceLock::new();
    REGEX.get_or_init(|| {
        Regex::new(
            r"(?i)^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$",
        )
        .unwrap()
    })
}

#[allow(clippy::unwrap_used)]
fn rfc822_regex() -> &'static Regex {
    static REGEX: OnceLock<Regex> = OnceLock::new();
    REGEX.get_or_init(|| {
        Regex::new(
            r"(?i)^(?:[\p{L}]+\.?,?\s+)?(\d{1,2})[\s-]+([\p{L}]+)\.?[\s-]+(\d{2}|\d{4}),?\s+(\d{1,2}):?(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*([+-]\d{2}:?\d{2}|[A-Za-z]{1,5})?\s*(?:\([^)]*\))?$",
        )
        .unwrap()
    })
}

// Dates as written on web pages, without a time: "Wednesday, 15 October 2025", "04 Mar 2016",
// "October 15, 2025", "Oct. 3rd, 2025".
#[allow(clippy::unwrap_used)]
fn written_date_regexes() -> &'static [Regex; 2] {
    static REGEXES: OnceLock<[Regex; 2]> = OnceLock::new();
    REGEXES.get_or_init(|| {
        [
            Regex::new(r"(?i)^(?:[\p{L}]+\.?,?\s+)?(\d{1,2})(?:st|nd|rd|th)?\.?\s+([\p{L}]+)\.?,?\s+(\d{4})$")
                .unwrap(),
            Regex::new(r"(?i)^(?:[\p{L}]+\.?,?\s+)?([\p{L}]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$")
                .unwrap(),
        ]
    })
}

fn parse_written_date(text: &str) -> Option<PublisherTime> {
    let [day_first, month_first] = written_date_regexes();
    let (day, month, year) = if let Some(captures) = day_first.captures(text) {
        (captures.get(1)?, captures.get(2)?, captures.get(3)?)
    } else {
        let captures = month_first.captures(text)?;
        (captures.get(2)?, captures.get(1)?, captures.get(3)?)
    };
    let date = NaiveDate::from_ymd_opt(
        year.as_str().parse().ok()?,
        month_number(month.as_str())?,
        day.as_str().parse().ok()?,
    )?;
    Some(PublisherTime::Local(date.and_time(NaiveTime::MIN)))
}

fn parse_iso_like(text: &str) -> Option<PublisherTime> {
    let captures = iso_regex().captures(text)?;
    let number = |index: usize| -> Option<u32> { captures.get(index)?.as_str().parse().ok() };
    let year = i32::try_from(number(1)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, number(2)?, number(3)?)?;
    let time = NaiveTime::from_hms_opt(
        number(4).unwrap_or(0),
        number(5).unwrap_or(0),
        number(6).unwrap_or(0),
    )?;
    match captures.get(7) {
        Some(zone) => zoned(zone_offset(zone.as_str())?, date.and_time(time)),
        None => Some(PublisherTime::Local(date.and_time(time))),
    }
}

fn parse_rfc822_like(text: &str) -> Option<PublisherTime> {
    let captures = rfc822_regex().captures(text)?;
    let number = |index: usize| -> Option<u32> { captures.get(index)?.as_str().parse().ok() };
    let month = month_number(captures.get(2)?.as_str())?;
    let mut year = i32::try_from(number(3)?).ok()?;
    if year < 100 {
        // RFC 2822's rule for obsolete two-digit years.
        year += if year < 50 { 2000 } else { 1900 };
    }
    let mut hour = number(4)?;
    let mut date = NaiveDate::from_ymd_opt(year, month, number(1)?)?;
    if hour == 24 {
        // "24:00:00" means the end of the day, i.e. midnight of the next one.
        hour = 0;
        date = date.succ_opt()?;
    }
    let time = NaiveTime::from_hms_opt(hour, number(5)?, number(6).unwrap_or(0))?;
    // An unknown zone name keeps the date as a local time: the wall-clock time is right, and
    // guessing UTC would shift it by the unknown offset (no date at all would sort it as undated).
    match captures.get(7).and_then(|zone| zone_offset(zone.as_str())) {
        Some(offset) => zoned(offset, date.and_time(time)),
        None => Some(PublisherTime::Local(date.and_time(time))),
    }
}

fn parse_unix_timestamp(text: &str) -> Option<PublisherTime> {
    if !(9..=10).contains(&text.len()) || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let seconds: i64 = text.parse().ok()?;
    Some(PublisherTime::Zoned(
        DateTime::from_timestamp(seconds, 0)?.fixed_offset(),
    ))
}

fn zoned(offset: FixedOffset, naive: NaiveDateTime) -> Option<PublisherTime> {
    offset
        .from_local_datetime(&naive)
        .single()
        .map(PublisherTime::Zoned)
}

/// Numeric offsets ("+0300", "-05:00", "+09") and the zone names seen in real feeds.
fn zone_offset(zone: &str) -> Option<FixedOffset> {
    let zone = zone.trim();
    if let Some(sign) = zone.chars().next().filter(|c| *c == '+' || *c == '-') {
        let digits: String = zone.chars().filter(char::is_ascii_digit).collect();
        let (hours, minutes) = match digits.len() {
            2 => (digits.parse::<i32>().ok()?, 0),
            4 => (
                digits.get(..2)?.parse::<i32>().ok()?,
                digits.get(2..)?.parse::<i32>().ok()?,
            ),
            _ => return None,
        };
        let seconds = (hours * 60 + minutes) * 60;
        return FixedOffset::east_opt(if sign == '-' { -seconds } else { seconds });
    }
    let hours: f32 = match zone.to_ascii_uppercase().as_str() {
        "Z" | "UT" | "UTC" | "GMT" | "WET" => 0.0,
        "BST" | "CET" | "WEST" | "MET" | "MEZ" => 1.0,
        "CEST" | "EET" | "MEST" | "MESZ" | "SAST" => 2.0,
        "EEST" | "MSK" => 3.0,
        "IST" => 5.5,
        "HKT" | "SGT" | "AWST" => 8.0,
        "JST" | "KST" => 9.0,
        "AEST" => 10.0,
        "AEDT" => 11.0,
        "NZST" => 12.0,
        "NZDT" => 13.0,
        "EDT" | "AST" => -4.0,
        "EST" | "CDT" => -5.0,
        "CST" | "MDT" => -6.0,
        "MST" | "PDT" => -7.0,
        "PST" | "AKDT" => -8.0,
        "AKST" => -9.0,
        "HST" => -10.0,
        _ => return None,
    };
    // Whole and half hours only, so the product is exact.
    FixedOffset::east_opt((hours * 3600.0) as i32)
}

/// English month names plus the abbreviations of the languages seen in feeds (pt, es, fr, de,
/// it, nl), matched on their first letters.
fn month_number(name: &str) -> Option<u32> {
    let name = name.to_lowercase();
    const MONTHS: &[(&str, u32)] = &[
        ("jan", 1),
        ("gen", 1),
        ("ene", 1),
        ("janv", 1),
        ("feb", 2),
        ("fev", 2),
        ("fév", 2),
        ("févr", 2),
        ("mar", 3),
        ("mär", 3),
        ("mrt", 3),
        ("apr", 4),
        ("abr", 4),
        ("avr", 4),
        ("may", 5),
        ("mai", 5),
        ("mei", 5),
        ("mag", 5),
        ("jun", 6),
        ("juin", 6),
        ("giu", 6),
        ("jul", 7),
        ("juil", 7),
        ("lug", 7),
        ("aug", 8),
        ("ago", 8),
        ("aoû", 8),
        ("sep", 9),
        ("set", 9),
        ("oct", 10),
        ("okt", 10),
        ("out", 10),
        ("ott", 10),
        ("nov", 11),
        ("dec", 12),
        ("dez", 12),
        ("dic", 12),
        ("déc", 12),
    ];
    // Longest prefix first so "juil" (July) wins over "jui…" lookalikes.
    MONTHS
        .iter()
        .filter(|(prefix, _)| name.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.chars().count())
        .map(|(_, month)| *month)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<&str>) {
        assert_eq!(
            parse_date(input).map(|date| date.to_record()),
            expected.map(str::to_string),
            "input: {input:?}"
        );
    }

    #[test]
    fn offsets_are_kept() {
        check(
            "Tue, 14 May 2024 13:05:00 +0300",
            Some("2024-05-14T13:05:00+03:00"),
        );
        check(
            "2024-05-14T13:05:00-04:00",
            Some("2024-05-14T13:05:00-04:00"),
        );
        check(
            "Wed, 17 Jan 2018 15:50:00 EST",
            Some("2018-01-17T15:50:00-05:00"),
        );
        check(
            "Sat, 07 Jan 2017 12:52:04 -0200",
            Some("2017-01-07T12:52:04-02:00"),
        );
        check(
            "2009-07-04T20:31:10+0200",
            Some("2009-07-04T20:31:10+02:00"),
        );
    }

    #[test]
    fn broken_rfc822_dates() {
        check(
            "Thu, 14 May 2020 10:00:18 Z",
            Some("2020-05-14T10:00:18+00:00"),
        );
        check(
            "07 Jan 2017 18:20:03 +0300",
            Some("2017-01-07T18:20:03+03:00"),
        );
        check("03 Apr 02 1500 GMT", Some("2002-04-03T15:00:00+00:00"));
        check(
            "Fri, 08 Jul 2016 13:40:00 UTC",
            Some("2016-07-08T13:40:00+00:00"),
        );
        check(
            "Seg, 24 Set 2018 19:42:40 -0300",
            Some("2018-09-24T19:42:40-03:00"),
        );
        check(
            "Wed, 25 Aug 2012 8:05:00 GMT",
            Some("2012-08-25T08:05:00+00:00"),
        );
        check(
            "Thurs, 13 July 2011 07:38:00 GMT",
            Some("2011-07-13T07:38:00+00:00"),
        );
        check(
            "Wed, 5 Nov 2025 22:21:32 EST",
            Some("2025-11-05T22:21:32-05:00"),
        );
        check(
            "Mon, 01 Jan 2018 24:00:00 +0000",
            Some("2018-01-02T00:00:00+00:00"),
        );
    }

    #[test]
    fn iso_like_dates() {
        check("2019-08-27", Some("2019-08-27T00:00:00"));
        check("2020/1/10 14:33:00", Some("2020-01-10T14:33:00"));
        check(
            "2019-10-12T07:20:50.52Z",
            Some("2019-10-12T07:20:50.520+00:00"),
        );
        check("2017-06-02T22:05", Some("2017-06-02T22:05:00"));
    }

    #[test]
    fn dates_written_on_pages() {
        check("Wednesday, 15 October 2025", Some("2025-10-15T00:00:00"));
        check("Friday,  3 October 2025", Some("2025-10-03T00:00:00"));
        check("04 Mar 2016", Some("2016-03-04T00:00:00"));
        check("October 15, 2025", Some("2025-10-15T00:00:00"));
        check("Oct. 3rd, 2025", Some("2025-10-03T00:00:00"));
        check("15. März 2024", Some("2024-03-15T00:00:00"));
        check("Smarch 15, 2025", None);
    }

    #[test]
    fn dates_without_a_zone_stay_local_never_utc() {
        // Issue 17: a Paris feed writing "2024-05-14 13:05" must not become 13:05 UTC.
        check("2024-05-14 13:05", Some("2024-05-14T13:05:00"));
        check("Tue, 14 May 2024 13:05:00", Some("2024-05-14T13:05:00"));
        check("Tue, 14 May 2024 13:05:00 XYZ", Some("2024-05-14T13:05:00"));
        assert!(matches!(
            parse_date("2024-05-14T13:05:00"),
            Some(PublisherTime::Local(_))
        ));
        assert!(matches!(
            parse_date("2024-05-14T13:05:00Z"),
            Some(PublisherTime::Zoned(_))
        ));
    }

    #[test]
    fn unix_timestamps_and_garbage() {
        check("1337712000", Some("2012-05-22T18:40:00+00:00"));
        check("", None);
        check("yesterday", None);
        check("01/02/2020", None);
        check("Tue, 31 Feb 2024 10:00:00 GMT", None);
    }
}
