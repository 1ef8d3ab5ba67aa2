//! Table tests of matching: boolean logic, proximity, fields, languages and scripts, hits,
//! offsets, snippets, explain; each query is also checked against the reference evaluator.

use super::super::*;

pub(super) fn document<'a>(title: &'a str, body: &'a str) -> Document<'a> {
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
                (hit.term.to_string(), hit.field, original)
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
fn regexes_skipped_by_their_literals_still_match() {
    let article = document(
        "WATERGATE hearings",
        "Sanctioned firms; the Ⅸ report; Straße closures.",
    );
    for (query, expected) in [
        // Capitals in the regex: case-insensitive against folded text.
        ("/SANCTION(S|ED)/", true),
        ("/[A-Z]+GATE/", true),
        ("/(?-i)Sanctioned/", false),
        // Folded forms: the roman numeral is "ix", ß is "ss".
        ("/ix/", true),
        ("/STRASSE/", true),
        ("/straße/", false),
        ("/report|hearing.*/", true),
        ("/xyz(a|b)/", false),
    ] {
        assert_eq!(matches(query, &article), expected, "query {query:?}");
    }
    // Enough regexes that their literals go into one automaton rather than one search each.
    let queries: Vec<Query> = [
        "/alpha/",
        "/bravo/",
        "/charlie/",
        "/delta/",
        "/echo/",
        "/foxtrot/",
        "/golf/",
        "/hotel/",
        "/india/",
        "/sanction(s|ed)/",
        "/[a-z]+gate/",
    ]
    .iter()
    .map(|text| Query::parse(text).unwrap())
    .collect();
    let indices: Vec<usize> = Matcher::new(queries)
        .matches(&article)
        .iter()
        .map(|found| found.watchlist)
        .collect();
    assert_eq!(indices, vec![9, 10]);
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

    let korean = document("서울 특별시 시장", "윤석열 대통령");
    assert!(matches("서울", &korean));
    assert!(matches("\"윤석열 대통령\"", &korean));
    assert!(!matches("서", &korean));

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
    assert!(
        format!("{matcher:?}").starts_with("Matcher { watchlists: 5, patterns: 5, regexes: 0, ..")
    );
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
