//! Text normalisation and word splitting shared by queries and documents.
//!
//! Both sides go through the same function so that a term and the text it should match are
//! folded identically: compatibility decomposition (NFKD, which also covers what NFKC folds:
//! ligatures, full-width forms, superscripts), diacritics removed for Latin, Greek and Cyrillic
//! (`é` = `e`, `й` = `и`) and Arabic vowel signs removed, case folded (`ß` = `ss`, final `ς` = `σ`).
//! Words are maximal runs of letters, digits and kept marks; Chinese characters and Japanese kana
//! are one word each, so text without spaces matches character by character.
//!
//! The output is a *canonical text*: the words joined by single spaces, with a space at both
//! ends (`" xi jinping visited "`). Because every word is framed by spaces, an Aho-Corasick
//! pattern `" xi jinping "` can only match whole words, across any punctuation or line break in
//! the original. Each word remembers its byte range in the original text so hits can point back
//! at what the reader sees.
//!
//! This module does not decide what matches; it only produces words. It keeps combining marks of
//! scripts where they carry meaning (Devanagari vowel signs, Japanese voicing marks) rather than
//! guessing, and it does not split Thai or other unspaced scripts besides Chinese and Japanese.

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Separates the words of different segments (authors) so no phrase spans two of them.
pub(crate) const SEGMENT_BREAK: char = '|';

/// How far apart, in word positions, two segments are, so no `NEAR/n` joins them
/// (the parser caps `n` well below this).
pub(crate) const SEGMENT_GAP: u32 = 1_000;

/// One word of a normalised text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word {
    /// Byte range of the word in the canonical text.
    pub canon_start: u32,
    pub canon_end: u32,
    /// Byte range in the original text, covering every character that produced the word.
    pub original_start: u32,
    pub original_end: u32,
    /// Word position for proximity; consecutive within a segment.
    pub position: u32,
}

/// A normalised text: its canonical form and its words.
#[derive(Debug, Clone, Default)]
pub(crate) struct Normalized {
    pub canon: String,
    pub words: Vec<Word>,
}

impl Normalized {
    /// The folded text of word `index`.
    pub fn word(&self, index: usize) -> &str {
        match self.words.get(index) {
            Some(word) => self
                .canon
                .get(word.canon_start as usize..word.canon_end as usize)
                .unwrap_or(""),
            None => "",
        }
    }

    /// The index of the word whose canonical range contains byte `offset` (or the word that
    /// starts right after it when `offset` is a separator).
    pub fn word_at(&self, offset: usize) -> usize {
        let offset = offset as u32;
        self.words.partition_point(|word| word.canon_end <= offset)
    }
}

/// ASCII letters and digits as they go into the canonical text, case-folded; 0 for every other
/// byte. One lookup classifies and folds a byte, so runs of ASCII letters are copied without
/// going through characters.
static ASCII_FOLDED: [u8; 256] = ascii_table(true);
/// The same without case folding.
static ASCII_KEPT: [u8; 256] = ascii_table(false);

const fn ascii_table(fold_case: bool) -> [u8; 256] {
    let mut table = [0; 256];
    let mut byte: u8 = 0;
    while byte < 0x80 {
        if byte.is_ascii_alphanumeric() {
            table[byte as usize] = if fold_case {
                byte.to_ascii_lowercase()
            } else {
                byte
            };
        }
        byte += 1;
    }
    table
}

/// How one normalised character takes part in words.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Part of a run of letters and digits.
    Letter,
    /// A word by itself (Chinese characters, kana).
    Ideograph,
    /// A combining mark kept as part of the current word.
    Mark,
    /// A combining mark folded away (`é` → `e`); it still belongs to the word visually.
    Dropped,
    /// Anything else: space, punctuation, symbol.
    Separator,
}

/// Builds the canonical text incrementally.
///
/// `repr(C)` keeps `end_original`, written after every run of letters, away from the other
/// offsets: adjacent, the compiler reads them as one 8-byte load when a word ends, which stalls
/// on the fresh 4-byte store (a third of normalisation time, measured).
#[repr(C)]
struct Builder {
    end_original: u32,
    fold_case: bool,
    in_word: bool,
    word_is_ideograph: bool,
    /// Whether the last base character belongs to a script whose diacritics we fold.
    folds_marks: bool,
    /// The canonical text as bytes: a run of ASCII letters is appended as one slice, which a
    /// `String` only allows one character at a time (a third of normalisation time). Only whole
    /// UTF-8 encodings are appended, so it converts back without loss.
    canon: Vec<u8>,
    /// Its `canon` is empty until `finish`.
    out: Normalized,
    start_canon: u32,
    start_original: u32,
    position: u32,
}

impl Builder {
    /// A builder writing into `out`'s buffers (cleared), reserving for `capacity` bytes of text.
    fn new(capacity: usize, fold_case: bool, mut out: Normalized) -> Builder {
        let mut canon = std::mem::take(&mut out.canon).into_bytes();
        canon.clear();
        out.words.clear();
        canon.reserve(capacity + 2);
        // Words average about six bytes with their separator.
        out.words.reserve(capacity / 4 + 4);
        canon.push(b' ');
        Builder {
            canon,
            out,
            fold_case,
            in_word: false,
            word_is_ideograph: false,
            folds_marks: false,
            start_canon: 0,
            start_original: 0,
            end_original: 0,
            position: 0,
        }
    }

    /// The normalised text.
    fn finish(self) -> Normalized {
        let mut out = self.out;
        out.canon = String::from_utf8(self.canon)
            .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
        out
    }

    fn push(&mut self, character: char) {
        let mut encoded = [0; 4];
        self.canon
            .extend_from_slice(character.encode_utf8(&mut encoded).as_bytes());
    }

    fn start_word(&mut self, original: usize) {
        self.end_word();
        self.in_word = true;
        self.start_canon = self.canon.len() as u32;
        self.start_original = original as u32;
    }

    fn end_word(&mut self) {
        if self.in_word {
            self.out.words.push(Word {
                canon_start: self.start_canon,
                canon_end: self.canon.len() as u32,
                original_start: self.start_original,
                original_end: self.end_original,
                position: self.position,
            });
            self.position += 1;
            self.canon.push(b' ');
            self.in_word = false;
            self.word_is_ideograph = false;
        }
    }

    fn push_letter(&mut self, letter: char) {
        if !self.fold_case {
            self.push(letter);
            return;
        }
        match letter {
            'ß' | 'ẞ' => self.canon.extend_from_slice(b"ss"),
            'ς' => self.push('σ'),
            _ if letter.is_ascii() => self.push(letter.to_ascii_lowercase()),
            _ => {
                for lower in letter.to_lowercase() {
                    // `İ` lowercases to `i` plus a combining dot, which we fold like any accent.
                    if !is_combining_mark(lower) {
                        self.push(lower);
                    }
                }
            }
        }
    }

    /// Feeds one normalised character that came from the original bytes `start..end`.
    fn feed(&mut self, character: char, start: usize, end: usize) {
        let class = self.classify(character);
        match class {
            Class::Letter => {
                if !self.in_word || self.word_is_ideograph {
                    self.start_word(start);
                }
                self.push_letter(character);
                self.end_original = end as u32;
            }
            Class::Ideograph => {
                self.start_word(start);
                self.word_is_ideograph = true;
                self.push(character);
                self.end_original = end as u32;
            }
            Class::Mark => {
                if self.in_word {
                    self.push(character);
                    self.end_original = end as u32;
                }
            }
            Class::Dropped => {
                if self.in_word {
                    self.end_original = end as u32;
                }
            }
            Class::Separator => self.end_word(),
        }
    }

    fn classify(&mut self, character: char) -> Class {
        if character.is_ascii() {
            if character.is_ascii_alphanumeric() {
                self.folds_marks = true;
                return Class::Letter;
            }
            return Class::Separator;
        }
        if is_combining_mark(character) {
            return if self.folds_marks || is_arabic_vowel_sign(character) {
                Class::Dropped
            } else {
                Class::Mark
            };
        }
        if is_ideograph(character) {
            self.folds_marks = false;
            return Class::Ideograph;
        }
        if character.is_alphanumeric() {
            self.folds_marks = folds_diacritics(character);
            return Class::Letter;
        }
        Class::Separator
    }

    fn segment_break(&mut self) {
        self.end_word();
        if !self.out.words.is_empty() {
            self.push(SEGMENT_BREAK);
            self.canon.push(b' ');
            self.position += SEGMENT_GAP;
        }
    }

    fn feed_text(&mut self, text: &str, base: usize) {
        let bytes = text.as_bytes();
        let table = if self.fold_case {
            &ASCII_FOLDED
        } else {
            &ASCII_KEPT
        };
        let mut index = 0;
        while let Some(&byte) = bytes.get(index) {
            let start = base + index;
            if let Some(&first) = table.get(byte as usize).filter(|&&folded| folded != 0) {
                // Most text is ASCII: copy each run of letters and digits in one tight loop,
                // folding case through the table as it goes (a call per word to copy and a
                // second pass to lowercase cost more than the letters).
                if !self.in_word || self.word_is_ideograph {
                    self.start_word(start);
                }
                self.folds_marks = true;
                self.canon.push(first);
                let mut run = index + 1;
                while let Some(&letter) = bytes.get(run) {
                    let folded = table[letter as usize];
                    if folded == 0 {
                        break;
                    }
                    self.canon.push(folded);
                    run += 1;
                }
                self.end_original = (base + run) as u32;
                index = run;
                continue;
            }
            if byte.is_ascii() {
                // Punctuation and spaces: one word end for the whole run.
                self.end_word();
                index += 1;
                while let Some(&next) = bytes.get(index) {
                    if next >= 0x80 || table[next as usize] != 0 {
                        break;
                    }
                    index += 1;
                }
                continue;
            }
            let Some(character) = text.get(index..).and_then(|rest| rest.chars().next()) else {
                break;
            };
            let end = start + character.len_utf8();
            index += character.len_utf8();
            if matches!(character as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF) {
                // Common CJK ideographs have no decomposition and no case.
                self.start_word(start);
                self.word_is_ideograph = true;
                self.folds_marks = false;
                self.push(character);
                self.end_original = end as u32;
            } else if matches!(character as u32, 0xAC00..=0xD7A3) {
                // Hangul syllables stay composed (as NFKC has them) instead of decomposing into
                // jamo: same matching, a third of the work.
                if !self.in_word || self.word_is_ideograph {
                    self.start_word(start);
                }
                self.folds_marks = false;
                self.push(character);
                self.end_original = end as u32;
            } else if matches!(character as u32, 0x0410..=0x044F) && !matches!(character, 'Й' | 'й')
            {
                // Basic Cyrillic letters have no decomposition (but `й`, a letter with a breve),
                // and the capitals lowercase 0x20 higher: the decomposition, classification and
                // case tables cost a hundred times this.
                if !self.in_word || self.word_is_ideograph {
                    self.start_word(start);
                }
                self.folds_marks = true;
                let folded = match character {
                    'А'..='Я' if self.fold_case => char::from_u32(character as u32 + 0x20),
                    _ => Some(character),
                };
                self.push(folded.unwrap_or(character));
                self.end_original = end as u32;
            } else if ('\u{2000}'..='\u{206F}').contains(&character) {
                // General punctuation (curly quotes, dashes, spaces) separates words and has no
                // compatibility form that contains a letter.
                self.end_word();
            } else {
                decompose_compatible(character, |part| self.feed(part, start, end));
            }
        }
        self.end_word();
    }
}

/// Normalises `text` (case-folded unless `fold_case` is false).
pub(crate) fn normalize(text: &str, fold_case: bool) -> Normalized {
    normalize_into(text, fold_case, Normalized::default())
}

/// `normalize`, reusing the buffers of `out` (from an earlier article) to spare allocations.
pub(crate) fn normalize_into(text: &str, fold_case: bool, out: Normalized) -> Normalized {
    let mut builder = Builder::new(text.len(), fold_case, out);
    builder.feed_text(text, 0);
    builder.finish()
}

/// Normalises several segments of one original string (given as byte ranges), keeping phrases and
/// proximity from crossing between them.
pub(crate) fn normalize_segments(
    text: &str,
    segments: &[(usize, usize)],
    fold_case: bool,
    out: Normalized,
) -> Normalized {
    let mut builder = Builder::new(text.len(), fold_case, out);
    for &(start, end) in segments {
        builder.segment_break();
        builder.feed_text(text.get(start..end).unwrap_or(""), start);
    }
    builder.finish()
}

/// The words of a query term, folded (or only compatibility-normalised when `fold_case` is false).
pub(crate) fn words(text: &str, fold_case: bool) -> Vec<String> {
    let normalized = normalize(text, fold_case);
    (0..normalized.words.len())
        .map(|index| normalized.word(index).to_string())
        .collect()
}

/// Latin, Greek and Cyrillic: scripts where a diacritic is a variant spelling readers ignore.
fn folds_diacritics(character: char) -> bool {
    matches!(character as u32,
        0x0000..=0x052F        // Latin, IPA, Greek, Cyrillic and supplement
        | 0x1C80..=0x1C8F      // Cyrillic extended-C
        | 0x1D00..=0x1FFF      // phonetic extensions, Latin extended additional, Greek extended
        | 0x2C60..=0x2C7F      // Latin extended-C
        | 0x2DE0..=0x2DFF      // Cyrillic extended-A
        | 0xA640..=0xA69F      // Cyrillic extended-B
        | 0xA720..=0xA7FF      // Latin extended-D
        | 0xAB30..=0xAB6F) // Latin extended-E
}

/// Arabic harakat are optional vowel signs; most text omits them.
fn is_arabic_vowel_sign(character: char) -> bool {
    matches!(character as u32, 0x064B..=0x065F | 0x0670)
}

/// Characters of scripts written without spaces that we match one character at a time.
fn is_ideograph(character: char) -> bool {
    matches!(character as u32,
        0x3005..=0x3007        // 々 〆 〇
        | 0x3040..=0x309F      // Hiragana
        | 0x30A0..=0x30FF      // Katakana
        | 0x31F0..=0x31FF      // Katakana phonetic extensions
        | 0x3400..=0x4DBF      // CJK extension A
        | 0x4E00..=0x9FFF      // CJK unified ideographs
        | 0xF900..=0xFAFF      // CJK compatibility ideographs
        | 0x20000..=0x3134F) // CJK extensions B to G
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &[&str]) {
        assert_eq!(words(input, true), expected, "input {input:?}");
    }

    #[test]
    fn folds_case_diacritics_and_compatibility_forms() {
        check("Émile Zola's CAFÉ", &["emile", "zola", "s", "cafe"]);
        check("Straße GRÜSSE Grüße", &["strasse", "grusse", "grusse"]);
        check("ﬁnance Ｐｕｔｉｎ", &["finance", "putin"]);
        check("Москва́ Ёлка", &["москва", "елка"]);
        check("ЙОД Йод йод АЯ ая", &["иод", "иод", "иод", "ая", "ая"]);
        check("Ἀθῆναι ΟΔΥΣΣΕΥΣ", &["αθηναι", "οδυσσευσ"]);
        check("İstanbul", &["istanbul"]);
        // Decomposed input folds like precomposed input.
        check("Cafe\u{301}", &["cafe"]);
    }

    #[test]
    fn cyrillic_shortcut_agrees_with_decomposition() {
        for code in 0x0400..=0x045F {
            let Some(character) = char::from_u32(code) else {
                continue;
            };
            let mut expected = String::new();
            decompose_compatible(character, |part| {
                if !is_combining_mark(part) {
                    expected.extend(part.to_lowercase());
                }
            });
            assert_eq!(
                words(&character.to_string(), true),
                [expected],
                "{character}"
            );
            assert_eq!(
                words(&format!("x{character}y"), false),
                [format!(
                    "x{}y",
                    words(&character.to_string(), false).concat()
                )]
            );
        }
    }

    #[test]
    fn splits_cjk_by_character_and_keeps_other_scripts_whole() {
        check(
            "習近平の東京へ",
            &["習", "近", "平", "の", "東", "京", "へ"],
        );
        check("CNN報道", &["cnn", "報", "道"]);
        check("مُحَمَّد القاهرة", &["محمد", "القاهرة"]);
        check("नमस्ते दुनिया", &["नमस्ते", "दुनिया"]);
        // Korean is written with spaces: syllables stay whole words.
        check("서울 특별시", &["서울", "특별시"]);
    }

    #[test]
    fn canonical_text_frames_words_with_spaces_and_maps_offsets() {
        let normalized = normalize("  Xi, Jinping!\n(Café)", true);
        assert_eq!(normalized.canon, " xi jinping cafe ");
        let last = normalized.words[2];
        assert_eq!((last.original_start, last.original_end), (16, 21));
        assert_eq!(normalized.word_at(4), 1);
    }

    #[test]
    fn segments_do_not_form_phrases_across_breaks() {
        let text = "Ann Lee, Bob Ray";
        let normalized = normalize_segments(text, &[(0, 7), (9, 16)], true, Normalized::default());
        assert_eq!(normalized.canon, " ann lee | bob ray ");
        assert_eq!(normalized.words[2].original_start, 9);
        assert_eq!(normalized.words[2].position, 2 + SEGMENT_GAP);
    }

    #[test]
    fn case_preserving_mode_keeps_case_only() {
        assert_eq!(words("US Café", false), ["US", "Cafe"]);
    }
}
