//! Credentials in the configuration and in target URLs (signing keys, tokens, passwords): a type
//! whose `Debug` never shows the value, so a secret cannot reach a log by being printed with the
//! struct that holds it, and the format of a Standard Webhooks signing secret.
//!
//! A leaf module: config, target URLs, sinks and the store all hold secrets, so the type lives
//! below them all. It does not encrypt or zero memory; it only keeps values out of output.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

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

/// The signing key of a `whsec_` secret; the error says how to fix the config.
pub fn signing_key(secret: &str) -> Result<Vec<u8>, String> {
    let Some(encoded) = secret.strip_prefix("whsec_") else {
        return Err("a signing secret starts with \"whsec_\" followed by base64 (generate one with: echo whsec_$(head -c 32 /dev/urandom | base64))".to_string());
    };
    match BASE64.decode(encoded.trim()) {
        Ok(key) if key.len() >= 16 => Ok(key),
        Ok(_) => {
            Err("the signing key is shorter than 16 bytes; use 24 to 64 random bytes".to_string())
        }
        Err(error) => Err(format!(
            "the part after \"whsec_\" is not valid base64 ({error})"
        )),
    }
}

/// A connection URL as logs and errors may show it: the password replaced by `***` (the
/// database URL of `[daemon] database`, named in messages by the config and the store alike).
pub fn masked_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(an unparsable database URL)".to_string(),
    }
}

/// How a sink's URL is shown anywhere (errors, logs, `alerts list`, `alerts test`):
/// `scheme://host[:port]/…`. Path, query and user info are left out because webhook and chat
/// services put their secret tokens there (`/hooks/TOKEN?token=…`, `/botTOKEN/sendMessage`).
pub fn masked_url(url: &url::Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    let hidden = (url.path() != "/" && !url.path().is_empty())
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some();
    shown.push_str(if hidden { "/…" } else { "/" });
    shown
}
