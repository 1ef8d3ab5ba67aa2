//! The lead image (URL, caption, credit) and the visible byline, both read from markup around the
//! article rather than from its body.

use super::content::Analysis;
use super::dom::{clean_text, Dom};
use super::metadata::{clean_author, PageMeta};
use crate::model::Image;
use regex::Regex;
use std::sync::OnceLock;
use url::Url;

struct Patterns {
    credit_class: Regex,
    credit_in_caption: Regex,
    byline_class: Regex,
    not_byline_area: Regex,
}

fn patterns() -> Option<&'static Patterns> {
    static P: OnceLock<Option<Patterns>> = OnceLock::new();
    P.get_or_init(|| {
        Some(Patterns {
            credit_class: Regex::new(
                r"(?i)credit|copyright|photographer|attribution|source|byline|author|rights",
            )
            .ok()?,
            // "… (Photo: Jane Roe / AFP)", "… Photo by Jane Roe", "… © AFP"
            // …or a trailing "(Photographer/Agency)", the wire-caption convention.
            credit_in_caption: Regex::new(
                r"(?i)\s*(?:[(\[]?\s*(?:(?:photo(?:graph)?s?|foto|image|picture|credit|bild|фото)(?:\s+by)?\s*[:：/|]?\s+|©\s*|\(c\)\s*)([^()\[\]]{2,120}?)\s*[)\]]?|\(([^()\[\]/]{2,80}/[^()\[\]]{2,80})\))\s*$",
            )
            .ok()?,
            byline_class: Regex::new(r"(?i)byline|author|writtenby|p-author").ok()?,
            not_byline_area: Regex::new(r"\b(?:nav|navbar|navigation|menu|comments?|related)\b")
                .ok()?,
        })
    })
    .as_ref()
}

/// The page's lead image: og:image / JSON-LD image, with caption and credit from its `<figure>`.
pub fn lead_image(
    dom: &Dom,
    analysis: &Analysis,
    meta: &PageMeta,
    roots: &[usize],
    base: &Url,
) -> Option<Image> {
    let declared = meta
        .meta(&[
            "og:image",
            "og:image:url",
            "og:image:secure_url",
            "twitter:image",
            "twitter:image:src",
        ])
        .map(str::to_string)
        .or_else(|| meta.jsonld.image.clone())
        .and_then(|u| base.join(u.trim()).ok());

    let figure = find_figure(dom, analysis, roots, declared.as_ref());
    let url = declared
        .map(|u| u.to_string())
        .or_else(|| figure.and_then(|f| figure_img_src(dom, f, base)));
    let (caption, credit) = figure
        .map(|f| caption_and_credit(dom, f))
        .unwrap_or((None, None));
    if url.is_none() && caption.is_none() && credit.is_none() {
        return None;
    }
    Some(Image {
        url,
        caption,
        credit,
    })
}

fn basename(url: &str) -> &str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/').next().unwrap_or(path)
}

fn figure_img_src(dom: &Dom, figure: usize, base: &Url) -> Option<String> {
    (figure..dom.nodes[figure].end)
        .filter(|&j| dom.tag(j) == "img")
        .find_map(|j| {
            // Lazy loaders put a data: placeholder in `src` and the real image elsewhere.
            ["src", "data-src", "data-original", "data-lazy-src"]
                .iter()
                .filter_map(|a| dom.attr(j, a))
                .find(|s| !s.trim().is_empty() && !s.trim().starts_with("data:"))
                .and_then(|s| base.join(s.trim()).ok())
        })
        .map(|u| u.to_string())
}

/// A `<figure>` holding the lead image: the one showing the declared image, else the first with a
/// caption between the headline and the end of the body.
fn find_figure(
    dom: &Dom,
    analysis: &Analysis,
    roots: &[usize],
    declared: Option<&Url>,
) -> Option<usize> {
    // `<figure>`s, and the `div class="image"` boxes older templates use instead.
    let figures: Vec<usize> = (0..dom.len())
        .filter(|&i| {
            (dom.tag(i) == "figure" && has_descendant(dom, i, "img"))
                || (!analysis.dead[i] && analysis.is_image_box(i) && has_caption(dom, i))
        })
        .filter(|&i| !inside_furniture(dom, i))
        .collect();
    if let Some(declared) = declared {
        let wanted = basename(declared.as_str());
        let stem = wanted.rsplit_once('.').map_or(wanted, |(s, _)| s);
        if stem.len() >= 4 {
            for &f in &figures {
                let matches = (f..dom.nodes[f].end).any(|j| {
                    dom.tag(j) == "img"
                        && ["src", "data-src", "srcset", "data-srcset"]
                            .iter()
                            .filter_map(|a| dom.attr(j, a))
                            .any(|v| v.contains(stem))
                });
                if matches {
                    return Some(f);
                }
            }
        }
    }
    let start = (0..dom.len()).find(|&i| dom.tag(i) == "h1").unwrap_or(0);
    let end = roots.iter().map(|&r| dom.nodes[r].end).max().unwrap_or(0);
    let first_root = roots.iter().copied().min().unwrap_or(0);
    figures
        .into_iter()
        .find(|&f| f >= start.min(first_root) && f < end && has_caption(dom, f))
}

fn has_caption(dom: &Dom, i: usize) -> bool {
    (i + 1..dom.nodes[i].end).any(|j| {
        dom.tag(j) == "figcaption"
            || dom
                .attr(j, "class")
                .is_some_and(|c| c.to_ascii_lowercase().contains("caption"))
    })
}

fn has_descendant(dom: &Dom, i: usize, tag: &str) -> bool {
    (i + 1..dom.nodes[i].end).any(|j| dom.tag(j) == tag)
}

fn inside_furniture(dom: &Dom, i: usize) -> bool {
    dom.ancestors(i).any(|a| {
        matches!(
            dom.tag(a),
            "nav" | "footer" | "aside" | "noscript" | "template"
        )
    })
}

/// Caption and credit of a figure: credit from a credit-like element or a "Photo: X" tail.
fn caption_and_credit(dom: &Dom, figure: usize) -> (Option<String>, Option<String>) {
    let Some(p) = patterns() else {
        return (None, None);
    };
    let end = dom.nodes[figure].end;
    let Some(caption_node) = (figure..end)
        .find(|&j| dom.tag(j) == "figcaption")
        .or_else(|| {
            // A caption element inside the box (the box itself may be "wp-caption").
            (figure + 1..end).find(|&j| {
                dom.attr(j, "class")
                    .is_some_and(|c| c.to_ascii_lowercase().contains("caption"))
            })
        })
    else {
        return (None, None);
    };
    let mut skip = vec![false; dom.len()];
    let mut credit_parts: Vec<String> = Vec::new();
    let mut j = caption_node + 1;
    let caption_end = dom.nodes[caption_node].end;
    while j < caption_end {
        let is_credit = dom.element(j).is_some_and(|_| {
            matches!(dom.tag(j), "small" | "cite") || p.credit_class.is_match(&dom.class_id(j))
        });
        if is_credit {
            let text = dom.text(j, &skip);
            if !text.is_empty() {
                credit_parts.push(text);
            }
            for flag in skip.iter_mut().take(dom.nodes[j].end).skip(j) {
                *flag = true;
            }
            j = dom.nodes[j].end;
            continue;
        }
        j += 1;
    }
    let mut caption = clean_text(&dom.text(caption_node, &skip));
    let mut credit = clean_text(&credit_parts.join(" "));
    if credit.is_empty() {
        if let Some(caps) = p.credit_in_caption.captures(&caption) {
            if let (Some(all), Some(who)) = (caps.get(0), caps.get(1).or_else(|| caps.get(2))) {
                credit = who.as_str().trim().to_string();
                caption = caption[..all.start()].trim().to_string();
            }
        }
    }
    let credit = credit
        .trim_start_matches(|c: char| c == '©' || c.is_whitespace())
        .to_string();
    let credit = strip_credit_label(&credit);
    (
        Some(caption).filter(|c| !c.is_empty()),
        Some(credit).filter(|c| !c.is_empty()),
    )
}

fn strip_credit_label(credit: &str) -> String {
    // "(Bild: Hersteller)" → "Bild: Hersteller" → "Hersteller".
    let credit = credit.trim();
    let credit = match credit.strip_prefix('(').and_then(|c| c.strip_suffix(')')) {
        Some(inner) if !inner.contains(['(', ')']) => inner.trim(),
        _ => credit,
    };
    let lower = credit.to_lowercase();
    for label in [
        "photo by ",
        "photo: ",
        "photos: ",
        "photograph: ",
        "credit: ",
        "credits: ",
        "foto: ",
        "fotos: ",
        "bild: ",
        "image: ",
        "source: ",
        "quelle: ",
        "crédit : ",
        "crédit: ",
        "фото: ",
    ] {
        if lower.starts_with(label) {
            if let Some(rest) = credit.get(label.len()..) {
                return rest.trim().to_string();
            }
        }
    }
    credit.trim().to_string()
}

/// A visible byline: `rel=author`, `itemprop=author`, or a byline/author class, short enough to be
/// names rather than an author bio or a menu. Explicit markup beats class-name guesses.
pub fn byline_from_markup(dom: &Dom) -> Option<String> {
    let p = patterns()?;
    let mut best: Option<(u8, String)> = None;
    // Bylines follow the headline; "author" classes before it belong to teasers and widgets.
    let headline = (0..dom.len()).find(|&i| dom.tag(i) == "h1").unwrap_or(0);
    let mut i = 0;
    while i < dom.len() {
        let Some(e) = dom.element(i) else {
            i += 1;
            continue;
        };
        if matches!(
            e.name(),
            "nav"
                | "footer"
                | "script"
                | "style"
                | "noscript"
                | "template"
                | "form"
                | "button"
                | "select"
                | "head"
        ) || e.attr("hidden").is_some()
        {
            i = dom.nodes[i].end;
            continue;
        }
        let class_id = dom.class_id(i);
        let lower = class_id.to_ascii_lowercase();
        if p.not_byline_area.is_match(&lower) {
            i = dom.nodes[i].end;
            continue;
        }
        let rank = if e.attr("rel").is_some_and(|r| r.contains("author"))
            || e.attr("itemprop").is_some_and(|r| r.contains("author"))
        {
            Some(0)
        } else if lower.contains("byline") {
            Some(1)
        } else if p.byline_class.is_match(&class_id) {
            Some(2)
        } else {
            None
        };
        if let Some(rank) = rank.map(|r| if i < headline { r + 3 } else { r }) {
            if best.as_ref().is_none_or(|(r, _)| rank < *r) {
                let name_node = (i..dom.nodes[i].end)
                    .find(|&j| dom.attr(j, "itemprop") == Some("name"))
                    .unwrap_or(i);
                // `<meta itemprop="name" content="…">` carries the name in an attribute.
                let raw = match dom.attr(name_node, "content") {
                    Some(content) if name_node != i => content.to_string(),
                    _ => dom.text(name_node, &[]),
                };
                let text = clean_author(&raw);
                let chars = text.chars().count();
                if (3..100).contains(&chars) {
                    best = Some((rank, text));
                    if rank == 0 {
                        break;
                    }
                }
            }
        }
        i += 1;
    }
    best.map(|(_, text)| text)
}
