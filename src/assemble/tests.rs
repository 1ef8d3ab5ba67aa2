use super::*;
use crate::model::PublisherTime;

fn feed() -> Url {
    Url::parse("https://example.org/feeds/world.xml").unwrap()
}

fn entry_dated(text: Option<&str>) -> Entry {
    Entry {
        published: text.map(|t| PublisherTime::from(DateTime::parse_from_rfc3339(t).unwrap())),
        ..Entry::default()
    }
}

fn entry_linked(link: Option<&str>) -> Entry {
    Entry {
        url: link.map(str::to_string),
        title: Some("Feed title".to_string()),
        summary_html: Some("<p>Summary paragraph.</p>".to_string()),
        content_html: Some("<p>Full <b>content</b> paragraph.</p>".to_string()),
        authors: vec!["Feed Author".to_string()],
        image_url: Some("https://example.org/lead.jpg".to_string()),
        ..entry_dated(Some("2024-05-18T13:05:00+03:00"))
    }
}

#[test]
fn max_age() {
    let now = DateTime::parse_from_rfc3339("2024-05-20T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let three_days = Some(Duration::from_secs(3 * 86_400));
    assert!(is_too_old(
        &entry_dated(Some("2024-05-14T13:05:00+03:00")),
        three_days,
        now
    ));
    assert!(!is_too_old(
        &entry_dated(Some("2024-05-18T13:05:00+03:00")),
        three_days,
        now
    ));
    assert!(
        !is_too_old(&entry_dated(None), three_days, now),
        "undated entries count as new"
    );
    assert!(!is_too_old(
        &entry_dated(Some("2001-01-01T00:00:00Z")),
        None,
        now
    ));
    // a limit beyond the calendar (issue 16, defect 3) keeps the entry instead of panicking
    assert!(!is_too_old(
        &entry_dated(Some("2001-01-01T00:00:00Z")),
        Some(Duration::MAX),
        now
    ));
    assert!(!is_too_old(
        &entry_dated(Some("2001-01-01T00:00:00Z")),
        Some(Duration::from_secs(i64::MAX as u64 / 1000)),
        now
    ));
}

#[test]
fn article_from_entry_prefers_content_and_resolves_the_link() {
    let article = article_from_entry(&entry_linked(Some("/world/story?id=1")), &feed());
    assert_eq!(article.url, "https://example.org/world/story?id=1");
    assert_eq!(article.fetched_url, article.url);
    assert_eq!(article.title, "Feed title");
    assert_eq!(article.authors, vec!["Feed Author".to_string()]);
    assert_eq!(
        article.image.and_then(|image| image.url).as_deref(),
        Some("https://example.org/lead.jpg")
    );
    let body =
        crate::extract::render::body(&article_from_entry(&entry_linked(Some("/a")), &feed()));
    assert!(body.contains("Full content paragraph."), "{body}");
    assert!(!body.contains("Summary"), "{body}");
}

#[test]
fn article_from_entry_without_link_or_content() {
    let article = article_from_entry(&Entry::default(), &feed());
    assert_eq!(article.url, "");
    assert_eq!(article.title, "");
    assert!(article.blocks.is_empty());
}

#[test]
fn fill_from_entry_fills_only_what_the_page_lacks() {
    let entry = entry_linked(Some("https://example.org/a"));
    let mut from_page = Article {
        title: "Page title".to_string(),
        fetched_url: "https://example.org/a?from=redirect".to_string(),
        ..Article::default()
    };
    fill_from_entry(&mut from_page, &entry, &feed());
    assert_eq!(from_page.title, "Page title");
    assert_eq!(from_page.published, entry.published);
    assert_eq!(from_page.authors, entry.authors);
    assert_eq!(from_page.url, "https://example.org/a?from=redirect");
    assert!(!from_page.blocks.is_empty(), "body taken from the entry");

    let mut blank_title = Article {
        title: "  ".to_string(),
        ..Article::default()
    };
    fill_from_entry(&mut blank_title, &entry, &feed());
    assert_eq!(blank_title.title, "Feed title");
}

#[test]
fn entry_links() {
    let check = |link: Option<&str>, expected: EntryLink| {
        assert_eq!(
            entry_link(&entry_linked(link), &feed()),
            expected,
            "{link:?}"
        );
    };
    check(None, EntryLink::Missing);
    check(Some("  "), EntryLink::Missing);
    check(
        Some("/world/a"),
        EntryLink::Usable(Url::parse("https://example.org/world/a").unwrap()),
    );
    check(Some("javascript:alert(1)"), EntryLink::Unusable);
    check(
        Some("https://user:secret@example.org/a"),
        EntryLink::Unusable,
    );
}

#[test]
fn settle_gives_the_canonical_url_as_identity_and_shown_url() {
    let link = entry_link(&entry_linked(Some("/a?utm_source=rss")), &feed());
    let mut article = Article::default();
    let identity = settle(&mut article, &link, "world", "guid-1");
    assert_eq!(identity, "https://example.org/a");
    assert_eq!(article.url, identity);

    // the page fetched (after redirects) comes before the entry's link
    let mut fetched = Article {
        fetched_url: "https://example.org/b#top".to_string(),
        ..Article::default()
    };
    assert_eq!(
        settle(&mut fetched, &link, "world", "guid-1"),
        "https://example.org/b"
    );
}

#[test]
fn settle_names_an_entry_without_link_by_source_and_key() {
    let mut article = Article::default();
    let identity = settle(&mut article, &EntryLink::Missing, "world", "guid-1");
    assert_eq!(identity, "entry:world:guid-1");
    assert_eq!(article.url, "", "no URL is made up for the payload");
}

#[test]
fn article_from_page_decodes_then_extracts() {
    let page = b"<html><head><meta charset=\"windows-1251\"><title>\xcf\xf0\xe8\xe2\xe5\xf2</title></head>\
        <body><article><h1>\xcf\xf0\xe8\xe2\xe5\xf2</h1><p>Text of the article, long enough to be \
        the body of this page for the extractor.</p></article></body></html>";
    let url = Url::parse("https://example.org/page").unwrap();
    let (article, _notes) = article_from_page(page, None, &url);
    assert_eq!(article.title, "Привет");
}

/// Issue 17: a source's `timezone` gives its offset-less dates (feed entries and pages alike)
/// the zone's offset for that date, daylight saving included; dates that had one keep it.
#[test]
fn source_timezone_applies_to_offsetless_dates_only() {
    let local = |text: &str| PublisherTime::from_record(text).unwrap();
    let mut entries = vec![
        Entry {
            published: Some(local("2024-05-14T13:05:00")),
            updated: Some(local("2024-01-14T13:05:00")),
            ..Entry::default()
        },
        Entry {
            published: Some(local("2024-05-14T13:05:00-04:00")),
            ..Entry::default()
        },
    ];
    let unchanged = entries.clone();
    entries_in_zone(&mut entries, None);
    assert_eq!(entries, unchanged, "no zone: local times stay local");
    entries_in_zone(&mut entries, Some(chrono_tz::Europe::Paris));
    let record = |date: Option<PublisherTime>| date.map(|date| date.to_record());
    assert_eq!(
        record(entries[0].published).as_deref(),
        Some("2024-05-14T13:05:00+02:00")
    );
    assert_eq!(
        record(entries[0].updated).as_deref(),
        Some("2024-01-14T13:05:00+01:00")
    );
    assert_eq!(
        record(entries[1].published).as_deref(),
        Some("2024-05-14T13:05:00-04:00")
    );

    let mut article = Article {
        published: Some(local("2024-05-14T09:00:00")),
        ..Article::default()
    };
    article_in_zone(&mut article, Some(chrono_tz::America::New_York));
    assert_eq!(
        record(article.published).as_deref(),
        Some("2024-05-14T09:00:00-04:00")
    );
    // 02:30 does not exist in Paris on the day clocks go forward: it stays a local time
    let mut skipped = Article {
        published: Some(local("2024-03-31T02:30:00")),
        ..Article::default()
    };
    article_in_zone(&mut skipped, Some(chrono_tz::Europe::Paris));
    assert_eq!(skipped.published, Some(local("2024-03-31T02:30:00")));
}

/// Issue 17: an entry whose feed gives a date without a zone keeps it local in the article,
/// never stamped with "Z".
#[test]
fn article_from_an_entry_keeps_an_offsetless_date_local() {
    let entry = Entry {
        published: crate::source::date::parse_date("2024-05-14 13:05"),
        ..entry_linked(Some("https://example.org/a"))
    };
    let article = article_from_entry(&entry, &feed());
    let published = article.published.map(|date| date.to_record());
    assert_eq!(published.as_deref(), Some("2024-05-14T13:05:00"));
}
