//! Body blocks from the chosen content: paragraphs, headings, list items, quotes and related-article
//! boxes, each with its inline links (absolute hrefs) and bold runs as byte ranges of its text.
//!
//! The walk is iterative over the pre-order DOM: entering an element may open a link, a bold run or
//! a block context; leaving it (detected when the walk passes the element's subtree end) closes
//! them. Inline content accumulates into a "run"; any block boundary or `<br>` flushes the run into
//! a block, so loose text in `<div>`s becomes paragraphs too.

use super::content::Analysis;
use super::dom::push_collapsed;
use crate::model::{Block, BlockKind, Link, Span};
use regex::Regex;
use std::sync::OnceLock;
use url::Url;

/// Elements whose content is never body text (media and their captions, the title heading).
const SKIPPED_TAGS: &[&str] = &[
    "figure",
    "figcaption",
    "img",
    "picture",
    "source",
    "h1",
    "caption",
    "hr",
    "area",
];

/// Elements that start and end a block.
const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "li",
    "blockquote",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "dl",
    "dt",
    "dd",
    "pre",
    "header",
    "address",
    "center",
    "form",
    "fieldset",
    "details",
    "summary",
    "body",
    "html",
];

#[derive(Clone, Copy)]
enum Exit {
    Link {
        start: usize,
        href_node: usize,
        generation: u32,
    },
    Bold {
        start: usize,
        generation: u32,
    },
    Block,
}

struct Run {
    kind: BlockKind,
    text: String,
    links: Vec<Link>,
    bold: Vec<Span>,
}

struct Builder<'x, 'd, 'a> {
    analysis: &'x Analysis<'d, 'a>,
    base: &'x Url,
    blocks: Vec<Block>,
    run: Run,
    generation: u32,
    kinds: Vec<BlockKind>,
}

impl Builder<'_, '_, '_> {
    fn current_kind(&self) -> BlockKind {
        self.kinds.last().copied().unwrap_or(BlockKind::Paragraph)
    }

    fn push_text(&mut self, text: &str) {
        if self.run.text.is_empty() {
            if text.trim().is_empty() {
                return;
            }
            self.run.kind = self.current_kind();
        }
        push_collapsed(&mut self.run.text, text);
    }

    fn flush(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        let mut run = std::mem::replace(
            &mut self.run,
            Run {
                kind: BlockKind::Paragraph,
                text: String::new(),
                links: Vec::new(),
                bold: Vec::new(),
            },
        );
        // Trailing whitespace, and the " |" an empty last table cell leaves.
        let trimmed = run
            .text
            .trim_end_matches(|c: char| c.is_whitespace() || c == '|')
            .len();
        run.text.truncate(trimmed);
        if run.text.is_empty() {
            return;
        }
        let len = run.text.len();
        run.links.retain(|l| l.start + l.text.len() <= len);
        run.bold.retain(|s| s.end <= len && s.start < s.end);
        self.blocks.push(Block {
            kind: run.kind,
            text: run.text,
            links: run.links,
            bold: run.bold,
            href: None,
        });
    }

    /// Byte range of `text[start..]` without surrounding spaces.
    fn trimmed_range(&self, start: usize) -> Option<(usize, usize)> {
        let text = &self.run.text;
        let tail = text.get(start..)?;
        let lead = tail.len() - tail.trim_start().len();
        let begin = start + lead;
        let end = text.trim_end().len();
        (begin < end).then_some((begin, end))
    }

    fn close(&mut self, exit: Exit) {
        match exit {
            Exit::Block => {
                self.flush();
                self.kinds.pop();
            }
            Exit::Link {
                start,
                href_node,
                generation,
            } => {
                if generation != self.generation {
                    return;
                }
                let Some((begin, end)) = self.trimmed_range(start) else {
                    return;
                };
                let href = self
                    .analysis
                    .dom
                    .attr(href_node, "href")
                    .and_then(|h| resolve_href(self.base, h));
                if let Some(href) = href {
                    self.run.links.push(Link {
                        text: self.run.text[begin..end].to_string(),
                        href,
                        start: begin,
                    });
                }
            }
            Exit::Bold { start, generation } => {
                if generation != self.generation {
                    return;
                }
                if let Some((begin, end)) = self.trimmed_range(start) {
                    self.run.bold.push(Span { start: begin, end });
                }
            }
        }
    }

    fn related_block(&mut self, i: usize) {
        let dom = self.analysis.dom;
        let mut j = i;
        let end = dom.nodes[i].end;
        let mut best: Option<(String, String)> = None;
        while j < end {
            if self.analysis.dead[j] {
                j = dom.nodes[j].end;
                continue;
            }
            if dom.tag(j) == "a" {
                if let Some(href) = dom.attr(j, "href").and_then(|h| resolve_href(self.base, h)) {
                    let text = dom.text(j, &self.analysis.dead);
                    let longer = best.as_ref().is_none_or(|(t, _)| text.len() > t.len());
                    if !text.is_empty() && longer {
                        best = Some((text, href));
                    }
                }
            }
            j += 1;
        }
        if let Some((text, href)) = best {
            // The box's label ("Related article:") often sits inside the link.
            let text = match boilerplate().and_then(|b| b.related_prefix.find(&text)) {
                Some(m) if m.end() < text.len() => text[m.end()..].trim().to_string(),
                _ => text,
            };
            self.flush();
            let mut block = Block::new(BlockKind::Related, text);
            block.href = Some(href);
            self.blocks.push(block);
        }
    }
}

/// Resolves a link target; in-page anchors and script links are not links for a reader.
pub fn resolve_href(base: &Url, href: &str) -> Option<String> {
    let href = href.trim();
    if href.is_empty() || href.starts_with('#') {
        return None;
    }
    let lower = href.get(..11).unwrap_or(href).to_ascii_lowercase();
    if lower.starts_with("javascript:") || lower.starts_with("data:") {
        return None;
    }
    base.join(href).ok().map(|u| u.to_string())
}

/// Builds blocks from the given roots (in page order).
pub fn build(analysis: &Analysis, roots: &[usize], base: &Url, skip_junk: bool) -> Vec<Block> {
    let dom = analysis.dom;
    let mut builder = Builder {
        analysis,
        base,
        blocks: Vec::new(),
        run: Run {
            kind: BlockKind::Paragraph,
            text: String::new(),
            links: Vec::new(),
            bold: Vec::new(),
        },
        generation: 0,
        kinds: Vec::new(),
    };
    for &root in roots {
        let mut open: Vec<(usize, Exit)> = Vec::new();
        let end = dom.nodes[root].end;
        let mut j = root;
        while j < end {
            while let Some(&(exit_at, exit)) = open.last() {
                if exit_at > j {
                    break;
                }
                open.pop();
                builder.close(exit);
            }
            if analysis.dead[j] {
                j = dom.nodes[j].end;
                continue;
            }
            if analysis.related[j] {
                builder.related_block(j);
                j = dom.nodes[j].end;
                continue;
            }
            if let Some(text) = dom.text_of(j) {
                builder.push_text(text);
                j += 1;
                continue;
            }
            let tag = dom.tag(j);
            if tag.is_empty() {
                j += 1;
                continue;
            }
            if SKIPPED_TAGS.contains(&tag) || (skip_junk && j != root && analysis.is_image_box(j)) {
                j = dom.nodes[j].end;
                continue;
            }
            let subtree_end = dom.nodes[j].end;
            if tag == "br" {
                builder.flush();
            } else if tag == "a" {
                open.push((
                    subtree_end,
                    Exit::Link {
                        start: builder.run.text.len(),
                        href_node: j,
                        generation: builder.generation,
                    },
                ));
            } else if tag == "b" || tag == "strong" {
                open.push((
                    subtree_end,
                    Exit::Bold {
                        start: builder.run.text.len(),
                        generation: builder.generation,
                    },
                ));
            } else if tag == "td" || tag == "th" {
                // A table row reads as one line: "cell | cell | cell". Layout tables still split
                // into paragraphs, because their cells hold block elements.
                if !builder.run.text.is_empty() {
                    builder.push_text(" | ");
                }
            } else if BLOCK_TAGS.contains(&tag) {
                builder.flush();
                // A container holding most of the body is the body, whatever its class says
                // ("widget-container" wrappers of page builders).
                let dominant =
                    u64::from(analysis.text_len[j]) * 2 > u64::from(analysis.text_len[root]);
                if skip_junk && j != root && !dominant && analysis.is_junk_container(j) {
                    j = subtree_end;
                    continue;
                }
                let kind = match tag {
                    "li" | "dd" | "dt" => BlockKind::ListItem,
                    "blockquote" => BlockKind::Quote,
                    "h2" | "h3" | "h4" | "h5" | "h6" => BlockKind::Heading,
                    _ => builder.current_kind(),
                };
                builder.kinds.push(kind);
                open.push((subtree_end, Exit::Block));
            }
            j += 1;
        }
        while let Some((_, exit)) = open.pop() {
            builder.close(exit);
        }
        builder.flush();
    }
    let mut blocks = builder.blocks;
    postprocess(&mut blocks, skip_junk);
    blocks
}

struct Boilerplate {
    phrase: Regex,
    related_prefix: Regex,
    promo: Regex,
    dateline: Regex,
    stamp: Regex,
    date_only: Regex,
}

fn boilerplate() -> Option<&'static Boilerplate> {
    static B: OnceLock<Option<Boilerplate>> = OnceLock::new();
    B.get_or_init(|| {
        Some(Boilerplate {
            phrase: Regex::new(
                r"(?i)^(?:tags?|categories|category|topics|schlagworte|schlagwörter|etiquetas|mots-clés|themen|advertisement|advertising|advert|ads?|anzeige|werbung|publicité|publicidad|реклама|sponsored(?: content)?|this slideshow requires javascript|like this (?:story|article)\? share it with a friend!?|share|share this( article| story)?|share on (?:facebook|twitter|x)|tweet|email|print|comments?|continue reading( below)?|story continues below( advertisement)?|article continues below|skip (?:to content|advertisement)|read more|loading\.*)[.:!]?$",
            )
            .ok()?,
            related_prefix: Regex::new(
                r"(?i)^(?:related(?: articles?| story| stories| content| coverage| news)?|read more|read also|also read|see also|more on this(?: story| topic)?|more|recommended|читайте также|по теме|lesen sie auch|mehr zum thema|à lire aussi|lire aussi|voir aussi|leer más|lee también|ver también|leggi anche|veja também|leia também)\s*[:：|\-–—]\s*",
            )
            .ok()?,
            promo: Regex::new(
                r"(?i)\b(?:newsletters?|subscribe (?:to|now|here|for)|sign up (?:for|to|here)|follow us|follow @|click here (?:to|for)|download (?:our|the) app|all rights reserved|have a tip\?|send us a tip|(?:to )?post a comment|leave a (?:comment|reply)|comments are (?:closed|moderated|subject)|never miss an? (?:update|story)|get (?:the latest )?updates in your)\b",
            )
            .ok()?,
            // A line that is only a date (and time): "Monday 29 Dec 2014", "May 14, 2024 1:05 PM".
            date_only: Regex::new(
                r"(?i)^(?:(?:mon|tue|tues|wed|wednes|thu|thur|thurs|fri|sat|satur|sun)(?:day)?\.?,?\s+)?(?:\d{1,2}(?:st|nd|rd|th)?\.?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?\s+\d{4}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}|\d{1,4}[./-]\d{1,2}[./-]\d{1,4})(?:,?\s+(?:at\s+)?\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s+[a-z]{2,4})?)?$",
            )
            .ok()?,
            stamp: Regex::new(
                r"(?i)^(?:published|updated|last updated|posted|first published|veröffentlicht|aktualisiert|publié|mis à jour)\b.*\d|(?:^|[-|•·]\s*)(?:posted by|publicado por|publicada por|publié par|veröffentlicht von|pubblicato da)\b",
            )
            .ok()?,
            // "By Jane Roe - 11/18/19 11:04 PM EST", "Updated at 1:23 p.m.", "22 de janeiro de 2018 às 0:13"
            dateline: Regex::new(
                r"(?i)^(?:by\s|updated\b|published\b|posted\b|last updated\b)|\b\d{1,2}:\d{2}\b|\b(?:19|20)\d{2}\b",
            )
            .ok()?,
        })
    })
    .as_ref()
}

/// Drops boilerplate lines and turns "Read more: <link>" paragraphs into related blocks.
fn postprocess(blocks: &mut Vec<Block>, page: bool) {
    let Some(b) = boilerplate() else {
        return;
    };
    blocks.retain(|block| {
        // Separator lines ("___", "* * *"), boilerplate phrases, and "Read also" labels whose
        // links were removed with their list.
        let text = block.text.trim();
        let label = format!("{}:", text.trim_end_matches([':', '：']));
        let separator = !text.chars().any(char::is_alphanumeric);
        // WordPress feeds end every entry with this line.
        let feed_footer = text.starts_with("The post ") && text.contains(" appeared first on ");
        let orphan_label = block.links.is_empty()
            && b.related_prefix
                .find(&label)
                .is_some_and(|m| m.end() == label.len());
        !(separator || feed_footer || orphan_label || b.phrase.is_match(text))
    });
    if page {
        blocks.retain(|block| !is_furniture_text(block, b));
        // A paragraph repeated verbatim is a responsive duplicate (one copy per screen size).
        let mut seen = std::collections::HashSet::new();
        blocks.retain(|block| {
            // Same words pointing elsewhere (two tweets' "— Name (@handle) date") are not copies.
            let hrefs: Vec<&str> = block.links.iter().map(|l| l.href.as_str()).collect();
            block.text.len() < 40 || seen.insert((block.text.clone(), hrefs.join(" ")))
        });
        // Leading date/byline lines of the article header.
        while blocks.len() > 1
            && blocks[0].kind == BlockKind::Paragraph
            && blocks[0].text.chars().count() < 100
            && b.dateline.is_match(&blocks[0].text)
        {
            blocks.remove(0);
        }
        // Trailing labels ("Tags", "Share") whose content was removed.
        while blocks.last().is_some_and(|block| {
            matches!(block.kind, BlockKind::Paragraph | BlockKind::Heading)
                && block.text.chars().count() < 30
                && !ends_sentence(&block.text)
        }) {
            blocks.pop();
        }
    }
    for block in blocks.iter_mut() {
        if block.kind == BlockKind::Related || block.links.len() != 1 {
            continue;
        }
        let Some(m) = b.related_prefix.find(&block.text) else {
            continue;
        };
        let rest = block.text[m.end()..].trim();
        let link = &block.links[0];
        if link.start >= m.end() && link.text.len() * 2 >= rest.len() && !rest.is_empty() {
            let mut related = Block::new(BlockKind::Related, link.text.clone());
            related.href = Some(link.href.clone());
            *block = related;
        }
    }
    // Headings with nothing after them introduce removed furniture ("More stories").
    while page
        && blocks
            .last()
            .is_some_and(|b| b.kind == BlockKind::Heading || b.text.ends_with(':'))
    {
        blocks.pop();
    }
}

fn ends_sentence(text: &str) -> bool {
    let t = text.trim_end_matches(|c: char| c.is_whitespace() || "\"'”’)»".contains(c));
    t.ends_with(['.', '!', '?', '。', '！', '？', '…'])
}

/// Navigation, tag lists, promos and legal lines that survived structural cleaning.
fn is_furniture_text(block: &Block, b: &Boilerplate) -> bool {
    if block.kind == BlockKind::Related {
        return false;
    }
    let text = block.text.trim();
    let chars = text.chars().count();
    let link_chars: usize = block.links.iter().map(|l| l.text.chars().count()).sum();
    // Mostly links: breadcrumbs, tag and category lists, "more stories".
    if link_chars * 10 >= chars * 7 && (chars < 120 || block.links.len() >= 3) {
        return true;
    }
    if chars < 250 && (b.promo.is_match(text) || text.contains('©')) {
        return true;
    }
    // Publication stamps left in the body ("Published Monday, November 18, 2019 8:22AM EST",
    // "05/10/2018 - Publicado por: Clarissa Borba - Categoria: Saúde").
    if chars < 160 && b.stamp.is_match(text) {
        return true;
    }
    if chars < 60 && b.date_only.is_match(text) {
        return true;
    }
    // Unexpanded CMS shortcodes ("[button link=…]Send us …[/button]").
    text.starts_with('[') && text.contains("[/")
}
