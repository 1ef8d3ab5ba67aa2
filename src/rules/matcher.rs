//! The compiled matcher: every watchlist of a config in one structure, evaluated per article.
//!
//! Build: each distinct word or phrase becomes one Aho-Corasick pattern framed by spaces
//! (`" xi jinping "`; a wildcard drops the trailing space), each distinct regex one entry of a
//! `RegexSet`; query trees are flattened into one node arena. For each watchlist we pick a
//! *trigger set*: terms at least one of which must occur for the query to be true (the cheapest
//! child of each AND, every branch of each OR; NOT contributes nothing, which is why the parser
//! rejects queries that can match without any term).
//!
//! Per article: normalise each field once, run the automaton (overlapping, so `putin` and
//! `vladimir putin` both report), collect occurrences (term id, field, word range), look up which
//! watchlists those terms trigger, and evaluate only those. Hits and snippets are computed only
//! for watchlists that matched.
//!
//! The matcher is immutable after `new` and holds no interior mutability, so it is Send + Sync
//! and shared by reference across tasks. It does no I/O and never allocates per watchlist at
//! match time except for matches.

use aho_corasick::{AhoCorasick, MatchKind};
use regex::{Regex, RegexSet};
use std::collections::HashMap;

use super::ast::{Field, Fields, Node, TermKind};
use super::normalize::{normalize, normalize_segments, Normalized};
use super::parser::compile_regex;
use super::snippet::snippet;
use super::{Document, Hit, Match, Query};

/// Term id of atoms that are not text (`lang:`); no term has it.
const NO_TERM: u32 = u32::MAX;
/// Regex term ids during the build, before the pattern count is known. Configs have far fewer
/// than 2^31 distinct terms (the automaton could not hold them).
const PROVISIONAL_REGEX: u32 = 1 << 31;

/// A term of some watchlist, after deduplication of its text into a pattern or regex id.
#[derive(Debug)]
pub(crate) struct Atom {
    pub kind: AtomKind,
    pub fields: Fields,
    pub written: Box<str>,
}

#[derive(Debug)]
pub(crate) enum AtomKind {
    /// Occurrences are those of pattern/regex `id`; with `cased`, only those whose words have
    /// exactly this case (words joined by one space).
    Text {
        id: u32,
        cased: Option<Box<str>>,
        prefix: bool,
    },
    Lang(Box<str>),
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Compiled {
    /// `atom` indexes `Matcher::atoms`. A `plain` atom (any case, not `lang:`) is true when
    /// term `id` occurs in one of `fields`, which evaluation checks without touching the atom:
    /// with 100k watchlists, every cache line saved per candidate counts.
    Atom {
        atom: u32,
        id: u32,
        fields: Fields,
        plain: bool,
    },
    /// Children are `children[start..start + count]`.
    And {
        start: u32,
        count: u32,
    },
    Or {
        start: u32,
        count: u32,
    },
    Not(u32),
    Near {
        left: u32,
        right: u32,
        distance: u32,
        ordered: bool,
    },
}

/// One regex term, deduplicated by source.
#[derive(Debug)]
struct RegexTerm {
    /// Unanchored: finds where a whole-word match may be.
    scan: Regex,
    /// `^(?:…)$`: confirms one word.
    whole_word: Regex,
    /// Union of the fields any watchlist looks for it in.
    fields: Fields,
}

/// A watchlist to consider when term `id` occurs in one of `fields`.
#[derive(Debug, Clone, Copy)]
struct Trigger {
    watchlist: u32,
    /// Start of the watchlist's program in `Matcher::code`, so evaluating a candidate reads
    /// one short run of memory.
    program: u32,
    fields: Fields,
}

/// Opcodes of watchlist programs: postfix code over a stack of booleans. The low 8 bits of a
/// word are the opcode, the rest its operand. A program is the hot-path form of a query tree:
/// plain terms are checked inline; anything else (exact case, `lang:`, `NEAR`) calls back into
/// the tree.
const OP_END: u32 = 0;
/// `OP_TERM | fields << 8`, then the term id: push whether the term occurs in those fields.
const OP_TERM: u32 = 1;
/// `OP_NODE`, then a node index: push `evaluate(node)`.
const OP_NODE: u32 = 2;
/// `OP_AND | count << 8`: pop `count` values, push their conjunction.
const OP_AND: u32 = 3;
const OP_OR: u32 = 4;
const OP_NOT: u32 = 5;

/// All watchlists of a config, compiled. Build once per config load; share read-only.
#[derive(Debug)]
pub struct Matcher {
    automaton: Option<AhoCorasick>,
    /// Number of Aho-Corasick patterns; regex `r` has term id `pattern_count + r`.
    pattern_count: u32,
    regexes: Vec<RegexTerm>,
    regex_set: Option<RegexSet>,
    /// `triggers[trigger_offsets[id]..trigger_offsets[id + 1]]` are term `id`'s watchlists.
    trigger_offsets: Vec<u32>,
    triggers: Vec<Trigger>,
    /// Watchlists with no trigger set; always evaluated. Empty for parsed queries.
    untriggered: Vec<u32>,
    pub(crate) atoms: Vec<Atom>,
    pub(crate) nodes: Vec<Compiled>,
    children: Vec<u32>,
    pub(crate) roots: Vec<u32>,
    /// Watchlist programs (see `OP_END`), one after another; `programs[w]` is where `w`'s starts.
    code: Vec<u32>,
    programs: Vec<u32>,
    /// Text fields some term looks at; others are not normalised.
    scanned: Fields,
}

/// Where a term occurs: in `field` (a `Field::index`), words `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Occurrence {
    pub id: u32,
    pub field: u8,
    pub first: u32,
    pub last: u32,
}

/// A stretch of words where a positional sub-expression holds, for `NEAR`.
#[derive(Debug, Clone)]
pub(crate) struct Span {
    pub field: u8,
    /// Word positions (not indices), inclusive.
    pub start: u32,
    pub end: u32,
    /// The term occurrences that make it up, when asked for.
    pub witnesses: Vec<Witness>,
}

/// A term occurrence that contributed to a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Witness {
    pub atom: u32,
    pub field: Field,
    pub first: u32,
    pub last: u32,
}

/// One article, normalised and scanned.
pub(crate) struct Scan<'d> {
    originals: [&'d str; 4],
    authors: String,
    pub language: Option<String>,
    normalized: [Normalized; 5],
    /// Sorted, deduplicated.
    pub occurrences: Vec<Occurrence>,
}

impl Scan<'_> {
    pub fn original(&self, field: Field) -> &str {
        match field {
            Field::Title => self.originals[0],
            Field::Body => self.originals[1],
            Field::Url => self.originals[2],
            Field::Source => self.originals[3],
            Field::Author => &self.authors,
            Field::Lang => self.language.as_deref().unwrap_or(""),
        }
    }

    pub fn normalized(&self, field: Field) -> Option<&Normalized> {
        self.normalized.get(field.index())
    }

    /// Occurrences of term `id`, in field order then word order.
    pub fn of(&self, id: u32) -> &[Occurrence] {
        let start = self
            .occurrences
            .partition_point(|occurrence| occurrence.id < id);
        let end = self
            .occurrences
            .partition_point(|occurrence| occurrence.id <= id);
        self.occurrences.get(start..end).unwrap_or(&[])
    }

    /// Byte range of words `first..=last` of `field` in the original text.
    pub fn original_range(&self, field: Field, first: u32, last: u32) -> (usize, usize) {
        if field == Field::Lang {
            return (0, self.original(field).len());
        }
        let words = match self.normalized(field) {
            Some(normalized) => &normalized.words,
            None => return (0, 0),
        };
        match (words.get(first as usize), words.get(last as usize)) {
            (Some(first), Some(last)) => {
                (first.original_start as usize, last.original_end as usize)
            }
            _ => (0, 0),
        }
    }

    fn position(&self, field: u8, word: u32) -> u32 {
        self.normalized
            .get(field as usize)
            .and_then(|normalized| normalized.words.get(word as usize))
            .map_or(0, |word| word.position)
    }
}

fn field_of_index(index: u8) -> Field {
    Field::TEXT
        .get(index as usize)
        .copied()
        .unwrap_or(Field::Lang)
}

/// Estimated relative frequency of a term, to pick the rarest of an AND as its trigger.
/// Longer terms and phrases are rarer; wildcards commoner; a title is short.
fn cost(folded: &[String], prefix: bool, fields: Fields) -> f64 {
    let letters: usize = folded.iter().map(|word| word.chars().count()).sum();
    let mut cost = 1.0 / (1.0 + letters as f64);
    cost /= (folded.len() as f64).powi(2);
    if prefix {
        cost *= 4.0;
    }
    if fields & (Field::Body.bit() | Field::Author.bit() | Field::Url.bit()) == 0 {
        cost *= 0.3;
    }
    cost
}

/// Builds the matcher's tables.
#[derive(Default)]
struct Builder {
    patterns: Vec<String>,
    pattern_ids: HashMap<String, u32>,
    regex_sources: Vec<String>,
    regex_ids: HashMap<String, u32>,
    regex_terms: Vec<(Regex, Regex, Fields)>,
    atoms: Vec<Atom>,
    atom_costs: Vec<f64>,
    nodes: Vec<Compiled>,
    children: Vec<u32>,
    scanned: Fields,
    /// How many atoms name each term id (filled once all watchlists are compiled).
    references: Vec<u32>,
}

fn kind_of_last(atoms: &[Atom]) -> Option<&AtomKind> {
    atoms.last().map(|atom| &atom.kind)
}

impl Builder {
    fn compile(&mut self, node: &Node) -> u32 {
        let compiled = match node {
            Node::Term(term) => {
                let (kind, estimate) = match &term.kind {
                    TermKind::Words {
                        folded,
                        cased,
                        prefix,
                    } => {
                        let mut pattern = String::with_capacity(32);
                        for word in folded {
                            pattern.push(' ');
                            pattern.push_str(word);
                        }
                        if !prefix {
                            pattern.push(' ');
                        }
                        let next = self.patterns.len() as u32;
                        let id = *self.pattern_ids.entry(pattern.clone()).or_insert(next);
                        if id == next {
                            self.patterns.push(pattern);
                        }
                        self.scanned |= term.fields;
                        (
                            AtomKind::Text {
                                id,
                                cased: cased.as_ref().map(|words| words.join(" ").into()),
                                prefix: *prefix,
                            },
                            cost(folded, *prefix, term.fields),
                        )
                    }
                    TermKind::Regex { source, whole_word } => {
                        let next = self.regex_sources.len() as u32;
                        let index = *self.regex_ids.entry(source.clone()).or_insert(next);
                        if index == next {
                            // The parser compiled this very source already, so it compiles again;
                            // if not, a never-matching regex keeps the matcher infallible.
                            let scan =
                                compile_regex(source, 0).unwrap_or_else(|_| whole_word.clone());
                            self.regex_sources.push(source.clone());
                            self.regex_terms.push((scan, whole_word.clone(), 0));
                        }
                        if let Some(entry) = self.regex_terms.get_mut(index as usize) {
                            entry.2 |= term.fields;
                        }
                        self.scanned |= term.fields;
                        // Regexes are usually broad; prefer another term of an AND as trigger.
                        (
                            AtomKind::Text {
                                id: PROVISIONAL_REGEX + index,
                                cased: None,
                                prefix: false,
                            },
                            0.5,
                        )
                    }
                    TermKind::Lang(code) => (AtomKind::Lang(code.as_str().into()), f64::INFINITY),
                };
                self.atoms.push(Atom {
                    kind,
                    fields: term.fields,
                    written: term.written.as_str().into(),
                });
                self.atom_costs.push(estimate);
                let (id, plain) = match &kind_of_last(&self.atoms) {
                    Some(AtomKind::Text { id, cased, .. }) => (*id, cased.is_none()),
                    _ => (NO_TERM, false),
                };
                Compiled::Atom {
                    atom: self.atoms.len() as u32 - 1,
                    id,
                    fields: term.fields,
                    plain,
                }
            }
            Node::And(items) | Node::Or(items) => {
                let compiled: Vec<u32> = items.iter().map(|item| self.compile(item)).collect();
                let start = self.children.len() as u32;
                self.children.extend(&compiled);
                let count = compiled.len() as u32;
                if matches!(node, Node::And(_)) {
                    Compiled::And { start, count }
                } else {
                    Compiled::Or { start, count }
                }
            }
            Node::Not(inner) => Compiled::Not(self.compile(inner)),
            Node::Near(near) => Compiled::Near {
                left: self.compile(&near.left),
                right: self.compile(&near.right),
                distance: near.distance,
                ordered: near.ordered,
            },
        };
        self.nodes.push(compiled);
        self.nodes.len() as u32 - 1
    }

    /// Appends the postfix program of `node` (see `OP_END`).
    fn emit(&self, node: u32, code: &mut Vec<u32>) {
        match self.nodes.get(node as usize) {
            Some(&Compiled::Atom {
                id,
                fields,
                plain: true,
                ..
            }) => {
                code.push(OP_TERM | u32::from(fields) << 8);
                code.push(id);
            }
            Some(&Compiled::And { start, count }) | Some(&Compiled::Or { start, count }) => {
                for &child in self.children_of(start, count) {
                    self.emit(child, code);
                }
                let is_and = matches!(self.nodes.get(node as usize), Some(Compiled::And { .. }));
                code.push(if is_and { OP_AND } else { OP_OR } | count << 8);
            }
            Some(&Compiled::Not(inner)) => {
                self.emit(inner, code);
                code.push(OP_NOT);
            }
            _ => {
                code.push(OP_NODE);
                code.push(node);
            }
        }
    }

    fn children_of(&self, start: u32, count: u32) -> &[u32] {
        self.children
            .get(start as usize..(start + count) as usize)
            .unwrap_or(&[])
    }

    /// A set of atoms one of which must be true for `node` to be true, and its total cost;
    /// `None` when there is none (NOT, lang:).
    fn trigger_set(&self, node: u32) -> Option<(f64, Vec<u32>)> {
        match *self.nodes.get(node as usize)? {
            Compiled::Atom { atom, id, .. } => {
                // A term many watchlists name is a popular subject, likely common in articles.
                let popularity = self.references.get(id as usize).copied().unwrap_or(0);
                let estimate =
                    *self.atom_costs.get(atom as usize)? * (1.0 + f64::from(popularity)).sqrt();
                estimate.is_finite().then(|| (estimate, vec![atom]))
            }
            Compiled::Not(_) => None,
            Compiled::And { start, count } => self
                .children_of(start, count)
                .iter()
                .filter_map(|&child| self.trigger_set(child))
                .min_by(|a, b| a.0.total_cmp(&b.0)),
            Compiled::Or { start, count } => {
                let mut total = 0.0;
                let mut atoms = Vec::new();
                for &child in self.children_of(start, count) {
                    let (estimate, more) = self.trigger_set(child)?;
                    total += estimate;
                    atoms.extend(more);
                }
                Some((total, atoms))
            }
            Compiled::Near { left, right, .. } => {
                match (self.trigger_set(left), self.trigger_set(right)) {
                    (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
                    (a, b) => a.or(b),
                }
            }
        }
    }
}

impl Matcher {
    /// Compiles the watchlists; each is identified by its index in `queries`.
    pub fn new(queries: Vec<Query>) -> Matcher {
        let mut builder = Builder::default();
        let mut roots = Vec::with_capacity(queries.len());
        for query in &queries {
            roots.push(builder.compile(&query.root));
        }
        let pattern_count = builder.patterns.len() as u32;
        // Regex atoms got provisional ids while the pattern count was unknown; renumber them to
        // follow the patterns.
        let renumber = |id: &mut u32| {
            if *id != NO_TERM && *id >= PROVISIONAL_REGEX {
                *id = pattern_count + (*id - PROVISIONAL_REGEX);
            }
        };
        for atom in &mut builder.atoms {
            if let AtomKind::Text { id, .. } = &mut atom.kind {
                renumber(id);
            }
        }
        for node in &mut builder.nodes {
            if let Compiled::Atom { id, .. } = node {
                renumber(id);
            }
        }
        let term_count = pattern_count as usize + builder.regex_sources.len();
        builder.references = vec![0; term_count];
        for node in &builder.nodes {
            if let Compiled::Atom { id, .. } = node {
                if let Some(count) = builder.references.get_mut(*id as usize) {
                    *count += 1;
                }
            }
        }

        let mut code = Vec::with_capacity(builder.nodes.len() * 2);
        let mut programs = Vec::with_capacity(roots.len());
        for &root in &roots {
            programs.push(code.len() as u32);
            builder.emit(root, &mut code);
            code.push(OP_END);
        }

        let mut entries: Vec<(u32, u32, Fields)> = Vec::new();
        let mut untriggered = Vec::new();
        for (watchlist, &root) in roots.iter().enumerate() {
            match builder.trigger_set(root) {
                Some((_, atoms)) => {
                    for atom in atoms {
                        if let Some(Atom {
                            kind: AtomKind::Text { id, .. },
                            fields,
                            ..
                        }) = builder.atoms.get(atom as usize)
                        {
                            entries.push((*id, watchlist as u32, *fields));
                        }
                    }
                }
                None => untriggered.push(watchlist as u32),
            }
        }
        entries.sort_unstable_by_key(|&(id, watchlist, _)| (id, watchlist));
        let mut trigger_offsets = Vec::with_capacity(term_count + 1);
        let mut triggers: Vec<Trigger> = Vec::with_capacity(entries.len());
        let mut cursor = 0;
        for id in 0..term_count as u32 {
            trigger_offsets.push(triggers.len() as u32);
            let mut previous: Option<u32> = None;
            while let Some(&(entry_id, watchlist, fields)) = entries.get(cursor) {
                if entry_id != id {
                    break;
                }
                cursor += 1;
                match (previous, triggers.last_mut()) {
                    (Some(last), Some(trigger)) if last == watchlist => trigger.fields |= fields,
                    _ => triggers.push(Trigger {
                        watchlist,
                        program: programs.get(watchlist as usize).copied().unwrap_or(0),
                        fields,
                    }),
                }
                previous = Some(watchlist);
            }
        }
        trigger_offsets.push(triggers.len() as u32);

        // Building fails only past the automaton's size limits (billions of states), far beyond
        // any config; without an automaton, word terms simply never occur.
        let automaton = if builder.patterns.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&builder.patterns)
                .ok()
        };
        let regex_set = if builder.regex_sources.is_empty() {
            None
        } else {
            regex::RegexSetBuilder::new(&builder.regex_sources)
                .case_insensitive(true)
                .build()
                .ok()
        };
        let regexes = builder
            .regex_terms
            .into_iter()
            .map(|(scan, whole_word, fields)| RegexTerm {
                scan,
                whole_word,
                fields,
            })
            .collect();

        Matcher {
            automaton,
            pattern_count,
            regexes,
            regex_set,
            trigger_offsets,
            triggers,
            untriggered,
            atoms: builder.atoms,
            nodes: builder.nodes,
            children: builder.children,
            roots,
            code,
            programs,
            scanned: builder.scanned,
        }
    }

    /// Number of watchlists.
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// Every watchlist that matches, ascending by index.
    pub fn matches(&self, document: &Document) -> Vec<Match> {
        self.matches_among(document, &|_| true)
    }

    /// Only among the watchlists for which `watchlists(index)` is true.
    pub fn matches_among(
        &self,
        document: &Document,
        watchlists: &dyn Fn(usize) -> bool,
    ) -> Vec<Match> {
        let scan = self.scan(document);
        let candidates = self.candidates(&scan);
        let mut found = Vec::new();
        // Popular terms are hits of many watchlists: build each snippet once per article.
        let mut snippets = HashMap::new();
        let mut stack = Vec::with_capacity(16);
        for (watchlist, program) in candidates {
            if !watchlists(watchlist as usize) || !self.run(program, &scan, &mut stack) {
                continue;
            }
            if let Some(&root) = self.roots.get(watchlist as usize) {
                found.push(Match {
                    watchlist: watchlist as usize,
                    hits: self.hits(root, &scan, &mut snippets),
                });
            }
        }
        found
    }

    /// Normalises the document's fields and finds every term occurrence.
    pub(crate) fn scan<'d>(&self, document: &Document<'d>) -> Scan<'d> {
        let mut authors = String::new();
        let mut segments = Vec::with_capacity(document.authors.len());
        for author in document.authors {
            if !authors.is_empty() {
                authors.push_str(", ");
            }
            let start = authors.len();
            authors.push_str(author);
            segments.push((start, authors.len()));
        }
        let mut scan = Scan {
            originals: [document.title, document.body, document.url, document.source],
            authors,
            language: document
                .language
                .map(|language| language.to_lowercase().replace('_', "-")),
            normalized: Default::default(),
            occurrences: Vec::new(),
        };
        for field in Field::TEXT {
            if self.scanned & field.bit() == 0 {
                continue;
            }
            let normalized = if field == Field::Author {
                normalize_segments(&scan.authors, &segments, true)
            } else {
                normalize(scan.original(field), true)
            };
            self.find(&normalized, field, &mut scan.occurrences);
            if let Some(slot) = scan.normalized.get_mut(field.index()) {
                *slot = normalized;
            }
        }
        scan.occurrences.sort_unstable();
        scan.occurrences.dedup();
        scan
    }

    /// Appends the occurrences of every term in one normalised field.
    fn find(&self, normalized: &Normalized, field: Field, out: &mut Vec<Occurrence>) {
        let canon = normalized.canon.as_str();
        let field_index = field.index() as u8;
        if let Some(automaton) = &self.automaton {
            for found in automaton.find_overlapping_iter(canon) {
                // Patterns start with the space before their first word, and end with the space
                // after their last word (or inside the last word for a wildcard): two bytes
                // before the end is always inside the last word, or on the space before it.
                let first = normalized.word_at(found.start() + 1) as u32;
                let last = normalized.word_at(found.end().saturating_sub(2)) as u32;
                out.push(Occurrence {
                    id: found.pattern().as_u32(),
                    field: field_index,
                    first,
                    last: last.max(first),
                });
            }
        }
        if let Some(set) = &self.regex_set {
            for index in set.matches(canon).iter() {
                let Some(term) = self.regexes.get(index) else {
                    continue;
                };
                if term.fields & field.bit() == 0 {
                    continue;
                }
                // A word the regex matches whole overlaps some leftmost match of the unanchored
                // regex (the scan can only skip a position by consuming it), so checking the
                // words under each match finds them all.
                for found in term.scan.find_iter(canon) {
                    let first = normalized.word_at(found.start());
                    let last = normalized.word_at(found.end().max(found.start() + 1) - 1);
                    for word in first..=last.min(normalized.words.len().saturating_sub(1)) {
                        if word < normalized.words.len()
                            && term.whole_word.is_match(normalized.word(word))
                        {
                            out.push(Occurrence {
                                id: self.pattern_count + index as u32,
                                field: field_index,
                                first: word as u32,
                                last: word as u32,
                            });
                        }
                    }
                }
            }
        }
    }

    /// Runs the program at `start`: whether its watchlist matches.
    fn run(&self, start: u32, scan: &Scan, stack: &mut Vec<bool>) -> bool {
        stack.clear();
        let mut pc = start as usize;
        loop {
            let Some(&word) = self.code.get(pc) else {
                return false;
            };
            let operand = word >> 8;
            match word & 0xFF {
                OP_END => return stack.pop().unwrap_or(false),
                OP_TERM => {
                    let id = self.code.get(pc + 1).copied().unwrap_or(NO_TERM);
                    let fields = operand as Fields;
                    stack.push(
                        scan.of(id)
                            .iter()
                            .any(|occurrence| fields & (1 << occurrence.field) != 0),
                    );
                    pc += 2;
                }
                OP_NODE => {
                    let node = self.code.get(pc + 1).copied().unwrap_or(u32::MAX);
                    stack.push(self.evaluate(node, scan));
                    pc += 2;
                }
                OP_AND | OP_OR => {
                    let keep = stack.len().saturating_sub(operand as usize);
                    let values = stack.get(keep..).unwrap_or(&[]);
                    let value = if word & 0xFF == OP_AND {
                        values.iter().all(|&value| value)
                    } else {
                        values.iter().any(|&value| value)
                    };
                    stack.truncate(keep);
                    stack.push(value);
                    pc += 1;
                }
                OP_NOT => {
                    let value = stack.pop().unwrap_or(true);
                    stack.push(!value);
                    pc += 1;
                }
                _ => return false,
            }
        }
    }

    /// Watchlists one of whose trigger terms occurs, ascending, with their programs.
    fn candidates(&self, scan: &Scan) -> Vec<(u32, u32)> {
        let mut candidates: Vec<(u32, u32)> = self
            .untriggered
            .iter()
            .map(|&watchlist| {
                let program = self.programs.get(watchlist as usize).copied().unwrap_or(0);
                (watchlist, program)
            })
            .collect();
        let mut index = 0;
        let occurrences = &scan.occurrences;
        while let Some(occurrence) = occurrences.get(index) {
            let id = occurrence.id;
            let mut fields: Fields = 0;
            while let Some(next) = occurrences.get(index) {
                if next.id != id {
                    break;
                }
                fields |= 1 << next.field;
                index += 1;
            }
            let from = self.trigger_offsets.get(id as usize).copied().unwrap_or(0);
            let to = self
                .trigger_offsets
                .get(id as usize + 1)
                .copied()
                .unwrap_or(from);
            for trigger in self.triggers.get(from as usize..to as usize).unwrap_or(&[]) {
                if trigger.fields & fields != 0 {
                    candidates.push((trigger.watchlist, trigger.program));
                }
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        candidates
    }

    pub(crate) fn children(&self, start: u32, count: u32) -> &[u32] {
        self.children
            .get(start as usize..(start + count) as usize)
            .unwrap_or(&[])
    }

    /// Whether the occurrence of a cased atom has the case the query asks for.
    fn case_matches(scan: &Scan, occurrence: &Occurrence, cased: &str, prefix: bool) -> bool {
        let field = field_of_index(occurrence.field);
        let (start, end) = scan.original_range(field, occurrence.first, occurrence.last);
        let text = scan.original(field).get(start..end).unwrap_or("");
        let normalized = normalize(text, false);
        let found = normalized.canon.trim_matches(' ');
        if prefix {
            found.starts_with(cased)
        } else {
            found == cased
        }
    }

    /// The occurrences of a text atom that count (right field, right case).
    pub(crate) fn atom_occurrences<'s>(
        &'s self,
        atom: &'s Atom,
        scan: &'s Scan,
    ) -> impl Iterator<Item = &'s Occurrence> + 's {
        let (id, cased, prefix) = match &atom.kind {
            AtomKind::Text { id, cased, prefix } => (*id, cased.as_deref(), *prefix),
            AtomKind::Lang(_) => (NO_TERM, None, false),
        };
        scan.of(id).iter().filter(move |occurrence| {
            atom.fields & (1 << occurrence.field) != 0
                && cased.is_none_or(|cased| Self::case_matches(scan, occurrence, cased, prefix))
        })
    }

    pub(crate) fn atom_true(&self, atom: &Atom, scan: &Scan) -> bool {
        match &atom.kind {
            AtomKind::Lang(code) => scan.language.as_deref().is_some_and(|language| {
                language == code.as_ref()
                    || (language.starts_with(code.as_ref())
                        && language.as_bytes().get(code.len()) == Some(&b'-'))
            }),
            AtomKind::Text { .. } => self.atom_occurrences(atom, scan).next().is_some(),
        }
    }

    /// Whether node `node` is true for the scanned article.
    pub(crate) fn evaluate(&self, node: u32, scan: &Scan) -> bool {
        match self.nodes.get(node as usize) {
            Some(&Compiled::Atom {
                atom,
                id,
                fields,
                plain,
            }) => {
                if plain {
                    scan.of(id)
                        .iter()
                        .any(|occurrence| fields & (1 << occurrence.field) != 0)
                } else {
                    self.atoms
                        .get(atom as usize)
                        .is_some_and(|atom| self.atom_true(atom, scan))
                }
            }
            Some(Compiled::And { start, count }) => self
                .children(*start, *count)
                .iter()
                .all(|&child| self.evaluate(child, scan)),
            Some(Compiled::Or { start, count }) => self
                .children(*start, *count)
                .iter()
                .any(|&child| self.evaluate(child, scan)),
            Some(Compiled::Not(inner)) => !self.evaluate(*inner, scan),
            Some(Compiled::Near { .. }) => {
                let mut spans = Vec::new();
                self.spans(node, scan, false, true, &mut spans);
                !spans.is_empty()
            }
            None => false,
        }
    }

    /// Appends the spans where positional node `node` holds.
    /// With `first_only`, stops at the first span of a `NEAR` (enough to know it holds).
    pub(crate) fn spans(
        &self,
        node: u32,
        scan: &Scan,
        witness: bool,
        first_only: bool,
        out: &mut Vec<Span>,
    ) {
        match self.nodes.get(node as usize) {
            Some(Compiled::Atom { atom: index, .. }) => {
                let Some(atom) = self.atoms.get(*index as usize) else {
                    return;
                };
                for occurrence in self.atom_occurrences(atom, scan) {
                    out.push(Span {
                        field: occurrence.field,
                        start: scan.position(occurrence.field, occurrence.first),
                        end: scan.position(occurrence.field, occurrence.last),
                        witnesses: if witness {
                            vec![Witness {
                                atom: *index,
                                field: field_of_index(occurrence.field),
                                first: occurrence.first,
                                last: occurrence.last,
                            }]
                        } else {
                            Vec::new()
                        },
                    });
                }
            }
            Some(Compiled::Or { start, count }) => {
                for &child in self.children(*start, *count) {
                    self.spans(child, scan, witness, false, out);
                }
            }
            Some(&Compiled::Near {
                left,
                right,
                distance,
                ordered,
            }) => {
                let mut lefts = Vec::new();
                let mut rights = Vec::new();
                self.spans(left, scan, witness, false, &mut lefts);
                if lefts.is_empty() {
                    return;
                }
                self.spans(right, scan, witness, false, &mut rights);
                // Sorted by place, the right spans near a left one are a short run found by
                // binary search, instead of every pair (a popular name times a popular topic).
                rights.sort_unstable_by_key(|span| (span.field, span.start));
                let longest = rights
                    .iter()
                    .map(|span| span.end - span.start)
                    .max()
                    .unwrap_or(0);
                let reach = distance.saturating_add(1);
                for a in &lefts {
                    let lowest = a.start.saturating_sub(reach.saturating_add(longest));
                    let highest = a.end.saturating_add(reach);
                    let from = rights.partition_point(|b| (b.field, b.start) < (a.field, lowest));
                    for b in rights.get(from..).unwrap_or(&[]) {
                        if b.field != a.field || b.start > highest {
                            break;
                        }
                        let gap = if a.end < b.start {
                            b.start - a.end - 1
                        } else if b.end < a.start && !ordered {
                            a.start - b.end - 1
                        } else {
                            continue;
                        };
                        if gap <= distance {
                            out.push(Span {
                                field: a.field,
                                start: a.start.min(b.start),
                                end: a.end.max(b.end),
                                witnesses: if witness {
                                    a.witnesses.iter().chain(&b.witnesses).copied().collect()
                                } else {
                                    Vec::new()
                                },
                            });
                            if first_only {
                                return;
                            }
                        }
                    }
                }
            }
            // The parser only lets positional nodes under NEAR.
            _ => {}
        }
    }

    /// The term occurrences that make true node `node` true.
    pub(crate) fn witnesses(&self, node: u32, scan: &Scan, out: &mut Vec<Witness>) {
        match self.nodes.get(node as usize) {
            Some(Compiled::Atom { atom: index, .. }) => {
                let Some(atom) = self.atoms.get(*index as usize) else {
                    return;
                };
                match atom.kind {
                    AtomKind::Lang(_) => {
                        if self.atom_true(atom, scan) {
                            out.push(Witness {
                                atom: *index,
                                field: Field::Lang,
                                first: 0,
                                last: 0,
                            });
                        }
                    }
                    AtomKind::Text { .. } => {
                        // Occurrences are in field order, then word order: the first per field
                        // is the earliest.
                        let mut seen: Fields = 0;
                        for occurrence in self.atom_occurrences(atom, scan) {
                            if seen & (1 << occurrence.field) == 0 {
                                seen |= 1 << occurrence.field;
                                out.push(Witness {
                                    atom: *index,
                                    field: field_of_index(occurrence.field),
                                    first: occurrence.first,
                                    last: occurrence.last,
                                });
                            }
                        }
                    }
                }
            }
            Some(Compiled::And { start, count }) | Some(Compiled::Or { start, count }) => {
                for &child in self.children(*start, *count) {
                    if self.evaluate(child, scan) {
                        self.witnesses(child, scan, out);
                    }
                }
            }
            Some(Compiled::Not(_)) | None => {}
            Some(Compiled::Near { .. }) => {
                let mut spans = Vec::new();
                self.spans(node, scan, true, false, &mut spans);
                if let Some(first) = spans.iter().min_by_key(|span| (span.field, span.start)) {
                    out.extend(first.witnesses.iter().copied());
                }
            }
        }
    }

    /// Hits for a watchlist whose root is true: one per distinct (term, field), earliest first.
    fn hits(
        &self,
        root: u32,
        scan: &Scan,
        snippets: &mut HashMap<(usize, usize, usize), String>,
    ) -> Vec<Hit> {
        let mut witnesses = Vec::new();
        self.witnesses(root, scan, &mut witnesses);
        let mut hits: Vec<Hit> = Vec::with_capacity(witnesses.len());
        for witness in witnesses {
            let Some(atom) = self.atoms.get(witness.atom as usize) else {
                continue;
            };
            let (start, end) = scan.original_range(witness.field, witness.first, witness.last);
            if let Some(existing) = hits
                .iter_mut()
                .find(|hit| hit.field == witness.field && *hit.term == *atom.written)
            {
                if start < existing.start {
                    existing.start = start;
                    existing.end = end;
                }
                continue;
            }
            hits.push(Hit {
                term: atom.written.to_string(),
                field: witness.field,
                start,
                end,
                snippet: String::new(),
            });
        }
        hits.sort_by_key(|hit| (hit.field.index(), hit.start, hit.end));
        for hit in &mut hits {
            hit.snippet = snippets
                .entry((hit.field.index(), hit.start, hit.end))
                .or_insert_with(|| snippet(scan.original(hit.field), hit.start, hit.end))
                .clone();
        }
        hits
    }
}
