//! Apprise-style target URLs (`slack://A/B/C`, `ntfys://user:pass@host/topic`, …) parsed into
//! a typed description of where and how to deliver: the endpoint URL each service needs, with
//! its credentials held apart as [`Secret`]s.
//!
//! Formats follow Apprise's documented syntax (github.com/caronc/apprise/wiki, appriseit.com) for
//! the schemes wirewatch supports, so URLs people already have keep working; Apprise's generic
//! parameters (`format`, `overflow`, …) are accepted and ignored, any other unknown parameter is
//! an error. Errors say which part is wrong and show the expected form, and never echo a token
//! or password. Parsing only: nothing here resolves hosts or sends requests.

use std::fmt;

/// A credential-bearing string: shown as `[redacted]` by `Debug`, read with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("[redacted]")
    }
}

/// A delivery target parsed from its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetUrl {
    /// `json://` / `jsons://`: the generic webhook (the alert payload as is).
    Json {
        /// The http(s) URL, query included.
        url: Secret,
        /// Basic-auth credentials from the URL's user info.
        basic_auth: Option<(String, Secret)>,
        /// Extra headers, from `+Name=value` parameters.
        headers: Vec<(String, Secret)>,
    },
    /// `slack://TokenA/TokenB/TokenC`: a Slack incoming webhook.
    Slack {
        webhook_url: Secret,
        /// A channel named in the URL; incoming webhooks of current Slack apps ignore it.
        channel: Option<String>,
    },
    /// `discord://WebhookID/WebhookToken`.
    Discord { webhook_url: Secret },
    /// `workflows://…`: a Microsoft Teams Workflows (Power Automate) webhook.
    Teams { webhook_url: Secret },
    /// `ntfy://` / `ntfys://`.
    Ntfy {
        /// `http(s)://host[:port]`, no trailing slash.
        server: String,
        topics: Vec<String>,
        auth: NtfyAuth,
    },
    /// `tgram://BotToken/ChatID…`.
    Telegram {
        bot_token: Secret,
        chat_ids: Vec<String>,
        /// A forum topic (`?topic=`), sent as `message_thread_id`.
        thread_id: Option<i64>,
    },
    /// `mailto://` / `mailtos://`: SMTP submission.
    Email(EmailTarget),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NtfyAuth {
    None,
    Basic { user: String, password: Secret },
    Token(Secret),
}

/// How the SMTP connection is secured. URLs always ask for TLS; only the explicit
/// `security = "none"` of a configured sink (for a relay on a trusted network) goes without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `mailto://`: plain connection upgraded with STARTTLS (required), port 587 by default.
    StartTls,
    /// `mailtos://`: TLS from the first byte, port 465 by default.
    ImplicitTls,
    /// No TLS at all, port 25 by default; refused together with credentials.
    Plaintext,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailTarget {
    pub smtp_host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
    pub from_name: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
}

/// The Bot API endpoint of `method` (e.g. `sendMessage`) for a Telegram target's token: a
/// secret itself, since the token is part of the path.
pub fn telegram_api_url(bot_token: &Secret, method: &str) -> Secret {
    telegram_api_url_at(TELEGRAM_API, bot_token, method)
}

/// Telegram's own Bot API server.
pub const TELEGRAM_API: &str = "https://api.telegram.org";

/// As [`telegram_api_url`], on the Bot API server at `base` (a self-hosted `telegram-bot-api`
/// serves the same paths): `base` without a trailing slash.
pub fn telegram_api_url_at(base: &str, bot_token: &Secret, method: &str) -> Secret {
    Secret::new(format!(
        "{}/bot{}/{method}",
        base.trim_end_matches('/'),
        bot_token.expose()
    ))
}

const SCHEMES: &str =
    "json://, jsons://, slack://, discord://, workflows://, ntfy://, ntfys://, tgram://, mailto://, mailtos://";

/// A target URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetUrlError {
    #[error("target URL has no scheme: expected scheme://…, where scheme:// is one of {SCHEMES}")]
    MissingScheme,
    #[error("unsupported target URL scheme `{0}://`: expected one of {SCHEMES}")]
    UnknownScheme(String),
    #[error("{scheme}:// URL: {problem}; expected {expected}")]
    Invalid {
        scheme: String,
        problem: String,
        expected: &'static str,
    },
    #[error("{scheme}:// URL: unknown parameter `{key}`; accepted: {accepted}")]
    UnknownParameter {
        scheme: String,
        key: String,
        accepted: &'static str,
    },
    #[error("unknown target kind `{0}`: expected one of {KINDS}")]
    UnknownKind(String),
    #[error("this {scheme}:// URL does not fit target kind `{kind}`: {hint}")]
    KindMismatch {
        kind: &'static str,
        scheme: String,
        hint: &'static str,
    },
}

const JSON_FORM: &str =
    "json://host[:port]/path (http) or jsons://host[:port]/path (https), headers as ?+Name=value";
const SLACK_FORM: &str =
    "slack://TokenA/TokenB/TokenC, from https://hooks.slack.com/services/TokenA/TokenB/TokenC";
const DISCORD_FORM: &str = "discord://WebhookID/WebhookToken, from https://discord.com/api/webhooks/WebhookID/WebhookToken";
const WORKFLOWS_FORM: &str = "workflows://host[:port]/WorkflowID/Signature, or the workflow's https:// URL with https:// replaced by workflows://";
const NTFY_FORM: &str = "ntfy://[user:password@]host[:port]/topic (http), ntfys://… (https), ntfy://tk_token@host/topic, or ntfy://topic for ntfy.sh";
const TGRAM_FORM: &str = "tgram://BotToken/ChatID, e.g. tgram://123456789:AAHdqTcv…/-1001234567890";
const MAILTO_FORM: &str = "mailto://user:password@smtp.example.com[:port]?to=you@example.com&from=alerts@example.com (STARTTLS), or mailtos://… (implicit TLS)";

/// Apprise's parameters common to every service, meaningless here.
const IGNORED: [&str; 6] = ["format", "overflow", "emojis", "verify", "rto", "cto"];

mod native;

pub use native::{parse_target, TargetKind, KINDS};

/// Parses an Apprise-style target URL.
pub fn parse_target_url(input: &str) -> Result<TargetUrl, TargetUrlError> {
    let input = input.trim();
    let Some((scheme, rest)) = input.split_once("://") else {
        return Err(TargetUrlError::MissingScheme);
    };
    let scheme = scheme.to_ascii_lowercase();
    match scheme.as_str() {
        "json" | "jsons" => json(&scheme, input),
        "slack" => slack(rest),
        "discord" => discord(rest),
        "workflow" | "workflows" => workflows(&scheme, input, rest),
        "ntfy" | "ntfys" => ntfy(&scheme, input),
        "tgram" => telegram(rest),
        "mailto" | "mailtos" => mailto(&scheme, input),
        "" => Err(TargetUrlError::MissingScheme),
        _ => Err(TargetUrlError::UnknownScheme(scheme)),
    }
}

fn invalid(scheme: &str, problem: impl Into<String>, expected: &'static str) -> TargetUrlError {
    TargetUrlError::Invalid {
        scheme: scheme.to_string(),
        problem: problem.into(),
        expected,
    }
}

/// Decodes `%XX` escapes; malformed escapes stay literal, invalid UTF-8 becomes U+FFFD.
pub(crate) fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let decoded = (bytes[index] == b'%')
            .then(|| value.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `key=value` pairs of a query, keys lowercased unless they are `+Header` names, both decoded.
/// `+` is not turned into a space: Apprise uses it to mark header parameters.
fn query_pairs(query: Option<&str>) -> Vec<(String, String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded = percent_decode(key);
            let key = if decoded.starts_with('+') {
                decoded
            } else {
                decoded.to_ascii_lowercase()
            };
            (key, percent_decode(value), pair.to_string())
        })
        .collect()
}

/// Splits `rest` (after `://`) into path and query, dropping any `#fragment` into the third
/// part (Apprise URLs use `/#channel` for Slack channels).
fn split_rest(rest: &str) -> (&str, Option<&str>, Option<&str>) {
    let (before_fragment, fragment) = match rest.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (rest, None),
    };
    match before_fragment.split_once('?') {
        Some((path, query)) => (path, Some(query), fragment),
        None => (before_fragment, None, fragment),
    }
}

fn check_parameters(
    scheme: &str,
    pairs: &[(String, String, String)],
    known: &[&str],
    accepted: &'static str,
) -> Result<(), TargetUrlError> {
    for (key, _, _) in pairs {
        if !known.contains(&key.as_str()) && !IGNORED.contains(&key.as_str()) {
            return Err(TargetUrlError::UnknownParameter {
                scheme: scheme.to_string(),
                key: key.clone(),
                accepted,
            });
        }
    }
    Ok(())
}

fn token_chars(value: &str, extra: &[char]) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || extra.contains(&character))
}

/// Parses a URL whose authority is an ordinary `[user[:password]@]host[:port]`.
fn parse_authority_url(
    scheme: &str,
    input: &str,
    expected: &'static str,
) -> Result<url::Url, TargetUrlError> {
    let parsed = url::Url::parse(input)
        .map_err(|error| invalid(scheme, format!("cannot be parsed ({error})"), expected))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid(scheme, "the host is missing", expected));
    }
    Ok(parsed)
}

fn host_port(parsed: &url::Url) -> String {
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

fn user_password(parsed: &url::Url) -> (Option<String>, Option<Secret>) {
    let user = Some(percent_decode(parsed.username())).filter(|user| !user.is_empty());
    let password = parsed
        .password()
        .map(|password| Secret::new(percent_decode(password)));
    (user, password)
}

/// Re-parses `http(s)://authority/path?query` with the URL crate's special-scheme rules, which
/// validate the host properly.
fn http_endpoint(
    scheme: &str,
    secure: bool,
    rest: &str,
    expected: &'static str,
) -> Result<url::Url, TargetUrlError> {
    let http = if secure { "https" } else { "http" };
    url::Url::parse(&format!("{http}://{rest}"))
        .map_err(|error| invalid(scheme, format!("invalid host or path ({error})"), expected))
}

fn json(scheme: &str, input: &str) -> Result<TargetUrl, TargetUrlError> {
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

/// Path segments of a token-style URL (no host): non-empty, percent-decoded.
fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|segment| !segment.is_empty())
        .map(percent_decode)
        .collect()
}

fn slack(rest: &str) -> Result<TargetUrl, TargetUrlError> {
    let scheme = "slack";
    let (path, query, fragment) = split_rest(rest);
    check_parameters(scheme, &query_pairs(query), &["channel"], "channel")?;
    // An optional `botname@` prefix (Apprise) names the poster; webhooks have their own name.
    let path = path.rsplit_once('@').map_or(path, |(_, after)| after);
    let parts = segments(path);
    if parts.first().is_some_and(|first| first.starts_with("xox")) {
        return Err(invalid(
            scheme,
            "bot and user tokens (xoxb-…, xoxp-…) are not supported, only incoming webhooks",
            SLACK_FORM,
        ));
    }
    if parts.len() < 3 {
        return Err(invalid(
            scheme,
            format!("{} of the 3 webhook tokens given", parts.len()),
            SLACK_FORM,
        ));
    }
    for (index, name) in ["TokenA", "TokenB", "TokenC"].iter().enumerate() {
        if !token_chars(&parts[index], &[]) {
            return Err(invalid(
                scheme,
                format!("{name} must be letters and digits only"),
                SLACK_FORM,
            ));
        }
    }
    if parts.len() > 4 {
        return Err(invalid(scheme, "too many path segments", SLACK_FORM));
    }
    let channel = parts
        .get(3)
        .cloned()
        .or_else(|| fragment.map(percent_decode))
        .or_else(|| {
            query_pairs(query)
                .into_iter()
                .find(|(key, _, _)| key == "channel")
                .map(|(_, value, _)| value)
        })
        .map(|channel| channel.trim_start_matches('#').to_string())
        .filter(|channel| !channel.is_empty());
    Ok(TargetUrl::Slack {
        webhook_url: Secret::new(format!(
            "https://hooks.slack.com/services/{}/{}/{}",
            parts[0], parts[1], parts[2]
        )),
        channel,
    })
}

fn discord(rest: &str) -> Result<TargetUrl, TargetUrlError> {
    let scheme = "discord";
    let (path, query, _) = split_rest(rest);
    check_parameters(scheme, &query_pairs(query), &[], "none")?;
    let path = path.rsplit_once('@').map_or(path, |(_, after)| after);
    let parts = segments(path);
    let [id, token] = parts.as_slice() else {
        return Err(invalid(
            scheme,
            format!("{} path segments given, 2 needed", parts.len()),
            DISCORD_FORM,
        ));
    };
    if !id.chars().all(|character| character.is_ascii_digit()) || id.is_empty() {
        return Err(invalid(
            scheme,
            format!("WebhookID `{id}` must be digits only"),
            DISCORD_FORM,
        ));
    }
    if !token_chars(token, &['-', '_']) {
        return Err(invalid(
            scheme,
            "WebhookToken must be letters, digits, `-` and `_` only",
            DISCORD_FORM,
        ));
    }
    Ok(TargetUrl::Discord {
        webhook_url: Secret::new(format!("https://discord.com/api/webhooks/{id}/{token}")),
    })
}

fn workflows(scheme: &str, input: &str, rest: &str) -> Result<TargetUrl, TargetUrlError> {
    let parsed = parse_authority_url(scheme, input, WORKFLOWS_FORM)?;
    let parts = segments(parsed.path());
    let pairs = query_pairs(parsed.query());
    if parts.iter().any(|part| part == "workflows") {
        // The full workflow URL, scheme swapped: it must carry its signature.
        if !pairs
            .iter()
            .any(|(key, value, _)| key == "sig" && !value.is_empty())
        {
            return Err(invalid(
                scheme,
                "the `sig` parameter is missing",
                WORKFLOWS_FORM,
            ));
        }
        let url = http_endpoint(scheme, true, rest, WORKFLOWS_FORM)?;
        return Ok(TargetUrl::Teams {
            webhook_url: Secret::new(url.to_string()),
        });
    }
    check_parameters(
        scheme,
        &pairs,
        &["pa", "powerautomate", "ver", "api-version"],
        "pa, ver",
    )?;
    let [workflow, signature] = parts.as_slice() else {
        return Err(invalid(
            scheme,
            format!(
                "{} path segments given, 2 needed (WorkflowID and Signature)",
                parts.len()
            ),
            WORKFLOWS_FORM,
        ));
    };
    if !token_chars(workflow, &['-', '_']) {
        return Err(invalid(
            scheme,
            "WorkflowID must be letters, digits, `-` and `_` only",
            WORKFLOWS_FORM,
        ));
    }
    if !token_chars(signature, &['-', '_']) {
        return Err(invalid(
            scheme,
            "Signature must be letters, digits, `-` and `_` only",
            WORKFLOWS_FORM,
        ));
    }
    let power_automate = pairs.iter().any(|(key, value, _)| {
        (key == "pa" || key == "powerautomate") && matches!(value.as_str(), "yes" | "true" | "1")
    });
    let version = pairs
        .iter()
        .find(|(key, _, _)| key == "ver" || key == "api-version")
        .map(|(_, value, _)| value.clone())
        .unwrap_or_else(|| {
            if power_automate {
                "2022-03-01-preview"
            } else {
                "2016-06-01"
            }
            .to_string()
        });
    let prefix = if power_automate {
        "/powerautomate/automations/direct"
    } else {
        ""
    };
    let rest = format!(
        "{}{prefix}/workflows/{workflow}/triggers/manual/paths/invoke?api-version={version}&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={signature}",
        host_port(&parsed)
    );
    let url = http_endpoint(scheme, true, &rest, WORKFLOWS_FORM)?;
    Ok(TargetUrl::Teams {
        webhook_url: Secret::new(url.to_string()),
    })
}

fn ntfy_topic(scheme: &str, topic: &str) -> Result<String, TargetUrlError> {
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

fn ntfy(scheme: &str, input: &str) -> Result<TargetUrl, TargetUrlError> {
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

fn telegram(rest: &str) -> Result<TargetUrl, TargetUrlError> {
    let scheme = "tgram";
    let (path, query, _) = split_rest(rest);
    let pairs = query_pairs(query);
    check_parameters(scheme, &pairs, &["topic", "thread"], "topic")?;
    let mut parts = segments(path).into_iter();
    let Some(token) = parts.next() else {
        return Err(invalid(scheme, "the bot token is missing", TGRAM_FORM));
    };
    // Apprise accepts the token as BotFather prints it and with the API's `bot` prefix.
    let token = token.strip_prefix("bot").unwrap_or(&token).to_string();
    let valid_token = token.split_once(':').is_some_and(|(id, secret)| {
        !id.is_empty()
            && id.chars().all(|character| character.is_ascii_digit())
            && token_chars(secret, &['-', '_'])
    });
    if !valid_token {
        return Err(invalid(
            scheme,
            "the bot token must look like 123456789:AAH… (digits, a colon, then letters, digits, `-`, `_`)",
            TGRAM_FORM,
        ));
    }
    let chat_ids: Vec<String> = parts.collect();
    if chat_ids.is_empty() {
        return Err(invalid(scheme, "no chat id given: the URL needs the chat after the bot token, as tgram://BotToken/ChatID", TGRAM_FORM));
    }
    for chat in &chat_ids {
        let digits = chat.strip_prefix('-').unwrap_or(chat);
        let numeric =
            !digits.is_empty() && digits.chars().all(|character| character.is_ascii_digit());
        let username = chat.strip_prefix('@').unwrap_or(chat);
        let named = username.len() >= 5
            && username.starts_with(|character: char| character.is_ascii_alphabetic())
            && token_chars(username, &['_']);
        if !numeric && !named {
            return Err(invalid(
                scheme,
                format!(
                    "chat id `{chat}` must be a number such as -1001234567890 or a @channelname"
                ),
                TGRAM_FORM,
            ));
        }
    }
    let chat_ids = chat_ids
        .into_iter()
        .map(|chat| {
            // Channel usernames need their `@` in the API.
            if chat.starts_with(|character: char| character.is_ascii_alphabetic()) {
                format!("@{chat}")
            } else {
                chat
            }
        })
        .collect();
    let thread_id = match pairs
        .iter()
        .find(|(key, _, _)| key == "topic" || key == "thread")
    {
        Some((_, value, _)) => Some(value.parse::<i64>().map_err(|_| {
            invalid(
                scheme,
                format!("topic `{value}` must be a number"),
                TGRAM_FORM,
            )
        })?),
        None => None,
    };
    Ok(TargetUrl::Telegram {
        bot_token: Secret::new(token),
        chat_ids,
        thread_id,
    })
}

/// A plausible single mailbox address: `local@domain`, no spaces, brackets or controls.
pub fn valid_address(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !address.chars().any(|character| {
            character.is_whitespace()
                || character.is_control()
                || "<>,;\"()[]\\".contains(character)
        })
}

fn addresses(scheme: &str, values: &[String], part: &str) -> Result<Vec<String>, TargetUrlError> {
    let mut out = Vec::new();
    for value in values {
        for address in value
            .split([',', ' '])
            .filter(|address| !address.is_empty())
        {
            if !valid_address(address) {
                return Err(invalid(
                    scheme,
                    format!("{part} address `{address}` is not a valid email address"),
                    MAILTO_FORM,
                ));
            }
            out.push(address.to_string());
        }
    }
    Ok(out)
}

fn mailto(scheme: &str, input: &str) -> Result<TargetUrl, TargetUrlError> {
    let parsed = parse_authority_url(scheme, input, MAILTO_FORM)?;
    let pairs = query_pairs(parsed.query());
    check_parameters(
        scheme,
        &pairs,
        &[
            "to", "from", "name", "cc", "bcc", "smtp", "user", "pass", "mode",
        ],
        "to, from, name, cc, bcc, smtp, user, pass, mode",
    )?;
    let all = |name: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(key, _, _)| key == name)
            .map(|(_, value, _)| value.clone())
            .collect()
    };
    let last = |name: &str| all(name).pop().filter(|value| !value.is_empty());

    let (url_user, url_password) = user_password(&parsed);
    let user = last("user").or(url_user);
    let password = last("pass").map(Secret::new).or(url_password);
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    let smtp_host = last("smtp").unwrap_or_else(|| host.clone());
    // Validate the SMTP host with the URL crate's host rules.
    http_endpoint(scheme, false, &smtp_host, MAILTO_FORM)?;

    let mut security = if scheme == "mailtos" {
        SmtpSecurity::ImplicitTls
    } else {
        SmtpSecurity::StartTls
    };
    if let Some(mode) = last("mode") {
        security = match mode.to_ascii_lowercase().as_str() {
            "starttls" => SmtpSecurity::StartTls,
            "ssl" | "tls" => SmtpSecurity::ImplicitTls,
            other => {
                return Err(invalid(
                    scheme,
                    format!(
                        "mode `{other}` is not one of starttls, ssl (there is no plaintext mode)"
                    ),
                    MAILTO_FORM,
                ))
            }
        };
    }
    let port = parsed.port().unwrap_or(match security {
        SmtpSecurity::StartTls => 587,
        SmtpSecurity::ImplicitTls => 465,
        SmtpSecurity::Plaintext => 25,
    });

    let from = match last("from") {
        Some(from) => from,
        None => match &user {
            Some(user) if user.contains('@') => user.clone(),
            Some(user) => format!("{user}@{host}"),
            None => {
                return Err(invalid(
                    scheme,
                    "no sender: give ?from= or a user",
                    MAILTO_FORM,
                ))
            }
        },
    };
    let from = addresses(scheme, &[from], "from")?
        .into_iter()
        .next()
        .ok_or_else(|| invalid(scheme, "the from address is empty", MAILTO_FORM))?;
    let mut to_values = all("to");
    to_values.extend(segments(parsed.path()));
    let mut to = addresses(scheme, &to_values, "to")?;
    if to.is_empty() {
        // Apprise's default: mail the sender, the usual "notify myself" setup.
        to.push(from.clone());
    }
    Ok(TargetUrl::Email(EmailTarget {
        smtp_host,
        port,
        security,
        user,
        password,
        from,
        from_name: last("name"),
        to,
        cc: addresses(scheme, &all("cc"), "cc")?,
        bcc: addresses(scheme, &all("bcc"), "bcc")?,
    }))
}

#[cfg(test)]
mod tests;
