//! A flat, read-only view of a parsed page: every node of the scraper tree in document (pre-)order
//! in one `Vec`, each with the index one past its subtree.
//!
//! Why not walk `scraper`'s tree directly: every pass of the extractor (pruning, scoring, block
//! building) needs per-node side tables (dead, score, text length) and must never recurse, because
//! hostile pages nest elements 100k deep. With pre-order indices a subtree is the contiguous range
//! `i..end`, so side tables are plain `Vec`s, aggregates are one reverse sweep, and every traversal
//! is a loop.

use scraper::{Html, Node};

/// Marks the root's (non-existent) parent.
pub const NO_PARENT: usize = usize::MAX;

#[derive(Debug, Clone, Copy)]
pub enum Kind<'a> {
    Element(&'a scraper::node::Element),
    Text(&'a str),
    /// Document root, comments, doctypes, processing instructions.
    Other,
}

#[derive(Debug, Clone, Copy)]
pub struct DNode<'a> {
    pub kind: Kind<'a>,
    pub parent: usize,
    /// One past the last node of this node's subtree.
    pub end: usize,
}

pub struct Dom<'a> {
    pub nodes: Vec<DNode<'a>>,
}

impl<'a> Dom<'a> {
    pub fn new(html: &'a Html) -> Dom<'a> {
        let mut nodes: Vec<DNode<'a>> = Vec::new();
        // Iterative pre-order walk; the stack holds (node, parent index).
        let mut stack = vec![(html.tree.root(), NO_PARENT)];
        // Indices of open ancestors, to fill in `end` when a subtree is finished.
        let mut open: Vec<usize> = Vec::new();
        while let Some((node, parent)) = stack.pop() {
            while let Some(&top) = open.last() {
                if top == parent {
                    break;
                }
                nodes[top].end = nodes.len();
                open.pop();
            }
            let kind = match node.value() {
                Node::Element(e) => Kind::Element(e),
                Node::Text(t) => Kind::Text(t),
                _ => Kind::Other,
            };
            let index = nodes.len();
            nodes.push(DNode {
                kind,
                parent,
                end: index + 1,
            });
            open.push(index);
            // Children pushed last first, so the first child is visited first.
            for child in node.children().rev() {
                stack.push((child, index));
            }
        }
        let total = nodes.len();
        for index in open {
            nodes[index].end = total;
        }
        Dom { nodes }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The element's local name (lowercase for HTML), or "" for non-elements.
    pub fn tag(&self, i: usize) -> &'a str {
        match self.nodes[i].kind {
            Kind::Element(e) => e.name(),
            _ => "",
        }
    }

    pub fn element(&self, i: usize) -> Option<&'a scraper::node::Element> {
        match self.nodes[i].kind {
            Kind::Element(e) => Some(e),
            _ => None,
        }
    }

    /// The value of attribute `name` (lowercase) of element `i`.
    pub fn attr(&self, i: usize, name: &str) -> Option<&'a str> {
        self.element(i).and_then(|e| attr(e, name))
    }

    pub fn text_of(&self, i: usize) -> Option<&'a str> {
        match self.nodes[i].kind {
            Kind::Text(t) => Some(t),
            _ => None,
        }
    }

    /// Direct children of `i`, in order.
    pub fn children(&self, i: usize) -> Children<'_, 'a> {
        Children {
            dom: self,
            next: i + 1,
            end: self.nodes[i].end,
        }
    }

    /// Ancestors of `i`, nearest first (not including `i`).
    pub fn ancestors(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let mut current = self.nodes[i].parent;
        std::iter::from_fn(move || {
            if current == NO_PARENT {
                return None;
            }
            let here = current;
            current = self.nodes[here].parent;
            Some(here)
        })
    }

    /// `class` and `id` joined, for the class/id hint regexes.
    pub fn class_id(&self, i: usize) -> String {
        let mut out = String::new();
        self.class_id_into(i, &mut out);
        out
    }

    /// `class_id` into a buffer the caller reuses from node to node.
    pub fn class_id_into(&self, i: usize, out: &mut String) {
        out.clear();
        if let Some(e) = self.element(i) {
            if let Some(class) = attr(e, "class") {
                out.push_str(class);
            }
            if let Some(id) = attr(e, "id") {
                out.push(' ');
                out.push_str(id);
            }
        }
    }

    /// All text of the subtree, whitespace collapsed, skipping nodes where `skip` is true.
    pub fn text(&self, i: usize, skip: &[bool]) -> String {
        let mut out = String::new();
        let mut j = i;
        let end = self.nodes[i].end;
        while j < end {
            // Raw-text elements hold code or (for `<noscript>`, parsed with scripting on)
            // unparsed markup, never visible text.
            let raw = matches!(self.tag(j), "script" | "style" | "noscript" | "template");
            if raw || skip.get(j).copied().unwrap_or(false) {
                j = self.nodes[j].end;
                continue;
            }
            if let Kind::Text(t) = self.nodes[j].kind {
                push_collapsed(&mut out, t);
            } else if matches!(self.tag(j), "br" | "p" | "div" | "li" | "td" | "th") {
                push_collapsed(&mut out, " ");
            }
            j += 1;
        }
        out.trim().to_string()
    }
}

/// `element.attr(name)` without its cost: scraper interns `name` as an atom (a global lock for
/// names outside html5ever's static set) and hashes it for every call, while an element has a
/// handful of attributes whose names compare faster than that.
pub fn attr<'a>(element: &'a scraper::node::Element, name: &str) -> Option<&'a str> {
    element
        .attrs
        .iter()
        .find(|(key, _)| key.ns.is_empty() && &*key.local == name)
        .map(|(_, value)| &**value)
}

pub struct Children<'d, 'a> {
    dom: &'d Dom<'a>,
    next: usize,
    end: usize,
}

impl Iterator for Children<'_, '_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        if self.next >= self.end {
            return None;
        }
        let here = self.next;
        self.next = self.dom.nodes[here].end;
        Some(here)
    }
}

/// Appends `text` with every whitespace run collapsed to one space, never starting `out` with a
/// space and never doubling one.
pub fn push_collapsed(out: &mut String, text: &str) {
    for c in text.chars() {
        if c.is_whitespace() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else if c != '\u{200b}' && c != '\u{feff}' && c != '\u{ad}' {
            out.push(c);
        }
    }
}

/// Collapses whitespace and trims.
pub fn clean_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_collapsed(&mut out, text);
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preorder_ranges() {
        let html = Html::parse_document("<div><p>a<b>b</b></p><p>c</p></div>");
        let dom = Dom::new(&html);
        let div = (0..dom.len()).find(|&i| dom.tag(i) == "div").unwrap();
        let kids: Vec<_> = dom.children(div).map(|i| dom.tag(i)).collect();
        assert_eq!(kids, vec!["p", "p"]);
        assert_eq!(dom.text(div, &[]), "ab c");
        assert_eq!(dom.nodes[0].end, dom.len());
    }

    #[test]
    fn attribute_lookup_agrees_with_scraper() {
        let html = Html::parse_document(
            "<html xml:lang=\"de\"><body><div CLASS=\"a b\" id=x data-x=1 hidden>t</div>\
             <svg><a xlink:href=\"/svg\" href=\"/plain\"></a></svg><p>no attributes</p></body></html>",
        );
        let dom = Dom::new(&html);
        for i in 0..dom.len() {
            let Some(element) = dom.element(i) else {
                continue;
            };
            for name in [
                "class", "id", "data-x", "hidden", "href", "xml:lang", "missing",
            ] {
                assert_eq!(
                    dom.attr(i, name),
                    element.attr(name),
                    "{} {name}",
                    dom.tag(i)
                );
            }
        }
        let div = (0..dom.len()).find(|&i| dom.tag(i) == "div").unwrap();
        assert_eq!(dom.class_id(div), "a b x");
    }

    #[test]
    fn collapse() {
        assert_eq!(clean_text("  a \n\t b\u{a0}c  "), "a b c");
    }
}
