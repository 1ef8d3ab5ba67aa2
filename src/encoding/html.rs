//! The HTML policy: a browser's order of evidence — byte-order mark, the HTTP `Content-Type`
//! charset, a `<meta charset>` / `<meta http-equiv>` declaration near the top of the page, then
//! detection — over the shared rules of [`super`]. Used for article pages, `page` sources and
//! pages read for feed discovery alike.
//!
//! Two deliberate departures from browsers, both where the bytes contradict a declaration:
//! - bytes that are UTF-8 decode as UTF-8 whatever legacy encoding is declared (the shared
//!   rule, [`super::decode_if_utf8`]);
//! - an HTTP `charset=utf-8` with bytes that are not UTF-8 yields to the page's `<meta>` or to
//!   detection (servers configured with a blanket UTF-8 charset in front of legacy pages).

use std::sync::OnceLock;

use encoding_rs::{Encoding, UTF_8};
use regex::bytes::Regex;

use super::{
    charset_from_content_type, decode, decode_if_utf8, decode_with_bom, detect, encoding_for_label,
    inflate_if_gzip,
};

/// How far into the page a `<meta>` charset declaration is looked for. The HTML spec says 1024
/// bytes; real pages often put long `<script>`/`<link>` runs first, so we look further.
const META_SCAN_BYTES: usize = 4096;

/// Decode an HTML page: BOM → UTF-8 bytes → HTTP Content-Type charset → `<meta charset /
/// http-equiv>` (first 4096 bytes) → detection. Never fails; invalid sequences become U+FFFD.
pub fn decode_html(bytes: &[u8], content_type: Option<&str>) -> String {
    // Pages too can arrive as gzip the HTTP layer did not undo (no Content-Encoding header).
    let inflated = inflate_if_gzip(bytes);
    let bytes = inflated.as_ref();
    if let Some(text) = decode_with_bom(bytes) {
        return text;
    }
    if let Some(text) = decode_if_utf8(bytes) {
        return text;
    }
    let head = &bytes[..bytes.len().min(META_SCAN_BYTES)];
    let declared = match content_type.and_then(charset_from_content_type) {
        // Servers often send a blanket "charset=utf-8" for legacy pages; bytes that are not
        // UTF-8 prove the header wrong, so let the page's own declaration (or detection) decide.
        Some(encoding) if encoding == UTF_8 && std::str::from_utf8(bytes).is_err() => {
            Some(meta_charset(head).unwrap_or_else(|| detect(bytes)))
        }
        Some(encoding) => Some(encoding),
        None => meta_charset(head),
    };
    decode(declared.unwrap_or_else(|| detect(bytes)), bytes)
}

fn meta_charset(head: &[u8]) -> Option<&'static Encoding> {
    static META: OnceLock<Option<Regex>> = OnceLock::new();
    // `<meta charset="x">` and `<meta http-equiv="Content-Type" content="text/html; charset=x">`
    // (attributes in any order); both reduce to a `charset=` inside a meta tag.
    let re = META
        .get_or_init(|| {
            Regex::new(r#"(?i-u)<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([a-zA-Z0-9_:.\-]+)"#).ok()
        })
        .as_ref()?;
    re.captures_iter(head).find_map(|caps| {
        let label = std::str::from_utf8(caps.get(1)?.as_bytes()).ok()?;
        encoding_for_label(label)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::WINDOWS_1252;

    const RUSSIAN: &str =
        "Президент России Владимир Путин посетит Китай на этой неделе по приглашению \
        своего китайского коллеги Си Цзиньпина, сообщили во вторник в Кремле. Это будет первая \
        зарубежная поездка российского лидера после вступления в должность на пятый срок.";
    const JAPANESE: &str = "東京都は十四日、新型の感染症対策として新しい指針を発表した。\
        知事は記者会見で、都民に対して引き続き注意を呼びかけると述べた。";
    const GERMAN: &str =
        "Über die Brücke gehen Bürgerinnen und Bürger täglich zur Arbeit; die Straße \
        ist schön, aber die Größe der Häuser überrascht Besucher aus Österreich und Südtirol.";
    const POLISH: &str = "Zażółć gęślą jaźń. Łódź, Gdańsk i Kraków są pięknymi miastami, \
        a ich mieszkańcy często podróżują pociągiem między nimi w ciągu tygodnia.";

    fn page(meta: &str, body: &str) -> String {
        format!("<html><head>{meta}<title>t</title></head><body><p>{body}</p></body></html>")
    }

    fn encode(encoding: &'static Encoding, text: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = encoding.encode(text);
        assert!(
            !unmappable,
            "test text not representable in {}",
            encoding.name()
        );
        bytes.into_owned()
    }

    fn check(bytes: &[u8], content_type: Option<&str>, expected_substring: &str) {
        let text = decode_html(bytes, content_type);
        assert!(
            text.contains(expected_substring),
            "expected {expected_substring:?} in decoded {text:?}"
        );
    }

    #[test]
    fn windows_1251_declared_in_meta() {
        let html = page(r#"<meta charset="windows-1251">"#, RUSSIAN);
        check(&encode(encoding_rs::WINDOWS_1251, &html), None, RUSSIAN);
    }

    #[test]
    fn windows_1251_declared_by_http_equiv() {
        let html = page(
            r#"<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">"#,
            RUSSIAN,
        );
        check(&encode(encoding_rs::WINDOWS_1251, &html), None, RUSSIAN);
    }

    #[test]
    fn windows_1251_undeclared_is_detected() {
        let html = page("", RUSSIAN);
        check(&encode(encoding_rs::WINDOWS_1251, &html), None, RUSSIAN);
    }

    #[test]
    fn koi8_r_from_http_header() {
        let html = page("", RUSSIAN);
        let bytes = encode(encoding_rs::KOI8_R, &html);
        check(&bytes, Some("text/html; charset=KOI8-R"), RUSSIAN);
        check(&bytes, Some("text/html; charset=\"koi8-r\""), RUSSIAN);
    }

    #[test]
    fn koi8_r_declared_and_undeclared() {
        let declared = page(r#"<meta charset="koi8-r">"#, RUSSIAN);
        check(&encode(encoding_rs::KOI8_R, &declared), None, RUSSIAN);
        let undeclared = page("", RUSSIAN);
        check(&encode(encoding_rs::KOI8_R, &undeclared), None, RUSSIAN);
    }

    #[test]
    fn shift_jis_declared_and_undeclared() {
        let declared = page(r#"<meta charset="Shift_JIS">"#, JAPANESE);
        check(&encode(encoding_rs::SHIFT_JIS, &declared), None, JAPANESE);
        let undeclared = page("", JAPANESE);
        check(&encode(encoding_rs::SHIFT_JIS, &undeclared), None, JAPANESE);
    }

    #[test]
    fn euc_jp_declared() {
        let declared = page(r#"<meta charset="euc-jp">"#, JAPANESE);
        check(&encode(encoding_rs::EUC_JP, &declared), None, JAPANESE);
    }

    #[test]
    fn iso_8859_1_declared_and_undeclared() {
        let declared = page(r#"<meta charset="iso-8859-1">"#, GERMAN);
        check(&encode(WINDOWS_1252, &declared), None, GERMAN);
        let undeclared = page("", GERMAN);
        check(&encode(WINDOWS_1252, &undeclared), None, GERMAN);
    }

    #[test]
    fn iso_8859_2_declared_and_undeclared() {
        let declared = page(r#"<meta charset="iso-8859-2">"#, POLISH);
        check(&encode(encoding_rs::ISO_8859_2, &declared), None, POLISH);
        let undeclared = page("", POLISH);
        check(&encode(encoding_rs::ISO_8859_2, &undeclared), None, POLISH);
    }

    #[test]
    fn http_header_beats_meta() {
        let html = page(r#"<meta charset="iso-8859-1">"#, RUSSIAN);
        let bytes = encode(encoding_rs::WINDOWS_1251, &html);
        check(&bytes, Some("text/html;charset=windows-1251"), RUSSIAN);
    }

    #[test]
    fn wrong_utf8_header_yields_to_meta_or_detection() {
        let html = page(r#"<meta charset="windows-1251">"#, RUSSIAN);
        let bytes = encode(encoding_rs::WINDOWS_1251, &html);
        check(&bytes, Some("text/html; charset=utf-8"), RUSSIAN);
        let undeclared = encode(encoding_rs::WINDOWS_1251, &page("", RUSSIAN));
        check(&undeclared, Some("text/html; charset=UTF-8"), RUSSIAN);
    }

    #[test]
    fn boms_win() {
        let html = page(r#"<meta charset="iso-8859-1">"#, GERMAN);
        let mut utf8 = b"\xEF\xBB\xBF".to_vec();
        utf8.extend_from_slice(html.as_bytes());
        let text = decode_html(&utf8, Some("text/html; charset=windows-1252"));
        assert!(text.starts_with("<html>"), "BOM must be stripped: {text:?}");
        assert!(text.contains(GERMAN));

        let mut le = vec![0xFF, 0xFE];
        let mut be = vec![0xFE, 0xFF];
        for unit in html.encode_utf16() {
            le.extend_from_slice(&unit.to_le_bytes());
            be.extend_from_slice(&unit.to_be_bytes());
        }
        check(&le, None, GERMAN);
        check(&be, None, GERMAN);
    }

    #[test]
    fn valid_utf8_beats_wrong_legacy_declaration() {
        let html = page(r#"<meta charset="iso-8859-1">"#, GERMAN);
        check(html.as_bytes(), None, GERMAN);
        let html = page(r#"<meta charset="shift_jis">"#, JAPANESE);
        check(html.as_bytes(), None, JAPANESE);
    }

    #[test]
    fn utf16_meta_label_means_utf8() {
        let html = page(r#"<meta charset="utf-16">"#, GERMAN);
        check(html.as_bytes(), None, GERMAN);
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let text = decode_html(
            b"<meta charset=\"utf-8\"><p>ok \xFF\xFE\xFD</p>",
            Some("text/html; charset=utf-8"),
        );
        assert!(text.contains('\u{FFFD}'));
        assert!(text.contains("ok"));
        assert_eq!(decode_html(b"", None), "");
    }

    #[test]
    fn page_source_cases() {
        let check_html = |input: &[u8], content_type: Option<&str>, expected: &str| {
            assert_eq!(
                decode_html(input, content_type),
                expected,
                "input: {input:?}"
            );
        };
        check_html(
            b"<meta charset=\"iso-8859-1\"><p>caf\xe9</p>",
            None,
            "<meta charset=\"iso-8859-1\"><p>café</p>",
        );
        check_html(
            b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\"><p>\xcf\xf0\xe8\xe2\xe5\xf2</p>",
            None,
            "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\"><p>Привет</p>",
        );
        // The HTTP header wins over <meta> for HTML.
        check_html(
            b"<meta charset=\"koi8-r\"><p>caf\xe9</p>",
            Some("text/html; charset=windows-1252"),
            "<meta charset=\"koi8-r\"><p>café</p>",
        );
        // A stale legacy <meta> on a page whose bytes are UTF-8.
        check_html(
            "<meta charset=\"shift_jis\"><p>日本語</p>".as_bytes(),
            None,
            "<meta charset=\"shift_jis\"><p>日本語</p>",
        );
    }
}
