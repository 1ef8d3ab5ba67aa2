//! HTML → [`Article`]: metadata (JSON-LD, OpenGraph, markup), the lead image with caption and
//! credit, and the body as blocks with inline links; `render` turns the result into the document
//! and record of docs/FORMAT.md.
//!
//! Pure: no I/O, no clock, no panics. Pages are parsed with `scraper` (html5ever) and then walked
//! as a flat pre-order array (`dom`), so no pass recurses and hostile nesting cannot overflow the
//! stack. Main-content detection is general scoring — text length, commas, link density, class/id
//! hints — with no per-site rules.
//!
//! Codemap, in the order [`extract`] runs them:
//! - `prepare` — what the parser is never given (NUL characters, nesting past `nesting`'s cap),
//!   reported as [`Notes`].
//! - `nesting` — caps element nesting before parsing (html5ever is quadratic in depth).
//! - `dom` — the flat pre-order view of the parsed page, whitespace helpers.
//! - `metadata` (+ `values`) — `<meta>`, JSON-LD, `<title>`, `<time>`, canonical link; date,
//!   byline and title clean-up.
//! - `byline` — the authors as credited: co-authors split, roles, desks and credentials dropped,
//!   names preferred over account handles, profile links as a last source.
//! - `content` — prunes furniture (tags, hidden elements, class/id hints, roles), marks related
//!   boxes and embedded posts, aggregates text/link lengths bottom-up; `scoring` picks the body.
//! - `blocks` — walks the body into paragraphs/headings/list items/quotes/related blocks with link
//!   and bold spans, then drops leftover furniture lines.
//! - `canonical` — which declared canonical URLs name the page (not the home page or a section).
//! - `image` — lead image (og:image / JSON-LD / figure) with caption and credit; visible byline.
//! - `render` — document and JSON record. (Bytes → text is [`crate::encoding`]; `decode_html`
//!   is re-exported here for callers that extract.)
//!
//! When the markup yields less than half of the JSON-LD `articleBody` (script-rendered pages),
//! that text becomes the body.

pub mod render;

mod blocks;
mod byline;
mod canonical;
mod content;
mod dom;
mod image;
mod metadata;
mod nesting;
mod prepare;
mod scoring;
mod values;

use crate::model::{Article, Block, BlockKind, PublisherTime};
use dom::{clean_text, Dom};
use scraper::Html;
use url::Url;

pub use crate::encoding::decode_html;
pub use prepare::Notes;
pub use render::LinkStyle;

/// Extracts the article of a page. `page_url` is where the page was fetched from (after
/// redirects); it resolves relative links and is the fallback canonical URL.
pub fn extract(html: &str, page_url: &url::Url) -> Article {
    extract_with_notes(html, page_url).0
}

/// [`extract`], and what had to be changed in the page to read it (for the caller to report).
pub fn extract_with_notes(html: &str, page_url: &url::Url) -> (Article, Notes) {
    let (html, notes) = prepare::prepare(html);
    let document = Html::parse_document(&html);
    let dom = Dom::new(&document);
    let meta = metadata::collect(&dom);

    let base = meta
        .base_href
        .as_deref()
        .and_then(|b| page_url.join(b).ok())
        .unwrap_or_else(|| page_url.clone());

    let analysis = content::Analysis::new(&dom);
    let roots = analysis.main_content();
    let mut blocks = blocks::build(&analysis, &roots, &base, true);

    if let Some(fallback) =
        jsonld_body_fallback(&blocks, meta.jsonld.article_body.as_deref(), &base)
    {
        blocks = fallback;
    }

    let title = choose_title(&meta);
    drop_header_echoes(&mut blocks, &title);

    let authors = byline::choose_authors(&meta, &dom);
    let published = choose_date(
        meta.jsonld.date_published.as_deref(),
        &[
            "article:published_time",
            "datepublished",
            "og:published_time",
            "published_time",
            "pubdate",
            "publishdate",
            "date",
            "dc:date:issued",
            "dc:date",
            "dcterms:date",
            "sailthru:date",
            "parsely-pub-date",
        ],
        &meta,
        &meta.times,
    );
    let updated = choose_date(
        meta.jsonld.date_modified.as_deref(),
        &["article:modified_time", "datemodified", "og:updated_time"],
        &meta,
        &[],
    );

    let url = meta
        .canonical
        .as_deref()
        .or_else(|| meta.meta(&["og:url"]))
        .and_then(|c| base.join(c).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        // Some templates declare the home page or the section index as every page's canonical
        // URL: that would make every article of the site one identity.
        .filter(|canonical| !canonical::is_site_or_section_index(canonical, page_url))
        // Without a declared canonical URL, the fetched one minus fragment and tracking
        // parameters (the same canonical form entry identity uses).
        .unwrap_or_else(|| crate::model::canonical_url(page_url));

    // The JSON-LD publisher names the outlet itself; og:site_name is sometimes the platform
    // ("Medium") or carries a slogan.
    let site_name = meta
        .jsonld
        .publisher
        .as_deref()
        .or_else(|| meta.meta(&["og:site_name", "application-name"]))
        .map(clean_text)
        .filter(|s| !s.is_empty());
    let language = meta
        .lang
        .clone()
        .or_else(|| {
            meta.meta(&["og:locale", "content-language", "language"])
                .map(str::to_string)
        })
        .or_else(|| meta.jsonld.language.clone())
        .map(|l| l.replace('_', "-"));

    let image = image::lead_image(&dom, &analysis, &meta, &roots, &base);

    let article = Article {
        url: url.to_string(),
        fetched_url: page_url.to_string(),
        title,
        published,
        updated,
        authors,
        site_name,
        language,
        image,
        blocks,
    };
    (article, notes)
}

/// Blocks from an HTML fragment (a feed entry's content/summary), links resolved against base.
pub fn fragment_blocks(html: &str, base_url: &url::Url) -> Vec<Block> {
    let (html, _) = prepare::prepare(html);
    let document = Html::parse_fragment(&html);
    let dom = Dom::new(&document);
    let analysis = content::Analysis::new(&dom);
    // The whole fragment is content: no main-content choice, no conditional cleaning.
    blocks::build(&analysis, &[0], base_url, false)
}

fn choose_title(meta: &metadata::PageMeta) -> String {
    let from_tag = meta.title_tag.as_deref().map(|t| {
        let cleaned = metadata::clean_title_tag(t, &meta.h1s, &meta.h2s);
        // "Headline - Site" where the page's h1 is the headline: the h1 is the better title.
        match meta.h1s.first() {
            Some(h1)
                if cleaned == clean_text(t)
                    && h1.len() < cleaned.len()
                    && h1.split_whitespace().count() >= 2
                    && cleaned.starts_with(h1.as_str()) =>
            {
                h1.clone()
            }
            _ => cleaned,
        }
    });
    // JSON-LD: `headline` and `name` usually agree; when they differ, one of them is often the
    // site name, so take the one resembling the page's own title.
    let ld = &meta.jsonld;
    let jsonld = match (&ld.headline, &ld.name) {
        (Some(headline), Some(name)) if headline != name => {
            let reference = from_tag.as_deref().unwrap_or("");
            let name_matches = metadata::text_similarity(name, reference) > 0.75;
            let headline_matches = metadata::text_similarity(headline, reference) > 0.75;
            let name_is_site = [
                meta.jsonld.publisher.as_deref(),
                meta.meta(&["og:site_name"]),
            ]
            .into_iter()
            .flatten()
            .any(|site| clean_text(site).eq_ignore_ascii_case(&clean_text(name)));
            // The page's own visible headline (h1) or og:title settles it when it agrees with one.
            let corroborated = |candidate: &str| {
                let candidate = clean_text(candidate);
                meta.meta(&["og:title"])
                    .into_iter()
                    .chain(meta.h1s.iter().map(String::as_str))
                    .any(|other| clean_text(other) == candidate)
            };
            let headline_confirmed = corroborated(headline) && !corroborated(name);
            // "Headline - Site" in `name` is the headline plus branding.
            let name_decorates_headline = name.starts_with(headline.as_str());
            if name_is_site
                || name_decorates_headline
                || headline_confirmed
                || (headline_matches && !name_matches)
            {
                Some(headline.clone())
            } else {
                Some(name.clone())
            }
        }
        (Some(headline), _) => Some(headline.clone()),
        (None, name) => name.clone(),
    };
    let candidates = [
        jsonld,
        meta.meta(&["dc:title", "dcterm:title", "og:title"])
            .map(str::to_string),
        meta.meta(&["twitter:title", "parsely-title"])
            .map(str::to_string),
        from_tag,
        meta.h1s.first().cloned(),
    ];
    let title = candidates
        .into_iter()
        .flatten()
        .map(|t| clean_text(&t))
        .find(|t| !t.is_empty())
        .unwrap_or_default();
    let site_names = [
        meta.meta(&["og:site_name"]),
        meta.jsonld.publisher.as_deref(),
    ];
    // Only when the page's own headline confirms the shorter form: some sites do brand their
    // titles, and Readability (our reference) keeps them.
    site_names
        .into_iter()
        .flatten()
        .find_map(|site| strip_site_suffix(&title, site))
        .filter(|short| meta.h1s.iter().any(|h1| clean_text(h1) == *short))
        .unwrap_or(title)
}

/// "Headline - Site Name" → "Headline" when the suffix is the page's own site name.
fn strip_site_suffix(title: &str, site: &str) -> Option<String> {
    let site = clean_text(site);
    if site.is_empty() {
        return None;
    }
    let lower = title.to_lowercase();
    let site_lower = site.to_lowercase();
    for separator in [" - ", " | ", " – ", " — ", " :: ", " · ", " • "] {
        let suffix = format!("{separator}{site_lower}");
        if lower.ends_with(&suffix) {
            // Lowercasing can change byte lengths; cut by characters instead.
            let keep = lower.chars().count() - suffix.chars().count();
            let head: String = title.chars().take(keep).collect();
            if head.split_whitespace().count() >= 2 {
                return Some(head.trim().to_string());
            }
        }
    }
    None
}

/// A date of the page: JSON-LD, then `<meta>` keys in order, then `times` (`<time>` elements).
/// A value without an offset stays a local time ([`PublisherTime::Local`]) — unless a later
/// source states the same moment (within a day) with the publisher's offset: that one wins.
fn choose_date(
    jsonld: Option<&str>,
    keys: &[&str],
    meta: &metadata::PageMeta,
    times: &[String],
) -> Option<PublisherTime> {
    let raw_values = jsonld
        .into_iter()
        .chain(keys.iter().filter_map(|key| meta.meta(&[key])))
        .chain(times.iter().map(String::as_str));
    let parsed: Vec<(bool, chrono::DateTime<chrono::FixedOffset>)> = raw_values
        .filter_map(|raw| Some((metadata::has_offset(raw), metadata::parse_date(raw)?)))
        .take(20)
        .collect();
    let (first_has_offset, first) = *parsed.first()?;
    if first_has_offset {
        return Some(PublisherTime::Zoned(first));
    }
    // `parse_date` reads an offset-less value as if it were UTC, so the wall-clock time as written
    // is its naive UTC time.
    let zoned = parsed
        .iter()
        .find(|(has_offset, date)| {
            *has_offset && (date.naive_local() - first.naive_utc()).num_seconds().abs() <= 24 * 3600
        })
        .map(|(_, date)| PublisherTime::Zoned(*date));
    zoned.or(Some(PublisherTime::Local(first.naive_utc())))
}

/// The JSON-LD `articleBody` as blocks, when the page's markup yielded much less text than it: the
/// body is then rendered by script or hidden behind a paywall overlay, and the publisher's own
/// structured copy is the best text there is.
fn jsonld_body_fallback(
    blocks: &[Block],
    article_body: Option<&str>,
    base: &Url,
) -> Option<Vec<Block>> {
    let article_body = article_body?.trim();
    let declared = article_body.chars().count();
    if declared < 200 {
        return None;
    }
    let extracted: usize = blocks
        .iter()
        .filter(|b| b.kind != BlockKind::Related)
        .map(|b| b.text.chars().count())
        .sum();
    if extracted * 2 >= declared {
        return None;
    }
    // Some publishers put HTML in articleBody; any tag-like "<x" means markup.
    let has_markup = article_body
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!'));
    if has_markup {
        let from_html = fragment_blocks(article_body, base);
        if !from_html.is_empty() {
            return Some(from_html);
        }
    }
    Some(
        article_body
            .lines()
            .map(clean_text)
            .filter(|line| !line.is_empty())
            .map(|line| Block::new(BlockKind::Paragraph, line))
            .collect(),
    )
}

/// Drops leading blocks that repeat the title (the body walk may include the article header).
fn drop_header_echoes(blocks: &mut Vec<Block>, title: &str) {
    let title = title.trim().to_lowercase();
    if title.is_empty() {
        return;
    }
    while blocks
        .first()
        .is_some_and(|b| b.kind != BlockKind::Related && b.text.trim().to_lowercase() == title)
    {
        blocks.remove(0);
    }
}

/// Development aid: describes the chosen content roots (tag, class/id, text length).
#[doc(hidden)]
pub fn debug_roots(html: &str) -> Vec<String> {
    let (html, _) = prepare::prepare(html);
    let document = Html::parse_document(&html);
    let dom = Dom::new(&document);
    let analysis = content::Analysis::new(&dom);
    analysis
        .main_content()
        .into_iter()
        .map(|r| {
            let path: Vec<String> = std::iter::once(r)
                .chain(dom.ancestors(r))
                .map(|a| format!("{}.{}", dom.tag(a), dom.class_id(a)))
                .collect();
            let mut out = format!("text_len={} {}", analysis.text_len[r], path.join(" < "));
            for j in r + 1..dom.nodes[r].end {
                if !analysis.dead[j] && analysis.is_junk_container(j) {
                    out.push_str(&format!(
                        "\n   junk {}.{} len={} links={}",
                        dom.tag(j),
                        dom.class_id(j),
                        analysis.text_len[j],
                        analysis.link_len[j]
                    ));
                }
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BlockKind::{Heading, ListItem, Paragraph, Quote, Related};

    fn url() -> Url {
        Url::parse("https://news.example/world/2024/story.html").unwrap()
    }

    const PROSE: &str =
        "Officials said on Tuesday that the talks, which lasted several hours, ended \
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
        assert!(doc
            .contains("The [report](https://news.example/docs/report.pdf) was **not** published"));
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
}
