//! `ntfy://` (http) and `ntfys://` (https): a server and topics, with basic auth or an access
//! token; `ntfy://topic` alone means ntfy.sh.

use super::common::*;
use super::*;

pub(super) const NTFY_FORM: &str = "ntfy://[user:password@]host[:port]/topic (http), ntfys://… (https), ntfy://tk_token@host/topic, or ntfy://topic for ntfy.sh";

pub(super) fn ntfy_topic(scheme: &str, topic: &str) -> Result<String, TargetUrlError> {
    // ntfy's own topic rule: 1 to 64 of letters, digits, `-` and `_`.
    if topic.len() <= 64 && token_chars(topic, &['-', '_']) {
        Ok(topic.to_string())
    } else {
        Err(invalid(
            scheme,
            format!("topic `{topic}` must be 1 to 64 letters, digits, `-` or `_`"),
            NTFY_FORM,
        ))
    }
}

pub(super) fn parse(scheme: &str, input: &str) -> Result<TargetUrl, TargetUrlError> {
    let parsed = parse_authority_url(scheme, input, NTFY_FORM)?;
    let pairs = query_pairs(parsed.query());
    check_parameters(scheme, &pairs, &["token"], "token")?;
    let parts = segments(parsed.path());
    let (user, password) = user_password(&parsed);
    let token_parameter = pairs
        .iter()
        .find(|(key, _, _)| key == "token")
        .map(|(_, value, _)| Secret::new(value.clone()));

    let (server, topics) = if parts.is_empty() {
        // `ntfy://topic`: Apprise's cloud mode, always https://ntfy.sh.
        if parsed.port().is_some() || user.is_some() {
            return Err(invalid(scheme, "the topic is missing", NTFY_FORM));
        }
        let topic = parsed.host_str().unwrap_or_default();
        (
            "https://ntfy.sh".to_string(),
            vec![ntfy_topic(scheme, topic)?],
        )
    } else {
        let http = if scheme == "ntfys" { "https" } else { "http" };
        let server = http_endpoint(scheme, scheme == "ntfys", &host_port(&parsed), NTFY_FORM)?;
        let topics = parts
            .iter()
            .map(|topic| ntfy_topic(scheme, topic))
            .collect::<Result<Vec<_>, _>>()?;
        let host = server.host_str().unwrap_or_default();
        let port = server
            .port()
            .map(|port| format!(":{port}"))
            .unwrap_or_default();
        (format!("{http}://{host}{port}"), topics)
    };
    let auth = match (user, password, token_parameter) {
        (_, _, Some(token)) => NtfyAuth::Token(token),
        (Some(user), None, None) if user.starts_with("tk_") => NtfyAuth::Token(Secret::new(user)),
        (Some(user), Some(password), None) => NtfyAuth::Basic { user, password },
        (Some(user), None, None) => {
            return Err(invalid(
                scheme,
                format!("user `{user}` has no password (access tokens start with `tk_`)"),
                NTFY_FORM,
            ))
        }
        (None, Some(_), None) => {
            return Err(invalid(
                scheme,
                "a password is given without a user",
                NTFY_FORM,
            ))
        }
        (None, None, None) => NtfyAuth::None,
    };
    Ok(TargetUrl::Ntfy {
        server,
        topics,
        auth,
    })
}
