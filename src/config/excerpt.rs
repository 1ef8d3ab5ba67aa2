//! What `check` shows of a config line it cannot parse: a short excerpt around the error, with
//! anything that looks like a secret masked. The raw line may be thousands of characters long
//! and is often exactly the line holding a signing secret, a password or a tokenised URL, so it
//! is never echoed whole.

use std::ops::Range;

/// Characters shown of the offending line, around the error column.
pub const EXCERPT_CHARS: usize = 120;
/// Characters kept of the parser's own message.
const MESSAGE_CHARS: usize = 200;
/// Stands in for a masked value.
const REDACTED: &str = "[redacted]";

/// Keys whose values are secrets (matched as parts of the key, case-insensitively).
const SECRET_KEYS: [&str; 9] = [
    "secret",
    "password",
    "passwd",
    "token",
    "api_key",
    "apikey",
    "auth",
    "credential",
    "private_key",
];

/// `not valid TOML: TOML parse error at line L, column C: MESSAGE; the line reads: `…``, one
/// line, bounded, secrets masked.
pub fn syntax_error(text: &str, error: &toml::de::Error) -> String {
    let message = clip(&one_line(error.message()), MESSAGE_CHARS);
    let Some(span) = error.span() else {
        return format!("not valid TOML: TOML parse error: {message}");
    };
    let start = floor_boundary(text, span.start.min(text.len()));
    let line_start = text[..start].rfind('\n').map_or(0, |position| position + 1);
    let line_end = text[start..]
        .find('\n')
        .map_or(text.len(), |position| start + position);
    let line = text[line_start..line_end].trim_end_matches('\r');
    let line_number = text[..start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count();
    let (masked, masked_column) = mask(line, column);
    format!(
        "not valid TOML: TOML parse error at line {line_number}, column {}: {message}; the line reads: `{}`",
        column + 1,
        window(&masked, masked_column, EXCERPT_CHARS)
    )
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn floor_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// At most `limit` characters, an ellipsis marking a cut.
fn clip(text: &str, limit: usize) -> String {
    crate::model::clip(text, limit).into_owned()
}

/// The line with secrets masked, and where character `column` of the original now is.
fn mask(line: &str, column: usize) -> (String, usize) {
    let mut hidden: Vec<Range<usize>> = Vec::new();
    // `key = value` with a secret-looking key: the whole value goes
    if let Some(equals) = line.find('=') {
        let key = line[..equals]
            .trim()
            .trim_matches(|character| character == '"' || character == '\'')
            .to_ascii_lowercase();
        let last = key.rsplit('.').next().unwrap_or(&key);
        if SECRET_KEYS.iter().any(|word| last.contains(word)) {
            let value_start =
                equals + 1 + (line[equals + 1..].len() - line[equals + 1..].trim_start().len());
            if value_start < line.len() {
                hidden.push(value_start..line.len());
            }
        }
    }
    // signing secrets anywhere, and URLs past their host (tokens live in paths, queries and
    // user info)
    let bytes = line.as_bytes();
    for (position, _) in line.match_indices("whsec_") {
        let end = token_end(bytes, position);
        hidden.push(position..end);
    }
    for (position, _) in line.match_indices("://") {
        let host_start = position + 3;
        let end = token_end(bytes, host_start);
        let authority_end = line[host_start..end]
            .find(['/', '?', '#'])
            .map_or(end, |offset| host_start + offset);
        if let Some(at) = line[host_start..authority_end].rfind('@') {
            hidden.push(host_start..host_start + at);
        }
        if authority_end + 1 < end {
            hidden.push(authority_end + 1..end);
        }
    }
    hidden.sort_by_key(|range| range.start);
    let mut merged: Vec<Range<usize>> = Vec::new();
    for range in hidden {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    let column_byte = line
        .char_indices()
        .nth(column)
        .map_or(line.len(), |(index, _)| index);
    let mut masked = String::with_capacity(line.len().min(4096));
    let mut masked_column = None;
    let mut cursor = 0;
    for range in merged {
        if masked_column.is_none() && column_byte < range.start {
            masked_column =
                Some(masked.chars().count() + line[cursor..column_byte].chars().count());
        }
        masked.push_str(&line[cursor..range.start]);
        if masked_column.is_none() && column_byte < range.end {
            masked_column = Some(masked.chars().count());
        }
        masked.push_str(REDACTED);
        cursor = range.end;
    }
    if masked_column.is_none() {
        masked_column =
            Some(masked.chars().count() + line[cursor..column_byte.max(cursor)].chars().count());
    }
    masked.push_str(&line[cursor..]);
    (masked, masked_column.unwrap_or(0))
}

/// Where a value that starts at `start` ends: at a quote, whitespace or TOML punctuation.
fn token_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|byte| {
            matches!(
                byte,
                b'"' | b'\'' | b' ' | b'\t' | b',' | b']' | b'}' | b'\\'
            )
        })
        .map_or(bytes.len(), |offset| start + offset)
}

/// At most `limit` characters of `line` around character `column`, `…` marking cuts.
fn window(line: &str, column: usize, limit: usize) -> String {
    let count = line.chars().count();
    if count <= limit {
        return line.to_string();
    }
    let half = limit / 2;
    let start = column.saturating_sub(half).min(count - limit);
    let mut shown = String::new();
    if start > 0 {
        shown.push('…');
    }
    shown.extend(line.chars().skip(start).take(limit));
    if start + limit < count {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        let error = toml::from_str::<toml::Table>(text).unwrap_err();
        syntax_error(text, &error)
    }

    #[test]
    fn secret_value_is_masked() {
        let text =
            "[sinks.a]\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\nkind = \"webhook\"\n";
        let shown = error_of(text);
        assert!(!shown.contains("MfKQ9r8"), "{shown}");
        assert!(shown.contains("line 2"), "{shown}");
        assert!(shown.contains("secret = [redacted]"), "{shown}");
    }

    #[test]
    fn whsec_under_any_key_and_url_tokens_are_masked() {
        let (masked, _) = mask(
            "x = [\"whsec_abc123\", \"https://user:pw@hooks.example.org/T0/B1?k=2\"] oops",
            0,
        );
        assert_eq!(
            masked,
            "x = [\"[redacted]\", \"https://[redacted]@hooks.example.org/[redacted]\"] oops"
        );
    }

    #[test]
    fn long_line_is_cut_around_the_error() {
        let text = format!("[daemon]\nstate_dir = \"{}\" junk\n", "a".repeat(20_000));
        let shown = error_of(&text);
        assert!(shown.len() < 500, "{} chars", shown.len());
        assert!(shown.contains("junk"), "{shown}");
    }

    #[test]
    fn masked_column_follows_the_error() {
        let (masked, column) = mask("secret = \"whsec_zzz\" junk", 21);
        assert_eq!(masked, "secret = [redacted]");
        assert_eq!(column, "secret = ".len());
        let (masked, column) = mask("url = \"http://h/abc\" junk", 21);
        assert_eq!(masked, "url = \"http://h/[redacted]\" junk");
        assert_eq!(&masked.chars().skip(column).collect::<String>(), "junk");
    }
}
