//! The parsed form of a watchlist query: a boolean tree whose leaves are terms.
//!
//! Terms are stored already normalised (see `normalize`), so the matcher and the reference
//! evaluator never re-fold query text. This module holds data and the one semantic check that
//! needs the whole tree (a query must not be true for a document lacking all of its terms); it
//! does not parse (see `parser`) nor evaluate (see `matcher`).

use serde::Serialize;

/// A part of an article a term can be restricted to.
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

impl Field {
    /// The fields matched by text terms, in the order hits are reported.
    pub(crate) const TEXT: [Field; 5] = [
        Field::Title,
        Field::Body,
        Field::Url,
        Field::Source,
        Field::Author,
    ];

    /// The name used in queries (`title:`).
    pub fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Body => "body",
            Field::Url => "url",
            Field::Source => "source",
            Field::Author => "author",
            Field::Lang => "lang",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Field> {
        [
            Field::Title,
            Field::Body,
            Field::Url,
            Field::Source,
            Field::Author,
            Field::Lang,
        ]
        .into_iter()
        .find(|field| field.name() == name)
    }

    /// Index into per-field arrays (text fields only; `Lang` is never scanned).
    pub(crate) fn index(self) -> usize {
        match self {
            Field::Title => 0,
            Field::Body => 1,
            Field::Url => 2,
            Field::Source => 3,
            Field::Author => 4,
            Field::Lang => 5,
        }
    }

    pub(crate) fn bit(self) -> u8 {
        1 << self.index()
    }
}

/// A set of text fields as a bit mask (bit `Field::index`).
pub(crate) type Fields = u8;

/// Where a term without a field prefix is looked for.
pub(crate) const DEFAULT_FIELDS: Fields = 0b11;

/// A leaf of the query tree.
#[derive(Debug, Clone)]
pub(crate) struct Term {
    /// The term as the user wrote it (without field prefix or quotes), for hits.
    pub written: String,
    /// The fields to search (a mask of `Field::bit`).
    pub fields: Fields,
    pub kind: TermKind,
}

#[derive(Debug, Clone)]
pub(crate) enum TermKind {
    /// A word or phrase: consecutive folded words; the last one a prefix when `prefix`.
    Words {
        folded: Vec<String>,
        /// For exact-case terms: the words with case kept (same count as `folded`).
        cased: Option<Vec<String>>,
        prefix: bool,
    },
    /// A regular expression that must match one whole folded word.
    Regex {
        source: String,
        /// `^(?:source)$`, case-insensitive.
        whole_word: regex::Regex,
    },
    /// `lang:xx`: the document language is `xx` or `xx-…`.
    Lang(String),
}

/// A node of the query tree.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Term(Term),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Near(Box<Near>),
}

/// `left NEAR/distance right` (or `ONEAR` when `ordered`).
#[derive(Debug, Clone)]
pub(crate) struct Near {
    pub left: Node,
    pub right: Node,
    /// At most this many other words between the two.
    pub distance: u32,
    /// `ONEAR`: left must come first.
    pub ordered: bool,
}

/// Three-valued truth used to check that a query needs one of its terms.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Truth {
    False,
    True,
    Unknown,
}

impl Node {
    /// The value of the node for a document that contains none of the query's terms, with every
    /// `lang:` condition unknown. A query that is not surely false there would alert on articles
    /// that have nothing to do with it.
    fn without_terms(&self) -> Truth {
        match self {
            Node::Term(term) => match term.kind {
                TermKind::Lang(_) => Truth::Unknown,
                _ => Truth::False,
            },
            Node::Near(_) => Truth::False,
            Node::Not(inner) => match inner.without_terms() {
                Truth::False => Truth::True,
                Truth::True => Truth::False,
                Truth::Unknown => Truth::Unknown,
            },
            Node::And(children) => {
                let mut result = Truth::True;
                for child in children {
                    match child.without_terms() {
                        Truth::False => return Truth::False,
                        Truth::Unknown => result = Truth::Unknown,
                        Truth::True => {}
                    }
                }
                result
            }
            Node::Or(children) => {
                let mut result = Truth::False;
                for child in children {
                    match child.without_terms() {
                        Truth::True => return Truth::True,
                        Truth::Unknown => result = Truth::Unknown,
                        Truth::False => {}
                    }
                }
                result
            }
        }
    }

    /// Whether some document lacking every term could match (see `without_terms`).
    pub(crate) fn can_match_without_terms(&self) -> bool {
        self.without_terms() != Truth::False
    }

    /// Whether the node yields word positions, so it can be an operand of `NEAR`.
    pub(crate) fn is_positional(&self) -> bool {
        match self {
            Node::Term(term) => !matches!(term.kind, TermKind::Lang(_)),
            Node::Or(children) => children.iter().all(Node::is_positional),
            Node::Near(_) => true,
            Node::And(_) | Node::Not(_) => false,
        }
    }
}
