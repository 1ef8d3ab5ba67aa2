//! Snippets: a short excerpt of a field around one hit, with the hit highlighted, for alerts.
//!
//! The excerpt is about `WIDTH` characters, cut at whitespace so no word is split, marked with
//! "…" where text was left out, whitespace runs collapsed to one space (article bodies carry
//! newlines and indentation that would break a chat message). The hit is wrapped in `**` as
//! Markdown bold, which Slack, Discord and most chat sinks render. It does not escape Markdown in
//! the surrounding text: sinks that need escaping do it for their own format.

/// Target length of a snippet in characters, hit included.
const WIDTH: usize = 160;

/// The excerpt of `text` around bytes `start..end`, hit highlighted. Offsets that are out of
/// range or not on character boundaries are clamped to the nearest valid ones.
pub(crate) fn snippet(text: &str, start: usize, end: usize) -> String {
    let start = floor_boundary(text, start.min(text.len()));
    let end = floor_boundary(text, end.clamp(start, text.len()));
    let hit_chars = text[start..end].chars().count();
    let context = WIDTH.saturating_sub(hit_chars).max(40);
    let before_budget = context / 2;
    let after_budget = context - before_budget;

    // Walk back `before_budget` characters, then forward to the next whitespace so the
    // excerpt starts on a whole word.
    let mut from = 0;
    let mut cut_before = false;
    let before = &text[..start];
    if let Some((index, _)) = before.char_indices().rev().nth(before_budget) {
        cut_before = true;
        from = match text[index..start].find(char::is_whitespace) {
            Some(space) => index + space,
            None => start,
        };
    }

    let after = &text[end..];
    let mut to = text.len();
    let mut cut_after = false;
    if let Some((index, _)) = after.char_indices().nth(after_budget) {
        cut_after = true;
        to = match after[..index].rfind(char::is_whitespace) {
            Some(space) => end + space,
            None => end,
        };
    }

    let mut out = String::with_capacity(WIDTH * 2);
    if cut_before {
        out.push('…');
    }
    push_collapsed(&mut out, &text[from..start], true, false);
    out.push_str("**");
    push_collapsed(&mut out, &text[start..end], true, true);
    out.push_str("**");
    push_collapsed(&mut out, &text[end..to], false, true);
    if cut_after {
        out.push('…');
    }
    out
}

fn floor_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// Appends `text` with each run of whitespace replaced by one space, and none at the start or
/// the end when asked to trim there.
fn push_collapsed(out: &mut String, text: &str, trim_start: bool, trim_end: bool) {
    let text = if trim_start { text.trim_start() } else { text };
    let text = if trim_end { text.trim_end() } else { text };
    // Whole words at a time: pushing character by character cost most of a snippet.
    let mut space = false;
    for (index, word) in text.split(char::is_whitespace).enumerate() {
        // Every piece but the first follows a whitespace character.
        space |= index > 0;
        if !word.is_empty() {
            if space {
                out.push(' ');
            }
            out.push_str(word);
            space = false;
        }
    }
    if space {
        out.push(' ');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, hit: &str, expected: &str) {
        let start = text.find(hit).unwrap_or(0);
        assert_eq!(snippet(text, start, start + hit.len()), expected);
    }

    #[test]
    fn short_text_is_kept_whole() {
        check(
            "Putin met Xi in\n\nBeijing.",
            "Xi",
            "Putin met **Xi** in Beijing.",
        );
    }

    #[test]
    fn long_text_is_cut_at_words_with_ellipses() {
        let filler = "word ".repeat(60);
        let text = format!("{filler}Sanctions hit {filler}");
        let out = snippet(&text, 300, 309);
        assert!(out.starts_with("…word"), "{out}");
        assert!(out.ends_with("word…"), "{out}");
        assert!(out.contains(" **Sanctions** hit "), "{out}");
        let length = out.chars().count();
        assert!((140..=175).contains(&length), "{length}: {out}");
    }

    #[test]
    fn whitespace_collapses_as_before() {
        for (text, trim_start, trim_end, expected) in [
            ("", false, false, ""),
            ("   ", false, false, " "),
            ("   ", true, false, ""),
            ("   ", false, true, ""),
            (" a  b\n\tc ", false, false, " a b c "),
            (" a  b\n\tc ", true, true, "a b c"),
            ("a\u{a0}\u{2003}b ", true, false, "a b "),
            ("\u{3000}é", false, true, " é"),
        ] {
            let mut out = String::new();
            push_collapsed(&mut out, text, trim_start, trim_end);
            assert_eq!(out, expected, "{text:?} {trim_start} {trim_end}");
        }
    }

    #[test]
    fn bad_offsets_are_clamped() {
        assert_eq!(snippet("é", 1, 99), "**é**");
        assert_eq!(snippet("", 5, 9), "****");
    }
}
