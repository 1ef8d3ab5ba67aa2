//! The nouns passed between pipeline stages: a feed [`Entry`], an extracted [`Article`] and its
//! [`Block`]s, plus the URL canonicalisation that entry identity and alert de-duplication share.
//!
//! Nothing here does I/O or reads the clock; these are plain data with serde derives. The JSON
//! shape of [`Article`] (with `body` and `text` added by `extract::render`) is the record of
//! docs/FORMAT.md and part of the alert payload contract: extend it, never rename fields.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use url::Url;

/// One item of a source (a feed entry, a list-page link, a sitemap URL), before any page fetch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The GUID / Atom id / JSON Feed id exactly as published, if any.
    pub id: Option<String>,
    /// The entry's link, absolute (resolved against the feed URL / xml:base).
    pub url: Option<String>,
    pub title: Option<String>,
    /// Publication date with the offset the publisher wrote.
    pub published: Option<DateTime<FixedOffset>>,
    pub updated: Option<DateTime<FixedOffset>>,
    pub authors: Vec<String>,
    /// Short description (RSS `description`, Atom `summary`), HTML as published.
    pub summary_html: Option<String>,
    /// Full content (`content:encoded`, Atom `content`), HTML as published.
    pub content_html: Option<String>,
    /// Lead image (media:content, enclosure of an image type), absolute.
    pub image_url: Option<String>,
}

/// An article in structured form: the record of docs/FORMAT.md minus the derived `body` and `text`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Article {
    /// Canonical URL (`<link rel=canonical>` / `og:url`, else the final fetched URL).
    pub url: String,
    /// Where the page was fetched from (after redirects).
    pub fetched_url: String,
    pub title: String,
    pub published: Option<DateTime<FixedOffset>>,
    pub updated: Option<DateTime<FixedOffset>>,
    pub authors: Vec<String>,
    pub site_name: Option<String>,
    pub language: Option<String>,
    pub image: Option<Image>,
    pub blocks: Vec<Block>,
}

/// The lead image: only its caption and credit are drawn in the document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub url: Option<String>,
    pub caption: Option<String>,
    pub credit: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    Paragraph,
    Heading,
    ListItem,
    Quote,
    /// An in-body "related article / read more" box; `href` holds its target.
    Related,
}

/// One body block. `text` is plain text (link text kept, no markup); inline links and bold runs
/// are kept as byte ranges into `text` so both the plain `body` and the marked-up document can be
/// produced from one value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    pub kind: BlockKind,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bold: Vec<Span>,
    /// Target of a `related` block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
}

impl Block {
    pub fn new(kind: BlockKind, text: impl Into<String>) -> Block {
        Block {
            kind,
            text: text.into(),
            links: Vec::new(),
            bold: Vec::new(),
            href: None,
        }
    }
}

/// An inline link: `text[start..start + self.text.len()]` of its block is the link text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub text: String,
    pub href: String,
    pub start: usize,
}

/// A byte range `[start, end)` of a block's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// Query parameters that only track campaigns; removing them makes one article one URL.
const TRACKING_PARAMETERS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "yclid",
    "_ga",
    "ref_src",
    "cmpid",
    "ncid",
    "ocid",
    "at_medium",
    "at_campaign",
    "spm",
];

/// The canonical form of an article URL: no fragment, no tracking parameters (`utm_*` and the
/// well-known click ids), default port dropped, host lowercased (the `url` crate does the last two).
pub fn canonical_url(url: &Url) -> Url {
    let mut canonical = url.clone();
    canonical.set_fragment(None);
    if canonical.query().is_some() {
        let kept: Vec<(String, String)> = canonical
            .query_pairs()
            .filter(|(name, value)| {
                let name = name.to_ascii_lowercase();
                !name.starts_with("utm_")
                    && !TRACKING_PARAMETERS.contains(&name.as_str())
                    && !marks_feed_referral(&name, value)
            })
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        if kept.is_empty() {
            canonical.set_query(None);
        } else {
            canonical.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    canonical
}

/// Parameters that publishers append to the links in their own feeds to count feed readers
/// (The New York Times' `?partner=rss&emc=rss`, `?ref=rss`). Only with a feed-like value: the
/// same names carry content elsewhere (`?ref=` of a code review, a partner id of a shop).
fn marks_feed_referral(name: &str, value: &str) -> bool {
    matches!(name, "partner" | "emc" | "ref" | "source" | "from" | "smid")
        && matches!(
            value.to_ascii_lowercase().as_str(),
            "rss" | "atom" | "feed" | "rssfeed" | "rss_feed"
        )
}

/// Canonicalises a URL given as text; text that is not an absolute URL is returned unchanged.
pub fn canonical_url_text(url: &str) -> String {
    match Url::parse(url.trim()) {
        Ok(parsed) => canonical_url(&parsed).to_string(),
        Err(_) => url.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(canonical_url_text(input), expected, "input: {input}");
    }

    #[test]
    fn canonical_urls() {
        check(
            "https://Example.org:443/a?utm_source=x#top",
            "https://example.org/a",
        );
        check(
            "https://example.org/a?id=3&utm_medium=rss&fbclid=9",
            "https://example.org/a?id=3",
        );
        check(
            "http://example.org/a?b=1&a=2",
            "http://example.org/a?b=1&a=2",
        );
        check(
            "http://www.nytimes.com/2017/01/06/us/x.html?partner=rss&emc=rss",
            "http://www.nytimes.com/2017/01/06/us/x.html",
        );
        check(
            "https://example.org/a?ref=RSS&partner=acme&source=web",
            "https://example.org/a?partner=acme&source=web",
        );
        check("not a url ", "not a url");
    }
}
