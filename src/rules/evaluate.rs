//! Evaluating query trees on a scanned article, and the hits of those that match.
//!
//! The hot path runs watchlist programs (see `matcher`); it calls back here for what programs
//! leave to the tree: exact case and proximity. Hits are built only for matches: the
//! occurrences that made the query true (never those under NOT), first per (term, field),
//! mapped back to the original text, each with a snippet.

use std::collections::HashSet;
use std::sync::Arc;

use super::ast::{Field, Fields};
use super::matcher::{
    field_of_index, Atom, AtomKind, Compiled, Matcher, Occurrence, Span, Witness, NO_TERM,
};
use super::normalize::normalize;
use super::scan::{language_matches, Scan};
use super::snippet::snippet;
use super::Hit;

impl Matcher {
    /// Whether the occurrence of a cased atom has the case the query asks for.
    pub(crate) fn case_matches(
        scan: &Scan,
        occurrence: &Occurrence,
        cased: &str,
        prefix: bool,
    ) -> bool {
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
            AtomKind::Lang(code) => scan
                .language
                .as_deref()
                .is_some_and(|language| language_matches(language, code)),
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
                                term: atom.written,
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
                // Later NEARs look only at a span's field and ends, so one span per place is
                // enough; without this a chain `a NEAR b NEAR c …` over a text repeating `a`
                // multiplies its spans at every operator.
                let mut places = HashSet::new();
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
                        let start = a.start.min(b.start);
                        let end = a.end.max(b.end);
                        if gap <= distance && places.insert((a.field, start, end)) {
                            out.push(Span {
                                field: a.field,
                                start,
                                end,
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
                                term: atom.written,
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
                                    term: atom.written,
                                    field: field_of_index(occurrence.field),
                                    first: occurrence.first,
                                    last: occurrence.last,
                                });
                            }
                        }
                    }
                }
            }
            Some(Compiled::And { start, count }) => {
                // The AND is true, so every operand is; NOT operands contribute nothing.
                for &child in self.children(*start, *count) {
                    self.witnesses(child, scan, out);
                }
            }
            Some(Compiled::Or { start, count }) => {
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

    /// Hits from the witnesses of a match: one per distinct (term, field), earliest first.
    pub(crate) fn hits(
        &self,
        scan: &Scan,
        witnesses: &[Witness],
        scratch: &mut HitScratch,
    ) -> Vec<Hit> {
        // The distinct (term, field) pairs and their earliest place, before any text is copied:
        // most witnesses are duplicates or already in order.
        let places = &mut scratch.places;
        places.clear();
        if witnesses.len() > MANY_WITNESSES {
            // A long OR list can have thousands of terms in one article: sort instead of
            // searching the places found so far for each (quadratic). The stable sort keeps
            // the first of equal places, as the search does.
            places.extend(witnesses.iter().enumerate().map(|(seen, witness)| {
                let (start, end) = scan.original_range(witness.field, witness.first, witness.last);
                Place {
                    term: witness.term,
                    field: witness.field,
                    start,
                    end,
                    seen,
                }
            }));
            places.sort_by_key(|place| (place.term, place.field.index(), place.start, place.seen));
            // Each (term, field) keeps its earliest place, ordered as its first witness.
            places.dedup_by(|later, kept| {
                let same = later.term == kept.term && later.field == kept.field;
                if same {
                    kept.seen = kept.seen.min(later.seen);
                }
                same
            });
        } else {
            for witness in witnesses {
                let (start, end) = scan.original_range(witness.field, witness.first, witness.last);
                let duplicate = places
                    .iter_mut()
                    .find(|place| place.term == witness.term && place.field == witness.field);
                match duplicate {
                    Some(existing) => {
                        if start < existing.start {
                            existing.start = start;
                            existing.end = end;
                        }
                    }
                    None => places.push(Place {
                        term: witness.term,
                        field: witness.field,
                        start,
                        end,
                        seen: places.len(),
                    }),
                }
            }
        }
        places.sort_by_key(|place| (place.field.index(), place.start, place.end, place.seen));
        let mut hits = Vec::with_capacity(places.len());
        for place in places.iter() {
            // Popular terms are hits of many watchlists: each term and each snippet is copied
            // once per article, and its hits share that copy.
            let terms = &mut scratch.terms;
            let term = match terms.binary_search_by_key(&place.term, |(term, _)| *term) {
                Ok(index) => terms.get(index).map(|(_, text)| Arc::clone(text)),
                Err(index) => self.written.get(place.term).map(|text| {
                    let text: Arc<str> = Arc::from(text);
                    terms.insert(index, (place.term, Arc::clone(&text)));
                    text
                }),
            };
            let Some(term) = term else {
                continue;
            };
            let key = (place.field.index(), place.start, place.end);
            let snippets = &mut scratch.snippets;
            let snippet = match snippets.binary_search_by_key(&key, |(key, _)| *key) {
                Ok(index) => snippets
                    .get(index)
                    .map_or_else(|| Arc::from(""), |(_, text)| Arc::clone(text)),
                Err(index) => {
                    let text: Arc<str> =
                        Arc::from(snippet(scan.original(place.field), place.start, place.end));
                    snippets.insert(index, (key, Arc::clone(&text)));
                    text
                }
            };
            hits.push(Hit {
                term,
                field: place.field,
                start: place.start,
                end: place.end,
                snippet,
            });
        }
        hits
    }
}

/// Above this many witnesses, `hits` sorts them rather than searching.
const MANY_WITNESSES: usize = 64;

/// Buffers for building the hits of one article's matches, reused from match to match.
#[derive(Default)]
pub(crate) struct HitScratch {
    places: Vec<Place>,
    /// Terms copied so far, by written term, sorted.
    terms: Vec<(u32, Arc<str>)>,
    /// Snippets built so far, by (field index, start, end), sorted.
    snippets: Vec<((usize, usize, usize), Arc<str>)>,
}

/// Where a hit is, before its text is copied.
struct Place {
    term: u32,
    field: Field,
    start: usize,
    end: usize,
    /// Order of the first witness of its (term, field), which breaks ties between places.
    seen: usize,
}
