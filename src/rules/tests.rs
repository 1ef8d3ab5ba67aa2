//! Table tests of the grammar (every error message included), of matching (multilingual, hits,
//! offsets, snippets), and property tests showing the matcher agrees with `reference`.

use super::ast::{Field as AstField, Node, TermKind, DEFAULT_FIELDS};
use super::*;
use proptest::prelude::*;

/// The tree as an s-expression, terms shown folded.
fn describe(node: &Node) -> String {
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
        "query nests too deeply: at most 100 levels of `(` and NOT",
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

fn document<'a>(title: &'a str, body: &'a str) -> Document<'a> {
    Document {
        title,
        body,
        url: "",
        source: "",
        authors: &[],
        language: None,
    }
}

/// Runs `query` on `document` with the matcher, checks the reference agrees, and returns the
/// hits as (term, field, original text of the hit), or None when it does not match.
fn run(query: &str, document: &Document) -> Option<Vec<(String, Field, String)>> {
    let parsed = Query::parse(query).unwrap_or_else(|error| panic!("{query:?}: {error}"));
    let expected = reference::matches(&parsed, document);
    let matcher = Matcher::new(vec![parsed]);
    let found = matcher.matches(document);
    assert_eq!(
        !found.is_empty(),
        expected,
        "matcher and reference disagree on {query:?}"
    );
    found.into_iter().next().map(|found| {
        found
            .hits
            .into_iter()
            .map(|hit| {
                let text = match hit.field {
                    Field::Title => document.title,
                    Field::Body => document.body,
                    Field::Url => document.url,
                    Field::Source => document.source,
                    Field::Author | Field::Lang => "",
                };
                let original = text.get(hit.start..hit.end).unwrap_or("?").to_string();
                (hit.term, hit.field, original)
            })
            .collect()
    })
}

fn matches(query: &str, document: &Document) -> bool {
    run(query, document).is_some()
}

#[test]
fn boolean_matching_and_whole_words() {
    let article = document(
        "Putin meets Xi Jinping in Beijing",
        "The talks covered sanctions, energy and the U.S. role. The US envoy and Putin's aides were present.",
    );
    for (query, expected) in [
        ("putin", true),
        ("put", false),
        ("putin xi", true),
        ("putin AND trump", false),
        ("putin OR trump", true),
        ("putin NOT trump", true),
        ("putin NOT beijing", false),
        ("putin -energy", false),
        ("\"xi jinping\"", true),
        ("\"jinping xi\"", false),
        ("\"sanctions energy\"", true),
        ("sanction", false),
        ("sanction*", true),
        ("(trump OR biden) putin", false),
        ("(trump OR xi) putin", true),
        ("title:sanctions", false),
        ("body:sanctions", true),
        ("title:(putin AND beijing)", true),
        ("'U.S.'", true),
        ("'US'", true),
        ("'us'", false),
        ("us", true),
        ("'U.S.'", true),
        ("u.s.", true),
        ("/sanction(s|ed)/", true),
        ("/sanction/", false),
        ("/put.*/ beijing", true),
        ("aides", true),
    ] {
        assert_eq!(matches(query, &article), expected, "query {query:?}");
    }
}

#[test]
fn proximity() {
    let article = document(
        "",
        "Putin said on Monday that China would not be pressured. Later, Beijing replied to Moscow.",
    );
    for (query, expected) in [
        ("putin NEAR/4 china", true),
        ("putin NEAR/3 china", false),
        ("china NEAR/4 putin", true),
        ("putin ONEAR/4 china", true),
        ("china ONEAR/4 putin", false),
        ("(beijing OR china) NEAR/1 replied", true),
        ("\"beijing replied\" NEAR/1 moscow", true),
        ("putin NEAR/5 (moscow OR beijing)", false),
        ("putin NEAR/20 moscow", true),
        ("monday NEAR/0 china", false),
        ("monday NEAR/1 china", true),
        ("putin NEAR/4 china NEAR/8 beijing", true),
        ("putin NEAR/4 china NEAR/5 moscow", false),
        ("putin NEAR/3 putin", false),
        ("/p.*n/ NEAR/4 china", true),
        ("/p.*n/ NEAR/3 china", false),
        ("pressur* ONEAR/0 later", true),
    ] {
        assert_eq!(matches(query, &article), expected, "query {query:?}");
    }
    // Title and body are separate: no proximity across them.
    let split = document("Putin", "China");
    assert!(!matches("putin NEAR/5 china", &split));
}

#[test]
fn fields_and_language() {
    let authors = vec!["Anna Smith".to_string(), "John Doe".to_string()];
    let article = Document {
        title: "Markets rally",
        body: "Stocks rose.",
        url: "https://www.reuters.com/markets/2024/rally",
        source: "Reuters Business",
        authors: &authors,
        language: Some("en-GB"),
    };
    for (query, expected) in [
        ("url:reuters.com", true),
        ("url:\"reuters com markets\"", true),
        ("url:/\\d{4}/", true),
        ("url:markets stocks", true),
        ("markets", true),
        ("reuters", false),
        ("source:reuters", true),
        ("source:\"reuters business\"", true),
        ("author:smith", true),
        ("author:\"anna smith\"", true),
        ("author:\"smith john\"", false),
        ("author:smith NEAR/5 author:john", false),
        ("stocks lang:en", true),
        ("stocks lang:en-gb", true),
        ("stocks lang:de", false),
        ("stocks NOT lang:de", true),
        ("stocks (lang:de OR lang:en)", true),
        ("stocks lang:e", false),
    ] {
        assert_eq!(matches(query, &article), expected, "query {query:?}");
    }
}

#[test]
fn multilingual() {
    let russian = document(
        "Путин встретился с Си Цзиньпином",
        "Президент России Владимир Путин заявил о санкциях. Ёлка.",
    );
    assert!(matches("путин", &russian));
    assert!(matches("ПУТИН", &russian));
    assert!(matches("\"владимир путин\"", &russian));
    assert!(matches("санкци*", &russian));
    assert!(matches("елка", &russian));
    assert!(!matches("путина", &russian));

    let german = document(
        "Müller trifft Schröder in München",
        "Die Straße war voll. Grüße aus Köln.",
    );
    assert!(matches("muller", &german));
    assert!(matches("Müller", &german));
    assert!(matches("MÜLLER", &german));
    assert!(matches("munchen", &german));
    assert!(matches("strasse", &german));
    assert!(matches("STRASSE", &german));
    assert!(matches("\"grüsse aus köln\"", &german));
    assert!(matches("'Müller'", &german));
    assert!(!matches("'MÜLLER'", &german));

    let french = document(
        "Élection présidentielle : Macron réélu",
        "Le président a déclaré à l'Élysée que la coopération franco-allemande était essentielle.",
    );
    assert!(matches("election presidentielle", &french));
    assert!(matches("\"élection présidentielle\"", &french));
    assert!(matches("elysee", &french));
    assert!(matches("reelu", &french));
    assert!(matches("cooperation NEAR/3 essentielle", &french));
    assert!(!matches("cooperation NEAR/2 essentielle", &french));
    assert!(matches("\"franco allemande\"", &french));
    assert!(matches("franco-allemande", &french));

    let japanese = document(
        "習近平国家主席が東京を訪問",
        "岸田首相は東京で習近平氏と会談した。トヨタ自動車も出席。",
    );
    assert!(matches("習近平", &japanese));
    assert!(matches("東京", &japanese));
    assert!(matches("\"東京を訪問\"", &japanese));
    assert!(!matches("\"東京 訪問\"", &japanese));
    assert!(matches("トヨタ", &japanese));
    // Proximity in CJK counts characters.
    assert!(matches("東京 NEAR/6 会談", &japanese));
    assert!(!matches("東京 NEAR/5 会談", &japanese));
    assert!(!matches("京都", &japanese));
    assert!(matches("title:東京 body:首相", &japanese));

    let greek = document("Ο Μητσοτάκης στην Αθήνα", "ΟΔΥΣΣΕΑΣ");
    assert!(matches("μητσοτακης", &greek));
    assert!(matches("αθηνα", &greek));
    assert!(matches("οδυσσεας", &greek));

    let arabic = document("الرئيس المصري في القاهرة", "مُحَمَّد");
    assert!(matches("القاهرة", &arabic));
    assert!(matches("محمد", &arabic));

    let compatibility = document("ＮＡＴＯ summit", "ﬁnancial");
    assert!(matches("nato", &compatibility));
    assert!(matches("financial", &compatibility));
}

#[test]
fn hits_map_back_to_original_text() {
    let article = document(
        "Élysée: Macron and Putin",
        "Sanctioned firms.\n\nPutin's  Kremlin said Xi\nJinping agreed. Putin again.",
    );
    let hits = run(
        "(putin OR trump) \"xi jinping\" sanction* NOT merkel",
        &article,
    )
    .unwrap();
    assert_eq!(
        hits,
        vec![
            ("putin".to_string(), Field::Title, "Putin".to_string()),
            (
                "sanction*".to_string(),
                Field::Body,
                "Sanctioned".to_string()
            ),
            ("putin".to_string(), Field::Body, "Putin".to_string()),
            (
                "xi jinping".to_string(),
                Field::Body,
                "Xi\nJinping".to_string()
            ),
        ]
    );
    let hits = run("elysee", &article).unwrap();
    assert_eq!(
        hits,
        vec![("elysee".to_string(), Field::Title, "Élysée".to_string())]
    );
    // Terms under NOT never appear as hits, even when present elsewhere in the tree.
    let hits = run("kremlin NOT (merkel NOT putin)", &article).unwrap();
    assert_eq!(
        hits,
        vec![("kremlin".to_string(), Field::Body, "Kremlin".to_string())]
    );
    // NEAR reports the pair that satisfied it.
    let hits = run("putin NEAR/1 kremlin", &article).unwrap();
    assert_eq!(
        hits,
        vec![
            ("putin".to_string(), Field::Body, "Putin".to_string()),
            ("kremlin".to_string(), Field::Body, "Kremlin".to_string()),
        ]
    );
}

#[test]
fn snippets_highlight_the_hit() {
    let body = format!(
        "{} The Kremlin said sanctions would fail. {}",
        "Filler text here. ".repeat(20),
        "More filler. ".repeat(20)
    );
    let article = document("", &body);
    let matcher = Matcher::new(vec![Query::parse("kremlin").unwrap()]);
    let found = matcher.matches(&article);
    let snippet = &found[0].hits[0].snippet;
    assert!(
        snippet.contains("The **Kremlin** said sanctions"),
        "{snippet}"
    );
    assert!(
        snippet.starts_with('…') && snippet.ends_with('…'),
        "{snippet}"
    );
}

#[test]
fn many_watchlists_and_filters() {
    let queries: Vec<Query> = [
        "putin",
        "trump",
        "putin NOT xi",
        "xi OR trump",
        "\"xi jinping\" sanction*",
    ]
    .iter()
    .map(|text| Query::parse(text).unwrap())
    .collect();
    let matcher = Matcher::new(queries);
    assert_eq!(matcher.len(), 5);
    assert!(!matcher.is_empty());
    let article = document("Putin and Xi Jinping", "New sanctions.");
    let indices: Vec<usize> = matcher
        .matches(&article)
        .iter()
        .map(|found| found.watchlist)
        .collect();
    assert_eq!(indices, vec![0, 3, 4]);
    let among: Vec<usize> = matcher
        .matches_among(&article, &|index| index != 3)
        .iter()
        .map(|found| found.watchlist)
        .collect();
    assert_eq!(among, vec![0, 4]);
    assert!(Matcher::new(Vec::new()).is_empty());
}

#[test]
fn matcher_is_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<Matcher>();
}

#[test]
fn explain_tells_why() {
    let query = Query::parse("putin AND NOT xi AND title:'US'").unwrap();
    let article = document("US talks", "Putin spoke.");
    let explanation = explain(&query, &article);
    assert!(explanation.matched);
    let text = explanation.to_string();
    assert!(text.contains("✓ AND — 3 of 3 operands true"), "{text}");
    assert!(
        text.contains("✓ putin — found 1 time(s), first in body at bytes 0..5"),
        "{text}"
    );
    assert!(text.contains("✓ NOT — operand is false"), "{text}");
    assert!(text.contains("✗ xi — not found in title, body"), "{text}");
    assert!(text.contains("✓ title:'US'"), "{text}");
    let json = serde_json::to_string(&explanation).unwrap();
    assert!(json.contains("\"matched\":true"), "{json}");
}

#[test]
fn hits_serialize_for_alerts() {
    let matcher = Matcher::new(vec![Query::parse("putin").unwrap()]);
    let found = matcher.matches(&document("Putin", ""));
    let json = serde_json::to_string(&found).unwrap();
    assert_eq!(
        json,
        r#"[{"watchlist":0,"hits":[{"term":"putin","field":"title","start":0,"end":5,"snippet":"**Putin**"}]}]"#
    );
}

// ---- property tests: the matcher agrees with the reference evaluator ----

const VOCABULARY: &[&str] = &[
    "putin",
    "Xi",
    "china",
    "sanctions",
    "sanctioned",
    "US",
    "us",
    "Müller",
    "muller",
    "东京",
    "москва",
    "Café",
    "cafe",
    "new",
    "york",
    "a1",
];

fn text_strategy() -> impl Strategy<Value = String> {
    let word = prop::sample::select(VOCABULARY).prop_flat_map(|word| {
        prop_oneof![
            Just(word.to_string()),
            Just(word.to_uppercase()),
            Just(word.to_lowercase()),
        ]
    });
    let separator = prop::sample::select(&[" ", " ", ", ", "\n", "-", "'s ", ". ", ""][..]);
    prop::collection::vec((word, separator), 0..14).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(word, separator)| format!("{word}{separator}"))
            .collect()
    })
}

fn leaf_strategy() -> impl Strategy<Value = String> {
    let word = prop::sample::select(VOCABULARY).prop_map(str::to_string);
    prop_oneof![
        4 => word.clone(),
        2 => (word.clone(), word.clone()).prop_map(|(a, b)| format!("\"{a} {b}\"")),
        1 => prop::sample::select(&["san*", "sanc*", "sanction*", "mül*", "mos*", "caf*"][..])
            .prop_map(str::to_string),
        1 => prop::sample::select(&["'US'", "'us'", "'Xi'", "'Müller'", "'New York'"][..])
            .prop_map(str::to_string),
        1 => (prop::sample::select(&["title", "body", "author", "url"][..]), word)
            .prop_map(|(field, word)| format!("{field}:{word}")),
        1 => prop::sample::select(&["/sanction(s|ed)/", "/[a-z]+a/", "/мос.*/"][..])
            .prop_map(str::to_string),
    ]
}

fn positional_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => leaf_strategy(),
        1 => (leaf_strategy(), leaf_strategy()).prop_map(|(a, b)| format!("({a} OR {b})")),
    ]
}

fn query_strategy() -> impl Strategy<Value = String> {
    let near = (
        positional_strategy(),
        positional_strategy(),
        0u32..4,
        any::<bool>(),
    )
        .prop_map(|(a, b, distance, ordered)| {
            format!("{a} {}NEAR/{distance} {b}", if ordered { "O" } else { "" })
        });
    let leaf = prop_oneof![3 => leaf_strategy(), 1 => near];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) AND ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) OR ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) NOT ({b})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("({a}) -({b})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn matcher_agrees_with_reference(
        queries in prop::collection::vec(query_strategy(), 1..6),
        title in text_strategy(),
        body in text_strategy(),
        author in text_strategy(),
        url in text_strategy(),
    ) {
        let parsed: Vec<Query> = queries.iter().filter_map(|query| Query::parse(query).ok()).collect();
        let authors = vec![author, "Anna Müller".to_string()];
        let article = Document {
            title: &title,
            body: &body,
            url: &url,
            source: "",
            authors: &authors,
            language: Some("en"),
        };
        let matcher = Matcher::new(parsed.clone());
        let found = matcher.matches(&article);
        let expected: Vec<usize> = parsed
            .iter()
            .enumerate()
            .filter(|(_, query)| reference::matches(query, &article))
            .map(|(index, _)| index)
            .collect();
        let actual: Vec<usize> = found.iter().map(|found| found.watchlist).collect();
        prop_assert_eq!(actual, expected, "queries {:?}", queries);
        for found in &found {
            prop_assert!(!found.hits.is_empty());
            for hit in &found.hits {
                let text = match hit.field {
                    Field::Title => title.as_str(),
                    Field::Body => body.as_str(),
                    Field::Url => url.as_str(),
                    _ => continue,
                };
                prop_assert!(text.get(hit.start..hit.end).is_some_and(|hit| !hit.is_empty()));
                prop_assert!(hit.snippet.contains("**"));
            }
        }
    }

    #[test]
    fn parser_never_panics(text in "\\PC{0,40}") {
        let _ = Query::parse(&text);
    }

    #[test]
    fn parser_never_panics_on_query_characters(text in "[a-zA-Z \"'()/*:\\-]{0,30}") {
        let _ = Query::parse(&text);
    }
}

#[test]
#[ignore]
fn property_coverage_stats() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut parsed, mut failed, mut matched, mut near) = (0, 0, 0, 0);
    let mut errors = std::collections::BTreeMap::new();
    for _ in 0..2000 {
        let query = query_strategy().new_tree(&mut runner).unwrap().current();
        let title = text_strategy().new_tree(&mut runner).unwrap().current();
        let body = text_strategy().new_tree(&mut runner).unwrap().current();
        match Query::parse(&query) {
            Ok(q) => {
                parsed += 1;
                if query.contains("NEAR") {
                    near += 1;
                }
                if reference::matches(&q, &document(&title, &body)) {
                    matched += 1;
                }
            }
            Err(error) => {
                failed += 1;
                *errors.entry(error.message).or_insert(0) += 1;
            }
        }
    }
    println!("parsed {parsed} failed {failed} matched {matched} near {near}");
    println!("{errors:#?}");
}
