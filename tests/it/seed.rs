//! The reference document: a Moscow Times article page, with its site chrome, must render exactly
//! as `seed/article.txt` (under FORMAT.md's equivalence).

use wirewatch::extract::{extract, render, LinkStyle};

/// FORMAT.md equivalence: trim, and collapse every run of whitespace-only lines to one blank line.
fn normalise(text: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut blank = false;
    for line in text.trim().lines() {
        if line.trim().is_empty() {
            blank = true;
            continue;
        }
        if blank && !out.is_empty() {
            out.push("");
        }
        blank = false;
        out.push(line);
    }
    out.join("\n")
}

#[test]
fn moscow_times_page_renders_as_the_seed() {
    let html = include_str!("../fixtures/seed/moscow-times.html");
    let expected = include_str!("../fixtures/seed/article.txt");
    // Fetched through a tracking link: the canonical URL must still win.
    let page_url = url::Url::parse(
        "https://www.themoscowtimes.com/2024/05/14/putin-to-visit-china-in-first-foreign-trip-since-re-election-a85112?utm_source=rss",
    )
    .unwrap();
    let article = extract(html, &page_url);
    let document = render::document(&article, LinkStyle::Hash);
    assert_eq!(
        normalise(&document),
        normalise(expected),
        "\n--- got ---\n{document}"
    );
    assert!(document.ends_with(">\n"));
}

#[test]
fn moscow_times_record_has_structure() {
    let html = include_str!("../fixtures/seed/moscow-times.html");
    let page_url = url::Url::parse("https://www.themoscowtimes.com/a85112").unwrap();
    let article = extract(html, &page_url);
    assert_eq!(
        article.published.map(|d| d.to_record()).as_deref(),
        Some("2024-05-14T13:05:00+03:00")
    );
    assert_eq!(article.site_name.as_deref(), Some("The Moscow Times"));
    assert_eq!(article.language.as_deref(), Some("en"));
    assert_eq!(article.fetched_url, "https://www.themoscowtimes.com/a85112");
    let image = article.image.as_ref().expect("lead image");
    assert_eq!(
        image.url.as_deref(),
        Some("https://static.themoscowtimes.com/image/og/a7/85112__a7b1f0d2c3e4.jpg")
    );
    let first = &article.blocks[0];
    assert_eq!(first.links.len(), 1);
    assert_eq!(
        first.links[0].href,
        "http://kremlin.ru/events/president/news/74008"
    );
    assert_eq!(&first.text[first.links[0].start..][..9], "announced");
    let related = article
        .blocks
        .iter()
        .find(|b| b.kind == wirewatch::model::BlockKind::Related)
        .expect("related block");
    assert_eq!(
        related.href.as_deref(),
        Some("https://www.themoscowtimes.com/2024/05/13/china-disguising-imported-russian-copper-as-scrap-to-avoid-sanctions-reuters-a85104")
    );
    let json = serde_json::to_value(render::record(&article, LinkStyle::Absolute)).unwrap();
    assert!(json["body"]
        .as_str()
        .unwrap()
        .ends_with("AFP contributed reporting."));
    assert!(!json["body"].as_str().unwrap().contains("Related article"));
}
