//! TEMPORARY stub, replaced by the real extractor.
pub mod charset;
pub mod render;
use crate::model::{Article, Block, BlockKind};
pub fn extract(html: &str, page_url: &url::Url) -> Article {
    let document = scraper::Html::parse_document(html);
    let title = scraper::Selector::parse("title")
        .ok()
        .and_then(|s| {
            document
                .select(&s)
                .next()
                .map(|e| e.text().collect::<String>())
        })
        .unwrap_or_default();
    let mut blocks = Vec::new();
    if let Ok(selector) = scraper::Selector::parse("p") {
        for element in document.select(&selector) {
            blocks.push(Block::new(
                BlockKind::Paragraph,
                element.text().collect::<String>(),
            ));
        }
    }
    Article {
        url: page_url.to_string(),
        fetched_url: page_url.to_string(),
        title,
        blocks,
        ..Default::default()
    }
}
pub fn fragment_blocks(html: &str, _base_url: &url::Url) -> Vec<Block> {
    let fragment = scraper::Html::parse_fragment(html);
    let text: String = fragment.root_element().text().collect();
    if text.trim().is_empty() {
        Vec::new()
    } else {
        vec![Block::new(BlockKind::Paragraph, text.trim())]
    }
}
