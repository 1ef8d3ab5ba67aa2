//! TEMPORARY stub.
pub mod feed;
use crate::model::Entry;
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("malformed feed: {reason}")]
    Malformed { reason: String },
}
pub fn entry_key(entry: &Entry) -> String {
    entry
        .id
        .clone()
        .or_else(|| entry.url.as_deref().map(crate::model::canonical_url_text))
        .unwrap_or_else(|| entry.title.clone().unwrap_or_default())
}
