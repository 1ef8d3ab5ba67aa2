//! Lexer and recursive-descent parser for the watchlist query language (see SYNTAX.md).
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
use super::normalize::words;
use super::QueryError;

/// Largest `NEAR/n`; far below `normalize::SEGMENT_GAP` so proximity never joins two authors.
const MAX_DISTANCE: u32 = 100;
/// Parentheses and NOT nest at most this deep, so a hostile query cannot overflow the stack.
const MAX_DEPTH: usize = 100;
/// A wildcard needs this many characters before `*`; shorter prefixes match almost everything.
const MIN_PREFIX: usize = 3;
/// Compiled-size cap per regex, so one watchlist cannot take the matcher's memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

const EXPECTED_TERM: &str = "expected a word, phrase or `(`";

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Word { text: String, prefix: bool },
    Phrase(String),
    Exact(String),
    Regex(String),
    Open,
    Close,
    And,
    Or,
    Not,
    Minus,
    Near { distance: u32, ordered: bool },
    Field(Field),
    End,
}

#[derive(Debug, Clone)]
struct Lexeme {
    kind: Kind,
    column: usize,
    /// How the lexeme is shown in messages.
    shown: String,
}

fn error(column: usize, message: impl Into<String>) -> QueryError {
    QueryError {
        column,
        message: message.into(),
    }
}

/// Splits a query into lexemes.
fn lex(text: &str) -> Result<Vec<Lexeme>, QueryError> {
    let chars: Vec<char> = text.chars().collect();
    let mut lexemes = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let character = chars[index];
        let column = index + 1;
        if character.is_whitespace() {
            index += 1;
            continue;
        }
        let (kind, next) = match character {
            '(' => (Kind::Open, index + 1),
            ')' => (Kind::Close, index + 1),
            '"' | '\'' => {
                let close = find_from(&chars, index + 1, character).ok_or_else(|| {
                    error(
                        column,
                        format!("unclosed `{character}`: add the closing `{character}`"),
                    )
                })?;
                let inner: String = chars[index + 1..close].iter().collect();
                if chars.get(close + 1) == Some(&'*') {
                    return Err(error(
                        close + 2,
                        "wildcard `*` works only at the end of an unquoted word",
                    ));
                }
                let kind = if character == '"' {
                    Kind::Phrase(inner)
                } else {
                    Kind::Exact(inner)
                };
                (kind, close + 1)
            }
            '/' => {
                let mut source = String::new();
                let mut cursor = index + 1;
                loop {
                    match chars.get(cursor) {
                        None => {
                            return Err(error(column, "unclosed regex: add the closing `/`"));
                        }
                        Some('/') => break,
                        Some('\\') if chars.get(cursor + 1) == Some(&'/') => {
                            source.push('/');
                            cursor += 2;
                        }
                        Some('\\') => {
                            source.push('\\');
                            if let Some(escaped) = chars.get(cursor + 1) {
                                source.push(*escaped);
                            }
                            cursor += 2;
                        }
                        Some(other) => {
                            source.push(*other);
                            cursor += 1;
                        }
                    }
                }
                (Kind::Regex(source), cursor + 1)
            }
            '-' => {
                let followed = chars.get(index + 1);
                if followed.is_none_or(|next| next.is_whitespace() || *next == ')') {
                    return Err(error(
                        column,
                        "expected a term right after `-` (no space), e.g. `-sport`",
                    ));
                }
                (Kind::Minus, index + 1)
            }
            _ => lex_word(&chars, index)?,
        };
        let shown: String = match &kind {
            Kind::End => String::new(),
            _ => format!("`{}`", chars[index..next].iter().collect::<String>()),
        };
        lexemes.push(Lexeme {
            kind,
            column,
            shown,
        });
        index = next;
    }
    lexemes.push(Lexeme {
        kind: Kind::End,
        column: chars.len() + 1,
        shown: "end of query".to_string(),
    });
    Ok(lexemes)
}

fn find_from(chars: &[char], start: usize, wanted: char) -> Option<usize> {
    chars
        .iter()
        .skip(start)
        .position(|&character| character == wanted)
        .map(|offset| start + offset)
}

/// Lexes a bare word, an operator or a field prefix starting at `start`.
fn lex_word(chars: &[char], start: usize) -> Result<(Kind, usize), QueryError> {
    let column = start + 1;
    let mut end = start;
    while let Some(&character) = chars.get(end) {
        if character.is_whitespace() || matches!(character, '(' | ')' | '"') {
            break;
        }
        if character == ':'
            && end > start
            && chars[start..end].iter().all(char::is_ascii_alphabetic)
        {
            let name: String = chars[start..end].iter().collect::<String>();
            let field = Field::from_name(&name.to_ascii_lowercase()).ok_or_else(|| {
                error(
                    column,
                    format!(
                        "unknown field `{name}:`: expected title, body, url, source, author or lang \
                         (quote text that contains `:`)"
                    ),
                )
            })?;
            return Ok((Kind::Field(field), end + 1));
        }
        end += 1;
    }
    let word: String = chars[start..end].iter().collect();
    let kind = match word.as_str() {
        "AND" => Kind::And,
        "OR" => Kind::Or,
        "NOT" => Kind::Not,
        "NEAR" | "ONEAR" => {
            return Err(error(
                column,
                format!("`{word}` needs a distance: write `{word}/5` for at most 5 words apart"),
            ))
        }
        _ => {
            let upper = word.to_ascii_uppercase();
            if matches!(upper.as_str(), "AND" | "OR" | "NOT") {
                return Err(error(
                    column,
                    format!(
                        "`{word}` is ambiguous: write `{upper}` for the operator or \"{word}\" for \
                         the word"
                    ),
                ));
            }
            if let Some((operator, distance)) = upper.split_once('/') {
                if operator == "NEAR" || operator == "ONEAR" {
                    if !word.starts_with(operator) {
                        return Err(error(
                            column,
                            format!(
                                "`{word}` is ambiguous: write `{upper}` for the operator or \
                                 \"{word}\" for the words"
                            ),
                        ));
                    }
                    let distance: u32 = distance.parse().map_err(|_| {
                        error(
                            column,
                            format!("expected a number of words after `{operator}/`, e.g. `{operator}/5`"),
                        )
                    })?;
                    if distance > MAX_DISTANCE {
                        return Err(error(
                            column,
                            format!(
                                "`{word}` is too far: the distance must be at most {MAX_DISTANCE}"
                            ),
                        ));
                    }
                    return Ok((
                        Kind::Near {
                            distance,
                            ordered: operator == "ONEAR",
                        },
                        end,
                    ));
                }
            }
            match word.find('*') {
                None => Kind::Word {
                    text: word,
                    prefix: false,
                },
                Some(position) if position + 1 == word.len() => Kind::Word {
                    text: word[..position].to_string(),
                    prefix: true,
                },
                Some(_) => {
                    return Err(error(
                        column,
                        format!("`{word}`: wildcard `*` works only at the end of a word"),
                    ))
                }
            }
        }
    };
    Ok((kind, end))
}

struct Parser {
    lexemes: Vec<Lexeme>,
    index: usize,
    depth: usize,
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
        if self.depth > MAX_DEPTH {
            return Err(error(
                column,
                format!("query nests too deeply: at most {MAX_DEPTH} levels of `(` and NOT"),
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

    fn parse_near(&mut self, field: Option<Field>) -> Result<Node, QueryError> {
        let mut left = self.parse_primary(field)?;
        while let Kind::Near { distance, ordered } = self.peek().kind {
            let operator = self.advance();
            let right = self.parse_primary(field)?;
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
                word_term(&text, prefix, lexeme.column, field)
            }
            Kind::Phrase(text) => {
                self.advance();
                text_term(&text, false, lexeme.column, field)
            }
            Kind::Exact(text) => {
                self.advance();
                text_term(&text, true, lexeme.column, field)
            }
            Kind::Regex(source) => {
                self.advance();
                regex_term(source, lexeme.column, field)
            }
            _ => Err(self.expected_term()),
        }
    }
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
    let lexemes = lex(text)?;
    if lexemes.len() == 1 {
        return Err(error(1, format!("empty query: {EXPECTED_TERM}")));
    }
    let mut parser = Parser {
        lexemes,
        index: 0,
        depth: 0,
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
