//! `json://` and `jsons://`: the generic webhook's Apprise form. The endpoint is http(s) on the
//! given host and path; `?+Name=value` parameters become request headers and a user and password
//! HTTP basic auth; any other parameter stays in the receiver's URL.
//!
//! Parsing only: the webhook sink sends the request.

use super::common::*;
use super::*;

pub(super) const JSON_FORM: &str =
    "json://host[:port]/path (http) or jsons://host[:port]/path (https), headers as ?+Name=value";

pub(super) fn parse(scheme: &str, input: &str) -> Result<TargetUrl, TargetUrlError> {
    let parsed = parse_authority_url(scheme, input, JSON_FORM)?;
    let (user, password) = user_password(&parsed);
    let pairs = query_pairs(parsed.query());
    let mut headers = Vec::new();
    let mut passed = Vec::new();
    for (key, value, raw) in pairs {
        if let Some(name) = key.strip_prefix('+') {
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|character| character.is_ascii_alphanumeric() || "-_".contains(character));
            if !valid {
                return Err(invalid(
                    scheme,
                    format!("header name `{name}` is not a valid HTTP header name"),
                    JSON_FORM,
                ));
            }
            // a line break would end the header early (and reqwest refuses the request)
            if value
                .chars()
                .any(|character| character.is_control() && character != '\t')
            {
                return Err(invalid(
                    scheme,
                    format!("the value of header `{name}` holds a control character"),
                    JSON_FORM,
                ));
            }
            headers.push((name.to_string(), Secret::new(value)));
        } else if !IGNORED.contains(&key.as_str()) {
            // Any other parameter belongs to the receiver's URL.
            passed.push(raw);
        }
    }
    let query = if passed.is_empty() {
        String::new()
    } else {
        format!("?{}", passed.join("&"))
    };
    let rest = format!("{}{}{query}", host_port(&parsed), parsed.path());
    let url = http_endpoint(scheme, scheme == "jsons", &rest, JSON_FORM)?;
    let basic_auth = match (user, password) {
        (Some(user), password) => Some((user, password.unwrap_or_else(|| Secret::new("")))),
        (None, Some(_)) => {
            return Err(invalid(
                scheme,
                "a password is given without a user",
                JSON_FORM,
            ))
        }
        (None, None) => None,
    };
    Ok(TargetUrl::Json {
        url: Secret::new(url.to_string()),
        basic_auth,
        headers,
    })
}
