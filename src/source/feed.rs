//! Feed documents (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed 1.0/1.1) → [`Entry`] values in
//! document order, through feed-rs.
//!
//! Around feed-rs this module adds what a monitor needs: charset decoding first
//! ([`crate::encoding::decode_xml`]); dates that keep the publisher's offset (feed-rs only returns UTC, so our
//! own timestamp parser records the offset of every date it reads); a clear line between ids the
//! publisher wrote and ids feed-rs would invent; absolute links and image URLs; well-formed
//! entities before parsing and one lenient retry for broken XML (truncated documents, unclosed
//! CDATA, see `source::xml`); double-encoded UTF-8 in entry text undone where certain
//! (`source::mojibake`); a feed served inside an HTML wrapper read from the wrapper
//! (`source::wrapped`); and a clear error when the body is an HTML page or a sitemap. It does
//! not sanitize HTML (summaries stay as published; rendering decides what to keep).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use chrono::{DateTime, FixedOffset, Utc};
use url::Url;

use super::date::parse_date;
use super::json_feed::prepare_json;
use super::mojibake;
use super::wrapped::feed_inside_html;
use super::xml::{
    fix_entities, has_entry_tags, is_html_element, normalize_legacy_xml, normalize_rss_version,
    repair_xml, root_element, without_root_default_namespace,
};
use super::SourceError;
use crate::encoding::decode_xml;
use crate::model::{Entry, PublisherTime};

/// A parsed feed: its entries plus the channel facts the scheduler uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedFeed {
    pub title: Option<String>,
    pub entries: Vec<Entry>,
    /// WebSub hub (`<link rel="hub">`), for push subscriptions.
    pub hub: Option<String>,
    /// The feed's own URL as the publisher names it (`<link rel="self">`): the WebSub topic.
    pub self_link: Option<String>,
    /// RSS `<ttl>`: the publisher's suggested minimum polling interval.
    pub ttl_minutes: Option<u32>,
    /// RSS 1.0 syndication module: `sy:updatePeriod` (hourly, daily, …) as written, and
    /// `sy:updateFrequency` (times per period).
    pub update_period: Option<String>,
    pub update_frequency: Option<u32>,
}

/// What feed-rs's id generator returns instead of inventing an id. It contains a NUL character,
/// which XML cannot contain, so it never equals a published id.
const GENERATED_ID: &str = "\u{0}wirewatch:no-published-id";

/// The offset each parsed date was written with, by the instant handed to feed-rs; `None`
/// when it was written without one (a local time).
type Offsets = HashMap<DateTime<Utc>, Option<FixedOffset>>;
/// Maps each parsed instant back to the offset it was written with.
type OffsetLog = Rc<RefCell<Offsets>>;

/// Parses a feed body. `feed_url` is where it was fetched from: relative links resolve against
/// it (after any `xml:base`).
///
/// Entries whose published id is shared with another entry that has a *different* link lose
/// their `id` (it becomes `None`), so [`super::entry_key`] falls back to their URLs and no entry
/// is hidden behind another's identity. Entries sharing both id and link are kept as they are:
/// they are the same item listed twice and share one key.
pub fn parse_feed(
    bytes: &[u8],
    content_type: Option<&str>,
    feed_url: &Url,
) -> Result<ParsedFeed, SourceError> {
    let text = decode_xml(bytes, content_type);
    let trimmed = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if trimmed.trim_end().is_empty() {
        return Err(SourceError::Empty);
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let json = prepare_json(trimmed)?;
        let (feed, offsets) = run_feed_rs(json.text.as_bytes(), feed_url).map_err(|error| {
            SourceError::Malformed {
                reason: error.to_string(),
            }
        })?;
        let mut parsed = convert(feed, &offsets, feed_url);
        // feed-rs drops JSON Feed's `image`; items map one to one, in order.
        for (entry, image) in parsed.entries.iter_mut().zip(json.images) {
            if entry.image_url.is_none() {
                entry.image_url = image.map(|image| resolve(&image, feed_url));
            }
        }
        return Ok(parsed);
    }
    let unwrapped;
    let mut trimmed = trimmed;
    if let Some(detected) = detect_non_feed(trimmed) {
        match feed_inside_html(trimmed) {
            Some(feed) if detected == HTML_PAGE => {
                unwrapped = feed;
                trimmed = unwrapped.as_str();
            }
            _ => return Err(SourceError::NotAFeed { detected }),
        }
    }
    let xml = fix_entities(&normalize_legacy_xml(&normalize_rss_version(trimmed))).into_owned();
    let update_period = element_text(&xml, "updatePeriod").map(str::to_string);
    let update_frequency = element_text(&xml, "updateFrequency").and_then(|text| text.parse().ok());
    let mut parsed = parse_xml_leniently(xml, feed_url)?;
    parsed.update_period = update_period;
    parsed.update_frequency = update_frequency;
    Ok(parsed)
}

/// The trimmed text of the first element with this local name (any prefix), for channel-level
/// facts feed-rs does not expose (the syndication module's `sy:updatePeriod`).
fn element_text<'a>(xml: &'a str, local_name: &str) -> Option<&'a str> {
    let mut rest = xml;
    while let Some(position) = rest.find(local_name) {
        let before = &rest[..position];
        let after = &rest[position + local_name.len()..];
        rest = after;
        // the name must follow `<` or `<prefix:` and end at `>` or whitespace
        let opens = before.ends_with('<')
            || before
                .rfind('<')
                .map(|open| &before[open + 1..])
                .is_some_and(|prefix| {
                    prefix.ends_with(':')
                        && prefix[..prefix.len() - 1]
                            .chars()
                            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
                });
        if !opens {
            continue;
        }
        let close = after.find('>')?;
        if !(after[..close].trim().is_empty()) {
            continue; // attributes or a longer name: not a plain element
        }
        let text = &after[close + 1..];
        let end = text.find('<')?;
        let value = text[..end].trim();
        return (!value.is_empty()).then_some(value);
    }
    None
}

/// Runs feed-rs, then retries with fixes for what it rejects: a text construct whose `type` is
/// a MIME type it does not know (Atom 0.3 wrote `text/plain`; feed-rs fails the whole feed),
/// then once with [`repair_xml`]. The first error is the one reported.
fn parse_xml_leniently(xml: String, feed_url: &Url) -> Result<ParsedFeed, SourceError> {
    use feed_rs::parser::{ParseErrorKind, ParseFeedError};
    const MAX_ATTEMPTS: usize = 8;
    let mut attempt = xml;
    let mut repaired = false;
    let mut first_error: Option<ParseFeedError> = None;
    let mut namespace_dropped = false;
    for _ in 0..MAX_ATTEMPTS {
        let error = match run_feed_rs(attempt.as_bytes(), feed_url) {
            Ok((feed, offsets)) => {
                // No entries although the document has item/entry tags: feed-rs skipped them
                // over an unknown default namespace. Retry once without it.
                if feed.entries.is_empty() && !namespace_dropped && has_entry_tags(&attempt) {
                    namespace_dropped = true;
                    if let Some(without) = without_root_default_namespace(&attempt) {
                        attempt = without;
                        continue;
                    }
                }
                return Ok(convert(feed, &offsets, feed_url));
            }
            Err(error) => error,
        };
        let next = match &error {
            ParseFeedError::ParseError(ParseErrorKind::UnknownMimeType(mime)) => {
                let replacement = if mime.contains("html") {
                    "html"
                } else {
                    "text"
                };
                let fixed = attempt
                    .replace(
                        &format!("type=\"{mime}\""),
                        &format!("type=\"{replacement}\""),
                    )
                    .replace(&format!("type='{mime}'"), &format!("type='{replacement}'"));
                (fixed != attempt).then_some(fixed)
            }
            _ if !repaired => {
                repaired = true;
                Some(repair_xml(&attempt))
            }
            _ => None,
        };
        first_error.get_or_insert(error);
        match next {
            Some(next) => attempt = next,
            None => break,
        }
    }
    let reason = match &first_error {
        Some(error) => describe_failure(&attempt, error),
        None => "the document could not be parsed".to_string(),
    };
    Err(SourceError::Malformed { reason })
}

fn run_feed_rs(
    bytes: &[u8],
    feed_url: &Url,
) -> Result<(feed_rs::model::Feed, Offsets), feed_rs::parser::ParseFeedError> {
    let offsets: OffsetLog = Rc::default();
    let log = Rc::clone(&offsets);
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(feed_url.as_str()))
        .sanitize_content(false)
        .id_generator(|_links, _title, _uri| GENERATED_ID.to_string())
        .timestamp_parser(move |text| {
            // feed-rs wants an instant: a local time goes through as if it were UTC, and the
            // log says it had no offset, so `convert` turns it back into a local time.
            let date = parse_date(text)?;
            let instant = date.approximate_utc();
            let offset = match date {
                PublisherTime::Zoned(zoned) => Some(*zoned.offset()),
                PublisherTime::Local(_) => None,
            };
            log.borrow_mut().entry(instant).or_insert(offset);
            Some(instant)
        })
        .build();
    let feed = parser.parse(bytes)?;
    // The parser (and with it the closure's clone of the log) is dropped here, so this is the
    // only handle left; cloning the map is the fallback if that ever changes.
    drop(parser);
    let offsets = Rc::try_unwrap(offsets)
        .map(RefCell::into_inner)
        .unwrap_or_else(|shared| shared.borrow().clone());
    Ok((feed, offsets))
}

fn convert(feed: feed_rs::model::Feed, offsets: &Offsets, feed_url: &Url) -> ParsedFeed {
    let with_offset = |instant: DateTime<Utc>| -> PublisherTime {
        match offsets.get(&instant) {
            Some(Some(offset)) => PublisherTime::Zoned(instant.with_timezone(offset)),
            Some(None) => PublisherTime::Local(instant.naive_utc()),
            // Not parsed by us (feed-rs read it itself): feed-rs only hands out instants.
            None => PublisherTime::Zoned(instant.fixed_offset()),
        }
    };
    let link_of = |relation: &str| {
        feed.links
            .iter()
            .find(|link| {
                link.rel
                    .as_deref()
                    .is_some_and(|rel| rel.eq_ignore_ascii_case(relation))
            })
            .map(|link| resolve(&link.href, feed_url))
    };
    let hub = link_of("hub");
    let self_link = link_of("self");
    let mut title = feed
        .title
        .as_ref()
        .and_then(|title| plain_text(&title.content));
    mojibake::repair_field(&mut title);
    let mut entries: Vec<Entry> = feed
        .entries
        .into_iter()
        .map(|entry| convert_entry(entry, feed_url, &with_offset))
        .collect();
    // Text only: ids and links are identity and stay as published.
    for entry in &mut entries {
        mojibake::repair_field(&mut entry.title);
        mojibake::repair_field(&mut entry.summary_html);
        mojibake::repair_field(&mut entry.content_html);
        for author in &mut entry.authors {
            if let std::borrow::Cow::Owned(repaired) = mojibake::repair(author) {
                *author = repaired;
            }
        }
    }
    clear_ambiguous_ids(&mut entries);
    tell_apart_shared_keys(&mut entries);
    ParsedFeed {
        title,
        entries,
        hub,
        self_link,
        ttl_minutes: feed.ttl,
        update_period: None,
        update_frequency: None,
    }
}

fn convert_entry(
    entry: feed_rs::model::Entry,
    feed_url: &Url,
    with_offset: &dyn Fn(DateTime<Utc>) -> PublisherTime,
) -> Entry {
    let id = Some(entry.id.trim().to_string())
        .filter(|id| !id.is_empty() && id.as_str() != GENERATED_ID);
    let url = entry_link(&entry.links)
        .map(|href| resolve(href, feed_url))
        // RSS items often carry only `<guid isPermaLink="true">`; feed-rs does not say whether
        // the guid was a permalink, so an id that is an absolute web URL stands in for it.
        .or_else(|| {
            id.as_deref()
                .filter(|id| is_web_url(id))
                .map(str::to_string)
        });
    let image_url = entry_image(&entry).map(|href| resolve(&href, feed_url));
    let enclosure_url = entry_enclosure(&entry).map(|href| resolve(&href, feed_url));
    Entry {
        id,
        url,
        title: entry
            .title
            .as_ref()
            .and_then(|title| plain_text(&title.content)),
        published: entry.published.map(with_offset),
        // feed-rs copies an RSS item's pubDate into `updated`; a copy says nothing new.
        updated: entry
            .updated
            .filter(|updated| Some(*updated) != entry.published)
            .map(with_offset),
        authors: entry
            .authors
            .iter()
            .filter_map(|person| plain_text(&person.name))
            .collect(),
        summary_html: entry
            .summary
            .map(|summary| summary.content)
            .filter(|summary| !summary.trim().is_empty()),
        content_html: entry.content.and_then(|content| {
            let body = content.body.filter(|body| !body.trim().is_empty())?;
            // JSON Feed's `content_text` arrives as text/plain; the model field holds HTML.
            if content.content_type.to_string().starts_with("text/plain") {
                Some(escape_html(&body))
            } else {
                Some(body)
            }
        }),
        image_url,
        enclosure_url,
        distinct_by: None,
    }
}

/// The first enclosure: RSS `<enclosure>` (feed-rs reads it as media content) or an Atom
/// `rel="enclosure"` link.
fn entry_enclosure(entry: &feed_rs::model::Entry) -> Option<String> {
    entry
        .media
        .iter()
        .flat_map(|object| object.content.iter())
        .find_map(|content| content.url.as_ref().map(|url| url.to_string()))
        .or_else(|| {
            entry
                .links
                .iter()
                .find(|link| link.rel.as_deref() == Some("enclosure"))
                .map(|link| link.href.trim().to_string())
        })
        .filter(|href| !href.is_empty())
}

/// The entry's web page: an `alternate` (or rel-less) link that is not a media file.
fn entry_link(links: &[feed_rs::model::Link]) -> Option<&str> {
    let is_page = |link: &&feed_rs::model::Link| {
        let rel_ok = link
            .rel
            .as_deref()
            .is_none_or(|rel| rel.eq_ignore_ascii_case("alternate"));
        let type_ok = link.media_type.as_deref().is_none_or(|media_type| {
            !(media_type.starts_with("image/")
                || media_type.starts_with("audio/")
                || media_type.starts_with("video/"))
        });
        rel_ok && type_ok && !link.href.trim().is_empty()
    };
    links
        .iter()
        .filter(is_page)
        .find(|link| link.rel.is_some())
        .or_else(|| links.iter().find(is_page))
        .map(|link| link.href.trim())
}

/// Lead image: media:content / enclosure of an image type, then a media thumbnail, then an
/// Atom `enclosure` link of an image type.
fn entry_image(entry: &feed_rs::model::Entry) -> Option<String> {
    let media_image = entry.media.iter().find_map(|object| {
        object.content.iter().find_map(|content| {
            let url = content.url.as_ref()?;
            let is_image = match &content.content_type {
                Some(media_type) => media_type.ty() == "image",
                None => looks_like_image(url.path()),
            };
            is_image.then(|| url.to_string())
        })
    });
    media_image
        .or_else(|| {
            entry.media.iter().find_map(|object| {
                object
                    .thumbnails
                    .first()
                    .map(|thumbnail| thumbnail.image.uri.clone())
            })
        })
        .or_else(|| {
            entry.links.iter().find_map(|link| {
                let is_enclosure = link.rel.as_deref() == Some("enclosure");
                let is_image = link
                    .media_type
                    .as_deref()
                    .is_some_and(|media_type| media_type.starts_with("image/"));
                (is_enclosure && is_image).then(|| link.href.clone())
            })
        })
}

fn looks_like_image(path: &str) -> bool {
    let path = path.to_ascii_lowercase();
    [".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif"]
        .iter()
        .any(|extension| path.ends_with(extension))
}

fn is_web_url(text: &str) -> bool {
    Url::parse(text).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
}

/// Resolves a link against the feed URL; text that cannot be resolved is kept trimmed.
fn resolve(href: &str, base: &Url) -> String {
    let href = href.trim();
    match base.join(href) {
        Ok(url) => url.to_string(),
        Err(_) => href.to_string(),
    }
}

/// Titles and names are plain text, but publishers put entities (`&#8211;`, double-escaped
/// `&amp;amp;`) and tags (`<b>`) in them; decode them once as HTML and collapse whitespace.
fn plain_text(text: &str) -> Option<String> {
    let decoded = if text.contains('&') || text.contains('<') {
        let fragment = scraper::Html::parse_fragment(text);
        fragment.root_element().text().collect::<String>()
    } else {
        text.to_string()
    };
    let collapsed = decoded.split_whitespace().collect::<Vec<_>>().join(" ");
    (!collapsed.is_empty()).then_some(collapsed)
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Entries that still share one key but are different posts (one guid and link on several
/// items, as some feeds publish a section page's updates) each get their content digest; copies
/// of one item keep sharing a key.
fn tell_apart_shared_keys(entries: &mut [Entry]) {
    let mut digests_by_key: HashMap<String, Vec<String>> = HashMap::new();
    let keyed: Vec<(String, String)> = entries
        .iter()
        .map(|entry| (super::entry_key(entry), super::content_digest(entry)))
        .collect();
    for (key, digest) in &keyed {
        digests_by_key
            .entry(key.clone())
            .or_default()
            .push(digest.clone());
    }
    for (entry, (key, digest)) in entries.iter_mut().zip(keyed) {
        let differing = digests_by_key
            .get(&key)
            .is_some_and(|digests| digests.iter().any(|other| *other != digest));
        if differing {
            entry.distinct_by = Some(digest);
        }
    }
}

fn clear_ambiguous_ids(entries: &mut [Entry]) {
    let mut links_by_id: HashMap<String, Vec<Option<String>>> = HashMap::new();
    for entry in entries.iter() {
        if let Some(id) = &entry.id {
            links_by_id
                .entry(id.clone())
                .or_default()
                .push(entry.url.clone());
        }
    }
    for entry in entries.iter_mut() {
        let ambiguous = entry.id.as_ref().is_some_and(|id| {
            links_by_id
                .get(id)
                .is_some_and(|links| links.iter().any(|link| Some(link) != links.first()))
        });
        if ambiguous {
            entry.id = None;
        }
    }
}

const HTML_PAGE: &str = "an HTML page";

fn detect_non_feed(text: &str) -> Option<String> {
    let root = root_element(text);
    let detected = match root.as_deref() {
        Some("rss" | "feed" | "rdf" | "entry" | "channel") => return None,
        Some(name) if is_html_element(name) => HTML_PAGE.to_string(),
        Some("urlset" | "sitemapindex") => "a sitemap".to_string(),
        Some("opml") => "an OPML subscription list".to_string(),
        Some(other) => format!("an XML document with root element <{other}>"),
        None => "text that is neither XML nor JSON".to_string(),
    };
    Some(detected)
}

/// The reason given when even the repaired document does not parse.
fn describe_failure(xml: &str, error: &feed_rs::parser::ParseFeedError) -> String {
    use feed_rs::parser::{ParseErrorKind, ParseFeedError};
    match (root_element(xml).as_deref(), error) {
        (Some("rss"), ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot)) => {
            "the <rss> element has no <channel>".to_string()
        }
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests;
