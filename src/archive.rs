//! The article archive's contents: what one archived row holds ([`archived`]: the FORMAT.md
//! record of a processed article, zstd-compressed, beside the fields lookups filter on), how a
//! row reads back as the article it was ([`decode`]), and the id that names it
//! ([`article_id`]). Matching an archived article goes through `assemble::match_article`, the
//! function the daemon matches fresh articles with, so the past is queried with the live
//! semantics.
//!
//! Pure: no I/O, no clock (the processing time is an argument). It does not store, page
//! through or prune rows (the store does), nor decide retention or backfills (the daemon does).

use sha2::{Digest, Sha256};

use crate::extract::render::{self, LinkStyle};
use crate::model::Article;
use crate::store::{ArchivedArticle, Millis};

/// zstd's level for records: measured with `examples/archive_bench.rs`, levels above this
/// save a few percent more for several times the CPU per article.
const COMPRESSION_LEVEL: i32 = 9;

/// A record decompressed to more than this is refused (a damaged or foreign row), so one row
/// cannot take the memory of a command or the daemon: pages are capped far below it.
const MAX_RECORD_BYTES: usize = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot serialize the record: {0}")]
    Serialize(serde_json::Error),
    #[error("cannot compress the record: {0}")]
    Compress(std::io::Error),
    #[error("the archived record is damaged (cannot decompress it: {0})")]
    Decompress(std::io::Error),
    #[error("the archived record is not an article record (see docs/FORMAT.md): {0}")]
    Record(serde_json::Error),
}

/// `art_` and the hex SHA-256 of the URL that identifies the article: one archive row per
/// article, whichever source brought it.
pub fn article_id(article_url: &str) -> String {
    let hex: String = Sha256::digest(article_url.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("art_{hex}")
}

/// The archive row of an article processed at `processed_at` from `source`, identified by
/// `article_url` (what `assemble::settle` returned).
pub fn archived(
    article: &Article,
    article_url: &str,
    source: &str,
    processed_at: Millis,
) -> Result<ArchivedArticle, ArchiveError> {
    Ok(ArchivedArticle {
        id: article_id(article_url),
        source: source.to_string(),
        url: article_url.to_string(),
        fetched_url: article.fetched_url.clone(),
        title: article.title.clone(),
        language: article.language.clone(),
        processed_at,
        record: encode(article)?,
    })
}

/// The FORMAT.md record (links absolute), as JSON, zstd-compressed.
pub fn encode(article: &Article) -> Result<Vec<u8>, ArchiveError> {
    let json = serde_json::to_vec(&render::record(article, LinkStyle::Absolute))
        .map_err(ArchiveError::Serialize)?;
    zstd::bulk::compress(&json, COMPRESSION_LEVEL).map_err(ArchiveError::Compress)
}

/// The article an archived record holds (the record's `body` and `text` are derived from it
/// and recomputed when needed).
pub fn decode(record: &[u8]) -> Result<Article, ArchiveError> {
    serde_json::from_slice(&decompress(record)?).map_err(ArchiveError::Record)
}

/// The record's JSON text, as `extract --format json` prints it.
pub fn decompress(record: &[u8]) -> Result<Vec<u8>, ArchiveError> {
    use std::io::Read;
    let mut decoder = zstd::stream::read::Decoder::new(record).map_err(ArchiveError::Decompress)?;
    let mut json = Vec::with_capacity(record.len() * 4);
    let read = (&mut decoder)
        .take(MAX_RECORD_BYTES as u64 + 1)
        .read_to_end(&mut json)
        .map_err(ArchiveError::Decompress)?;
    if read > MAX_RECORD_BYTES {
        return Err(ArchiveError::Decompress(std::io::Error::other(format!(
            "it decompresses to more than {} MiB",
            MAX_RECORD_BYTES >> 20
        ))));
    }
    Ok(json)
}

#[cfg(test)]
mod tests;
