//! Page metadata: title, dates, authors, site name, language, canonical URL and lead-image URL,
//! read from JSON-LD, OpenGraph/`<meta>` tags and plain markup, in that order of trust.
//!
//! Publishers fill these sources unevenly, so every field is a chain of fallbacks; the order follows
//! what Mozilla Readability found to be most reliable (structured data first, visible markup last).

use super::dom::{clean_text, Dom, Kind};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use regex::Regex;
use serde_json::Value;
use std::sync::OnceLock;

/// Everything the page says about itself, before choosing between sources.
#[derive(Debug, Default)]
pub struct PageMeta {
    /// `<meta property|name|itemprop=… content=…>` pairs; keys lowercased, in page order.
    pub metas: Vec<(String, String)>,
    pub title_tag: Option<String>,
    pub h1s: Vec<String>,
    pub lang: Option<String>,
    pub canonical: Option<String>,
    pub base_href: Option<String>,
    /// `<time datetime>` values, those marked as the publication date first.
    pub times: Vec<String>,
    pub jsonld: JsonLd,
}

/// Fields of the page's JSON-LD article object (NewsArticle, BlogPosting, …).
#[derive(Debug, Default)]
pub struct JsonLd {
    pub headline: Option<String>,
    pub date_published: Option<String>,
    pub date_modified: Option<String>,
    pub authors: Vec<String>,
    pub publisher: Option<String>,
    pub image: Option<String>,
    pub article_body: Option<String>,
    pub url: Option<String>,
    pub language: Option<String>,
}

impl PageMeta {
    /// The first non-empty `content` of any of `keys` (lowercase), tried in the order given.
    pub fn meta(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|key| {
            self.metas
                .iter()
                .find(|(k, v)| k == key && !v.trim().is_empty())
                .map(|(_, v)| v.trim())
        })
    }
}

/// Collects metadata in one pass over the document.
pub fn collect(dom: &Dom) -> PageMeta {
    let mut meta = PageMeta::default();
    let mut times_published = Vec::new();
    let mut times_other = Vec::new();
    let mut jsonld_values = Vec::new();
    let mut i = 0;
    while i < dom.len() {
        let tag = dom.tag(i);
        match tag {
            "meta" => {
                let content = dom.attr(i, "content").unwrap_or("");
                for name_attr in ["property", "name", "itemprop", "http-equiv"] {
                    if let Some(names) = dom.attr(i, name_attr) {
                        // `property="og:title twitter:title"` names several keys at once.
                        for name in names.split_whitespace() {
                            meta.metas
                                .push((name.to_ascii_lowercase(), decode_entities(content)));
                        }
                    }
                }
            }
            "html" if meta.lang.is_none() => {
                meta.lang = dom
                    .attr(i, "lang")
                    .or_else(|| dom.attr(i, "xml:lang"))
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty());
            }
            "title" if meta.title_tag.is_none() => {
                let text = dom.text(i, &[]);
                if !text.is_empty() {
                    meta.title_tag = Some(text);
                }
            }
            "h1" => {
                let text = dom.text(i, &[]);
                if !text.is_empty() {
                    meta.h1s.push(text);
                }
            }
            "link" => {
                let rel = dom.attr(i, "rel").unwrap_or("").to_ascii_lowercase();
                if rel.split_whitespace().any(|r| r == "canonical") && meta.canonical.is_none() {
                    meta.canonical = dom.attr(i, "href").map(|h| h.trim().to_string());
                }
            }
            "base" if meta.base_href.is_none() => {
                meta.base_href = dom.attr(i, "href").map(|h| h.trim().to_string());
            }
            "time" => {
                if let Some(dt) = dom.attr(i, "datetime") {
                    let hint = format!(
                        "{} {}",
                        dom.class_id(i),
                        dom.attr(i, "itemprop").unwrap_or("")
                    )
                    .to_ascii_lowercase();
                    let is_published = hint.contains("publish")
                        || hint.contains("pubdate")
                        || dom.attr(i, "pubdate").is_some();
                    if is_published {
                        times_published.push(dt.trim().to_string());
                    } else {
                        times_other.push(dt.trim().to_string());
                    }
                }
            }
            "script" => {
                let kind = dom.attr(i, "type").unwrap_or("").to_ascii_lowercase();
                if kind.trim() == "application/ld+json" {
                    let mut raw = String::new();
                    for child in dom.children(i) {
                        if let Kind::Text(t) = dom.nodes[child].kind {
                            raw.push_str(t);
                        }
                    }
                    if let Ok(value) = serde_json::from_str::<Value>(raw.trim()) {
                        jsonld_values.push(value);
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    times_published.extend(times_other);
    meta.times = times_published;
    meta.jsonld = read_jsonld(&jsonld_values);
    meta
}

/// Flattens arrays and `@graph`s into a list of objects (bounded, iteratively).
fn flatten(values: &[Value]) -> Vec<&serde_json::Map<String, Value>> {
    let mut out = Vec::new();
    let mut stack: Vec<&Value> = values.iter().rev().collect();
    while let Some(value) = stack.pop() {
        if out.len() > 500 {
            break;
        }
        match value {
            Value::Array(items) => stack.extend(items.iter().rev()),
            Value::Object(map) => {
                out.push(map);
                if let Some(graph) = map.get("@graph") {
                    stack.push(graph);
                }
            }
            _ => {}
        }
    }
    out
}

fn types_of(map: &serde_json::Map<String, Value>) -> Vec<&str> {
    match map.get("@type") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn is_article_type(t: &str) -> bool {
    let t = t.rsplit(['/', ':']).next().unwrap_or(t);
    t.ends_with("Article")
        || t.ends_with("Posting")
        || matches!(t, "Report" | "ReportageNews" | "Review" | "Blog")
}

fn read_jsonld(values: &[Value]) -> JsonLd {
    let objects = flatten(values);
    let by_id = |id: &str| {
        objects
            .iter()
            .find(|o| o.get("@id").and_then(Value::as_str) == Some(id) && o.len() > 1)
            .copied()
    };
    let mut out = JsonLd::default();
    let article = objects
        .iter()
        .find(|o| types_of(o).iter().any(|t| is_article_type(t)))
        .copied();
    let Some(article) = article else {
        return out;
    };
    let string = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::String(s) => Some(decode_entities(s.trim())).filter(|s| !s.is_empty()),
            _ => None,
        }
    };
    out.headline = string(article.get("headline")).or_else(|| string(article.get("name")));
    out.date_published = string(article.get("datePublished"));
    out.date_modified = string(article.get("dateModified"));
    out.article_body = string(article.get("articleBody"));
    out.url = string(article.get("url"))
        .or_else(|| string(article.get("mainEntityOfPage")))
        .or_else(|| {
            article
                .get("mainEntityOfPage")
                .and_then(|m| m.get("@id"))
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    out.language = string(article.get("inLanguage"));

    // author: "Name" | {name} | {@id} → graph node | [ … ]
    let mut author_values: Vec<&Value> = Vec::new();
    match article.get("author").or_else(|| article.get("creator")) {
        Some(Value::Array(items)) => author_values.extend(items.iter()),
        Some(v) => author_values.push(v),
        None => {}
    }
    for value in author_values.into_iter().take(20) {
        let name = match value {
            Value::String(s) => Some(s.clone()),
            Value::Object(map) => match map.get("name") {
                Some(Value::String(s)) => Some(s.clone()),
                _ => map
                    .get("@id")
                    .and_then(Value::as_str)
                    .and_then(by_id)
                    .and_then(|o| o.get("name"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
            },
            _ => None,
        };
        if let Some(name) = name.map(|n| clean_author(&decode_entities(&n))) {
            if !name.is_empty() && !out.authors.contains(&name) {
                out.authors.push(name);
            }
        }
    }

    out.publisher = match article.get("publisher") {
        Some(Value::Object(map)) => match map.get("name") {
            Some(Value::String(s)) => Some(decode_entities(s.trim())),
            _ => map
                .get("@id")
                .and_then(Value::as_str)
                .and_then(by_id)
                .and_then(|o| o.get("name"))
                .and_then(Value::as_str)
                .map(|s| decode_entities(s.trim())),
        },
        Some(Value::String(s)) => Some(decode_entities(s.trim())),
        _ => None,
    }
    .filter(|s| !s.is_empty());

    out.image = image_url(article.get("image"), &by_id);
    out
}

fn image_url<'v>(
    value: Option<&'v Value>,
    by_id: &dyn Fn(&str) -> Option<&'v serde_json::Map<String, Value>>,
) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Array(items) => items.iter().find_map(|v| image_url(Some(v), by_id)),
        Value::Object(map) => match map.get("url").or_else(|| map.get("contentUrl")) {
            Some(Value::String(s)) => Some(s.trim().to_string()),
            _ => map
                .get("@id")
                .and_then(Value::as_str)
                .and_then(by_id)
                .and_then(|o| o.get("url").or_else(|| o.get("contentUrl")))
                .and_then(Value::as_str)
                .map(str::to_string),
        },
        _ => None,
    }
}

/// Strips "By " style prefixes, trailing dates, and e-mail tails from a byline.
pub fn clean_author(raw: &str) -> String {
    static PREFIX: OnceLock<Option<Regex>> = OnceLock::new();
    let text = clean_text(raw);
    let Some(prefix) = PREFIX
        .get_or_init(|| {
            Regex::new(r"(?i)^(?:written\s+by|posted\s+by|by|von|par|por|di|door|av|af|autor:?|author:?)\s+")
                .ok()
        })
        .as_ref()
    else {
        return text;
    };
    let text = prefix.replace(&text, "");
    let text = text.trim_matches(|c: char| c == ',' || c == '|' || c == '-' || c.is_whitespace());
    text.to_string()
}

/// Parses the date formats publishers put in metadata. A value without an offset is taken as UTC
/// (the publisher's offset is unknown and UTC keeps the written date).
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
        let Some(semi) = rest[..rest.len().min(12)].find(';') else {
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

/// Readability's title clean-up for `<title>`: drop a " | Site" / " - Site" part when what remains
/// still looks like a headline.
pub fn clean_title_tag(title: &str, h1s: &[String]) -> String {
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
        let matches_heading = h1s.iter().any(|h| clean_text(h) == original);
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
    use scraper::Html;

    fn meta_of(html: &str) -> PageMeta {
        let doc = Html::parse_document(html);
        let dom = Dom::new(&doc);
        collect(&dom)
    }

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
        assert_eq!(parse_date(""), None);
    }

    #[test]
    fn jsonld_graph_authors_and_publisher() {
        let meta = meta_of(
            r#"<html><head><script type="application/ld+json">
            {"@context":"https://schema.org","@graph":[
              {"@type":"WebPage","@id":"https://x.test/a","name":"Page"},
              {"@type":["NewsArticle"],"headline":"Big &amp; News","datePublished":"2024-05-14T13:05:00+03:00",
               "author":[{"@id":"https://x.test/#p1"},{"@type":"Person","name":"By Jane Roe"}],
               "publisher":{"@id":"https://x.test/#org"},
               "image":{"@type":"ImageObject","url":"https://x.test/i.jpg"}},
              {"@type":"Person","@id":"https://x.test/#p1","name":"John Doe"},
              {"@type":"Organization","@id":"https://x.test/#org","name":"The Test Times"}
            ]}</script></head><body></body></html>"#,
        );
        let ld = meta.jsonld;
        assert_eq!(ld.headline.as_deref(), Some("Big & News"));
        assert_eq!(ld.authors, vec!["John Doe", "Jane Roe"]);
        assert_eq!(ld.publisher.as_deref(), Some("The Test Times"));
        assert_eq!(ld.image.as_deref(), Some("https://x.test/i.jpg"));
        assert_eq!(
            ld.date_published.as_deref(),
            Some("2024-05-14T13:05:00+03:00")
        );
    }

    #[test]
    fn meta_tags_and_markup() {
        let meta = meta_of(
            r#"<html lang="ru"><head><title>Headline - Site</title>
            <meta property="og:title twitter:title" content="Headline">
            <link rel="canonical" href="/a/b"></head>
            <body><h1>Headline</h1><time class="published" datetime="2024-01-02T03:04:05+01:00">x</time></body></html>"#,
        );
        assert_eq!(meta.meta(&["twitter:title"]), Some("Headline"));
        assert_eq!(meta.lang.as_deref(), Some("ru"));
        assert_eq!(meta.canonical.as_deref(), Some("/a/b"));
        assert_eq!(meta.h1s, vec!["Headline"]);
        assert_eq!(meta.times, vec!["2024-01-02T03:04:05+01:00"]);
    }

    #[test]
    fn title_tag_cleanup() {
        let check = |title: &str, expected: &str| {
            assert_eq!(clean_title_tag(title, &[]), expected, "title {title:?}");
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
    }

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("a &amp; b &#8217; &#x41; &bogus; &"),
            "a & b ’ A &bogus; &"
        );
    }
}
