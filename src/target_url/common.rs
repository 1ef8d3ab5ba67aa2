//! Parsing helpers every scheme shares: percent-decoding, query parameters (with Apprise's
//! `+Header` marks), path segments, authorities, and the error every scheme reports.

use super::*;

pub(super) fn invalid(
    scheme: &str,
    problem: impl Into<String>,
    expected: &'static str,
) -> TargetUrlError {
    TargetUrlError::Invalid {
        scheme: scheme.to_string(),
        problem: problem.into(),
        expected,
    }
}

/// Decodes `%XX` escapes; malformed escapes stay literal, invalid UTF-8 becomes U+FFFD.
pub(crate) fn percent_decode(value: &str) -> String {
    decode_hex_escapes(value, b'%')
}

/// Decodes `MXX` escapes, where `marker` is the escape byte (`%` in URLs, `=` in
/// quoted-printable) and `XX` two hex digits; malformed escapes stay literal, invalid UTF-8
/// becomes U+FFFD.
pub fn decode_hex_escapes(value: &str, marker: u8) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let decoded = (bytes[index] == marker)
            .then(|| value.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `key=value` pairs of a query, keys lowercased unless they are `+Header` names, both decoded.
/// `+` is not turned into a space: Apprise uses it to mark header parameters.
pub(super) fn query_pairs(query: Option<&str>) -> Vec<(String, String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded = percent_decode(key);
            let key = if decoded.starts_with('+') {
                decoded
            } else {
                decoded.to_ascii_lowercase()
            };
            (key, percent_decode(value), pair.to_string())
        })
        .collect()
}

/// Splits `rest` (after `://`) into path and query, dropping any `#fragment` into the third
/// part (Apprise URLs use `/#channel` for Slack channels).
pub(super) fn split_rest(rest: &str) -> (&str, Option<&str>, Option<&str>) {
    let (before_fragment, fragment) = match rest.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (rest, None),
    };
    match before_fragment.split_once('?') {
        Some((path, query)) => (path, Some(query), fragment),
        None => (before_fragment, None, fragment),
    }
}

pub(super) fn check_parameters(
    scheme: &str,
    pairs: &[(String, String, String)],
    known: &[&str],
    accepted: &'static str,
) -> Result<(), TargetUrlError> {
    for (key, _, _) in pairs {
        if !known.contains(&key.as_str()) && !IGNORED.contains(&key.as_str()) {
            return Err(TargetUrlError::UnknownParameter {
                scheme: scheme.to_string(),
                key: key.clone(),
                accepted,
            });
        }
    }
    Ok(())
}

pub(super) fn token_chars(value: &str, extra: &[char]) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || extra.contains(&character))
}

/// Parses a URL whose authority is an ordinary `[user[:password]@]host[:port]`.
pub(super) fn parse_authority_url(
    scheme: &str,
    input: &str,
    expected: &'static str,
) -> Result<url::Url, TargetUrlError> {
    let parsed = url::Url::parse(input)
        .map_err(|error| invalid(scheme, format!("cannot be parsed ({error})"), expected))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid(scheme, "the host is missing", expected));
    }
    Ok(parsed)
}

pub(super) fn host_port(parsed: &url::Url) -> String {
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

pub(super) fn user_password(parsed: &url::Url) -> (Option<String>, Option<Secret>) {
    let user = Some(percent_decode(parsed.username())).filter(|user| !user.is_empty());
    let password = parsed
        .password()
        .map(|password| Secret::new(percent_decode(password)));
    (user, password)
}

/// Re-parses `http(s)://authority/path?query` with the URL crate's special-scheme rules, which
/// validate the host properly.
pub(super) fn http_endpoint(
    scheme: &str,
    secure: bool,
    rest: &str,
    expected: &'static str,
) -> Result<url::Url, TargetUrlError> {
    let http = if secure { "https" } else { "http" };
    url::Url::parse(&format!("{http}://{rest}"))
        .map_err(|error| invalid(scheme, format!("invalid host or path ({error})"), expected))
}

/// Path segments of a token-style URL (no host): non-empty, percent-decoded.
pub(super) fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|segment| !segment.is_empty())
        .map(percent_decode)
        .collect()
}
