//! Who wrote the article: the page's author sources (JSON-LD, `<meta>`, visible byline markup,
//! profile links) reduced to people's names as a newsroom credits them.
//!
//! A byline as published often carries more than names: co-authors joined by "and" or commas,
//! roles ("Edited by …", "Staff Writer", "Games Editor"), desk names ("WebMD Health News"),
//! credentials ("MA", "PhD"). [`credit`] splits co-authors and drops the rest. JSON-LD is trusted
//! first, except when all it has are account handles ("CC7567") and the page shows a human name.
//! This module does not guess names from body prose, and it does not reorder inverted names
//! ("Jong, Michiel de" stays as written).

use super::dom::Dom;
use super::image::byline_from_markup;
use super::metadata::{clean_author, PageMeta};

/// The article's authors, best source first; each one a name (see the module comment).
pub fn choose_authors(meta: &PageMeta, dom: &Dom) -> Vec<String> {
    let from_jsonld = names_of(meta.jsonld.authors.iter().map(String::as_str));
    if !from_jsonld.is_empty() && !from_jsonld.iter().all(|name| is_handle(name)) {
        return from_jsonld;
    }
    // Profile URLs (`article:author` often is one) are not names: try the next source.
    let keys = [
        "dc:creator",
        "dcterm:creator",
        "author",
        "parsely-author",
        "sailthru:author",
        "article:author",
    ];
    // Every value of the key: papers and standards list one `DC.Creator` per author.
    let from_meta = keys.iter().find_map(|key| {
        let values = meta
            .metas
            .iter()
            .filter(|(name, _)| name == key)
            .map(|(_, value)| value.as_str());
        Some(names_of(values)).filter(|names| !names.is_empty())
    });
    let from_markup = || {
        let names = names_of(byline_from_markup(dom).iter().map(String::as_str));
        if names.is_empty() {
            names_of(profile_link_name(dom).iter().map(String::as_str))
        } else {
            names
        }
    };
    let human = from_meta
        .filter(|names| !names.iter().all(|name| is_handle(name)))
        .unwrap_or_else(from_markup);
    if human.is_empty() || human.iter().all(|name| is_handle(name)) {
        // Only handles anywhere: a handle is still better than nothing.
        if !from_jsonld.is_empty() {
            return from_jsonld;
        }
    }
    human
}

/// Names from raw author values (URLs skipped), credited and without repeats.
fn names_of<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for value in values {
        if looks_like_url(value) {
            continue;
        }
        for name in credit(value) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

fn looks_like_url(s: &str) -> bool {
    let s = s.trim();
    s.starts_with("http://") || s.starts_with("https://") || s.starts_with('/')
}

/// An account handle rather than a name: one word with digits or underscores ("CC7567",
/// "jdoe_42"), or a lowercase login ("jdoe").
pub fn is_handle(name: &str) -> bool {
    let name = name.trim();
    if name.contains(char::is_whitespace) {
        return false;
    }
    let digits_or_underscore = name.chars().any(|c| c.is_ascii_digit() || c == '_');
    let has_letters = name.chars().any(char::is_alphabetic);
    // Scripts without case (Chinese, Japanese) write names as one word: not a handle.
    let all_lowercase_latin = name.chars().all(|c| c.is_ascii_lowercase() || c == '.');
    has_letters && (digits_or_underscore || all_lowercase_latin)
}

/// A byline as published → the people it credits as authors: "By Jane Roe and John Doe" →
/// ["Jane Roe", "John Doe"]; "Rob Ewaschuk Edited by Betsy Beyer" → ["Rob Ewaschuk"];
/// "Ben Silverman Games Editor" → ["Ben Silverman"]; "Jane Roe, Staff Writer" → ["Jane Roe"].
pub fn credit(raw: &str) -> Vec<String> {
    let text = clean_author(raw);
    let text = without_secondary_roles(&text);
    // "Martin Untersinger (avec Damien Leloup et Morgane Tual)": the parenthesis lists co-authors.
    let listed = text
        .replace(" (avec ", ", ")
        .replace(" (with ", ", ")
        .replace(" (mit ", ", ");
    let text = if listed == text {
        listed.as_str()
    } else {
        listed.trim_end_matches(')')
    };
    let mut names = Vec::new();
    for part in split_people(text) {
        // "Brenda Goodman, MA WebMD Health News": the letters belong to the name before the comma.
        let mut words: Vec<&str> = part.split_whitespace().collect();
        while words.len() > 1 && words.first().is_some_and(|word| is_credential(word)) {
            words.remove(0);
        }
        let name = without_role_tail(&words.join(" "));
        let name = name.trim_matches(|c: char| c == ',' || c == ';' || c.is_whitespace());
        if name.is_empty() || is_role_or_desk(name) || is_credential(name) {
            continue;
        }
        names.push(name.to_string());
    }
    names
}

/// Cuts the byline at a clause crediting someone else ("Edited by …", "Photos by …").
fn without_secondary_roles(text: &str) -> String {
    const CLAUSES: &[&str] = &[
        "edited by",
        "reviewed by",
        "fact-checked by",
        "fact checked by",
        "medically reviewed by",
        "photos by",
        "photographs by",
        "photography by",
        "illustrations by",
        "illustration by",
        "video by",
        "graphics by",
        "translated by",
        "additional reporting by",
        "with reporting by",
        "produced by",
        "updated by",
    ];
    let lower = text.to_lowercase();
    let cut = CLAUSES
        .iter()
        .filter_map(|clause| {
            lower.match_indices(clause).find_map(|(at, _)| {
                // whole words only, and never the whole byline
                let starts_word =
                    at == 0 || lower[..at].ends_with(|c: char| !c.is_alphanumeric() && c != '-');
                (starts_word && at > 0).then_some(at)
            })
        })
        .min();
    match cut {
        // `lower` can differ in byte length from `text` only for a few non-ASCII letters; the
        // clauses are ASCII, so fall back to the whole text when the index is not a boundary.
        Some(at) if lower.len() == text.len() && text.is_char_boundary(at) => text[..at]
            .trim_end_matches(|c: char| c.is_whitespace() || ",;|–—-·".contains(c))
            .to_string(),
        _ => text.to_string(),
    }
}

/// Splits co-authors: on ";" and "|", on " and " / " & " / " und " / " et " / " y " / " e "
/// between multi-word names, and on commas when the comma parts are names rather than an
/// inverted name ("Jong, Michiel de") or a name with a credential ("Brenda Goodman, MA").
fn split_people(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    for group in text.split([';', '|', '•', '·']) {
        let comma_parts: Vec<&str> = group.split(',').map(str::trim).collect();
        let names_with_commas = comma_parts.len() > 1
            && comma_parts.iter().skip(1).all(|part| {
                let words = part
                    .split_whitespace()
                    .filter(|w| !is_conjunction(w))
                    .count();
                words >= 2 || is_role_or_desk(part) || is_credential(part) || part.is_empty()
            })
            && comma_parts
                .first()
                .is_some_and(|first| first.split_whitespace().count() >= 2);
        let pieces: Vec<&str> = if names_with_commas {
            comma_parts
        } else {
            vec![group.trim()]
        };
        for piece in pieces {
            parts.extend(split_conjunctions(piece));
        }
    }
    parts
}

fn is_conjunction(word: &str) -> bool {
    matches!(
        word.to_lowercase().as_str(),
        "and" | "&" | "und" | "et" | "y" | "e" | "og" | "en" | "och" | "и"
    )
}

/// "Jane Roe and John Doe" → both; "and" inside a one-word side ("Mac & i", "Simon and
/// Garfunkel") is part of a name.
fn split_conjunctions(piece: &str) -> Vec<String> {
    let words: Vec<&str> = piece.split_whitespace().collect();
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for (index, word) in words.iter().enumerate() {
        let rest = words.len() - index - 1;
        let leading_and = current.is_empty() && is_conjunction(word);
        if leading_and {
            continue; // ", and John Doe"
        }
        if is_conjunction(word) && current.len() >= 2 && rest >= 2 {
            out.push(current.join(" "));
            current.clear();
        } else {
            current.push(word);
        }
    }
    if !current.is_empty() {
        out.push(current.join(" "));
    }
    out
}

/// Job-title nouns that end a role ("Games Editor", "Senior Staff Writer").
const ROLE_NOUNS: &[&str] = &[
    "editor",
    "editors",
    "writer",
    "writers",
    "reporter",
    "reporters",
    "correspondent",
    "correspondents",
    "columnist",
    "contributor",
    "contributors",
    "producer",
    "critic",
    "analyst",
    "photographer",
    "staff",
    "desk",
    "team",
    "newsroom",
    "bureau",
    "journalist",
    "rédaction",
    "redaktion",
    "redacción",
];

/// Words that qualify a role noun ("Senior", "Games", "White House").
const ROLE_QUALIFIERS: &[&str] = &[
    "senior",
    "staff",
    "chief",
    "managing",
    "associate",
    "assistant",
    "deputy",
    "contributing",
    "executive",
    "special",
    "political",
    "politics",
    "foreign",
    "business",
    "games",
    "gaming",
    "sports",
    "sport",
    "tech",
    "technology",
    "science",
    "health",
    "news",
    "world",
    "culture",
    "entertainment",
    "opinion",
    "features",
    "digital",
    "social",
    "media",
    "video",
    "photo",
    "data",
    "investigative",
    "national",
    "local",
    "metro",
    "legal",
    "economics",
    "economy",
    "finance",
    "financial",
    "markets",
    "travel",
    "food",
    "music",
    "film",
    "arts",
    "style",
    "fashion",
    "education",
    "environment",
    "climate",
    "security",
    "breaking",
    "weekend",
    "lead",
    "head",
    "global",
    "european",
    "defense",
    "diplomatic",
    "white",
    "house",
    "science",
    "web",
    "online",
    "copy",
    "general",
    "section",
    "deals",
    "reviews",
    "review",
    "senior-staff",
];

fn is_role_noun(word: &str) -> bool {
    ROLE_NOUNS.contains(
        &word
            .to_lowercase()
            .trim_matches(|c: char| !c.is_alphanumeric()),
    )
}

fn is_role_qualifier(word: &str) -> bool {
    ROLE_QUALIFIERS.contains(
        &word
            .to_lowercase()
            .trim_matches(|c: char| !c.is_alphanumeric()),
    )
}

/// Drops a job title after the name: "Ben Silverman Games Editor" → "Ben Silverman". The name
/// keeps at least two words, so "Anna Editor" stays a name.
fn without_role_tail(part: &str) -> String {
    let mut words: Vec<&str> = part.split_whitespace().collect();
    let ends_with_news = words.len() > 3
        && words
            .last()
            .is_some_and(|word| word.eq_ignore_ascii_case("news"));
    let role_at = words
        .iter()
        .enumerate()
        .skip(2)
        .find(|(_, word)| is_role_noun(word))
        .map(|(index, _)| index)
        .or(ends_with_news.then(|| words.len() - 1));
    let Some(role_at) = role_at else {
        return part.trim().to_string();
    };
    let desk = is_desk_word(words[role_at]);
    // Everything after the role noun is more title ("Editor at Large", "Editor, Games").
    words.truncate(role_at);
    while words.len() > 2 && words.last().is_some_and(|word| is_role_qualifier(word)) {
        words.pop();
    }
    // A desk is named after its outlet: "Kelli Miller WebMD Health News", "John Smith Reuters
    // Staff", "Meg Wagner NEW YORK DAILY NEWS" (an outlet in capitals after a name that is not).
    if desk && words.len() > 2 {
        let capitals = |word: &&str| {
            word.chars().any(char::is_alphabetic) && !word.chars().any(char::is_lowercase)
        };
        let name_in_capitals = words.iter().take(2).all(capitals);
        let mut popped = false;
        while !name_in_capitals && words.len() > 2 && words.last().is_some_and(capitals) {
            words.pop();
            popped = true;
        }
        if !popped {
            words.pop();
        }
    }
    words.join(" ")
}

fn is_desk_word(word: &str) -> bool {
    matches!(
        word.to_lowercase().as_str(),
        "desk" | "staff" | "team" | "newsroom" | "bureau" | "news" | "rédaction" | "redaktion"
    )
}

/// A part that is a role or a desk, not a person: "Staff Writer", "WebMD Health News",
/// "Foreign Desk", "Reuters Staff".
fn is_role_or_desk(part: &str) -> bool {
    let words: Vec<&str> = part.split_whitespace().collect();
    let Some(last) = words.last() else {
        return false;
    };
    let desk_word = is_desk_word(last);
    let all_role = words
        .iter()
        .all(|word| is_role_noun(word) || is_role_qualifier(word));
    all_role || (desk_word && words.len() <= 4)
}

/// Academic and professional letters after a name ("MA", "PhD", "MD", "RN").
fn is_credential(part: &str) -> bool {
    let normalized: String = part
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_uppercase();
    matches!(
        normalized.as_str(),
        "MA" | "MS"
            | "MSC"
            | "BA"
            | "BS"
            | "BSC"
            | "MD"
            | "PHD"
            | "DO"
            | "RN"
            | "MPH"
            | "MBA"
            | "JD"
            | "DDS"
            | "PHARMD"
            | "CPA"
            | "CFA"
            | "FACP"
            | "MSN"
            | "LCSW"
            | "RD"
    )
}

/// An author named only by a link to their profile page (`/profile/…`, `/author/…`, …) after
/// the headline, outside navigation and comments.
pub fn profile_link_name(dom: &Dom) -> Option<String> {
    const PATHS: &[&str] = &[
        "/profile/",
        "/profiles/",
        "/author/",
        "/authors/",
        "/autor/",
        "/auteur/",
        "/writer/",
        "/writers/",
        "/journalist/",
        "/journalists/",
        "/people/",
        "/staff/",
        "/contributor/",
        "/contributors/",
        "/by/",
    ];
    let headline = (0..dom.len()).find(|&i| dom.tag(i) == "h1").unwrap_or(0);
    let mut i = headline;
    while i < dom.len() {
        let tag = dom.tag(i);
        if matches!(
            tag,
            "nav" | "footer" | "aside" | "script" | "style" | "form" | "template"
        ) || is_secondary_area(&dom.class_id(i))
        {
            i = dom.nodes[i].end.max(i + 1);
            continue;
        }
        if tag == "a" {
            let href = dom.attr(i, "href").unwrap_or("").to_ascii_lowercase();
            let path = href
                .split_once("://")
                .map(|(_, rest)| rest.find('/').map_or("", |at| &rest[at..]))
                .unwrap_or(href.as_str())
                .to_string();
            if PATHS.iter().any(|prefix| path.contains(prefix)) {
                let text = clean_author(&dom.text(i, &[]));
                if looks_like_name(&text) {
                    return Some(text);
                }
            }
        }
        i += 1;
    }
    None
}

fn is_secondary_area(class_id: &str) -> bool {
    let lower = class_id.to_ascii_lowercase();
    [
        "nav", "menu", "comment", "related", "footer", "sidebar", "promo", "teaser",
    ]
    .iter()
    .any(|word| lower.contains(word))
}

/// Two to four words, each starting with an uppercase letter (or a particle such as "de").
fn looks_like_name(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    (2..=4).contains(&words.len())
        && words.iter().all(|word| {
            word.chars().next().is_some_and(char::is_uppercase)
                || matches!(
                    *word,
                    "de" | "da" | "van" | "von" | "der" | "di" | "la" | "le"
                )
        })
        && !words.iter().any(|word| is_role_noun(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Html;

    fn check(raw: &str, expected: &[&str]) {
        assert_eq!(credit(raw), expected, "byline {raw:?}");
    }

    #[test]
    fn co_authors_are_split() {
        check("By Jane Roe and John Doe", &["Jane Roe", "John Doe"]);
        check(
            "Jane Roe, John Doe and Max Mustermann",
            &["Jane Roe", "John Doe", "Max Mustermann"],
        );
        check(
            "Jane Roe, John Doe, and Max Mustermann",
            &["Jane Roe", "John Doe", "Max Mustermann"],
        );
        check("Jane Roe | John Doe", &["Jane Roe", "John Doe"]);
        check(
            "Martin Untersinger (avec Damien Leloup et Morgane Tual)",
            &["Martin Untersinger", "Damien Leloup", "Morgane Tual"],
        );
    }

    #[test]
    fn names_that_look_like_lists_stay_whole() {
        check("Jong, Michiel de", &["Jong, Michiel de"]);
        check("Kooman, F.", &["Kooman, F."]);
        check("Mac & i", &["Mac & i"]);
        check(
            "Organization for Transformative Works",
            &["Organization for Transformative Works"],
        );
        check("肖春芳", &["肖春芳"]);
        check("Anna Editor", &["Anna Editor"]);
    }

    #[test]
    fn roles_desks_and_credentials_are_dropped() {
        check("Rob Ewaschuk Edited by Betsy Beyer", &["Rob Ewaschuk"]);
        check("Ben Silverman Games Editor", &["Ben Silverman"]);
        check("Jane Roe, Staff Writer", &["Jane Roe"]);
        check("Jane Roe Senior Staff Writer", &["Jane Roe"]);
        check(
            "By Brenda Goodman, MA WebMD Health News",
            &["Brenda Goodman"],
        );
        check("By Kelli Miller\n  WebMD Health News", &["Kelli Miller"]);
        check("Jane Roe, Foreign Desk", &["Jane Roe"]);
        check("Meg Wagner NEW YORK DAILY NEWS", &["Meg Wagner"]);
        check("Reuters Staff", &[]);
    }

    #[test]
    fn handles_are_told_from_names() {
        assert!(is_handle("CC7567"));
        assert!(is_handle("jdoe_42"));
        assert!(is_handle("jdoe"));
        assert!(!is_handle("James Akinaka"));
        assert!(!is_handle("肖春芳"));
        assert!(!is_handle("Madonna"));
    }

    fn authors_of(html: &str) -> Vec<String> {
        let doc = Html::parse_document(html);
        let dom = Dom::new(&doc);
        let meta = super::super::metadata::collect(&dom);
        choose_authors(&meta, &dom)
    }

    #[test]
    fn a_human_name_beats_a_jsonld_handle() {
        let html = r#"<html><head><script type="application/ld+json">
            {"@type":"NewsArticle","headline":"H","author":{"@type":"Person","name":"CC7567"}}
            </script><meta name="author" content="James Akinaka"></head><body><h1>H</h1></body></html>"#;
        assert_eq!(authors_of(html), vec!["James Akinaka"]);
        let markup = r#"<html><head><script type="application/ld+json">
            {"@type":"NewsArticle","headline":"H","author":{"@type":"Person","name":"CC7567"}}
            </script></head><body><h1>H</h1><p class="byline">By James Akinaka</p></body></html>"#;
        assert_eq!(authors_of(markup), vec!["James Akinaka"]);
        // Only a handle anywhere: keep it.
        let only = r#"<html><head><script type="application/ld+json">
            {"@type":"NewsArticle","headline":"H","author":{"@type":"Person","name":"CC7567"}}
            </script></head><body><h1>H</h1></body></html>"#;
        assert_eq!(authors_of(only), vec!["CC7567"]);
    }

    #[test]
    fn authors_linked_only_from_profile_pages() {
        let html = r#"<html><body><nav><a href="/profile/editor-in-chief">Chief Person</a></nav>
            <h1>Headline</h1><div class="meta"><a href="https://news.example/profile/jane-roe">Jane Roe</a>
            <span>May 14, 2024</span></div><p>Body text.</p></body></html>"#;
        assert_eq!(authors_of(html), vec!["Jane Roe"]);
        let rel = r#"<html><body><h1>Headline</h1><div class="meta">By <a rel="author" href="/u/7">John Doe</a></div>
            <p>Body text.</p></body></html>"#;
        assert_eq!(authors_of(rel), vec!["John Doe"]);
    }

    #[test]
    fn every_creator_meta_is_an_author() {
        let html = r#"<html><head><meta name="DC.Creator" content="Kooman, F.">
            <meta name="DC.Creator" content="Jong, Michiel de"></head><body><h1>H</h1></body></html>"#;
        assert_eq!(authors_of(html), vec!["Kooman, F.", "Jong, Michiel de"]);
    }

    #[test]
    fn meta_bylines_are_credited_too() {
        let html = r#"<html><head><meta name="author" content="Jane Roe, John Doe"></head>
            <body><h1>H</h1></body></html>"#;
        assert_eq!(authors_of(html), vec!["Jane Roe", "John Doe"]);
    }
}
