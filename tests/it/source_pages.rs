//! `page` sources against saved homepages (tests/fixtures/homepages, from the NetNewsWire test
//! resources in /work/shared/corpus/articles/netnewswire-pages): the selectors a user would
//! write for each site find every story with an absolute link, a title and a date.

use std::fs;
use std::path::Path;

use url::Url;
use wirewatch::extract::decode_html;
use wirewatch::model::Entry;
use wirewatch::source::page::{compile, parse_page, PageSelectors};

/// A saved page, decoded as the daemon would (gzip sniffed, charset decided by `decode_html`).
fn page(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/homepages")
        .join(name);
    decode_html(&fs::read(path).unwrap(), Some("text/html"))
}

fn entries(name: &str, page_url: &str, selectors: PageSelectors) -> Vec<Entry> {
    let compiled = compile(&selectors).unwrap();
    parse_page(&page(name), &Url::parse(page_url).unwrap(), &compiled).unwrap()
}

fn line(entry: &Entry) -> String {
    format!(
        "{} | {} | {}",
        entry.url.as_deref().unwrap_or("-"),
        entry.title.as_deref().unwrap_or("-"),
        entry
            .published
            .map_or("-".to_string(), |date| date.local().date().to_string()),
    )
}

#[test]
fn daring_fireball_articles() {
    let found = entries(
        "daringfireball.html.gz",
        "https://daringfireball.net/",
        PageSelectors {
            item: "div.article".to_string(),
            link: Some("h1 a".to_string()),
            date: Some("h6.dateline".to_string()),
            ..PageSelectors::default()
        },
    );
    let lines: Vec<String> = found.iter().map(line).collect();
    assert_eq!(
        lines,
        [
            "https://daringfireball.net/2025/10/m5_chip_launches_with_macbook_pro_ipad_pro_vision_pro | The Just Plain M5 Chip Launches in Three Updated Products: 14-Inch MacBook Pro, iPad Pro (Both Sizes), and Some Sort of Headset Thingamajig Called Vision Pro | 2025-10-15",
            "https://daringfireball.net/2025/10/iceblock_removed_from_app_store | Complying With ‘Demand’ From Trump Administration, Apple Removes ICEBlock From App Store | 2025-10-03",
            "https://daringfireball.net/2025/09/apple_on_the_digital_markets_act | Apple on the Digital Markets Act | 2025-09-26",
        ]
    );
}

#[test]
fn inessential_weblog_posts() {
    let found = entries(
        "inessential.html",
        "http://inessential.com/",
        PageSelectors {
            item: "div.weblogPost".to_string(),
            link: Some("h3 a".to_string()),
            date: Some(".weblogPostDisplayDate".to_string()),
            summary: Some(".weblogPostBody".to_string()),
            ..PageSelectors::default()
        },
    );
    assert_eq!(found.len(), 10);
    assert_eq!(
        line(&found[0]),
        "http://inessential.com/2016/03/04/lizcast | Lizcast | 2016-03-04"
    );
    assert!(found
        .iter()
        .all(|entry| entry.url.is_some() && entry.published.is_some()));
    assert!(found[0]
        .summary_html
        .as_deref()
        .unwrap()
        .starts_with("<p>The Omni Group’s Liz Marley"));
}

#[test]
fn saved_homepages_announce_their_feeds() {
    use wirewatch::source::discover::{discover_feeds, FeedFormat};
    let found = discover_feeds(
        &page("inessential.html"),
        &Url::parse("http://inessential.com/").unwrap(),
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].url, "http://inessential.com/xml/rss.xml");
    assert_eq!(found[0].title.as_deref(), Some("RSS"));
    assert_eq!(found[0].kind, FeedFormat::Rss);
    let found = discover_feeds(
        &page("sixcolors.html"),
        &Url::parse("https://sixcolors.com/").unwrap(),
    );
    assert_eq!(
        found
            .iter()
            .map(|feed| feed.url.as_str())
            .collect::<Vec<_>>(),
        ["http://feedpress.me/sixcolors"]
    );
}
