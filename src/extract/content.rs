//! Page analysis for main-content detection: what is furniture, and how much text sits where.
//!
//! Pass 1 prunes by tag, visibility and ARIA role; pass 2 by class/id hints (Readability's
//! "unlikely candidates"), except wrappers holding most of the page's prose, embedded posts, and
//! single-link related boxes (kept as such). Per-node aggregates (text and link length, commas,
//! prose, paragraphs, list items, images, linked headings) are then computed in one bottom-up
//! sweep, so the scoring (`scoring`) and Readability's conditional cleaning
//! ([`Analysis::is_junk_container`]) are O(1) per node. No site-specific rules: every signal is a
//! property any article page has.

use super::dom::{Dom, Kind};
use regex::Regex;
use std::sync::OnceLock;

/// Elements that never hold article text.
const REMOVED_TAGS: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed",
    "button", "input", "select", "textarea", "option", "nav", "footer", "aside", "dialog", "menu",
    "link", "meta", "head", "canvas", "video", "audio", "map",
];

/// ARIA roles of page furniture.
const REMOVED_ROLES: &[&str] = &[
    "menu",
    "menubar",
    "complementary",
    "navigation",
    "alert",
    "alertdialog",
    "dialog",
    "banner",
    "contentinfo",
    "search",
    "toolbar",
];

struct Patterns {
    unlikely: Regex,
    maybe: Regex,
    positive: Regex,
    negative: Regex,
    related: Regex,
    hidden_style: Regex,
    hidden_class: Regex,
    embed: Regex,
    responsive: Regex,
    image_box: Regex,
    never_prose: Regex,
}

fn patterns() -> Option<&'static Patterns> {
    static PATTERNS: OnceLock<Option<Patterns>> = OnceLock::new();
    PATTERNS
        .get_or_init(|| {
            Some(Patterns {
                unlikely: Regex::new(
                    r"(?i)-ad-|\bads?\b|ai2html|banner|breadcrumb|combx|comment|community|cover-wrap|disqus|extra|footer|gdpr|header|legends|menu|related|remark|replies|rss|shoutbox|sidebar|skyscraper|social|sponsor|supplemental|ad-break|agegate|pagination|pager|popup|yom-remote|newsletter|subscri|signup|sign-up|cookie|consent|modal|outbrain|taboola|recommend|most-popular|mostpopular|trending|share|sharing|toolbar|paywall|promo|contribut|donat|membership|support-us",
                )
                .ok()?,
                maybe: Regex::new(r"(?i)and|article|body|column|content|main|shadow").ok()?,
                positive: Regex::new(
                    r"(?i)article|body|content|entry|hentry|h-entry|main|page|pagination|post|text|blog|story",
                )
                .ok()?,
                negative: Regex::new(
                    r"(?i)-ad-|hidden|^hid$| hid$| hid |^hid |banner|combx|comment|com-|contact|foot|footer|footnote|gdpr|masthead|media|meta|outbrain|promo|related|scroll|share|shoutbox|sidebar|skyscraper|sponsor|shopping|tags|tool|widget|newsletter|subscri|byline|author|dateline|caption|contribut|donat|membership|paywall",
                )
                .ok()?,
                related: Regex::new(
                    r"(?i)related|read-?more|readmore|see-?also|more-?on|also-?read|read-?also|further-?reading|inline-?(?:link|promo|article)",
                )
                .ok()?,
                hidden_style: Regex::new(r"(?i)display\s*:\s*none|visibility\s*:\s*hidden").ok()?,
                hidden_class: Regex::new(
                    r"(?i)(?:^|\s)(?:hidden|hide|is-hidden|sr-only|visually-hidden|visuallyhidden|screen-reader-text|screenreader-only|u-hidden|d-none|invisible)(?:\s|$)|tooltip|popover|hovercard|rollover",
                )
                .ok()?,
                never_prose: Regex::new(
                    r"(?i)comment|foot|copyright|legal|disclaimer|sponsor|promo|newsletter|subscri|related|share|social|sidebar|contribut|donat|membership|paywall|outbrain|taboola|signup|author|\bbio|byline",
                )
                .ok()?,
                image_box: Regex::new(
                    r"(?i)image|img|photo|picture|figure|media|caption|gallery|thumbnail",
                )
                .ok()?,
                responsive: Regex::new(r"(?i)\b(?:hidden|visible)-(?:xs|sm|md|lg|xl)\b").ok()?,
                embed: Regex::new(r"(?i)tweet|twitter|instagram|tiktok|bluesky|threads|facebook|embed")
                    .ok()?,
            })
        })
        .as_ref()
}

/// Per-node facts used by scoring and block building, all indexed like `Dom::nodes`.
pub struct Analysis<'d, 'a> {
    pub dom: &'d Dom<'a>,
    /// Subtree is page furniture: skip it entirely.
    pub dead: Vec<bool>,
    /// An in-body "related article" box holding one link.
    pub related: Vec<bool>,
    /// Visible text length in chars (whitespace runs count as one), excluding dead subtrees.
    pub text_len: Vec<u32>,
    /// Part of `text_len` inside `<a>` elements.
    pub link_len: Vec<u32>,
    pub commas: Vec<u32>,
    /// `<p>` and `<li>` elements below the node (not counting itself), and the text of its
    /// outermost lists: the counts Readability's conditional cleaning looks at.
    pub paragraphs: Vec<u32>,
    pub list_items: Vec<u32>,
    pub list_text: Vec<u32>,
    /// `<img>` elements below the node.
    pub images: Vec<u32>,
    /// Teaser titles below the node: headings that are links (`<a><h3>…` / `<h3><a>…`).
    pub linked_headings: Vec<u32>,
    /// The subtree holds an embedded post (tweet, Instagram…): quoted content, not furniture.
    pub embed: Vec<bool>,
    /// Text of prose paragraphs (`<p>` of 80+ chars, few links) in the subtree.
    pub prose_len: Vec<u32>,
    /// Each text node's own (length, commas), counted the first time `aggregate` reads it
    /// (`UNCOUNTED` until then): `aggregate` runs twice, and dead nodes (scripts) never.
    own_text: Vec<(u32, u32)>,
}

const UNCOUNTED: (u32, u32) = (u32::MAX, u32::MAX);

/// Hidden (`hidden`, `aria-hidden="true"`, a hiding style or class) or furniture by ARIA role,
/// read in one pass over the element's attributes.
fn hidden_or_furniture(element: &scraper::node::Element, p: &Patterns) -> bool {
    element.attrs.iter().any(|(key, value)| {
        if !key.ns.is_empty() {
            return false;
        }
        let value: &str = value;
        match &*key.local {
            "hidden" => true,
            "aria-hidden" => value == "true",
            "style" => p.hidden_style.is_match(value),
            "class" => p.hidden_class.is_match(value),
            "role" => REMOVED_ROLES
                .iter()
                .any(|role| role.eq_ignore_ascii_case(value)),
            _ => false,
        }
    })
}

fn count_text(text: &str) -> (u32, u32) {
    let mut len = 0u32;
    let mut commas = 0u32;
    let mut in_space = true;
    for c in text.chars() {
        if c.is_whitespace() {
            if !in_space {
                len += 1;
                in_space = true;
            }
        } else {
            len += 1;
            in_space = false;
            if matches!(c, ',' | '，' | '、' | '،') {
                commas += 1;
            }
        }
    }
    (len, commas)
}

impl<'d, 'a> Analysis<'d, 'a> {
    pub fn new(dom: &'d Dom<'a>) -> Analysis<'d, 'a> {
        let n = dom.len();
        let mut analysis = Analysis {
            dom,
            dead: vec![false; n],
            related: vec![false; n],
            text_len: vec![0; n],
            link_len: vec![0; n],
            commas: vec![0; n],
            prose_len: vec![0; n],
            embed: vec![false; n],
            paragraphs: vec![0; n],
            list_items: vec![0; n],
            list_text: vec![0; n],
            images: vec![0; n],
            linked_headings: vec![0; n],
            own_text: vec![UNCOUNTED; n],
        };
        let Some(p) = patterns() else {
            return analysis;
        };
        // Pass 1: furniture by tag, visibility and role (no text needed).
        for i in 0..n {
            let parent = dom.nodes[i].parent;
            if parent != super::dom::NO_PARENT && analysis.dead[parent] {
                analysis.dead[i] = true;
                continue;
            }
            if let Some(e) = dom.element(i) {
                let tag = e.name();
                // `<aside>`s and `<footer>`s are judged in pass 2: a related box inside the body
                // becomes a related block, and a page that (mis)uses them for its article (a
                // transcript in a `<footer>`) keeps them.
                let removed_tag = REMOVED_TAGS.contains(&tag) && !matches!(tag, "aside" | "footer");
                if removed_tag || hidden_or_furniture(e, p) {
                    analysis.dead[i] = true;
                }
            }
        }
        // Raw aggregates over live nodes, for related-box detection below.
        analysis.aggregate();
        let mut link_count = vec![0u32; n];
        for i in (0..n).rev() {
            if analysis.dead[i] {
                continue;
            }
            if dom.tag(i) == "a" && dom.attr(i, "href").is_some() {
                link_count[i] += 1;
            }
            let parent = dom.nodes[i].parent;
            if parent != super::dom::NO_PARENT {
                link_count[parent] += link_count[i];
            }
        }
        for i in (0..n).rev() {
            if analysis.dead[i] {
                continue;
            }
            if dom.tag(i) == "blockquote"
                && dom.attr(i, "class").is_some_and(|c| p.embed.is_match(c))
            {
                analysis.embed[i] = true;
            }
            let parent = dom.nodes[i].parent;
            if analysis.embed[i] && parent != super::dom::NO_PARENT {
                analysis.embed[parent] = true;
            }
        }
        let total_prose = analysis.prose_len.first().copied().unwrap_or(0);
        // Pass 2: unlikely candidates by class/id; related boxes survive as such.
        let mut class_id = String::new();
        let mut i = 0;
        while i < n {
            if analysis.dead[i] {
                i = dom.nodes[i].end;
                continue;
            }
            let tag = dom.tag(i);
            if tag.is_empty() || matches!(tag, "html" | "body" | "a" | "main" | "article") {
                i += 1;
                continue;
            }
            dom.class_id_into(i, &mut class_id);
            // A "sidebar"/"header" layout wrapper (or `<aside>`) that holds most of the page's
            // prose is the page, not furniture.
            let holds_prose = u64::from(analysis.prose_len[i]) * 2 > u64::from(total_prose);
            let semantic_furniture = matches!(tag, "aside" | "footer");
            if class_id.is_empty() && (!semantic_furniture || holds_prose) {
                i += 1;
                continue;
            }
            if p.related.is_match(&class_id)
                && link_count[i] >= 1
                && analysis.text_len[i] < 300
                && single_target(dom, i, &analysis.dead)
            {
                analysis.related[i] = true;
                i = dom.nodes[i].end;
                continue;
            }
            // A site footer ("site-footer", "footer") stays furniture whatever it holds.
            let site_footer = tag == "footer" && p.unlikely.is_match(&class_id);
            if semantic_furniture && (!holds_prose || site_footer) {
                analysis.dead[i] = true;
                i = dom.nodes[i].end;
                continue;
            }
            if p.unlikely.is_match(&class_id)
                && !p.maybe.is_match(&class_id)
                && !analysis.embed[i]
                && !holds_prose
                && !has_ancestor_tag(dom, i, &["table", "code", "pre"])
            {
                analysis.dead[i] = true;
                i = dom.nodes[i].end;
                continue;
            }
            i += 1;
        }
        analysis.aggregate();
        analysis
    }

    /// Recomputes `text_len`, `link_len` and `commas` bottom-up over live nodes.
    fn aggregate(&mut self) {
        let dom = self.dom;
        let n = dom.len();
        self.text_len.iter_mut().for_each(|v| *v = 0);
        self.link_len.iter_mut().for_each(|v| *v = 0);
        self.commas.iter_mut().for_each(|v| *v = 0);
        self.prose_len.iter_mut().for_each(|v| *v = 0);
        self.paragraphs.iter_mut().for_each(|v| *v = 0);
        self.list_items.iter_mut().for_each(|v| *v = 0);
        self.list_text.iter_mut().for_each(|v| *v = 0);
        self.images.iter_mut().for_each(|v| *v = 0);
        self.linked_headings.iter_mut().for_each(|v| *v = 0);
        for i in (0..n).rev() {
            if self.dead[i] {
                continue;
            }
            if let Kind::Text(t) = dom.nodes[i].kind {
                let (len, commas) = match self.own_text[i] {
                    UNCOUNTED => {
                        let counted = count_text(t);
                        self.own_text[i] = counted;
                        counted
                    }
                    counted => counted,
                };
                self.text_len[i] = len;
                self.commas[i] = commas;
            }
            match dom.tag(i) {
                "a" => self.link_len[i] = self.text_len[i],
                "p" | "pre" | "blockquote"
                    if self.text_len[i] >= 80
                        && u64::from(self.link_len[i]) * 4 < u64::from(self.text_len[i]) =>
                {
                    self.prose_len[i] = self.text_len[i];
                }
                _ => {}
            }
            let parent = dom.nodes[i].parent;
            if parent != super::dom::NO_PARENT {
                self.prose_len[parent] += self.prose_len[i];
                let tag = dom.tag(i);
                self.paragraphs[parent] += self.paragraphs[i] + u32::from(tag == "p");
                self.list_items[parent] += self.list_items[i] + u32::from(tag == "li");
                self.images[parent] += self.images[i] + u32::from(tag == "img");
                let is_heading = matches!(tag, "h2" | "h3" | "h4" | "h5" | "h6");
                let linked_heading = is_heading
                    && self.text_len[i] > 0
                    && (u64::from(self.link_len[i]) * 10 >= u64::from(self.text_len[i]) * 8
                        || dom.ancestors(i).take(3).any(|a| dom.tag(a) == "a"));
                self.linked_headings[parent] += self.linked_headings[i] + u32::from(linked_heading);
                self.list_text[parent] += if matches!(tag, "ul" | "ol") {
                    self.text_len[i]
                } else {
                    self.list_text[i]
                };
                self.text_len[parent] += self.text_len[i];
                self.link_len[parent] += self.link_len[i];
                self.commas[parent] += self.commas[i];
            }
        }
    }

    pub fn link_density(&self, i: usize) -> f32 {
        let text = self.text_len[i];
        if text == 0 {
            return 0.0;
        }
        (self.link_len[i] as f32 / text as f32).min(1.0)
    }

    /// Readability's class/id weight: +25 for content-like names, −25 for furniture-like names.
    pub fn class_weight(&self, i: usize) -> f32 {
        let Some(p) = patterns() else {
            return 0.0;
        };
        let mut weight = 0.0;
        let dom = self.dom;
        for value in [dom.attr(i, "class"), dom.attr(i, "id")]
            .into_iter()
            .flatten()
        {
            if value.is_empty() {
                continue;
            }
            // Responsive utility classes ("hidden-xs", "visible-lg") hide nothing on a desktop
            // page; they must not read as "hidden".
            let stripped;
            let value = if p.responsive.is_match(value) {
                stripped = p.responsive.replace_all(value, "");
                stripped.as_ref()
            } else {
                value
            };
            if p.negative.is_match(value) {
                weight -= 25.0;
            }
            if p.positive.is_match(value) {
                weight += 25.0;
            }
        }
        weight
    }

    /// A figure in all but name: an image with its caption in a `div class="image"` or similar.
    /// Captions are not body text (docs/FORMAT.md draws only the lead image's).
    pub fn is_image_box(&self, i: usize) -> bool {
        let Some(p) = patterns() else {
            return false;
        };
        self.images[i] > 0
            && self.text_len[i] < 400
            && self.prose_len[i] < 400
            && p.image_box.is_match(&self.dom.class_id(i))
    }

    /// Readability's conditional cleaning: a container inside the body that looks like furniture
    /// (navigation list, share bar, promo) rather than prose.
    pub fn is_junk_container(&self, i: usize) -> bool {
        let dom = self.dom;
        let tag = dom.tag(i);
        if !matches!(
            tag,
            "div" | "section" | "ul" | "ol" | "table" | "form" | "header" | "dl" | "span"
        ) {
            return false;
        }
        if self.embed[i] {
            return false;
        }
        let weight = self.class_weight(i);
        if weight < 0.0 {
            // A furniture-sounding class ("elementor-widget-container") on a box that is plainly
            // prose is a page builder's wrapper, not furniture. Comments, footers, appeals and
            // promos stay out regardless.
            let text = u64::from(self.text_len[i]);
            let prose = u64::from(self.prose_len[i]);
            let plainly_prose = prose >= 120
                && prose * 10 >= text * 8
                && self.link_density(i) < 0.2
                && self.linked_headings[i] < 2
                && patterns().is_some_and(|p| !p.never_prose.is_match(&self.dom.class_id(i)));
            return !plainly_prose;
        }
        if self.commas[i] >= 10 {
            return false;
        }
        let text_len = self.text_len[i];
        if text_len == 0 {
            return false;
        }
        let density = self.link_density(i);
        let paragraphs = self.paragraphs[i];
        let list_items = self.list_items[i];
        let list_text = self.list_text[i];
        let is_list = matches!(tag, "ul" | "ol") || (list_text as f32 / text_len as f32) > 0.9;
        if is_list {
            // A list whose items are mostly links is navigation or "more stories".
            return density > 0.6 && list_items >= 2;
        }
        if list_items > paragraphs + 100 {
            return true;
        }
        // Cards of other stories: several headings that are links, little prose of their own.
        if self.linked_headings[i] >= 2 && u64::from(self.prose_len[i]) * 2 < u64::from(text_len) {
            return true;
        }
        // Article prose next to link lists (a "related" rail inside the same wrapper) keeps the
        // wrapper; the rail itself is judged on its own.
        let prose = self.prose_len[i];
        if u64::from(prose) * 10 >= u64::from(text_len) * 3 || prose >= 400 {
            return false;
        }
        if weight < 25.0 && density > 0.33 {
            return true;
        }
        weight >= 25.0 && density > 0.5
    }
}

fn has_ancestor_tag(dom: &Dom, i: usize, tags: &[&str]) -> bool {
    dom.ancestors(i)
        .take(20)
        .any(|a| tags.contains(&dom.tag(a)))
}

/// True when every link of the subtree points to one target.
fn single_target(dom: &Dom, i: usize, dead: &[bool]) -> bool {
    let mut target: Option<&str> = None;
    let mut j = i;
    let end = dom.nodes[i].end;
    while j < end {
        if dead[j] {
            j = dom.nodes[j].end;
            continue;
        }
        if dom.tag(j) == "a" {
            if let Some(href) = dom.attr(j, "href") {
                let href = href.trim();
                match target {
                    None => target = Some(href),
                    Some(t) if t == href => {}
                    Some(_) => return false,
                }
            }
        }
        j += 1;
    }
    target.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Html;

    #[test]
    fn image_boxes_are_recognised() {
        let doc = Html::parse_document(
            "<article><div class=\"inline-photo\"><a name=\"x\"></a><img src=\"a.jpg\"><br> \
             <span class=\"pb-caption\">A caption (Jane Roe/AFP)</span></div><p>text</p></article>",
        );
        let dom = Dom::new(&doc);
        let analysis = Analysis::new(&dom);
        let div = (0..dom.len()).find(|&i| dom.tag(i) == "div").unwrap();
        assert_eq!(analysis.images[div], 1);
        assert!(analysis.is_image_box(div));
    }
}
