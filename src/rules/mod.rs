//! Watchlist rules: the query language, and the matcher that finds which of many watchlists an
//! article matches, with the hits and snippets that alerts carry.
//!
//! `Query::parse` turns query text into a tree (`parser` → `ast`); `Matcher::new` compiles all
//! watchlists of a config into one Aho-Corasick automaton over every term plus one regex set,
//! and `Matcher::matches` scans an article once, then evaluates only the watchlists one of whose
//! required terms was seen (`matcher`). Text on both sides is folded the same way (`normalize`):
//! case, diacritics, compatibility forms, whole words, CJK by character. The syntax is in
//! docs/QUERY.md.
//!
//! This module is pure: no I/O, no clock, no async, no logging. It does not know watchlist names,
//! sources or sinks; watchlists are indices into the `Vec` given to `Matcher::new`, and the caller
//! names them in errors and alerts.

mod ast;
mod compile;
mod evaluate;
mod explain;
mod lexer;
mod matcher;
mod normalize;
mod parser;
#[cfg(test)]
mod reference;
mod scan;
mod snippet;
#[cfg(test)]
mod tests;

pub use ast::Field;
pub use explain::{explain, Explanation};
pub use matcher::Matcher;

use std::sync::Arc;

use serde::Serialize;

/// The parts of an article that queries can look at. Borrowed, so matching copies nothing.
#[derive(Debug, Clone, Copy)]
pub struct Document<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub url: &'a str,
    /// The source's name or id as configured.
    pub source: &'a str,
    pub authors: &'a [String],
    /// BCP 47 code such as `en` or `pt-BR`, when known.
    pub language: Option<&'a str>,
}

impl<'a> Document<'a> {
    /// What queries see of an extracted article: the one construction the daemon and
    /// `wirewatch match` share, so a query means the same in both. `body` is the article's plain
    /// body (`render::body`); `source` the configured source name (never the site's name).
    pub fn of_article(
        article: &'a crate::model::Article,
        body: &'a str,
        source: &'a str,
    ) -> Document<'a> {
        Document {
            title: &article.title,
            body,
            url: &article.url,
            source,
            authors: &article.authors,
            language: article.language.as_deref(),
        }
    }
}

/// A parsed watchlist query. Cheap to clone; compile many into a `Matcher`.
#[derive(Debug, Clone)]
pub struct Query {
    root: ast::Node,
}

impl Query {
    /// Parses query text (see docs/QUERY.md). The error names the 1-based column and what was
    /// expected there.
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        parser::parse(text).map(|root| Query { root })
    }

    /// The `keywords = ["Putin", "Xi Jinping"]` shorthand: any of these (each as a phrase).
    pub fn any_of(keywords: &[String]) -> Result<Query, QueryError> {
        parser::any_of(keywords).map(|root| Query { root })
    }
}

/// Why a query could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct QueryError {
    /// 1-based, in characters.
    pub column: usize,
    /// Lowercase; says what was expected or how to fix it.
    pub message: String,
}

/// One watchlist that matched an article.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    /// Index of the watchlist in the `Vec` given to `Matcher::new`.
    pub watchlist: usize,
    pub hits: Vec<Hit>,
}

/// One distinct (term, field) that made the query true, at its first occurrence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// The term as written in the query: without field prefix and quotes; wildcards keep their
    /// `*`, regexes their slashes. Shared by the hits of one article that have the same term.
    pub term: Arc<str>,
    pub field: Field,
    /// Byte offsets into the original field text. For `author`, the authors joined by ", ";
    /// for `lang`, the language code.
    pub start: usize,
    pub end: usize,
    /// About 160 characters around the hit, the hit wrapped in `**`, cut at word boundaries
    /// with "…", whitespace collapsed. Shared by the hits of one article at the same place.
    pub snippet: Arc<str>,
}
