//! The generated workload shared by `rules_bench` and `match_bench`: watchlists (people, places,
//! companies, topics as words and phrases, with AND/OR/NOT, NEAR, wildcards, fields, a few
//! exact-case terms and regexes) from a seeded xorshift generator, and the articles they run on
//! (the `articleBody` of the corpus JSON files, or tests/fixtures/articles when the corpus is
//! absent). Deterministic: the same size gives the same watchlists on every machine.

use std::path::Path;

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

pub struct Article {
    pub title: String,
    pub body: String,
    pub url: String,
}

fn title_from_url(url: &str) -> String {
    let slug = url.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let slug = slug.split('.').next().unwrap_or(slug);
    slug.replace(['-', '_'], " ")
}

pub fn load_articles(directory: Option<String>) -> (Vec<Article>, String) {
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

/// The `size` watchlists of a benchmark run, as query text.
pub fn watchlists(size: usize) -> Vec<String> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ size as u64);
    (0..size).map(|_| watchlist(&mut rng)).collect()
}

/// The same text with ASCII letters rotated by 13: as long and shaped as the original (words,
/// punctuation, case), but it contains none of the generated terms, so an article turned into
/// it matches nothing and costs only the scan. The difference between the two is what matches
/// cost.
pub fn rotate13(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'a'..='z' => (((c as u8 - b'a') + 13) % 26 + b'a') as char,
            'A'..='Z' => (((c as u8 - b'A') + 13) % 26 + b'A') as char,
            _ => c,
        })
        .collect()
}
