//! The two outward forms of an [`Article`] (docs/FORMAT.md): the text **document** laid out like
//! `tests/fixtures/seed/article.txt`, and the JSON **record** (the article plus its plain `body` and the document
//! as `text`).
//!
//! Rendering is total: any `Article` value renders, whatever its spans say (out-of-range or
//! overlapping link/bold ranges are dropped rather than trusted).

use crate::model::{Article, Block, BlockKind, PublisherTime};
use serde::Serialize;

/// How hrefs are written in the document: as resolved URLs, or all as `#` (the seed's style).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkStyle {
    Absolute,
    Hash,
}

/// The JSON record of docs/FORMAT.md.
#[derive(Serialize)]
pub struct Record<'a> {
    #[serde(flatten)]
    pub article: &'a Article,
    pub body: String,
    pub text: String,
}

pub fn record(article: &Article, links: LinkStyle) -> Record<'_> {
    Record {
        article,
        body: body(article),
        text: document(article, links),
    }
}

/// "May 14, 2024", in the offset the publisher wrote.
pub fn date_line(published: &PublisherTime) -> String {
    published.local().format("%B %-d, %Y").to_string()
}

/// Plain body text: every non-related block's text, separated by a blank line.
pub fn body(article: &Article) -> String {
    article
        .blocks
        .iter()
        .filter(|b| b.kind != BlockKind::Related)
        .map(|b| b.text.as_str())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The text document of docs/FORMAT.md; ends with exactly one newline.
pub fn document(article: &Article, links: LinkStyle) -> String {
    let mut parts: Vec<String> = Vec::new();
    parts.push(one_line(&article.title));

    let mut header = Vec::new();
    if let Some(published) = &article.published {
        header.push(date_line(published));
    }
    if !article.authors.is_empty() {
        header.push(format!("By {}", one_line(&article.authors.join(", "))));
    }
    if !header.is_empty() {
        parts.push(header.join("\n"));
    }

    if let Some(image) = &article.image {
        let caption = image.caption.as_deref().map(one_line).unwrap_or_default();
        let credit = image.credit.as_deref().map(one_line).unwrap_or_default();
        let line = match (caption.is_empty(), credit.is_empty()) {
            (false, false) => format!("{caption} **{credit}**"),
            (false, true) => caption,
            (true, false) => format!("**{credit}**"),
            (true, true) => String::new(),
        };
        if !line.is_empty() {
            parts.push(line);
        }
    }

    for block in &article.blocks {
        let line = block_line(block, links);
        if !line.trim().is_empty() {
            parts.push(line);
        }
    }

    parts.push("Original url:".to_string());
    parts.push(format!("<{}>", article.url.trim()));
    let mut out = parts.join("\n\n");
    out.push('\n');
    out
}

fn href_of(href: &str, links: LinkStyle) -> &str {
    match links {
        LinkStyle::Absolute => href,
        LinkStyle::Hash => "#",
    }
}

fn block_line(block: &Block, links: LinkStyle) -> String {
    match block.kind {
        BlockKind::Related => {
            let title = one_line(&block.text);
            match &block.href {
                Some(href) => format!("Related article: [{title}]({})", href_of(href, links)),
                None => format!("Related article: {title}"),
            }
        }
        BlockKind::Heading => format!("## {}", inline(block, links)),
        BlockKind::ListItem => format!("- {}", inline(block, links)),
        BlockKind::Quote => format!("> {}", inline(block, links)),
        BlockKind::Paragraph => inline(block, links),
    }
}

/// Collapses line breaks so one block stays one line of the document.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The block's text with `[text](href)` links and `**bold**` runs inserted.
fn inline(block: &Block, links: LinkStyle) -> String {
    let text = block.text.as_str();
    // (position, order, insertion). At one position closers come before openers, so adjacent
    // spans stay well nested.
    let mut marks: Vec<(usize, u8, String)> = Vec::new();
    let mut link_ranges: Vec<(usize, usize)> = Vec::new();
    for link in &block.links {
        let end = link.start + link.text.len();
        let valid = text.get(link.start..end) == Some(link.text.as_str())
            && !link.text.is_empty()
            && !link_ranges.iter().any(|&(s, e)| link.start < e && s < end);
        if !valid {
            continue;
        }
        link_ranges.push((link.start, end));
        marks.push((link.start, 2, "[".to_string()));
        marks.push((end, 0, format!("]({})", href_of(&link.href, links))));
    }
    let mut bold_ranges: Vec<(usize, usize)> = Vec::new();
    for span in &block.bold {
        let (start, end) = (span.start, span.end);
        let valid = start < end
            && text.get(start..end).is_some_and(|s| !s.trim().is_empty())
            // A bold run may contain whole links or sit inside one, never cross a boundary.
            && link_ranges.iter().all(|&(s, e)| {
                end <= s || start >= e || (start <= s && end >= e) || (start >= s && end <= e)
            })
            && !bold_ranges.iter().any(|&(s, e)| start < e && s < end);
        if !valid {
            continue;
        }
        bold_ranges.push((start, end));
        marks.push((start, 1, "**".to_string()));
        marks.push((end, 1, "**".to_string()));
    }
    if marks.is_empty() {
        return one_line(text);
    }
    marks.sort_by_key(|(pos, order, _)| (*pos, *order));
    let mut out = String::with_capacity(text.len() + marks.len() * 8);
    let mut cursor = 0;
    for (pos, _, insertion) in marks {
        if let Some(piece) = text.get(cursor..pos) {
            out.push_str(piece);
            cursor = pos;
        }
        out.push_str(&insertion);
    }
    out.push_str(text.get(cursor..).unwrap_or(""));
    one_line(&out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Image, Link, Span};

    fn article() -> Article {
        let mut paragraph = Block::new(
            BlockKind::Paragraph,
            "The Kremlin announced Tuesday a visit.",
        );
        paragraph.links.push(Link {
            text: "announced".into(),
            href: "https://example.org/a".into(),
            start: 12,
        });
        paragraph.bold.push(Span { start: 22, end: 29 });
        let mut related = Block::new(BlockKind::Related, "Other story");
        related.href = Some("https://example.org/other".into());
        Article {
            url: "https://example.org/story".into(),
            fetched_url: "https://example.org/story?utm_source=x".into(),
            title: "A Title".into(),
            published: PublisherTime::from_record("2024-05-14T23:30:00+03:00"),
            updated: None,
            authors: vec!["Jane Roe".into(), "John Doe".into()],
            site_name: Some("Example".into()),
            language: Some("en".into()),
            image: Some(Image {
                url: Some("https://example.org/i.jpg".into()),
                caption: Some("A caption.".into()),
                credit: Some("Photographer / Agency".into()),
            }),
            blocks: vec![
                paragraph,
                Block::new(BlockKind::Heading, "Sub"),
                related,
                Block::new(BlockKind::ListItem, "item"),
                Block::new(BlockKind::Quote, "quoted"),
                Block::new(BlockKind::Paragraph, "AFP contributed reporting."),
            ],
        }
    }

    #[test]
    fn document_absolute() {
        let expected = "A Title\n\nMay 14, 2024\nBy Jane Roe, John Doe\n\n\
            A caption. **Photographer / Agency**\n\n\
            The Kremlin [announced](https://example.org/a) **Tuesday** a visit.\n\n## Sub\n\n\
            Related article: [Other story](https://example.org/other)\n\n- item\n\n> quoted\n\n\
            AFP contributed reporting.\n\nOriginal url:\n\n<https://example.org/story>\n";
        assert_eq!(document(&article(), LinkStyle::Absolute), expected);
    }

    #[test]
    fn document_hash_and_partial_header() {
        let mut a = article();
        a.published = None;
        a.authors.clear();
        a.image = Some(Image {
            url: None,
            caption: None,
            credit: Some("TASS".into()),
        });
        a.blocks.truncate(3);
        let expected = "A Title\n\n**TASS**\n\n\
            The Kremlin [announced](#) **Tuesday** a visit.\n\n## Sub\n\n\
            Related article: [Other story](#)\n\nOriginal url:\n\n<https://example.org/story>\n";
        assert_eq!(document(&a, LinkStyle::Hash), expected);
    }

    #[test]
    fn date_line_uses_publisher_offset() {
        let late = PublisherTime::from_record("2024-05-14T23:30:00+03:00").unwrap();
        assert_eq!(date_line(&late), "May 14, 2024");
        let early = PublisherTime::from_record("2024-01-01T00:30:00-05:00").unwrap();
        let local = PublisherTime::from_record("2015-04-30T23:19:58").unwrap();
        assert_eq!(date_line(&local), "April 30, 2015");
        assert_eq!(date_line(&early), "January 1, 2024");
    }

    #[test]
    fn body_skips_related_blocks() {
        assert_eq!(
            body(&article()),
            "The Kremlin announced Tuesday a visit.\n\nSub\n\nitem\n\nquoted\n\nAFP contributed reporting."
        );
    }

    #[test]
    fn broken_spans_are_ignored() {
        let mut block = Block::new(BlockKind::Paragraph, "héllo world");
        block.links.push(Link {
            text: "xx".into(),
            href: "h".into(),
            start: 2,
        });
        block.bold.push(Span { start: 2, end: 99 });
        block.bold.push(Span { start: 0, end: 6 });
        assert_eq!(inline(&block, LinkStyle::Absolute), "**héllo** world");
    }

    #[test]
    fn bold_link_nesting() {
        let mut block = Block::new(BlockKind::Paragraph, "see this link now");
        block.links.push(Link {
            text: "this link".into(),
            href: "u".into(),
            start: 4,
        });
        block.bold.push(Span { start: 0, end: 13 });
        assert_eq!(
            inline(&block, LinkStyle::Hash),
            "**see [this link](#)** now"
        );
    }

    #[test]
    fn record_json_shape() {
        let a = article();
        let json = serde_json::to_value(record(&a, LinkStyle::Absolute)).unwrap();
        assert_eq!(json["url"], "https://example.org/story");
        assert_eq!(json["published"], "2024-05-14T23:30:00+03:00");
        assert_eq!(json["blocks"][2]["kind"], "related");
        assert_eq!(json["blocks"][2]["href"], "https://example.org/other");
        assert!(json["body"].as_str().unwrap().starts_with("The Kremlin"));
        assert!(json["text"]
            .as_str()
            .unwrap()
            .ends_with("<https://example.org/story>\n"));
    }
}
