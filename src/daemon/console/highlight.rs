//! Snippets as the console shows them: the matcher wraps each hit in `**`; here that becomes a
//! list of plain and marked parts, which the templates write as text and `<mark>`text`</mark>`.
//! The parts are never HTML: escaping stays the template's job, so a snippet from a hostile feed
//! cannot smuggle markup in, and a stray `**` in a title only marks text.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Part {
    pub text: String,
    pub marked: bool,
}

pub fn parts(snippet: &str) -> Vec<Part> {
    snippet
        .split("**")
        .enumerate()
        .filter(|(_, text)| !text.is_empty())
        .map(|(index, text)| Part {
            text: text.to_string(),
            // the text between the first `**` and the second is a hit, and so on
            marked: index % 2 == 1,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_are_marked_and_the_rest_is_plain() {
        let marked = |parts: Vec<Part>| {
            parts
                .into_iter()
                .map(|part| (part.text, part.marked))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            marked(parts("Talks in **Tunis** end <b>early</b>")),
            [
                ("Talks in ".to_string(), false),
                ("Tunis".to_string(), true),
                (" end <b>early</b>".to_string(), false)
            ]
        );
        assert_eq!(marked(parts("**Xi**")), [("Xi".to_string(), true)]);
        assert!(parts("").is_empty());
    }
}
