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
mod tests;
