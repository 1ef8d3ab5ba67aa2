//! Article metadata against Mozilla Readability's expected metadata: byline, title and date.
//!
//! Usage: `cargo run --example metadata_fidelity -- [DIR] [-v]`, DIR defaulting to
//! `../shared/corpus/articles/readability` (`<case>/source.html[.gz]` +
//! `<case>/expected-metadata.json`). Prints the rates, then every miss.
//!
//! - **byline exact**: only pages whose expected byline is a person's name (or a list of names):
//!   no digits, no line break, no "&" or parentheses, at most eight words, none of
//!   "Contributors", "Organization", "Updated", "News". Readability keeps a leading "By"/"Par";
//!   we drop it on purpose, so the prefix is removed from the expectation before comparing, and
//!   nothing else (case and spelling must match). The excluded pages are listed.
//! - **title exact-or-better**: equal, or ours is the expected title minus a site segment
//!   (" | Site", " - Site", "Site: "), or the page gives Readability no title and we found one.
//! - **date shifts**: the expected `publishedTime` against ours: a zoned expectation must be the
//!   same instant; one without a zone must be the same wall-clock time, and ours must not claim
//!   a zone the page never gave ("invented zone").

use std::io::Read;
use wirewatch::extract::{decode_html, extract};
use wirewatch::model::PublisherTime;

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn without_by(s: &str) -> String {
    let s = norm(s);
    for prefix in ["By ", "by ", "BY ", "Par ", "par ", "Von ", "von "] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return rest.trim().to_string();
        }
    }
    s
}

fn is_person_name(raw: &str) -> bool {
    let name = without_by(raw);
    !name.is_empty()
        && !raw.trim().contains('\n')
        && !name
            .chars()
            .any(|c| c.is_ascii_digit() || "&()".contains(c))
        && name.split_whitespace().count() <= 8
        && !["Contributors", "Organization", "Updated", "News"]
            .iter()
            .any(|word| name.contains(word))
}

fn title_ok(got: &str, want: &str) -> &'static str {
    let (got, want) = (norm(got), norm(want));
    if got == want {
        return "exact";
    }
    if want.is_empty() {
        return if got.is_empty() { "exact" } else { "better" };
    }
    if got.is_empty() {
        return "miss";
    }
    let separated = |rest: &str| {
        let rest = rest.trim();
        rest.starts_with(['|', '-', '–', '—', '·', '»', ':'])
            || rest.ends_with(['|', '-', '–', '—', '·', '»', ':'])
    };
    if let Some(rest) = want.strip_prefix(&got) {
        if separated(rest) {
            return "better";
        }
    }
    if let Some(rest) = want.strip_suffix(&got) {
        if separated(rest) {
            return "better";
        }
    }
    "miss"
}

fn read_page(case: &std::path::Path) -> std::io::Result<Vec<u8>> {
    if let Ok(bytes) = std::fs::read(case.join("source.html")) {
        return Ok(bytes);
    }
    let gz = std::fs::read(case.join("source.html.gz"))?;
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The expected date as (wall-clock time, offset in seconds if the page gave one).
fn expected_date(raw: &str) -> Option<(chrono::NaiveDateTime, Option<i32>)> {
    let raw = raw.trim();
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%.f%:z"] {
        if let Ok(date) = chrono::DateTime::parse_from_str(raw, format) {
            return Some((date.naive_local(), Some(date.offset().local_minus_utc())));
        }
    }
    if let Some(utc) = raw.strip_suffix('Z') {
        let naive = chrono::NaiveDateTime::parse_from_str(utc, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
        return Some((naive, Some(0)));
    }
    let spaced = raw.replacen('T', " ", 1);
    if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(&spaced, "%Y-%m-%d %H:%M:%S%.f") {
        return Some((naive, None));
    }
    let day = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
    Some((day.and_hms_opt(0, 0, 0)?, None))
}

fn claims_zone(time: &PublisherTime) -> bool {
    matches!(time, PublisherTime::Zoned(_))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .cloned()
        .unwrap_or_else(|| "../shared/corpus/articles/readability".to_string());
    let mut cases: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("expected-metadata.json").exists())
        .collect();
    cases.sort();
    let url = url::Url::parse("http://fakehost/test/page.html")?;
    let (mut pages, mut titles_exact, mut titles_better) = (0, 0, 0);
    let (mut names, mut names_exact, mut names_lenient) = (0, 0, 0);
    let (mut dated, mut dates_same, mut dates_shifted, mut dates_invented, mut dates_missing) =
        (0, 0, 0, 0, 0);
    let mut misses = Vec::new();
    let mut excluded = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap_or_default().to_string_lossy();
        let expected: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
            case.join("expected-metadata.json"),
        )?)?;
        let bytes = read_page(case)?;
        let html = decode_html(&bytes, None);
        let article = extract(&html, &url);
        pages += 1;

        let want_title = expected["title"].as_str().unwrap_or("");
        match title_ok(&article.title, want_title) {
            "exact" => titles_exact += 1,
            "better" => titles_better += 1,
            _ => misses.push(format!(
                "TITLE  {name}: got {:?} want {:?}",
                article.title,
                norm(want_title)
            )),
        }

        if let Some(want) = expected["byline"].as_str() {
            let got = article.authors.join(", ");
            if is_person_name(want) {
                names += 1;
                if norm(&got) == without_by(want) {
                    names_exact += 1;
                } else {
                    misses.push(format!("BYLINE {name}: got {got:?} want {:?}", norm(want)));
                }
                if norm(&got).to_lowercase() == without_by(want).to_lowercase() {
                    names_lenient += 1;
                }
            } else {
                excluded.push(format!("{name}: {:?} (ours {got:?})", norm(want)));
            }
        }

        if let Some((want_time, want_offset)) =
            expected["publishedTime"].as_str().and_then(expected_date)
        {
            dated += 1;
            let got = article.published.as_ref();
            match (got, want_offset) {
                (None, _) => {
                    dates_missing += 1;
                    misses.push(format!(
                        "DATE   {name}: none, want {want_time} {want_offset:?}"
                    ));
                }
                (Some(got), Some(offset)) => {
                    let want_utc = want_time - chrono::Duration::seconds(offset.into());
                    if got.approximate_utc().naive_utc() == want_utc {
                        dates_same += 1;
                    } else {
                        dates_shifted += 1;
                        misses.push(format!(
                            "DATE   {name}: got {} want {want_time} (offset {offset}s)",
                            got.to_record()
                        ));
                    }
                }
                (Some(got), None) => {
                    if claims_zone(got) {
                        dates_invented += 1;
                        misses.push(format!(
                            "DATE   {name}: got {} but the page gives no zone ({want_time})",
                            got.to_record()
                        ));
                    } else if got.local() == want_time {
                        dates_same += 1;
                    } else {
                        dates_shifted += 1;
                        misses.push(format!(
                            "DATE   {name}: got {} want local {want_time}",
                            got.to_record()
                        ));
                    }
                }
            }
        }
    }
    let percent = |n: usize, d: usize| 100.0 * n as f64 / d.max(1) as f64;
    println!(
        "pages {pages}  title exact {titles_exact} + better {titles_better} = {}/{pages} = {:.1}%  (exact alone {:.1}%)",
        titles_exact + titles_better,
        percent(titles_exact + titles_better, pages),
        percent(titles_exact, pages)
    );
    println!(
        "byline exact (person names) {names_exact}/{names} = {:.1}%  ignoring case {names_lenient}/{names} = {:.1}%",
        percent(names_exact, names),
        percent(names_lenient, names)
    );
    println!(
        "dates {dated}: same {dates_same}, shifted {dates_shifted}, zone invented {dates_invented}, missing {dates_missing}"
    );
    println!("\nmisses:");
    for miss in &misses {
        println!("  {miss}");
    }
    println!("\nbylines not counted as a person's name:");
    for line in &excluded {
        println!("  {line}");
    }
    Ok(())
}
