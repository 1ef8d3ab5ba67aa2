//! WebSub (W3C Recommendation, 2018) as a subscriber sees it, pure: finding a feed's hub and topic
//! (HTTP `Link` headers first, then the document's own links), checking a content distribution's
//! `X-Hub-Signature`, and the lease arithmetic that decides when to (re)subscribe and how much
//! slower to poll while pushes arrive.
//!
//! No I/O, no tokio, no clock: times are arguments (milliseconds since the epoch, like the store's),
//! so the whole subscription life — request, verification, renewal, lapse, denial, back-off — is
//! tested as data. Sending requests, answering the hub and keeping state is the job of
//! `daemon::websub_subscriber`.

use std::time::Duration;

use hmac::{Hmac, Mac};
use url::Url;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// Share of a lease after which it is renewed: late enough not to pester the hub, early enough
/// that a renewal failing once or twice is retried before the lease lapses.
const RENEW_PERCENT: i64 = 85;

/// How long a hub that accepted a request (202) may take to verify it before we ask again.
pub const VERIFY_WAIT: Millis = 5 * 60 * 1000;

/// After a denial the hub has said no; ask again only this much later.
pub const DENIED_RETRY: Millis = 24 * 3600 * 1000;

/// The first retry after a failed request; doubled per failure up to the caller's cap.
pub const FIRST_RETRY: Millis = 60 * 1000;

/// The lease assumed when a verification omits `hub.lease_seconds` (the spec requires it for
/// subscriptions, so only a broken hub does this): short enough to renew well in time.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(24 * 3600);

/// Leases granted are kept within these bounds: a zero lease would mean resubscribing in a loop,
/// an endless one never renewing.
const MIN_LEASE: Duration = Duration::from_secs(1);
const MAX_LEASE: Duration = Duration::from_secs(366 * 24 * 3600);

/// How many times slower a source is polled while its hub pushes (still bounded by
/// `max_interval`): a fallback for pushes the hub drops, not the main path.
pub const FALLBACK_FACTOR: u32 = 4;

/// One link of an HTTP `Link` header (RFC 8288): its target and relation types, lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderLink {
    pub target: String,
    pub relations: Vec<String>,
}

/// Parses the values of every `Link` header of a response. Malformed parts are skipped; a
/// parameter value may be quoted (and then hold `,` or `;`).
pub fn parse_link_headers<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<HeaderLink> {
    let mut links = Vec::new();
    for value in values {
        let mut rest = value;
        loop {
            rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
            let Some(after_open) = rest.strip_prefix('<') else {
                break;
            };
            let Some(close) = after_open.find('>') else {
                break;
            };
            let target = after_open[..close].trim().to_string();
            let (parameters, next) = split_link_parameters(&after_open[close + 1..]);
            rest = next;
            let relations = parameters
                .iter()
                .filter(|(name, _)| name.eq_ignore_ascii_case("rel"))
                .flat_map(|(_, value)| value.split_whitespace())
                .map(str::to_ascii_lowercase)
                .collect();
            links.push(HeaderLink { target, relations });
        }
    }
    links
}

/// The `; name=value` parameters after one link target, up to the `,` that starts the next link
/// (outside quotes), and the text after it.
fn split_link_parameters(text: &str) -> (Vec<(String, String)>, &str) {
    let mut parameters = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() || rest.starts_with(',') {
            return (parameters, rest);
        }
        let Some(after) = rest.strip_prefix(';') else {
            // junk after the target: skip to the next link
            let end = rest.find(',').unwrap_or(rest.len());
            return (parameters, &rest[end..]);
        };
        let after = after.trim_start();
        let name_end = after
            .find(|c: char| c == '=' || c == ';' || c == ',' || c.is_whitespace())
            .unwrap_or(after.len());
        let name = after[..name_end].to_string();
        let mut tail = after[name_end..].trim_start();
        let mut value = String::new();
        if let Some(after_equals) = tail.strip_prefix('=') {
            let after_equals = after_equals.trim_start();
            if let Some(quoted) = after_equals.strip_prefix('"') {
                let mut escaped = false;
                let mut end = quoted.len();
                for (index, character) in quoted.char_indices() {
                    match character {
                        _ if escaped => {
                            escaped = false;
                            value.push(character);
                        }
                        '\\' => escaped = true,
                        '"' => {
                            end = index + 1;
                            break;
                        }
                        _ => value.push(character),
                    }
                }
                tail = &quoted[end.min(quoted.len())..];
            } else {
                let end = after_equals.find([';', ',']).unwrap_or(after_equals.len());
                value = after_equals[..end].trim().to_string();
                tail = &after_equals[end..];
            }
        }
        if !name.is_empty() {
            parameters.push((name, value));
        }
        rest = tail;
    }
}

/// Where to subscribe for a feed, and to what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    pub hub: Url,
    /// `rel="self"` when the publisher names it (the spec requires subscribing to that URL),
    /// else the URL the feed was fetched from.
    pub topic: Url,
}

/// The hub and topic of a feed: the HTTP `Link` headers win over the document (the spec's order),
/// and a `self` link comes from the same place as the hub when it can. Relative links resolve
/// against the fetched URL; only http(s) hubs count.
pub fn discover(
    header_links: &[HeaderLink],
    document_hub: Option<&str>,
    document_self: Option<&str>,
    fetched: &Url,
) -> Option<Discovered> {
    let web_url = |text: &str| {
        fetched
            .join(text.trim())
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
    };
    let from_headers = |relation: &str| {
        header_links
            .iter()
            .filter(|link| link.relations.iter().any(|rel| rel == relation))
            .find_map(|link| web_url(&link.target))
    };
    let header_self = from_headers("self");
    let document_self = document_self.and_then(web_url);
    let (hub, topic) = match from_headers("hub") {
        Some(hub) => (hub, header_self.or(document_self)),
        None => (
            document_hub.and_then(web_url)?,
            document_self.or(header_self),
        ),
    };
    Some(Discovered {
        hub,
        topic: topic.unwrap_or_else(|| fetched.clone()),
    })
}

/// Why a content distribution is not accepted as coming from the hub.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no X-Hub-Signature header, although the subscription has a secret")]
    Missing,
    #[error("X-Hub-Signature is not of the form method=hex-digest")]
    Malformed,
    #[error("X-Hub-Signature uses {0:?}; expected sha1, sha256, sha384 or sha512")]
    UnknownMethod(String),
    #[error("X-Hub-Signature does not match the body (wrong secret, or not sent by the hub)")]
    Mismatch,
}

/// Checks `X-Hub-Signature: method=hex` — the HMAC of the raw body keyed by the subscription's
/// secret — in constant time.
pub fn verify_signature(
    header: Option<&str>,
    secret: &[u8],
    body: &[u8],
) -> Result<(), SignatureError> {
    let header = header.map(str::trim).filter(|header| !header.is_empty());
    let Some(header) = header else {
        return Err(SignatureError::Missing);
    };
    let (method, digest) = header.split_once('=').ok_or(SignatureError::Malformed)?;
    let digest = decode_hex(digest.trim()).ok_or(SignatureError::Malformed)?;
    let matches = match method.trim().to_ascii_lowercase().as_str() {
        "sha1" => hmac_matches::<Hmac<sha1::Sha1>>(secret, body, &digest),
        "sha256" => hmac_matches::<Hmac<sha2::Sha256>>(secret, body, &digest),
        "sha384" => hmac_matches::<Hmac<sha2::Sha384>>(secret, body, &digest),
        "sha512" => hmac_matches::<Hmac<sha2::Sha512>>(secret, body, &digest),
        other => return Err(SignatureError::UnknownMethod(other.to_string())),
    };
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn hmac_matches<M: Mac + hmac::digest::KeyInit>(secret: &[u8], body: &[u8], digest: &[u8]) -> bool {
    // HMAC takes keys of any length, so this never fails; if it did, the push would be refused
    let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(digest).is_ok()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |byte: u8| (byte as char).to_digit(16);
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8))
        .collect()
}

/// What the store remembers of one subscription, in the order things happen: a request is sent,
/// the hub answers it, later verifies (granting a lease) or denies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// When the last subscription request was sent (recorded before sending: a hub that verifies
    /// before answering must find its verification newer than the request).
    pub requested_at: Option<Millis>,
    /// Whether the hub accepted that request (2xx) — it is then expected to verify it.
    pub accepted: bool,
    /// Consecutive requests that failed, or that the hub accepted but never verified; reset by a
    /// verification.
    pub failures: u32,
    /// The last verification of intent, and the end of the lease it granted.
    pub verified_at: Option<Millis>,
    pub expires_at: Option<Millis>,
    /// When the hub last denied the subscription (which ends any lease).
    pub denied_at: Option<Millis>,
}

impl Facts {
    /// Whether the last request has had no answer from the hub yet (no verification or denial
    /// after it).
    pub fn outstanding(&self) -> bool {
        let latest_answer = self.verified_at.max(self.denied_at);
        self.requested_at
            .is_some_and(|requested| latest_answer.is_none_or(|answer| requested > answer))
    }

    /// Whether the last request was accepted but is still not verified: when another request is
    /// sent, that one counts as a failure, so a hub that never verifies is asked less and less.
    pub fn unanswered(&self) -> bool {
        self.accepted && self.outstanding()
    }
}

/// A subscription's state at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Verified and within its lease: pushes arrive, polling is only a fallback.
    Active { expires_at: Millis },
    /// Requested (or about to be), not verified yet — or its lease lapsed.
    Pending,
    /// The hub refused the subscription or its last requests failed.
    Failing,
    /// The hub denied it.
    Denied,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Active { .. } => "active",
            Status::Pending => "pending",
            Status::Failing => "failing",
            Status::Denied => "denied",
        }
    }
}

/// The subscription's state at `now`.
pub fn status(facts: &Facts, now: Millis) -> Status {
    if let Some(expires_at) = facts.expires_at.filter(|expires_at| *expires_at > now) {
        if facts
            .denied_at
            .is_none_or(|denied| denied < facts.verified_at.unwrap_or(0))
        {
            return Status::Active { expires_at };
        }
    }
    if let Some(denied) = facts.denied_at {
        if facts
            .requested_at
            .is_none_or(|requested| requested <= denied)
        {
            return Status::Denied;
        }
    }
    if facts.failures > 0 {
        Status::Failing
    } else {
        Status::Pending
    }
}

/// When the next subscription request (a first one, a renewal, or a retry) should be sent; at or
/// before `now` means now. `max_backoff` caps the delay between failed attempts.
pub fn next_request(facts: &Facts, now: Millis, max_backoff: Duration) -> Millis {
    if facts.outstanding() {
        let requested = facts.requested_at.unwrap_or(now);
        // an accepted request waits for its verification; a failed one is retried after the
        // back-off (both grow with the failures so far)
        let wait = if facts.accepted {
            VERIFY_WAIT.max(backoff(facts.failures, max_backoff))
        } else {
            backoff(facts.failures.max(1), max_backoff)
        };
        return requested.saturating_add(wait);
    }
    match status(facts, now) {
        Status::Denied => facts.denied_at.unwrap_or(now).saturating_add(DENIED_RETRY),
        Status::Active { expires_at } => renewal_time(facts.verified_at.unwrap_or(now), expires_at),
        Status::Pending | Status::Failing => now,
    }
}

/// When a lease granted at `verified_at` and ending at `expires_at` is renewed.
pub fn renewal_time(verified_at: Millis, expires_at: Millis) -> Millis {
    let lease = expires_at.saturating_sub(verified_at).max(0);
    verified_at.saturating_add(lease / 100 * RENEW_PERCENT + lease % 100 * RENEW_PERCENT / 100)
}

/// The delay before retrying after `failures` consecutive failed requests (none: no delay).
pub fn backoff(failures: u32, max_backoff: Duration) -> Millis {
    if failures == 0 {
        return 0;
    }
    let cap = i64::try_from(max_backoff.as_millis())
        .unwrap_or(i64::MAX)
        .max(FIRST_RETRY);
    FIRST_RETRY
        .saturating_mul(1i64 << failures.saturating_sub(1).min(30))
        .min(cap)
}

/// The lease a verification grants, from its `hub.lease_seconds` (kept within sane bounds).
pub fn granted_lease(lease_seconds: Option<&str>) -> Duration {
    lease_seconds
        .and_then(|text| text.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_LEASE)
        .clamp(MIN_LEASE, MAX_LEASE)
}

/// The polling delay while pushes arrive: the normal one times [`FALLBACK_FACTOR`], but never past
/// `max_interval` (nor shorter than the normal delay).
pub fn fallback_delay(delay: Duration, max_interval: Duration) -> Duration {
    delay
        .saturating_mul(FALLBACK_FACTOR)
        .min(max_interval.max(delay))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_links(values: &[&str], expected: &[(&str, &[&str])]) {
        let links = parse_link_headers(values.iter().copied());
        let got: Vec<(String, Vec<String>)> = links
            .into_iter()
            .map(|link| (link.target, link.relations))
            .collect();
        let expected: Vec<(String, Vec<String>)> = expected
            .iter()
            .map(|(target, relations)| {
                (
                    target.to_string(),
                    relations.iter().map(|r| r.to_string()).collect(),
                )
            })
            .collect();
        assert_eq!(got, expected, "{values:?}");
    }

    #[test]
    fn link_headers() {
        check_links(
            &[r#"<https://hub.example/>; rel="hub", <https://example.org/feed>; rel="self""#],
            &[
                ("https://hub.example/", &["hub"]),
                ("https://example.org/feed", &["self"]),
            ],
        );
        check_links(
            &[
                "<https://a/>; rel=hub",
                "<https://b/>;rel=\"Self Alternate\"",
            ],
            &[
                ("https://a/", &["hub"]),
                ("https://b/", &["self", "alternate"]),
            ],
        );
        // quoted values may hold commas and semicolons; other parameters are skipped
        check_links(
            &[r#"<https://a/>; title="x, y; z"; rel="hub", <https://b/>; type=text/html"#],
            &[("https://a/", &["hub"]), ("https://b/", &[])],
        );
        check_links(&["garbage", "<unclosed; rel=hub"], &[]);
        check_links(&[""], &[]);
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn discovery_prefers_headers_and_self() {
        let fetched = url("https://example.org/feed.xml?utm=1");
        let headers = parse_link_headers([
            r#"<https://hub.example/h>; rel="hub", </canonical.xml>; rel="self""#,
        ]);
        let found = discover(
            &headers,
            Some("https://other-hub/"),
            Some("/doc-self"),
            &fetched,
        );
        assert_eq!(
            found,
            Some(Discovered {
                hub: url("https://hub.example/h"),
                topic: url("https://example.org/canonical.xml"),
            })
        );
        // only the document: its self link, else the fetched URL
        let found = discover(
            &[],
            Some("https://hub.example/"),
            Some("/self.xml"),
            &fetched,
        );
        assert_eq!(found.unwrap().topic, url("https://example.org/self.xml"));
        let found = discover(&[], Some("https://hub.example/"), None, &fetched);
        assert_eq!(found.unwrap().topic, fetched);
        // no hub, or a hub that is not a web URL
        assert_eq!(discover(&[], None, Some("/self.xml"), &fetched), None);
        assert_eq!(
            discover(&[], Some("mailto:hub@example.org"), None, &fetched),
            None
        );
    }

    fn sign<M: Mac + hmac::digest::KeyInit>(secret: &[u8], body: &[u8]) -> String {
        let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret).unwrap();
        mac.update(body);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    #[test]
    fn signatures() {
        let secret = b"s3cret";
        let body = b"<feed/>";
        for header in [
            format!("sha1={}", sign::<Hmac<sha1::Sha1>>(secret, body)),
            format!("sha256={}", sign::<Hmac<sha2::Sha256>>(secret, body)),
            format!(
                "SHA384={}",
                sign::<Hmac<sha2::Sha384>>(secret, body).to_uppercase()
            ),
            format!("sha512={}", sign::<Hmac<sha2::Sha512>>(secret, body)),
        ] {
            assert_eq!(
                verify_signature(Some(&header), secret, body),
                Ok(()),
                "{header}"
            );
        }
        let good = format!("sha256={}", sign::<Hmac<sha2::Sha256>>(secret, body));
        for (header, expected) in [
            (None, SignatureError::Missing),
            (Some("  "), SignatureError::Missing),
            (Some("sha256"), SignatureError::Malformed),
            (Some("sha256=xyz"), SignatureError::Malformed),
            (
                Some("md5=00ff"),
                SignatureError::UnknownMethod("md5".into()),
            ),
            (Some("sha256=00ff"), SignatureError::Mismatch),
        ] {
            assert_eq!(
                verify_signature(header, secret, body),
                Err(expected),
                "{header:?}"
            );
        }
        assert_eq!(
            verify_signature(Some(&good), secret, b"<feed/> "),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(Some(&good), b"other", body),
            Err(SignatureError::Mismatch)
        );
    }

    const MINUTE: Millis = 60_000;
    const SIX_HOURS: Duration = Duration::from_secs(6 * 3600);

    /// (facts, now) → (status, next request at)
    fn check(facts: Facts, now: Millis, expected: (Status, Millis)) {
        assert_eq!(
            (status(&facts, now), next_request(&facts, now, SIX_HOURS)),
            expected,
            "{facts:?} at {now}"
        );
    }

    #[test]
    fn subscription_life() {
        let t = 1_000_000;
        // never requested: subscribe now
        check(Facts::default(), t, (Status::Pending, t));
        // requested and accepted, awaiting verification: ask again only after VERIFY_WAIT
        let requested = Facts {
            requested_at: Some(t),
            accepted: true,
            ..Facts::default()
        };
        assert!(requested.unanswered());
        check(requested, t + 1, (Status::Pending, t + VERIFY_WAIT));
        // verified with a 4 s lease (even before the request's own answer came back): renew at 85 %
        let verified = Facts {
            verified_at: Some(t + 10),
            expires_at: Some(t + 4_010),
            ..requested
        };
        assert!(!verified.outstanding());
        check(
            verified,
            t + 20,
            (
                Status::Active {
                    expires_at: t + 4_010,
                },
                t + 10 + 3_400,
            ),
        );
        // the renewal was sent: wait for its verification; the lease lapses meanwhile
        let renewing = Facts {
            requested_at: Some(t + 3_410),
            ..verified
        };
        check(
            renewing,
            t + 3_500,
            (
                Status::Active {
                    expires_at: t + 4_010,
                },
                t + 3_410 + VERIFY_WAIT,
            ),
        );
        check(
            renewing,
            t + 4_010,
            (Status::Pending, t + 3_410 + VERIFY_WAIT),
        );
        // lapsed without an outstanding request (a restart after a long stop): subscribe now
        check(verified, t + 9_999, (Status::Pending, t + 9_999));
        // renewed: the new lease counts from the new verification
        let renewed = Facts {
            verified_at: Some(t + 3_420),
            expires_at: Some(t + 7_420),
            ..renewing
        };
        check(
            renewed,
            t + 3_500,
            (
                Status::Active {
                    expires_at: t + 7_420,
                },
                t + 3_420 + 3_400,
            ),
        );
    }

    #[test]
    fn failures_back_off_and_denials_wait_a_day() {
        let t = 1_000_000;
        let failed = |failures| Facts {
            requested_at: Some(t),
            failures,
            ..Facts::default()
        };
        check(failed(1), t, (Status::Failing, t + MINUTE));
        check(failed(3), t, (Status::Failing, t + 4 * MINUTE));
        check(failed(30), t, (Status::Failing, t + 6 * 60 * MINUTE));
        assert!(!failed(1).unanswered(), "already counted as a failure");
        // accepted but never verified, again and again: the wait grows past VERIFY_WAIT
        let ignored = |failures| Facts {
            accepted: true,
            ..failed(failures)
        };
        check(ignored(2), t, (Status::Failing, t + VERIFY_WAIT));
        check(ignored(5), t, (Status::Failing, t + 16 * MINUTE));
        // a failed renewal keeps the lease, and is retried sooner than VERIFY_WAIT
        let failed_renewal = Facts {
            requested_at: Some(t + 50),
            accepted: false,
            failures: 1,
            verified_at: Some(t),
            expires_at: Some(t + 100 * MINUTE),
            denied_at: None,
        };
        check(
            failed_renewal,
            t + 60,
            (
                Status::Active {
                    expires_at: t + 100 * MINUTE,
                },
                t + 50 + MINUTE,
            ),
        );
        // denied (even while active): no lease, retried a day later
        let denied = Facts {
            denied_at: Some(t + 70),
            expires_at: None,
            failures: 0,
            ..failed_renewal
        };
        check(denied, t + 80, (Status::Denied, t + 70 + DENIED_RETRY));
        // asked again after the denial: pending
        let asked_again = Facts {
            requested_at: Some(t + 70 + DENIED_RETRY),
            accepted: true,
            ..denied
        };
        check(
            asked_again,
            t + 71 + DENIED_RETRY,
            (Status::Pending, t + 70 + DENIED_RETRY + VERIFY_WAIT),
        );
    }

    #[test]
    fn leases_and_fallback_polling() {
        assert_eq!(renewal_time(0, 864_000_000), 734_400_000);
        assert_eq!(renewal_time(5, 5), 5);
        assert_eq!(granted_lease(Some("4")), Duration::from_secs(4));
        assert_eq!(granted_lease(Some("0")), Duration::from_secs(1));
        assert_eq!(granted_lease(None), DEFAULT_LEASE);
        assert_eq!(granted_lease(Some("soon")), DEFAULT_LEASE);
        assert_eq!(
            granted_lease(Some("99999999999")),
            Duration::from_secs(366 * 24 * 3600)
        );
        let minutes = |m: u64| Duration::from_secs(m * 60);
        assert_eq!(fallback_delay(minutes(5), minutes(60)), minutes(20));
        assert_eq!(fallback_delay(minutes(30), minutes(60)), minutes(60));
        assert_eq!(fallback_delay(minutes(90), minutes(60)), minutes(90));
    }
}
