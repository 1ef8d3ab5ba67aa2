//! A naive evaluator, obviously correct rather than fast, that the matcher is tested against.
//!
//! It shares only word splitting (`normalize`) with the matcher: it finds terms by comparing
//! words one by one at every position, checks exact case on separately case-preserved words,
//! tries regexes on every word, and evaluates `NEAR` over all pairs of occurrences. Test-only.

use super::ast::{Field, Node, Term, TermKind};
use super::normalize::{normalize, normalize_segments, Normalized};
use super::Document;

struct FieldWords {
    folded: Vec<String>,
    cased: Vec<String>,
    positions: Vec<u32>,
}

fn words_of(normalized: &Normalized) -> Vec<String> {
    (0..normalized.words.len())
        .map(|index| normalized.word(index).to_string())
        .collect()
}

fn field_words(document: &Document, field: Field) -> FieldWords {
    let (folded, cased) = if field == Field::Author {
        let mut joined = String::new();
        let mut segments = Vec::new();
        for author in document.authors {
            if !joined.is_empty() {
                joined.push_str(", ");
            }
            let start = joined.len();
            joined.push_str(author);
            segments.push((start, joined.len()));
        }
        (
            normalize_segments(&joined, &segments, true, Normalized::default()),
            normalize_segments(&joined, &segments, false, Normalized::default()),
        )
    } else {
        let text = match field {
            Field::Title => document.title,
            Field::Body => document.body,
            Field::Url => document.url,
            Field::Source => document.source,
            _ => "",
        };
        (normalize(text, true), normalize(text, false))
    };
    assert_eq!(
        folded.words.len(),
        cased.words.len(),
        "case changes word splitting"
    );
    FieldWords {
        positions: folded.words.iter().map(|word| word.position).collect(),
        folded: words_of(&folded),
        cased: words_of(&cased),
    }
}

/// (field index, first position, last position)
type Span = (usize, u32, u32);

fn term_spans(term: &Term, fields: &[FieldWords]) -> Vec<Span> {
    let mut spans = Vec::new();
    for (field_index, words) in fields.iter().enumerate() {
        if term.fields & (1 << field_index) == 0 {
            continue;
        }
        let count = words.folded.len();
        for start in 0..count {
            let found = match &term.kind {
                TermKind::Words {
                    folded,
                    cased,
                    prefix,
                } => {
                    let length = folded.len();
                    start + length <= count
                        && (0..length)
                            .all(|offset| {
                                let at = start + offset;
                                let last = offset + 1 == length;
                                let consecutive =
                                    words.positions[at] == words.positions[start] + offset as u32;
                                let same = |have: &str, want: &str| {
                                    if last && *prefix {
                                        have.starts_with(want)
                                    } else {
                                        have == want
                                    }
                                };
                                consecutive
                                    && same(&words.folded[at], &folded[offset])
                                    && cased
                                        .as_ref()
                                        .is_none_or(|cased| same(&words.cased[at], &cased[offset]))
                            })
                            .then_some(start + length - 1)
                            .is_some()
                }
                TermKind::Regex { whole_word, .. } => whole_word.is_match(&words.folded[start]),
                TermKind::Lang(_) => false,
            };
            if found {
                let length = match &term.kind {
                    TermKind::Words { folded, .. } => folded.len(),
                    _ => 1,
                };
                spans.push((
                    field_index,
                    words.positions[start],
                    words.positions[start + length - 1],
                ));
            }
        }
    }
    spans
}

fn spans(node: &Node, fields: &[FieldWords]) -> Vec<Span> {
    match node {
        Node::Term(term) => term_spans(term, fields),
        Node::Or(children) => children
            .iter()
            .flat_map(|child| spans(child, fields))
            .collect(),
        Node::Near(near) => {
            let mut out = Vec::new();
            for a in spans(&near.left, fields) {
                for b in spans(&near.right, fields) {
                    if a.0 != b.0 {
                        continue;
                    }
                    let gap = if a.2 < b.1 {
                        Some(b.1 - a.2 - 1)
                    } else if b.2 < a.1 && !near.ordered {
                        Some(a.1 - b.2 - 1)
                    } else {
                        None
                    };
                    if gap.is_some_and(|gap| gap <= near.distance) {
                        out.push((a.0, a.1.min(b.1), a.2.max(b.2)));
                    }
                }
            }
            // Equal spans are interchangeable; keeping one of each keeps chains polynomial.
            out.sort_unstable();
            out.dedup();
            out
        }
        Node::And(_) | Node::Not(_) => Vec::new(),
    }
}

fn truth(node: &Node, fields: &[FieldWords], language: Option<&str>) -> bool {
    match node {
        Node::Term(Term {
            kind: TermKind::Lang(code),
            ..
        }) => language.is_some_and(|language| {
            let language = language.to_lowercase().replace('_', "-");
            language == *code || language.starts_with(&format!("{code}-"))
        }),
        Node::Term(_) | Node::Near(_) => !spans(node, fields).is_empty(),
        Node::And(children) => children.iter().all(|child| truth(child, fields, language)),
        Node::Or(children) => children.iter().any(|child| truth(child, fields, language)),
        Node::Not(inner) => !truth(inner, fields, language),
    }
}

/// Whether `query` matches `document`, the slow and simple way.
pub(crate) fn matches(query: &super::Query, document: &Document) -> bool {
    let fields: Vec<FieldWords> = Field::TEXT
        .iter()
        .map(|&field| field_words(document, field))
        .collect();
    truth(&query.root, &fields, document.language)
}
