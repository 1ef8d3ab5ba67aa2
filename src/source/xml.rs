//! XML-level fix-ups applied to decoded text before feed-rs sees it: finding the root element
//! (to recognise HTML pages and sitemaps), rewriting old dialects feed-rs does not dispatch
//! (RSS without a usable version, Userland's RSS namespace, RSS 0.90, Atom 0.3), and a lenient
//! repair of broken documents (bare `&`, truncation, unclosed CDATA).
//!
//! These are text operations on the prolog, tags and references; nothing here builds a tree or
//! validates XML. Entity fixing runs on every document (feed-rs silently drops a title or link
//! holding an undefined entity instead of failing); the structural repair only runs after a
//! strict parse failed.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;

/// The name of the document element, skipping the prolog (declaration, processing
/// instructions, comments, doctype). Returns `("html", …)` for an HTML doctype.
pub(crate) fn root_element(text: &str) -> Option<String> {
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        if let Some(after) = rest.strip_prefix("<?") {
            rest = after.split_once("?>")?.1;
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.split_once("-->")?.1;
        } else if rest
            .get(..9)
            .is_some_and(|start| start.eq_ignore_ascii_case("<!doctype"))
        {
            let (doctype, after) = rest.split_once('>')?;
            let declared = doctype.get(9..).unwrap_or_default().trim_start();
            if declared
                .get(..4)
                .is_some_and(|name| name.eq_ignore_ascii_case("html"))
            {
                return Some("html".to_string());
            }
            rest = after;
        } else {
            let after = rest.strip_prefix('<')?;
            let name: String = after
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
                .collect();
            if !name.starts_with(|c: char| c.is_alphabetic() || c == '_') {
                return None;
            }
            // Drop a namespace prefix: <rdf:RDF>, <atom:feed>.
            let local = name.rsplit(':').next().unwrap_or_default();
            return Some(local.to_ascii_lowercase());
        }
    }
}

/// Whether a root element name is HTML: pages, and fragments saved or served without `<html>`
/// (they start with a `<div>`, a `<p>`, a `<br>`).
pub(crate) fn is_html_element(name: &str) -> bool {
    const HTML: &[&str] = &[
        "html", "head", "body", "div", "p", "br", "span", "a", "img", "figure", "section",
        "article", "main", "header", "footer", "nav", "table", "ul", "ol", "h1", "h2", "h3",
        "meta", "script", "style", "iframe", "form",
    ];
    HTML.contains(&name)
}

/// Every `<rss>` document is read as RSS 2.0: feed-rs only dispatches versions 2.0, 0.91 and 0.92
/// (a missing or odd version such as "2.00" or "0.94" fails with "no root element"). Its 0.9x
/// parser is the 2.0 one anyway, so for 0.91/0.92 nothing changes and the rest are rescued.
pub(crate) fn normalize_rss_version(text: &str) -> Cow<'_, str> {
    // Only the root: an Atom feed may quote "<rss version=…>" inside CDATA.
    if root_element(text).as_deref() != Some("rss") {
        return text.into();
    }
    static REGEX: OnceLock<Option<Regex>> = OnceLock::new();
    let regex = REGEX.get_or_init(|| Regex::new(r"<rss\b[^>]*>").ok());
    let Some(found) = regex.as_ref().and_then(|regex| regex.find(text)) else {
        return text.into();
    };
    let tag = found.as_str();
    let known = ["\"2.0\"", "'2.0'"]
        .iter()
        .any(|version| tag.contains(&format!("version={version}")));
    if known {
        return text.into();
    }
    static VERSION: OnceLock<Option<Regex>> = OnceLock::new();
    let version = VERSION.get_or_init(|| Regex::new(r#"\sversion\s*=\s*("[^"]*"|'[^']*')"#).ok());
    let without_version = match version {
        Some(version) => version.replace(tag, "").into_owned(),
        None => tag.to_string(),
    };
    let fixed = without_version.replacen("<rss", "<rss version=\"2.0\"", 1);
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..found.start()]);
    out.push_str(&fixed);
    out.push_str(&text[found.end()..]);
    out.into()
}

/// Older dialects that feed-rs does not know by namespace are rewritten to the ones it does:
/// RSS 2.0 under Userland's namespace (RSS has none), RSS 0.90 (the RSS 1.0 vocabulary under
/// Netscape's namespace) and Atom 0.3 (`issued`/`modified` became `published`/`updated`).
pub(crate) fn normalize_legacy_xml(text: &str) -> Cow<'_, str> {
    const USERLAND: [&str; 4] = [
        r#" xmlns="http://backend.userland.com/rss2""#,
        r#" xmlns="http://backend.userland.com/rss""#,
        r#" xmlns='http://backend.userland.com/rss2'"#,
        r#" xmlns='http://backend.userland.com/rss'"#,
    ];
    const NETSCAPE: &str = "http://my.netscape.com/rdf/simple/0.9/";
    const ATOM_03: &str = "http://purl.org/atom/ns#";
    let needs_change = USERLAND.iter().any(|namespace| text.contains(namespace))
        || text.contains(NETSCAPE)
        || text.contains(ATOM_03);
    if !needs_change {
        return text.into();
    }
    let mut fixed = text.to_string();
    for namespace in USERLAND {
        fixed = fixed.replace(namespace, "");
    }
    fixed = fixed.replace(NETSCAPE, "http://purl.org/rss/1.0/");
    if fixed.contains(ATOM_03) {
        fixed = fixed.replace(ATOM_03, "http://www.w3.org/2005/Atom");
        static RENAMES: OnceLock<Option<(Regex, Regex)>> = OnceLock::new();
        let renames = RENAMES.get_or_init(|| {
            Some((
                Regex::new(r"<(/?)issued\b").ok()?,
                Regex::new(r"<(/?)modified\b").ok()?,
            ))
        });
        if let Some((issued, modified)) = renames {
            fixed = issued.replace_all(&fixed, "<${1}published").into_owned();
            fixed = modified.replace_all(&fixed, "<${1}updated").into_owned();
        }
    }
    fixed.into()
}

/// The document with the root element's default namespace (`xmlns="…"`) removed, or `None` when
/// the root has none. feed-rs matches elements by namespace and silently finds no entries in a
/// feed whose root declares one it does not know (a typo, a lowercase Atom URI, a vendor URI);
/// without it, feed-rs assumes the format's own namespace.
pub(crate) fn without_root_default_namespace(text: &str) -> Option<String> {
    static REGEX: OnceLock<Option<Regex>> = OnceLock::new();
    let regex = REGEX.get_or_init(|| Regex::new(r#"\sxmlns\s*=\s*("[^"]*"|'[^']*')"#).ok());
    let root = root_element(text)?;
    let start = text.find(&format!("<{root}")).or_else(|| {
        // A prefixed root (<rdf:RDF>) keeps its prefix in the text.
        text.find(&format!(":{root}"))
    })?;
    let end = start + text[start..].find('>')?;
    let tag = &text[start..end];
    let found = regex.as_ref()?.find(tag)?;
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start + found.start()]);
    out.push_str(&text[start + found.end()..]);
    Some(out)
}

/// Whether the text contains an item or entry start tag: a parse that found no entries in such a
/// document missed them.
pub(crate) fn has_entry_tags(text: &str) -> bool {
    ["<item>", "<item ", "<entry>", "<entry "]
        .iter()
        .any(|tag| text.contains(tag))
}

/// Makes every `&` well-formed before the first parse, outside CDATA sections and comments:
/// HTML named entities (`&eacute;`, `&nbsp;`), undefined in XML, become numeric references;
/// unknown names and bare ampersands (`?a=1&b=2`, "Tom & Jerry") are escaped. feed-rs does not
/// fail on these: it silently drops the title or link that contains one, which is worse.
pub(crate) fn fix_entities(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 64);
    let mut changed = false;
    let mut html_entities: HashMap<String, Option<String>> = HashMap::new();
    let mut rest = text;
    while let Some(position) = rest.find(['<', '&']) {
        out.push_str(&rest[..position]);
        rest = &rest[position..];
        if rest.starts_with('&') {
            let length = entity_length(rest);
            if length > 0 {
                out.push_str(&rest[..length]);
                rest = &rest[length..];
                continue;
            }
            changed = true;
            let name_length = html_entity_name_length(rest);
            let name = &rest[1..1 + name_length];
            // Each new name costs an HTML parse; a hostile feed full of distinct made-up names
            // must not turn that into minutes, and real feeds use a handful.
            const MAX_DISTINCT_NAMES: usize = 256;
            let decoded = if html_entities.len() < MAX_DISTINCT_NAMES {
                html_entities
                    .entry(name.to_string())
                    .or_insert_with(|| decode_html_entity(name))
                    .clone()
            } else {
                html_entities.get(name).cloned().flatten()
            };
            match decoded {
                Some(characters) if name_length > 0 => {
                    for character in characters.chars() {
                        out.push_str(&format!("&#{};", u32::from(character)));
                    }
                    rest = &rest[name_length + 2..];
                }
                _ => {
                    out.push_str("&amp;");
                    rest = &rest[1..];
                }
            }
            continue;
        }
        // Copy CDATA sections and comments untouched; anything else, one '<' at a time.
        let skip = [("<![CDATA[", "]]>"), ("<!--", "-->")]
            .iter()
            .find(|(open, _)| rest.starts_with(open))
            .map(|(_, close)| rest.find(close).map_or(rest.len(), |end| end + close.len()))
            .unwrap_or(1);
        out.push_str(&rest[..skip]);
        rest = &rest[skip..];
    }
    out.push_str(rest);
    if changed {
        out.into()
    } else {
        text.into()
    }
}

/// Length of `name` in a `&name;` at the start of `text` (ASCII alphanumerics), or 0 when the
/// ampersand does not start a named reference.
fn html_entity_name_length(text: &str) -> usize {
    let name_length = text[1..]
        .bytes()
        .take_while(u8::is_ascii_alphanumeric)
        .count();
    let terminated = text.as_bytes().get(1 + name_length) == Some(&b';');
    if terminated && (1..=32).contains(&name_length) {
        name_length
    } else {
        0
    }
}

/// The characters an HTML named entity stands for, by letting the HTML parser decode it.
fn decode_html_entity(name: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    let reference = format!("&{name};");
    let fragment = scraper::Html::parse_fragment(&reference);
    let decoded: String = fragment.root_element().text().collect();
    (decoded != reference && !decoded.is_empty()).then_some(decoded)
}

/// A best-effort repair for the common ways feeds break: bare `&` (escaped, outside CDATA),
/// a document cut off mid-way (the dangling tag is dropped, an open CDATA section or comment is
/// closed, then every open element is closed in order).
pub(crate) fn repair_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut open: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(position) = rest.find(['<', '&']) {
        out.push_str(&rest[..position]);
        rest = &rest[position..];
        if rest.starts_with('&') {
            let entity_length = entity_length(rest);
            if entity_length > 0 {
                out.push_str(&rest[..entity_length]);
                rest = &rest[entity_length..];
            } else {
                out.push_str("&amp;");
                rest = &rest[1..];
            }
            continue;
        }
        let (terminator, closing_suffix) = if rest.starts_with("<![CDATA[") {
            ("]]>", Some("]]>"))
        } else if rest.starts_with("<!--") {
            ("-->", Some("-->"))
        } else if rest.starts_with("<?") {
            ("?>", None)
        } else {
            (">", None)
        };
        let Some(end) = find_markup_end(rest, terminator) else {
            // Truncated inside markup: keep an open CDATA section or comment (closing it), drop
            // a half-written tag.
            if let Some(suffix) = closing_suffix {
                out.push_str(rest);
                out.push_str(suffix);
            }
            rest = "";
            break;
        };
        let markup = &rest[..end];
        if terminator == ">" {
            track_element(markup, &mut open);
        }
        out.push_str(markup);
        rest = &rest[end..];
    }
    out.push_str(rest);
    for name in open.iter().rev() {
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }
    out
}

/// Length of a well-formed entity reference at the start of `text`, or 0.
fn entity_length(text: &str) -> usize {
    let body = &text[1..];
    let Some(semicolon) = body.find(';') else {
        return 0;
    };
    if semicolon == 0 || semicolon > 32 {
        return 0;
    }
    let name = &body[..semicolon];
    let valid = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
        !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit())
    } else if let Some(decimal) = name.strip_prefix('#') {
        !decimal.is_empty() && decimal.chars().all(|c| c.is_ascii_digit())
    } else {
        // Only XML's predefined entities: an HTML name like &nbsp; is undefined in XML and would
        // fail again, so it is escaped into visible text instead.
        matches!(name, "amp" | "lt" | "gt" | "quot" | "apos")
    };
    if valid {
        semicolon + 2
    } else {
        0
    }
}

/// End (exclusive) of the markup starting at `text[0] == '<'`, honouring quoted attribute
/// values for plain tags.
fn find_markup_end(text: &str, terminator: &str) -> Option<usize> {
    if terminator != ">" {
        return text.find(terminator).map(|index| index + terminator.len());
    }
    let mut quote: Option<char> = None;
    for (index, c) in text.char_indices().skip(1) {
        match (quote, c) {
            (Some(open), c) if c == open => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(index + 1),
            // A new tag starts before this one ended: the tag was cut off.
            (None, '<') => return None,
            _ => {}
        }
    }
    None
}

fn track_element(markup: &str, open: &mut Vec<String>) {
    if markup.starts_with("<!") || markup.starts_with("<?") {
        return;
    }
    if let Some(closing) = markup.strip_prefix("</") {
        let name = closing.trim_end_matches('>').trim();
        if let Some(index) = open.iter().rposition(|candidate| candidate == name) {
            open.truncate(index);
        }
        return;
    }
    if markup.ends_with("/>") {
        return;
    }
    let name: String = markup[1..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
        .collect();
    if !name.is_empty() {
        open.push(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(repair_xml(input), expected, "input: {input}");
    }

    #[test]
    fn repairs() {
        check("<a>x &amp; y & z</a>", "<a>x &amp; y &amp; z</a>");
        check(
            "<a>&#8211;&#x2013;&nbsp;</a>",
            "<a>&#8211;&#x2013;&amp;nbsp;</a>",
        );
        check(
            "<a><b>text</b><c attr=\"1>2\">cut",
            "<a><b>text</b><c attr=\"1>2\">cut</c></a>",
        );
        check(
            "<rss><channel><item><title><![CD",
            "<rss><channel><item><title></title></item></channel></rss>",
        );
        check("<a><![CDATA[x & y", "<a><![CDATA[x & y]]></a>");
        check(
            "<a><![CDATA[x & y]]> & </a>",
            "<a><![CDATA[x & y]]> &amp; </a>",
        );
        check(
            "<rss><channel></channel></rss",
            "<rss><channel></channel></rss>",
        );
        check(
            "<a><br/><!-- c --><?pi x?></a>",
            "<a><br/><!-- c --><?pi x?></a>",
        );
    }

    #[test]
    fn entities_are_made_well_formed() {
        let check_entities = |input: &str, expected: &str| {
            assert_eq!(fix_entities(input), expected, "input: {input}");
        };
        check_entities(
            "<t>Caf&eacute;&nbsp;&amp;</t>",
            "<t>Caf&#233;&#160;&amp;</t>",
        );
        check_entities(
            "<a href=\"?a=1&b=2\">Tom & Jerry</a>",
            "<a href=\"?a=1&amp;b=2\">Tom &amp; Jerry</a>",
        );
        check_entities(
            "<t>&bogus; &#8211; &lt;</t>",
            "<t>&amp;bogus; &#8211; &lt;</t>",
        );
        check_entities(
            "<![CDATA[a & b &eacute;]]><!-- & -->&",
            "<![CDATA[a & b &eacute;]]><!-- & -->&amp;",
        );
        check_entities(
            "<t>&</t><![CDATA[never closed &",
            "<t>&amp;</t><![CDATA[never closed &",
        );
    }

    #[test]
    fn root_elements() {
        let check_root = |input: &str, expected: Option<&str>| {
            assert_eq!(root_element(input).as_deref(), expected, "input: {input}");
        };
        check_root("<?xml version=\"1.0\"?>\n<!-- x --><rdf:RDF>", Some("rdf"));
        check_root("<!DOCTYPE html><html>", Some("html"));
        check_root("<!DOCTYPE rss SYSTEM \"x\"><rss>", Some("rss"));
        check_root(
            "<!DOCTYPE rss SYSTEM \"https://x/rss.html\"><rss>",
            Some("rss"),
        );
        check_root(
            "<!doctype HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\">",
            Some("html"),
        );
        check_root("<!doctyp\u{20ac}", None);
        check_root("plain text", None);
    }

    #[test]
    fn root_default_namespace_removed() {
        let check_namespace = |input: &str, expected: Option<&str>| {
            assert_eq!(
                without_root_default_namespace(input).as_deref(),
                expected,
                "input: {input}"
            );
        };
        check_namespace(
            "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/atom\" xml:lang=\"en\"><entry/></feed>",
            Some("<?xml version=\"1.0\"?><feed xml:lang=\"en\"><entry/></feed>"),
        );
        check_namespace("<rss xmlns:dc=\"x\"><channel/></rss>", None);
        check_namespace("plain", None);
    }

    #[test]
    fn rss_versions_and_dialects() {
        assert_eq!(
            normalize_rss_version("<rss version=\"0.91\"><x/>"),
            "<rss version=\"2.0\"><x/>"
        );
        assert_eq!(
            normalize_rss_version("<rss><x/>"),
            "<rss version=\"2.0\"><x/>"
        );
        assert_eq!(
            normalize_rss_version("<rss version='2.0'/>"),
            "<rss version='2.0'/>"
        );
        assert_eq!(
            normalize_legacy_xml("<feed xmlns=\"http://purl.org/atom/ns#\"><issued>d</issued>"),
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><published>d</published>"
        );
    }
}
