//! Page metadata: title, dates, authors, site name, language, canonical URL and lead-image URL,
//! read from JSON-LD, OpenGraph/`<meta>` tags and plain markup, in that order of trust.
//!
//! Publishers fill these sources unevenly, so every field is a chain of fallbacks; the order follows
//! what Mozilla Readability found to be most reliable (structured data first, visible markup last).

use super::dom::{Dom, Kind};
pub use super::values::{
    clean_author, clean_title_tag, decode_entities, has_offset, parse_date, text_similarity,
};
use serde_json::Value;

/// Everything the page says about itself, before choosing between sources.
#[derive(Debug, Default)]
pub struct PageMeta {
    /// `<meta property|name|itemprop=… content=…>` pairs; keys lowercased, in page order.
    pub metas: Vec<(String, String)>,
    pub title_tag: Option<String>,
    pub h1s: Vec<String>,
    /// `<h2>` texts (only to check whether `<title>` is a heading of the page).
    pub h2s: Vec<String>,
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
    /// `name`, which some sites fill with the site name instead of the headline.
    pub name: Option<String>,
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
    // (published-marked, node index, value)
    let mut times: Vec<(bool, usize, String)> = Vec::new();
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
                            // "DC.title" and "dc:title" name the same property.
                            let key = name.to_ascii_lowercase().replace('.', ":");
                            meta.metas.push((key, decode_entities(content)));
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
            "h1" | "h2" => {
                let text = dom.text(i, &[]);
                if !text.is_empty() {
                    if tag == "h1" {
                        meta.h1s.push(text);
                    } else if meta.h2s.len() < 50 {
                        meta.h2s.push(text);
                    }
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
                        times.push((true, i, dt.trim().to_string()));
                    } else {
                        times.push((false, i, dt.trim().to_string()));
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
                    // Some CMSs wrap the JSON in CDATA or HTML comments.
                    let json = raw
                        .trim()
                        .trim_start_matches("<![CDATA[")
                        .trim_start_matches("<!--")
                        .trim_end_matches("]]>")
                        .trim_end_matches("-->")
                        .trim();
                    if let Ok(value) = serde_json::from_str::<Value>(json) {
                        jsonld_values.push(value);
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    // Marked publication times first, then those after the headline (teaser and comment
    // timestamps tend to come before it or far below), then the rest, each in page order.
    let headline = (0..dom.len()).find(|&i| dom.tag(i) == "h1").unwrap_or(0);
    times.sort_by_key(|(published, i, _)| (!published, *i < headline, *i));
    meta.times = times.into_iter().map(|(_, _, value)| value).collect();
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
    out.headline = string(article.get("headline"));
    out.name = string(article.get("name"));
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
    fn article_times_beat_teaser_times() {
        let meta = meta_of(
            r#"<body><aside><time datetime="2020-01-01">teaser</time></aside>
            <h1>Headline</h1><time datetime="2024-05-14T13:05:00+03:00">May 14</time>
            <footer><time class="published" datetime="2024-05-14T12:00:00+03:00">x</time></footer></body>"#,
        );
        assert_eq!(
            meta.times,
            vec![
                "2024-05-14T12:00:00+03:00",
                "2024-05-14T13:05:00+03:00",
                "2020-01-01"
            ]
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
}
