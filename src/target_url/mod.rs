//! Apprise-style target URLs (`slack://A/B/C`, `ntfys://user:pass@host/topic`, …) parsed into
//! a typed description of where and how to deliver: the endpoint URL each service needs, with
//! its credentials held apart as [`Secret`]s.
//!
//! Formats follow Apprise's documented syntax (github.com/caronc/apprise/wiki, appriseit.com) for
//! the schemes wirewatch supports, so URLs people already have keep working; Apprise's generic
//! parameters (`format`, `overflow`, …) are accepted and ignored, any other unknown parameter is
//! an error. Errors say which part is wrong and show the expected form, and never echo a token
//! or password. Parsing only: nothing here resolves hosts or sends requests.

pub use crate::secret::Secret;

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

pub(super) const SCHEMES: &str =
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

/// Apprise's parameters common to every service, meaningless here.
pub(super) const IGNORED: [&str; 6] = ["format", "overflow", "emojis", "verify", "rto", "cto"];

mod common;
mod discord;
mod json;
mod mailto;
mod native;
pub mod nats;
mod ntfy;
mod slack;
mod telegram;
mod workflows;

pub use common::decode_hex_escapes;
pub(crate) use common::percent_decode;
pub use mailto::valid_address;
pub use native::{parse_target, TargetKind, KINDS};

/// Parses an Apprise-style target URL.
pub fn parse_target_url(input: &str) -> Result<TargetUrl, TargetUrlError> {
    let input = input.trim();
    let Some((scheme, rest)) = input.split_once("://") else {
        return Err(TargetUrlError::MissingScheme);
    };
    let scheme = scheme.to_ascii_lowercase();
    match scheme.as_str() {
        "json" | "jsons" => json::parse(&scheme, input),
        "slack" => slack::parse(rest),
        "discord" => discord::parse(rest),
        "workflow" | "workflows" => workflows::parse(&scheme, input, rest),
        "ntfy" | "ntfys" => ntfy::parse(&scheme, input),
        "tgram" => telegram::parse(rest),
        "mailto" | "mailtos" => mailto::parse(&scheme, input),
        "" => Err(TargetUrlError::MissingScheme),
        _ => Err(TargetUrlError::UnknownScheme(scheme)),
    }
}

#[cfg(test)]
mod tests;
