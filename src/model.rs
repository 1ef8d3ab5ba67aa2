//! The nouns passed between pipeline stages: a feed [`Entry`], an extracted [`Article`] and its
//! [`Block`]s, plus the URL canonicalisation that entry identity and alert de-duplication share.
//!
//! Nothing here does I/O or reads the clock; these are plain data with serde derives. The JSON
//! shape of [`Article`] (with `body` and `text` added by `extract::render`) is the record of
//! docs/FORMAT.md and part of the alert payload contract: extend it, never rename fields.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

/// A time as the publisher wrote it: with its UTC offset, or — when the page gives none — the
/// local wall-clock time without one. wirewatch never invents an offset ("Z" would shift a Paris
/// page by an hour); the record writes a local time as `2024-05-14T13:05:00`, without offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PublisherTime {
    /// The publisher stated the offset.
    Zoned(DateTime<FixedOffset>),
    /// The publisher gave a wall-clock time (or a bare date, at midnight) and no zone.
    Local(NaiveDateTime),
}

impl PublisherTime {
    /// The wall-clock time as written, in the publisher's own zone.
    pub fn local(&self) -> NaiveDateTime {
        match self {
            PublisherTime::Zoned(time) => time.naive_local(),
            PublisherTime::Local(time) => *time,
        }
    }

    /// A moment for ordering and age checks only: a local time is taken as if it were UTC (off
    /// by at most the publisher's offset, which is unknown). Never shown.
    pub fn approximate_utc(&self) -> DateTime<Utc> {
        match self {
            PublisherTime::Zoned(time) => time.with_timezone(&Utc),
            PublisherTime::Local(time) => time.and_utc(),
        }
    }

    /// RFC 3339 with the publisher's offset, or the local time without one
    /// (`2024-05-14T13:05:00`, fractional seconds only when written).
    pub fn to_record(&self) -> String {
        match self {
            PublisherTime::Zoned(time) => time.to_rfc3339(),
            PublisherTime::Local(time) => time.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
        }
    }

    /// A local time read in the source's configured zone (`timezone = "Europe/Paris"`), which
    /// then states its offset; a time that had one keeps it. A wall-clock time the zone skips
    /// (the hour lost to daylight saving) stays local rather than being moved; one it repeats
    /// takes the earlier offset.
    pub fn in_zone(self, zone: chrono_tz::Tz) -> PublisherTime {
        match self {
            PublisherTime::Local(time) => match zone.from_local_datetime(&time).earliest() {
                Some(zoned) => PublisherTime::Zoned(zoned.fixed_offset()),
                None => self,
            },
            PublisherTime::Zoned(_) => self,
        }
    }

    /// Reads what [`PublisherTime::to_record`] writes.
    pub fn from_record(text: &str) -> Option<PublisherTime> {
        if let Ok(time) = DateTime::parse_from_rfc3339(text) {
            return Some(PublisherTime::Zoned(time));
        }
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(PublisherTime::Local)
    }
}

impl From<DateTime<FixedOffset>> for PublisherTime {
    fn from(time: DateTime<FixedOffset>) -> Self {
        PublisherTime::Zoned(time)
    }
}

impl Serialize for PublisherTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_record())
    }
}

impl<'de> Deserialize<'de> for PublisherTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PublisherTime::from_record(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{text:?} is neither RFC 3339 nor a local time like 2024-05-14T13:05:00"
            ))
        })
    }
}

/// One item of a source (a feed entry, a list-page link, a sitemap URL), before any page fetch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The GUID / Atom id / JSON Feed id exactly as published, if any.
    pub id: Option<String>,
    /// The entry's link, absolute (resolved against the feed URL / xml:base).
    pub url: Option<String>,
    pub title: Option<String>,
    /// Publication date with the offset the publisher wrote, or a local time when it wrote none.
    pub published: Option<PublisherTime>,
    pub updated: Option<PublisherTime>,
    pub authors: Vec<String>,
    /// Short description (RSS `description`, Atom `summary`), HTML as published.
    pub summary_html: Option<String>,
    /// Full content (`content:encoded`, Atom `content`), HTML as published.
    pub content_html: Option<String>,
    /// Lead image (media:content, enclosure of an image type), absolute.
    pub image_url: Option<String>,
    /// The first enclosure of any type (a podcast's audio file), absolute: part of the identity
    /// of items that have no link, guid or title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enclosure_url: Option<String>,
    /// Set by the feed parser when entries of one document share an identity but are different
    /// items (one guid and link on several distinct posts): a digest of this entry's content,
    /// appended to its key so each stays distinct. Identical copies get the same digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct_by: Option<String>,
}

/// An article in structured form: the record of docs/FORMAT.md minus the derived `body` and `text`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Article {
    /// Canonical URL (`<link rel=canonical>` / `og:url`, else the final fetched URL).
    pub url: String,
    /// Where the page was fetched from (after redirects).
    pub fetched_url: String,
    pub title: String,
    pub published: Option<PublisherTime>,
    pub updated: Option<PublisherTime>,
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

/// Longest article title kept, in characters: real headlines are under 300; a longer one is a
/// broken or hostile feed, and every alert repeats the title in its payload, its message and the
/// log.
pub const MAX_TITLE_CHARS: usize = 1_000;
/// Longest author name kept, in characters.
pub const MAX_AUTHOR_CHARS: usize = 200;
/// Most authors kept per article.
pub const MAX_AUTHORS: usize = 20;
/// Longest site name, image caption or image credit kept, in characters.
pub const MAX_LABEL_CHARS: usize = 1_000;

/// `text` cut to at most `limit` characters on a character boundary, an ellipsis (counted in the
/// limit) marking the cut.
pub fn clip(text: &str, limit: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(limit) {
        None => std::borrow::Cow::Borrowed(text),
        Some(_) => {
            let end = text
                .char_indices()
                .nth(limit.saturating_sub(1))
                .map_or(text.len(), |(index, _)| index);
            std::borrow::Cow::Owned(format!("{}…", &text[..end]))
        }
    }
}

fn clip_in_place(text: &mut String, limit: usize) {
    if let std::borrow::Cow::Owned(clipped) = clip(text, limit) {
        *text = clipped;
    }
}

/// Whether a link may appear in an alert: an absolute http(s) URL without user name or password.
/// Anything else (`javascript:`, `file:`, `data:`, credentials in the URL) is never fetched, and
/// chat services refuse to link to it.
pub fn usable_link(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|host| !host.is_empty())
        && url.username().is_empty()
        && url.password().is_none()
}

fn usable_link_text(text: &str) -> bool {
    Url::parse(text.trim()).is_ok_and(|url| usable_link(&url))
}

impl Article {
    /// Applies the size limits ([`MAX_TITLE_CHARS`], [`MAX_AUTHORS`], …) and drops every link
    /// that is not [`usable_link`]: the article's own URLs, the image URL, inline links (their
    /// text stays) and related-box targets. What is left is safe to put into payloads and logs.
    pub fn bound(&mut self) {
        clip_in_place(&mut self.title, MAX_TITLE_CHARS);
        self.authors.truncate(MAX_AUTHORS);
        for author in &mut self.authors {
            clip_in_place(author, MAX_AUTHOR_CHARS);
        }
        if let Some(site_name) = &mut self.site_name {
            clip_in_place(site_name, MAX_LABEL_CHARS);
        }
        if !usable_link_text(&self.url) {
            self.url.clear();
        }
        if !usable_link_text(&self.fetched_url) {
            self.fetched_url.clear();
        }
        if let Some(image) = &mut self.image {
            if image
                .url
                .as_deref()
                .is_some_and(|url| !usable_link_text(url))
            {
                image.url = None;
            }
            for label in [&mut image.caption, &mut image.credit]
                .into_iter()
                .flatten()
            {
                clip_in_place(label, MAX_LABEL_CHARS);
            }
        }
        for block in &mut self.blocks {
            block.links.retain(|link| usable_link_text(&link.href));
            if block
                .href
                .as_deref()
                .is_some_and(|href| !usable_link_text(href))
            {
                block.href = None;
            }
        }
    }
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

    #[test]
    fn publisher_times_keep_what_was_written() {
        let zoned = PublisherTime::from_record("2024-05-14T13:05:00+03:00");
        assert_eq!(
            zoned.map(|time| time.to_record()).as_deref(),
            Some("2024-05-14T13:05:00+03:00")
        );
        // No zone given: no "Z", no "+00:00" in the record.
        let local = PublisherTime::from_record("2015-04-30T07:19:58");
        assert!(matches!(local, Some(PublisherTime::Local(_))));
        assert_eq!(
            local.map(|time| time.to_record()).as_deref(),
            Some("2015-04-30T07:19:58")
        );
        let json = serde_json::to_string(&local).unwrap();
        assert_eq!(json, "\"2015-04-30T07:19:58\"");
        assert_eq!(
            serde_json::from_str::<Option<PublisherTime>>(&json).unwrap(),
            local
        );
        assert!(PublisherTime::from_record("yesterday").is_none());
    }

    fn check(input: &str, expected: &str) {
        assert_eq!(canonical_url_text(input), expected, "input: {input}");
    }

    #[test]
    fn clip_cuts_on_a_character_boundary() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "ab…");
        assert_eq!(clip("ééééé", 4), "ééé…");
        assert_eq!(
            clip(&"x".repeat(1 << 20), MAX_TITLE_CHARS).chars().count(),
            MAX_TITLE_CHARS
        );
    }

    #[test]
    fn bound_drops_unusable_links_and_long_fields() {
        let mut article = Article {
            url: "javascript:alert(1)".into(),
            fetched_url: "http://user:pass@example.org/a".into(),
            title: "t".repeat(5_000),
            authors: vec!["a".repeat(500); 30],
            image: Some(Image {
                url: Some("file:///etc/passwd".into()),
                caption: None,
                credit: None,
            }),
            blocks: vec![Block {
                links: vec![
                    Link {
                        text: "x".into(),
                        href: "gopher://example.org/".into(),
                        start: 0,
                    },
                    Link {
                        text: "x".into(),
                        href: "https://example.org/ok".into(),
                        start: 0,
                    },
                ],
                href: Some("data:text/html,hi".into()),
                ..Block::new(BlockKind::Related, "x")
            }],
            ..Article::default()
        };
        article.bound();
        assert_eq!(article.url, "");
        assert_eq!(article.fetched_url, "");
        assert_eq!(article.title.chars().count(), MAX_TITLE_CHARS);
        assert_eq!(article.authors.len(), MAX_AUTHORS);
        assert_eq!(article.authors[0].chars().count(), MAX_AUTHOR_CHARS);
        assert_eq!(article.image.unwrap().url, None);
        assert_eq!(article.blocks[0].links.len(), 1);
        assert_eq!(article.blocks[0].href, None);
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
