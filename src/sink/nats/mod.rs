//! The NATS JetStream sink: publishes the alert payload (the generic webhook's JSON, byte for
//! byte) to a subject rendered from the sink's template, with header `Nats-Msg-Id` = the alert
//! id, and counts the alert delivered only when a stream acknowledges it. JetStream drops a
//! second message with the same id inside the stream's duplicate window, so a retried publish
//! whose first ack was lost never becomes a second message.
//!
//! One connection per sink, made at the first delivery (a server down at start-up delays alerts,
//! it does not stop the daemon) and reused after; async-nats reconnects by itself when it is lost,
//! and a publish that finds no connection times out and is retried on the sink's schedule. No
//! stream capturing the subject is retried too, but logged as an ERROR with the command that
//! creates one: operators fix it without losing alerts. This sink creates no streams itself
//! (retention, replicas and limits are the operator's decisions) and does not subscribe.

use std::time::Duration;

use async_nats::jetstream::context::{Context, PublishErrorKind};
use async_nats::{ConnectOptions, HeaderMap};

pub use crate::target_url::nats::{
    render_subject, subject_problem, suggested_filter, NatsAuth, NatsTarget,
};

use super::Outcome;

pub struct NatsSink {
    /// The configured sink's name, for the ERROR logged when no stream takes its subject.
    name: String,
    target: NatsTarget,
    subject: String,
    timeout: Duration,
    /// Made by the first delivery that needs it; a failed attempt leaves it empty so the next
    /// delivery tries again.
    jetstream: tokio::sync::OnceCell<Context>,
}

impl NatsSink {
    pub fn new(name: &str, target: NatsTarget, subject: String, timeout: Duration) -> NatsSink {
        NatsSink {
            name: name.to_string(),
            target,
            subject,
            timeout,
            jetstream: tokio::sync::OnceCell::new(),
        }
    }

    /// One attempt: render the subject, publish, wait for the stream's ack.
    pub async fn deliver(&self, alert_id: &str, payload: &str) -> Outcome {
        let value: serde_json::Value = match serde_json::from_str(payload) {
            Ok(value) => value,
            Err(error) => {
                return Outcome::Permanent {
                    error: format!("stored payload is not valid JSON: {error}"),
                }
            }
        };
        let subject = match render_subject(&self.subject, &value) {
            Ok(subject) => subject,
            Err(error) => {
                return Outcome::Permanent {
                    error: format!("{error}; fix the sink's subject and replay the dead letters"),
                }
            }
        };
        let jetstream = match self.connection().await {
            Ok(jetstream) => jetstream,
            Err(error) => {
                return Outcome::Retry {
                    error,
                    retry_after: None,
                }
            }
        };
        self.publish(jetstream, &subject, alert_id, payload).await
    }

    /// A digest is published as its alerts, each under its own id (a stream's consumers batch
    /// for themselves); config refuses `digest` for this kind, so this only runs should a row
    /// from an older configuration carry one. Delivered when every alert is acknowledged.
    pub async fn deliver_digest(&self, payloads: &[&str]) -> Outcome {
        for payload in payloads {
            let id = serde_json::from_str::<serde_json::Value>(payload)
                .ok()
                .and_then(|value| value.get("id")?.as_str().map(str::to_string))
                .unwrap_or_default();
            let outcome = self.deliver(&id, payload).await;
            if outcome != Outcome::Delivered {
                return outcome;
            }
        }
        Outcome::Delivered
    }

    async fn connection(&self) -> Result<&Context, String> {
        self.jetstream
            .get_or_try_init(|| async {
                let shown = self.target.shown();
                let mut options = ConnectOptions::new()
                    .name("wirewatch")
                    .connection_timeout(self.timeout)
                    .request_timeout(Some(self.timeout));
                options = match &self.target.auth {
                    NatsAuth::None => options,
                    NatsAuth::Token(token) => options.token(token.expose().to_string()),
                    NatsAuth::UserPassword { user, password } => {
                        options.user_and_password(user.clone(), password.expose().to_string())
                    }
                    NatsAuth::Credentials(path) => {
                        options.credentials_file(path).await.map_err(|error| {
                            format!(
                                "cannot read the creds file {}: {error}; check the sink's creds path",
                                path.display()
                            )
                        })?
                    }
                };
                // the server URL holds no credentials (they went into the options above), so
                // async-nats's own logs of it show none
                let client = options
                    .connect(self.target.server.as_str())
                    .await
                    .map_err(|error| format!("cannot connect to NATS at {shown}: {error}"))?;
                let mut jetstream = async_nats::jetstream::new(client);
                jetstream.set_timeout(self.timeout);
                Ok(jetstream)
            })
            .await
    }

    async fn publish(
        &self,
        jetstream: &Context,
        subject: &str,
        alert_id: &str,
        payload: &str,
    ) -> Outcome {
        let mut headers = HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, alert_id);
        headers.insert("Content-Type", "application/json");
        let attempt = async {
            jetstream
                .publish_with_headers(subject.to_string(), headers, payload.to_string().into())
                .await?
                .await
        };
        // the ack future has the context's timeout; this one also bounds the send itself,
        // which waits while the client is reconnecting
        let result = match tokio::time::timeout(self.timeout, attempt).await {
            Ok(result) => result,
            Err(_) => {
                return Outcome::Retry {
                    error: format!(
                        "no acknowledgement from JetStream at {} within {} (subject {subject:?})",
                        self.target.shown(),
                        humantime::format_duration(self.timeout)
                    ),
                    retry_after: None,
                }
            }
        };
        match result {
            Ok(ack) => {
                if ack.duplicate {
                    // an earlier attempt was stored and its ack lost: this one was dropped
                    tracing::debug!(sink = %self.name, id = alert_id, stream = %ack.stream, "already in the stream");
                }
                Outcome::Delivered
            }
            Err(error) => self.failure(error.kind(), &error.to_string(), subject),
        }
    }

    fn failure(&self, kind: PublishErrorKind, detail: &str, subject: &str) -> Outcome {
        let shown = self.target.shown();
        match kind {
            PublishErrorKind::StreamNotFound => {
                let error = no_stream_error(subject, &suggested_filter(&self.subject, subject));
                tracing::error!(sink = %self.name, %subject, server = %shown, "{error}");
                Outcome::Retry {
                    error,
                    retry_after: None,
                }
            }
            PublishErrorKind::MaxPayloadExceeded => Outcome::Permanent {
                error: format!("the alert is larger than the server's max_payload: {detail}; raise max_payload in the NATS server's config and replay the dead letter"),
            },
            PublishErrorKind::TimedOut => Outcome::Retry {
                error: format!("no acknowledgement from JetStream at {shown} for subject {subject:?}: {detail}"),
                retry_after: None,
            },
            // broken pipes, a full stream refusing new messages, an unavailable JetStream:
            // all may pass, and none may lose the alert
            _ => Outcome::Retry {
                error: format!("publishing to {subject:?} at {shown} failed: {detail}"),
                retry_after: None,
            },
        }
    }
}

/// The text an operator sees when JetStream has no stream for a subject: what is missing and
/// the command that fixes it.
pub fn no_stream_error(subject: &str, filter: &str) -> String {
    format!(
        "no JetStream stream captures subject {subject:?}; create one, e.g. `nats stream add WIREWATCH --subjects '{filter}' --dupe-window 1h --defaults` (alerts wait in the outbox and are retried)"
    )
}
