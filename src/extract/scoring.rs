//! Main-content scoring: which subtree of the page is the article body.
//!
//! Readability's algorithm over the flat DOM: every paragraph-like unit (a `<p>`, or a run of loose
//! text in a container) adds a score to its nearest five ancestors — more for longer text and more
//! commas, halving with distance. Candidates start from a tag and class/id weight and are
//! discounted by their link density. The best candidate is then widened to an ancestor when the
//! text is split across siblings, and siblings that score well or read like prose join it.

use super::content::Analysis;
use super::dom::{Kind, NO_PARENT};

impl Analysis<'_, '_> {
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
                    if parent != NO_PARENT {
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
                // Pre-order: a node's subtree is the index range `node + 1..end`.
                let end = dom.nodes[ancestor].end;
                let containing = alternatives
                    .iter()
                    .filter(|&&alt| alt > ancestor && alt < end)
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
        while parent != NO_PARENT && !matches!(dom.tag(parent), "body" | "html" | "") {
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
            if parent == NO_PARENT || matches!(dom.tag(parent), "body" | "html" | "") {
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
        if parent == NO_PARENT {
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

    pub(super) fn initial_score(&self, i: usize) -> f32 {
        let tag_score = match self.dom.tag(i) {
            "div" | "article" | "main" | "section" => 5.0,
            "pre" | "td" | "blockquote" => 3.0,
            "address" | "ol" | "ul" | "dl" | "dd" | "dt" | "li" | "form" => -3.0,
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "th" => -5.0,
            _ => 0.0,
        };
        tag_score + self.class_weight(i)
    }
}

fn ends_sentence(text: &str) -> bool {
    let t = text.trim_end();
    t.ends_with('.') || t.ends_with('。') || t.ends_with('!') || t.ends_with('?')
}
