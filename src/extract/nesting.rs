//! Caps element nesting, and the number of tags, before parsing.
//!
//! html5ever keeps every open element on a stack and scans it for many start tags, so a page of
//! 100k nested `<div>`s parses in quadratic time (tens of seconds). No real article nests deeper
//! than a few hundred levels, so past [`MAX_DEPTH`] start tags (and as many end tags) are dropped;
//! their text is kept. Every parsed node costs about 270 bytes (scraper's tree and the
//! extractor's side tables), so 5 MB of `<p>` would take 450 MB; past [`MAX_TAGS`] markup items
//! every further tag and comment is dropped the same way, which bounds the tree whatever the
//! bytes. Pages within both limits are returned untouched after one linear scan.

use std::borrow::Cow;

pub const MAX_DEPTH: usize = 512;

/// Tags, end tags and comments read before the rest of the page is read as text. The largest
/// pages of the extraction corpus carry about 4,000; a 5 MiB page of real markup stays well
/// under this.
pub const MAX_TAGS: usize = 200_000;

/// Elements that are void or routinely left unclosed; they do not count towards the depth.
const UNCOUNTED: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr", "param", "keygen", "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th",
    "tbody", "thead", "tfoot", "colgroup", "rb", "rt", "rp", "html", "head", "body",
];

enum Tag {
    Start {
        end: usize,
    },
    End {
        end: usize,
    },
    /// Comments, doctypes, void and unclosed-by-habit elements, raw-text elements with their
    /// bodies: nodes that do not count towards the depth. Copied as they are within the limits.
    Other {
        end: usize,
    },
    /// A `<` that starts no markup: text.
    Text {
        end: usize,
    },
}

/// Reads the markup item starting at `html[at]` (which is `<`).
fn read_tag(html: &str, at: usize) -> Tag {
    let bytes = html.as_bytes();
    let rest = &html[at..];
    if rest.starts_with("<!--") {
        let end = rest.find("-->").map_or(html.len(), |p| at + p + 3);
        return Tag::Other { end };
    }
    let closing = rest.starts_with("</");
    let name_start = at + if closing { 2 } else { 1 };
    let mut name_end = name_start;
    while name_end < bytes.len()
        && (bytes[name_end].is_ascii_alphanumeric() || bytes[name_end] == b'-')
    {
        name_end += 1;
    }
    if name_end == name_start {
        // `<!x`, `<?x` and `</ x` are bogus comments up to the next `>`; any other `<` is text
        if rest.starts_with("<!") || rest.starts_with("<?") || (closing && rest.len() > 2) {
            let end = html[at + 1..]
                .find('>')
                .map_or(html.len(), |p| at + 1 + p + 1);
            return Tag::Other { end };
        }
        return Tag::Text { end: at + 1 };
    }
    let end = html[name_end..]
        .find('>')
        .map_or(html.len(), |p| name_end + p + 1);
    let name = &html[name_start..name_end];
    if closing {
        return Tag::End { end };
    }
    let self_closing = html[..end].ends_with("/>");
    if self_closing || UNCOUNTED.iter().any(|t| t.eq_ignore_ascii_case(name)) {
        return Tag::Other { end };
    }
    // Raw-text elements: skip to their end tag so markup-like text inside is not counted.
    for raw in ["script", "style", "textarea", "title", "xmp", "noscript"] {
        if name.eq_ignore_ascii_case(raw) {
            let close = format!("</{raw}");
            let after = lowercase_find(&html[end..], &close).map_or(html.len(), |p| end + p);
            return Tag::Other { end: after };
        }
    }
    Tag::Start { end }
}

/// Case-insensitive search for an ASCII `needle` that starts with `<` (a closing tag): jumps
/// between `<`s with memchr instead of comparing at every byte.
fn lowercase_find(haystack: &str, needle: &str) -> Option<usize> {
    let h = haystack.as_bytes();
    let n = needle.as_bytes();
    if n.is_empty() || h.len() < n.len() {
        return None;
    }
    let mut from = 0;
    while let Some(p) = haystack.get(from..).and_then(|rest| rest.find('<')) {
        let at = from + p;
        if h.len() - at < n.len() {
            return None;
        }
        if h[at..at + n.len()].eq_ignore_ascii_case(n) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn next_lt(html: &str, from: usize) -> Option<usize> {
    html.get(from..)?.find('<').map(|p| from + p)
}

/// What [`limit_nesting`] dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limited {
    /// Tags nested deeper than [`MAX_DEPTH`].
    pub too_deep: bool,
    /// Tags past the first [`MAX_TAGS`].
    pub too_many: bool,
}

/// Returns `html` with nesting beyond [`MAX_DEPTH`] and tags beyond [`MAX_TAGS`] removed, their
/// text kept (borrowed when nothing changes), and what was removed.
pub fn limit_nesting(html: &str) -> (Cow<'_, str>, Limited) {
    let (deepest, tags) = measure(html);
    if deepest <= MAX_DEPTH && tags <= MAX_TAGS {
        return (Cow::Borrowed(html), Limited::default());
    }
    let mut limited = Limited {
        too_deep: deepest > MAX_DEPTH,
        too_many: false,
    };
    let mut out = String::with_capacity(html.len());
    let mut depth = 0usize;
    let mut excess = 0usize;
    let mut copied = 0usize;
    let mut at = 0usize;
    // only tags that are kept count: a million nested divs keep 512 of them
    let mut kept = 0usize;
    while let Some(lt) = next_lt(html, at) {
        let tag = read_tag(html, lt);
        let (end, keep) = match tag {
            Tag::Text { end } => {
                at = end;
                continue;
            }
            // out of budget: every tag, comment and raw-text element goes; text stays (a
            // raw-text element's body is code, never visible text, so it goes with its tag)
            Tag::Start { end } | Tag::End { end } | Tag::Other { end } if kept >= MAX_TAGS => {
                limited.too_many = true;
                (end, false)
            }
            Tag::Start { end } if depth >= MAX_DEPTH => {
                excess += 1;
                (end, false)
            }
            Tag::Start { end } => {
                depth += 1;
                (end, true)
            }
            Tag::End { end } if excess > 0 => {
                excess -= 1;
                (end, false)
            }
            Tag::End { end } => {
                depth = depth.saturating_sub(1);
                (end, true)
            }
            Tag::Other { end } => (end, true),
        };
        if keep {
            kept += 1;
        } else {
            out.push_str(&html[copied..lt]);
            copied = end;
        }
        at = end.max(lt + 1);
    }
    out.push_str(&html[copied..]);
    (Cow::Owned(out), limited)
}

/// The deepest nesting and the number of markup items (tags, end tags, comments).
fn measure(html: &str) -> (usize, usize) {
    let mut depth = 0usize;
    let mut max = 0usize;
    let mut tags = 0usize;
    let mut at = 0usize;
    while let Some(lt) = next_lt(html, at) {
        let tag = read_tag(html, lt);
        if !matches!(tag, Tag::Text { .. }) {
            tags += 1;
        }
        match tag {
            Tag::Start { end, .. } => {
                depth += 1;
                max = max.max(depth);
                at = end;
            }
            Tag::End { end } => {
                depth = depth.saturating_sub(1);
                at = end;
            }
            Tag::Other { end } | Tag::Text { end } => at = end.max(lt + 1),
        }
    }
    (max, tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shallow_pages_are_untouched() {
        let html = "<div><p>a<div><span>b</span></div></div><script>if (a<b) {}</script>";
        assert!(matches!(limit_nesting(html).0, Cow::Borrowed(_)));
    }

    #[test]
    fn deep_nesting_is_cut_and_text_kept() {
        let depth = MAX_DEPTH * 3;
        let html = format!("{}text{}", "<div>".repeat(depth), "</div>".repeat(depth));
        let (limited, what) = limit_nesting(&html);
        assert!(what.too_deep && !what.too_many);
        assert_eq!(limited.matches("<div>").count(), MAX_DEPTH);
        assert_eq!(limited.matches("</div>").count(), MAX_DEPTH);
        assert!(limited.contains("text"));
    }

    #[test]
    fn closing_tag_search_ignores_case() {
        assert_eq!(lowercase_find("a < b </SCRIPT>", "</script"), Some(6));
        assert_eq!(lowercase_find("no end", "</script"), None);
        assert_eq!(lowercase_find("é<", "</script"), None);
    }

    #[test]
    fn unclosed_paragraphs_do_not_count() {
        let html = "<p>x".repeat(MAX_DEPTH * 2);
        assert!(matches!(limit_nesting(&html).0, Cow::Borrowed(_)));
    }

    #[test]
    fn tags_past_the_budget_are_dropped_and_text_kept() {
        let html = format!("{}<!x><p>last</p>", "<p>a".repeat(MAX_TAGS));
        let (limited, what) = limit_nesting(&html);
        assert!(what.too_many && !what.too_deep);
        assert_eq!(limited.matches("<p>").count(), MAX_TAGS);
        assert!(
            limited.ends_with("alast"),
            "{}",
            &limited[limited.len() - 20..]
        );
        // stray `<` is text, not markup
        let text = "a < b ".repeat(MAX_TAGS + 1);
        assert!(matches!(limit_nesting(&text).0, Cow::Borrowed(_)));
    }
}
