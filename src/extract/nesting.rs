//! Caps element nesting before parsing.
//!
//! html5ever keeps every open element on a stack and scans it for many start tags, so a page of
//! 100k nested `<div>`s parses in quadratic time (tens of seconds). No real article nests deeper
//! than a few hundred levels, so past [`MAX_DEPTH`] start tags (and as many end tags) are dropped;
//! their text is kept. Pages within the limit are returned untouched after one linear scan.

use std::borrow::Cow;

pub const MAX_DEPTH: usize = 512;

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
    /// Comments, doctypes, raw-text elements' bodies and stray `<`: copied as they are.
    Other {
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
        return Tag::Other { end: at + 1 };
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

/// Returns `html` with nesting beyond [`MAX_DEPTH`] removed (borrowed when nothing changes).
pub fn limit_nesting(html: &str) -> Cow<'_, str> {
    if max_depth(html) <= MAX_DEPTH {
        return Cow::Borrowed(html);
    }
    let mut out = String::with_capacity(html.len());
    let mut depth = 0usize;
    let mut excess = 0usize;
    let mut copied = 0usize;
    let mut at = 0usize;
    while let Some(lt) = next_lt(html, at) {
        match read_tag(html, lt) {
            Tag::Start { end, .. } => {
                if depth >= MAX_DEPTH {
                    out.push_str(&html[copied..lt]);
                    copied = end;
                    excess += 1;
                } else {
                    depth += 1;
                }
                at = end;
            }
            Tag::End { end } => {
                if excess > 0 {
                    out.push_str(&html[copied..lt]);
                    copied = end;
                    excess -= 1;
                } else {
                    depth = depth.saturating_sub(1);
                }
                at = end;
            }
            Tag::Other { end } => at = end.max(lt + 1),
        }
    }
    out.push_str(&html[copied..]);
    Cow::Owned(out)
}

fn max_depth(html: &str) -> usize {
    let mut depth = 0usize;
    let mut max = 0usize;
    let mut at = 0usize;
    while let Some(lt) = next_lt(html, at) {
        match read_tag(html, lt) {
            Tag::Start { end, .. } => {
                depth += 1;
                max = max.max(depth);
                at = end;
            }
            Tag::End { end } => {
                depth = depth.saturating_sub(1);
                at = end;
            }
            Tag::Other { end } => at = end.max(lt + 1),
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shallow_pages_are_untouched() {
        let html = "<div><p>a<div><span>b</span></div></div><script>if (a<b) {}</script>";
        assert!(matches!(limit_nesting(html), Cow::Borrowed(_)));
    }

    #[test]
    fn deep_nesting_is_cut_and_text_kept() {
        let depth = MAX_DEPTH * 3;
        let html = format!("{}text{}", "<div>".repeat(depth), "</div>".repeat(depth));
        let limited = limit_nesting(&html);
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
        assert!(matches!(limit_nesting(&html), Cow::Borrowed(_)));
    }
}
