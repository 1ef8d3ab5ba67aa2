use super::*;
use crate::model::BlockKind::{Heading, ListItem, Paragraph, Quote, Related};

fn url() -> Url {
    Url::parse("https://news.example/world/2024/story.html").unwrap()
}

const PROSE: &str = "Officials said on Tuesday that the talks, which lasted several hours, ended \
        without agreement on the main issues, according to two people familiar with them.";
const PROSE_B: &str =
    "The delegations will meet again next month in Geneva, a spokesman said, adding that \
        both sides had agreed to keep the details of the proposals confidential until then.";
const PROSE_C: &str =
    "Analysts expect the second round to focus on trade, where the gap between the two \
        positions is narrower, and on a timetable for lifting some of the existing restrictions.";

fn page(body: &str) -> String {
    format!(
            "<html lang=\"en\"><head><title>Talks End - News Example</title></head><body>\
             <nav><a href=\"/\">Home</a> <a href=\"/world\">World</a></nav>\
             <article><h1>Talks End</h1>{body}</article>\
             <footer><p>Copyright News Example, all rights reserved, since 1901.</p></footer></body></html>"
        )
}

fn kinds_and_texts(article: &Article) -> Vec<(BlockKind, String)> {
    article
        .blocks
        .iter()
        .map(|b| (b.kind, b.text.clone()))
        .collect()
}

#[test]
fn body_structure_is_kept_in_page_order() {
    let html = page(&format!(
        "<p>{PROSE}</p><h2>What comes next</h2><p>{PROSE_B}</p>\
             <ul><li>First point of the plan.</li><li>Second point of the plan.</li></ul>\
             <blockquote><p>We will meet again, he said.</p></blockquote><p>{PROSE_C}</p>"
    ));
    let home_canonical = html.replace("<head>", "<head><link rel=\"canonical\" href=\"/\">");
    assert_eq!(extract(&home_canonical, &url()).url, url().to_string());
    let tracked =
        Url::parse("https://news.example/world/2024/story.html?utm_source=rss#top").unwrap();
    assert_eq!(extract(&html, &tracked).url, url().to_string());
    let article = extract(&html, &url());
    let expected = vec![
        (Paragraph, PROSE.to_string()),
        (Heading, "What comes next".to_string()),
        (Paragraph, PROSE_B.to_string()),
        (ListItem, "First point of the plan.".to_string()),
        (ListItem, "Second point of the plan.".to_string()),
        (Quote, "We will meet again, he said.".to_string()),
        (Paragraph, PROSE_C.to_string()),
    ];
    assert_eq!(kinds_and_texts(&article), expected);
    assert_eq!(article.title, "Talks End");
    assert_eq!(article.language.as_deref(), Some("en"));
    assert_eq!(article.url, url().to_string());
}

#[test]
fn links_are_absolute_and_bold_is_kept() {
    let html = page(&format!(
        "<p>The <a href=\"../../docs/report.pdf\"> report </a> was <strong>not</strong> \
             published, <a href=\"#note\">see note</a>. {PROSE}</p><p>{PROSE_B}</p>"
    ));
    let article = extract(&html, &url());
    let first = &article.blocks[0];
    assert!(first
        .text
        .starts_with("The report was not published, see note."));
    assert_eq!(first.links.len(), 1, "in-page anchors are not links");
    assert_eq!(first.links[0].text, "report");
    assert_eq!(first.links[0].href, "https://news.example/docs/report.pdf");
    assert_eq!(&first.text[first.links[0].start..][..6], "report");
    assert_eq!(first.bold.len(), 1);
    let doc = render::document(&article, LinkStyle::Absolute);
    assert!(
        doc.contains("The [report](https://news.example/docs/report.pdf) was **not** published")
    );
}

#[test]
fn furniture_and_hidden_elements_are_removed() {
    let html = page(&format!(
            "<p>{PROSE}</p>\
             <div class=\"share-buttons\"><a href=\"https://twitter.com/share\">Share on Twitter</a></div>\
             <div style=\"display:none\"><p>Hidden paragraph that must not appear in the body text.</p></div>\
             <p hidden>Also hidden, and long enough to be a paragraph of some kind.</p>\
             <div class=\"newsletter-signup\"><p>Sign up for our newsletter to get the news daily.</p></div>\
             <script>var x = 'script text must not appear';</script>\
             <p>{PROSE_B}</p>"
        ));
    let article = extract(&html, &url());
    let body = render::body(&article);
    assert_eq!(body, format!("{PROSE}\n\n{PROSE_B}"));
}

#[test]
fn related_boxes_become_related_blocks() {
    let html = page(&format!(
            "<p>{PROSE}</p>\
             <aside class=\"x\"><a href=\"/a\">not in body</a></aside>\
             <div class=\"related-link\"><span>Read more:</span> <a href=\"/world/other\">Other Story Title</a></div>\
             <p>Read also: <a href=\"/world/third\">Third Story</a></p>\
             <aside class=\"inline-related\"><h4>Related</h4><a href=\"/world/fourth\"><img src=\"t.jpg\"></a>\
             <a href=\"/world/fourth\">Fourth Story</a></aside>\
             <aside class=\"related-links\"><a href=\"/1\">One</a><a href=\"/2\">Two</a></aside>\
             <p>{PROSE_B}</p>"
        ));
    let article = extract(&html, &url());
    let related: Vec<_> = article
        .blocks
        .iter()
        .filter(|b| b.kind == Related)
        .map(|b| (b.text.as_str(), b.href.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        related,
        vec![
            ("Other Story Title", "https://news.example/world/other"),
            ("Third Story", "https://news.example/world/third"),
            ("Fourth Story", "https://news.example/world/fourth"),
        ]
    );
    assert_eq!(article.blocks[1].kind, Related);
    assert_eq!(render::body(&article), format!("{PROSE}\n\n{PROSE_B}"));
}

#[test]
fn metadata_from_jsonld_and_meta_tags() {
    let html = format!(
        r#"<html><head><title>Fallback | Site</title>
            <meta property="og:site_name" content="News Example">
            <meta property="og:url" content="https://news.example/canonical">
            <meta property="og:image" content="/img/lead.jpg">
            <meta name="author" content="Meta Author">
            <script type="application/ld+json">{{"@type":"NewsArticle","headline":"The Headline",
              "datePublished":"2024-05-14T13:05:00+03:00","dateModified":"2024-05-15T08:00:00+03:00",
              "author":[{{"@type":"Person","name":"Jane Roe"}},{{"@type":"Person","name":"John Doe"}}]}}</script>
            </head><body><article><p>{PROSE}</p><p>{PROSE_B}</p></article></body></html>"#
    );
    let article = extract(&html, &url());
    assert_eq!(article.title, "The Headline");
    assert_eq!(article.authors, vec!["Jane Roe", "John Doe"]);
    assert_eq!(article.site_name.as_deref(), Some("News Example"));
    assert_eq!(article.url, "https://news.example/canonical");
    assert_eq!(
        article.published.map(|d| d.to_record()).as_deref(),
        Some("2024-05-14T13:05:00+03:00")
    );
    assert_eq!(
        article.updated.map(|d| d.to_record()).as_deref(),
        Some("2024-05-15T08:00:00+03:00")
    );
    let image = article.image.unwrap();
    assert_eq!(
        image.url.as_deref(),
        Some("https://news.example/img/lead.jpg")
    );
}

#[test]
fn site_suffix_is_stripped_from_titles() {
    assert_eq!(
        strip_site_suffix(
            "Disney+ glitches blamed - Los Angeles Times",
            "Los Angeles Times"
        ),
        Some("Disney+ glitches blamed".to_string())
    );
    assert_eq!(strip_site_suffix("News | Site", "Site"), None);
    assert_eq!(strip_site_suffix("A headline here", "Site"), None);
}

#[test]
fn publisher_offset_wins_over_an_offsetless_date() {
    let html = format!(
        r#"<html><head><script type="application/ld+json">{{"@type":"NewsArticle","headline":"H",
              "datePublished":"2024-05-14T23:30:00"}}</script>
            <meta property="article:published_time" content="2024-05-14T23:30:00+03:00">
            </head><body><article><p>{PROSE}</p></article></body></html>"#
    );
    let published = extract(&html, &url()).published.map(|d| d.to_record());
    assert_eq!(published.as_deref(), Some("2024-05-14T23:30:00+03:00"));
}

#[test]
fn jsonld_name_that_is_the_site_name_is_not_the_title() {
    let html = format!(
        r#"<html><head><title>Something else entirely</title>
            <meta property="og:site_name" content="Aktuálně.cz">
            <script type="application/ld+json">{{"@type":"NewsArticle","name":"Aktuálně.cz",
              "headline":"West Ham hrozí gigantům"}}</script>
            </head><body><article><p>{PROSE}</p></article></body></html>"#
    );
    assert_eq!(extract(&html, &url()).title, "West Ham hrozí gigantům");
}

#[test]
fn caption_credit_patterns() {
    let check = |figcaption: &str, caption: Option<&str>, credit: Option<&str>| {
        let html = page(&format!(
                "<figure><img src=\"/i.jpg\"><figcaption>{figcaption}</figcaption></figure><p>{PROSE}</p><p>{PROSE_B}</p>"
            ));
        let image = extract(&html, &url()).image.unwrap_or_default();
        assert_eq!(image.caption.as_deref(), caption, "{figcaption}");
        assert_eq!(image.credit.as_deref(), credit, "{figcaption}");
    };
    check(
        "A caption. <span class=\"credit\">Jane Roe / AFP</span>",
        Some("A caption."),
        Some("Jane Roe / AFP"),
    );
    check(
        "A caption. <small>Photo: Jane Roe</small>",
        Some("A caption."),
        Some("Jane Roe"),
    );
    check(
        "A caption. (Photo: Jane Roe/Reuters)",
        Some("A caption."),
        Some("Jane Roe/Reuters"),
    );
    check("A caption. © AFP", Some("A caption."), Some("AFP"));
    check(
        "QR-Codes. <span class=\"source\">(Bild: Hersteller)</span>",
        Some("QR-Codes."),
        Some("Hersteller"),
    );
    check("Only a caption here.", Some("Only a caption here."), None);
    check(
        "Mayor Bill Peduto on Sunday. (Dustin Franz/AFP/Getty Images)",
        Some("Mayor Bill Peduto on Sunday."),
        Some("Dustin Franz/AFP/Getty Images"),
    );
    check(
        "Prices (in euros) rose.",
        Some("Prices (in euros) rose."),
        None,
    );
}

#[test]
fn noscript_markup_never_becomes_caption_text() {
    // Lazy-load plugins duplicate the image in <noscript>, which html5ever keeps as raw text.
    let html = page(&format!(
        "<div class=\"wp-caption\"><img src=\"data:image/gif;base64,R0\" data-src=\"/a.jpg\">\
             <noscript><img src=\"/a.jpg\" alt=\"x\"></noscript>\
             <p class=\"wp-caption-text\">Jan Roe, CDO</p></div><p>{PROSE}</p><p>{PROSE_B}</p>"
    ));
    let article = extract(&html, &url());
    let image = article.image.clone().unwrap_or_default();
    assert_eq!(image.caption.as_deref(), Some("Jan Roe, CDO"));
    assert_eq!(image.url.as_deref(), Some("https://news.example/a.jpg"));
    assert_eq!(render::body(&article), format!("{PROSE}\n\n{PROSE_B}"));
}

#[test]
fn byline_from_markup_when_no_metadata() {
    let html = page(&format!(
            "<div class=\"byline\">By <a rel=\"author\" href=\"/jane\">Jane Roe</a></div><p>{PROSE}</p><p>{PROSE_B}</p>"
        ));
    assert_eq!(extract(&html, &url()).authors, vec!["Jane Roe"]);
}

#[test]
fn jsonld_article_body_fills_script_rendered_pages() {
    let body = "First paragraph of the article, long enough to matter here.\nSecond paragraph \
            of the article, also long enough to count for the fallback rule.\nThird paragraph with more text \
            so the declared body clearly exceeds what the markup shows.";
    let html = format!(
        r#"<html><head><script type="application/ld+json">{{"@type":"NewsArticle","headline":"H","articleBody":{}}}</script></head>
            <body><div id="app"><p>Loading…</p></div></body></html>"#,
        serde_json::to_string(body).unwrap()
    );
    let article = extract(&html, &url());
    assert_eq!(article.blocks.len(), 3);
    assert!(article.blocks[2].text.starts_with("Third paragraph"));
}

#[test]
fn stamps_and_labels_go_but_prose_mentioning_them_stays() {
    let keep = "The song was written by John Lennon and published by Northern Songs in 1965.";
    let html = page(&format!(
        "<p>{PROSE}</p><p>05/10/2018 - Publicado por: Clarissa Borba - Categoria: Saúde</p>\
             <p>{keep}</p><p>Published Monday, November 18, 2019 8:22AM EST</p><p>Tags:</p>\
             <p>Monday 29 Dec 2014</p><p>May 14, 2024 1:05 PM EST</p><p>14.05.2024</p>\
             <p>Read also:</p><p>{PROSE_B}</p>"
    ));
    let texts: Vec<String> = extract(&html, &url())
        .blocks
        .into_iter()
        .map(|b| b.text)
        .collect();
    assert_eq!(
        texts,
        vec![PROSE.to_string(), keep.to_string(), PROSE_B.to_string()]
    );
}

#[test]
fn page_builder_widgets_holding_prose_are_kept() {
    let widget = |text: &str| {
        format!("<div class=\"elementor-widget-container\"><p>{text} {PROSE}</p></div>")
    };
    let html = page(&format!(
        "{}{}{}<div class=\"comment-widget\"><p>{PROSE}</p></div>",
        widget("One."),
        widget("Two."),
        widget("Three.")
    ));
    let body = render::body(&extract(&html, &url()));
    assert_eq!(
        body,
        format!("One. {PROSE}\n\nTwo. {PROSE}\n\nThree. {PROSE}")
    );
}

#[test]
fn footer_holding_the_prose_is_content_but_site_footers_are_not() {
    let transcript = format!(
            "<html><body><article><h1>Video</h1><p>Watch the video.</p>\
             <footer id=\"meta-data\"><p>{PROSE}</p><p>{PROSE_B}</p></footer></article></body></html>"
        );
    let body = render::body(&extract(&transcript, &url()));
    assert!(body.contains(PROSE), "{body}");

    let site = format!(
        "<html><body><article><h1>Short</h1><p>{PROSE}</p></article>\
             <footer class=\"site-footer\"><p>About us: {PROSE} {PROSE}</p></footer></body></html>"
    );
    assert_eq!(render::body(&extract(&site, &url())), PROSE);
}

#[test]
fn verbatim_duplicates_are_dropped() {
    let html = page(&format!(
        "<p>{PROSE}</p><p>Second, different paragraph text.</p><p>{PROSE}</p>"
    ));
    assert_eq!(
        render::body(&extract(&html, &url())),
        format!("{PROSE}\n\nSecond, different paragraph text.")
    );
}

#[test]
fn cards_of_other_stories_are_dropped() {
    let card = |n: u32| {
        format!(
            "<div class=\"row\"><a href=\"/s{n}\"><h5>Other story number {n}</h5></a>\
                 <p>A short excerpt of that other story, with a comma.</p></div>"
        )
    };
    let html = page(&format!(
        "<p>{PROSE}</p><p>{PROSE_B}</p><div class=\"more\">{}{}{}</div>",
        card(1),
        card(2),
        card(3)
    ));
    assert_eq!(
        render::body(&extract(&html, &url())),
        format!("{PROSE}\n\n{PROSE_B}")
    );
}

#[test]
fn table_rows_read_as_lines_and_separators_go() {
    let html = page(&format!(
        "<p>{PROSE}</p><table><tr><th>Player</th><th>Plays</th></tr>\
             <tr><td>Larry Ogunjobi</td><td>63</td></tr></table><p>___</p><p>{PROSE_B}</p>"
    ));
    let texts: Vec<String> = extract(&html, &url())
        .blocks
        .into_iter()
        .map(|b| b.text)
        .collect();
    assert_eq!(
        texts,
        vec![
            PROSE.to_string(),
            "Player | Plays".into(),
            "Larry Ogunjobi | 63".into(),
            PROSE_B.to_string()
        ]
    );
}

#[test]
fn fragment_blocks_keep_everything_and_resolve_links() {
    let blocks = fragment_blocks(
            "<p>Short <a href=\"/x\">link</a>.</p><ul><li>one</li></ul><blockquote>q</blockquote><h3>Sub</h3>",
            &url(),
        );
    let kinds: Vec<_> = blocks.iter().map(|b| (b.kind, b.text.as_str())).collect();
    assert_eq!(
        kinds,
        vec![
            (Paragraph, "Short link."),
            (ListItem, "one"),
            (Quote, "q"),
            (Heading, "Sub")
        ]
    );
    assert_eq!(blocks[0].links[0].href, "https://news.example/x");
    let feed = fragment_blocks(
            "<p>Body text.</p><p>The post <a href=\"/p\">Title</a> appeared first on <a href=\"/\">Site</a>.</p>",
            &url(),
        );
    assert_eq!(feed.len(), 1);
    assert!(fragment_blocks("", &url()).is_empty());
}

#[test]
fn five_megabytes_of_nul_extract_to_nothing_with_no_parser_work() {
    let html = "\0".repeat(5 << 20);
    // the parser is handed nothing: no per-NUL tokens, nodes or error messages
    assert_eq!(prepare::prepare(&html).0, "");
    let (article, notes) = extract_with_notes(&html, &url());
    assert!(article.title.is_empty());
    assert!(article.blocks.is_empty());
    assert_eq!(notes, Notes::default());
    assert!(render::body(&article).is_empty());
}

#[test]
fn nul_bytes_scattered_in_a_page_do_not_change_its_article() {
    let clean = page(&format!("<p>{PROSE}</p><p>{PROSE_B}</p>"));
    let dirty: String = clean
        .chars()
        .flat_map(|c| [c, '\0'])
        .chain("\0".repeat(100_000).chars())
        .collect();
    assert_eq!(extract(&dirty, &url()), extract(&clean, &url()));
}

#[test]
fn million_nested_divs_keep_their_body_and_are_noted() {
    let depth = 1_000_000;
    let html = format!(
        "<html><body>{}<p>{PROSE}</p><p>{PROSE_B}</p>{}</body></html>",
        "<div>".repeat(depth),
        "</div>".repeat(depth)
    );
    let (article, notes) = extract_with_notes(&html, &url());
    assert!(notes.flattened_nesting);
    assert_eq!(render::body(&article), format!("{PROSE}\n\n{PROSE_B}"));
    let (_, shallow) = extract_with_notes(&page(&format!("<p>{PROSE}</p>")), &url());
    assert!(!shallow.flattened_nesting);
}
