//! Table tests of the grammar: what each query parses to, and every error message.

use super::super::ast::{Field as AstField, Node, TermKind, DEFAULT_FIELDS};
use super::super::*;

/// The tree as an s-expression, terms shown folded.
pub(super) fn describe(node: &Node) -> String {
    match node {
        Node::Term(term) => {
            let text = match &term.kind {
                TermKind::Words {
                    folded,
                    cased,
                    prefix,
                } => {
                    let star = if *prefix { "*" } else { "" };
                    match cased {
                        Some(cased) => format!("'{}'", cased.join(" ")),
                        None if folded.len() > 1 => format!("\"{}{star}\"", folded.join(" ")),
                        None => format!("{}{star}", folded.join(" ")),
                    }
                }
                TermKind::Regex { source, .. } => format!("/{source}/"),
                TermKind::Lang(code) => return format!("lang:{code}"),
            };
            if term.fields == DEFAULT_FIELDS {
                text
            } else {
                let names: Vec<&str> = AstField::TEXT
                    .iter()
                    .filter(|field| term.fields & field.bit() != 0)
                    .map(|field| field.name())
                    .collect();
                format!("{}:{text}", names.join(","))
            }
        }
        Node::And(children) | Node::Or(children) => {
            let operator = if matches!(node, Node::And(_)) {
                "AND"
            } else {
                "OR"
            };
            let inner: Vec<String> = children.iter().map(describe).collect();
            format!("({operator} {})", inner.join(" "))
        }
        Node::Not(inner) => format!("(NOT {})", describe(inner)),
        Node::Near(near) => format!(
            "({}/{} {} {})",
            if near.ordered { "ONEAR" } else { "NEAR" },
            near.distance,
            describe(&near.left),
            describe(&near.right)
        ),
    }
}

fn parses(query: &str, expected: &str) {
    match Query::parse(query) {
        Ok(parsed) => assert_eq!(describe(&parsed.root), expected, "query {query:?}"),
        Err(error) => panic!("query {query:?} failed: {error}"),
    }
}

fn fails(query: &str, column: usize, message: &str) {
    match Query::parse(query) {
        Ok(parsed) => panic!("query {query:?} parsed as {}", describe(&parsed.root)),
        Err(error) => assert_eq!(
            (error.column, error.message.as_str()),
            (column, message),
            "query {query:?}"
        ),
    }
}

#[test]
fn grammar() {
    parses("putin", "putin");
    parses("Putin", "putin");
    parses("\"Xi Jinping\"", "\"xi jinping\"");
    parses("Jean-Luc", "\"jean luc\"");
    parses("putin xi", "(AND putin xi)");
    parses("putin AND xi", "(AND putin xi)");
    parses("a OR b c", "(OR a (AND b c))");
    parses("a OR b OR (c OR d)", "(OR a b c d)");
    parses("(a OR b) (c d)", "(AND (OR a b) c d)");
    parses("a AND NOT b", "(AND a (NOT b))");
    parses("a NOT b", "(AND a (NOT b))");
    parses("a -b", "(AND a (NOT b))");
    parses("a -(b OR c)", "(AND a (NOT (OR b c)))");
    parses("a NOT NOT b", "(AND a (NOT (NOT b)))");
    parses("sanction*", "sanction*");
    parses("'US'", "'US'");
    parses("'New York' times", "(AND 'New York' times)");
    parses("/sanction(s|ed)/", "/sanction(s|ed)/");
    parses("/a\\/b/", "/a/b/");
    parses("title:putin", "title:putin");
    parses("TITLE:putin", "title:putin");
    parses("title:\"xi jinping\"", "title:\"xi jinping\"");
    parses("title: putin", "title:putin");
    parses("title:(a OR b)", "(OR title:a title:b)");
    parses("url:nytimes.com", "url:\"nytimes com\"");
    parses(
        "author:smith source:reuters",
        "(AND author:smith source:reuters)",
    );
    parses("body:'US' sanction*", "(AND body:'US' sanction*)");
    parses("url:/\\d{4}/", "url:/\\d{4}/");
    parses("lang:en putin", "(AND lang:en putin)");
    parses("lang:pt-BR putin", "(AND lang:pt-br putin)");
    parses("putin -lang:en", "(AND putin (NOT lang:en))");
    parses("putin NEAR/5 china", "(NEAR/5 putin china)");
    parses("putin ONEAR/0 china", "(ONEAR/0 putin china)");
    parses(
        "(putin OR medvedev) NEAR/3 \"white house\"",
        "(NEAR/3 (OR putin medvedev) \"white house\")",
    );
    parses("a NEAR/2 b NEAR/3 c", "(NEAR/3 (NEAR/2 a b) c)");
    parses("a NEAR/2 b OR c", "(OR (NEAR/2 a b) c)");
    parses("NOT a NEAR/2 b c", "(AND (NOT (NEAR/2 a b)) c)");
    parses("10:30 meeting", "(AND \"10 30\" meeting)");
    parses("near far", "(AND near far)");
    parses("O'Brien", "\"o brien\"");
    parses("東京", "\"東 京\"");
    // The example at the top of docs/QUERY.md.
    parses(
        "(\"Xi Jinping\" OR Putin) NEAR/5 (China OR Beijing) sanction* -title:sport lang:en",
        "(AND (NEAR/5 (OR \"xi jinping\" putin) (OR china beijing)) sanction* (NOT title:sport) lang:en)",
    );
}

#[test]
fn every_error_message() {
    let expected = "expected a word, phrase or `(`";
    fails("", 1, &format!("empty query: {expected}"));
    fails("   ", 1, &format!("empty query: {expected}"));
    fails("\"xi jinping", 1, "unclosed `\"`: add the closing `\"`");
    fails("a 'US", 3, "unclosed `'`: add the closing `'`");
    fails("/sanction", 1, "unclosed regex: add the closing `/`");
    fails(
        "\"putin\"*",
        8,
        "wildcard `*` works only at the end of an unquoted word",
    );
    fails(
        "a - b",
        3,
        "expected a term right after `-` (no space), e.g. `-sport`",
    );
    fails(
        "a -",
        3,
        "expected a term right after `-` (no space), e.g. `-sport`",
    );
    fails(
        "titel:putin",
        1,
        "unknown field `titel:`: expected title, body, url, source, author or lang (quote text \
         that contains `:`)",
    );
    fails(
        "putin NEAR china",
        7,
        "`NEAR` needs a distance: write `NEAR/5` for at most 5 words apart",
    );
    fails(
        "a ONEAR b",
        3,
        "`ONEAR` needs a distance: write `ONEAR/5` for at most 5 words apart",
    );
    fails(
        "putin or xi",
        7,
        "`or` is ambiguous: write `OR` for the operator or \"or\" for the word",
    );
    fails(
        "putin And xi",
        7,
        "`And` is ambiguous: write `AND` for the operator or \"And\" for the word",
    );
    fails(
        "a not b",
        3,
        "`not` is ambiguous: write `NOT` for the operator or \"not\" for the word",
    );
    fails(
        "a near/5 b",
        3,
        "`near/5` is ambiguous: write `NEAR/5` for the operator or \"near/5\" for the words",
    );
    fails(
        "a NEAR/x b",
        3,
        "expected a number of words after `NEAR/`, e.g. `NEAR/5`",
    );
    fails(
        "a NEAR/101 b",
        3,
        "`NEAR/101` is too far: the distance must be at most 100",
    );
    fails(
        "san*tion",
        1,
        "`san*tion`: wildcard `*` works only at the end of a word",
    );
    fails(
        "sa*",
        1,
        "`sa*` is too short: a wildcard needs at least 3 letters before `*`",
    );
    fails("!!!", 1, "`!!!` has no letters or digits: expected a word");
    fails(
        "\"  \"",
        1,
        "empty \"  \": expected letters or digits between the quotes",
    );
    fails(
        "''",
        1,
        "empty '': expected letters or digits between the quotes",
    );
    fails("(a OR b", 1, "unclosed `(`: add a matching `)`");
    fails("a OR b)", 7, "unexpected `)`: no matching `(`");
    fails(
        "a OR",
        5,
        "expected a word, phrase or `(` after `OR`, found end of query",
    );
    fails(
        "a AND )",
        7,
        "expected a word, phrase or `(` after `AND`, found `)`",
    );
    fails("OR a", 1, "expected a word, phrase or `(`, found `OR`");
    fails("(a b c", 1, "unclosed `(`: add a matching `)`");
    fails(
        "(a NEAR/2)",
        10,
        "expected a word, phrase or `(` after `NEAR/2`, found `)`",
    );
    fails(
        "title:",
        7,
        "expected a word, phrase or `(` after `title:`, found end of query",
    );
    let operands = "`NEAR/5` operands must be words, phrases, wildcards, regexes or (a OR b) \
                    groups, not AND, NOT or lang:";
    fails("a NEAR/5 (b AND c)", 3, operands);
    fails("(a b) NEAR/5 c", 7, operands);
    fails("a NEAR/5 lang:en", 3, operands);
    fails("a -b NEAR/5 c", 6, operands);
    fails(
        "a NEAR/2 -b",
        10,
        "expected a word, phrase or `(` after `NEAR/2`, found `-`",
    );
    fails(
        "title:body:x",
        7,
        "field `body:` inside `title:`: give each term one field",
    );
    let lang = "`lang:` expects a language code like `en` or `pt-br`";
    fails("putin lang:\"en\"", 12, lang);
    fails("putin lang:en*", 12, lang);
    fails("putin lang:/en/", 12, lang);
    fails("putin lang:'EN'", 12, lang);
    fails("putin lang:e.n", 12, lang);
    fails("/(/", 1, "invalid regex: unclosed group");
    fails(
        "/a*/",
        1,
        "regex /a*/ matches empty text: it must match at least one character",
    );
    let no_terms = "query can match an article that contains none of its terms (only NOT, OR NOT \
                    or lang:): add a word or phrase that must appear";
    fails("NOT a", 1, no_terms);
    fails("-a", 1, no_terms);
    fails("a OR NOT b", 1, no_terms);
    fails("lang:en", 1, no_terms);
    fails("lang:en OR putin", 1, no_terms);
    fails("NOT (a AND b) OR c", 1, no_terms);
    let deep = format!("{}a{}", "(".repeat(101), ")".repeat(101));
    fails(
        &deep,
        101,
        "query nests too deeply: at most 100 levels of `(`, NOT and NEAR/ONEAR (each NEAR/ONEAR \
         of a chain `a NEAR/5 b NEAR/5 c` is one level): use fewer parentheses or a shorter chain",
    );
}

#[test]
fn keyword_shorthand() {
    let keywords = vec!["Putin".to_string(), "Xi Jinping".to_string()];
    let query = Query::any_of(&keywords).unwrap();
    assert_eq!(describe(&query.root), "(OR putin \"xi jinping\")");
    let empty = Query::any_of(&[]).unwrap_err();
    assert_eq!(
        (empty.column, empty.message.as_str()),
        (1, "no keywords: expected at least one keyword")
    );
    let bad = Query::any_of(&["Putin".to_string(), "!!".to_string()]).unwrap_err();
    assert_eq!(
        bad.message,
        "keyword 2 (`!!`) has no letters or digits: expected a word or phrase"
    );
    assert_eq!(bad.to_string(), format!("column 1: {}", bad.message));
}
