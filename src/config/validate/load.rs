//! Reading the TOML text: `${VAR}` substitution, deserializing each table on its own, and the
//! problem collector every other part of validation reports into.
//!
//! Nothing here knows what a key means; the table modules check meaning. Deserialization errors
//! are turned into path-tagged problems, and a key with the wrong type is left out so the table's
//! other checks still run.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;

use crate::config::ConfigProblem;

/// The problems found so far, and the paths whose value had the wrong type (left out, so the
/// checks that then miss it must not report it a second time).
pub(super) struct Problems(Vec<ConfigProblem>, BTreeSet<String>);

impl Problems {
    pub(super) fn new() -> Problems {
        Problems(Vec::new(), BTreeSet::new())
    }

    pub(super) fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigProblem {
            path: path.into(),
            message: message.into(),
        });
    }

    /// What to report: a value whose `${VAR}` failed, or whose type was wrong, is reported once,
    /// not again as an invalid or missing value.
    pub(super) fn into_reported(mut self) -> Vec<ConfigProblem> {
        let mut unresolved: BTreeSet<String> = self
            .0
            .iter()
            .filter(|problem| problem.message.contains("environment variable"))
            .map(|problem| problem.path.clone())
            .collect();
        unresolved.extend(self.1.iter().cloned());
        let mut reported = BTreeSet::new();
        self.0.retain(|problem| {
            !unresolved.contains(&problem.path) || reported.insert(problem.path.clone())
        });
        self.0
    }
}

/// The file's tables with `${VAR}` substituted; `None` (after saying why) when it is not TOML.
pub(super) fn read(
    text: &str,
    environment: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) -> Option<toml::Table> {
    let mut table: toml::Table = match toml::from_str(text) {
        Ok(table) => table,
        Err(error) => {
            // the offending line is often the one holding a secret: a bounded, masked excerpt
            problems.add("", crate::config::excerpt::syntax_error(text, &error));
            return None;
        }
    };
    for (key, value) in table.iter_mut() {
        substitute_environment(value, key, environment, problems);
    }
    Some(table)
}

/// TOML errors span several lines (a source excerpt with a caret); one line reads better in a list.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && *line != "|")
        .collect::<Vec<_>>()
        .join(" ")
}

/// Replaces `${NAME}` in every string value; `$${` stands for a literal `${`.
fn substitute_environment(
    value: &mut toml::Value,
    path: &str,
    environment: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) {
    match value {
        toml::Value::String(text) if text.contains('$') => match expand(text, environment) {
            Ok(expanded) => *text = expanded,
            Err(message) => problems.add(path, message),
        },
        toml::Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                substitute_environment(item, &format!("{path}[{index}]"), environment, problems);
            }
        }
        toml::Value::Table(table) => {
            for (key, item) in table.iter_mut() {
                substitute_environment(item, &format!("{path}.{key}"), environment, problems);
            }
        }
        _ => {}
    }
}

pub(super) fn expand(
    text: &str,
    environment: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut output = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(position) = rest.find('$') {
        output.push_str(&rest[..position]);
        let after = &rest[position..];
        if let Some(stripped) = after.strip_prefix("$${") {
            output.push_str("${");
            rest = stripped;
        } else if let Some(stripped) = after.strip_prefix("${") {
            let Some(end) = stripped.find('}') else {
                return Err("unterminated `${` (write `$${` for a literal `${`)".to_string());
            };
            let name = &stripped[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "`${{{name}}}` is not a valid environment variable reference"
                ));
            }
            match environment(name) {
                Some(value) => output.push_str(&value),
                None => {
                    return Err(format!(
                        "environment variable {name} is not set (export it, or set it in the service's EnvironmentFile)"
                    ))
                }
            }
            rest = &stripped[end + 1..];
        } else {
            output.push('$');
            rest = &after[1..];
        }
    }
    output.push_str(rest);
    Ok(output)
}

/// Deserializes one table, reporting a wrong key as `path.key: message`.
pub(super) fn section<T: DeserializeOwned + Default>(
    value: Option<toml::Value>,
    path: &str,
    problems: &mut Problems,
) -> T {
    match value {
        None => T::default(),
        Some(value) => deserialize(value, path, problems).unwrap_or_default(),
    }
}

/// Deserializes one table. serde stops at the first wrong key, so each wrong key is reported
/// and left out and the rest deserialized again: the table's semantic checks still run on what
/// parsed, and one `check` shows type and semantic errors together. A problem that cannot be
/// pinned to one key (a required key missing) ends it.
fn deserialize<T: DeserializeOwned>(
    mut value: toml::Value,
    path: &str,
    problems: &mut Problems,
) -> Option<T> {
    let mut removed = BTreeSet::new();
    let mut filled = BTreeSet::new();
    loop {
        let error = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(parsed) => return Some(parsed),
            Err(error) => error,
        };
        let inner = error.path().to_string();
        let message = one_line(error.inner().message());
        let toml::Value::Table(table) = &mut value else {
            problems.add(path, message);
            return None;
        };
        // a required key left out for its wrong type: stand in an empty string, so the rest of
        // the table is still checked (the empty value's own complaint is dropped as a repeat)
        if let Some(missing) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            if removed.contains(missing) && filled.insert(missing.to_string()) {
                table.insert(missing.to_string(), toml::Value::String(String::new()));
                continue;
            }
        }
        let full = if inner.is_empty() || inner == "." {
            path.to_string()
        } else {
            format!("{path}.{inner}")
        };
        let key = wrong_key(&inner, &message);
        problems.add(&full, message);
        problems.1.insert(full);
        match key {
            Some(key) if table.remove(&key).is_some() => {
                problems.1.insert(format!("{path}.{key}"));
                removed.insert(key);
            }
            _ => return None,
        }
    }
}

/// The top-level key a deserialization error is about: the first part of its path, or the key an
/// "unknown field" message names.
fn wrong_key(inner: &str, message: &str) -> Option<String> {
    let first = inner.split(['.', '[']).next().unwrap_or("");
    if !first.is_empty() && first != "?" {
        return Some(first.to_string());
    }
    let named = message.strip_prefix("unknown field `")?;
    Some(named.split('`').next()?.to_string())
}

/// `[sources.NAME]`-style tables, in file order, each deserialized on its own.
pub(super) fn named_tables<T: DeserializeOwned>(
    value: Option<toml::Value>,
    path: &str,
    problems: &mut Problems,
) -> Vec<(String, T)> {
    let table = match value {
        None => return Vec::new(),
        Some(toml::Value::Table(table)) => table,
        Some(_) => {
            problems.add(path, format!("expected tables like [{path}.NAME]"));
            return Vec::new();
        }
    };
    let mut parsed = Vec::new();
    for (name, value) in table {
        let item_path = format!("{path}.{name}");
        if !valid_name(&name) {
            problems.add(
                &item_path,
                "names may only hold letters, digits, '-', '_' and '.'",
            );
            continue;
        }
        if !value.is_table() {
            problems.add(&item_path, format!("expected a table [{item_path}]"));
            continue;
        }
        if let Some(item) = deserialize(value, &item_path, problems) {
            parsed.push((name, item));
        }
    }
    parsed
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
