//! Main-content detection: which part of the page is the article body.
//!
//! The approach is Readability's, reworked for a flat pre-order DOM: boilerplate is pruned by tag,
//! visibility and class/id hints; every paragraph-like element adds a score to its ancestors (more
//! for longer text and more commas); scores are weighted by class/id hints and discounted by link
//! density; the best candidate, its better-scoring ancestor and its strong siblings form the body.
//! No site-specific rules: every signal is a property any article page has.

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
                    r"(?i)(?:^|\s)(?:hidden|hide|is-hidden|sr-only|visually-hidden|visuallyhidden|screen-reader-text|screenreader-only|u-hidden|d-none|invisible)(?:\s|$)",
                )
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
    /// Text of prose paragraphs (`<p>` of 80+ chars, few links) in the subtree.
    pub prose_len: Vec<u32>,
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
                let role = e.attr("role").unwrap_or("").to_ascii_lowercase();
                let hidden = e.attr("hidden").is_some()
                    || e.attr("aria-hidden") == Some("true")
                    || e.attr("style").is_some_and(|s| p.hidden_style.is_match(s))
                    || e.attr("class").is_some_and(|c| p.hidden_class.is_match(c));
                if REMOVED_TAGS.contains(&tag) || hidden || REMOVED_ROLES.contains(&role.as_str()) {
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
        // Pass 2: unlikely candidates by class/id; related boxes survive as such.
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
            let class_id = dom.class_id(i);
            if class_id.is_empty() {
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
            if p.unlikely.is_match(&class_id)
                && !p.maybe.is_match(&class_id)
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
        for i in (0..n).rev() {
            if self.dead[i] {
                continue;
            }
            if let Kind::Text(t) = dom.nodes[i].kind {
                let (len, commas) = count_text(t);
                self.text_len[i] = len;
                self.commas[i] = commas;
            }
            match dom.tag(i) {
                "a" => self.link_len[i] = self.text_len[i],
                "p" | "pre" | "blockquote"
                    if self.text_len[i] >= 80 && self.link_len[i] * 4 < self.text_len[i] =>
                {
                    self.prose_len[i] = self.text_len[i];
                }
                _ => {}
            }
            let parent = dom.nodes[i].parent;
            if parent != super::dom::NO_PARENT {
                self.prose_len[parent] += self.prose_len[i];
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
            if p.negative.is_match(value) {
                weight -= 25.0;
            }
            if p.positive.is_match(value) {
                weight += 25.0;
            }
        }
        weight
    }

    /// Chooses the body: the top-scoring candidate plus qualifying siblings, in page order.
    pub fn main_content(&self) -> Vec<usize> {
        let dom = self.dom;
        let n = dom.len();
        let mut score = vec![0f32; n];
        let mut is_candidate = vec![false; n];
        let mut candidates: Vec<usize> = Vec::new();
        let mut i = 0;
        while i < n {
            if self.dead[i] || self.related[i] {
                i = dom.nodes[i].end;
                continue;
            }
            let tag = dom.tag(i);
            // Paragraph units: (first ancestor to credit, text length, commas).
            let mut units: Vec<(usize, u32, u32)> = Vec::new();
            match tag {
                "p" | "pre" | "td" => {
                    let parent = dom.nodes[i].parent;
                    if parent != super::dom::NO_PARENT {
                        units.push((parent, self.text_len[i], self.commas[i]));
                    }
                }
                "div" | "section" | "article" | "main" | "font" | "center" => {
                    // Loose text in a container forms paragraphs of its own, split at `<br>`s and
                    // block children (Readability wraps such runs into `<p>`s).
                    let (mut run_len, mut run_commas) = (0u32, 0u32);
                    for c in dom.children(i) {
                        let inline = matches!(dom.nodes[c].kind, Kind::Text(_))
                            || matches!(
                                dom.tag(c),
                                "a" | "b"
                                    | "strong"
                                    | "em"
                                    | "i"
                                    | "span"
                                    | "font"
                                    | "u"
                                    | "small"
                                    | "sup"
                                    | "sub"
                                    | "abbr"
                                    | "cite"
                                    | "q"
                                    | "mark"
                            );
                        if inline && !self.dead[c] {
                            run_len += self.text_len[c];
                            run_commas += self.commas[c];
                        } else if !matches!(dom.nodes[c].kind, Kind::Other) {
                            units.push((i, run_len, run_commas));
                            run_len = 0;
                            run_commas = 0;
                        }
                    }
                    units.push((i, run_len, run_commas));
                }
                _ => {}
            }
            for (first, len, commas) in units {
                if len < 25 {
                    continue;
                }
                let content_score = 1.0 + commas as f32 + (len as f32 / 100.0).floor().min(3.0);
                let chain = std::iter::once(first).chain(dom.ancestors(first));
                for (level, ancestor) in chain.take(5).enumerate() {
                    if dom.tag(ancestor).is_empty() {
                        break;
                    }
                    if !is_candidate[ancestor] {
                        is_candidate[ancestor] = true;
                        score[ancestor] = self.initial_score(ancestor);
                        candidates.push(ancestor);
                    }
                    let divider = match level {
                        0 => 1.0,
                        1 => 2.0,
                        l => l as f32 * 3.0,
                    };
                    score[ancestor] += content_score / divider;
                }
            }
            i += 1;
        }
        for &c in &candidates {
            score[c] *= 1.0 - self.link_density(c);
        }
        let body = (0..n).find(|&i| dom.tag(i) == "body").unwrap_or(0);
        let Some(&top) = candidates
            .iter()
            .filter(|&&c| !matches!(dom.tag(c), "html" | "body"))
            .max_by(|&&a, &&b| score[a].total_cmp(&score[b]))
        else {
            return vec![body];
        };
        let mut top = top;

        // Several near-top candidates under one ancestor: the ancestor is the article.
        let top_score = score[top];
        let alternatives: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&c| c != top && score[c] >= top_score * 0.75)
            .collect();
        if alternatives.len() >= 3 {
            for ancestor in dom.ancestors(top) {
                if matches!(dom.tag(ancestor), "body" | "html" | "") {
                    break;
                }
                let containing = alternatives
                    .iter()
                    .filter(|&&alt| dom.ancestors(alt).any(|a| a == ancestor))
                    .count();
                if containing >= 3 {
                    top = ancestor;
                    break;
                }
            }
        }

        // Climb while the parent scores close to the candidate (the text is split over children).
        let mut last_score = score[top];
        let threshold = last_score / 3.0;
        let mut parent = dom.nodes[top].parent;
        while parent != super::dom::NO_PARENT && !matches!(dom.tag(parent), "body" | "html" | "") {
            if !is_candidate[parent] {
                parent = dom.nodes[parent].parent;
                continue;
            }
            let parent_score = score[parent];
            if parent_score < threshold {
                break;
            }
            if parent_score > last_score {
                top = parent;
                break;
            }
            last_score = parent_score;
            parent = dom.nodes[parent].parent;
        }
        // An only child says nothing more than its parent.
        loop {
            let parent = dom.nodes[top].parent;
            if parent == super::dom::NO_PARENT || matches!(dom.tag(parent), "body" | "html" | "") {
                break;
            }
            let element_children = dom
                .children(parent)
                .filter(|&c| !dom.tag(c).is_empty() && !self.dead[c])
                .count();
            if element_children != 1 {
                break;
            }
            top = parent;
        }

        // Siblings that score well, or read like prose, belong to the article too.
        let parent = dom.nodes[top].parent;
        if parent == super::dom::NO_PARENT {
            return vec![top];
        }
        let top_score = if is_candidate[top] { score[top] } else { 0.0 };
        let threshold = (top_score * 0.2).max(10.0);
        let top_class = dom.attr(top, "class").unwrap_or("");
        let mut selected = Vec::new();
        for sibling in dom.children(parent) {
            if self.dead[sibling] {
                continue;
            }
            if sibling == top {
                selected.push(sibling);
                continue;
            }
            if self.related[sibling] {
                selected.push(sibling);
                continue;
            }
            if dom.tag(sibling).is_empty() {
                continue;
            }
            let mut bonus = 0.0;
            if !top_class.is_empty() && dom.attr(sibling, "class") == Some(top_class) {
                bonus += top_score * 0.2;
            }
            if is_candidate[sibling] && score[sibling] + bonus >= threshold {
                selected.push(sibling);
                continue;
            }
            if dom.tag(sibling) == "p" {
                let len = self.text_len[sibling];
                let density = self.link_density(sibling);
                let text = dom.text(sibling, &self.dead);
                if (len > 80 && density < 0.25)
                    || (len > 0 && len <= 80 && density == 0.0 && ends_sentence(&text))
                {
                    selected.push(sibling);
                }
            }
        }
        selected
    }

    fn initial_score(&self, i: usize) -> f32 {
        let tag_score = match self.dom.tag(i) {
            "div" | "article" | "main" | "section" => 5.0,
            "pre" | "td" | "blockquote" => 3.0,
            "address" | "ol" | "ul" | "dl" | "dd" | "dt" | "li" | "form" => -3.0,
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "th" => -5.0,
            _ => 0.0,
        };
        tag_score + self.class_weight(i)
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
        let weight = self.class_weight(i);
        if weight < 0.0 {
            return true;
        }
        if self.commas[i] >= 10 {
            return false;
        }
        let text_len = self.text_len[i];
        if text_len == 0 {
            return false;
        }
        let density = self.link_density(i);
        let mut paragraphs = 0u32;
        let mut list_items = 0u32;
        let mut inputs = 0u32;
        let mut list_text = 0u32;
        let mut j = i + 1;
        let end = dom.nodes[i].end;
        while j < end {
            if self.dead[j] {
                j = dom.nodes[j].end;
                continue;
            }
            match dom.tag(j) {
                "p" => paragraphs += 1,
                "li" => {
                    list_items += 1;
                }
                "ul" | "ol" => list_text += self.text_len[j],
                "input" | "select" | "textarea" => inputs += 1,
                _ => {}
            }
            j += 1;
        }
        let is_list = matches!(tag, "ul" | "ol") || (list_text as f32 / text_len as f32) > 0.9;
        if is_list {
            // A list whose items are mostly links is navigation or "more stories".
            return density > 0.6 && list_items >= 2;
        }
        if inputs > paragraphs / 3 {
            return true;
        }
        if list_items > paragraphs + 100 {
            return true;
        }
        // Article prose next to link lists (a "related" rail inside the same wrapper) keeps the
        // wrapper; the rail itself is judged on its own.
        let prose = self.prose_len[i];
        if prose * 10 >= text_len * 3 || prose >= 400 {
            return false;
        }
        if weight < 25.0 && density > 0.33 {
            return true;
        }
        weight >= 25.0 && density > 0.5
    }
}

fn ends_sentence(text: &str) -> bool {
    let t = text.trim_end();
    t.ends_with('.') || t.ends_with('。') || t.ends_with('!') || t.ends_with('?')
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
