//! TEMPORARY stub.
use crate::model::Article;
use serde::Serialize;
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkStyle {
    Absolute,
    Hash,
}
pub fn document(article: &Article, _links: LinkStyle) -> String {
    format!(
        "{}\n\n{}\n\nOriginal url:\n\n<{}>\n",
        article.title,
        body(article),
        article.url
    )
}
pub fn body(article: &Article) -> String {
    article
        .blocks
        .iter()
        .map(|b| b.text.as_str())
        .collect::<Vec<_>>()
        .join("\n\n")
}
pub fn date_line(published: &chrono::DateTime<chrono::FixedOffset>) -> String {
    published.format("%B %-d, %Y").to_string()
}
#[derive(Serialize)]
pub struct Record<'a> {
    #[serde(flatten)]
    pub article: &'a Article,
    pub body: String,
    pub text: String,
}
pub fn record(article: &Article, links: LinkStyle) -> Record<'_> {
    Record {
        article,
        body: body(article),
        text: document(article, links),
    }
}
