//! Regression tests of the limits that keep one hostile or careless watchlist from taking the
//! matcher's memory, the stack or the CPU (issue 16): many terms in one watchlist, deep nesting
//! and long NEAR chains, long phrases.

use super::super::parser::{MAX_DEPTH, MAX_PHRASE_WORDS, MAX_TERMS};
use super::super::*;
use super::matching::document;

/// A distinct lowercase word per number (letters only, so each is one word; the leading `x`
/// keeps it from being an operator such as `not`).
fn word(mut number: usize) -> String {
    let mut letters = Vec::new();
    number += 26 * 26;
    while number > 0 {
        letters.push(b'a' + (number % 26) as u8);
        number /= 26;
    }
    letters.push(b'x');
    letters.reverse();
    String::from_utf8(letters).unwrap()
}

fn or_query(count: usize) -> String {
    (0..count).map(word).collect::<Vec<_>>().join(" OR ")
}

/// Runs `work` on a thread with a 2 MiB stack, as tokio's workers have; a stack overflow aborts
/// the test process, so reaching the end is the assertion.
fn on_small_stack<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(work)
        .unwrap()
        .join()
        .unwrap()
}

/// Everything that walks a query tree: parse, build, match with hits, explain (and print it),
/// the reference evaluator, clone and drop.
fn walk_everything(query: &str, title: &str) -> bool {
    let parsed = Query::parse(query).unwrap_or_else(|error| panic!("{error}"));
    let article = document(title, "");
    let expected = reference::matches(&parsed, &article);
    let explanation = explain(&parsed, &article);
    assert_eq!(explanation.matched, expected);
    assert!(!explanation.to_string().is_empty());
    let matcher = Matcher::new(vec![parsed.clone(), parsed]);
    let found = matcher.matches(&article);
    assert_eq!(found.len(), if expected { 2 } else { 0 });
    drop(matcher);
    expected
}

#[test]
fn one_watchlist_with_many_terms_builds_in_linear_memory() {
    for count in [1_000, 4_000] {
        let terms: Vec<String> = (0..count).map(word).collect();
        let grouped = Matcher::new(vec![Query::parse(&or_query(count)).unwrap()]);
        let keywords = Matcher::new(vec![Query::any_of(&terms).unwrap()]);
        let separate = Matcher::new(
            terms
                .iter()
                .map(|term| Query::parse(term).unwrap())
                .collect(),
        );
        // Each term triggers the watchlist: with its program copied into every trigger record
        // this was count × 3·count words (quadratic); now a handful of words per term.
        for matcher in [&grouped, &keywords] {
            assert!(
                matcher.trigger_words() <= 8 * count,
                "{count} terms: {} trigger words",
                matcher.trigger_words()
            );
            assert!(matcher.trigger_words() <= 3 * separate.trigger_words());
        }
    }

    // Still one match, with a hit per term found, earliest first, and the program runs once
    // however many of its terms occur.
    let terms: Vec<String> = (0..500).map(word).collect();
    let title = terms[100..300].join(" ");
    let body = format!("{} {}", terms[250], terms[120]);
    let article = document(&title, &body);
    let grouped = Matcher::new(vec![Query::any_of(&terms).unwrap()]);
    let found = grouped.matches(&article);
    assert_eq!(found.len(), 1);
    let hits = &found[0].hits;
    assert_eq!(hits.len(), 202);
    assert_eq!(&*hits[0].term, terms[100].as_str());
    assert_eq!(hits[0].field, Field::Title);
    assert_eq!(&*hits[200].term, terms[250].as_str());
    assert_eq!(hits[200].field, Field::Body);
    assert_eq!(&*hits[201].term, terms[120].as_str());
    assert_eq!(hits, &grouped.hits_by_tree(&article, 0));
}

#[test]
fn a_query_or_keyword_list_beyond_the_term_limit_is_refused() {
    let query = format!("{} OR {}", or_query(MAX_TERMS), word(MAX_TERMS));
    let error = Query::parse(&query).unwrap_err();
    assert_eq!(
        error.message,
        "query has more than 100000 terms: split it into several watchlists"
    );
    assert_eq!(error.column, query.rfind(' ').unwrap() + 2);
    assert!(Query::parse(&or_query(MAX_TERMS)).is_ok());

    let keywords: Vec<String> = (0..=MAX_TERMS).map(word).collect();
    let error = Query::any_of(&keywords).unwrap_err();
    assert_eq!(
        error.message,
        "100001 keywords, more than 100000: split them into several watchlists"
    );
    assert!(Query::any_of(&keywords[..MAX_TERMS]).is_ok());
}

#[test]
fn near_chain_of_7000_terms_does_not_overflow_the_stack() {
    let chain = vec!["alpha"; 7_000].join(" NEAR/5 ");
    let error = on_small_stack(move || Query::parse(&chain).unwrap_err());
    let message = "query nests too deeply: at most 100 levels of `(`, NOT and NEAR/ONEAR (each \
                   NEAR/ONEAR of a chain `a NEAR/5 b NEAR/5 c` is one level): use fewer \
                   parentheses or a shorter chain";
    assert_eq!(error.message, message);
    // At the 101st operator.
    let column = "alpha NEAR/5 ".len() * 100 + "alpha ".len() + 1;
    assert_eq!(error.column, column);

    // A chain inside parentheses counts with them; a group inside a chain too.
    let parenthesised = format!(
        "{}{}{}",
        "(".repeat(60),
        vec!["a"; 42].join(" ONEAR/1 "),
        ")".repeat(60)
    );
    assert_eq!(Query::parse(&parenthesised).unwrap_err().message, message);
    let nested_first = format!(
        "{}a{} NEAR/1 {}",
        "(".repeat(60),
        ")".repeat(60),
        vec!["b"; 41].join(" NEAR/1 ")
    );
    assert_eq!(Query::parse(&nested_first).unwrap_err().message, message);

    // The longest chain allowed runs through everything on a small stack.
    let longest = vec!["alpha"; MAX_DEPTH + 1].join(" NEAR/0 ");
    let title = vec!["alpha"; MAX_DEPTH + 2].join(" ");
    assert!(on_small_stack(move || walk_everything(&longest, &title)));
    // Over a text repeating its term, a chain keeps one span per place at each operator instead
    // of multiplying them (this took minutes and gigabytes).
    let longest = vec!["alpha"; MAX_DEPTH + 1].join(" NEAR/5 ");
    let title = vec!["alpha"; 20].join(" ");
    assert!(!on_small_stack(move || walk_everything(&longest, &title)));
}

#[test]
fn the_deepest_queries_allowed_run_on_a_small_stack() {
    // Parentheses alternating OR and AND: two tree levels per `(`.
    let mut query = "omega".to_string();
    for level in 0..MAX_DEPTH {
        query = if level % 2 == 0 {
            format!("alpha OR ({query})")
        } else {
            format!("beta ({query})")
        };
    }
    let title = "omega beta".to_string();
    assert!(on_small_stack(move || walk_everything(&query, &title)));

    // NOT runs, and NEAR chains under NOT and parentheses up to the limit.
    let nots = format!("omega {}alpha", "NOT ".repeat(MAX_DEPTH));
    assert!(!on_small_stack(move || walk_everything(&nots, "omega")));
    let too_many_nots = format!("omega {}alpha", "NOT ".repeat(MAX_DEPTH + 1));
    assert!(Query::parse(&too_many_nots).is_err());
    let mixed = format!(
        "omega NOT {}{}{}",
        "(".repeat(40),
        vec!["(x NEAR/2 y)"; 57].join(" NEAR/3 "),
        ")".repeat(40)
    );
    assert!(on_small_stack(move || walk_everything(&mixed, "omega x y")));
}

#[test]
fn a_watchlist_of_100k_terms_runs_on_a_small_stack() {
    let query = or_query(MAX_TERMS);
    let title = format!("{} and {}", word(7), word(MAX_TERMS - 1));
    assert!(on_small_stack(move || walk_everything(&query, &title)));
}

#[test]
fn long_phrase_is_refused_with_the_limit() {
    let phrase = vec!["word"; 20_000].join(" ");
    let error = Query::parse(&format!("putin AND \"{phrase}\"")).unwrap_err();
    assert_eq!(error.column, 11);
    assert_eq!(
        error.message,
        "phrase has 20000 words, more than 32: shorten it to its most telling words"
    );
    let error = Query::parse(&format!("'{phrase}'")).unwrap_err();
    assert_eq!(error.column, 1);
    assert!(error.message.starts_with("phrase has 20000 words"));
    // A hyphenated word is a phrase too.
    let hyphenated = vec!["x"; 40].join("-");
    let error = Query::parse(&hyphenated).unwrap_err();
    assert_eq!(
        error.message,
        "`x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-…` has 40 words, more than 32: shorten it to its \
         most telling words"
    );

    let keywords = vec!["putin".to_string(), phrase];
    let error = Query::any_of(&keywords).unwrap_err();
    assert_eq!(
        error.message,
        "keyword 2 (`word word word word word word word word …`) has 20000 words, more than 32: \
         shorten it to its most telling words"
    );

    let longest = vec!["word"; MAX_PHRASE_WORDS].join(" ");
    assert!(Query::parse(&format!("\"{longest}\"")).is_ok());
    assert!(Query::any_of(&[longest]).is_ok());
}

#[test]
fn a_query_beyond_the_size_limit_is_refused_before_lexing() {
    let query = format!("\"{}\"", "a".repeat(5 << 20));
    let error = Query::parse(&query).unwrap_err();
    assert_eq!(error.column, 1);
    assert_eq!(
        error.message,
        "query is 5242882 bytes, more than 4194304: split it into several watchlists"
    );
}
