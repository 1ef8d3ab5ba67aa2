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
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aho_corasick::{AhoCorasick, MatchKind};
use wirewatch::rules::{Document, Matcher, Query};

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

const FIRST_NAMES: &[&str] = &[
    "Vladimir",
    "Xi",
    "Joe",
    "Donald",
    "Emmanuel",
    "Olaf",
    "Rishi",
    "Narendra",
    "Recep",
    "Benjamin",
    "Kamala",
    "Nancy",
    "Mitch",
    "Elizabeth",
    "Bernie",
    "Pete",
    "Hillary",
    "Angela",
    "Boris",
    "Justin",
    "Jacinda",
    "Mohammed",
    "Kim",
    "Shinzo",
    "Fumio",
    "Jair",
    "Luiz",
    "Andres",
    "Volodymyr",
    "Sergei",
    "Dmitry",
    "Alexei",
    "Elon",
    "Jeff",
    "Mark",
    "Tim",
    "Sundar",
    "Satya",
    "Warren",
    "Janet",
    "Jerome",
    "Christine",
    "Ursula",
    "Charles",
    "William",
    "Anna",
    "Maria",
    "John",
    "Michael",
    "David",
    "James",
    "Robert",
    "Mary",
    "Patricia",
    "Jennifer",
    "Linda",
    "Susan",
    "Karen",
    "Thomas",
    "Daniel",
    "Paul",
    "Steven",
    "Andrew",
    "Kevin",
    "Brian",
    "George",
    "Edward",
    "Ronald",
    "Laura",
    "Sarah",
    "Ali",
    "Fatima",
    "Ahmed",
    "Yuki",
    "Hiroshi",
    "Chen",
    "Wang",
    "Li",
    "Olga",
    "Ivan",
    "Pierre",
    "Jean",
];

const LAST_NAMES: &[&str] = &[
    "Putin",
    "Jinping",
    "Biden",
    "Trump",
    "Macron",
    "Scholz",
    "Sunak",
    "Modi",
    "Erdogan",
    "Netanyahu",
    "Harris",
    "Pelosi",
    "McConnell",
    "Warren",
    "Sanders",
    "Buttigieg",
    "Clinton",
    "Merkel",
    "Johnson",
    "Trudeau",
    "Ardern",
    "Salman",
    "Jong",
    "Abe",
    "Kishida",
    "Bolsonaro",
    "Lula",
    "Obrador",
    "Zelensky",
    "Lavrov",
    "Medvedev",
    "Navalny",
    "Musk",
    "Bezos",
    "Zuckerberg",
    "Cook",
    "Pichai",
    "Nadella",
    "Buffett",
    "Yellen",
    "Powell",
    "Lagarde",
    "Leyen",
    "Smith",
    "Jones",
    "Williams",
    "Brown",
    "Davis",
    "Miller",
    "Wilson",
    "Moore",
    "Taylor",
    "Anderson",
    "Thomas",
    "Jackson",
    "White",
    "Martin",
    "Thompson",
    "Garcia",
    "Martinez",
    "Robinson",
    "Clark",
    "Rodriguez",
    "Lewis",
    "Lee",
    "Walker",
    "Hall",
    "Allen",
    "Young",
    "Hernandez",
    "King",
    "Wright",
    "Lopez",
    "Hill",
    "Scott",
    "Green",
    "Adams",
    "Baker",
    "Gonzalez",
    "Nelson",
    "Carter",
    "Mitchell",
    "Perez",
    "Roberts",
    "Turner",
    "Phillips",
    "Campbell",
    "Parker",
    "Evans",
    "Edwards",
    "Collins",
    "Stewart",
    "Morris",
    "Murphy",
    "Cooper",
    "Bloomberg",
    "Giuliani",
    "Barr",
    "Comey",
    "Mueller",
    "Schiff",
    "Nadler",
    "Graham",
    "Romney",
    "Cruz",
    "Rubio",
    "DeSantis",
    "Haley",
    "Pence",
    "Kushner",
    "Ivanka",
    "Bannon",
    "Kavanaugh",
    "Roberts",
    "Sotomayor",
    "Kagan",
    "Gorsuch",
    "Barrett",
];

const PLACES: &[&str] = &[
    "China",
    "Russia",
    "Ukraine",
    "Kyiv",
    "Moscow",
    "Beijing",
    "Washington",
    "New York",
    "London",
    "Paris",
    "Berlin",
    "Tokyo",
    "Brussels",
    "Iran",
    "Tehran",
    "Israel",
    "Gaza",
    "Syria",
    "Iraq",
    "Afghanistan",
    "Pakistan",
    "India",
    "Japan",
    "Korea",
    "North Korea",
    "Taiwan",
    "Hong Kong",
    "Brazil",
    "Mexico",
    "Canada",
    "Germany",
    "France",
    "Italy",
    "Spain",
    "Poland",
    "Turkey",
    "Egypt",
    "Saudi Arabia",
    "Venezuela",
    "Cuba",
    "Virginia",
    "Mississippi",
    "Kentucky",
    "Louisiana",
    "Texas",
    "California",
    "Florida",
    "Ohio",
    "Michigan",
    "Pennsylvania",
    "Georgia",
    "Arizona",
    "Nevada",
    "Wisconsin",
    "Iowa",
    "New Hampshire",
    "South Carolina",
    "Chicago",
    "Los Angeles",
    "San Francisco",
    "Seattle",
    "Boston",
    "Philadelphia",
    "Detroit",
    "Atlanta",
    "Houston",
    "Dallas",
    "Miami",
    "Denver",
    "Minnesota",
    "Oregon",
    "Colorado",
    "Europe",
    "Africa",
    "Asia",
    "Middle East",
    "Latin America",
    "Crimea",
    "Donbas",
    "Kharkiv",
    "Odesa",
    "Minsk",
    "Belarus",
    "Kazakhstan",
    "Vietnam",
    "Thailand",
    "Indonesia",
    "Philippines",
    "Australia",
    "New Zealand",
    "Nigeria",
    "Kenya",
    "Ethiopia",
    "South Africa",
    "Argentina",
    "Chile",
    "Peru",
    "Colombia",
    "Sweden",
    "Norway",
    "Finland",
    "Denmark",
    "Netherlands",
    "Belgium",
    "Austria",
    "Switzerland",
    "Greece",
    "Portugal",
    "Ireland",
    "Scotland",
    "Wales",
    "Hungary",
    "Romania",
];

const COMPANIES: &[&str] = &[
    "Apple",
    "Google",
    "Alphabet",
    "Microsoft",
    "Amazon",
    "Meta",
    "Facebook",
    "Twitter",
    "Tesla",
    "Nvidia",
    "Intel",
    "AMD",
    "IBM",
    "Oracle",
    "Netflix",
    "Disney",
    "Boeing",
    "Airbus",
    "Exxon",
    "Chevron",
    "Shell",
    "BP",
    "Gazprom",
    "Rosneft",
    "Huawei",
    "Alibaba",
    "Tencent",
    "ByteDance",
    "TikTok",
    "Samsung",
    "Sony",
    "Toyota",
    "Volkswagen",
    "BMW",
    "Siemens",
    "Goldman Sachs",
    "JPMorgan",
    "Morgan Stanley",
    "Citigroup",
    "Wells Fargo",
    "BlackRock",
    "Pfizer",
    "Moderna",
    "Johnson & Johnson",
    "AstraZeneca",
    "Walmart",
    "Target",
    "Uber",
    "Lyft",
    "Airbnb",
    "OpenAI",
    "SpaceX",
    "Fox News",
    "CNN",
    "New York Times",
    "Washington Post",
    "Reuters",
    "Bloomberg",
    "General Motors",
    "Ford",
    "Stellantis",
    "Nissan",
    "Honda",
    "Aramco",
    "Nestle",
    "Unilever",
];

const TOPICS: &[&str] = &[
    "sanctions",
    "tariffs",
    "election",
    "impeachment",
    "inflation",
    "recession",
    "climate",
    "wildfire",
    "hurricane",
    "earthquake",
    "pandemic",
    "vaccine",
    "immigration",
    "border",
    "abortion",
    "gun control",
    "shooting",
    "protest",
    "strike",
    "merger",
    "acquisition",
    "lawsuit",
    "indictment",
    "trial",
    "verdict",
    "ceasefire",
    "invasion",
    "missile",
    "drone",
    "nuclear",
    "oil prices",
    "interest rates",
    "stock market",
    "bankruptcy",
    "layoffs",
    "data breach",
    "cyberattack",
    "ransomware",
    "espionage",
    "corruption",
    "bribery",
    "fraud",
    "scandal",
    "resignation",
    "debate",
    "primary",
    "polls",
    "voters",
    "legislature",
    "senate",
    "congress",
    "supreme court",
    "governor",
    "parliament",
    "referendum",
    "coup",
    "refugees",
    "terrorism",
    "artificial intelligence",
    "semiconductors",
    "supply chain",
    "housing",
    "minimum wage",
];

const STEMS: &[&str] = &[
    "sanction", "tariff", "elect", "impeach", "inflat", "protest", "indict", "invad", "refuge",
    "migra", "vaccin", "nuclear", "bankrupt", "corrupt", "terror", "hack", "regulat", "subsid",
];

const SYLLABLES: &[&str] = &[
    "nor", "vex", "tal", "mar", "qui", "zen", "lo", "ra", "dex", "ian", "cor", "bel", "ton", "vik",
    "sa", "mel", "dra", "kon", "fi", "lux", "ber", "gan", "tri", "os", "pel", "xa", "rin", "dor",
];

const SUFFIXES: &[&str] = &[
    "Capital",
    "Holdings",
    "Group",
    "Energy",
    "Systems",
    "Labs",
    "Pharma",
    "Bank",
    "Partners",
    "Logistics",
    "Mining",
    "Motors",
    "Foods",
    "Media",
    "Networks",
    "Insurance",
];

/// xorshift64*: small, deterministic, good enough to pick list items.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

fn quoted(text: &str) -> String {
    if text.contains(' ') || text.contains('&') {
        format!("\"{text}\"")
    } else {
        text.to_string()
    }
}

/// A made-up company name, so large configs have many distinct, mostly absent entities.
fn synthetic_company(rng: &mut Rng) -> String {
    let mut name = String::new();
    for _ in 0..2 + rng.below(2) {
        name.push_str(rng.pick(SYLLABLES));
    }
    let mut name: Vec<char> = name.chars().collect();
    name[0] = name[0].to_ascii_uppercase();
    let name: String = name.into_iter().collect();
    format!("\"{name} {}\"", rng.pick(SUFFIXES))
}

/// A made-up surname, so large configs have many distinct, mostly absent people.
fn synthetic_surname(rng: &mut Rng) -> String {
    let mut name = String::new();
    for _ in 0..2 + rng.below(2) {
        name.push_str(rng.pick(SYLLABLES));
    }
    let mut name: Vec<char> = name.chars().collect();
    name[0] = name[0].to_ascii_uppercase();
    name.into_iter().collect()
}

fn person(rng: &mut Rng) -> String {
    if rng.chance(50) {
        format!("\"{} {}\"", rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES))
    } else {
        format!("\"{} {}\"", rng.pick(FIRST_NAMES), synthetic_surname(rng))
    }
}

/// Something a client monitors on its own: a person or a company, rarely a bare surname.
fn entity(rng: &mut Rng) -> String {
    match rng.below(20) {
        0..=10 => person(rng),
        // Well-known names are few next to the long tail of clients' own subjects.
        11 if rng.chance(30) => rng.pick(LAST_NAMES).to_string(),
        12 if rng.chance(40) => quoted(rng.pick(COMPANIES)),
        _ => synthetic_company(rng),
    }
}

fn place(rng: &mut Rng) -> String {
    quoted(rng.pick(PLACES))
}

fn topic(rng: &mut Rng) -> String {
    if rng.chance(30) {
        format!("{}*", rng.pick(STEMS))
    } else {
        quoted(rng.pick(TOPICS))
    }
}

fn watchlist(rng: &mut Rng) -> String {
    let query = match rng.below(20) {
        0..=3 => entity(rng),
        4 | 5 => format!("{} OR {} OR {}", entity(rng), entity(rng), entity(rng)),
        6 | 7 => format!("{} {}", entity(rng), topic(rng)),
        // Broad subject watchlists (a place and a topic) exist, but most name an entity.
        8 if rng.chance(20) => format!("{} {}", place(rng), topic(rng)),
        8 => format!("{} {}", entity(rng), place(rng)),
        9 | 10 => format!("({} OR {}) AND {}", entity(rng), entity(rng), place(rng)),
        11 => format!("{} NOT {}", entity(rng), topic(rng)),
        12 => format!("{} -({} OR {})", entity(rng), topic(rng), topic(rng)),
        13 => format!("{} NEAR/5 {}", person(rng), place(rng)),
        14 => format!(
            "({} OR {}) NEAR/10 {}",
            entity(rng),
            entity(rng),
            topic(rng)
        ),
        15 => format!("title:{} {}", place(rng), topic(rng)),
        16 => format!("{} ONEAR/3 {}", rng.pick(LAST_NAMES), topic(rng)),
        17 => format!("'US' {} {}", topic(rng), entity(rng)),
        18 => format!(
            "{} url:{}",
            entity(rng),
            rng.pick(&["nytimes", "politics", "opinion", "world", "business"])
        ),
        _ => {
            if rng.chance(5) {
                format!("/sanction(s|ed)/ {}", place(rng))
            } else {
                format!("{} {} {}", entity(rng), place(rng), topic(rng))
            }
        }
    };
    if rng.chance(10) {
        format!("{query} lang:en")
    } else {
        query
    }
}

struct Article {
    title: String,
    body: String,
    url: String,
}

fn title_from_url(url: &str) -> String {
    let slug = url.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let slug = slug.split('.').next().unwrap_or(slug);
    slug.replace(['-', '_'], " ")
}

fn load_articles(directory: Option<String>) -> (Vec<Article>, String) {
    // the shared corpus sits beside the checkout on development machines
    let corpus = directory.unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/corpus/extraction")
            .display()
            .to_string()
    });
    let mut articles = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&corpus) {
        let mut paths: Vec<_> = entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| {
                path.extension()
                    .is_some_and(|extension| extension == "json")
            })
            .collect();
        paths.sort();
        for path in paths {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            let body = value["articleBody"].as_str().unwrap_or("").to_string();
            let url = value["url"].as_str().unwrap_or("").to_string();
            if body.len() >= 1000 {
                articles.push(Article {
                    title: title_from_url(&url),
                    body,
                    url,
                });
            }
            if articles.len() == 100 {
                break;
            }
        }
    }
    if !articles.is_empty() {
        return (articles, corpus);
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/articles");
    let mut paths: Vec<_> = std::fs::read_dir(&fixtures)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    for path in paths {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let (url, body) = text.split_once('\n').unwrap_or(("", &text));
        articles.push(Article {
            title: title_from_url(url),
            body: body.to_string(),
            url: url.to_string(),
        });
    }
    (articles, fixtures.display().to_string())
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

    for size in sizes {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ size as u64);
        let texts: Vec<String> = (0..size).map(|_| watchlist(&mut rng)).collect();

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
        let mut floor_times = vec![Duration::MAX; articles.len()];
        let mut match_count = 0;
        let mut hit_count = 0;
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
        times.sort();
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
            "  floor (bare Aho-Corasick, {} terms): p50 {floor50:.1} µs, p99 {floor99:.1} µs; \
             ratio p50 {:.2}x, p99 {:.2}x",
            floor_terms.len(),
            p50 / floor50,
            p99 / floor99
        );
        drop(matcher);
    }
}
