//! Property tests: on random queries and texts the matcher agrees with the reference
//! evaluator, and the parser never panics.

use super::super::*;
use proptest::prelude::*;

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
        1 => prop::sample::select(&["lang:en", "lang:de", "source:reuters"][..])
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
        language in prop::sample::select(&[Some("en"), Some("de-AT"), None][..]),
        source in prop::sample::select(&["Reuters", "AP"][..]),
    ) {
        let parsed: Vec<Query> = queries.iter().filter_map(|query| Query::parse(query).ok()).collect();
        let authors = vec![author, "Anna Müller".to_string()];
        let article = Document {
            title: &title,
            body: &body,
            url: &url,
            source,
            authors: &authors,
            language,
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
            let by_tree = matcher.hits_by_tree(&article, found.watchlist);
            prop_assert_eq!(&found.hits, &by_tree, "query {:?}", parsed[found.watchlist]);
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
                if reference::matches(&q, &super::matching::document(&title, &body)) {
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
