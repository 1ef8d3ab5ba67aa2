//! The pure half of the NATS sink: the server URL split into address and credentials, and the
//! subject template checked and rendered. No connection is made here; config validation and the
//! sink share these functions, so `wirewatch check` refuses exactly what delivery would.

use std::fmt;
use std::path::PathBuf;

use url::Url;

use crate::secret::Secret;
use crate::template::render_template;

/// Where a NATS sink publishes: the server address without credentials (safe to show in part)
/// and how to authenticate. `Debug` never shows a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct NatsTarget {
    /// `nats://host:port` or `tls://host:port`: no user info, path or query.
    pub server: Url,
    pub auth: NatsAuth,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NatsAuth {
    None,
    /// `nats://TOKEN@host`.
    Token(Secret),
    /// `nats://user:password@host`.
    UserPassword {
        user: String,
        password: Secret,
    },
    /// `creds = "/path/x.creds"`: a JWT and NKey seed, read when connecting.
    Credentials(PathBuf),
}

impl fmt::Debug for NatsTarget {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("NatsTarget")
            .field("server", &self.server.as_str())
            .field("auth", &self.auth)
            .finish()
    }
}

/// The port a NATS server listens on unless told otherwise.
const DEFAULT_PORT: u16 = 4222;

impl NatsTarget {
    /// Parses a sink's `url` (`nats://` or `tls://`, credentials in the user info) and its
    /// optional `creds` file. The error never quotes the URL: it may hold a password.
    pub fn parse(text: &str, credentials: Option<PathBuf>) -> Result<NatsTarget, String> {
        let url = Url::parse(text).map_err(|error| {
            format!("not a valid URL ({error}); expected nats://host:4222 or tls://host:4222")
        })?;
        if !matches!(url.scheme(), "nats" | "tls") {
            return Err(format!(
                "unsupported scheme `{}://`; expected nats:// (TLS if the server asks for it) or tls:// (TLS required)",
                url.scheme()
            ));
        }
        let Some(host) = url.host_str().filter(|host| !host.is_empty()) else {
            return Err("has no host; expected nats://host:4222".to_string());
        };
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(
                "has a path, query or fragment; a NATS server URL is only scheme://[credentials@]host[:port]"
                    .to_string(),
            );
        }
        let user = super::percent_decode(url.username());
        let password = url.password().map(super::percent_decode);
        let auth = match (user.is_empty(), password, credentials) {
            (true, None, None) => NatsAuth::None,
            (true, None, Some(path)) => NatsAuth::Credentials(path),
            (_, _, Some(_)) => {
                return Err(
                    "has credentials and the sink also names a creds file; use one of them"
                        .to_string(),
                )
            }
            (false, None, None) => NatsAuth::Token(Secret::new(user)),
            (_, Some(password), None) => NatsAuth::UserPassword {
                user,
                password: Secret::new(password),
            },
        };
        let port = url.port().unwrap_or(DEFAULT_PORT);
        // IPv6 hosts keep their brackets in host_str's Display form only through Url itself
        let server = Url::parse(&format!("{}://{host}:{port}", url.scheme()))
            .or_else(|_| Url::parse(&format!("{}://[{host}]:{port}", url.scheme())))
            .map_err(|error| format!("not a valid server address ({error})"))?;
        Ok(NatsTarget { server, auth })
    }

    /// How the server is shown in errors and logs: `nats://host:port/`, credentials never.
    pub fn shown(&self) -> String {
        crate::secret::masked_url(&self.server)
    }
}

/// Why a rendered subject cannot be published to; `None` when it can. NATS subjects are
/// dot-separated tokens without whitespace; `*` and `>` are wildcards, which subscribers use and
/// publishers cannot.
pub fn subject_problem(subject: &str) -> Option<String> {
    if subject.is_empty() {
        return Some("is empty".to_string());
    }
    if let Some(bad) = subject
        .chars()
        .find(|c| c.is_whitespace() || c.is_control())
    {
        return Some(format!("contains {bad:?}; subjects cannot hold whitespace or control characters (filter names through `replace`)"));
    }
    if subject.split('.').any(str::is_empty) {
        return Some("has an empty token (a leading, trailing or doubled `.`)".to_string());
    }
    if subject.split('.').any(|token| token == "*" || token == ">") {
        return Some("has a wildcard token (`*` or `>`); publish to a concrete subject and let the stream's subject filter use wildcards".to_string());
    }
    None
}

/// The subject of one message: the template rendered over the payload, then checked. A failure
/// is the same for every attempt (the payload does not change), so callers treat it as permanent.
pub fn render_subject(template: &str, payload: &serde_json::Value) -> Result<String, String> {
    let subject =
        render_template(template, payload).map_err(|error| format!("subject template: {error}"))?;
    match subject_problem(&subject) {
        None => Ok(subject),
        Some(problem) => Err(format!("subject {subject:?} {problem}")),
    }
}

/// What an operator might pass to `nats stream add --subjects` for this template: the literal
/// part before the first expression, up to its last dot, then `>` (`news.alerts.{{ watchlist }}`
/// → `news.alerts.>`); a template without expressions is its own subject.
pub fn suggested_filter(template: &str, subject: &str) -> String {
    let literal_end = [
        template.find("{{"),
        template.find("{%"),
        template.find("{#"),
    ]
    .into_iter()
    .flatten()
    .min();
    match literal_end {
        None => subject.to_string(),
        Some(end) => match template[..end].rfind('.') {
            Some(dot) if dot > 0 => format!("{}.>", &template[..dot]),
            _ => subject.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<NatsTarget, String> {
        NatsTarget::parse(text, None)
    }

    #[test]
    fn urls_split_into_server_and_credentials() {
        let target = parse("nats://127.0.0.1").unwrap();
        assert_eq!(target.server.as_str(), "nats://127.0.0.1:4222");
        assert_eq!(target.auth, NatsAuth::None);

        let target = parse("tls://alice:s%40cret@bus.example.org:4443/").unwrap();
        assert_eq!(target.server.as_str(), "tls://bus.example.org:4443");
        assert_eq!(
            target.auth,
            NatsAuth::UserPassword {
                user: "alice".into(),
                password: Secret::new("s@cret")
            }
        );

        let target = parse("nats://t0ken@[::1]:4222").unwrap();
        assert_eq!(target.server.as_str(), "nats://[::1]:4222");
        assert_eq!(target.auth, NatsAuth::Token(Secret::new("t0ken")));

        let target = NatsTarget::parse("nats://bus", Some("/etc/x.creds".into())).unwrap();
        assert_eq!(target.auth, NatsAuth::Credentials("/etc/x.creds".into()));
    }

    #[test]
    fn secrets_appear_in_no_error_nor_debug_text() {
        let target = parse("nats://alice:hunter2@bus:4222").unwrap();
        assert!(!format!("{target:?}").contains("hunter2"));
        assert_eq!(target.shown(), "nats://bus:4222/");
        for text in [
            "nats://alice:hunter2@bus/stream",
            "http://alice:hunter2@bus",
            "nats://alice:hunter2@bus?x=1",
        ] {
            let error = parse(text).unwrap_err();
            assert!(!error.contains("hunter2"), "{error}");
        }
        let error = NatsTarget::parse("nats://alice:hunter2@bus", Some("x.creds".into()));
        assert!(error.unwrap_err().contains("use one of them"));
    }

    #[test]
    fn subjects_must_be_publishable() {
        let check = |subject: &str, expected: Option<&str>| {
            let problem = subject_problem(subject);
            match expected {
                None => assert_eq!(problem, None, "{subject}"),
                Some(part) => assert!(
                    problem.as_deref().is_some_and(|p| p.contains(part)),
                    "{subject}: {problem:?}"
                ),
            }
        };
        check("news.alerts.russia-china", None);
        check("news.alerts.", Some("empty token"));
        check("", Some("is empty"));
        check("news alerts", Some("whitespace"));
        check("news.*", Some("wildcard"));
        check("news.>", Some("wildcard"));
    }

    #[test]
    fn rendered_subjects_name_what_is_wrong() {
        let payload = serde_json::json!({"watchlist": "russia china", "type": "article.matched"});
        assert_eq!(
            render_subject("news.{{ type }}", &payload),
            Ok("news.article.matched".to_string())
        );
        assert_eq!(
            render_subject("news.{{ watchlist }}", &payload),
            Err("subject \"news.russia china\" contains ' '; subjects cannot hold whitespace or control characters (filter names through `replace`)".to_string())
        );
        assert_eq!(
            render_subject("news.{{ watchlist | replace(' ', '_') }}", &payload),
            Ok("news.russia_china".to_string())
        );
        let health = serde_json::json!({"type": "source.unhealthy", "source": "bbc"});
        assert!(render_subject("news.{{ watchlist }}", &health)
            .unwrap_err()
            .contains("undefined value"));
        assert_eq!(
            render_subject("news.{{ watchlist | default('health') }}", &health),
            Ok("news.health".to_string())
        );
    }

    #[test]
    fn suggested_filters_cover_the_template() {
        assert_eq!(
            suggested_filter("news.alerts.{{ watchlist }}", "news.alerts.x"),
            "news.alerts.>"
        );
        assert_eq!(suggested_filter("alerts", "alerts"), "alerts");
        assert_eq!(
            suggested_filter("{{ watchlist }}.alerts", "x.alerts"),
            "x.alerts"
        );
        assert_eq!(suggested_filter("a.b{{ type }}", "a.bx"), "a.>");
    }
}
