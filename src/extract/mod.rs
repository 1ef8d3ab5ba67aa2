//! HTML → [`Article`]: metadata (JSON-LD, OpenGraph, markup), the lead image with caption and
//! credit, and the body as blocks with inline links; `render` turns the result into the document
//! and record of FORMAT.md.
//!
//! Pure: no I/O, no clock, no panics. Pages are parsed with `scraper` (html5ever) and then walked
//! as a flat pre-order array (`dom`), so no pass recurses and hostile nesting cannot overflow the
//! stack. Main-content detection (`content`) is general scoring — text length, commas, link
//! density, class/id hints — with no per-site rules.

pub mod charset;
pub mod render;

mod blocks;
mod content;
mod dom;
mod image;
mod metadata;
mod nesting;

use crate::model::{Article, Block, BlockKind};
use dom::{clean_text, Dom};
use scraper::Html;
use url::Url;

pub use charset::decode_html;
pub use render::LinkStyle;

/// Extracts the article of a page. `page_url` is where the page was fetched from (after
/// redirects); it resolves relative links and is the fallback canonical URL.
pub fn extract(html: &str, page_url: &url::Url) -> Article {
    let html = nesting::limit_nesting(html);
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

    let authors = choose_authors(&meta, &dom, &analysis);
    let published = meta
        .jsonld
        .date_published
        .as_deref()
        .and_then(metadata::parse_date)
        .or_else(|| {
            meta.meta(&[
                "article:published_time",
                "datepublished",
                "og:published_time",
                "published_time",
                "pubdate",
                "publishdate",
                "date",
                "dc.date.issued",
                "dc.date",
                "dcterms.date",
                "sailthru.date",
                "parsely-pub-date",
            ])
            .and_then(metadata::parse_date)
        })
        .or_else(|| meta.times.iter().find_map(|t| metadata::parse_date(t)));
    let updated = meta
        .jsonld
        .date_modified
        .as_deref()
        .and_then(metadata::parse_date)
        .or_else(|| {
            meta.meta(&["article:modified_time", "datemodified", "og:updated_time"])
                .and_then(metadata::parse_date)
        });

    let url = meta
        .canonical
        .as_deref()
        .or_else(|| meta.meta(&["og:url"]))
        .and_then(|c| base.join(c).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or_else(|| page_url.clone());

    let site_name = meta
        .meta(&["og:site_name", "application-name"])
        .map(clean_text)
        .or_else(|| meta.jsonld.publisher.clone())
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

    Article {
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
    }
}

/// Blocks from an HTML fragment (a feed entry's content/summary), links resolved against base.
pub fn fragment_blocks(html: &str, base_url: &url::Url) -> Vec<Block> {
    let html = nesting::limit_nesting(html);
    let document = Html::parse_fragment(&html);
    let dom = Dom::new(&document);
    let analysis = content::Analysis::new(&dom);
    // The whole fragment is content: no main-content choice, no conditional cleaning.
    blocks::build(&analysis, &[0], base_url, false)
}

fn choose_title(meta: &metadata::PageMeta) -> String {
    let from_tag = meta
        .title_tag
        .as_deref()
        .map(|t| metadata::clean_title_tag(t, &meta.h1s));
    let candidates = [
        meta.jsonld.headline.clone(),
        meta.meta(&["og:title"]).map(str::to_string),
        meta.meta(&["twitter:title", "dc.title", "parsely-title"])
            .map(str::to_string),
        from_tag,
        meta.h1s.first().cloned(),
    ];
    candidates
        .into_iter()
        .flatten()
        .map(|t| clean_text(&t))
        .find(|t| !t.is_empty())
        .unwrap_or_default()
}

fn choose_authors(
    meta: &metadata::PageMeta,
    dom: &Dom,
    analysis: &content::Analysis,
) -> Vec<String> {
    if !meta.jsonld.authors.is_empty() {
        return meta
            .jsonld
            .authors
            .iter()
            .filter(|a| !looks_like_url(a))
            .cloned()
            .collect();
    }
    if let Some(author) = meta
        .meta(&[
            "author",
            "dc.creator",
            "dcterms.creator",
            "parsely-author",
            "sailthru.author",
            "article:author",
        ])
        .filter(|a| !looks_like_url(a))
    {
        let author = metadata::clean_author(author);
        if !author.is_empty() {
            return vec![author];
        }
    }
    image::byline_from_markup(dom, analysis)
        .map(|b| vec![b])
        .unwrap_or_default()
}

fn looks_like_url(s: &str) -> bool {
    let s = s.trim();
    s.starts_with("http://") || s.starts_with("https://") || s.starts_with('/')
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
    if article_body.contains("</p>") || article_body.contains("<br") {
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
    let html = nesting::limit_nesting(html);
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
