//! Preparation of JSON bodies for feed-rs: a JSON Feed is passed on with its loose spots fixed
//! (a `version` that is not the spec URL, a missing `title`, numeric item ids, which feed-rs
//! rejects outright), and anything else JSON (RSS-in-JSON, an API error object) is reported as
//! not a feed. The item images feed-rs drops are collected here.
//!
//! It does not map JSON Feed fields to entries; feed-rs does that and `feed` converts the result.

use serde_json::{Map, Value};

use super::SourceError;

/// A JSON Feed ready for feed-rs, plus what feed-rs would lose.
#[derive(Debug)]
pub(crate) struct PreparedJson {
    pub text: String,
    /// Per item, in order: `image`, else `banner_image`.
    pub images: Vec<Option<String>>,
}

pub(crate) fn prepare_json(text: &str) -> Result<PreparedJson, SourceError> {
    let mut value: Value = serde_json::from_str(text).map_err(|error| SourceError::Malformed {
        reason: format!("invalid JSON: {error}"),
    })?;
    let Some(object) = value.as_object_mut() else {
        return Err(SourceError::NotAFeed {
            detected: "JSON that is not a JSON Feed (no top-level object)".to_string(),
        });
    };
    let Some(items) = object.get_mut("items").and_then(Value::as_array_mut) else {
        let detected = if object.contains_key("rss") {
            "RSS-in-JSON (not JSON Feed)"
        } else {
            "JSON that is not a JSON Feed (no \"items\" array)"
        };
        return Err(SourceError::NotAFeed {
            detected: detected.to_string(),
        });
    };
    let mut changed = false;
    let mut images = Vec::with_capacity(items.len());
    for item in items.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            images.push(None);
            continue;
        };
        changed |= stringify_id(item);
        images.push(
            ["image", "banner_image"]
                .iter()
                .find_map(|key| item.get(*key).and_then(Value::as_str))
                .map(str::to_string),
        );
    }
    let version_ok = object
        .get("version")
        .and_then(Value::as_str)
        .is_some_and(|version| version.starts_with("https://jsonfeed.org/version/1"));
    if !version_ok {
        // "1.1", "1" or no version at all, with an items array, is a JSON Feed in practice.
        object.insert(
            "version".to_string(),
            Value::String("https://jsonfeed.org/version/1.1".to_string()),
        );
        changed = true;
    }
    if !object.get("title").is_some_and(Value::is_string) {
        object.insert("title".to_string(), Value::String(String::new()));
        changed = true;
    }
    let text = if changed {
        serde_json::to_string(&value).map_err(|error| SourceError::Malformed {
            reason: format!("invalid JSON: {error}"),
        })?
    } else {
        text.to_string()
    };
    Ok(PreparedJson { text, images })
}

/// JSON Feed ids are strings, but some publishers write numbers; feed-rs would fail the whole
/// feed. Returns whether the item changed.
fn stringify_id(item: &mut Map<String, Value>) -> bool {
    match item.get("id") {
        Some(Value::Number(number)) => {
            let id = number.to_string();
            item.insert("id".to_string(), Value::String(id));
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected_text: &str, expected_images: &[Option<&str>]) {
        let prepared = prepare_json(input).unwrap();
        assert_eq!(prepared.text, expected_text, "input: {input}");
        let images: Vec<Option<&str>> = prepared.images.iter().map(Option::as_deref).collect();
        assert_eq!(images, expected_images, "input: {input}");
    }

    #[test]
    fn loose_json_feeds_are_fixed_up() {
        let spec = r#"{"version":"https://jsonfeed.org/version/1","title":"t","items":[{"id":"a","image":"/i.png"}]}"#;
        check(spec, spec, &[Some("/i.png")]);
        check(
            r#"{"version":"1.1","items":[{"id":7,"banner_image":"b.png"}]}"#,
            r#"{"items":[{"banner_image":"b.png","id":"7"}],"title":"","version":"https://jsonfeed.org/version/1.1"}"#,
            &[Some("b.png")],
        );
    }

    #[test]
    fn other_json_is_not_a_feed() {
        for input in [r#"{"rss":{}}"#, r#"{"error":"quota"}"#, "[1,2]"] {
            assert!(
                matches!(prepare_json(input), Err(SourceError::NotAFeed { .. })),
                "{input}"
            );
        }
        assert!(matches!(
            prepare_json("{"),
            Err(SourceError::Malformed { .. })
        ));
    }
}
