//! The compiled matcher: every watchlist of a config in one structure, evaluated per article.
//!
//! Build (`compile`): each distinct word or phrase becomes one Aho-Corasick pattern framed by
//! spaces (`" xi jinping "`; a wildcard drops the trailing space), each distinct regex one entry
//! of a `RegexSet`; query trees go into one node arena. For each watchlist we pick a *trigger
//! set*: terms at least one of which must occur for the query to be true (the likely rarest
//! operand of each AND, every branch of each OR; NOT contributes nothing, which is why the parser
//! rejects queries that can match without any term). Each trigger term keeps, inline, the
//! watchlists it triggers with their queries as short postfix programs.
//!
//! Per article (`scan`): normalise each field once, run the automaton (overlapping, so `putin`
//! and `vladimir putin` both report), collect occurrences (term id, field, word range). Then
//! (here) run the programs of the watchlists those terms trigger, and only for the watchlists
//! that match, collect hits and snippets (`evaluate`).
//!
//! The matcher is immutable after `new` and holds no interior mutability, so it is Send + Sync
//! and shared by reference across tasks; per-thread scratch buffers live in `scan`. It does no
//! I/O and allocates per article, not per watchlist, except for matches.

use aho_corasick::AhoCorasick;
use regex::{Regex, RegexSet};

use super::ast::{Field, Fields};
use super::evaluate::HitScratch;
use super::scan::{Scan, TermOccurrences};
use super::{Document, Match};

/// Term id of atoms that are not text (`lang:`); no term has it.
pub(crate) const NO_TERM: u32 = u32::MAX;
/// Regex term ids during the build, before the pattern count is known. Configs have far fewer
/// than 2^31 distinct terms (the automaton could not hold them).
pub(crate) const PROVISIONAL_REGEX: u32 = 1 << 31;

/// A term of some watchlist, after deduplication of its text into a pattern or regex id.
#[derive(Debug)]
pub(crate) struct Atom {
    pub kind: AtomKind,
    pub fields: Fields,
    /// The term as written, an index into `Matcher::written`.
    pub written: u32,
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
pub(crate) struct RegexTerm {
    /// Unanchored: finds where a whole-word match may be.
    pub(crate) scan: Regex,
    /// `^(?:…)$`: confirms one word.
    pub(crate) whole_word: Regex,
    /// Union of the fields any watchlist looks for it in.
    pub(crate) fields: Fields,
}

/// The literals of regexes (see `compile::regex_prefixes`), each with the regex it belongs to.
pub(crate) enum RegexLiterals {
    /// A few (the usual config has a handful of regexes): one vectorised substring search each,
    /// which stops at the first occurrence.
    Few(Vec<(memchr::memmem::Finder<'static>, u32)>),
    /// Many: one automaton pass for all; pattern `p` belongs to regex `regexes[p]`. It reads
    /// byte by byte, since regex literals rarely start with bytes rare enough for a prefilter.
    Many {
        automaton: AhoCorasick,
        regexes: Vec<u32>,
    },
}

impl RegexLiterals {
    /// Literal sets larger than this use the automaton.
    pub(crate) const FEW: usize = 8;

    /// Sets `candidates[regex]` for every regex one of whose literals occurs in `text`.
    pub(crate) fn mark(&self, text: &str, candidates: &mut [bool]) {
        let mut mark = |regex: u32| {
            if let Some(candidate) = candidates.get_mut(regex as usize) {
                *candidate = true;
            }
        };
        match self {
            RegexLiterals::Few(finders) => {
                for (finder, regex) in finders {
                    if finder.find(text.as_bytes()).is_some() {
                        mark(*regex);
                    }
                }
            }
            RegexLiterals::Many { automaton, regexes } => {
                for found in automaton.find_overlapping_iter(text) {
                    if let Some(&regex) = regexes.get(found.pattern().as_usize()) {
                        mark(regex);
                    }
                }
            }
        }
    }
}

/// Opcodes of watchlist programs: postfix code over a stack of booleans. The low 8 bits of a
/// word are the opcode, the rest its operand. A program is the hot-path form of a query tree:
/// plain terms and `lang:` are checked inline; exact case and `NEAR` call back into the tree.
pub(crate) const OP_END: u32 = 0;
/// `OP_TERM | fields << 8`, then the term id and the written term (`Matcher::written`): push
/// whether the term occurs in those fields.
pub(crate) const OP_TERM: u32 = 1;
/// `OP_NODE`, then a node index: push `evaluate(node)`.
pub(crate) const OP_NODE: u32 = 2;
/// `OP_AND | count << 8`: pop `count` values, push their conjunction.
pub(crate) const OP_AND: u32 = 3;
pub(crate) const OP_OR: u32 = 4;
pub(crate) const OP_NOT: u32 = 5;
/// `OP_NODE_IF`, then a node index: pop a guard; push `guard && evaluate(node)`. The guard is a
/// cheap necessary condition (the terms occur at all) that spares exact-case checks and
/// proximity work for most candidates.
pub(crate) const OP_NODE_IF: u32 = 6;
/// `OP_LANG | language << 8`, then the written term: push whether the article's language is
/// `Matcher::languages[language]` (worked out once per article, see `Scan::languages`).
pub(crate) const OP_LANG: u32 = 7;

/// Flag in the second word of a trigger record whose program is shared (see
/// `Matcher::triggers`); above the five field bits.
pub(crate) const SHARED_PROGRAM: u32 = 1 << 7;

/// All watchlists of a config, compiled. Build once per config load; share read-only.
pub struct Matcher {
    pub(crate) automaton: Option<AhoCorasick>,
    /// Number of Aho-Corasick patterns; regex `r` has term id `pattern_count + r`.
    pub(crate) pattern_count: u32,
    pub(crate) regexes: Vec<RegexTerm>,
    /// Literals one of which starts every match of a regex. A regex none of whose literals
    /// occurs in a field is not run on it: most articles contain none, and a case-insensitive
    /// regex scan costs a fifth of the whole scan.
    pub(crate) regex_literals: RegexLiterals,
    /// The regexes without such literals, run together on every field; set entry `s` is regex
    /// `unfiltered_regexes[s]`.
    pub(crate) regex_set: Option<RegexSet>,
    pub(crate) unfiltered_regexes: Vec<u32>,
    /// `triggers[trigger_offsets[id]..trigger_offsets[id + 1]]` are the watchlists to evaluate
    /// when term `id` occurs, each as `[watchlist, fields | program length << 8, program…]`.
    /// The program is copied inline, so evaluating the candidates of a term reads memory in
    /// order instead of jumping to 100k scattered trees. A long program of a watchlist with
    /// several triggers is stored once, at the start of `triggers`, and its records are
    /// `[watchlist, fields | SHARED_PROGRAM, start, length]` (see `compile`).
    pub(crate) trigger_offsets: Vec<u32>,
    pub(crate) triggers: Vec<u32>,
    /// Watchlists with no trigger set; always evaluated. Empty for parsed queries.
    pub(crate) untriggered: Vec<u32>,
    pub(crate) atoms: Vec<Atom>,
    /// Every distinct term as written, for hits. Shared by all watchlists that write a term the
    /// same way, so building the hits of popular terms reads memory that is already in cache.
    pub(crate) written: Texts,
    /// Every distinct `lang:` code.
    pub(crate) languages: Vec<Box<str>>,
    pub(crate) nodes: Vec<Compiled>,
    pub(crate) children: Vec<u32>,
    pub(crate) roots: Vec<u32>,
    /// Text fields some term looks at; others are not normalised.
    pub(crate) scanned: Fields,
}

/// Strings stored end to end, numbered from 0.
///
/// A `Vec<Box<str>>` of 100k terms scatters them over the whole heap, and reading the few a match
/// needs cost more than the rest of building its hits (measured); end to end they take a
/// fraction of the cache lines.
#[derive(Debug, Default)]
pub(crate) struct Texts {
    text: String,
    /// `text[ends[i - 1]..ends[i]]` is string `i` (from 0 for the first).
    ends: Vec<u32>,
}

impl Texts {
    /// Appends `text`; returns its number.
    pub(crate) fn push(&mut self, text: &str) -> u32 {
        self.text.push_str(text);
        self.ends.push(self.text.len() as u32);
        self.ends.len() as u32 - 1
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn get(&self, index: u32) -> Option<&str> {
        let end = *self.ends.get(index as usize)? as usize;
        let start = match index.checked_sub(1) {
            Some(previous) => *self.ends.get(previous as usize)? as usize,
            None => 0,
        };
        self.text.get(start..end)
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
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
    /// The term as written, an index into `Matcher::written`.
    pub term: u32,
    pub field: Field,
    pub first: u32,
    pub last: u32,
}

pub(crate) fn field_of_index(index: u8) -> Field {
    Field::TEXT
        .get(index as usize)
        .copied()
        .unwrap_or(Field::Lang)
}

impl std::fmt::Debug for Matcher {
    /// A summary: the tables hold every term of every watchlist, too much for a log line.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Matcher")
            .field("watchlists", &self.roots.len())
            .field("patterns", &self.pattern_count)
            .field("regexes", &self.regexes.len())
            .finish_non_exhaustive()
    }
}

impl Matcher {
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
        let matched = self.evaluate_candidates(&scan, watchlists);
        let mut scratch = HitScratch::default();
        let mut witnesses = Vec::new();
        let mut stack = Vec::with_capacity(16);
        let mut found = Vec::with_capacity(matched.len());
        for (watchlist, from, to) in matched {
            witnesses.clear();
            match self.triggers.get(from..to) {
                Some(program) if from < to => {
                    self.run(program, &scan, &mut stack, Some(&mut witnesses));
                }
                _ => {
                    if let Some(&root) = self.roots.get(watchlist as usize) {
                        self.witnesses(root, &scan, &mut witnesses);
                    }
                }
            }
            found.push(Match {
                watchlist: watchlist as usize,
                hits: self.hits(&scan, &witnesses, &mut scratch),
            });
        }
        found
    }

    /// Words in the trigger table, the part of the matcher that grows with the terms of each
    /// watchlist; a size measure for tests.
    #[cfg(test)]
    pub(crate) fn trigger_words(&self) -> usize {
        self.triggers.len()
    }

    /// The hits of `watchlist` computed from its tree instead of its program, to test that both
    /// agree.
    #[cfg(test)]
    pub(crate) fn hits_by_tree(&self, document: &Document, watchlist: usize) -> Vec<super::Hit> {
        let scan = self.scan(document);
        let mut witnesses = Vec::new();
        if let Some(&root) = self.roots.get(watchlist) {
            if self.evaluate(root, &scan) {
                self.witnesses(root, &scan, &mut witnesses);
            }
        }
        self.hits(&scan, &witnesses, &mut HitScratch::default())
    }

    /// Whether a watchlist program holds: `run` without witnesses, for the many candidates that
    /// do not match, with a stack of plain booleans and no witness bookkeeping per operation.
    pub(crate) fn holds(&self, code: &[u32], scan: &Scan, stack: &mut Vec<bool>) -> bool {
        stack.clear();
        let mut pc = 0;
        while let Some(&word) = code.get(pc) {
            let operand = word >> 8;
            let value = match word & 0xFF {
                OP_END => return stack.pop().unwrap_or(false),
                OP_TERM => {
                    let id = code.get(pc + 1).copied().unwrap_or(NO_TERM);
                    let fields = operand as Fields;
                    pc += 3;
                    scan.of(id)
                        .iter()
                        .any(|occurrence| fields & (1 << occurrence.field) != 0)
                }
                OP_LANG => {
                    pc += 2;
                    scan.languages.get(operand as usize).copied() == Some(true)
                }
                OP_NODE => {
                    let node = code.get(pc + 1).copied().unwrap_or(u32::MAX);
                    pc += 2;
                    self.evaluate(node, scan)
                }
                OP_NODE_IF => {
                    let node = code.get(pc + 1).copied().unwrap_or(u32::MAX);
                    pc += 2;
                    stack.pop().unwrap_or(false) && self.evaluate(node, scan)
                }
                OP_AND | OP_OR => {
                    let keep = stack.len().saturating_sub(operand as usize);
                    let operands = stack.get(keep..).unwrap_or(&[]);
                    let value = if word & 0xFF == OP_AND {
                        operands.iter().all(|&value| value)
                    } else {
                        operands.iter().any(|&value| value)
                    };
                    stack.truncate(keep);
                    pc += 1;
                    value
                }
                OP_NOT => {
                    pc += 1;
                    !stack.pop().unwrap_or(true)
                }
                _ => return false,
            };
            stack.push(value);
        }
        false
    }

    /// Runs a watchlist program: whether the watchlist matches. With `witnesses`, also appends
    /// the occurrences that make it true (see `witnesses`), reading the program, which is in
    /// cache, rather than the tree, which is not. Each stack entry is a value and where its
    /// witnesses start, so an AND that fails, an OR's false operands and anything under NOT
    /// drop theirs.
    pub(crate) fn run(
        &self,
        code: &[u32],
        scan: &Scan,
        stack: &mut Vec<(bool, u32)>,
        mut witnesses: Option<&mut Vec<Witness>>,
    ) -> bool {
        stack.clear();
        let mut pc = 0;
        loop {
            let Some(&word) = code.get(pc) else {
                return false;
            };
            let operand = word >> 8;
            let mark = witnesses.as_ref().map_or(0, |out| out.len() as u32);
            match word & 0xFF {
                OP_END => return stack.pop().is_some_and(|(value, _)| value),
                OP_TERM => {
                    let id = code.get(pc + 1).copied().unwrap_or(NO_TERM);
                    let term = code.get(pc + 2).copied().unwrap_or(u32::MAX);
                    let fields = operand as Fields;
                    let occurrences = scan.of(id);
                    let value = occurrences
                        .iter()
                        .any(|occurrence| fields & (1 << occurrence.field) != 0);
                    if let (true, Some(out)) = (value, witnesses.as_deref_mut()) {
                        // Occurrences are in field order, then word order: the first of each
                        // field is the earliest.
                        let mut seen: Fields = 0;
                        for occurrence in occurrences {
                            let bit = 1 << occurrence.field;
                            if fields & bit != 0 && seen & bit == 0 {
                                seen |= bit;
                                out.push(Witness {
                                    term,
                                    field: field_of_index(occurrence.field),
                                    first: occurrence.first,
                                    last: occurrence.last,
                                });
                            }
                        }
                    }
                    stack.push((value, mark));
                    pc += 3;
                }
                OP_LANG => {
                    let value = scan.languages.get(operand as usize).copied() == Some(true);
                    if let (true, Some(out)) = (value, witnesses.as_deref_mut()) {
                        out.push(Witness {
                            term: code.get(pc + 1).copied().unwrap_or(u32::MAX),
                            field: Field::Lang,
                            first: 0,
                            last: 0,
                        });
                    }
                    stack.push((value, mark));
                    pc += 2;
                }
                OP_NODE | OP_NODE_IF => {
                    let node = code.get(pc + 1).copied().unwrap_or(u32::MAX);
                    let (guard, start) = if word & 0xFF == OP_NODE_IF {
                        // The guard only checked presence; its terms are not the witnesses.
                        let (guard, start) = stack.pop().unwrap_or((false, mark));
                        if let Some(out) = witnesses.as_deref_mut() {
                            out.truncate(start as usize);
                        }
                        (guard, start)
                    } else {
                        (true, mark)
                    };
                    let value = guard && self.evaluate(node, scan);
                    if let (true, Some(out)) = (value, witnesses.as_deref_mut()) {
                        self.witnesses(node, scan, out);
                    }
                    stack.push((value, start));
                    pc += 2;
                }
                OP_AND | OP_OR => {
                    let keep = stack.len().saturating_sub(operand as usize);
                    let operands = stack.get(keep..).unwrap_or(&[]);
                    let is_and = word & 0xFF == OP_AND;
                    let value = if is_and {
                        operands.iter().all(|&(value, _)| value)
                    } else {
                        operands.iter().any(|&(value, _)| value)
                    };
                    let start = operands.first().map_or(mark, |&(_, start)| start);
                    if let Some(out) = witnesses.as_deref_mut() {
                        if is_and && !value {
                            out.truncate(start as usize);
                        } else if !is_and {
                            // Keep the witnesses of the true operands only, in order.
                            let mut write = start as usize;
                            for (index, &(operand_value, from)) in operands.iter().enumerate() {
                                let to = operands
                                    .get(index + 1)
                                    .map_or(out.len(), |&(_, next)| next as usize);
                                let from = from as usize;
                                if operand_value && from <= to && to <= out.len() {
                                    out.copy_within(from..to, write);
                                    write += to - from;
                                }
                            }
                            out.truncate(write);
                        }
                    }
                    stack.truncate(keep);
                    stack.push((value, start));
                    pc += 1;
                }
                OP_NOT => {
                    let (value, start) = stack.pop().unwrap_or((true, mark));
                    if let Some(out) = witnesses.as_deref_mut() {
                        out.truncate(start as usize);
                    }
                    stack.push((!value, start));
                    pc += 1;
                }
                _ => return false,
            }
        }
    }

    /// The watchlists that match, ascending: those one of whose trigger terms occurs, passing
    /// `filter`, whose program is true.
    /// Each comes with the range of its program in `triggers` (empty for untriggered
    /// watchlists, which have no program and are evaluated on the tree).
    fn evaluate_candidates(
        &self,
        scan: &Scan,
        filter: &dyn Fn(usize) -> bool,
    ) -> Vec<(u32, usize, usize)> {
        let mut matched = Vec::with_capacity(64);
        for &watchlist in &self.untriggered {
            let root = self
                .roots
                .get(watchlist as usize)
                .copied()
                .unwrap_or(u32::MAX);
            if filter(watchlist as usize) && self.evaluate(root, scan) {
                matched.push((watchlist, 0, 0));
            }
        }
        let mut stack = Vec::with_capacity(16);
        // Watchlists with a shared program evaluated so far, sorted.
        let mut shared_done: Vec<u32> = Vec::new();
        for &TermOccurrences { id, fields, .. } in &scan.terms {
            let from = self.trigger_offsets.get(id as usize).copied().unwrap_or(0) as usize;
            let to = self
                .trigger_offsets
                .get(id as usize + 1)
                .map_or(from, |&to| to as usize);
            let records = self.triggers.get(from..to).unwrap_or(&[]);
            let mut cursor = 0;
            while let (Some(&watchlist), Some(&meta)) =
                (records.get(cursor), records.get(cursor + 1))
            {
                let (program_start, length) = if meta & SHARED_PROGRAM != 0 {
                    let start = records.get(cursor + 2).copied().unwrap_or(0) as usize;
                    let length = records.get(cursor + 3).copied().unwrap_or(0) as usize;
                    cursor += 4;
                    (start, length)
                } else {
                    let length = (meta >> 8) as usize;
                    let start = from + cursor + 2;
                    cursor += 2 + length;
                    (start, length)
                };
                if meta as Fields & fields == 0 || !filter(watchlist as usize) {
                    continue;
                }
                if meta & SHARED_PROGRAM != 0 {
                    // A long program runs once per article, however many of its triggers occur.
                    match shared_done.binary_search(&watchlist) {
                        Ok(_) => continue,
                        Err(place) => shared_done.insert(place, watchlist),
                    }
                }
                let program = self
                    .triggers
                    .get(program_start..program_start + length)
                    .unwrap_or(&[]);
                if self.holds(program, scan, &mut stack) {
                    matched.push((watchlist, program_start, program_start + length));
                }
            }
        }
        // A watchlist triggered by two of its terms was evaluated twice.
        matched.sort_unstable_by_key(|&(watchlist, _, _)| watchlist);
        matched.dedup_by_key(|&mut (watchlist, _, _)| watchlist);
        matched
    }

    pub(crate) fn children(&self, start: u32, count: u32) -> &[u32] {
        self.children
            .get(start as usize..(start + count) as usize)
            .unwrap_or(&[])
    }
}
