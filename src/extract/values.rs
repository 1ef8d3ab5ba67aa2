//! Parsing of single metadata values: publication dates (keeping the publisher's offset), bylines
//! ("By Jane Roe | May 20, 2019" → "Jane Roe"), `<title>` clean-up, HTML entities left in
//! structured data, and Readability's text similarity.

use super::dom::clean_text;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use regex::Regex;
use std::sync::OnceLock;

/// Strips "By " style prefixes, trailing dates, and e-mail tails from a byline.
pub fn clean_author(raw: &str) -> String {
    static PREFIX: OnceLock<Option<Regex>> = OnceLock::new();
    let text = clean_text(raw);
    let Some(prefix) = PREFIX
        .get_or_init(|| {
            Regex::new(r"(?i)^(?:by\s*by|written\s+by|posted\s+by|by|von|par|por|di|door|av|af|autor:?|author:?)\s+")
                .ok()
        })
        .as_ref()
    else {
        return text;
    };
    let text = prefix.replace(&text, "");
    // A date glued to the byline ("Jane Roe May 20, 2019", "Jane Roe | 20.05.2019").
    static DATE_TAIL: OnceLock<Option<Regex>> = OnceLock::new();
    let text = match DATE_TAIL
        .get_or_init(|| {
            Regex::new(r"(?i)\s*[|,•·–—-]?\s*(?:(?:last\s+)?(?:updated|published|posted|modified)\b.*|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4}.*|\d{1,2}\.?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{4}.*|\d{1,2}[./]\d{1,2}[./]\d{2,4}.*|\d{4}-\d{2}-\d{2}.*)$")
                .ok()
        })
        .as_ref()
    {
        Some(re) => re.replace(&text, "").into_owned(),
        None => text.into_owned(),
    };
    // Social handles and e-mail addresses next to the name ("Julia Horowitz @juliakhorowitz").
    let text: String = text
        .split_whitespace()
        .filter(|word| {
            let handle = word.starts_with('@');
            let email = word.contains('@') && word.contains('.');
            !(handle || email)
        })
        .collect::<Vec<_>>()
        .join(" ");
    let text = text.trim_matches(|c: char| c == ',' || c == '|' || c == '-' || c.is_whitespace());
    text.to_string()
}

/// Parses the date formats publishers put in metadata. A value without an offset comes back at
/// offset zero with its wall-clock time as written; callers check [`has_offset`] and keep such a
/// value as a local time (`model::PublisherTime::Local`), never as UTC.
pub fn parse_date(raw: &str) -> Option<DateTime<FixedOffset>> {
    let s = raw.trim();
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt);
    }
    let with_t = s.replacen(' ', "T", 1);
    for candidate in [s, with_t.as_str()] {
        for format in [
            "%Y-%m-%dT%H:%M:%S%.f%z",
            "%Y-%m-%dT%H:%M%z",
            "%Y-%m-%dT%H:%M:%S%.f%:z",
            "%Y-%m-%dT%H:%M%:z",
        ] {
            if let Ok(dt) = DateTime::parse_from_str(candidate, format) {
                return Some(dt);
            }
        }
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
        return Some(dt);
    }
    let utc = FixedOffset::east_opt(0)?;
    let naive = s.trim_end_matches('Z');
    let naive_t = naive.replacen(' ', "T", 1);
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(&naive_t, format) {
            return utc.from_local_datetime(&dt).single();
        }
    }
    let date_part = s.get(..10).unwrap_or(s);
    for format in ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"] {
        if let Ok(date) = NaiveDate::parse_from_str(date_part, format) {
            return utc
                .from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
                .single();
        }
    }
    None
}

/// True when a date string states its UTC offset ("Z", "+03:00", "+0300", "GMT", "EST"…).
pub fn has_offset(raw: &str) -> bool {
    let s = raw.trim();
    if s.ends_with('Z') || s.ends_with('z') {
        return true;
    }
    let bytes = s.as_bytes();
    // …+hh:mm / …+hhmm / …-hh at the end, after the date part (whose own '-'s are not offsets).
    let numeric = (bytes.len().saturating_sub(6)..bytes.len()).any(|p| {
        p > 10
            && matches!(bytes[p], b'+' | b'-')
            && bytes[p + 1..]
                .iter()
                .all(|b| b.is_ascii_digit() || *b == b':')
            && bytes[p + 1..].iter().filter(|b| b.is_ascii_digit()).count() >= 2
    });
    numeric || s.contains("GMT") || s.contains("UTC") || DateTime::parse_from_rfc2822(s).is_ok()
}

/// Decodes the handful of HTML entities publishers leave inside JSON-LD and meta values.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        // Byte search: slicing the str at a fixed length could split a character.
        let window = &rest.as_bytes()[..rest.len().min(12)];
        let Some(semi) = window.iter().position(|&b| b == b';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let name = &rest[1..semi];
        let decoded = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            "rsquo" => Some('’'),
            "lsquo" => Some('‘'),
            "rdquo" => Some('”'),
            "ldquo" => Some('“'),
            "ndash" => Some('–'),
            "mdash" => Some('—'),
            "hellip" => Some('…'),
            _ => {
                let number = if let Some(hex) =
                    name.strip_prefix("#x").or_else(|| name.strip_prefix("#X"))
                {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = name.strip_prefix('#') {
                    dec.parse().ok()
                } else {
                    None
                };
                number.and_then(char::from_u32)
            }
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Readability's text similarity: the share of `b`'s word text that also occurs in `a`.
pub fn text_similarity(a: &str, b: &str) -> f64 {
    let tokens = |s: &str| -> Vec<String> {
        s.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect()
    };
    let ta = tokens(a);
    let tb = tokens(b);
    if ta.is_empty() || tb.is_empty() {
        return 0.0;
    }
    let unique_b: Vec<&String> = tb.iter().filter(|t| !ta.contains(t)).collect();
    let unique_len =
        unique_b.iter().map(|t| t.len()).sum::<usize>() + unique_b.len().saturating_sub(1);
    let total_len = tb.iter().map(|t| t.len()).sum::<usize>() + tb.len() - 1;
    1.0 - unique_len as f64 / total_len as f64
}

/// Readability's title clean-up for `<title>`: drop a " | Site" / " - Site" part when what remains
/// still looks like a headline.
pub fn clean_title_tag(title: &str, h1s: &[String], h2s: &[String]) -> String {
    let original = clean_text(title);
    let words = |s: &str| s.split_whitespace().count();
    const SEPARATORS: &[&str] = &[" | ", " - ", " – ", " — ", " \\ ", " / ", " > ", " » "];
    let has_separator = SEPARATORS.iter().any(|sep| original.contains(sep));
    let mut hierarchical = false;
    let mut current = original.clone();
    if has_separator {
        hierarchical = [" \\ ", " / ", " > ", " » "]
            .iter()
            .any(|sep| original.contains(sep));
        // Remove the last segment.
        let last = SEPARATORS
            .iter()
            .filter_map(|sep| original.rfind(sep))
            .max()
            .unwrap_or(0);
        current = original[..last].to_string();
        if words(&current) < 3 {
            // Remove the first segment instead.
            let first = SEPARATORS
                .iter()
                .filter_map(|sep| original.find(sep).map(|p| p + sep.len()))
                .min()
                .unwrap_or(0);
            current = original[first..].to_string();
        }
    } else if original.contains(": ") {
        let matches_heading = h1s.iter().chain(h2s).any(|h| clean_text(h) == original);
        if !matches_heading {
            if let Some(pos) = original.rfind(':') {
                current = original[pos + 1..].trim().to_string();
                if words(&current) < 3 {
                    if let Some(first) = original.find(':') {
                        current = original[first + 1..].trim().to_string();
                    }
                } else if original
                    .find(':')
                    .map(|p| words(&original[..p]) > 5)
                    .unwrap_or(false)
                {
                    current = original.clone();
                }
            }
        }
    } else if (original.chars().count() > 150 || original.chars().count() < 15) && h1s.len() == 1 {
        current = clean_text(&h1s[0]);
    }
    let current = clean_text(&current);
    let current_words = words(&current);
    let original_words_without_separators = original
        .split_whitespace()
        .filter(|w| !["|", "-", "–", "—", "\\", "/", ">", "»"].contains(w))
        .count();
    if current_words <= 4
        && (!hierarchical || current_words != original_words_without_separators.saturating_sub(1))
    {
        return original;
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_keep_publisher_offset() {
        let check = |raw: &str, expected: &str| {
            let parsed = parse_date(raw).map(|d| d.to_rfc3339());
            assert_eq!(parsed.as_deref(), Some(expected), "input {raw:?}");
        };
        check("2024-05-14T13:05:00+03:00", "2024-05-14T13:05:00+03:00");
        check("2024-05-14T13:05:00+0300", "2024-05-14T13:05:00+03:00");
        check(
            "2024-05-14T13:05:00.123-04:00",
            "2024-05-14T13:05:00.123-04:00",
        );
        check("2024-05-14 13:05:00 +03:00", "2024-05-14T13:05:00+03:00");
        check("2024-05-14T13:05:00Z", "2024-05-14T13:05:00+00:00");
        check("2024-05-14T13:05:00", "2024-05-14T13:05:00+00:00");
        check("2024-05-14", "2024-05-14T00:00:00+00:00");
        check(
            "Tue, 14 May 2024 13:05:00 +0300",
            "2024-05-14T13:05:00+03:00",
        );
        assert_eq!(parse_date("yesterday"), None);
        assert!(has_offset("2024-05-14T13:05:00+03:00"));
        assert!(has_offset("2024-05-14T13:05:00+0300"));
        assert!(has_offset("2024-05-14T13:05:00-05:00"));
        assert!(has_offset("2024-05-14T13:05:00Z"));
        assert!(!has_offset("2024-05-14T13:05:00"));
        assert!(!has_offset("2024-05-14"));
        assert!(has_offset("2024-05-14 13:05:00 -0500"));
        assert!(has_offset("Tue, 14 May 2024 13:05:00 GMT"));
        assert_eq!(parse_date(""), None);
    }

    #[test]
    fn title_tag_cleanup() {
        let check = |title: &str, expected: &str| {
            assert_eq!(
                clean_title_tag(title, &[], &[]),
                expected,
                "title {title:?}"
            );
        };
        check(
            "Putin to Visit China in First Foreign Trip - The Moscow Times",
            "Putin to Visit China in First Foreign Trip",
        );
        check("Short | Site", "Short | Site");
        check(
            "Site name | A much longer article headline here",
            "A much longer article headline here",
        );
    }

    #[test]
    fn author_cleanup() {
        assert_eq!(clean_author("  By  Jane Roe "), "Jane Roe");
        assert_eq!(clean_author("Par Sébastien Farcis"), "Sébastien Farcis");
        assert_eq!(clean_author("Bybee Smith"), "Bybee Smith");
        assert_eq!(clean_author("Byby JOSH HASKELL"), "JOSH HASKELL");
        assert_eq!(
            clean_author("Julia Horowitz @juliakhorowitz"),
            "Julia Horowitz"
        );
        assert_eq!(clean_author("Jane Roe jane@example.org"), "Jane Roe");
        assert_eq!(clean_author("By Joshua Sokol May 20, 2019"), "Joshua Sokol");
        assert_eq!(clean_author("Jane Roe | 20.05.2019 11:04"), "Jane Roe");
    }

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("a &amp; b &#8217; &#x41; &bogus; &"),
            "a & b ’ A &bogus; &"
        );
        // An ampersand followed by multi-byte text must not split a character.
        assert_eq!(decode_entities("&ééééééééé;"), "&ééééééééé;");
        assert_eq!(decode_entities("&é"), "&é");
    }
}
