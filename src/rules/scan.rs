//! Scanning one article: normalise the fields a watchlist looks at, run the automaton and the
//! regexes, and collect every term occurrence (term id, field, word range).
//!
//! This is the only per-article work that does not depend on which watchlists are candidates.
//! It keeps normalisation buffers per thread between articles (see `BUFFERS`) and nothing else.

use std::cell::RefCell;

use super::ast::{Field, Fields};
use super::matcher::{Matcher, Occurrence};
use super::normalize::{normalize_into, normalize_segments, Normalized};
use super::Document;

thread_local! {
    /// Normalisation buffers of finished articles, reused by the next article on this thread:
    /// tens of kilobytes per article that the allocator would otherwise hand out and take back.
    static BUFFERS: RefCell<Vec<Normalized>> = const { RefCell::new(Vec::new()) };
    /// The presence bitset of the last article, all zero again: with 100k watchlists it is
    /// 20 KiB that zeroing anew for each article costs more than clearing the few bits it set.
    static PRESENT: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// Buffers kept per thread at most, and the largest kept (a huge article's are let go).
const KEPT_BUFFERS: usize = 8;
const KEPT_CAPACITY: usize = 1 << 20;

fn take_buffer() -> Normalized {
    BUFFERS
        .try_with(|buffers| {
            buffers
                .try_borrow_mut()
                .ok()
                .and_then(|mut buffers| buffers.pop())
        })
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Whether `language` (lowercase, `-` separated) is `code` or a region of it (`en-gb` for `en`).
pub(crate) fn language_matches(language: &str, code: &str) -> bool {
    language == code
        || (language.starts_with(code) && language.as_bytes().get(code.len()) == Some(&b'-'))
}

/// One article, normalised and scanned.
pub(crate) struct Scan<'d> {
    originals: [&'d str; 4],
    authors: String,
    pub language: Option<String>,
    /// For each of `Matcher::languages`, whether the article is in that language.
    pub languages: Vec<bool>,
    normalized: [Normalized; 5],
    /// Sorted, deduplicated.
    pub occurrences: Vec<Occurrence>,
    /// Bit `id` is set when term `id` occurs. Most terms a candidate's program asks about are
    /// absent (the other operands of an AND), and one bit answers that without a search.
    present: Vec<u64>,
    /// One entry per distinct term that occurs, ascending by id: where its occurrences are.
    pub terms: Vec<TermOccurrences>,
}

/// The occurrences of one term in an article: `Scan::occurrences[start..end]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TermOccurrences {
    pub id: u32,
    pub start: u32,
    pub end: u32,
    /// The fields it occurs in.
    pub fields: Fields,
}

impl Drop for Scan<'_> {
    fn drop(&mut self) {
        // Only the bits of terms that occur were set: clearing them leaves the bitset zero.
        for term in &self.terms {
            if let Some(word) = self.present.get_mut(term.id as usize / 64) {
                *word = 0;
            }
        }
        let present = std::mem::take(&mut self.present);
        let _ = PRESENT.try_with(|kept| {
            if let Ok(mut kept) = kept.try_borrow_mut() {
                if kept.capacity() < present.capacity() {
                    *kept = present;
                }
            }
        });
        let _ = BUFFERS.try_with(|buffers| {
            if let Ok(mut buffers) = buffers.try_borrow_mut() {
                for normalized in &mut self.normalized {
                    if buffers.len() < KEPT_BUFFERS
                        && normalized.canon.capacity() <= KEPT_CAPACITY
                        && normalized.canon.capacity() > 0
                    {
                        buffers.push(std::mem::take(normalized));
                    }
                }
            }
        });
    }
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
        let word = self.present.get(id as usize / 64).copied().unwrap_or(0);
        if word & (1 << (id % 64)) == 0 {
            return &[];
        }
        let index = self.terms.partition_point(|term| term.id < id);
        match self.terms.get(index) {
            Some(term) if term.id == id => self
                .occurrences
                .get(term.start as usize..term.end as usize)
                .unwrap_or(&[]),
            _ => &[],
        }
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

    pub(crate) fn position(&self, field: u8, word: u32) -> u32 {
        self.normalized
            .get(field as usize)
            .and_then(|normalized| normalized.words.get(word as usize))
            .map_or(0, |word| word.position)
    }
}

impl Matcher {
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
        let language = document
            .language
            .map(|language| language.to_lowercase().replace('_', "-"));
        let mut scan = Scan {
            originals: [document.title, document.body, document.url, document.source],
            authors,
            languages: Vec::new(),
            language,
            normalized: Default::default(),
            occurrences: Vec::with_capacity(256),
            present: Vec::new(),
            terms: Vec::new(),
        };
        if let Some(language) = &scan.language {
            scan.languages = self
                .languages
                .iter()
                .map(|code| language_matches(language, code))
                .collect();
        }
        for field in Field::TEXT {
            if self.scanned & field.bit() == 0 {
                continue;
            }
            let normalized = if field == Field::Author {
                normalize_segments(&scan.authors, &segments, true, take_buffer())
            } else {
                normalize_into(scan.original(field), true, take_buffer())
            };
            self.find(&normalized, field, &mut scan.occurrences);
            if let Some(slot) = scan.normalized.get_mut(field.index()) {
                *slot = normalized;
            }
        }
        scan.occurrences.sort_unstable();
        scan.occurrences.dedup();
        let term_count = self.pattern_count as usize + self.regexes.len();
        let mut present = PRESENT
            .try_with(|kept| {
                kept.try_borrow_mut()
                    .map(|mut kept| std::mem::take(&mut *kept))
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        // A kept bitset is all zero (see `drop`), so resizing keeps it so.
        present.resize(term_count.div_ceil(64), 0);
        scan.present = present;
        let mut start = 0;
        while let Some(first) = scan.occurrences.get(start) {
            let id = first.id;
            let mut end = start;
            let mut fields: Fields = 0;
            while let Some(next) = scan.occurrences.get(end) {
                if next.id != id {
                    break;
                }
                fields |= 1 << next.field;
                end += 1;
            }
            if let Some(word) = scan.present.get_mut(id as usize / 64) {
                *word |= 1 << (id % 64);
            }
            scan.terms.push(TermOccurrences {
                id,
                start: start as u32,
                end: end as u32,
                fields,
            });
            start = end;
        }
        scan
    }

    /// Appends the occurrences of every term in one normalised field.
    pub(crate) fn find(&self, normalized: &Normalized, field: Field, out: &mut Vec<Occurrence>) {
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
        if !self
            .regexes
            .iter()
            .any(|term| term.fields & field.bit() != 0)
        {
            return;
        }
        let mut candidates = vec![false; self.regexes.len()];
        self.regex_literals.mark(canon, &mut candidates);
        if let Some(set) = &self.regex_set {
            for index in set.matches(canon).iter() {
                let regex = self.unfiltered_regexes.get(index);
                if let Some(candidate) = regex.and_then(|&regex| candidates.get_mut(regex as usize))
                {
                    *candidate = true;
                }
            }
        }
        for (index, term) in self.regexes.iter().enumerate() {
            if !candidates.get(index).copied().unwrap_or(false) || term.fields & field.bit() == 0 {
                continue;
            }
            // A word the regex matches whole overlaps some leftmost match of the unanchored
            // regex (the scan can only skip a position by consuming it), so checking the words
            // under each match finds them all.
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
