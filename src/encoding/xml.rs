//! The feed (XML) policy over the shared rules of [`super`]: the order of evidence is
//! byte-order mark (UTF-8/16/32), UTF-16 recognised by its zero bytes, UTF-8 bytes, the XML
//! declaration's `encoding`, the HTTP `Content-Type` charset, then detection. A declared
//! encoding that does not decode cleanly yields to detection (feeds are machine-written: a
//! wrong label is likelier than a broken byte). The result is text an XML parser reads without
//! guessing: anything before the XML declaration is dropped and the declaration is rewritten
//! to say `utf-8`; C1 control characters left by an upstream ISO-8859-1 misreading become the
//! windows-1252 characters they stood for.

use std::sync::OnceLock;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};
use regex::bytes::Regex as BytesRegex;
use regex::Regex;

use super::{
    charset_from_content_type, decode, decode_if_utf8, decode_with_bom, detect, encoding_for_label,
    inflate_if_gzip,
};

/// How far into the body the XML declaration is looked for (leading comments in test fixtures
/// and a few servers' junk push it past the first bytes).
const PROLOG_WINDOW: usize = 4096;

/// Decodes a feed body to UTF-8 and rewrites its XML declaration to match.
pub fn decode_xml(bytes: &[u8], content_type: Option<&str>) -> String {
    let bytes = inflate_if_gzip(bytes);
    let text = demoronize(decode_bytes(bytes.as_ref(), content_type));
    fix_prolog(&text)
}

/// The encoding decision, without the prolog rewrite.
fn decode_bytes(bytes: &[u8], content_type: Option<&str>) -> String {
    if let Some(text) = decode_with_bom(bytes) {
        return text;
    }
    if let Some(encoding) = sniff_utf16_without_bom(bytes) {
        return decode(encoding, bytes);
    }
    if let Some(text) = decode_if_utf8(bytes) {
        return text;
    }
    // The document's own declaration outranks the server's header, even when it names an
    // encoding we do not know (then detection decides, not the header).
    let declared = match declared_label(bytes) {
        Some(label) => encoding_for_label(&label),
        None => content_type.and_then(charset_from_content_type),
    };
    match declared {
        // UTF-8 bytes were taken above, so a UTF-8 label (or a UTF-16 one, which means UTF-8
        // without a BOM or zero bytes) over other bytes is wrong: detection decides.
        Some(encoding) if encoding != UTF_8 => encoding
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(|text| text.into_owned())
            .unwrap_or_else(|| decode(detect(bytes), bytes)),
        _ => decode(detect(bytes), bytes),
    }
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
fn declared_label(bytes: &[u8]) -> Option<String> {
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
