//! XML sitemaps (sitemaps.org `urlset`, with the Google News and image extensions) and sitemap
//! indexes → entries, newest first.
//!
//! A news sitemap is how many publishers without a feed announce articles: `news:title` becomes
//! the title and `news:publication_date` the published date (`lastmod` when there is no news
//! date). A sitemap index yields the URLs of its child sitemaps; following them (and deciding
//! how many) is the caller's job, since that means fetching. Text sitemaps (one URL per line)
//! and robots.txt discovery are not handled here.

use quick_xml::events::Event;
use quick_xml::Reader;
use url::Url;

use super::date::parse_date;
use super::xml::{is_html_element, root_element};
use super::SourceError;
use crate::encoding::decode_xml;
use crate::model::Entry;

/// The URLs of a sitemap as entries, or the child sitemaps of a sitemap index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedSitemap {
    /// Newest first (entries without any date last, in document order), at most `max_entries`.
    pub entries: Vec<Entry>,
    /// Absolute URLs of the `<sitemap><loc>` children of a sitemap index, in document order.
    pub child_sitemaps: Vec<String>,
}

/// Parses a sitemap or sitemap index. `sitemap_url` resolves relative `loc` values (not allowed
/// by the protocol, but seen). A document cut off mid-way still yields the URLs before the cut.
pub fn parse_sitemap(
    bytes: &[u8],
    content_type: Option<&str>,
    sitemap_url: &Url,
    max_entries: usize,
) -> Result<ParsedSitemap, SourceError> {
    let text = decode_xml(bytes, content_type);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(SourceError::Empty);
    }
    check_root(trimmed)?;
    let mut reader = Reader::from_str(trimmed);
    let mut parsed = ParsedSitemap::default();
    let mut record = Record::default();
    // Local names of the open elements, innermost last.
    let mut path: Vec<String> = Vec::new();
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(error) => {
                if parsed.entries.is_empty() && parsed.child_sitemaps.is_empty() {
                    return Err(SourceError::Malformed {
                        reason: format!(
                            "invalid XML at byte {}: {error}",
                            reader.buffer_position()
                        ),
                    });
                }
                // Truncated or broken after some URLs: keep what was read.
                break;
            }
        };
        match event {
            Event::Start(start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                if name == "url" || name == "sitemap" {
                    record = Record::default();
                }
                path.push(name);
            }
            Event::End(end) => {
                let name = String::from_utf8_lossy(end.local_name().as_ref()).into_owned();
                match name.as_str() {
                    "url" => {
                        if let Some(entry) = std::mem::take(&mut record).into_entry(sitemap_url) {
                            parsed.entries.push(entry);
                        }
                    }
                    "sitemap" => {
                        if let Some(location) = resolve(&record.location, sitemap_url) {
                            parsed.child_sitemaps.push(location);
                        }
                    }
                    "image" => record.image_done = !record.image.trim().is_empty(),
                    _ => {}
                }
                if let Some(index) = path.iter().rposition(|open| *open == name) {
                    path.truncate(index);
                }
            }
            Event::Text(text) => {
                let decoded = text.decode().map_err(|error| SourceError::Malformed {
                    reason: error.to_string(),
                })?;
                record.push_text(&path, &decoded);
            }
            Event::CData(data) => {
                let decoded = data.decode().map_err(|error| SourceError::Malformed {
                    reason: error.to_string(),
                })?;
                record.push_text(&path, &decoded);
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(character)) => Some(character.to_string()),
                    _ => reference.decode().ok().and_then(|name| {
                        quick_xml::escape::resolve_predefined_entity(&name).map(str::to_string)
                    }),
                };
                if let Some(resolved) = resolved {
                    record.push_text(&path, &resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    // Stable: undated entries keep document order after the dated ones.
    parsed
        .entries
        .sort_by_key(|entry| std::cmp::Reverse(entry.published.map(|date| date.approximate_utc())));
    parsed.entries.truncate(max_entries);
    Ok(parsed)
}

fn check_root(text: &str) -> Result<(), SourceError> {
    if text.starts_with('{') || text.starts_with('[') {
        return Err(SourceError::NotASitemap {
            detected: "JSON".to_string(),
        });
    }
    let detected = match root_element(text).as_deref() {
        Some("urlset" | "sitemapindex") => return Ok(()),
        Some("rss" | "feed" | "rdf") => "an RSS or Atom feed".to_string(),
        Some(name) if is_html_element(name) => "an HTML page".to_string(),
        Some(other) => format!("an XML document with root element <{other}>"),
        None => "text that is not XML".to_string(),
    };
    Err(SourceError::NotASitemap { detected })
}

/// The text pieces of the current `<url>` or `<sitemap>` element (entity references arrive as
/// separate pieces, so text is appended, never assigned).
#[derive(Debug, Default)]
struct Record {
    location: String,
    last_modified: String,
    news_title: String,
    news_date: String,
    image: String,
    /// Set when the first `<image:image>` closes: only it is the lead image.
    image_done: bool,
}

impl Record {
    fn push_text(&mut self, path: &[String], text: &str) {
        let Some(current) = path.last() else {
            return;
        };
        let parent = path.len().checked_sub(2).and_then(|index| path.get(index));
        match (parent.map(String::as_str), current.as_str()) {
            (Some("url" | "sitemap"), "loc") => self.location.push_str(text),
            (Some("url" | "sitemap"), "lastmod") => self.last_modified.push_str(text),
            (Some("news"), "title") => self.news_title.push_str(text),
            (Some("news"), "publication_date") => self.news_date.push_str(text),
            (Some("image"), "loc") if !self.image_done => self.image.push_str(text),
            _ => {}
        }
    }

    fn into_entry(self, base: &Url) -> Option<Entry> {
        let url = resolve(&self.location, base)?;
        let news_date = parse_date(&self.news_date);
        let last_modified = parse_date(&self.last_modified);
        let published = news_date.or(last_modified);
        let title = self
            .news_title
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        Some(Entry {
            id: None,
            url: Some(url),
            title: (!title.is_empty()).then_some(title),
            published,
            updated: last_modified.filter(|date| Some(*date) != published),
            image_url: resolve(&self.image, base),
            ..Entry::default()
        })
    }
}

fn resolve(location: &str, base: &Url) -> Option<String> {
    let location = location.trim();
    if location.is_empty() {
        return None;
    }
    base.join(location).ok().map(|url| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">"#;

    fn sitemap_url() -> Url {
        Url::parse("https://news.example/sitemap.xml").unwrap()
    }

    /// Parses `body` and compares `url | title | published | image` per entry.
    fn check(body: &str, max_entries: usize, expected: &[&str]) {
        let parsed = parse_sitemap(body.as_bytes(), None, &sitemap_url(), max_entries).unwrap();
        let lines: Vec<String> = parsed
            .entries
            .iter()
            .map(|entry| {
                format!(
                    "{} | {} | {} | {}",
                    entry.url.as_deref().unwrap_or("-"),
                    entry.title.as_deref().unwrap_or("-"),
                    entry
                        .published
                        .map_or("-".to_string(), |date| date.to_record()),
                    entry.image_url.as_deref().unwrap_or("-"),
                )
            })
            .collect();
        assert_eq!(lines, expected, "input: {body}");
    }

    #[test]
    fn news_sitemap_newest_first() {
        check(
            &format!(
                "{HEAD}<url><loc>https://news.example/a?x=1&amp;y=2</loc><lastmod>2024-05-01T08:00:00+02:00</lastmod></url>\
                 <url><loc>/b</loc><news:news><news:title>B &amp; C</news:title>\
                 <news:publication_date>2024-05-14T13:05:00+03:00</news:publication_date></news:news>\
                 <image:image><image:loc>https://img.example/1.jpg</image:loc></image:image>\
                 <image:image><image:loc>https://img.example/2.jpg</image:loc></image:image></url>\
                 <url><loc><![CDATA[https://news.example/undated]]></loc></url></urlset>"
            ),
            10,
            &[
                "https://news.example/b | B & C | 2024-05-14T13:05:00+03:00 | https://img.example/1.jpg",
                "https://news.example/a?x=1&y=2 | - | 2024-05-01T08:00:00+02:00 | -",
                "https://news.example/undated | - | - | -",
            ],
        );
    }

    #[test]
    fn bounded_by_max_entries() {
        check(
            &format!(
                "{HEAD}<url><loc>https://news.example/old</loc><lastmod>2020-01-01</lastmod></url>\
                 <url><loc>https://news.example/new</loc><lastmod>2024-01-01</lastmod></url></urlset>"
            ),
            1,
            &["https://news.example/new | - | 2024-01-01T00:00:00 | -"],
        );
    }

    #[test]
    fn truncated_sitemap_keeps_complete_urls() {
        check(
            &format!(
                "{HEAD}<url><loc>https://news.example/a</loc></url><url><loc>https://news.exa"
            ),
            10,
            &["https://news.example/a | - | - | -"],
        );
    }

    #[test]
    fn sitemap_index_lists_children() {
        let body = r#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
            <sitemap><loc>https://news.example/sitemap-news.xml</loc><lastmod>2024-05-14</lastmod></sitemap>
            <sitemap><loc> /sitemap-2024-05.xml.gz </loc></sitemap></sitemapindex>"#;
        let parsed = parse_sitemap(body.as_bytes(), None, &sitemap_url(), 10).unwrap();
        assert!(parsed.entries.is_empty());
        assert_eq!(
            parsed.child_sitemaps,
            [
                "https://news.example/sitemap-news.xml",
                "https://news.example/sitemap-2024-05.xml.gz"
            ]
        );
    }

    #[test]
    fn other_documents_are_reported() {
        let check_error = |body: &str, expected: &str| {
            let error = parse_sitemap(body.as_bytes(), None, &sitemap_url(), 10).unwrap_err();
            assert!(error.to_string().contains(expected), "{body}: {error}");
        };
        check_error(
            "<rss version=\"2.0\"><channel/></rss>",
            "an RSS or Atom feed, not a sitemap: use kind = \"feed\"",
        );
        check_error("<!DOCTYPE html><html></html>", "an HTML page");
        check_error("", "empty");
        check_error("<urlset><url><loc>a</loc></wrong></urlset>", "invalid XML");
    }
}
