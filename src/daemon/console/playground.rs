//! `/playground`: a query tried out before it becomes a watchlist. The text is parsed exactly as
//! `check` parses a watchlist's query (same error, same column), run over a corpus of articles,
//! and answered with the matches and their marked hits, matches per day, `explain` for one
//! article on request, and the `[watchlists.NAME]` block to paste into the config.
//!
//! The corpus is, for now, the articles of the alerts already stored (their payloads carry the
//! extracted article): the article archive is not part of wirewatch yet. [`corpus`] is the one
//! place that chooses it; when the archive lands it answers from there, and the page's label
//! follows. Everything after the corpus is pure.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::highlight::{parts, Part};
use super::views::time_text;
use crate::rules::{explain, Document, Matcher, Query};
use crate::store::{Millis, Store, StoreError};

/// Articles searched at most: a page answers while someone types.
const CORPUS_LIMIT: usize = 5_000;
const RESULT_LIMIT: usize = 100;

/// One article the playground can match.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Names the article in `explain=` links: the alert it came from.
    pub id: String,
    pub title: String,
    pub url: String,
    pub source: String,
    pub body: String,
    pub authors: Vec<String>,
    pub language: Option<String>,
    pub at: Millis,
}

impl Candidate {
    fn document(&self) -> Document<'_> {
        Document {
            title: &self.title,
            body: &self.body,
            url: &self.url,
            source: &self.source,
            authors: &self.authors,
            language: self.language.as_deref(),
        }
    }
}

/// What the corpus is, as the page says it.
pub const CORPUS_LABEL: &str =
    "the articles of the alerts already stored (not every article seen: the archive is not part of wirewatch yet)";

/// The articles a query runs over, newest first, each once.
pub async fn corpus(store: &Store) -> Result<Vec<Candidate>, StoreError> {
    let mut seen = HashSet::new();
    let mut candidates = Vec::new();
    for alert in store.stored_alerts(None, 0, CORPUS_LIMIT).await? {
        if alert.kind != crate::alert::ALERT_TYPE || !seen.insert(alert.article_url.clone()) {
            continue;
        }
        let Ok(payload) = serde_json::from_str::<serde_json::Value>(&alert.payload) else {
            continue;
        };
        let article = &payload["article"];
        let text = |key: &str| article[key].as_str().unwrap_or_default().to_string();
        candidates.push(Candidate {
            id: alert.alert_id,
            title: text("title"),
            url: text("url"),
            source: alert.source,
            body: text("body"),
            authors: article["authors"]
                .as_array()
                .map(|authors| {
                    authors
                        .iter()
                        .filter_map(|author| author.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            language: article["language"].as_str().map(str::to_string),
            at: alert.created_at,
        });
    }
    Ok(candidates)
}

#[derive(Debug, Serialize)]
pub struct QueryProblem {
    pub column: usize,
    pub message: String,
    /// What `wirewatch check` prints for this query in a watchlist of this name.
    pub check: String,
    /// Spaces up to the column, for the caret under the query.
    pub pad: String,
}

#[derive(Debug, Serialize)]
pub struct Found {
    pub id: String,
    pub title: String,
    pub url: String,
    pub source: String,
    pub when: String,
    pub hits: Vec<(String, Vec<Part>)>,
}

#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    pub query: String,
    pub name: String,
    pub corpus: &'static str,
    pub searched: usize,
    pub error: Option<QueryProblem>,
    pub matched: usize,
    pub results: Vec<Found>,
    pub per_day: Vec<(String, usize)>,
    pub toml: Option<String>,
    /// `explain` for the article asked for: its title and the tree as text.
    pub explained: Option<(String, String)>,
}

/// A watchlist name the config accepts, from whatever was typed.
fn watchlist_name(name: &str) -> String {
    let cleaned: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if cleaned.trim_matches('-').is_empty() {
        "my-watchlist".to_string()
    } else {
        cleaned
    }
}

pub fn run(query: &str, name: &str, explain_id: Option<&str>, corpus: &[Candidate]) -> Outcome {
    let name = watchlist_name(name);
    let mut outcome = Outcome {
        query: query.to_string(),
        name: name.clone(),
        corpus: CORPUS_LABEL,
        searched: corpus.len(),
        ..Outcome::default()
    };
    if query.trim().is_empty() {
        return outcome;
    }
    let parsed = match Query::parse(query) {
        Ok(parsed) => parsed,
        Err(error) => {
            outcome.error = Some(QueryProblem {
                column: error.column,
                check: format!("watchlists.{name}.query: {error}"),
                message: error.message,
                pad: " ".repeat(error.column.saturating_sub(1)),
            });
            return outcome;
        }
    };
    outcome.toml = Some(format!(
        "[watchlists.{name}]\nquery = {}\n",
        toml::Value::String(query.to_string())
    ));
    let matcher = Matcher::new(vec![parsed.clone()]);
    let mut per_day: BTreeMap<String, usize> = BTreeMap::new();
    for candidate in corpus {
        if explain_id == Some(candidate.id.as_str()) {
            outcome.explained = Some((
                candidate.title.clone(),
                explain(&parsed, &candidate.document()).to_string(),
            ));
        }
        let Some(found) = matcher.matches(&candidate.document()).into_iter().next() else {
            continue;
        };
        outcome.matched += 1;
        *per_day
            .entry(time_text(candidate.at).chars().take(10).collect())
            .or_default() += 1;
        if outcome.results.len() < RESULT_LIMIT {
            outcome.results.push(Found {
                id: candidate.id.clone(),
                title: candidate.title.clone(),
                url: candidate.url.clone(),
                source: candidate.source.clone(),
                when: time_text(candidate.at),
                hits: found
                    .hits
                    .iter()
                    .map(|hit| {
                        (
                            format!("{}: {}", hit.field.name(), hit.term),
                            parts(&hit.snippet),
                        )
                    })
                    .collect(),
            });
        }
    }
    outcome.per_day = per_day.into_iter().rev().collect();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(id: &str, title: &str, body: &str, at: Millis) -> Candidate {
        Candidate {
            id: id.to_string(),
            title: title.to_string(),
            url: format!("https://example.org/{id}"),
            source: "world".to_string(),
            body: body.to_string(),
            authors: Vec::new(),
            language: Some("en".to_string()),
            at,
        }
    }

    #[test]
    fn matches_hits_days_and_the_config_block() {
        let corpus = [
            article("a", "Talks in Tunisia", "Ministers met.", 0),
            article("b", "Harvest report", "Rain in Zimbabwe.", 86_400_000),
            article("c", "Markets", "Nothing here.", 86_400_000),
        ];
        let outcome = run("Tunisia OR Zimbabwe", "Africa watch", Some("c"), &corpus);
        assert!(outcome.error.is_none());
        assert_eq!(outcome.matched, 2);
        assert_eq!(outcome.results[0].id, "a");
        assert!(outcome.results[0].hits[0]
            .1
            .iter()
            .any(|part| part.marked && part.text == "Tunisia"));
        assert_eq!(
            outcome.per_day,
            [("1970-01-02".to_string(), 1), ("1970-01-01".to_string(), 1)]
        );
        assert_eq!(
            outcome.toml.as_deref(),
            Some("[watchlists.africa-watch]\nquery = \"Tunisia OR Zimbabwe\"\n")
        );
        let (title, tree) = outcome.explained.unwrap();
        assert_eq!(title, "Markets");
        assert!(tree.contains('✗'), "{tree}");
    }

    #[test]
    fn a_broken_query_reports_what_check_reports() {
        let outcome = run("Tunisia AND (", "w", None, &[]);
        let problem = outcome.error.unwrap();
        let expected = Query::parse("Tunisia AND (").unwrap_err();
        assert_eq!(problem.column, expected.column);
        assert_eq!(problem.check, format!("watchlists.w.query: {expected}"));
        assert_eq!(problem.pad.len(), expected.column - 1);
        assert!(outcome.toml.is_none() && outcome.results.is_empty());
    }
}
