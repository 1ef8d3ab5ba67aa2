//! Benchmark of the watchlist matcher: 1k, 10k and 100k generated watchlists over real articles.
//!
//! Run: `cargo run --release --example rules_bench [-- /path/to/corpus/extraction]`
//!
//! Watchlists are generated deterministically (a seeded xorshift generator): people, places,
//! companies and topics as words and phrases, with AND/OR/NOT, NEAR, wildcards, fields, a few
//! exact-case terms and regexes. Articles are the `articleBody` of the corpus JSON files (the
//! title taken from the URL slug), or tests/fixtures/articles when the corpus is absent.
//!
//! Printed per size: parse and build time, memory (VmRSS/VmHWM deltas from /proc/self/status),
//! per-article p50/p99 of `Matcher::matches`, and in the same run the floor: a bare
//! Aho-Corasick scan of the same texts for every term (ASCII case-insensitive, overlapping, no
//! normalisation, no evaluation), and the ratio. It prints figures; it asserts nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aho_corasick::{AhoCorasick, MatchKind};
use wirewatch::rules::{Document, Matcher, Query};

mod generate;

use generate::{load_articles, rotate13, watchlists};

/// Counts live heap bytes, so the matcher's own size can be told apart from what parsing left
/// behind in the process (RSS keeps freed pages).
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = System.alloc(layout);
        if !pointer.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        System.dealloc(pointer, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// (VmRSS, VmHWM) in KiB.
fn memory() -> (i64, i64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|value| value.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index].as_secs_f64() * 1e6
}

/// The terms of a generated query, as plain lowercase text, for the floor scan.
fn terms_of(query: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut rest = query;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        terms.push(after[..end].to_lowercase());
        rest = &after[end + 1..];
    }
    for word in query.split(|c: char| c.is_whitespace() || c == '(' || c == ')') {
        let word = word.trim_matches(|c| c == '\'' || c == '*');
        let word = word.rsplit(':').next().unwrap_or(word);
        if word.is_empty()
            || word.contains('"')
            || word.starts_with('/')
            || matches!(word, "AND" | "OR" | "NOT" | "en")
            || word.starts_with("NEAR/")
            || word.starts_with("ONEAR/")
            || word.starts_with('-')
        {
            continue;
        }
        terms.push(word.to_lowercase());
    }
    terms
}

/// One line per hit: size, article, watchlist (index and query), term, field, offsets, snippet.
fn write_matches(
    out: &mut impl Write,
    size: usize,
    url: &str,
    texts: &[String],
    found: &[wirewatch::rules::Match],
) {
    for found in found {
        for hit in &found.hits {
            writeln!(
                out,
                "{size}\t{url}\t{}\t{}\t{}\t{:?}\t{}..{}\t{}",
                found.watchlist,
                texts[found.watchlist],
                hit.term,
                hit.field,
                hit.start,
                hit.end,
                hit.snippet
            )
            .expect("write dump");
        }
    }
}

fn main() {
    // RULES_BENCH_SIZES=100000 runs one size (for profiling); RULES_BENCH_ROUNDS sets rounds.
    let sizes: Vec<usize> = std::env::var("RULES_BENCH_SIZES")
        .ok()
        .map(|sizes| {
            sizes
                .split(',')
                .filter_map(|size| size.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000]);
    let rounds: usize = std::env::var("RULES_BENCH_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(9);
    let (articles, origin) = load_articles(std::env::args().nth(1));
    let total_bytes: usize = articles
        .iter()
        .map(|article| article.title.len() + article.body.len())
        .sum();
    println!(
        "articles: {} from {origin}, mean {} bytes",
        articles.len(),
        total_bytes / articles.len().max(1)
    );
    println!(
        "times: per article, the best of {rounds} runs (the machine is shared), then p50/p99 \
         over articles"
    );
    let no_authors: Vec<String> = Vec::new();
    let controls: Vec<(String, String)> = articles
        .iter()
        .map(|article| (rotate13(&article.title), rotate13(&article.body)))
        .collect();
    // RULES_BENCH_DUMP=FILE writes every match, hit, offset and snippet, to compare builds.
    let mut dump = std::env::var("RULES_BENCH_DUMP").ok().map(|path| {
        std::io::BufWriter::new(std::fs::File::create(&path).expect("RULES_BENCH_DUMP file"))
    });

    for size in sizes {
        let texts = watchlists(size);

        if let Ok(indices) = std::env::var("RULES_BENCH_QUERY") {
            for index in indices
                .split(',')
                .filter_map(|index| index.parse::<usize>().ok())
            {
                println!("  query {index}: {}", texts[index]);
            }
        }
        let (rss_before, _) = memory();
        let live_before = LIVE.load(Ordering::Relaxed);
        let started = Instant::now();
        let queries: Vec<Query> = texts
            .iter()
            .map(|text| Query::parse(text).unwrap_or_else(|error| panic!("{text}: {error}")))
            .collect();
        let parse_time = started.elapsed();
        // A copy goes to the matcher, so the queries' own memory stays allocated and out of the
        // matcher's figure.
        let live_queries = LIVE.load(Ordering::Relaxed);
        let copy = queries.clone();
        let (_, hwm_before_build) = memory();
        PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
        let started = Instant::now();
        let matcher = Matcher::new(copy);
        let build_time = started.elapsed();
        let (rss_after, hwm_after) = memory();
        let matcher_heap = LIVE.load(Ordering::Relaxed).saturating_sub(live_queries);
        let build_peak = PEAK.load(Ordering::Relaxed).saturating_sub(live_queries);
        drop(queries);

        let mut floor_terms: Vec<String> = texts.iter().flat_map(|text| terms_of(text)).collect();
        floor_terms.sort();
        floor_terms.dedup();
        let floor = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&floor_terms)
            .expect("floor automaton");

        // The machine is shared with other builds, so each article's time is the best of
        // `rounds` runs: the spread across articles is then the articles', not the scheduler's.
        let mut times = vec![Duration::MAX; articles.len()];
        let mut control_times = vec![Duration::MAX; articles.len()];
        let mut floor_times = vec![Duration::MAX; articles.len()];
        let mut match_count = 0;
        let mut hit_count = 0;
        let mut control_matches = 0;
        for round in 0..rounds {
            for (index, article) in articles.iter().enumerate() {
                let document = Document {
                    title: &article.title,
                    body: &article.body,
                    url: &article.url,
                    source: "nytimes",
                    authors: &no_authors,
                    language: Some("en"),
                };
                let started = Instant::now();
                let found = black_box(matcher.matches(black_box(&document)));
                times[index] = times[index].min(started.elapsed());
                if round == 0 && std::env::var("RULES_BENCH_SHOW").is_ok() {
                    for found in &found {
                        println!("  match: {}", texts[found.watchlist]);
                    }
                }
                if round == 0 {
                    match_count += found.len();
                    hit_count += found.iter().map(|found| found.hits.len()).sum::<usize>();
                    if let Some(dump) = dump.as_mut() {
                        write_matches(dump, size, &article.url, &texts, &found);
                    }
                }

                // The control: the same article rotated, which matches nothing.
                let control = &controls[index];
                let document = Document {
                    title: &control.0,
                    body: &control.1,
                    ..document
                };
                let started = Instant::now();
                let found = black_box(matcher.matches(black_box(&document)));
                control_times[index] = control_times[index].min(started.elapsed());
                if round == 0 {
                    control_matches += found.len();
                }

                let started = Instant::now();
                let mut count = 0usize;
                for text in [&article.title, &article.body] {
                    count += floor
                        .find_overlapping_iter(black_box(text.as_str()))
                        .count();
                }
                black_box(count);
                floor_times[index] = floor_times[index].min(started.elapsed());
            }
        }
        if std::env::var("RULES_BENCH_SLOWEST").is_ok() {
            let mut order: Vec<usize> = (0..articles.len()).collect();
            order.sort_by_key(|&index| std::cmp::Reverse(times[index]));
            for &index in order.iter().take(3) {
                let article = &articles[index];
                println!(
                    "  slow: {:?} {} bytes floor {:?} {}",
                    times[index],
                    article.body.len(),
                    floor_times[index],
                    article.url
                );
            }
        }
        // Matches cost what the article costs beyond its rotated twin, which has the same
        // length and shape but no matches.
        let total = |times: &[Duration]| times.iter().map(Duration::as_secs_f64).sum::<f64>();
        let per_match = (total(&times) - total(&control_times)) / match_count.max(1) as f64;
        times.sort();
        control_times.sort();
        floor_times.sort();
        let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
        let (floor50, floor99) = (
            percentile(&floor_times, 0.5),
            percentile(&floor_times, 0.99),
        );
        println!(
            "\n{size} watchlists: parse {:.0} ms, build {:.0} ms\n  memory: matcher heap {:.1} MiB; \
             parsed queries {:.1} MiB; build peak {:.1} MiB including its input queries; \
             process VmRSS +{:.1} MiB, VmHWM +{:.1} MiB over parse and build",
            parse_time.as_secs_f64() * 1e3,
            build_time.as_secs_f64() * 1e3,
            mib(matcher_heap),
            mib(live_queries.saturating_sub(live_before)),
            mib(build_peak),
            (rss_after - rss_before) as f64 / 1024.0,
            (hwm_after - hwm_before_build).max(0) as f64 / 1024.0,
        );
        println!(
            "  matches: p50 {p50:.1} µs, p99 {p99:.1} µs per article; {:.1} matches, {:.1} hits per article",
            match_count as f64 / articles.len() as f64,
            hit_count as f64 / articles.len() as f64
        );
        println!(
            "  cost per match: {:.2} µs (all articles' time minus their rotated twins', which \
             match nothing ({control_matches} matches) and take p50 {:.1} µs, over {match_count} \
             matches)",
            per_match * 1e6,
            percentile(&control_times, 0.5),
        );
        println!(
            "  floor (bare Aho-Corasick, {} terms): p50 {floor50:.1} µs, p99 {floor99:.1} µs; \
             ratio p50 {:.2}x, p99 {:.2}x",
            floor_terms.len(),
            p50 / floor50,
            p99 / floor99
        );
        drop(matcher);
    }
}
