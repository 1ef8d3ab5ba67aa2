//! Alert delivery targets: the only modules that send alerts over the network. Each sink turns
//! one stored alert payload — or, for a sink with a digest window, several bundled as one
//! message — into one delivery attempt and classifies the outcome; retry timing, digest windows,
//! dead letters and bookkeeping belong to the daemon's delivery loop, not here.
//!
//! Sinks are a closed enum (one variant and one file per kind): no plug-in system until a real
//! need for one exists.

pub mod chat;
pub mod email;
pub mod format;
pub mod log;
pub mod nats;
pub mod rate;
pub mod webhook;

use std::time::Duration;

use crate::config::{SinkConfig, SinkKind};

/// What one delivery attempt achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver accepted the alert (2xx).
    Delivered,
    /// Worth trying again later (408, 429, 5xx, network errors); `retry_after` as the receiver asked.
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
    /// Trying again cannot help (other 4xx, redirects): the alert becomes a dead letter.
    Permanent { error: String },
    /// The target is gone for good (410): stop delivering to it; the alert stays queued.
    Gone { error: String },
}

/// A configured sink, ready to deliver.
pub enum Sink {
    Log,
    Webhook(webhook::WebhookSink),
    Chat(chat::ChatSink),
    Email(email::EmailSink),
    Nats(nats::NatsSink),
}

impl Sink {
    pub fn build(config: &SinkConfig, client: &reqwest::Client) -> Sink {
        match &config.kind {
            SinkKind::Log => Sink::Log,
            SinkKind::Chat {
                target,
                template,
                timeout,
                api_base,
            } => Sink::Chat(chat::ChatSink::new(
                client.clone(),
                target.clone(),
                template.clone(),
                *timeout,
                api_base.as_ref().map(url::Url::as_str),
            )),
            SinkKind::Email { target, timeout } => {
                Sink::Email(email::EmailSink::new(target, *timeout))
            }
            SinkKind::Nats {
                target,
                subject,
                timeout,
            } => Sink::Nats(nats::NatsSink::new(
                &config.name,
                target.clone(),
                subject.clone(),
                *timeout,
            )),
            SinkKind::Webhook {
                url,
                secrets,
                timeout,
                basic_auth,
                headers,
            } => Sink::Webhook(
                webhook::WebhookSink::new(client.clone(), url.clone(), secrets, *timeout)
                    .with_credentials(basic_auth.clone(), headers.clone()),
            ),
        }
    }

    /// The recipients a delivery reaches with one request each, whose progress the delivery
    /// loop keeps so a retry skips those done (ntfy topics, Telegram chats); empty when the sink
    /// has a single receiver.
    pub fn recipients(&self) -> Vec<String> {
        match self {
            Sink::Chat(chat) => chat.recipients(),
            Sink::Log | Sink::Webhook(_) | Sink::Email(_) | Sink::Nats(_) => Vec::new(),
        }
    }

    /// One attempt to deliver the stored payload of alert `alert_id` (to one of
    /// [`Sink::recipients`] alone when `recipient` names it, else to all).
    pub async fn deliver(&self, alert_id: &str, payload: &str, recipient: Option<&str>) -> Outcome {
        match self {
            Sink::Log => log::deliver(alert_id, payload),
            Sink::Webhook(webhook) => webhook.deliver(alert_id, payload).await,
            Sink::Chat(chat) => chat.deliver(payload, recipient).await,
            Sink::Email(email) => email.deliver(alert_id, payload).await,
            Sink::Nats(nats) => nats.deliver(alert_id, payload).await,
        }
    }

    /// How many of `payloads` (the first ones) one digest message of this sink can list: a chat
    /// service's size limit may leave room for fewer; every other kind takes them all.
    pub fn digest_listed(&self, payloads: &[&str]) -> usize {
        match self {
            Sink::Chat(chat) => chat.digest_listed(payloads),
            Sink::Log | Sink::Webhook(_) | Sink::Email(_) | Sink::Nats(_) => payloads.len(),
        }
    }

    /// One attempt to deliver several stored payloads as one digest message, identified by
    /// `digest_id` (stable across retries of the same digest); `recipient` as for
    /// [`Sink::deliver`].
    pub async fn deliver_digest(
        &self,
        digest_id: &str,
        payloads: &[&str],
        recipient: Option<&str>,
    ) -> Outcome {
        match self {
            // config refuses digests for the log sink; should one arrive, log each alert
            Sink::Log => {
                for payload in payloads {
                    if let Outcome::Permanent { error } = log::deliver(digest_id, payload) {
                        return Outcome::Permanent { error };
                    }
                }
                Outcome::Delivered
            }
            Sink::Webhook(webhook) => webhook.deliver_digest(digest_id, payloads).await,
            Sink::Chat(chat) => chat.deliver_digest(payloads, recipient).await,
            Sink::Email(email) => email.deliver_digest(digest_id, payloads).await,
            Sink::Nats(nats) => nats.deliver_digest(payloads).await,
        }
    }
}

pub use crate::secret::masked_url;

/// The one HTTP client every webhook sink shares. Redirects are not followed: a webhook URL that
/// redirects is a configuration mistake worth surfacing, and following could re-send the body
/// somewhere the operator did not name.
pub fn http_client(user_agent: &str) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(user_agent)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
}

#[cfg(test)]
mod tests {
    use super::masked_url;

    #[test]
    fn masked_url_hides_path_query_and_credentials() {
        let masked = |text: &str| masked_url(&url::Url::parse(text).unwrap());
        assert_eq!(
            masked("http://127.0.0.1:9/hooks/TOKEN?token=abc"),
            "http://127.0.0.1:9/…"
        );
        assert_eq!(
            masked("https://user:pw@example.org/"),
            "https://example.org/…"
        );
        assert_eq!(masked("https://example.org"), "https://example.org/");
        assert_eq!(masked("https://example.org/?t=1"), "https://example.org/…");
    }
}
