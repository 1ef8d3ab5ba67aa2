//! The generic JSON webhook, signed per the Standard Webhooks specification: headers
//! `webhook-id` (the alert id, the same on every attempt), `webhook-timestamp` (this attempt) and,
//! with a secret, `webhook-signature` = `v1,` + base64(HMAC-SHA256(key, "id.timestamp.body")),
//! where the key is the base64 part of a `whsec_…` secret.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::header::CONTENT_TYPE;
use sha2::Sha256;
use url::Url;

use super::Outcome;
use crate::config::Secret;

pub struct WebhookSink {
    client: reqwest::Client,
    url: Url,
    /// Decoded signing keys (validated at config load), newest first.
    keys: Vec<Vec<u8>>,
    timeout: Duration,
    /// From a `json(s)://user:password@…` URL.
    basic_auth: Option<(String, Secret)>,
    /// From a `json(s)://…?+Name=value` URL, sent on every request.
    headers: Vec<(String, Secret)>,
}

pub use crate::secret::signing_key;

/// `v1,<base64 signature>` over `id.timestamp.body`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so new_from_slice cannot fail here
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

impl WebhookSink {
    pub fn new(
        client: reqwest::Client,
        url: Url,
        secrets: &[Secret],
        timeout: Duration,
    ) -> WebhookSink {
        // config validation already decoded every secret; one that fails here cannot occur
        let keys = secrets
            .iter()
            .filter_map(|secret| signing_key(secret.expose()).ok())
            .collect();
        WebhookSink {
            client,
            url,
            keys,
            timeout,
            basic_auth: None,
            headers: Vec::new(),
        }
    }

    /// Basic auth and extra headers a `json(s)://` URL gives.
    pub fn with_credentials(
        mut self,
        basic_auth: Option<(String, Secret)>,
        headers: Vec<(String, Secret)>,
    ) -> WebhookSink {
        self.basic_auth = basic_auth;
        self.headers = headers;
        self
    }

    /// A digest: the envelope of [`digest_body`], signed and sent like one alert under the
    /// digest's own id.
    pub async fn deliver_digest(&self, digest_id: &str, payloads: &[&str]) -> Outcome {
        self.deliver(digest_id, &digest_body(digest_id, payloads))
            .await
    }

    pub async fn deliver(&self, alert_id: &str, payload: &str) -> Outcome {
        let now = chrono::Utc::now();
        let timestamp = now.timestamp();
        let mut request = self
            .client
            .post(self.url.clone())
            .timeout(self.timeout)
            .header(CONTENT_TYPE, "application/json")
            .header("webhook-id", alert_id)
            .header("webhook-timestamp", timestamp.to_string());
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.expose());
        }
        if let Some((user, password)) = &self.basic_auth {
            request = request.basic_auth(user, Some(password.expose()));
        }
        if !self.keys.is_empty() {
            // while rotating, receivers holding either secret can verify (space-separated list)
            let signatures: Vec<String> = self
                .keys
                .iter()
                .map(|key| sign(key, alert_id, timestamp, payload.as_bytes()))
                .collect();
            request = request.header("webhook-signature", signatures.join(" "));
        }
        match request.body(payload.to_string()).send().await {
            Ok(response) => status_outcome(&response, now),
            Err(error) => network_outcome(error, &self.url),
        }
    }
}

/// The digest payload: `{"version":1,"id":"dig_…","type":"alert.digest","alerts":[…]}`, each
/// alert the stored payload byte for byte (its own `id` included), so a receiver handles a
/// digest's alerts exactly as single ones and can drop those it has seen.
pub fn digest_body(digest_id: &str, payloads: &[&str]) -> String {
    let id = serde_json::Value::String(digest_id.to_string());
    let mut body = format!(
        "{{\"version\":{},\"id\":{id},\"type\":\"alert.digest\",\"alerts\":[",
        crate::alert::PAYLOAD_VERSION
    );
    for (index, payload) in payloads.iter().enumerate() {
        if index > 0 {
            body.push(',');
        }
        body.push_str(payload);
    }
    body.push_str("]}");
    body
}

/// A request that got no answer: always worth another try. The error names the target only
/// masked ([`super::masked_url`]): reqwest's own text carries the whole URL, whose path and query
/// often hold the receiver's secret token, and this text reaches logs, `alerts list` and the
/// store.
pub(super) fn network_outcome(error: reqwest::Error, url: &Url) -> Outcome {
    let kind = if error.is_timeout() {
        "timed out"
    } else {
        "network error"
    };
    let masked = super::masked_url(url);
    let chain = crate::fetch::error_chain(&error.without_url());
    // a cause deeper in the chain could still quote the URL; never let it through
    let chain = chain.replace(url.as_str(), &masked);
    Outcome::Retry {
        error: format!("{kind} sending to {masked}: {chain}"),
        retry_after: None,
    }
}

/// What a receiver's status means: 2xx accepted; 408, 429, 5xx retried (with its Retry-After);
/// 410 gone; redirects and other 4xx permanent.
pub(super) fn status_outcome(
    response: &reqwest::Response,
    now: chrono::DateTime<chrono::Utc>,
) -> Outcome {
    let status = response.status();
    if status.is_success() {
        return Outcome::Delivered;
    }
    let retry_after = crate::fetch::retry_after(response.headers(), now);
    let code = status.as_u16();
    let error = format!("HTTP {status}");
    if code == 410 {
        Outcome::Gone {
            error: format!("{error}: the receiver says this webhook no longer exists"),
        }
    } else if code == 408 || code == 429 || status.is_server_error() {
        Outcome::Retry { error, retry_after }
    } else if status.is_redirection() {
        Outcome::Permanent {
            error: format!("{error}: the webhook URL redirects; configure the final URL"),
        }
    } else {
        Outcome::Permanent { error }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_webhooks_published_vector() {
        let key = signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            sign(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn digest_body_keeps_each_alert_verbatim() {
        let body = digest_body(
            "dig_1",
            &[r#"{"id":"msg_a","x":[1, 2]}"#, r#"{"id":"msg_b"}"#],
        );
        assert_eq!(
            body,
            r#"{"version":1,"id":"dig_1","type":"alert.digest","alerts":[{"id":"msg_a","x":[1, 2]},{"id":"msg_b"}]}"#
        );
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["alerts"][1]["id"], "msg_b");
    }

    #[test]
    fn secret_errors_explain_the_format() {
        assert!(signing_key("hunter2")
            .unwrap_err()
            .contains("starts with \"whsec_\""));
        assert!(signing_key("whsec_!!!")
            .unwrap_err()
            .contains("not valid base64"));
        assert!(signing_key("whsec_YWJj")
            .unwrap_err()
            .contains("shorter than 16 bytes"));
    }
}
