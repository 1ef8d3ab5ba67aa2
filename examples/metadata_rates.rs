//! Title and byline agreement with Mozilla Readability's expected metadata.
//!
//! Usage: `metadata_rates DIR` where DIR holds `<case>/source.html` + `<case>/expected-metadata.json`
//! (the readability corpus with `.gz` files unpacked). Prints mismatches with `-v`.

use wirewatch::extract::{decode_html, extract};

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn lenient(s: &str) -> String {
    let s = norm(s).to_lowercase();
    for prefix in ["by ", "par ", "von ", "por "] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return rest.trim().to_string();
        }
    }
    s
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: metadata_rates DIR [-v]")?;
    let verbose = std::env::args().any(|a| a == "-v");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    cases.sort();
    let (mut pages, mut title_ok) = (0, 0);
    let (mut bylines, mut byline_ok, mut byline_lenient, mut byline_within) = (0, 0, 0, 0);
    let (mut dated, mut date_ok, mut sited, mut site_ok) = (0, 0, 0, 0);
    for case in cases {
        let Ok(expected) = std::fs::read_to_string(case.join("expected-metadata.json")) else {
            continue;
        };
        let expected: serde_json::Value = serde_json::from_str(&expected)?;
        let bytes = std::fs::read(case.join("source.html"))?;
        let html = decode_html(&bytes, None);
        let url = url::Url::parse("http://fakehost/test/page.html")?;
        let article = extract(&html, &url);
        pages += 1;
        let want_title = norm(expected["title"].as_str().unwrap_or(""));
        if norm(&article.title) == want_title {
            title_ok += 1;
        } else if verbose {
            println!(
                "TITLE {}: got {:?} want {:?}",
                case.display(),
                article.title,
                want_title
            );
        }
        if let Some(want) = expected["publishedTime"].as_str() {
            dated += 1;
            // Same calendar day as written by the publisher (offsets may be expressed differently).
            let got = article
                .published
                .map(|d| d.to_rfc3339())
                .unwrap_or_default();
            if got.get(..10).is_some() && got.get(..10) == want.get(..10) {
                date_ok += 1;
            } else if verbose {
                println!("DATE {}: got {:?} want {:?}", case.display(), got, want);
            }
        }
        if let Some(want) = expected["siteName"].as_str() {
            sited += 1;
            if article.site_name.as_deref().map(norm) == Some(norm(want)) {
                site_ok += 1;
            } else if verbose {
                println!(
                    "SITE {}: got {:?} want {:?}",
                    case.display(),
                    article.site_name,
                    want
                );
            }
        }
        if let Some(want) = expected["byline"].as_str() {
            bylines += 1;
            let got = article.authors.join(", ");
            if norm(&got) == norm(want) {
                byline_ok += 1;
            } else if verbose {
                println!("BYLINE {}: got {:?} want {:?}", case.display(), got, want);
            }
            if lenient(&got) == lenient(want) {
                byline_lenient += 1;
            }
            // Readability often keeps a date or desk line after the names; ours names only.
            if !got.is_empty() && lenient(want).contains(&lenient(&got)) {
                byline_within += 1;
            }
        }
    }
    println!(
        "pages {pages} title exact {title_ok}/{pages} = {:.1}%  byline exact {byline_ok}/{bylines} = {:.1}%  byline lenient (case, By/Par prefix) {byline_lenient}/{bylines} = {:.1}%  byline names-within-expected {byline_within}/{bylines} = {:.1}%",
        100.0 * title_ok as f64 / pages as f64,
        100.0 * byline_ok as f64 / bylines as f64,
        100.0 * byline_lenient as f64 / bylines as f64,
        100.0 * byline_within as f64 / bylines as f64
    );
    println!(
        "published date (day) {date_ok}/{dated} = {:.1}%  site name {site_ok}/{sited} = {:.1}%",
        100.0 * date_ok as f64 / dated.max(1) as f64,
        100.0 * site_ok as f64 / sited.max(1) as f64
    );
    Ok(())
}
