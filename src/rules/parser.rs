//! Recursive-descent parser for the watchlist query language (see docs/QUERY.md), over
//! `lexer`'s lexemes, building the `ast` tree.
//!
//! Grammar, loosest binding first:
//!
//! ```text
//! query   = or
//! or      = and { "OR" and }
//! and     = unary { ["AND"] unary }          adjacent terms are ANDed
//! unary   = "NOT" unary | "-" primary | near
//! near    = primary { ("NEAR/n" | "ONEAR/n") primary }
//! primary = "(" or ")" | field ":" primary | word | word* | "phrase" | 'Exact Case' | /regex/
//! ```
//!
//! Errors carry the 1-based character column and say what was expected. The parser stops at the
//! first error of a query; reporting every bad watchlist at once is the caller's loop. It does not
//! evaluate anything and keeps no state between queries.

use super::ast::{Field, Fields, Near, Node, Term, TermKind, DEFAULT_FIELDS};
use super::lexer::{error, lex, Kind, Lexeme, EXPECTED_TERM};
use super::normalize::words;
use super::QueryError;

/// Parentheses, NOT and NEAR/ONEAR nest at most this deep (each operator of a NEAR chain is one
/// level, since `a NEAR b NEAR c` is `(a NEAR b) NEAR c`), so every walk of the tree recurses at
/// most a few hundred levels and a hostile query cannot overflow a 2 MiB stack.
pub(crate) const MAX_DEPTH: usize = 100;
/// Terms (words, phrases, wildcards, regexes, `lang:`) in one query or keyword list. The matcher
/// is linear in terms, so this bounds the memory and the per-article work one watchlist can take.
pub(crate) const MAX_TERMS: usize = 100_000;
/// Words in one phrase or keyword: a phrase is matched word by word at every place its first
/// word occurs, so a long one costs time on every article.
pub(crate) const MAX_PHRASE_WORDS: usize = 32;
/// Bytes of query text, or of all keywords of a list together: checked before lexing, so a huge
/// query is refused before it costs memory.
pub(crate) const MAX_QUERY_BYTES: usize = 4 << 20;
/// A wildcard needs this many characters before `*`; shorter prefixes match almost everything.
const MIN_PREFIX: usize = 3;
/// Compiled-size cap per regex, so one watchlist cannot take the matcher's memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

struct Parser {
    lexemes: Vec<Lexeme>,
    index: usize,
    /// Levels of `(`, NOT and NEAR around the lexeme being parsed.
    depth: usize,
    /// The deepest level reached in the sub-expression being parsed (see `parse_near`).
    deepest: usize,
    /// Terms parsed so far.
    terms: usize,
}

impl Parser {
    fn peek(&self) -> &Lexeme {
        // `lex` always ends the list with `End`, and `advance` never moves past it.
        &self.lexemes[self.index.min(self.lexemes.len() - 1)]
    }

    fn advance(&mut self) -> Lexeme {
        let lexeme = self.peek().clone();
        if lexeme.kind != Kind::End {
            self.index += 1;
        }
        lexeme
    }

    /// "expected a term after `X`, found `Y`" at the current lexeme.
    fn expected_term(&self) -> QueryError {
        let found = self.peek();
        let after = match self.index.checked_sub(1).and_then(|i| self.lexemes.get(i)) {
            Some(previous) => format!(" after {}", previous.shown),
            None => String::new(),
        };
        error(
            found.column,
            format!("{EXPECTED_TERM}{after}, found {}", found.shown),
        )
    }

    fn enter(&mut self, column: usize) -> Result<(), QueryError> {
        self.depth += 1;
        self.deepest = self.deepest.max(self.depth);
        if self.depth > MAX_DEPTH {
            return Err(too_deep(column));
        }
        Ok(())
    }

    /// Counts one term; refuses past `MAX_TERMS`.
    fn count_term(&mut self, column: usize) -> Result<(), QueryError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(error(
                column,
                format!("query has more than {MAX_TERMS} terms: split it into several watchlists"),
            ));
        }
        Ok(())
    }

    fn parse_or(&mut self, field: Option<Field>) -> Result<Node, QueryError> {
        let mut children = vec![self.parse_and(field)?];
        while self.peek().kind == Kind::Or {
            self.advance();
            children.push(self.parse_and(field)?);
        }
        Ok(flatten(children, true))
    }

    fn parse_and(&mut self, field: Option<Field>) -> Result<Node, QueryError> {
        let mut children = vec![self.parse_unary(field)?];
        loop {
            match self.peek().kind {
                Kind::And => {
                    self.advance();
                    children.push(self.parse_unary(field)?);
                }
                Kind::Word { .. }
                | Kind::Phrase(_)
                | Kind::Exact(_)
                | Kind::Regex(_)
                | Kind::Open
                | Kind::Not
                | Kind::Minus
                | Kind::Field(_) => children.push(self.parse_unary(field)?),
                // `parse_near` takes every NEAR that follows a positional term, so one left over
                // here follows a NOT.
                Kind::Near { .. } => return Err(near_operands(self.peek())),
                _ => break,
            }
        }
        Ok(flatten(children, false))
    }

    fn parse_unary(&mut self, field: Option<Field>) -> Result<Node, QueryError> {
        match self.peek().kind {
            Kind::Not => {
                let column = self.advance().column;
                self.enter(column)?;
                let inner = self.parse_unary(field)?;
                self.depth -= 1;
                Ok(Node::Not(Box::new(inner)))
            }
            Kind::Minus => {
                let column = self.advance().column;
                self.enter(column)?;
                let inner = self.parse_primary(field)?;
                self.depth -= 1;
                Ok(Node::Not(Box::new(inner)))
            }
            _ => self.parse_near(field),
        }
    }

    /// A chain `a NEAR b NEAR c` builds `(a NEAR b) NEAR c` in a loop: its first operand ends up
    /// one level deeper per operator, which `deepest` tracks so the chain counts towards
    /// `MAX_DEPTH` like parentheses do.
    fn parse_near(&mut self, field: Option<Field>) -> Result<Node, QueryError> {
        let outer_deepest = self.deepest;
        self.deepest = self.depth;
        let mut left = self.parse_primary(field)?;
        // The deepest level inside the chain built so far.
        let mut chain_deepest = self.deepest;
        while let Kind::Near { distance, ordered } = self.peek().kind {
            let operator = self.advance();
            self.deepest = self.depth;
            let right = self.parse_primary(field)?;
            chain_deepest = chain_deepest.max(self.deepest) + 1;
            if chain_deepest > MAX_DEPTH {
                return Err(too_deep(operator.column));
            }
            if !left.is_positional() || !right.is_positional() {
                return Err(near_operands(&operator));
            }
            left = Node::Near(Box::new(Near {
                left,
                right,
                distance,
                ordered,
            }));
        }
        self.deepest = outer_deepest.max(chain_deepest);
        Ok(left)
    }

    fn parse_primary(&mut self, field: Option<Field>) -> Result<Node, QueryError> {
        let lexeme = self.peek().clone();
        match lexeme.kind {
            Kind::Open => {
                self.advance();
                self.enter(lexeme.column)?;
                let inner = self.parse_or(field)?;
                self.depth -= 1;
                match self.peek().kind {
                    Kind::Close => {
                        self.advance();
                        Ok(inner)
                    }
                    Kind::End => Err(error(lexeme.column, "unclosed `(`: add a matching `)`")),
                    _ => Err(self.expected_term()),
                }
            }
            Kind::Field(inner_field) => {
                self.advance();
                if let Some(outer) = field {
                    return Err(error(
                        lexeme.column,
                        format!(
                            "field `{}:` inside `{}:`: give each term one field",
                            inner_field.name(),
                            outer.name()
                        ),
                    ));
                }
                self.parse_primary(Some(inner_field))
            }
            Kind::Word { text, prefix } => {
                self.advance();
                self.count_term(lexeme.column)?;
                word_term(&text, prefix, lexeme.column, field)
            }
            Kind::Phrase(text) => {
                self.advance();
                self.count_term(lexeme.column)?;
                text_term(&text, false, lexeme.column, field)
            }
            Kind::Exact(text) => {
                self.advance();
                self.count_term(lexeme.column)?;
                text_term(&text, true, lexeme.column, field)
            }
            Kind::Regex(source) => {
                self.advance();
                self.count_term(lexeme.column)?;
                regex_term(source, lexeme.column, field)
            }
            _ => Err(self.expected_term()),
        }
    }
}

fn too_deep(column: usize) -> QueryError {
    error(
        column,
        format!(
            "query nests too deeply: at most {MAX_DEPTH} levels of `(`, NOT and NEAR/ONEAR \
             (each NEAR/ONEAR of a chain `a NEAR/5 b NEAR/5 c` is one level): use fewer \
             parentheses or a shorter chain"
        ),
    )
}

/// The start of a long text, to name it in an error without echoing all of it.
fn excerpt(text: &str) -> String {
    const SHOWN: usize = 40;
    match text.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}…", text.get(..end).unwrap_or(text)),
        None => text.to_string(),
    }
}

/// Refuses a phrase of more than `MAX_PHRASE_WORDS` words.
fn check_phrase_length(folded: &[String], column: usize, what: &str) -> Result<(), QueryError> {
    if folded.len() > MAX_PHRASE_WORDS {
        return Err(error(
            column,
            format!(
                "{what} has {} words, more than {MAX_PHRASE_WORDS}: shorten it to its most \
                 telling words",
                folded.len()
            ),
        ));
    }
    Ok(())
}

fn near_operands(operator: &Lexeme) -> QueryError {
    error(
        operator.column,
        format!(
            "{} operands must be words, phrases, wildcards, regexes or (a OR b) groups, not AND, \
             NOT or lang:",
            operator.shown
        ),
    )
}

/// Joins same-kind children (`a AND (b AND c)` → one AND of three).
fn flatten(children: Vec<Node>, or: bool) -> Node {
    if children.len() == 1 {
        if let Some(only) = children.into_iter().next() {
            return only;
        }
        return Node::And(Vec::new());
    }
    let mut flat = Vec::with_capacity(children.len());
    for child in children {
        match (child, or) {
            (Node::Or(grandchildren), true) | (Node::And(grandchildren), false) => {
                flat.extend(grandchildren)
            }
            (other, _) => flat.push(other),
        }
    }
    if or {
        Node::Or(flat)
    } else {
        Node::And(flat)
    }
}

fn fields_of(field: Option<Field>) -> Fields {
    field.map_or(DEFAULT_FIELDS, Field::bit)
}

fn lang_only(column: usize) -> QueryError {
    error(
        column,
        "`lang:` expects a language code like `en` or `pt-br`",
    )
}

fn word_term(
    text: &str,
    prefix: bool,
    column: usize,
    field: Option<Field>,
) -> Result<Node, QueryError> {
    if field == Some(Field::Lang) {
        let code = text.to_lowercase();
        if prefix
            || code.is_empty()
            || !code
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || character == '-')
        {
            return Err(lang_only(column));
        }
        return Ok(Node::Term(Term {
            written: text.to_string(),
            fields: 0,
            kind: TermKind::Lang(code),
        }));
    }
    let folded = words(text, true);
    if folded.is_empty() {
        return Err(error(
            column,
            format!("`{text}` has no letters or digits: expected a word"),
        ));
    }
    check_phrase_length(&folded, column, &format!("`{}`", excerpt(text)))?;
    if prefix
        && folded
            .iter()
            .map(|word| word.chars().count())
            .sum::<usize>()
            < MIN_PREFIX
    {
        return Err(error(
            column,
            format!(
                "`{text}*` is too short: a wildcard needs at least {MIN_PREFIX} letters before `*`"
            ),
        ));
    }
    Ok(Node::Term(Term {
        written: if prefix {
            format!("{text}*")
        } else {
            text.to_string()
        },
        fields: fields_of(field),
        kind: TermKind::Words {
            folded,
            cased: None,
            prefix,
        },
    }))
}

/// A quoted phrase, case-insensitive (`"…"`) or exact-case (`'…'`).
fn text_term(
    text: &str,
    exact: bool,
    column: usize,
    field: Option<Field>,
) -> Result<Node, QueryError> {
    if field == Some(Field::Lang) {
        return Err(lang_only(column));
    }
    let folded = words(text, true);
    if folded.is_empty() {
        let quote = if exact { '\'' } else { '"' };
        return Err(error(
            column,
            format!("empty {quote}{text}{quote}: expected letters or digits between the quotes"),
        ));
    }
    check_phrase_length(&folded, column, "phrase")?;
    let cased = if exact {
        let cased = words(text, false);
        if cased.len() != folded.len() {
            return Err(error(
                column,
                format!("'{text}' cannot be matched with exact case: use \"{text}\""),
            ));
        }
        Some(cased)
    } else {
        None
    };
    Ok(Node::Term(Term {
        written: text.to_string(),
        fields: fields_of(field),
        kind: TermKind::Words {
            folded,
            cased,
            prefix: false,
        },
    }))
}

fn regex_term(source: String, column: usize, field: Option<Field>) -> Result<Node, QueryError> {
    if field == Some(Field::Lang) {
        return Err(lang_only(column));
    }
    let whole_word = compile_regex(&format!("^(?:{source})$"), column)?;
    // The unanchored form is what the matcher scans with; check it compiles too.
    compile_regex(&source, column)?;
    if whole_word.is_match("") {
        return Err(error(
            column,
            format!("regex /{source}/ matches empty text: it must match at least one character"),
        ));
    }
    Ok(Node::Term(Term {
        written: format!("/{source}/"),
        fields: fields_of(field),
        kind: TermKind::Regex { source, whole_word },
    }))
}

/// Compiles a regex the way the matcher does: case-insensitive, size-capped, linear time.
pub(crate) fn compile_regex(pattern: &str, column: usize) -> Result<regex::Regex, QueryError> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|problem| {
            let detail = problem.to_string();
            // The regex crate's message spans several lines with a caret diagram; the last line
            // names the problem.
            let last = detail
                .lines()
                .rev()
                .find(|line| !line.trim().is_empty())
                .unwrap_or("")
                .trim()
                .trim_start_matches("error: ")
                .to_lowercase();
            error(column, format!("invalid regex: {last}"))
        })
}

/// Parses a whole query.
pub(crate) fn parse(text: &str) -> Result<Node, QueryError> {
    if text.len() > MAX_QUERY_BYTES {
        return Err(error(
            1,
            format!(
                "query is {} bytes, more than {MAX_QUERY_BYTES}: split it into several watchlists",
                text.len()
            ),
        ));
    }
    let lexemes = lex(text)?;
    if lexemes.len() == 1 {
        return Err(error(1, format!("empty query: {EXPECTED_TERM}")));
    }
    let mut parser = Parser {
        lexemes,
        index: 0,
        depth: 0,
        deepest: 0,
        terms: 0,
    };
    let root = parser.parse_or(None)?;
    let rest = parser.peek();
    match rest.kind {
        Kind::End => {}
        Kind::Close => {
            return Err(error(rest.column, "unexpected `)`: no matching `(`"));
        }
        _ => {
            return Err(error(
                rest.column,
                format!("unexpected {}: {EXPECTED_TERM} before it", rest.shown),
            ))
        }
    }
    if root.can_match_without_terms() {
        return Err(error(
            1,
            "query can match an article that contains none of its terms (only NOT, OR NOT or \
             lang:): add a word or phrase that must appear",
        ));
    }
    Ok(root)
}

/// The `keywords = [...]` shorthand: any of the keywords, each as a phrase.
pub(crate) fn any_of(keywords: &[String]) -> Result<Node, QueryError> {
    if keywords.is_empty() {
        return Err(error(1, "no keywords: expected at least one keyword"));
    }
    if keywords.len() > MAX_TERMS {
        return Err(error(
            1,
            format!(
                "{} keywords, more than {MAX_TERMS}: split them into several watchlists",
                keywords.len()
            ),
        ));
    }
    let bytes: usize = keywords.iter().map(String::len).sum();
    if bytes > MAX_QUERY_BYTES {
        return Err(error(
            1,
            format!(
                "keywords take {bytes} bytes, more than {MAX_QUERY_BYTES}: split them into \
                 several watchlists"
            ),
        ));
    }
    let mut children = Vec::with_capacity(keywords.len());
    for (index, keyword) in keywords.iter().enumerate() {
        let folded = words(keyword, true);
        if folded.is_empty() {
            return Err(error(
                1,
                format!(
                    "keyword {} (`{keyword}`) has no letters or digits: expected a word or phrase",
                    index + 1
                ),
            ));
        }
        check_phrase_length(
            &folded,
            1,
            &format!("keyword {} (`{}`)", index + 1, excerpt(keyword)),
        )?;
        children.push(Node::Term(Term {
            written: keyword.clone(),
            fields: DEFAULT_FIELDS,
            kind: TermKind::Words {
                folded,
                cased: None,
                prefix: false,
            },
        }));
    }
    Ok(flatten(children, true))
}
