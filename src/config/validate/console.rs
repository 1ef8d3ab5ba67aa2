//! `[console]`: whether the web console is served and the token that unlocks its actions.
//!
//! The one rule with teeth lives here: a listener reachable from other machines (not loopback)
//! serves no console without a token, because the console shows every source, alert and sink.
//! Nothing here serves pages or checks a request's token; `daemon::console` does.

use std::net::SocketAddr;

use super::load::Problems;
use crate::config::raw::RawConsole;
use crate::config::ConsoleConfig;
use crate::secret::Secret;

/// Shorter tokens are guessable by a patient client.
const MINIMUM_TOKEN_LENGTH: usize = 16;

pub(super) fn console_config(
    raw: RawConsole,
    listen: Option<SocketAddr>,
    problems: &mut Problems,
) -> ConsoleConfig {
    let enabled = raw.enabled.unwrap_or(true);
    let token = match raw.token.as_deref().map(str::trim) {
        None => None,
        Some(text) if text.chars().count() < MINIMUM_TOKEN_LENGTH => {
            // the token itself is never repeated: it is a secret
            problems.add(
                "console.token",
                format!("is shorter than {MINIMUM_TOKEN_LENGTH} characters; use a long random string (`openssl rand -hex 24`)"),
            );
            None
        }
        Some(text) => Some(Secret::new(text)),
    };
    if enabled && token.is_none() && raw.token.is_none() {
        if let Some(address) = listen.filter(|address| !address.ip().is_loopback()) {
            problems.add(
                "console.token",
                format!("is required: daemon.listen ({address}) is not a loopback address, so the console would be open to the network; set [console] token = \"…\" (every page then asks for it), listen on 127.0.0.1, or set [console] enabled = false"),
            );
        }
    }
    ConsoleConfig { enabled, token }
}
