//! Invisible format characters that feed text may not carry into a chat or email message. A
//! bidirectional override or isolate (U+202A–U+202E, U+2066–U+2069) reverses or detaches
//! everything after it up to its closing mark, which a title cut to fit a service's limit has
//! lost: "the U+202E evil.exe txt.report" then displays as a different file name or link text, the
//! classic spoofing trick. Zero-width spaces, word joiners, invisible operators and the byte
//! order mark hide text inside words (a keyword that no longer looks split, a name that looks
//! like another). None of these is needed to show a headline, so messages drop them.
//!
//! Kept on purpose, because real text needs them and they cannot reorder letters:
//! - U+200C ZERO WIDTH NON-JOINER and U+200D ZERO WIDTH JOINER: Persian, Urdu and Indic scripts
//!   spell words with them, and emoji sequences (👨‍👩‍👧) are joined by them.
//! - U+200E LEFT-TO-RIGHT MARK, U+200F RIGHT-TO-LEFT MARK and U+061C ARABIC LETTER MARK: the
//!   implicit marks of the Unicode bidirectional algorithm (UAX #9) act like one invisible strong
//!   letter of their direction. They only settle the direction of the neutral characters next to
//!   them (punctuation, spaces, digits' separators) — exactly what Arabic and Hebrew publishers
//!   use them for — and, unlike an override, cannot reverse a run of letters or reach past the
//!   paragraph; a mark that loses its neighbour to a cut changes nothing else.
//! - U+00AD SOFT HYPHEN (a hyphenation hint), variation selectors and tag characters (emoji
//!   presentation and subdivision flags), which only change how a visible character is drawn.
//!
//! Only the views that messages are built from are cleaned ([`super::text::one_line`] calls
//! [`is_invisible_control`]); the stored payload, which the generic webhook sink sends as data,
//! keeps the publisher's text exactly.

/// Whether `character` is an invisible format character that messages drop (see the module
/// documentation for what is kept and why).
pub fn is_invisible_control(character: char) -> bool {
    matches!(
        character as u32,
        // ZERO WIDTH SPACE
        0x200B
            // LRE, RLE, PDF, LRO, RLO: embeddings and overrides
            | 0x202A..=0x202E
            // WORD JOINER, FUNCTION APPLICATION, INVISIBLE TIMES, SEPARATOR, PLUS
            | 0x2060..=0x2064
            // LRI, RLI, FSI, PDI: isolates
            | 0x2066..=0x2069
            // deprecated symmetric-swapping, Arabic-shaping and digit-shape controls
            | 0x206A..=0x206F
            // MONGOLIAN VOWEL SEPARATOR (a format character since Unicode 6.3)
            | 0x180E
            // ZERO WIDTH NO-BREAK SPACE, the byte order mark
            | 0xFEFF
            // interlinear annotation anchor, separator, terminator
            | 0xFFF9..=0xFFFB
    )
}

/// `text` without its invisible format characters.
pub fn strip_invisible_controls(text: &str) -> String {
    text.chars()
        .filter(|&character| !is_invisible_control(character))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_overrides_and_isolates_are_dropped() {
        let hostile = "the \u{202E}evil.exe txt.report \u{2066}x\u{2069} \u{202A}\u{202B}\u{202C}\u{202D}\u{2067}\u{2068}";
        assert_eq!(
            strip_invisible_controls(hostile),
            "the evil.exe txt.report x "
        );
        assert_eq!(
            strip_invisible_controls("a\u{200B}b\u{2060}c\u{FEFF}d\u{180E}e\u{2064}f"),
            "abcdef"
        );
    }

    #[test]
    fn right_to_left_text_and_joiners_are_kept() {
        for text in [
            // Arabic, with an Arabic letter mark before the digits
            "بوتين يزور الصين في أول رحلة خارجية \u{061C}2024",
            // Hebrew, with a right-to-left mark after the Latin name
            "פוטין יבקר בסין – Reuters\u{200F} מדווח",
            // Persian: the non-joiner is part of the spelling of "می‌خواهم"
            "می\u{200C}خواهم",
            // an emoji family joined by ZWJ, a left-to-right mark
            "👨\u{200D}👩\u{200D}👧 \u{200E}ok",
        ] {
            assert_eq!(strip_invisible_controls(text), text);
        }
    }
}
