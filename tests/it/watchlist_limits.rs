//! `check` and `match` on watchlists at and past the query limits (issue 16): one watchlist with
//! 100,000 terms, a NEAR chain of 7,000 terms, a 20,000-word phrase. What is too big is refused
//! at the watchlist's TOML path with the limit and how to fix it; what is within the limits loads
//! and matches.

use crate::common;

use common::config::ConfigBuilder;
use common::wirewatch;

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

/// The start of a long output, for assertion messages.
fn excerpt(text: &str) -> &str {
    text.get(..text.len().min(2_000)).unwrap_or(text)
}

fn config(watchlists: &str) -> String {
    ConfigBuilder::new()
        .source("a", "url = \"https://example.org/feed\"")
        .sink(
            "hook",
            "kind = \"webhook\"\nurl = \"https://example.org/hook\"",
        )
        .raw(watchlists)
        .build()
}

async fn check(folder: &std::path::Path, watchlists: &str) -> common::Output {
    let path = common::write_config(folder, &config(watchlists));
    wirewatch(&["check", "--config", path.to_str().unwrap()]).await
}

#[tokio::test]
async fn check_refuses_watchlists_past_the_query_limits() {
    let folder = tempfile::tempdir().unwrap();
    let too_many = (0..=100_000).map(word).collect::<Vec<_>>();
    let keywords = too_many
        .iter()
        .map(|word| format!("\"{word}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let chain = vec!["alpha"; 7_000].join(" NEAR/5 ");
    let phrase = vec!["word"; 20_000].join(" ");
    let watchlists = format!(
        "[watchlists.names]\nquery = '{}'\n\n[watchlists.tickers]\nkeywords = [{keywords}]\n\n\
         [watchlists.chain]\nquery = '{chain}'\n\n[watchlists.quote]\nquery = 'putin \"{phrase}\"'\n",
        too_many.join(" OR ")
    );
    let output = check(folder.path(), &watchlists).await;
    assert_eq!(output.status.code(), Some(1), "{}", output.stderr);
    let last_term_column = too_many.join(" OR ").rfind(' ').unwrap() + 2;
    for expected in [
        format!(
            "watchlists.names.query: column {last_term_column}: query has more than 100000 \
             terms: split it into several watchlists"
        ),
        "watchlists.tickers.keywords: column 1: 100001 keywords, more than 100000: split them \
         into several watchlists"
            .to_string(),
        "watchlists.chain.query: column 1307: query nests too deeply: at most 100 levels of `(`, \
         NOT and NEAR/ONEAR (each NEAR/ONEAR of a chain `a NEAR/5 b NEAR/5 c` is one level): use \
         fewer parentheses or a shorter chain"
            .to_string(),
        "watchlists.quote.query: column 7: phrase has 20000 words, more than 32: shorten it to \
         its most telling words"
            .to_string(),
    ] {
        assert!(
            output.stderr.contains(&expected),
            "missing {expected:?} in:\n{}",
            excerpt(&output.stderr)
        );
    }
    assert!(output.stderr.contains("4 errors"), "{}", output.stderr);
    // The offending text is named, never echoed whole.
    assert!(output.stderr.len() < 4_000, "{}", output.stderr.len());
}

#[tokio::test]
async fn check_and_match_accept_watchlists_at_the_query_limits() {
    let folder = tempfile::tempdir().unwrap();
    let terms = (0..100_000).map(word).collect::<Vec<_>>();
    let keywords = terms
        .iter()
        .map(|word| format!("\"{word}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let chain = vec!["alpha"; 101].join(" NEAR/5 ");
    let phrase = vec!["word"; 32].join(" ");
    let watchlists = format!(
        "[watchlists.names]\nquery = '{}'\n\n[watchlists.tickers]\nkeywords = [{keywords}]\n\n\
         [watchlists.chain]\nquery = '{chain}'\n\n[watchlists.quote]\nquery = '\"{phrase}\"'\n",
        terms.join(" OR ")
    );
    let output = check(folder.path(), &watchlists).await;
    assert!(output.status.success(), "{}", output.stderr);
    assert!(output.stdout.contains("4 watchlists"), "{}", output.stdout);

    // The daemon's matcher builds from it and matches each watchlist.
    let article = folder.path().join("article.json");
    let body = format!(
        "{} {} {phrase} {}",
        terms[5],
        terms[99_999],
        vec!["alpha"; 101].join(" ")
    );
    let seed = common::fixtures().join("seed/moscow-times.html");
    let record = wirewatch(&["extract", "--format", "json", seed.to_str().unwrap()]).await;
    let mut record: serde_json::Value = serde_json::from_str(&record.stdout).unwrap();
    record["blocks"].as_array_mut().unwrap().insert(
        0,
        serde_json::json!({"kind": "paragraph", "text": body, "links": []}),
    );
    std::fs::write(&article, record.to_string()).unwrap();
    let config_path = folder.path().join("wirewatch.toml");
    let output = wirewatch(&[
        "match",
        "--config",
        config_path.to_str().unwrap(),
        article.to_str().unwrap(),
    ])
    .await;
    assert!(output.status.success(), "{}", output.stderr);
    for name in ["names", "tickers", "chain", "quote"] {
        assert!(
            output.stdout.contains(&format!("\"{name}\"")),
            "{name} did not match:\n{}",
            excerpt(&output.stdout)
        );
    }
}
