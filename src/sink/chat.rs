//! Chat and push targets — Slack, Discord, Microsoft Teams (Workflows), ntfy, Telegram: each
//! alert becomes the service's own message (built by `sink::format`, within its size limits)
//! POSTed as JSON, with the same outcome rules as the generic webhook (2xx accepted; 408, 429,
//! 5xx and network errors retried, honouring Retry-After; 410 disables; other 4xx permanent).
//!
//! A user template, when configured, replaces the default message text of an alert. A digest is
//! one message in the service's digest format, and a source-health message one in its health
//! format, chosen by the payload's `type`; a template never applies to either (it is written
//! against the alert payload). Email (SMTP) is not delivered by this module.

use std::time::Duration;

use reqwest::header::CONTENT_TYPE;

use super::format::{
    self, AlertView, HealthView, Message, NtfyAuth, NtfyMessage, Secret, TargetUrl,
};
use super::webhook::{network_outcome, status_outcome};
use super::Outcome;

pub struct ChatSink {
    client: reqwest::Client,
    target: TargetUrl,
    template: Option<String>,
    timeout: Duration,
    /// Telegram's Bot API server (`api_base`), without a trailing slash.
    telegram_api: String,
}

/// One HTTP request a delivery needs (Telegram sends one per chat).
struct Request {
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
                .unwrap_or(format::TELEGRAM_API)
                .trim_end_matches('/')
                .to_string(),
        }
    }

    /// The requests of one digest: the service's digest format, one message per target.
    fn digest_requests(&self, payloads: &[&str]) -> Result<Vec<Request>, String> {
        let alerts = payloads
            .iter()
            .map(|payload| AlertView::from_payload(payload))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| error.to_string())?;
        self.built_in_requests(&BuiltIn::Digest(&alerts))
    }

    /// The requests of a message in one of the service's built-in formats, one per target.
    fn built_in_requests(&self, content: &BuiltIn<'_>) -> Result<Vec<Request>, String> {
        let plain = |url: &Secret, body: serde_json::Value| Request {
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
                let message = content.ntfy();
                topics
                    .iter()
                    .map(|topic| Request {
                        url: format!("{server}/"),
                        body: message.to_json(topic),
                        auth: ntfy_authorization(auth),
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
                        plain(&url, body)
                    })
                    .collect()
            }
            TargetUrl::Json { .. } | TargetUrl::Email(_) => {
                return Err("this target is not a chat service".to_string())
            }
        })
    }

    fn telegram_url(&self, bot_token: &Secret) -> Secret {
        format::telegram_api_url_at(&self.telegram_api, bot_token, "sendMessage")
    }

    fn requests(&self, payload: &str) -> Result<Vec<Request>, String> {
        let alert = match Message::from_payload(payload).map_err(|error| error.to_string())? {
            Message::Alert(alert) => alert,
            // a template is written against the alert payload: health messages keep their own
            Message::Health(health) => return self.built_in_requests(&BuiltIn::Health(&health)),
        };
        let custom = match &self.template {
            Some(template) => {
                let value: serde_json::Value =
                    serde_json::from_str(payload).map_err(|error| error.to_string())?;
                Some(format::render_template(template, &value).map_err(|error| error.to_string())?)
            }
            None => None,
        };
        let plain = |url: &str, body: serde_json::Value| Request {
            url: url.to_string(),
            body,
            auth: None,
        };
        Ok(match &self.target {
            TargetUrl::Slack { webhook_url, .. } => vec![plain(
                webhook_url.expose(),
                match custom {
                    Some(text) => serde_json::json!({ "text": text }),
                    None => format::slack(&alert),
                },
            )],
            TargetUrl::Discord { webhook_url } => vec![plain(
                webhook_url.expose(),
                match custom {
                    Some(text) => {
                        serde_json::json!({ "content": text, "allowed_mentions": { "parse": [] } })
                    }
                    None => format::discord(&alert),
                },
            )],
            TargetUrl::Teams { webhook_url } => vec![plain(
                webhook_url.expose(),
                match custom {
                    Some(text) => serde_json::json!({
                        "type": "message",
                        "attachments": [{ "contentType": "application/vnd.microsoft.card.adaptive", "content": {
                            "type": "AdaptiveCard", "version": "1.4",
                            "body": [{ "type": "TextBlock", "text": text, "wrap": true }] } }]
                    }),
                    None => format::teams(&alert),
                },
            )],
            TargetUrl::Ntfy {
                server,
                topics,
                auth,
            } => {
                let auth = ntfy_authorization(auth);
                topics
                    .iter()
                    .map(|topic| {
                        let mut body = format::ntfy_json(&alert, topic);
                        if let Some(text) = &custom {
                            body["message"] = serde_json::Value::String(text.clone());
                        }
                        Request {
                            url: format!("{server}/"),
                            body,
                            auth: auth.clone(),
                        }
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
                        let mut body = match &custom {
                            Some(text) => serde_json::json!({ "chat_id": chat, "text": text }),
                            None => format::telegram(&alert, chat),
                        };
                        if let Some(thread) = thread_id {
                            body["message_thread_id"] = serde_json::json!(thread);
                        }
                        plain(url.expose(), body)
                    })
                    .collect()
            }
            TargetUrl::Json { .. } | TargetUrl::Email(_) => {
                return Err("this target is not a chat service".to_string())
            }
        })
    }

    pub async fn deliver(&self, payload: &str) -> Outcome {
        match self.requests(payload) {
            Ok(requests) => self.send(requests).await,
            Err(error) => Outcome::Permanent { error },
        }
    }

    pub async fn deliver_digest(&self, payloads: &[&str]) -> Outcome {
        match self.digest_requests(payloads) {
            Ok(requests) => self.send(requests).await,
            Err(error) => Outcome::Permanent { error },
        }
    }

    async fn send(&self, requests: Vec<Request>) -> Outcome {
        for request in requests {
            let mut builder = self
                .client
                .post(&request.url)
                .timeout(self.timeout)
                .header(CONTENT_TYPE, "application/json")
                .body(request.body.to_string());
            if let Some(auth) = &request.auth {
                builder = builder.header(reqwest::header::AUTHORIZATION, auth);
            }
            let outcome = match builder.send().await {
                // the URL holds the service's secret token: never show it in errors
                Err(error) => network_outcome(&error.without_url()),
                Ok(response) => status_outcome(&response, chrono::Utc::now()),
            };
            if outcome != Outcome::Delivered {
                return outcome;
            }
        }
        Outcome::Delivered
    }
}

/// A message only ever sent in the service's built-in format, never through a template.
enum BuiltIn<'a> {
    Digest(&'a [AlertView]),
    Health(&'a HealthView),
}

impl BuiltIn<'_> {
    fn slack(&self) -> serde_json::Value {
        match self {
            BuiltIn::Digest(alerts) => format::slack_digest(alerts),
            BuiltIn::Health(health) => format::slack_health(health),
        }
    }

    fn discord(&self) -> serde_json::Value {
        match self {
            BuiltIn::Digest(alerts) => format::discord_digest(alerts),
            BuiltIn::Health(health) => format::discord_health(health),
        }
    }

    fn teams(&self) -> serde_json::Value {
        match self {
            BuiltIn::Digest(alerts) => format::teams_digest(alerts),
            BuiltIn::Health(health) => format::teams_health(health),
        }
    }

    fn ntfy(&self) -> NtfyMessage {
        match self {
            BuiltIn::Digest(alerts) => format::ntfy_digest(alerts),
            BuiltIn::Health(health) => format::ntfy_health(health),
        }
    }

    fn telegram(&self, chat_id: &str) -> serde_json::Value {
        match self {
            BuiltIn::Digest(alerts) => format::telegram_digest(alerts, chat_id),
            BuiltIn::Health(health) => format::telegram_health(health, chat_id),
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
