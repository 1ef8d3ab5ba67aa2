//! User templates: an operator-written minijinja template per sink, rendered over the alert
//! payload (the same JSON object the generic webhook sends: `id`, `watchlist`, `source`,
//! `matches`, `article.title`, …), producing that sink's message text or body. Only alerts are
//! rendered through it: source-health messages have no `watchlist` or `article` for a template
//! to name, so they always use the built-in health format (`sink::format::health`).
//!
//! Undefined variables are errors, not empty strings, so a typo such as `{{ artcle.title }}`
//! fails loudly — at start-up through [`check_template`] when it is a syntax error, at the first
//! alert when it is a name. Errors name the template line. The `tojson` filter is available for
//! templates that produce JSON. Output is not escaped for any target: a template writing HTML or
//! Markdown must escape with the `escape` filter itself. It deliberately offers no includes,
//! imports from files, or access to anything but the payload.

use minijinja::{Environment, UndefinedBehavior};

/// A template that cannot be compiled or rendered. The text names the line where known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template line {line}: {message}")]
    AtLine { line: usize, message: String },
    #[error("template: {message}")]
    Unlocated { message: String },
}

impl TemplateError {
    /// Converts minijinja's error, quoting the offending part of `template` when it is known
    /// ("undefined value" alone does not say which of a line's variables is misspelled).
    fn new(error: &minijinja::Error, template: &str) -> TemplateError {
        let mut message = match error.detail() {
            Some(detail) => format!("{}: {detail}", error.kind()),
            None => error.kind().to_string(),
        };
        // A syntax error's range is the token where parsing stopped, rarely the mistake itself.
        let quoted = (error.kind() != minijinja::ErrorKind::SyntaxError)
            .then(|| error.range())
            .flatten()
            .and_then(|range| template.get(range))
            .map(|part| quote(part, 60))
            .filter(|part| !part.is_empty());
        if let Some(part) = quoted {
            message.push_str(&format!(" at `{part}`"));
        }
        match error.line() {
            Some(line) => TemplateError::AtLine { line, message },
            None => TemplateError::Unlocated { message },
        }
    }
}

/// The name templates are registered under; it appears nowhere in error texts.
const NAME: &str = "template";

fn environment() -> Environment<'static> {
    let mut environment = Environment::new();
    environment.set_undefined_behavior(UndefinedBehavior::Strict);
    environment
}

/// Compiles `template` without rendering it: for validating configuration at start-up.
pub fn check_template(template: &str) -> Result<(), TemplateError> {
    let mut environment = environment();
    environment
        .add_template(NAME, template)
        .map_err(|error| TemplateError::new(&error, template))?;
    Ok(())
}

/// Renders `template` with the alert payload's top-level keys as variables.
pub fn render_template(template: &str, alert: &serde_json::Value) -> Result<String, TemplateError> {
    let convert = |error: minijinja::Error| TemplateError::new(&error, template);
    let mut environment = environment();
    environment.add_template(NAME, template).map_err(convert)?;
    let compiled = environment.get_template(NAME).map_err(convert)?;
    compiled.render(alert).map_err(convert)
}

/// A part of a template for an error message: on one line (whitespace runs as one space, control
/// and invisible format characters dropped) and at most `limit` characters.
fn quote(part: &str, limit: usize) -> String {
    let line: String = part
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|character| {
            !character.is_control() && !crate::text_safety::is_invisible_control(*character)
        })
        .collect();
    crate::model::clip(&line, limit).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alert() -> serde_json::Value {
        json!({
            "watchlist": "russia-china",
            "article": { "title": "Putin to Visit China", "image": null },
            "matches": [ { "term": "Putin", "snippet": "**Putin** to Visit" } ],
        })
    }

    fn check(template: &str, expected: Result<&str, &str>) {
        let got = render_template(template, &alert());
        match expected {
            Ok(text) => assert_eq!(got, Ok(text.to_string()), "{template}"),
            Err(message) => assert_eq!(
                got.map_err(|error| error.to_string()),
                Err(message.to_string()),
                "{template}"
            ),
        }
    }

    #[test]
    fn renders_payload_fields() {
        check(
            "{{ article.title }} [{{ watchlist }}]",
            Ok("Putin to Visit China [russia-china]"),
        );
        check(
            "{% for m in matches %}{{ m.term }}{% endfor %}{% if article.image %}!{% endif %}",
            Ok("Putin"),
        );
        check("{{ article.title|tojson }}", Ok("\"Putin to Visit China\""));
    }

    #[test]
    fn errors_name_the_line() {
        check(
            "line one\n{{ artcle.title }}",
            Err("template line 2: undefined value at `artcle.title`"),
        );
        check(
            "a\nb\n{% for m in matches %}",
            Err("template line 3: syntax error: unexpected end of input, expected end of block"),
        );
        check(
            "{{ watchlist|nosuch }}",
            Err("template line 1: unknown filter: filter nosuch is unknown at `nosuch`"),
        );
        assert_eq!(
            check_template("{{ x }"),
            Err(TemplateError::AtLine {
                line: 1,
                message: "syntax error: unexpected `}`, expected end of variable block".into()
            })
        );
        assert_eq!(check_template("{{ anything_goes }}"), Ok(()));
    }
}
