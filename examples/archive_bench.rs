//! The archive's figures: 10,000 articles (the corpus's fixture pages, repeated under distinct
//! URLs) archived into a SQLite file, then bytes per archived article and how fast
//! `match --archive` reads them back: pages of 200 rows, each record decompressed, decoded and
//! matched with the daemon's matching function, on one core.
//!
//! cargo run --release --example archive_bench [-- ARTICLES]

use std::time::Instant;

use wirewatch::rules::{Matcher, Query};
use wirewatch::store::{ArchiveCursor, Store};

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|text| text.parse().ok())
        .unwrap_or(10_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime builds");
    runtime.block_on(run(count));
}

async fn run(count: usize) {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pages");
    let mut articles = Vec::new();
    for entry in std::fs::read_dir(&folder).expect("the fixture folder exists") {
        let path = entry.expect("a readable folder entry").path();
        let bytes = std::fs::read(&path).expect("a readable fixture");
        let url = url::Url::parse("https://example.org/page").expect("a valid URL");
        articles.push(wirewatch::assemble::article_from_page(&bytes, None, &url).0);
    }
    let directory = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(&directory.path().join("bench.sqlite")).expect("the store opens");
    let mut record_bytes = 0usize;
    let mut json_bytes = 0usize;
    let started = Instant::now();
    for index in 0..count {
        let mut article = articles[index % articles.len()].clone();
        article.url = format!("https://example.org/article/{index}");
        let row = wirewatch::archive::archived(&article, &article.url, "bench", index as i64)
            .expect("the record encodes");
        record_bytes += row.record.len();
        json_bytes += wirewatch::archive::decompress(&row.record)
            .expect("it decompresses")
            .len();
        store
            .commit_processed("bench", &article.url, None, &[], Some(&row), index as i64)
            .await
            .expect("the commit succeeds");
    }
    let writing = started.elapsed();
    let file_bytes: u64 = std::fs::read_dir(directory.path())
        .expect("the folder lists")
        .filter_map(|entry| entry.ok()?.metadata().ok())
        .map(|metadata| metadata.len())
        .sum();
    println!(
        "{count} articles archived in {:.2?} (encode + commit)",
        writing
    );
    println!(
        "record: {} bytes of JSON per article, {} bytes compressed (zstd, {:.1}x); database files: {} bytes per article",
        json_bytes / count,
        record_bytes / count,
        json_bytes as f64 / record_bytes as f64,
        file_bytes / count as u64
    );
    let queries = [
        "\"Trump\" OR \"climate change\"",
        "title:\"police\" AND NOT \"sports\"",
        "\"artificial intelligence\" NEAR/5 \"regulation\"",
    ];
    let matcher = Matcher::new(
        queries
            .iter()
            .map(|text| Query::parse(text).expect("the bench queries parse"))
            .collect(),
    );
    let started = Instant::now();
    let mut cursor: Option<ArchiveCursor> = None;
    let (mut read, mut matched) = (0usize, 0usize);
    loop {
        let page = store
            .archive_page(0, None, cursor.as_ref(), 200)
            .await
            .expect("the archive reads");
        for row in &page {
            let article = wirewatch::archive::decode(&row.record).expect("the record decodes");
            let (_, matches) =
                wirewatch::assemble::match_article(&matcher, &article, &row.source, &|_| true);
            read += 1;
            matched += usize::from(!matches.is_empty());
        }
        match page.last() {
            Some(last) if page.len() == 200 => {
                cursor = Some(ArchiveCursor {
                    processed_at: last.processed_at,
                    id: last.id.clone(),
                })
            }
            _ => break,
        }
    }
    let elapsed = started.elapsed();
    println!(
        "match --archive over {read} articles ({matched} matched): {:.2?}, {:.0} articles/s, {:.1} µs per article",
        elapsed,
        read as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / read as f64
    );
}
