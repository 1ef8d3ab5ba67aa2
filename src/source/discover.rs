//! Feed autodiscovery: the feeds an HTML page announces with `<link rel="alternate"
//! type="application/rss+xml|atom+xml|feed+json">`, plus [`COMMON_FEED_PATHS`] to try when it
//! announces none.
//!
//! This only reads the page it is given; probing the common paths (fetching each, checking the
//! body with `feed::parse_feed`) is the caller's job. `<a href>` links that merely look like
//! feeds are not reported: they are too often category pages or podcasts.

use std::collections::HashSet;

use scraper::{Html, Selector};
use url::Url;

/// Paths where sites commonly serve a feed without announcing it, most common first (WordPress,
/// Ghost, Hugo, Jekyll, Blogger, Substack and generic conventions). Join them to the site root.
pub const COMMON_FEED_PATHS: &[&str] = &[
    "/feed",
    "/rss",
    "/feed.xml",
    "/rss.xml",
    "/atom.xml",
    "/index.xml",
    "/feed/atom",
    "/feed.json",
    "/index.rss",
    "/rss/index.rss",
    "/?feed=rss2",
    "/feeds/posts/default",
];

/// The format an announced feed declares (its `type` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    Rss,
    Atom,
    JsonFeed,
}

/// A feed announced by a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredFeed {
    /// Absolute URL (resolved against `<base href>` and the page URL).
    pub url: String,
    pub title: Option<String>,
    pub kind: FeedFormat,
}

/// The feeds a page announces, in document order, each URL once.
pub fn discover_feeds(html: &str, page_url: &Url) -> Vec<DiscoveredFeed> {
    let document = Html::parse_document(html);
    let (Ok(links), Ok(bases)) = (Selector::parse("link[href]"), Selector::parse("base[href]"))
    else {
        return Vec::new();
    };
    let base = document
        .select(&bases)
        .next()
        .and_then(|base| base.value().attr("href"))
        .and_then(|href| page_url.join(href.trim()).ok())
        .unwrap_or_else(|| page_url.clone());
    let mut seen = HashSet::new();
    let mut feeds = Vec::new();
    for link in document.select(&links) {
        let element = link.value();
        let is_alternate = element.attr("rel").is_some_and(|rel| {
            rel.split_ascii_whitespace()
                .any(|token| token.eq_ignore_ascii_case("alternate"))
        });
        let Some(kind) = element.attr("type").and_then(feed_format) else {
            continue;
        };
        let Some(href) = element.attr("href").map(str::trim) else {
            continue;
        };
        if !is_alternate || href.is_empty() {
            continue;
        }
        let Ok(url) = base.join(href) else {
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") || !seen.insert(url.to_string()) {
            continue;
        }
        let title = element
            .attr("title")
            .map(|title| title.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|title| !title.is_empty());
        feeds.push(DiscoveredFeed {
            url: url.to_string(),
            title,
            kind,
        });
    }
    feeds
}

fn feed_format(media_type: &str) -> Option<FeedFormat> {
    let essence = media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/rss+xml" | "application/rdf+xml" | "application/x-rss+xml" => {
            Some(FeedFormat::Rss)
        }
        "application/atom+xml" => Some(FeedFormat::Atom),
        "application/feed+json" | "application/json" => Some(FeedFormat::JsonFeed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(html: &str, expected: &[(&str, Option<&str>, FeedFormat)]) {
        let page_url = Url::parse("https://blog.example/posts/today").unwrap();
        let found = discover_feeds(html, &page_url);
        let expected: Vec<DiscoveredFeed> = expected
            .iter()
            .map(|(url, title, kind)| DiscoveredFeed {
                url: url.to_string(),
                title: title.map(str::to_string),
                kind: *kind,
            })
            .collect();
        assert_eq!(found, expected, "html: {html}");
    }

    #[test]
    fn announced_feeds() {
        check(
            r#"<html><head>
            <link rel="alternate" type="application/rss+xml" title=" Posts " href="/feed/">
            <link rel="Alternate Feed" type="application/atom+xml; charset=utf-8" href="atom.xml">
            <link rel="alternate" type="application/feed+json" href="https://blog.example/feed.json">
            <link rel="alternate" type="application/rss+xml" href="/feed/">
            <link rel="alternate" hreflang="de" href="/de/">
            <link rel="stylesheet" type="text/css" href="/s.css">
            <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
            </head></html>"#,
            &[
                ("https://blog.example/feed/", Some("Posts"), FeedFormat::Rss),
                (
                    "https://blog.example/posts/atom.xml",
                    None,
                    FeedFormat::Atom,
                ),
                ("https://blog.example/feed.json", None, FeedFormat::JsonFeed),
            ],
        );
    }

    #[test]
    fn base_href_is_honoured() {
        check(
            r#"<head><base href="https://cdn.example/site/"><link rel="alternate" type="application/rss+xml" href="rss.xml"></head>"#,
            &[("https://cdn.example/site/rss.xml", None, FeedFormat::Rss)],
        );
    }

    #[test]
    fn pages_without_feeds() {
        check("<html><body><a href='/feed'>feed</a></body></html>", &[]);
        check("", &[]);
    }

    #[test]
    fn common_paths_are_root_relative() {
        assert!(COMMON_FEED_PATHS.iter().all(|path| path.starts_with('/')));
    }
}
