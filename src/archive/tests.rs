use proptest::prelude::*;

use super::*;
use crate::rules::{Matcher, Query};

/// Every fixture page of the corpus, extracted and settled as the daemon settles it.
fn fixture_articles() -> Vec<(Article, String)> {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pages");
    let mut paths: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "html")
        })
        .collect();
    paths.push(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/seed/moscow-times.html"),
    );
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let bytes = std::fs::read(path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy();
            let url = url::Url::parse(&format!("https://example.org/{name}")).unwrap();
            let (mut article, _) = crate::assemble::article_from_page(&bytes, None, &url);
            let link = crate::assemble::EntryLink::Usable(url);
            let identity = crate::assemble::settle(&mut article, &link, "s", "key");
            (article, identity)
        })
        .collect()
}

#[test]
fn a_record_reads_back_as_the_article_it_was() {
    let articles = fixture_articles();
    assert!(articles.len() > 10);
    for (article, identity) in &articles {
        let row = archived(article, identity, "s", 42).unwrap();
        assert_eq!(row.id, article_id(identity));
        assert_eq!(row.url, *identity);
        assert_eq!(decode(&row.record).unwrap(), *article, "{identity}");
        // the stored bytes are the FORMAT.md record, as `extract --format json` prints it
        let record: serde_json::Value =
            serde_json::from_slice(&decompress(&row.record).unwrap()).unwrap();
        assert_eq!(record["body"], render::body(article));
    }
}

#[test]
fn damaged_records_are_errors_not_panics() {
    assert!(matches!(
        decode(b"not zstd at all"),
        Err(ArchiveError::Decompress(_))
    ));
    let not_a_record = zstd::bulk::compress(b"[1, 2]", 3).unwrap();
    assert!(matches!(
        decode(&not_a_record),
        Err(ArchiveError::Record(_))
    ));
}

#[test]
fn ids_name_the_article_url() {
    let id = article_id("https://example.org/a");
    assert!(id.starts_with("art_"));
    assert_eq!(id.len(), 4 + 64);
    assert_ne!(id, article_id("https://example.org/b"));
}

/// Words of the articles' own titles and bodies, so generated queries hit as often as miss.
fn corpus_words(articles: &[(Article, String)]) -> Vec<String> {
    let mut words: Vec<String> = articles
        .iter()
        .flat_map(|(article, _)| {
            format!("{} {}", article.title, render::body(article))
                .split_whitespace()
                .filter(|word| word.len() > 3 && word.chars().all(char::is_alphanumeric))
                .take(40)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    words.sort();
    words.dedup();
    words
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Query-the-past finds what live matching found: for generated queries over the corpus's
    /// own words, the archived article matches exactly as the article did when it was fresh
    /// (same watchlists, same hits and snippets).
    #[test]
    fn archived_articles_match_as_they_did_live(
        picks in proptest::collection::vec((0usize..10_000, 0usize..10_000, 0u8..4), 1..6)
    ) {
        thread_local! {
            static CORPUS: (Vec<(Article, String)>, Vec<String>) = {
                let articles = fixture_articles();
                let words = corpus_words(&articles);
                (articles, words)
            };
        }
        CORPUS.with(|(articles, words)| {
            let queries: Vec<Query> = picks
                .iter()
                .map(|(first, second, shape)| {
                    let first = &words[first % words.len()];
                    let second = &words[second % words.len()];
                    let text = match shape {
                        0 => format!("\"{first}\""),
                        1 => format!("\"{first}\" AND \"{second}\""),
                        2 => format!("\"{first}\" OR title:\"{second}\""),
                        _ => format!("\"{first}\" AND NOT \"{second}\""),
                    };
                    Query::parse(&text).unwrap()
                })
                .collect();
            let matcher = Matcher::new(queries);
            for (article, identity) in articles {
                let row = archived(article, identity, "s", 1).unwrap();
                let past = decode(&row.record).unwrap();
                let live = crate::assemble::match_article(&matcher, article, "s", &|_| true);
                let archived = crate::assemble::match_article(&matcher, &past, &row.source, &|_| true);
                prop_assert_eq!(live, archived, "{}", identity);
            }
            Ok(())
        })?;
    }
}
