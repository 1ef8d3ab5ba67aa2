//! Text helpers every target shares: a tiny rich-text model (plain runs and bold runs), the
//! parser that turns a snippet's `**hit**` into that model, per-target escaping, length measures,
//! and truncation that always cuts between whole characters and never inside markup.
//!
//! Truncation works on the *unescaped* text and re-renders each candidate, so an escape sequence
//! (`&amp;`, `\*`) or a bold pair can never be cut in half: markup is produced only around whole
//! runs, after the cut. It deliberately knows nothing about any one service: the caller passes
//! a predicate saying whether a rendered candidate fits, in whatever unit that service counts.

use crate::text_safety::is_invisible_control;

/// One run of text, bold or not. Text is unescaped; renderers escape it for their target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub bold: bool,
}

impl Span {
    pub fn plain(text: impl Into<String>) -> Span {
        Span {
            text: text.into(),
            bold: false,
        }
    }

    pub fn bold(text: impl Into<String>) -> Span {
        Span {
            text: text.into(),
            bold: true,
        }
    }
}

/// The ellipsis marking left-out text.
pub const ELLIPSIS: &str = "…";

/// Splits a snippet into plain and bold runs. The matcher wraps the hit in `**` but does not
/// escape `**` already present in the article text, so the marker pair is chosen by evidence:
/// first around exactly the `hit` text (known from the payload's offsets), then around text
/// equal to the matched `term` ignoring case, and only then the first `**…**` pair. Any other
/// `**` stays literal text, which each renderer escapes for its target.
pub fn parse_snippet(snippet: &str, hit: Option<&str>, term: &str) -> Vec<Span> {
    let markers: Vec<usize> = snippet
        .match_indices("**")
        .map(|(index, _)| index)
        .collect();
    let pairs = || {
        markers.iter().enumerate().flat_map(|(position, &open)| {
            markers[position + 1..]
                .iter()
                .filter(move |&&close| close >= open + 2)
                .map(move |&close| (open, close))
        })
    };
    let inner = |(open, close): (usize, usize)| &snippet[open + 2..close];
    let term = term.to_lowercase();
    let marked = hit
        .filter(|hit| !hit.is_empty())
        .and_then(|hit| pairs().find(|&pair| inner(pair) == hit))
        .or_else(|| {
            (!term.is_empty())
                .then(|| pairs().find(|&pair| inner(pair).to_lowercase() == term))
                .flatten()
        })
        .or_else(|| pairs().next());
    let mut spans = Vec::new();
    match marked {
        Some((open, close)) => {
            push_run(&mut spans, &snippet[..open], false);
            push_run(&mut spans, &snippet[open + 2..close], true);
            push_run(&mut spans, &snippet[close + 2..], false);
        }
        None => push_run(&mut spans, snippet, false),
    }
    spans
}

fn push_run(spans: &mut Vec<Span>, text: &str, bold: bool) {
    if !text.is_empty() {
        spans.push(Span {
            text: text.to_string(),
            bold,
        });
    }
}

/// The text of the runs without any markup.
pub fn visible(spans: &[Span]) -> String {
    spans.iter().map(|span| span.text.as_str()).collect()
}

/// Renders runs with `escape` applied to every run and bold runs wrapped in `open`/`close`.
pub fn render(spans: &[Span], escape: fn(&str) -> String, open: &str, close: &str) -> String {
    let mut out = String::new();
    for span in spans {
        if span.bold {
            out.push_str(open);
            out.push_str(&escape(&span.text));
            out.push_str(close);
        } else {
            out.push_str(&escape(&span.text));
        }
    }
    out
}

/// Length in UTF-16 code units: what JavaScript-based services (Discord, Slack, Telegram's
/// entity offsets) count as "characters". Never less than the count of Unicode scalars, so a
/// limit met in this unit is met in theirs whichever they use.
pub fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Marks that render as part of the previous character (combining accents, variation selectors,
/// emoji skin tones, joiners, tag characters): cutting before one would strip it from its base.
fn is_extending(character: char) -> bool {
    matches!(
        character as u32,
        0x0300..=0x036F
            | 0x0483..=0x0489
            | 0x0591..=0x05BD
            | 0x0610..=0x061A
            | 0x064B..=0x065F
            | 0x0E31..=0x0E3A
            | 0x1AB0..=0x1AFF
            | 0x1DC0..=0x1DFF
            | 0x200C..=0x200D
            | 0x20D0..=0x20FF
            | 0xFE00..=0xFE0F
            | 0xFE20..=0xFE2F
            | 0x1F3FB..=0x1F3FF
            | 0xE0020..=0xE007F
            | 0xE0100..=0xE01EF
    )
}

/// Byte offsets where `text` may be cut: character boundaries that do not separate a base
/// character from its combining marks, the two sides of a zero-width joiner, or the two
/// regional indicators of a flag.
fn cut_points(text: &str) -> Vec<usize> {
    let is_regional = |character: char| ('\u{1F1E6}'..='\u{1F1FF}').contains(&character);
    let mut points = vec![0];
    let mut previous: Option<char> = None;
    // Regional indicators pair up from the start of a run: a cut after an odd count splits one.
    let mut regional_run = 0usize;
    for (index, character) in text.char_indices() {
        let inside_flag = is_regional(character) && regional_run % 2 == 1;
        if index > 0 && !is_extending(character) && previous != Some('\u{200D}') && !inside_flag {
            points.push(index);
        }
        regional_run = if is_regional(character) {
            regional_run + 1
        } else {
            0
        };
        previous = Some(character);
    }
    points
}

/// The runs covering the first `end` bytes of their concatenated text.
fn prefix(spans: &[Span], end: usize) -> Vec<Span> {
    let mut out = Vec::new();
    let mut offset = 0;
    for span in spans {
        if offset >= end {
            break;
        }
        let take = (end - offset).min(span.text.len());
        // `end` comes from `cut_points` over the concatenated text, and span starts are char
        // boundaries, so `take` is a char boundary of this span; `get` keeps it panic-free anyway.
        if let Some(text) = span.text.get(..take) {
            push_run(&mut out, text, span.bold);
        }
        offset += span.text.len();
    }
    out
}

/// The cut-off runs with trailing whitespace removed and the ellipsis appended.
fn with_ellipsis(mut spans: Vec<Span>) -> Vec<Span> {
    while let Some(last) = spans.last_mut() {
        let trimmed = last.text.trim_end().len();
        last.text.truncate(trimmed);
        if last.text.is_empty() {
            spans.pop();
        } else {
            break;
        }
    }
    spans.push(Span::plain(ELLIPSIS));
    spans
}

/// How far back from the longest fitting cut we look for a word boundary, in bytes.
const WORD_SLACK: usize = 60;

/// The longest prefix of `spans` (ending in "…" when cut) for which `fits` holds, preferring to
/// cut at whitespace near the end. Returns an empty vector when not even "…" fits. `fits` must
/// be monotone: if a candidate fits, every shorter one does.
pub fn fit(spans: &[Span], fits: impl Fn(&[Span]) -> bool) -> Vec<Span> {
    if fits(spans) {
        return spans.to_vec();
    }
    let text = visible(spans);
    let points = cut_points(&text);
    let candidate = |end: usize| with_ellipsis(prefix(spans, end));

    // Binary search for the last cut point whose candidate fits; index 0 is the bare ellipsis.
    let (mut low, mut high) = (0usize, points.len());
    if !fits(&candidate(0)) {
        return Vec::new();
    }
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if fits(&candidate(points[middle])) {
            low = middle;
        } else {
            high = middle;
        }
    }
    let best = points[low];
    if let Some(space) = text[..best].rfind(char::is_whitespace) {
        // Only when the word boundary keeps most of the text: short limits cut mid-word.
        if best - space <= WORD_SLACK && space * 3 >= best * 2 {
            let shorter = candidate(space);
            if fits(&shorter) {
                return shorter;
            }
        }
    }
    candidate(best)
}

/// Drops leading context so at most about `before` characters precede the first bold run,
/// marking the cut with "…": a long snippet cut from its end must still show its hit.
pub fn focus(spans: &[Span], before: usize) -> Vec<Span> {
    let Some(hit) = spans.iter().position(|span| span.bold) else {
        return spans.to_vec();
    };
    let leading: String = spans[..hit].iter().map(|span| span.text.as_str()).collect();
    let count = leading.chars().count();
    if count <= before + 1 {
        return spans.to_vec();
    }
    // The first allowed cut point leaving at most `before` characters.
    let skip = count - before;
    let start = cut_points(&leading)
        .into_iter()
        .find(|&point| leading[..point].chars().count() >= skip)
        .unwrap_or(leading.len());
    // Marks left at the start belonged to whitespace (an orphan in the source): drop them too,
    // or they would combine with the ellipsis.
    let kept = leading[start..]
        .trim_start_matches(|character: char| character.is_whitespace() || is_extending(character));
    let mut out = vec![Span::plain(format!("{ELLIPSIS}{kept}"))];
    out.extend(spans[hit..].iter().cloned());
    out
}

/// Plain text cut to at most `max` UTF-16 units, "…" included.
pub fn truncate(text: &str, max: usize) -> String {
    visible(&fit(&[Span::plain(text)], |spans| {
        utf16_len(&visible(spans)) <= max
    }))
}

/// Every whitespace run (newlines included) as one space, control characters and invisible
/// format characters such as bidirectional overrides dropped ([`is_invisible_control`]),
/// trimmed: chat titles and snippet lines must stay on one line, and read as they look.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_space = false;
    for character in text.chars() {
        if character.is_whitespace() {
            if !in_space && !out.is_empty() {
                out.push(' ');
            }
            in_space = true;
        } else if !character.is_control() && !is_invisible_control(character) {
            out.push(character);
            in_space = false;
        }
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

/// Slack mrkdwn control characters: only `&`, `<` and `>` have (and need) escapes. For URLs
/// and our own markup; text that came from a feed goes through [`escape_slack_text`].
pub fn escape_slack(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            other => out.push(other),
        }
    }
    out
}

/// Slack mrkdwn for text that came from a feed: [`escape_slack`], and the characters that
/// would format it or ping someone replaced by look-alikes. Slack documents no escape for
/// `*bold*`, `_italic_`, `~strike~` or `` `code` `` (a backslash stays visible and does not stop
/// the formatting), and `verbatim` on a text object stops `@here` being parsed only in blocks,
/// not in the notification `text`. So `*` becomes U+2217 ∗, `~` U+223C ∼ and `` ` `` U+02CB ˋ
/// everywhere; `_` becomes U+02CD ˍ and `@` U+FF20 ＠ only where they could open or close
/// formatting or start a mention — `_` unless it joins two letters or digits (`moscow_times`,
/// `msg_9a1e…` stay as written: Slack does not italicise inside a word), `@` unless a letter or
/// digit precedes it (`desk@example.org` stays). Each replacement is one UTF-16 unit like the
/// original, so limits measured before still hold.
pub fn escape_slack_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous: Option<char> = None;
    let mut characters = text.chars().peekable();
    let word = |character: Option<char>| character.is_some_and(char::is_alphanumeric);
    while let Some(character) = characters.next() {
        let next = characters.peek().copied();
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '*' => out.push('\u{2217}'),
            '~' => out.push('\u{223C}'),
            '`' => out.push('\u{02CB}'),
            '_' if !(word(previous) && word(next)) => out.push('\u{02CD}'),
            '@' if !word(previous) => out.push('\u{FF20}'),
            other => out.push(other),
        }
        previous = Some(character);
    }
    out
}

/// HTML text and attribute escaping (Telegram HTML mode accepts the same named entities).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// How a Markdown dialect needs a `&` escaped when it would start an entity reference.
#[derive(Clone, Copy)]
enum Ampersand {
    /// Discord decodes no HTML entities: `&amp;` shows as typed.
    Literal,
    /// CommonMark: a backslash-escaped `&` never starts an entity reference.
    Backslash,
    /// `&` written as `&amp;`, which every entity-decoding renderer turns back into `&`.
    Entity,
}

/// Backslash-escapes Markdown specials (Discord, ntfy, Adaptive Cards), so article text like
/// `*` or `[x](y)` shows literally instead of becoming formatting or a disguised link. `#`, `-`
/// and `>` only start a heading, list or quote at the beginning of a line, so only there are
/// they escaped (every CommonMark-style renderer drops the backslash before punctuation).
/// This is Discord's dialect, which decodes no HTML entities; see [`escape_commonmark`] and
/// [`escape_adaptive_card`] for the two that do.
pub fn escape_markdown(text: &str) -> String {
    markdown_escaped(text, Ampersand::Literal)
}

/// [`escape_markdown`] for CommonMark renderers (ntfy's web and Android apps): a `&` that would
/// start an entity reference (`&amp;`, `&#38;`) is backslash-escaped too, so a title that
/// literally contains `&amp;` shows `&amp;`, not `&`. Other `&` stay as they are ("AT&T").
pub fn escape_commonmark(text: &str) -> String {
    markdown_escaped(text, Ampersand::Backslash)
}

/// [`escape_markdown`] for Adaptive Card TextBlocks (Teams): a `&` that would start an entity
/// reference is written `&amp;`. Backslash escapes are honoured unevenly across Teams clients
/// (microsoft/AdaptiveCards issues 5590 and 5758: mobile renderers showed or ignored them), and
/// the shared renderer decodes `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&nbsp;` before its Markdown
/// pass (AdaptiveCards pull request 4000) while the web one follows CommonMark — both decode
/// `&amp;amp;` once, to the `&amp;` the title had. Other `&` stay as they are ("AT&T").
pub fn escape_adaptive_card(text: &str) -> String {
    markdown_escaped(text, Ampersand::Entity)
}

/// Whether `rest`, the text just after a `&`, makes that `&` an entity reference in CommonMark
/// terms: a name, `#` and decimal digits, or `#x` and hex digits, then `;`. Any name counts
/// (not only HTML's), which only escapes a little more than needed.
fn starts_entity(rest: &str) -> bool {
    // Entity names are short: looking no further keeps escaping linear in long text.
    const LONGEST: usize = 32;
    let Some(end) = rest.bytes().take(LONGEST + 1).position(|byte| byte == b';') else {
        return false;
    };
    let body = &rest[..end];
    match body.strip_prefix('#') {
        Some(number) => match number.strip_prefix(['x', 'X']) {
            Some(hex) => !hex.is_empty() && hex.bytes().all(|digit| digit.is_ascii_hexdigit()),
            None => !number.is_empty() && number.bytes().all(|digit| digit.is_ascii_digit()),
        },
        None => !body.is_empty() && body.bytes().all(|letter| letter.is_ascii_alphanumeric()),
    }
}

fn markdown_escaped(text: &str, ampersand: Ampersand) -> String {
    let mut out = String::with_capacity(text.len());
    let mut line_start = true;
    for (index, character) in text.char_indices() {
        if character == '&' && starts_entity(&text[index + 1..]) {
            match ampersand {
                Ampersand::Literal => out.push('&'),
                Ampersand::Backslash => out.push_str("\\&"),
                Ampersand::Entity => out.push_str("&amp;"),
            }
            line_start = false;
            continue;
        }
        let special = matches!(
            character,
            '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' | '<'
        ) || (line_start && matches!(character, '#' | '-' | '>' | '+'));
        if special {
            out.push('\\');
        }
        out.push(character);
        if character == '\n' {
            line_start = true;
        } else if !character.is_whitespace() {
            line_start = false;
        }
    }
    out
}

/// Percent-encodes the characters that would end a Slack `<url|text>` link early.
pub fn slack_link_url(url: &str) -> String {
    url.replace('|', "%7C")
        .replace('<', "%3C")
        .replace('>', "%3E")
        .replace(' ', "%20")
}

/// Percent-encodes the characters that would end a Markdown `[text](url)` link early.
pub fn markdown_link_url(url: &str) -> String {
    url.replace('(', "%28")
        .replace(')', "%29")
        .replace(' ', "%20")
        .replace('<', "%3C")
        .replace('>', "%3E")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_snippet(snippet: &str, hit: Option<&str>, expected: &[(&str, bool)]) {
        let spans = parse_snippet(snippet, hit, "");
        let got: Vec<(&str, bool)> = spans
            .iter()
            .map(|span| (span.text.as_str(), span.bold))
            .collect();
        assert_eq!(got, expected, "{snippet}");
    }

    #[test]
    fn snippets_split_at_the_hit() {
        check_snippet(
            "**Putin** to Visit",
            Some("Putin"),
            &[("Putin", true), (" to Visit", false)],
        );
        check_snippet(
            "…a **b** c…",
            None,
            &[("…a ", false), ("b", true), (" c…", false)],
        );
        check_snippet("no marker", None, &[("no marker", false)]);
        check_snippet("****", None, &[]);
        check_snippet("odd ** only", None, &[("odd ** only", false)]);
    }

    #[test]
    fn known_hit_wins_over_earlier_literal_stars() {
        check_snippet(
            "a **x** b **Kremlin** c",
            Some("Kremlin"),
            &[("a **x** b ", false), ("Kremlin", true), (" c", false)],
        );
    }

    #[test]
    fn matched_term_wins_when_the_hit_is_unknown() {
        let spans = parse_snippet("a**b **Hit** c", None, "hit");
        assert_eq!(
            spans,
            vec![Span::plain("a**b "), Span::bold("Hit"), Span::plain(" c")]
        );
        // Without evidence, the first pair.
        let spans = parse_snippet("a**b **Hit** c", None, "other");
        assert_eq!(spans[1], Span::bold("b "));
    }

    #[test]
    fn truncation_prefers_word_boundaries() {
        assert_eq!(truncate("hello wonderful world", 12), "hello wonde…");
        assert_eq!(
            truncate("the quick brown fox jumps", 20),
            "the quick brown fox…"
        );
        assert_eq!(truncate("short", 12), "short");
        assert_eq!(truncate("abcdefghijklmnop", 5), "abcd…");
        assert_eq!(truncate("abc", 0), "");
    }

    #[test]
    fn truncation_keeps_combining_marks_with_their_base() {
        // "e" + combining acute, repeated: a cut may never separate the pair.
        let text = "e\u{301}".repeat(10);
        for max in 1..12 {
            let out = truncate(&text, max);
            assert!(!out.starts_with('\u{301}'));
            let body = out.trim_end_matches(ELLIPSIS);
            assert!(
                body.is_empty() || body.ends_with('\u{301}'),
                "{max}: {out:?}"
            );
        }
        let flags = "🇺🇦🇺🇦🇺🇦";
        for max in 0..7 {
            let body = truncate(flags, max).trim_end_matches(ELLIPSIS).to_string();
            assert_eq!(body.chars().count() % 2, 0, "{max}: {body:?}");
        }
        let family = "👨\u{200D}👩\u{200D}👧";
        let out = truncate(&format!("{family}{family}"), 9);
        assert!(out == format!("{family}…") || out == ELLIPSIS, "{out:?}");
    }

    #[test]
    fn bold_runs_stay_closed_when_cut_inside() {
        let spans = vec![
            Span::plain("aa "),
            Span::bold("bbbbbbbb"),
            Span::plain(" cc"),
        ];
        let out = fit(&spans, |spans| visible(spans).chars().count() <= 7);
        assert_eq!(render(&out, escape_html, "<b>", "</b>"), "aa <b>bbb</b>…");
    }

    #[test]
    fn focus_keeps_the_hit_in_view() {
        let spans = vec![
            Span::plain("a".repeat(500)),
            Span::bold("hit"),
            Span::plain(" end"),
        ];
        let out = focus(&spans, 10);
        assert_eq!(visible(&out), format!("…{}hit end", "a".repeat(10)));
        assert!(out[1].bold);
        let short = vec![Span::plain("ab "), Span::bold("hit")];
        assert_eq!(focus(&short, 10), short);
    }

    #[test]
    fn escapes() {
        assert_eq!(escape_slack("a<b>&c"), "a&lt;b&gt;&amp;c");
        assert_eq!(
            escape_html("<a href=\"x\">'"),
            "&lt;a href=&quot;x&quot;&gt;&#39;"
        );
        assert_eq!(escape_markdown("*a_b*"), "\\*a\\_b\\*");
        assert_eq!(
            one_line("a\u{202E}b \u{2066}c\u{2069} \u{200B} d"),
            "ab c d"
        );
    }

    #[test]
    fn slack_feed_text_loses_its_formatting_and_mentions() {
        assert_eq!(
            escape_slack_text("*b* _i_ ~s~ `c` @here <!channel> &"),
            "∗b∗ ˍiˍ ∼s∼ ˋcˋ ＠here &lt;!channel&gt; &amp;"
        );
        // inside words `_` and `@` are not markup and stay as written
        assert_eq!(
            escape_slack_text("moscow_times msg_9a1e desk@example.org _x a_ (@y)"),
            "moscow_times msg_9a1e desk@example.org ˍx aˍ (＠y)"
        );
        // one UTF-16 unit each, like the characters they replace
        let input = "*_~`@";
        assert_eq!(utf16_len(&escape_slack_text(input)), utf16_len(input));
    }

    #[test]
    fn entity_references_are_escaped_where_the_dialect_decodes_them() {
        let title = "&amp; &#38; &#x26; AT&T Q & A &nope &a b; &;";
        assert_eq!(escape_markdown(title), title);
        assert_eq!(
            escape_commonmark(title),
            "\\&amp; \\&#38; \\&#x26; AT&T Q & A &nope &a b; &;"
        );
        assert_eq!(
            escape_adaptive_card(title),
            "&amp;amp; &amp;#38; &amp;#x26; AT&T Q & A &nope &a b; &;"
        );
        // a name too long for any entity is not looked at further
        let long = format!("&{};", "a".repeat(40));
        assert_eq!(escape_commonmark(&long), long);
        assert_eq!(one_line("  a\n\n b\t\u{7}c  "), "a b c");
    }
}
