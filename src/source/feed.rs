//! TEMPORARY stub.
use super::SourceError;
use crate::model::Entry;
pub struct ParsedFeed {
    pub title: Option<String>,
    pub entries: Vec<Entry>,
    pub hub: Option<String>,
    pub ttl_minutes: Option<u32>,
}
pub fn parse_feed(
    bytes: &[u8],
    _content_type: Option<&str>,
    _feed_url: &url::Url,
) -> Result<ParsedFeed, SourceError> {
    let feed = feed_rs::parser::parse(bytes).map_err(|e| SourceError::Malformed {
        reason: e.to_string(),
    })?;
    let entries = feed
        .entries
        .into_iter()
        .map(|e| Entry {
            id: Some(e.id),
            url: e.links.first().map(|l| l.href.clone()),
            title: e.title.map(|t| t.content),
            published: e.published.map(|d| d.fixed_offset()),
            updated: None,
            authors: vec![],
            summary_html: e.summary.map(|s| s.content),
            content_html: e.content.and_then(|c| c.body),
            image_url: None,
        })
        .collect();
    Ok(ParsedFeed {
        title: feed.title.map(|t| t.content),
        entries,
        hub: None,
        ttl_minutes: None,
    })
}
