//! Email over SMTP (lettre, rustls): each alert — or digest, or source-health message — becomes
//! one `multipart/alternative` message (plain text and HTML from `sink::format::email`), submitted
//! to the configured server with STARTTLS, implicit TLS or, where explicitly configured, none.
//!
//! The Message-ID derives from the alert (or digest) id, so a message sent again after a retry
//! or a replay is recognisably the same one, and mail clients that thread or de-duplicate by
//! Message-ID treat it so. SMTP replies decide the outcome: 5xx is permanent (a dead letter at
//! once), 4xx and connection problems are retried per the sink's schedule. One connection per
//! message: alerts are rare enough that a pool would mostly hold idle connections. This module
//! does not queue, retry or read the clock: the daemon's delivery loop does.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::format::{self, AlertView, EmailMessage};
use super::Outcome;
use crate::target_url::{EmailTarget, SmtpSecurity};

pub struct EmailSink {
    /// `Err` when the TLS settings could not be built (a host name rustls rejects): every
    /// attempt then fails permanently with that reason.
    transport: Result<AsyncSmtpTransport<Tokio1Executor>, String>,
    /// `Err` when lettre refuses the sender (config validation makes this unlikely).
    from: Result<Mailbox, String>,
    to: Vec<Mailbox>,
    cc: Vec<Mailbox>,
    bcc: Vec<Mailbox>,
    /// The right-hand side of Message-IDs: the sender's domain, which the operator controls.
    domain: String,
}

impl EmailSink {
    pub fn new(target: &EmailTarget, timeout: Duration) -> EmailSink {
        let mailbox = |address: &str, name: Option<&str>| -> Option<Mailbox> {
            let email = address.parse().ok()?;
            Some(Mailbox::new(name.map(str::to_string), email))
        };
        let mailboxes = |addresses: &[String]| -> Vec<Mailbox> {
            addresses
                .iter()
                .filter_map(|address| mailbox(address, None))
                .collect()
        };
        // config validation checked every address; a recipient lettre still refuses is left out
        EmailSink {
            transport: transport(target, timeout),
            from: mailbox(&target.from, target.from_name.as_deref())
                .ok_or_else(|| format!("sender address {:?} is not valid for SMTP", target.from)),
            to: mailboxes(&target.to),
            cc: mailboxes(&target.cc),
            bcc: mailboxes(&target.bcc),
            domain: target
                .from
                .rsplit_once('@')
                .map_or("wirewatch.invalid", |(_, domain)| domain)
                .to_string(),
        }
    }

    /// One attempt to mail the stored payload of alert (or source-health message) `alert_id`.
    pub async fn deliver(&self, alert_id: &str, payload: &str) -> Outcome {
        match format::Message::from_payload(payload) {
            Ok(format::Message::Alert(alert)) => self.send(alert_id, format::email(&alert)).await,
            Ok(format::Message::Health(health)) => {
                self.send(alert_id, format::email_health(&health)).await
            }
            Err(error) => Outcome::Permanent {
                error: error.to_string(),
            },
        }
    }

    /// One attempt to mail a digest of `payloads`, identified by `digest_id`.
    pub async fn deliver_digest(&self, digest_id: &str, payloads: &[&str]) -> Outcome {
        let alerts: Result<Vec<AlertView>, _> = payloads
            .iter()
            .map(|payload| AlertView::from_payload(payload))
            .collect();
        match alerts {
            Ok(alerts) => self.send(digest_id, format::email_digest(&alerts)).await,
            Err(error) => Outcome::Permanent {
                error: error.to_string(),
            },
        }
    }

    /// The MIME message: what the server receives, apart from the Date and boundaries.
    pub fn message(&self, id: &str, content: EmailMessage) -> Result<Message, String> {
        let mut builder = Message::builder()
            .from(self.from.clone()?)
            .subject(content.subject)
            .message_id(Some(format!("<{id}@{}>", self.domain)))
            .user_agent(format!("wirewatch/{}", env!("CARGO_PKG_VERSION")));
        for mailbox in &self.to {
            builder = builder.to(mailbox.clone());
        }
        for mailbox in &self.cc {
            builder = builder.cc(mailbox.clone());
        }
        for mailbox in &self.bcc {
            builder = builder.bcc(mailbox.clone());
        }
        builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(content.text),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(content.html),
                    ),
            )
            .map_err(|error| format!("cannot build the message: {error}"))
    }

    async fn send(&self, id: &str, content: EmailMessage) -> Outcome {
        let transport = match &self.transport {
            Ok(transport) => transport,
            Err(error) => {
                return Outcome::Permanent {
                    error: error.clone(),
                }
            }
        };
        let message = match self.message(id, content) {
            Ok(message) => message,
            Err(error) => return Outcome::Permanent { error },
        };
        match transport.send(message).await {
            Ok(_) => Outcome::Delivered,
            Err(error) => classify(&error),
        }
    }
}

fn transport(
    target: &EmailTarget,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let tls_parameters = || {
        TlsParameters::new(target.smtp_host.clone())
            .map_err(|error| format!("cannot set up TLS for {}: {error}", target.smtp_host))
    };
    let tls = match target.security {
        SmtpSecurity::StartTls => Tls::Required(tls_parameters()?),
        SmtpSecurity::ImplicitTls => Tls::Wrapper(tls_parameters()?),
        SmtpSecurity::Plaintext => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&target.smtp_host)
        .port(target.port)
        .tls(tls)
        .timeout(Some(timeout));
    if let (Some(user), Some(password)) = (&target.user, &target.password) {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            password.expose().to_string(),
        ));
    }
    Ok(builder.build())
}

/// 5xx replies (and requests the client itself refuses) cannot succeed on a later try; 4xx
/// replies, timeouts, TLS and connection failures can.
fn classify(error: &lettre::transport::smtp::Error) -> Outcome {
    // lettre's Display includes the server's reply text and the underlying cause, never the
    // credentials
    let text = format!("SMTP: {error}");
    if error.is_permanent() || error.is_client() {
        Outcome::Permanent { error: text }
    } else {
        Outcome::Retry {
            error: text,
            retry_after: None,
        }
    }
}
