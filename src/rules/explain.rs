//! `match --explain`: why a query did or did not match an article, node by node.
//!
//! It compiles the one query into its own matcher and walks the compiled tree, so the answer is
//! the real matcher's answer, not a second implementation's. It is for people debugging a
//! watchlist, so it favours clear text over speed and is not used on the alerting path.

use serde::Serialize;
use std::fmt;

use super::ast::{Field, DEFAULT_FIELDS};
use super::matcher::{AtomKind, Compiled, Matcher, Span};
use super::scan::Scan;
use super::{Document, Query};

/// A tree mirroring the query: each node's truth and the reason for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The sub-expression: an operator (`AND`, `NEAR/5`) or a term with its field.
    pub expression: String,
    pub matched: bool,
    pub reason: String,
    pub children: Vec<Explanation>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(formatter, 0)
    }
}

impl Explanation {
    fn write(&self, formatter: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
        let mark = if self.matched { "✓" } else { "✗" };
        writeln!(
            formatter,
            "{:indent$}{mark} {} — {}",
            "",
            self.expression,
            self.reason,
            indent = depth * 2
        )?;
        for child in &self.children {
            child.write(formatter, depth + 1)?;
        }
        Ok(())
    }
}

/// Explains how `query` evaluates on `document`.
pub fn explain(query: &Query, document: &Document) -> Explanation {
    let matcher = Matcher::new(vec![query.clone()]);
    let scan = matcher.scan(document);
    match matcher.roots.first() {
        Some(&root) => node(&matcher, root, &scan),
        None => Explanation {
            expression: String::new(),
            matched: false,
            reason: "empty query".to_string(),
            children: Vec::new(),
        },
    }
}

fn field_names(fields: u8) -> String {
    Field::TEXT
        .iter()
        .filter(|field| fields & field.bit() != 0)
        .map(|field| field.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn node(matcher: &Matcher, index: u32, scan: &Scan) -> Explanation {
    let matched = matcher.evaluate(index, scan);
    let (expression, reason, children) = match matcher.nodes.get(index as usize) {
        Some(Compiled::Atom {
            atom: atom_index, ..
        }) => match matcher.atoms.get(*atom_index as usize) {
            Some(atom) => {
                let (expression, reason) = atom_text(matcher, atom, scan, matched);
                (expression, reason, Vec::new())
            }
            None => (String::new(), String::new(), Vec::new()),
        },
        Some(Compiled::And { start, count }) | Some(Compiled::Or { start, count }) => {
            let children: Vec<Explanation> = matcher
                .children(*start, *count)
                .iter()
                .map(|&child| node(matcher, child, scan))
                .collect();
            let true_count = children.iter().filter(|child| child.matched).count();
            let is_and = matches!(
                matcher.nodes.get(index as usize),
                Some(Compiled::And { .. })
            );
            let operator = if is_and { "AND" } else { "OR" };
            let reason = format!("{true_count} of {} operands true", children.len());
            (operator.to_string(), reason, children)
        }
        Some(Compiled::Not(inner)) => {
            let child = node(matcher, *inner, scan);
            let reason = if child.matched {
                "operand is true".to_string()
            } else {
                "operand is false".to_string()
            };
            ("NOT".to_string(), reason, vec![child])
        }
        Some(&Compiled::Near {
            left,
            right,
            distance,
            ordered,
        }) => {
            let operator = format!("{}/{distance}", if ordered { "ONEAR" } else { "NEAR" });
            let mut spans: Vec<Span> = Vec::new();
            matcher.spans(index, scan, false, false, &mut spans);
            let reason = match spans.iter().min_by_key(|span| (span.field, span.start)) {
                Some(span) => format!(
                    "within {distance} words in {} at word {}",
                    Field::TEXT
                        .get(span.field as usize)
                        .map_or("?", |field| field.name()),
                    span.start + 1
                ),
                None => format!("no occurrences within {distance} words"),
            };
            let children = vec![node(matcher, left, scan), node(matcher, right, scan)];
            (operator, reason, children)
        }
        None => (String::new(), String::new(), Vec::new()),
    };
    Explanation {
        expression,
        matched,
        reason,
        children,
    }
}

fn atom_text(
    matcher: &Matcher,
    atom: &super::matcher::Atom,
    scan: &Scan,
    matched: bool,
) -> (String, String) {
    match &atom.kind {
        AtomKind::Lang(code) => (
            format!("lang:{code}"),
            match &scan.language {
                Some(language) => format!("article language is {language}"),
                None => "article language is unknown".to_string(),
            },
        ),
        AtomKind::Text { cased, .. } => {
            let written = matcher.written.get(atom.written).unwrap_or("");
            let quoted = if cased.is_some() {
                format!("'{written}'")
            } else if written.contains(char::is_whitespace) {
                format!("\"{written}\"")
            } else {
                written.to_string()
            };
            let expression = if atom.fields == DEFAULT_FIELDS {
                quoted
            } else {
                format!("{}:{quoted}", field_names(atom.fields))
            };
            let occurrences: Vec<_> = matcher.atom_occurrences(atom, scan).collect();
            let reason = match occurrences.first() {
                Some(first) if matched => {
                    let field = Field::TEXT
                        .get(first.field as usize)
                        .copied()
                        .unwrap_or(Field::Title);
                    let (start, end) = scan.original_range(field, first.first, first.last);
                    format!(
                        "found {} time(s), first in {} at bytes {start}..{end}",
                        occurrences.len(),
                        field.name()
                    )
                }
                _ => format!("not found in {}", field_names(atom.fields)),
            };
            (expression, reason)
        }
    }
}
