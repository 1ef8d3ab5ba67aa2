//! Inbound HTTP: the only module that reads content from the network (and that asks WebSub hubs
//! for subscriptions). Two clients are built at
//! start-up and reused: one for URLs the operator wrote in the config (trusted), one for URLs
//! learned from fetched content — entry links and everything they redirect to — which is guarded
//! against SSRF: every address it connects to, after DNS resolution and on every redirect, must
//! be public unless `allow_private_networks` is set.
//!
//! It sends conditional GETs (validators verbatim), caps bodies after decompression, and returns
//! raw bytes: decoding is the parsers' business (the XML prolog or `<meta>` decides the charset).
//! Every request first takes a per-host turn (`politeness.rs`: connections and gap per host), and
//! callers may ask whether robots.txt allows a URL (`robots.rs`, cached per site). It reports the
//! response's cache headers but does not retry or schedule; callers decide what a failure means
//! and when to come back (`crate::schedule`).

mod guard;
mod politeness;

pub use politeness::{SharedAnswer, SharedTurns};
mod robots;

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{
    HeaderMap, CACHE_CONTROL, CONTENT_TYPE, DATE, ETAG, EXPIRES, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED, LINK, LOCATION, RETRY_AFTER,
};
use reqwest::{redirect, Client, StatusCode};
use url::Url;

use crate::config::FetchConfig;
use crate::store::Validators;

pub use guard::is_public_address;

/// At most this many redirects are followed (a loop ends here too).
pub const MAX_REDIRECTS: usize = 5;

/// Where a URL came from, which decides whether the SSRF guard applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Written by the operator in the config file: trusted.
    Config,
    /// Learned from fetched content (an entry link): guarded.
    Content,
}

#[derive(Debug)]
pub struct Page {
    /// The URL after redirects.
    pub final_url: Url,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// Validators exactly as the server sent them, for the next conditional GET.
    pub validators: Validators,
    pub cache: CacheHeaders,
    /// Every `Link` header value as sent (WebSub hubs are announced there).
    pub links: Vec<String>,
}

/// A hub's answer to a form POST: its status and the start of its body (hubs explain refusals
/// in plain text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub text: String,
}

/// How much of an answer's body is kept for the message.
const ANSWER_TEXT_LIMIT: usize = 300;

/// The response headers that say how long it stays fresh, as sent (the scheduler reads them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheHeaders {
    pub cache_control: Option<String>,
    pub expires: Option<String>,
    pub date: Option<String>,
}

impl CacheHeaders {
    fn of(headers: &HeaderMap) -> CacheHeaders {
        CacheHeaders {
            cache_control: header_text(headers, CACHE_CONTROL.as_str()),
            expires: header_text(headers, EXPIRES.as_str()),
            date: header_text(headers, DATE.as_str()),
        }
    }
}

#[derive(Debug)]
pub enum Fetched {
    /// Boxed: a page is several times the size of the 304 answer.
    Page(Box<Page>),
    /// 304: the validators still hold.
    NotModified(CacheHeaders),
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("HTTP {status}")]
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("body larger than the {limit}-byte limit (raise fetch.max_feed_size / fetch.max_page_size if this is expected)")]
    TooLarge { limit: u64 },
    #[error("blocked: {0} (set fetch.allow_private_networks = true to allow private addresses)")]
    Blocked(String),
    #[error("timed out")]
    Timeout,
    #[error("too many redirects (more than {MAX_REDIRECTS}) or a redirect loop")]
    Redirects,
    /// A redirect to `file:`, `ftp:`, `javascript:`…, which is never followed.
    #[error("redirect to a non-http(s) URL ({0}) refused")]
    RedirectScheme(String),
    #[error(
        "{0} (set respect_robots = false on the source to ignore it, with the site's permission)"
    )]
    Robots(String),
    #[error("{0}")]
    Network(String),
}

impl FetchError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            FetchError::Status { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            FetchError::Timeout | FetchError::Network(_) => true,
            FetchError::TooLarge { .. }
            | FetchError::Blocked(_)
            | FetchError::Redirects
            | FetchError::RedirectScheme(_)
            | FetchError::Robots(_) => false,
        }
    }

    fn from_reqwest(error: reqwest::Error) -> FetchError {
        // callers name the URL already; reqwest's copy of it only doubles the line
        let error = error.without_url();
        if error.is_timeout() {
            return FetchError::Timeout;
        }
        // the guard's resolver and redirect policy report blocked targets as errors carrying a
        // marker; reqwest wraps them, so look through the whole chain
        let text = error_chain(&error);
        if let Some(position) = text.find(guard::BLOCKED_MARKER) {
            let reason = text[position + guard::BLOCKED_MARKER.len()..].trim();
            return FetchError::Blocked(reason.to_string());
        }
        if error.is_redirect() {
            return FetchError::Redirects;
        }
        FetchError::Network(text)
    }
}

/// reqwest's top-level message ("error sending request") hides the cause; show the whole chain.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The two shared HTTP clients, the per-host turns and the robots.txt cache.
#[derive(Clone)]
pub struct Fetcher {
    trusted: Client,
    guarded: Client,
    allow_private_networks: bool,
    politeness: Arc<politeness::Politeness>,
    robots: Arc<robots::Cache>,
    /// The product token robots.txt groups are matched against (the User-Agent's first word).
    robots_agent: String,
}

impl Fetcher {
    pub fn new(config: &FetchConfig) -> Result<Fetcher, FetchError> {
        let allow_private = config.allow_private_networks;
        let base = || {
            Client::builder()
                .user_agent(config.user_agent.clone())
                .timeout(config.timeout)
                .connect_timeout(config.connect_timeout.min(config.timeout))
                // an environment proxy would bypass the address checks below
                .no_proxy()
                .pool_max_idle_per_host(config.per_host_connections as usize)
        };
        // Config URLs are polled minutes apart, so an idle connection would only hold a socket
        // and its buffers (ten thousand of them with as many feeds); article pages (the guarded
        // client) come in bursts from one site, where keeping a connection for a while pays.
        let trusted = base()
            .pool_max_idle_per_host(0)
            .redirect(redirect::Policy::limited(MAX_REDIRECTS))
            .build()
            .map_err(|error| FetchError::Network(error_chain(&error)))?;
        let mut guarded =
            base()
                .pool_idle_timeout(Duration::from_secs(15))
                .redirect(redirect::Policy::custom(move |attempt| {
                    if attempt.previous().len() > MAX_REDIRECTS {
                        return attempt.error(FetchError::Redirects);
                    }
                    if !allow_private {
                        if let Err(reason) = guard::check_url_literal(attempt.url()) {
                            return attempt.error(guard::Blocked(reason));
                        }
                    }
                    attempt.follow()
                }));
        if !allow_private {
            guarded = guarded.dns_resolver(Arc::new(guard::PublicOnlyResolver));
        }
        let guarded = guarded
            .build()
            .map_err(|error| FetchError::Network(error_chain(&error)))?;
        let robots_agent = config
            .user_agent
            .split(['/', ' '])
            .next()
            .filter(|token| !token.is_empty())
            .unwrap_or("wirewatch")
            .to_string();
        Ok(Fetcher {
            trusted,
            guarded,
            allow_private_networks: allow_private,
            politeness: Arc::new(politeness::Politeness::new(
                config.per_host_connections,
                config.per_host_gap,
            )),
            robots: Arc::new(robots::Cache::default()),
            robots_agent,
        })
    }

    /// Paces this fetcher's requests together with the other instances of a cluster (see
    /// `politeness.rs`); `hold` bounds how long a dead instance's in-flight slot stays taken.
    pub fn share_turns(&self, turns: Arc<dyn SharedTurns>, hold: Duration) {
        self.politeness.share(turns, hold);
    }

    /// Whether the site's robots.txt lets us fetch `url` (fetched once per site and day, through
    /// the client `origin` selects, so a content URL's robots.txt is SSRF-guarded too).
    pub async fn robots_allow(&self, url: &Url, origin: Origin) -> Result<(), FetchError> {
        let site = robots::origin(url);
        let lock;
        let _fetching = match self.robots.get(&site) {
            Some(_) => None,
            None => {
                lock = self.robots.fetch_lock(&site);
                Some(lock.lock().await)
            }
        };
        // looked up again: whoever held the lock before may have fetched it meanwhile
        let rules = match self.robots.get(&site) {
            Some(rules) => rules,
            None => {
                let Some(robots_url) = robots::robots_url(url) else {
                    return Ok(());
                };
                let rules = match self.get(&robots_url, origin, None, robots::MAX_SIZE).await {
                    Ok(Fetched::Page(page)) => {
                        robots::Rules::from_file(&self.robots_agent, &page.body)
                    }
                    Ok(Fetched::NotModified(_)) => robots::Rules::AllowAll,
                    // no robots.txt (or one too large to be meant for robots): no restriction
                    Err(FetchError::Status { status, .. }) if (400..500).contains(&status) => {
                        robots::Rules::AllowAll
                    }
                    Err(FetchError::TooLarge { .. }) => robots::Rules::AllowAll,
                    // the guard's verdict is the clearer message for a blocked address
                    Err(error @ FetchError::Blocked(_)) => return Err(error),
                    Err(error) => robots::Rules::Unreachable(error.to_string()),
                };
                self.robots.put(site, rules)
            }
        };
        rules.check(url).map_err(FetchError::Robots)
    }

    /// GET with validators (if any) and a body cap.
    pub async fn get(
        &self,
        url: &Url,
        origin: Origin,
        validators: Option<&Validators>,
        max_bytes: u64,
    ) -> Result<Fetched, FetchError> {
        let client = self.client_for(url, origin)?;
        let mut request = client.get(url.clone());
        if let Some(validators) = validators {
            if let Some(etag) = &validators.etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(last_modified) = &validators.last_modified {
                request = request.header(IF_MODIFIED_SINCE, last_modified);
            }
        }
        // held until the body is read: one turn is one whole request to the host
        let _turn = self.politeness.turn(url).await;
        let mut response = request.send().await.map_err(FetchError::from_reqwest)?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified(CacheHeaders::of(response.headers())));
        }
        if status.is_redirection() {
            if let Some(target) = non_http_redirect(response.headers(), response.url()) {
                return Err(FetchError::RedirectScheme(target));
            }
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after: retry_after(response.headers(), chrono::Utc::now()),
            });
        }
        if let Some(length) = response.content_length() {
            if length > max_bytes {
                return Err(FetchError::TooLarge { limit: max_bytes });
            }
        }
        let final_url = response.url().clone();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        // counted after decompression: reqwest decodes gzip/br/deflate/zstd before we see chunks
        while let Some(chunk) = response.chunk().await.map_err(FetchError::from_reqwest)? {
            if body.len() as u64 + chunk.len() as u64 > max_bytes {
                return Err(FetchError::TooLarge { limit: max_bytes });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched::Page(Box::new(Page {
            final_url,
            content_type: header_text(&headers, CONTENT_TYPE.as_str()),
            body,
            validators: Validators {
                etag: header_text(&headers, ETAG.as_str()),
                last_modified: header_text(&headers, LAST_MODIFIED.as_str()),
            },
            cache: CacheHeaders::of(&headers),
            links: headers
                .get_all(LINK)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .map(str::to_string)
                .collect(),
        })))
    }

    /// The client for a URL of this origin, after the checks every request passes: http(s)
    /// only, and for URLs taken from content the SSRF guard's literal-address check (the
    /// guarded client's resolver checks names).
    fn client_for(&self, url: &Url, origin: Origin) -> Result<&Client, FetchError> {
        let client = match origin {
            Origin::Config => &self.trusted,
            Origin::Content => {
                if !self.allow_private_networks {
                    guard::check_url_literal(url).map_err(FetchError::Blocked)?;
                }
                &self.guarded
            }
        };
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::Blocked(format!(
                "scheme {:?} is not http(s)",
                url.scheme()
            )));
        }
        Ok(client)
    }

    /// POSTs a form (a WebSub subscription request) and returns the answer, whatever its status.
    /// The URL was learned from content, so `origin` is normally `Content`: the SSRF guard and
    /// the host's politeness turn apply as for a GET.
    pub async fn post_form(
        &self,
        url: &Url,
        origin: Origin,
        form: &[(&str, &str)],
    ) -> Result<Answer, FetchError> {
        let client = self.client_for(url, origin)?;
        let _turn = self.politeness.turn(url).await;
        let mut response = client
            .post(url.clone())
            .form(form)
            .send()
            .await
            .map_err(FetchError::from_reqwest)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        // only the start is kept; a failing read ends the text, not the answer
        while let Ok(Some(chunk)) = response.chunk().await {
            body.extend_from_slice(&chunk);
            if body.len() >= ANSWER_TEXT_LIMIT {
                break;
            }
        }
        let text: String = String::from_utf8_lossy(&body)
            .chars()
            .take(ANSWER_TEXT_LIMIT)
            .collect();
        Ok(Answer {
            status,
            text: text.split_whitespace().collect::<Vec<_>>().join(" "),
        })
    }
}

/// The target of a redirect to a scheme other than http(s), shortened for messages. reqwest does
/// not follow such a redirect and hands back the 3xx itself, which alone would read as a bare
/// "HTTP 302".
fn non_http_redirect(headers: &HeaderMap, from: &Url) -> Option<String> {
    /// A hostile server chooses the Location; messages keep only its start.
    const SHOWN: usize = 200;
    let location = headers.get(LOCATION)?.to_str().ok()?;
    let mut target = from.join(location.trim()).ok()?;
    if matches!(target.scheme(), "http" | "https") {
        return None;
    }
    // cannot fail for URLs that have a password
    let _ = target.set_password(None);
    let text = target.as_str();
    Some(match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    })
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
}

/// `Retry-After` as seconds or an HTTP date, relative to `now`; capped at one day so a hostile
/// or broken server cannot park a source or sink forever.
pub fn retry_after(headers: &HeaderMap, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, now)
}

pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    const CAP: Duration = Duration::from_secs(24 * 3600);
    let value = value.trim();
    let delay = if let Ok(seconds) = value.parse::<u64>() {
        Duration::from_secs(seconds)
    } else {
        let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
        (date.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
    };
    Some(delay.min(CAP))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_to_file_url_is_named() {
        let from = Url::parse("http://127.0.0.1:8080/feed.xml").unwrap();
        let redirect = |location: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(LOCATION, location.parse().unwrap());
            non_http_redirect(&headers, &from)
        };
        assert_eq!(
            redirect("file:///etc/passwd").as_deref(),
            Some("file:///etc/passwd")
        );
        assert_eq!(
            redirect("ftp://user:secret@example.org/x").as_deref(),
            Some("ftp://user@example.org/x")
        );
        assert_eq!(redirect("/elsewhere"), None);
        assert_eq!(redirect("https://example.org/"), None);
        let long = redirect(&format!("gopher://example.org/{}", "a".repeat(500))).unwrap();
        assert_eq!(long.chars().count(), 201);
        assert_eq!(
            FetchError::RedirectScheme("file:///etc/passwd".into()).to_string(),
            "redirect to a non-http(s) URL (file:///etc/passwd) refused"
        );
    }

    #[test]
    fn retry_after_forms() {
        let now = chrono::DateTime::parse_from_rfc3339("2024-05-14T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Tue, 14 May 2024 10:01:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Tue, 14 May 2024 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("9999999", now),
            Some(Duration::from_secs(86_400))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
