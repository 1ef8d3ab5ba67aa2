//! Building the matcher: deduplicated terms, one Aho-Corasick automaton, one regex set, the
//! query trees in one arena, and for each term the watchlists it triggers with their programs.
//!
//! Runs once per config load; it may allocate freely (about half a second and 40 MiB for 100k
//! watchlists). It never fails: every query was validated by the parser.

use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;
use std::collections::HashMap;

use super::ast::{Field, Fields, Node, TermKind};
use super::matcher::{
    Atom, AtomKind, Compiled, Matcher, RegexLiterals, RegexTerm, Texts, NO_TERM, OP_AND, OP_END,
    OP_LANG, OP_NODE, OP_NODE_IF, OP_NOT, OP_OR, OP_TERM, PROVISIONAL_REGEX, SHARED_PROGRAM,
};

/// Programs up to this many words are copied into every trigger record of their watchlist
/// (most are under 30); longer ones are shared when the watchlist has several triggers.
const INLINE_PROGRAM: usize = 64;
use super::parser::compile_regex;
use super::Query;

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

/// Literals one of which every match of regex `source` (case-insensitive, as compiled) starts
/// with, in a canonical text; `None` when there is no such finite set, or it includes the empty
/// string, so the regex must run on every field.
///
/// Canonical text is case-folded, so it never contains an ASCII capital: literals with one
/// cannot occur and are dropped. That turns the dozens of case variants the extractor lists into
/// the one or two that can occur.
fn regex_prefixes(source: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(true)
        .build()
        .parse(source)
        .ok()?;
    let sequence = regex_syntax::hir::literal::Extractor::new().extract(&hir);
    let prefixes: Vec<Vec<u8>> = sequence
        .literals()?
        .iter()
        .map(|literal| literal.as_bytes())
        .filter(|bytes| !bytes.iter().any(u8::is_ascii_uppercase))
        .map(<[u8]>::to_vec)
        .collect();
    if prefixes.iter().any(Vec::is_empty) {
        return None;
    }
    Some(prefixes)
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
    written: Texts,
    written_ids: HashMap<String, u32>,
    languages: Vec<Box<str>>,
    language_ids: HashMap<String, u32>,
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
                    TermKind::Lang(code) => {
                        if !self.language_ids.contains_key(code) {
                            self.language_ids
                                .insert(code.clone(), self.languages.len() as u32);
                            self.languages.push(code.as_str().into());
                        }
                        (AtomKind::Lang(code.as_str().into()), f64::INFINITY)
                    }
                };
                let next = self.written.len() as u32;
                let written = *self.written_ids.entry(term.written.clone()).or_insert(next);
                if written == next {
                    self.written.push(&term.written);
                }
                self.atoms.push(Atom {
                    kind,
                    fields: term.fields,
                    written,
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
                atom,
                id,
                fields,
                plain: true,
            }) => {
                code.extend([OP_TERM | u32::from(fields) << 8, id, self.written_of(atom)]);
            }
            Some(&Compiled::Atom {
                atom, id, fields, ..
            }) if id != NO_TERM => {
                code.extend([OP_TERM | u32::from(fields) << 8, id, self.written_of(atom)]);
                code.push(OP_NODE_IF);
                code.push(node);
            }
            Some(&Compiled::Atom { atom, .. }) if self.language_of(atom).is_some() => {
                let language = self.language_of(atom).unwrap_or(0);
                code.extend([OP_LANG | language << 8, self.written_of(atom)]);
            }
            Some(&Compiled::Near { left, right, .. }) => {
                self.emit_presence(left, code);
                self.emit_presence(right, code);
                code.push(OP_AND | 2 << 8);
                code.push(OP_NODE_IF);
                code.push(node);
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

    /// Appends code pushing whether every term a positional node needs occurs somewhere, case
    /// and position aside: necessary for the node to hold.
    fn emit_presence(&self, node: u32, code: &mut Vec<u32>) {
        match self.nodes.get(node as usize) {
            Some(&Compiled::Atom {
                atom, id, fields, ..
            }) if id != NO_TERM => {
                code.extend([OP_TERM | u32::from(fields) << 8, id, self.written_of(atom)]);
            }
            Some(&Compiled::Or { start, count }) => {
                for &child in self.children_of(start, count) {
                    self.emit_presence(child, code);
                }
                code.push(OP_OR | count << 8);
            }
            Some(&Compiled::Near { left, right, .. }) => {
                self.emit_presence(left, code);
                self.emit_presence(right, code);
                code.push(OP_AND | 2 << 8);
            }
            _ => {
                code.push(OP_NODE);
                code.push(node);
            }
        }
    }

    /// The index in `languages` of a `lang:` atom's code.
    fn language_of(&self, atom: u32) -> Option<u32> {
        match &self.atoms.get(atom as usize)?.kind {
            AtomKind::Lang(code) => self.language_ids.get(code.as_ref()).copied(),
            AtomKind::Text { .. } => None,
        }
    }

    fn written_of(&self, atom: u32) -> u32 {
        self.atoms
            .get(atom as usize)
            .map_or(u32::MAX, |atom| atom.written)
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
        // Everything needed is in the builder now.
        drop(queries);
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
        let mut programs = Vec::with_capacity(roots.len() + 1);
        for &root in &roots {
            programs.push(code.len());
            builder.emit(root, &mut code);
            code.push(OP_END);
        }
        programs.push(code.len());

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
        // Merge the fields of a term that triggers one watchlist twice (`a OR title:a`).
        let mut merged: Vec<(u32, u32, Fields)> = Vec::with_capacity(entries.len());
        for (id, watchlist, fields) in entries {
            match merged.last_mut() {
                Some(last) if last.0 == id && last.1 == watchlist => last.2 |= fields,
                _ => merged.push((id, watchlist, fields)),
            }
        }
        // A watchlist is copied into the record of each of its trigger terms, for speed; one
        // with a long program and several triggers (a list of 10k names ORed) keeps a single
        // copy at the start of `triggers` that its records point to, so memory stays linear in
        // its terms instead of terms × program length.
        let mut trigger_counts = vec![0u32; roots.len()];
        for &(_, watchlist, _) in &merged {
            if let Some(count) = trigger_counts.get_mut(watchlist as usize) {
                *count += 1;
            }
        }
        let program_of = |watchlist: u32| {
            let start = programs.get(watchlist as usize).copied().unwrap_or(0);
            let end = programs
                .get(watchlist as usize + 1)
                .copied()
                .unwrap_or(start);
            code.get(start..end).unwrap_or(&[])
        };
        let mut triggers: Vec<u32> = Vec::with_capacity(merged.len() * 10);
        let mut shared_at: Vec<Option<(u32, u32)>> = vec![None; roots.len()];
        for (watchlist, &count) in trigger_counts.iter().enumerate() {
            let program = program_of(watchlist as u32);
            if count > 1 && program.len() > INLINE_PROGRAM {
                if let Some(slot) = shared_at.get_mut(watchlist) {
                    *slot = Some((triggers.len() as u32, program.len() as u32));
                }
                triggers.extend_from_slice(program);
            }
        }
        drop(trigger_counts);
        let mut trigger_offsets = Vec::with_capacity(term_count + 1);
        let mut cursor = 0;
        for id in 0..term_count as u32 {
            trigger_offsets.push(triggers.len() as u32);
            while let Some(&(entry_id, watchlist, fields)) = merged.get(cursor) {
                if entry_id != id {
                    break;
                }
                cursor += 1;
                triggers.push(watchlist);
                match shared_at.get(watchlist as usize).copied().flatten() {
                    Some((start, length)) => {
                        triggers.extend([u32::from(fields) | SHARED_PROGRAM, start, length]);
                    }
                    None => {
                        let program = program_of(watchlist);
                        triggers.push(u32::from(fields) | (program.len() as u32) << 8);
                        triggers.extend_from_slice(program);
                    }
                }
            }
        }
        trigger_offsets.push(triggers.len() as u32);
        // The automaton's construction is the peak of memory use: free what is no longer needed
        // first.
        drop((merged, shared_at, code, programs));
        builder.pattern_ids = HashMap::new();
        builder.written_ids = HashMap::new();
        builder.atom_costs = Vec::new();

        // Building fails only past the automaton's size limits (billions of states), far beyond
        // any config; without an automaton, word terms simply never occur.
        let automaton = if builder.patterns.is_empty() {
            None
        } else {
            // No prefilter: every pattern starts with the space before its first word, so the
            // prefilter would stop at every word (a memchr call per word costs more than
            // stepping through the word in the automaton's start state).
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .prefilter(false)
                // Dense transitions down to the sixth byte (the space and the first five
                // letters), where most steps of a scan are: 0.4 MiB more at 100k watchlists,
                // 8% fewer instructions in the automaton pass (callgrind).
                .dense_depth(6)
                .build(&builder.patterns)
                .ok()
        };
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut literal_regexes = Vec::new();
        let mut unfiltered_regexes = Vec::new();
        for (index, source) in builder.regex_sources.iter().enumerate() {
            match regex_prefixes(source) {
                Some(prefixes) => {
                    literal_regexes.extend(std::iter::repeat_n(index as u32, prefixes.len()));
                    literals.extend(prefixes);
                }
                None => unfiltered_regexes.push(index as u32),
            }
        }
        let regex_literals = if literals.len() <= RegexLiterals::FEW {
            RegexLiterals::Few(
                literals
                    .iter()
                    .map(|literal| memchr::memmem::Finder::new(literal).into_owned())
                    .zip(literal_regexes)
                    .collect(),
            )
        } else {
            // Like the main automaton's, this build fails only past size limits no config
            // reaches; should it fail, these regexes run on every field instead.
            match AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&literals)
            {
                Ok(automaton) => RegexLiterals::Many {
                    automaton,
                    regexes: literal_regexes,
                },
                Err(_) => {
                    unfiltered_regexes = (0..builder.regex_sources.len() as u32).collect();
                    RegexLiterals::Few(Vec::new())
                }
            }
        };
        let regex_set = if unfiltered_regexes.is_empty() {
            None
        } else {
            regex::RegexSetBuilder::new(
                unfiltered_regexes
                    .iter()
                    .filter_map(|&index| builder.regex_sources.get(index as usize)),
            )
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
            regex_literals,
            regex_set,
            unfiltered_regexes,
            trigger_offsets,
            triggers,
            untriggered,
            atoms: builder.atoms,
            written: {
                let mut written = builder.written;
                written.shrink_to_fit();
                written
            },
            languages: builder.languages,
            nodes: builder.nodes,
            children: builder.children,
            roots,
            scanned: builder.scanned,
        }
    }
}
