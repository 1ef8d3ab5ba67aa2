//! Bytes → text, for everything wirewatch reads off the web: feeds and sitemaps
//! ([`decode_xml`]) and HTML pages — article pages, `page` sources and pages read for feed
//! discovery ([`decode_html`]). Both policies stand on the same evidence, decided here once:
//! a body still in gzip is inflated; a byte-order mark wins; bytes that are UTF-8 (with
//! multi-byte characters, apart from a few stray bytes at most) are read as UTF-8 whatever a
//! label says; a `charset=` parameter of the HTTP `Content-Type` is read one way; labels map
//! to encodings one way; and when nothing is declared, detection (chardetng) guesses.
//! Decoding never fails: invalid sequences become U+FFFD.
//!
//! The policies differ only where the formats do: XML's own declaration ranks before the HTTP
//! header and is rewritten to `utf-8`, and a feed's declared encoding that does not decode
//! cleanly yields to detection; HTML follows a browser (header, then `<meta>`), trusting the
//! declaration, except that a blanket HTTP `charset=utf-8` over bytes that are not UTF-8 yields
//! to the page's own `<meta>`.
//!
//! It deliberately does not repair mojibake stored in the bytes themselves (UTF-8 once decoded
//! as windows-1252 and re-encoded): such text is valid UTF-8, and telling it apart from a real
//! "Ã©" would be a guess. It parses neither XML nor HTML; it only looks at their heads.

mod html;
mod xml;

use std::borrow::Cow;
use std::io::Read;

use encoding_rs::{Encoding, REPLACEMENT, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

pub use html::decode_html;
pub use xml::decode_xml;

/// Inflated gzip bodies are capped so that a small "zip bomb" cannot exhaust memory; real feeds
/// and pages are far below this.
const MAX_INFLATED_BYTES: u64 = 64 * 1024 * 1024;

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

/// The encoding named by the `charset` parameter of a `Content-Type` value, if known.
pub fn charset_from_content_type(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        encoding_for_label(value.trim().trim_matches(['"', '\'']))
    })
}

/// The encoding a declared label names, as a reader of bytes must take it. A document that
/// reached us as bytes and says UTF-16 cannot be UTF-16 without a byte-order mark (its
/// declaration was readable as ASCII), so the label means UTF-8, as the HTML spec has it;
/// x-user-defined likewise means windows-1252. WHATWG's "replacement" encoding (labels such as
/// iso-2022-kr) would turn the whole body into one U+FFFD, so it counts as no label at all.
fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    let encoding = Encoding::for_label(label.trim().as_bytes())?;
    if encoding == UTF_16LE || encoding == UTF_16BE {
        return Some(UTF_8);
    }
    if encoding == encoding_rs::X_USER_DEFINED {
        return Some(WINDOWS_1252);
    }
    (encoding != REPLACEMENT).then_some(encoding)
}

/// The text after a byte-order mark (UTF-8, UTF-16 or UTF-32), or `None` without one.
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

/// The one "UTF-8 beats the declared legacy label" rule: bytes with multi-byte UTF-8
/// characters and at most half as many invalid runs are UTF-8 (a template copied between
/// sites, a lossy re-save, one pasted windows-1252 quote), read with U+FFFD for the stray bytes.
/// Valid multi-byte sequences almost never happen by chance in legacy text, where nearly every
/// non-ASCII byte is an invalid run; re-reading such bytes as a legacy encoding would turn
/// every real character into mojibake. Pure ASCII is not evidence: it is left to the label
/// (7-bit encodings such as ISO-2022-JP are ASCII bytes).
fn decode_if_utf8(bytes: &[u8]) -> Option<String> {
    let mut valid_multibyte = 0usize;
    let mut invalid = 0usize;
    for chunk in bytes.utf8_chunks() {
        valid_multibyte += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        if !chunk.invalid().is_empty() {
            invalid += 1;
        }
    }
    (valid_multibyte > 0 && invalid * 2 <= valid_multibyte)
        .then(|| String::from_utf8_lossy(bytes).into_owned())
}

/// The encoding when nothing usable is declared: UTF-8 for bytes that are UTF-8 (ASCII
/// included), else chardetng's guess for the generic top-level domain (we do not pass the
/// site's: one guess for feeds and pages alike).
fn detect(bytes: &[u8]) -> &'static Encoding {
    if std::str::from_utf8(bytes).is_ok() {
        return UTF_8;
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    // UTF-8 was ruled out above, and chardetng would only answer UTF-8 for valid input
    detector.guess(None, false)
}

fn decode(encoding: &'static Encoding, bytes: &[u8]) -> String {
    let (text, _had_errors) = encoding.decode_without_bom_handling(bytes);
    text.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_parsing() {
        assert_eq!(charset_from_content_type("text/html"), None);
        assert_eq!(
            charset_from_content_type("text/html; Charset=UTF-8"),
            Some(UTF_8)
        );
        assert_eq!(
            charset_from_content_type("text/xml; charset=\"ISO-8859-1\""),
            Some(WINDOWS_1252)
        );
        assert_eq!(
            charset_from_content_type("text/html; charset='koi8-r' "),
            Some(encoding_rs::KOI8_R)
        );
        assert_eq!(charset_from_content_type("text/html; charset=bogus"), None);
        assert_eq!(charset_from_content_type("text/html; charset="), None);
    }

    #[test]
    fn labels_a_byte_stream_cannot_mean_are_mapped() {
        assert_eq!(encoding_for_label("utf-16"), Some(UTF_8));
        assert_eq!(encoding_for_label("UTF-16BE"), Some(UTF_8));
        assert_eq!(encoding_for_label("x-user-defined"), Some(WINDOWS_1252));
        assert_eq!(encoding_for_label("iso-2022-kr"), None);
        assert_eq!(
            encoding_for_label(" windows-1251 "),
            Some(encoding_rs::WINDOWS_1251)
        );
    }

    #[test]
    fn utf8_evidence_needs_multibyte_characters() {
        assert_eq!(decode_if_utf8(b"plain ascii"), None);
        assert_eq!(decode_if_utf8(b"caf\xe9"), None);
        assert_eq!(decode_if_utf8("café".as_bytes()).as_deref(), Some("café"));
        assert_eq!(
            decode_if_utf8(b"Gr\xc3\xbc\xc3\x9fe \x96").as_deref(),
            Some("Grüße \u{fffd}")
        );
    }

    #[test]
    fn detection_prefers_utf8_for_utf8_bytes() {
        assert_eq!(detect(b""), UTF_8);
        assert_eq!(detect("Привет".as_bytes()), UTF_8);
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("Новости Москвы и области сегодня");
        assert_eq!(detect(&bytes), encoding_rs::WINDOWS_1251);
    }

    #[test]
    fn gzip_is_sniffed_not_trusted() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(b"<p>gz</p>").unwrap();
        let compressed = encoder.finish().unwrap();
        assert_eq!(inflate_if_gzip(&compressed).as_ref(), b"<p>gz</p>");
        let fake = [0x1f, 0x8b, b'x'];
        assert_eq!(inflate_if_gzip(&fake).as_ref(), &fake);
    }
}
