//! Chat and push targets — Slack, Discord, Microsoft Teams (Workflows), ntfy, Telegram: each
//! alert becomes the service's own message (built by `sink::format`, within its size limits)
//! POSTed as JSON, with the same outcome rules as the generic webhook (2xx accepted; 408, 429,
//! 5xx and network errors retried, honouring Retry-After; 410 disables; other 4xx permanent).
//!
//! A user template, when configured, replaces the default message text of an alert. A digest is
//! one message in the service's digest format, and a source-health message one in its health
//! format, chosen by the payload's `type`; a template never applies to either (it is written
//! against the alert payload). Invisible format characters such as bidirectional overrides are
//! dropped from a template's text as from the built-in formats (`crate::text_safety`). Email
//! (SMTP) is not delivered by this module.

use std::time::Duration;

use reqwest::header::CONTENT_TYPE;

use super::format::{self, AlertView, HealthView, Message};
use super::webhook::{network_outcome, status_outcome};
use super::Outcome;
use crate::target_url::{self, NtfyAuth, Secret, TargetUrl};
use crate::text_safety;

pub struct ChatSink {
    client: reqwest::Client,
    target: TargetUrl,
    template: Option<String>,
    timeout: Duration,
    /// Telegram's Bot API server (`api_base`), without a trailing slash.
    telegram_api: String,
}

/// One HTTP request a delivery needs (Telegram sends one per chat, ntfy one per topic).
struct Request {
    /// Who receives it: the ntfy topic or Telegram chat id, empty for single-target services.
    recipient: String,
    url: String,
    body: serde_json::Value,
    auth: Option<String>,
}

impl ChatSink {
    pub fn new(
        client: reqwest::Client,
        target: TargetUrl,
        template: Option<String>,
        timeout: Duration,
        api_base: Option<&str>,
    ) -> ChatSink {
        ChatSink {
            client,
            target,
            template,
            timeout,
            telegram_api: api_base
                .unwrap_or(target_url::TELEGRAM_API)
                .trim_end_matches('/')
                .to_string(),
        }
    }

    /// The requests of one digest: the service's digest format, one message per target.
    fn digest_requests(&self, payloads: &[&str]) -> Result<Vec<Request>, String> {
        self.content_requests(&Content::Digest(&digest_alerts(payloads)?))
    }

    /// How many of `payloads` (the first ones) one digest message of this service lists within
    /// its size limits; the daemon sends only those, and the rest in a follow-up message.
    /// Payloads that do not parse count as listed: the attempt then fails on them as a whole.
    pub fn digest_listed(&self, payloads: &[&str]) -> usize {
        let Ok(alerts) = digest_alerts(payloads) else {
            return payloads.len();
        };
        match &self.target {
            TargetUrl::Slack { .. } => format::slack_digest(&alerts).listed,
            TargetUrl::Discord { .. } => format::discord_digest(&alerts).listed,
            TargetUrl::Teams { .. } => format::teams_digest(&alerts).listed,
            TargetUrl::Ntfy { .. } => format::ntfy_digest(&alerts).listed,
            // the chat id is in the body, so a longer id could leave room for fewer alerts
            TargetUrl::Telegram { chat_ids, .. } => chat_ids
                .iter()
                .map(|chat| format::telegram_digest(&alerts, chat).listed)
                .min()
                .unwrap_or(alerts.len()),
            TargetUrl::Json { .. } | TargetUrl::Email(_) => alerts.len(),
        }
    }

    /// The requests of one stored payload: an alert (through the template when there is one) or
    /// a source-health message (always in its built-in format).
    fn requests(&self, payload: &str) -> Result<Vec<Request>, String> {
        let alert = match Message::from_payload(payload).map_err(|error| error.to_string())? {
            Message::Alert(alert) => alert,
            // a template is written against the alert payload: health messages keep their own
            Message::Health(health) => return self.content_requests(&Content::Health(&health)),
        };
        let custom = match &self.template {
            Some(template) => {
                let value: serde_json::Value =
                    serde_json::from_str(payload).map_err(|error| error.to_string())?;
                let text = crate::template::render_template(template, &value)
                    .map_err(|error| error.to_string())?;
                // the template reads the raw payload, so feed text arrives with any bidi
                // override it had: a chat message never carries one, whoever laid it out
                Some(text_safety::strip_invisible_controls(&text))
            }
            None => None,
        };
        self.content_requests(&Content::Alert {
            alert: &alert,
            custom: custom.as_deref(),
        })
    }

    /// The requests of one message, one per target (ntfy topic, Telegram chat).
    fn content_requests(&self, content: &Content<'_>) -> Result<Vec<Request>, String> {
        let plain = |url: &Secret, body: serde_json::Value| Request {
            recipient: String::new(),
            url: url.expose().to_string(),
            body,
            auth: None,
        };
        Ok(match &self.target {
            TargetUrl::Slack { webhook_url, .. } => vec![plain(webhook_url, content.slack())],
            TargetUrl::Discord { webhook_url } => vec![plain(webhook_url, content.discord())],
            TargetUrl::Teams { webhook_url } => vec![plain(webhook_url, content.teams())],
            TargetUrl::Ntfy {
                server,
                topics,
                auth,
            } => {
                let auth = ntfy_authorization(auth);
                topics
                    .iter()
                    .map(|topic| Request {
                        recipient: topic.clone(),
                        url: format!("{server}/"),
                        body: content.ntfy(topic),
                        auth: auth.clone(),
                    })
                    .collect()
            }
            TargetUrl::Telegram {
                bot_token,
                chat_ids,
                thread_id,
            } => {
                let url = self.telegram_url(bot_token);
                chat_ids
                    .iter()
                    .map(|chat| {
                        let mut body = content.telegram(chat);
                        if let Some(thread) = thread_id {
                            body["message_thread_id"] = serde_json::json!(thread);
                        }
                        Request {
                            recipient: chat.clone(),
                            ..plain(&url, body)
                        }
                    })
                    .collect()
            }
            TargetUrl::Json { .. } | TargetUrl::Email(_) => {
                return Err("this target is not a chat service".to_string())
            }
        })
    }

    fn telegram_url(&self, bot_token: &Secret) -> Secret {
        target_url::telegram_api_url_at(&self.telegram_api, bot_token, "sendMessage")
    }

    /// The recipients a delivery goes to one request each (ntfy topics, Telegram chats, in the
    /// order they are sent); empty for services with one webhook URL.
    pub fn recipients(&self) -> Vec<String> {
        match &self.target {
            TargetUrl::Ntfy { topics, .. } => topics.clone(),
            TargetUrl::Telegram { chat_ids, .. } => chat_ids.clone(),
            _ => Vec::new(),
        }
    }

    /// Sends one payload to every recipient, or to `recipient` alone.
    pub async fn deliver(&self, payload: &str, recipient: Option<&str>) -> Outcome {
        match self.requests(payload) {
            Ok(requests) => self.send(requests, recipient).await,
            Err(error) => Outcome::Permanent { error },
        }
    }

    /// Sends one digest to every recipient, or to `recipient` alone.
    pub async fn deliver_digest(&self, payloads: &[&str], recipient: Option<&str>) -> Outcome {
        match self.digest_requests(payloads) {
            Ok(requests) => self.send(requests, recipient).await,
            Err(error) => Outcome::Permanent { error },
        }
    }

    async fn send(&self, requests: Vec<Request>, recipient: Option<&str>) -> Outcome {
        let chosen = requests
            .into_iter()
            .filter(|request| recipient.is_none_or(|only| request.recipient == only));
        for request in chosen {
            // a service URL that does not parse fails in `post` below, with the URL stripped
            let Ok(url) = url::Url::parse(&request.url) else {
                return Outcome::Permanent {
                    error: "the service URL is not a valid URL".to_string(),
                };
            };
            let mut builder = self
                .client
                .post(url.clone())
                .timeout(self.timeout)
                .header(CONTENT_TYPE, "application/json")
                .body(request.body.to_string());
            if let Some(auth) = &request.auth {
                builder = builder.header(reqwest::header::AUTHORIZATION, auth);
            }
            let outcome = match builder.send().await {
                // the URL holds the service's secret token: never show it in errors
                Err(error) => network_outcome(error, &url),
                Ok(response) => status_outcome(&response, chrono::Utc::now()),
            };
            if outcome != Outcome::Delivered {
                return outcome;
            }
        }
        Outcome::Delivered
    }
}

fn digest_alerts(payloads: &[&str]) -> Result<Vec<AlertView>, String> {
    payloads
        .iter()
        .map(|payload| AlertView::from_payload(payload))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| error.to_string())
}

/// What one delivery sends, in each service's shape. Only an alert may carry a user template's
/// text (`custom`); digests and health messages always use the built-in formats.
enum Content<'a> {
    Alert {
        alert: &'a AlertView,
        custom: Option<&'a str>,
    },
    Digest(&'a [AlertView]),
    Health(&'a HealthView),
}

impl Content<'_> {
    fn slack(&self) -> serde_json::Value {
        match self {
            Content::Alert {
                custom: Some(text), ..
            } => serde_json::json!({ "text": text }),
            Content::Alert { alert, .. } => format::slack(alert),
            Content::Digest(alerts) => format::slack_digest(alerts).message,
            Content::Health(health) => format::slack_health(health),
        }
    }

    fn discord(&self) -> serde_json::Value {
        match self {
            Content::Alert {
                custom: Some(text), ..
            } => serde_json::json!({ "content": text, "allowed_mentions": { "parse": [] } }),
            Content::Alert { alert, .. } => format::discord(alert),
            Content::Digest(alerts) => format::discord_digest(alerts).message,
            Content::Health(health) => format::discord_health(health),
        }
    }

    fn teams(&self) -> serde_json::Value {
        match self {
            Content::Alert {
                custom: Some(text), ..
            } => serde_json::json!({
                "type": "message",
                "attachments": [{ "contentType": "application/vnd.microsoft.card.adaptive", "content": {
                    "type": "AdaptiveCard", "version": "1.4",
                    "body": [{ "type": "TextBlock", "text": text, "wrap": true }] } }]
            }),
            Content::Alert { alert, .. } => format::teams(alert),
            Content::Digest(alerts) => format::teams_digest(alerts).message,
            Content::Health(health) => format::teams_health(health),
        }
    }

    fn ntfy(&self, topic: &str) -> serde_json::Value {
        match self {
            Content::Alert { alert, custom } => {
                let mut body = format::ntfy_json(alert, topic);
                // a template replaces the text; title, tags and the click action stay
                if let Some(text) = custom {
                    body["message"] = serde_json::Value::String(text.to_string());
                }
                body
            }
            Content::Digest(alerts) => format::ntfy_digest(alerts).message.to_json(topic),
            Content::Health(health) => format::ntfy_health(health).to_json(topic),
        }
    }

    fn telegram(&self, chat_id: &str) -> serde_json::Value {
        match self {
            Content::Alert {
                custom: Some(text), ..
            } => serde_json::json!({ "chat_id": chat_id, "text": text }),
            Content::Alert { alert, .. } => format::telegram(alert, chat_id),
            Content::Digest(alerts) => format::telegram_digest(alerts, chat_id).message,
            Content::Health(health) => format::telegram_health(health, chat_id),
        }
    }
}

/// The `Authorization` header of an ntfy server that wants one.
fn ntfy_authorization(auth: &NtfyAuth) -> Option<String> {
    match auth {
        NtfyAuth::None => None,
        NtfyAuth::Token(token) => Some(format!("Bearer {}", token.expose())),
        NtfyAuth::Basic { user, password } => {
            use base64::Engine;
            let encoded = base64::engine::general_purpose::STANDARD
                .encode(format!("{user}:{}", password.expose()));
            Some(format!("Basic {encoded}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_in_a_templated_title_reach_no_message() {
        let target = target_url::parse_target_url("slack://T000/B000/XXXX");
        let Ok(target) = target else {
            panic!("slack target does not parse: {target:?}");
        };
        let sink = ChatSink::new(
            reqwest::Client::new(),
            target,
            Some("{{ article.title }}".to_string()),
            Duration::from_secs(1),
            None,
        );
        let payload = serde_json::json!({
            "version": 1, "id": "msg_x", "watchlist": "w", "source": "s",
            "detected_at": "2024-05-14T10:07:31.201Z",
            "article": {
                "url": "https://example.org/a",
                "title": format!("the \u{202E}{}", "evil.exe txt.report ".repeat(3)),
            },
        })
        .to_string();
        let requests = sink.requests(&payload);
        let Ok(requests) = requests else {
            panic!("no requests: {:?}", requests.err());
        };
        assert_eq!(
            requests[0].body["text"],
            serde_json::json!("the evil.exe txt.report evil.exe txt.report evil.exe txt.report ")
        );
    }
}
