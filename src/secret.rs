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
