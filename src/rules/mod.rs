//! TEMPORARY stub: OR of lowercase words.
use serde::Serialize;
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Title,
    Body,
    Url,
    Source,
    Author,
    Lang,
}
pub struct Document<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub url: &'a str,
    pub source: &'a str,
    pub authors: &'a [String],
    pub language: Option<&'a str>,
}
#[derive(Debug, Clone)]
pub struct Query {
    terms: Vec<String>,
}
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct QueryError {
    pub column: usize,
    pub message: String,
}
impl Query {
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        if text.trim().is_empty() {
            return Err(QueryError {
                column: 1,
                message: "expected a term".into(),
            });
        }
        Ok(Query {
            terms: text
                .split_whitespace()
                .filter(|w| *w != "OR")
                .map(|w| {
                    w.trim_matches(|c: char| !c.is_alphanumeric())
                        .to_lowercase()
                })
                .collect(),
        })
    }
    pub fn any_of(keywords: &[String]) -> Result<Query, QueryError> {
        Ok(Query {
            terms: keywords.iter().map(|k| k.to_lowercase()).collect(),
        })
    }
}
pub struct Matcher {
    queries: Vec<Query>,
}
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    pub watchlist: usize,
    pub hits: Vec<Hit>,
}
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub term: String,
    pub field: Field,
    pub start: usize,
    pub end: usize,
    pub snippet: String,
}
impl Matcher {
    pub fn new(queries: Vec<Query>) -> Matcher {
        Matcher { queries }
    }
    pub fn len(&self) -> usize {
        self.queries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.queries.is_empty()
    }
    pub fn matches(&self, document: &Document) -> Vec<Match> {
        self.matches_among(document, &|_| true)
    }
    pub fn matches_among(
        &self,
        document: &Document,
        watchlists: &dyn Fn(usize) -> bool,
    ) -> Vec<Match> {
        let mut out = Vec::new();
        for (index, query) in self.queries.iter().enumerate() {
            if !watchlists(index) {
                continue;
            }
            let mut hits = Vec::new();
            for term in &query.terms {
                for (field, text) in [(Field::Title, document.title), (Field::Body, document.body)]
                {
                    if let Some(start) = text.to_lowercase().find(term.as_str()) {
                        hits.push(Hit {
                            term: term.clone(),
                            field,
                            start,
                            end: start + term.len(),
                            snippet: text.chars().take(160).collect(),
                        });
                        break;
                    }
                }
            }
            if !hits.is_empty() {
                out.push(Match {
                    watchlist: index,
                    hits,
                });
            }
        }
        out
    }
}
