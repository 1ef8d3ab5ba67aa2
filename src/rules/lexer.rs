//! Lexer for the watchlist query language: characters to lexemes (words, quoted terms, regexes,
//! operators, field prefixes), each with its 1-based column.
//!
//! It decides the surface rules: operators are uppercase only and a lowercase `and`/`or`/`not`
//! is refused as ambiguous; `'…'` is exact case; `*` only ends a word; a field is letters and a
//! colon at the start of a word. It builds no tree (see `parser`).

use super::ast::Field;
use super::QueryError;

/// Largest `NEAR/n`; far below `normalize::SEGMENT_GAP` so proximity never joins two authors.
const MAX_DISTANCE: u32 = 100;
/// How messages about a missing operand start.
pub(crate) const EXPECTED_TERM: &str = "expected a word, phrase or `(`";

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
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
pub(crate) struct Lexeme {
    pub kind: Kind,
    pub column: usize,
    /// How the lexeme is shown in messages.
    pub shown: String,
}

pub(crate) fn error(column: usize, message: impl Into<String>) -> QueryError {
    QueryError {
        column,
        message: message.into(),
    }
}

/// Splits a query into lexemes.
pub(crate) fn lex(text: &str) -> Result<Vec<Lexeme>, QueryError> {
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
