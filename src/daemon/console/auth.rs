//! Who may see the console and who may change state through it.
//!
//! Reading is open on a loopback listener; on any other listener (the config refuses one without
//! `[console] token`) every page needs the token. Actions (replay, sink test) need the token
//! always, and are off without one. The token reaches us as a bearer header (scripts) or as a
//! session cookie set by the login form; the cookie holds an HMAC of the token, never the token.
//! Form posts carry a CSRF field, also an HMAC of the token, that another site cannot know; a
//! bearer header needs none because browsers never add it on their own.
//!
//! It keeps no sessions and no state: everything derives from the configured token, so a reload
//! that changes the token logs everyone out.

use axum::http::{header, HeaderMap};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::Config;

pub const SESSION_COOKIE: &str = "wirewatch_console";

/// What a request may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// No token needed to read, none presented.
    Reader,
    /// The token was presented: reading and actions.
    Operator { by_cookie: bool },
}

/// Why a request is turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The listener is not loopback and no valid token came with the request.
    LoginNeeded,
}

fn keyed(token: &str, purpose: &str) -> String {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail for it
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(token.as_bytes()) else {
        return String::new();
    };
    mac.update(purpose.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The session cookie's value for `token`.
pub fn session_value(token: &str) -> String {
    keyed(token, "wirewatch console session")
}

/// The CSRF field every action form carries.
pub fn csrf_value(token: &str) -> String {
    keyed(token, "wirewatch console csrf")
}

/// Compares in time independent of where the first difference is.
pub fn same(left: &str, right: &str) -> bool {
    left.len() == right.len()
        && left
            .bytes()
            .zip(right.bytes())
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Whether every page needs the token: the listener is reachable from other machines.
pub fn token_required(config: &Config) -> bool {
    config
        .daemon
        .listen
        .is_some_and(|address| !address.ip().is_loopback())
}

pub fn access(config: &Config, headers: &HeaderMap) -> Result<Access, Refusal> {
    let Some(token) = config.console.token.as_ref().map(|token| token.expose()) else {
        // without a token the config only allows a loopback listener
        return Ok(Access::Reader);
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if bearer.is_some_and(|presented| same(presented.trim(), token)) {
        return Ok(Access::Operator { by_cookie: false });
    }
    if cookie(headers, SESSION_COOKIE).is_some_and(|value| same(value, &session_value(token))) {
        return Ok(Access::Operator { by_cookie: true });
    }
    if token_required(config) {
        Err(Refusal::LoginNeeded)
    } else {
        Ok(Access::Reader)
    }
}

/// Why an action may not run, as the page says it; `None`: it may.
pub fn action_refusal(
    config: &Config,
    access: &Access,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Option<&'static str> {
    let Some(token) = config.console.token.as_ref().map(|token| token.expose()) else {
        return Some("actions are off: set [console] token in the config to turn them on");
    };
    match access {
        Access::Reader => Some("this action needs the console token: log in first"),
        Access::Operator { by_cookie: false } => None,
        Access::Operator { by_cookie: true } => {
            let host = headers
                .get(header::HOST)
                .and_then(|value| value.to_str().ok());
            let origin = headers
                .get(header::ORIGIN)
                .and_then(|value| value.to_str().ok());
            let cross_site = match (origin, host) {
                (Some(origin), Some(host)) => {
                    origin.split_once("://").map(|(_, rest)| rest) != Some(host)
                }
                _ => false,
            };
            if cross_site || !csrf.is_some_and(|field| same(field, &csrf_value(token))) {
                Some("the form is stale or came from another site (CSRF check failed): reload the page and try again")
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_constant_time_comparison() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; wirewatch_console=abc".parse().unwrap(),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "b"), None);
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
        assert_ne!(
            session_value("token-one-xxxxxxxx"),
            session_value("token-two-xxxxxxxx")
        );
        assert_ne!(session_value("t"), csrf_value("t"));
    }
}
