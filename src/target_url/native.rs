//! Targets configured by kind and URL (`kind = "slack"`, `url = "https://hooks.slack.com/…"`):
//! the URL may be the service's own webhook URL, as the service displays it, or the Apprise form
//! of the same kind. Both end in the same [`TargetUrl`], so the rest of wirewatch never knows
//! which form the operator wrote.
//!
//! Native URLs are recognised only where the service's URL is unmistakable (Slack's and
//! Discord's webhook hosts, an https Workflows URL carrying its `sig`, an ntfy topic URL); other
//! fields a kind needs beyond its URL (Telegram chat ids, mail recipients) come from the Apprise
//! URL's path and parameters, which is deliberately the only way to give them here.
//!
//! A Slack, Discord or Teams sink may also name any other http(s) URL: a receiver that speaks
//! the service's webhook format (Mattermost and Rocket.Chat take Slack's), a relay, or a local
//! test receiver. Such a URL is used as written. It is refused only where it is clearly a
//! mistake: a URL on a known service host that is not that kind's webhook (a Discord URL in a
//! Slack sink, hooks.slack.com without `/services/`, plain http to the service, an Azure workflow
//! URL without its `sig`). Like every URL in the config file it is trusted — the SSRF guard is for
//! URLs found in fetched content, and no content ever chooses where a sink sends.

use std::str::FromStr;

use super::{discord, json, ntfy, parse_target_url, slack, TargetUrl, TargetUrlError};

/// The kinds of alert target, as the configuration names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// The generic webhook: the alert payload as JSON.
    Webhook,
    Slack,
    Discord,
    Teams,
    Ntfy,
    Telegram,
    Email,
}

/// The configuration names of the kinds, for error messages.
pub const KINDS: &str = "webhook, slack, discord, teams, ntfy, telegram, email";

impl TargetKind {
    pub fn name(self) -> &'static str {
        match self {
            TargetKind::Webhook => "webhook",
            TargetKind::Slack => "slack",
            TargetKind::Discord => "discord",
            TargetKind::Teams => "teams",
            TargetKind::Ntfy => "ntfy",
            TargetKind::Telegram => "telegram",
            TargetKind::Email => "email",
        }
    }

    /// The URL forms this kind accepts, for error messages.
    fn hint(self) -> &'static str {
        match self {
            TargetKind::Webhook => "use an http(s):// or json(s):// URL",
            TargetKind::Slack => {
                "use https://hooks.slack.com/services/…, slack://TokenA/TokenB/TokenC, or the URL of a Slack-compatible receiver"
            }
            TargetKind::Discord => {
                "use https://discord.com/api/webhooks/…, discord://WebhookID/WebhookToken, or the URL of a Discord-compatible receiver"
            }
            TargetKind::Teams => {
                "use the workflow's https:// URL (with its sig), workflows://host/WorkflowID/Signature, or the URL of a compatible receiver"
            }
            TargetKind::Ntfy => "use https://host/topic, ntfy://… or ntfys://…",
            TargetKind::Telegram => "use tgram://BotToken/ChatID",
            TargetKind::Email => "use mailto://… or mailtos://…",
        }
    }

    fn matches(self, target: &TargetUrl) -> bool {
        matches!(
            (self, target),
            (TargetKind::Webhook, TargetUrl::Json { .. })
                | (TargetKind::Slack, TargetUrl::Slack { .. })
                | (TargetKind::Discord, TargetUrl::Discord { .. })
                | (TargetKind::Teams, TargetUrl::Teams { .. })
                | (TargetKind::Ntfy, TargetUrl::Ntfy { .. })
                | (TargetKind::Telegram, TargetUrl::Telegram { .. })
                | (TargetKind::Email, TargetUrl::Email(_))
        )
    }
}

impl FromStr for TargetKind {
    type Err = TargetUrlError;

    fn from_str(name: &str) -> Result<TargetKind, TargetUrlError> {
        Ok(match name {
            "webhook" | "json" => TargetKind::Webhook,
            "slack" => TargetKind::Slack,
            "discord" => TargetKind::Discord,
            "teams" | "workflows" => TargetKind::Teams,
            "ntfy" => TargetKind::Ntfy,
            "telegram" | "tgram" => TargetKind::Telegram,
            "email" | "mailto" => TargetKind::Email,
            other => return Err(TargetUrlError::UnknownKind(other.to_string())),
        })
    }
}

/// Parses the URL of a target whose kind the configuration names: the service's own https URL
/// or an Apprise URL of that kind.
pub fn parse_target(kind: TargetKind, input: &str) -> Result<TargetUrl, TargetUrlError> {
    let input = input.trim();
    let (scheme, rest) = input
        .split_once("://")
        .ok_or(TargetUrlError::MissingScheme)?;
    let scheme = scheme.to_ascii_lowercase();
    let secure = match scheme.as_str() {
        "https" => true,
        "http" => false,
        _ => {
            let target = parse_target_url(input)?;
            return if kind.matches(&target) {
                Ok(target)
            } else {
                Err(mismatch(kind, &scheme))
            };
        }
    };
    let host = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let path = rest.find('/').map_or("", |start| &rest[start..]);
    match kind {
        TargetKind::Webhook => json::parse(
            if secure { "jsons" } else { "json" },
            &swap(input, "json", secure),
        ),
        TargetKind::Slack => match path.strip_prefix("/services/") {
            Some(tokens) if secure && host == "hooks.slack.com" => slack::parse(tokens),
            _ if service_host(&host) => Err(mismatch(kind, &scheme)),
            _ => Ok(TargetUrl::Slack {
                webhook_url: compatible(kind, &scheme, input)?,
                channel: None,
            }),
        },
        TargetKind::Discord => {
            let known_host = [
                "discord.com",
                "discordapp.com",
                "ptb.discord.com",
                "canary.discord.com",
            ]
            .contains(&host.as_str());
            match path.strip_prefix("/api/webhooks/") {
                Some(tokens) if secure && known_host => discord::parse(tokens),
                _ if service_host(&host) => Err(mismatch(kind, &scheme)),
                _ => Ok(TargetUrl::Discord {
                    webhook_url: compatible(kind, &scheme, input)?,
                }),
            }
        }
        TargetKind::Teams => {
            // Workflow URLs are signed: without `sig` it is not one (or it was cut when pasted).
            let signed = rest.split_once('?').is_some_and(|(_, query)| {
                query
                    .split('&')
                    .any(|pair| pair.starts_with("sig=") && pair.len() > 4)
            });
            let workflow = path.contains("/workflows/")
                || host.ends_with(".logic.azure.com")
                || host.ends_with(".powerplatform.com");
            if workflow && (!secure || !signed) || service_host(&host) {
                return Err(mismatch(kind, &scheme));
            }
            Ok(TargetUrl::Teams {
                webhook_url: compatible(kind, &scheme, input)?,
            })
        }
        TargetKind::Ntfy => ntfy::parse(
            if secure { "ntfys" } else { "ntfy" },
            &swap(input, "ntfy", secure),
        ),
        // Telegram's API URL carries the bot token but not the chat, and mail has no URL of its
        // own: only their Apprise forms configure them.
        TargetKind::Telegram | TargetKind::Email => Err(mismatch(kind, &scheme)),
    }
}

/// Hosts of the services wirewatch knows, where only their own webhook URLs make sense.
fn service_host(host: &str) -> bool {
    let host = host.split(':').next().unwrap_or(host);
    [
        "slack.com",
        "discord.com",
        "discordapp.com",
        "telegram.org",
        "ntfy.sh",
    ]
    .iter()
    .any(|domain| host == *domain || host.ends_with(&format!(".{domain}")))
}

/// Another receiver's http(s) URL, as written (normalised by the URL parser).
fn compatible(
    kind: TargetKind,
    scheme: &str,
    input: &str,
) -> Result<super::Secret, TargetUrlError> {
    match url::Url::parse(input) {
        Ok(url) if url.host_str().is_some_and(|host| !host.is_empty()) => {
            Ok(super::Secret::new(url.to_string()))
        }
        _ => Err(mismatch(kind, scheme)),
    }
}

/// `input` with its http(s) scheme replaced by `base` (`base` + `s` for https).
fn swap(input: &str, base: &str, secure: bool) -> String {
    let rest = input.split_once("://").map_or(input, |(_, rest)| rest);
    let suffix = if secure { "s" } else { "" };
    format!("{base}{suffix}://{rest}")
}

fn mismatch(kind: TargetKind, scheme: &str) -> TargetUrlError {
    TargetUrlError::KindMismatch {
        kind: kind.name(),
        scheme: scheme.to_string(),
        hint: kind.hint(),
    }
}
