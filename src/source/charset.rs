//! Turns the raw bytes of a feed body into UTF-8 text that an XML parser can read without
//! guessing: gzip bodies are inflated, the encoding is decided (byte-order mark → XML
//! declaration → HTTP `charset` → detection), text before the XML declaration is dropped and the
//! declaration is rewritten to say `utf-8`.
//!
//! HTML pages are decoded by [`crate::extract::charset`], the one HTML decoder (article pages,
//! `page` sources and feed discovery alike).
//!
//! It deliberately does not repair mojibake that is stored in the bytes themselves (UTF-8 that was
//! once decoded as windows-1252 and re-encoded): such text is valid UTF-8 and telling it apart
//! from real "Ã©" would be a guess. It does not parse XML either; it only looks at the prolog.

use std::borrow::Cow;
use std::io::Read;
use std::sync::OnceLock;

use encoding_rs::{Encoding, REPLACEMENT, UTF_16BE, UTF_16LE, UTF_8};
use regex::bytes::Regex as BytesRegex;
use regex::Regex;

/// Inflated gzip bodies are capped so that a small "zip bomb" cannot exhaust memory; real feeds
/// are far below this.
const MAX_INFLATED_BYTES: u64 = 64 * 1024 * 1024;

/// How far into the body the XML declaration is looked for (leading comments in test fixtures
/// and a few servers' junk push it past the first bytes).
const PROLOG_WINDOW: usize = 4096;

/// Decodes a feed body to UTF-8 and rewrites its XML declaration to match.
///
/// The order of evidence is: byte-order mark (UTF-8/16/32), the XML declaration's `encoding`, the
/// HTTP `Content-Type` charset, then detection with chardetng. Declared information is not
/// trusted blindly: bytes that are valid UTF-8 are read as UTF-8 whatever a legacy label says
/// (multi-byte UTF-8 sequences almost never occur by chance in windows-1252 or ISO-8859-1
/// text), and a declared encoding that does not decode cleanly falls back to detection.
pub fn decode_xml(bytes: &[u8], content_type: Option<&str>) -> String {
    let bytes = inflate_if_gzip(bytes);
    let bytes = bytes.as_ref();
    let declared = declared_encoding(bytes).or_else(|| content_type.and_then(http_charset));
    let text = demoronize(decode_bytes(bytes, declared));
    fix_prolog(&text)
}

/// C1 control characters (U+0080–U+009F) never occur in real text; when they do, windows-1252
/// bytes were decoded as ISO-8859-1 somewhere upstream ("don\u{92}t"). Map them to the
/// characters windows-1252 puts there.
fn demoronize(text: String) -> String {
    if !text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)) {
        return text;
    }
    text.chars()
        .map(|c| match u8::try_from(u32::from(c)) {
            Ok(byte @ 0x80..=0x9f) => {
                let bytes = [byte];
                let (decoded, _had_errors) =
                    encoding_rs::WINDOWS_1252.decode_without_bom_handling(&bytes);
                decoded.chars().next().unwrap_or(c)
            }
            _ => c,
        })
        .collect()
}

/// The body itself, or its inflated bytes when it starts with the gzip magic (a server that sent
/// `Content-Encoding: gzip` the client did not undo, or a `.xml.gz` sitemap). A body that merely
/// starts like gzip but does not inflate is returned as it is.
pub fn inflate_if_gzip(bytes: &[u8]) -> Cow<'_, [u8]> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        if let Some(data) = inflate(bytes) {
            return Cow::Owned(data);
        }
    }
    Cow::Borrowed(bytes)
}

/// Inflates a gzip body. A body cut off in transit still yields the bytes before the cut (the
/// feed parser's repair can often use them); `None` when nothing could be inflated.
fn inflate(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut decoder = flate2::read::GzDecoder::new(bytes).take(MAX_INFLATED_BYTES);
    let mut out = Vec::new();
    match decoder.read_to_end(&mut out) {
        Ok(_) => Some(out),
        Err(_) if !out.is_empty() => Some(out),
        Err(_) => None,
    }
}

/// The encoding decision, without the prolog rewrite. `declared` is the label the document or
/// the server gave, already chosen by the caller's precedence.
fn decode_bytes(bytes: &[u8], declared: Option<String>) -> String {
    if let Some(text) = decode_with_bom(bytes) {
        return text;
    }
    if let Some(encoding) = sniff_utf16_without_bom(bytes) {
        let (text, _had_errors) = encoding.decode_without_bom_handling(bytes);
        return text.into_owned();
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text.to_string();
    }
    // Checked before any label: a UTF-8 body with a stray legacy byte, whatever it declares,
    // must not be re-read as windows-1252 (every accented letter would turn into mojibake).
    if mostly_utf8(bytes) {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let declared = declared.and_then(|label| Encoding::for_label(label.as_bytes()));
    match declared {
        // UTF-16 was ruled out above (no BOM, no zero-byte pattern), so a declaration saying so
        // is wrong; UTF-8 was ruled out by the validity check. WHATWG's "replacement" encoding
        // (labels like iso-2022-kr) would turn the whole body into U+FFFD.
        Some(encoding) if ![UTF_8, UTF_16LE, UTF_16BE, REPLACEMENT].contains(&encoding) => {
            if let Some(text) = encoding.decode_without_bom_handling_and_without_replacement(bytes)
            {
                return text.into_owned();
            }
            detect_and_decode(bytes)
        }
        _ => detect_and_decode(bytes),
    }
}

fn decode_with_bom(bytes: &[u8]) -> Option<String> {
    // UTF-32 first: its little-endian BOM starts with the UTF-16LE one.
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE, 0x00, 0x00]) {
        return Some(decode_utf32(rest, false));
    }
    if let Some(rest) = bytes.strip_prefix(&[0x00, 0x00, 0xFE, 0xFF]) {
        return Some(decode_utf32(rest, true));
    }
    let (encoding, bom_length) = Encoding::for_bom(bytes)?;
    let rest = bytes.get(bom_length..).unwrap_or_default();
    let (text, _had_errors) = encoding.decode_without_bom_handling(rest);
    Some(text.into_owned())
}

/// encoding_rs does not implement UTF-32 (the WHATWG standard dropped it), so it is done here.
fn decode_utf32(bytes: &[u8], big_endian: bool) -> String {
    bytes
        .chunks_exact(4)
        .map(|chunk| {
            let value = match <[u8; 4]>::try_from(chunk) {
                Ok(quad) if big_endian => u32::from_be_bytes(quad),
                Ok(quad) => u32::from_le_bytes(quad),
                // chunks_exact never yields a short chunk; a trailing partial one is dropped.
                Err(_) => u32::from(char::REPLACEMENT_CHARACTER),
            };
            char::from_u32(value).unwrap_or(char::REPLACEMENT_CHARACTER)
        })
        .collect()
}

/// UTF-16 without a BOM: XML starts with `<` (or whitespace), so ASCII markup shows up as a
/// zero byte beside every character. Count zero bytes at even and odd offsets of the head.
fn sniff_utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(512)];
    if head.len() < 8 {
        return None;
    }
    let pairs = head.len() / 2;
    let even_zeros = head.iter().step_by(2).filter(|byte| **byte == 0).count();
    let odd_zeros = head
        .iter()
        .skip(1)
        .step_by(2)
        .filter(|byte| **byte == 0)
        .count();
    if odd_zeros * 10 >= pairs * 7 && even_zeros * 10 < pairs {
        Some(UTF_16LE)
    } else if even_zeros * 10 >= pairs * 7 && odd_zeros * 10 < pairs {
        Some(UTF_16BE)
    } else {
        None
    }
}

fn declaration_regex() -> &'static BytesRegex {
    static REGEX: OnceLock<BytesRegex> = OnceLock::new();
    REGEX.get_or_init(|| {
        // A literal pattern: compiling it cannot fail, which the tests exercise.
        #[allow(clippy::unwrap_used)]
        BytesRegex::new(r#"(?i)<\?xml[^>]*?\bencoding\s*=\s*["']\s*([A-Za-z0-9._:\-]+)\s*["']"#)
            .unwrap()
    })
}

/// The `encoding` of the XML declaration, read from the ASCII-compatible head of the body.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(PROLOG_WINDOW)];
    let captures = declaration_regex().captures(head)?;
    let declaration = captures.get(0)?;
    if has_element_start(&head[..declaration.start()]) {
        // Not the document's declaration: one quoted inside content, after the root started.
        return None;
    }
    let label = captures.get(1)?;
    Some(String::from_utf8_lossy(label.as_bytes()).to_ascii_lowercase())
}

/// The `charset` parameter of a `Content-Type` header value.
fn http_charset(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("charset") {
            let value = value.trim().trim_matches(['"', '\'']).trim();
            (!value.is_empty()).then(|| value.to_ascii_lowercase())
        } else {
            None
        }
    })
}

/// A body that is UTF-8 apart from a few stray bytes (one pasted windows-1252 quote) is better
/// read as UTF-8 with replacement characters than re-guessed as a legacy encoding, which would
/// turn every real multi-byte character into mojibake. Valid multi-byte sequences rarely happen
/// by chance in legacy text (where nearly every non-ASCII byte is an invalid run), so twice as
/// many valid non-ASCII characters as invalid runs is taken as UTF-8.
fn mostly_utf8(bytes: &[u8]) -> bool {
    let mut valid_multibyte = 0usize;
    let mut invalid = 0usize;
    for chunk in bytes.utf8_chunks() {
        valid_multibyte += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        if !chunk.invalid().is_empty() {
            invalid += 1;
        }
    }
    valid_multibyte > 0 && invalid * 2 <= valid_multibyte
}

fn detect_and_decode(bytes: &[u8]) -> String {
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    let encoding = detector.guess(None, false);
    let (text, _had_errors) = encoding.decode_without_bom_handling(bytes);
    text.into_owned()
}

fn prolog_regex() -> &'static Regex {
    static REGEX: OnceLock<Regex> = OnceLock::new();
    REGEX.get_or_init(|| {
        // A literal pattern: compiling it cannot fail, which the tests exercise.
        #[allow(clippy::unwrap_used)]
        Regex::new(r"(?s)<\?xml\s.*?\?>").unwrap()
    })
}

/// Drops anything before the XML declaration (blank lines, comments, a stray BOM character) and
/// rewrites the declaration to `encoding="utf-8"`, since the text is UTF-8 now. Without a
/// declaration only leading whitespace and BOM characters are dropped.
fn fix_prolog(text: &str) -> String {
    let head_end = floor_char_boundary(text, PROLOG_WINDOW);
    if let Some(found) = prolog_regex()
        .find(&text[..head_end])
        .filter(|found| !has_element_start(&text.as_bytes()[..found.start()]))
    {
        let mut fixed = String::with_capacity(text.len());
        fixed.push_str(r#"<?xml version="1.0" encoding="utf-8"?>"#);
        fixed.push_str(&text[found.end()..]);
        return fixed;
    }
    text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .to_string()
}

/// Whether `prefix` contains the start of an element (`<` and a letter): text before the XML
/// declaration may be junk or comments, but once an element has started, a later `<?xml …?>`
/// is content (an escaped code sample), not the declaration.
fn has_element_start(prefix: &[u8]) -> bool {
    prefix
        .windows(2)
        .any(|pair| pair[0] == b'<' && pair[1].is_ascii_alphabetic())
}

fn floor_char_boundary(text: &str, index: usize) -> usize {
    if index >= text.len() {
        return text.len();
    }
    (0..=index)
        .rev()
        .find(|candidate| text.is_char_boundary(*candidate))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &[u8], content_type: Option<&str>, expected: &str) {
        assert_eq!(
            decode_xml(input, content_type),
            expected,
            "input: {:?}",
            String::from_utf8_lossy(input)
        );
    }

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(if big_endian {
                &[0xFE, 0xFF]
            } else {
                &[0xFF, 0xFE]
            });
        }
        for unit in text.encode_utf16() {
            if big_endian {
                out.extend_from_slice(&unit.to_be_bytes());
            } else {
                out.extend_from_slice(&unit.to_le_bytes());
            }
        }
        out
    }

    const UTF8_DECLARATION: &str = r#"<?xml version="1.0" encoding="utf-8"?>"#;

    #[test]
    fn plain_utf8_is_kept() {
        check(
            b"<rss><title>caf\xc3\xa9</title></rss>",
            None,
            "<rss><title>café</title></rss>",
        );
    }

    #[test]
    fn declared_latin1_is_decoded_and_declaration_rewritten() {
        check(
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><t>caf\xe9</t>",
            None,
            &format!("{UTF8_DECLARATION}<t>café</t>"),
        );
    }

    #[test]
    fn declared_latin1_but_bytes_are_utf8() {
        check(
            b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><t>\xe2\x82\xac</t>",
            None,
            &format!("{UTF8_DECLARATION}<t>€</t>"),
        );
    }

    #[test]
    fn invalid_declared_label_with_utf8_bytes() {
        check(
            b"<?xml version=\"1.0\" encoding=\"invalid\"?><t>\xed\x85\x8c</t>",
            None,
            &format!("{UTF8_DECLARATION}<t>테</t>"),
        );
    }

    #[test]
    fn http_charset_used_without_declaration() {
        check(
            b"<t>caf\xe9</t>",
            Some("text/xml; charset=\"ISO-8859-1\""),
            "<t>café</t>",
        );
    }

    #[test]
    fn windows_1252_quote_without_any_declaration() {
        check(b"<t>it\x92s</t>", None, "<t>it\u{2019}s</t>");
    }

    #[test]
    fn c1_controls_become_windows_1252_characters() {
        check("<t>don\u{92}t</t>".as_bytes(), None, "<t>don\u{2019}t</t>");
    }

    #[test]
    fn undeclared_windows_1251_is_detected() {
        let (bytes, _, _) =
            encoding_rs::WINDOWS_1251.encode("<t>Новости Москвы и области сегодня</t>");
        check(&bytes, None, "<t>Новости Москвы и области сегодня</t>");
    }

    #[test]
    fn undeclared_shift_jis_is_detected() {
        let (bytes, _, _) =
            encoding_rs::SHIFT_JIS.encode("<t>東京の天気予報、今日は晴れのち曇りです。</t>");
        check(
            &bytes,
            None,
            "<t>東京の天気予報、今日は晴れのち曇りです。</t>",
        );
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss>Ω</rss>";
        let expected = format!("{UTF8_DECLARATION}<rss>Ω</rss>");
        check(&utf16(xml, false, true), None, &expected);
        check(&utf16(xml, true, true), None, &expected);
        check(
            &utf16("<rss><t>Ω</t></rss>", false, false),
            None,
            "<rss><t>Ω</t></rss>",
        );
        check(
            &utf16("<rss><t>Ω</t></rss>", true, false),
            None,
            "<rss><t>Ω</t></rss>",
        );
    }

    #[test]
    fn utf32_with_bom() {
        let mut bytes = vec![0xFF, 0xFE, 0x00, 0x00];
        for c in "<a>Ω</a>".chars() {
            bytes.extend_from_slice(&(c as u32).to_le_bytes());
        }
        check(&bytes, None, "<a>Ω</a>");
    }

    #[test]
    fn utf8_bom_and_leading_junk_are_dropped() {
        check(b"\xef\xbb\xbf\n\n<rss/>", None, "<rss/>");
        check(
            b"<!-- test metadata -->\n<?xml version=\"1.0\"?>\n<rss/>",
            None,
            &format!("{UTF8_DECLARATION}\n<rss/>"),
        );
    }

    #[test]
    fn declaration_quoted_in_content_is_not_the_prolog() {
        let body = "<rss><description><![CDATA[<?xml version=\"1.0\" encoding=\"koi8-r\"?>]]></description></rss>";
        check(body.as_bytes(), None, body);
    }

    #[test]
    fn gzip_body_is_inflated() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(b"<rss>gz</rss>").unwrap();
        check(&encoder.finish().unwrap(), None, "<rss>gz</rss>");
    }

    #[test]
    fn truncated_gzip_body_keeps_what_inflated() {
        use std::io::Write;
        let text = "<rss>".to_string() + &"<item>x</item>".repeat(2000);
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(text.as_bytes()).unwrap();
        let compressed = encoder.finish().unwrap();
        let decoded = decode_xml(&compressed[..compressed.len() / 2], None);
        assert!(decoded.starts_with("<rss><item>x</item>"), "{decoded:.40}");
    }

    #[test]
    fn declared_latin1_utf8_with_a_stray_byte_stays_utf8() {
        let mut bytes = b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><t>Gr\xc3\xbc\xc3\x9fe aus M\xc3\xbcnchen".to_vec();
        bytes.extend_from_slice(b" \x96 </t>");
        check(
            &bytes,
            None,
            &format!("{UTF8_DECLARATION}<t>Grüße aus München \u{fffd} </t>"),
        );
    }

    #[test]
    fn mostly_utf8_with_a_stray_byte_stays_utf8() {
        check(
            "<t>Привет мир, как дела \u{1}</t>"
                .replace('\u{1}', "")
                .as_bytes(),
            None,
            "<t>Привет мир, как дела </t>",
        );
        let mut bytes = "<t>Привет мир, как дела".as_bytes().to_vec();
        bytes.push(0xff);
        bytes.extend_from_slice(b"</t>");
        check(&bytes, None, "<t>Привет мир, как дела\u{fffd}</t>");
    }
}
