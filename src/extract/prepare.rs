//! What the parser is never given, and what the caller is told about it.
//!
//! html5ever handles each NUL character on its own (a token, a parse error, then dropped from
//! text or turned into U+FFFD elsewhere), so a page of NULs costs seconds of CPU per 5 MB and says
//! nothing; they are removed before parsing, which reads every real page the same. Nesting past
//! [`nesting::MAX_DEPTH`] and tags past [`nesting::MAX_TAGS`] are flattened (see `nesting`), and
//! that is reported in [`Notes`] so the daemon and `wirewatch extract` can say why such a page
//! reads oddly.

use std::borrow::Cow;

use super::nesting;

/// What extraction changed in a page before reading it. Extraction is pure and logs nothing; the
/// caller reports these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Notes {
    /// Elements nested deeper than [`nesting::MAX_DEPTH`] levels were flattened: their tags were
    /// ignored and their text kept, so that part of the page lost its structure (paragraphs,
    /// headings, furniture boxes) but not its words.
    pub flattened_nesting: bool,
    /// The page had more than [`nesting::MAX_TAGS`] tags; those past it were ignored and their
    /// text kept.
    pub dropped_tags: bool,
}

impl Notes {
    /// One line per change, for a log or stderr; empty when the page was read as it is.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.flattened_nesting {
            warnings.push(format!(
                "page nests elements deeper than {} levels; tags below that depth were ignored \
                 and their text kept as flat text",
                nesting::MAX_DEPTH
            ));
        }
        if self.dropped_tags {
            warnings.push(format!(
                "page has more than {} tags; tags past those were ignored and their text kept \
                 as flat text",
                nesting::MAX_TAGS
            ));
        }
        warnings
    }
}

/// The page text the parser reads, and what was changed to get it.
pub fn prepare(html: &str) -> (Cow<'_, str>, Notes) {
    let html = without_nul(html);
    let (limited, what) = nesting::limit_nesting(&html);
    let flattened = match limited {
        Cow::Borrowed(_) => None,
        Cow::Owned(limited) => Some(limited),
    };
    let notes = Notes {
        flattened_nesting: what.too_deep,
        dropped_tags: what.too_many,
    };
    match flattened {
        Some(limited) => (Cow::Owned(limited), notes),
        None => (html, notes),
    }
}

/// `html` without NUL characters (borrowed when it has none, which is every real page).
fn without_nul(html: &str) -> Cow<'_, str> {
    if html.contains('\0') {
        Cow::Owned(html.replace('\0', ""))
    } else {
        Cow::Borrowed(html)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_are_removed_and_nothing_else() {
        assert!(matches!(prepare("<p>plain</p>").0, Cow::Borrowed(_)));
        let (html, notes) = prepare("<p>a\0b\0\0</p>");
        assert_eq!(html, "<p>ab</p>");
        assert_eq!(notes, Notes::default());
        assert!(notes.warnings().is_empty());
    }

    #[test]
    fn flattened_nesting_is_noted() {
        let depth = nesting::MAX_DEPTH + 10;
        let page = format!("{}text{}", "<div>".repeat(depth), "</div>".repeat(depth));
        let (html, notes) = prepare(&page);
        assert!(notes.flattened_nesting);
        assert!(html.contains("text"));
        assert!(notes.warnings()[0].contains("deeper than 512 levels"));
        let shallow = format!("{}text{}", "<div>".repeat(10), "</div>".repeat(10));
        assert!(!prepare(&shallow).1.flattened_nesting);
    }
}
