//! The SSRF guard: which addresses content-derived URLs may reach. A resolver that drops every
//! non-public address (so the check happens after DNS, on the address actually dialled), and a
//! check of IP-literal hosts (which never reach a resolver) used before the request and on every
//! redirect.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Prefix of the message of a blocked connection, so the error can be recognised after reqwest
/// has wrapped it.
pub(super) const BLOCKED_MARKER: &str = "wirewatch-ssrf-guard:";

#[derive(Debug)]
pub(super) struct Blocked(pub String);

impl fmt::Display for Blocked {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{BLOCKED_MARKER} {}", self.0)
    }
}

impl std::error::Error for Blocked {}

/// Whether an address is on the public internet (not loopback, private, link-local, shared,
/// documentation, multicast, reserved or unspecified).
pub fn is_public_address(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let segments = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (segments[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (segments[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
                || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
                || (segments[0] == 0x0064 && segments[1] == 0xff9b) // NAT64 can reach private v4
                || segments[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
        }
    }
}

fn is_public_v4(address: Ipv4Addr) -> bool {
    let octets = address.octets();
    !(address.is_loopback()
        || address.is_private()
        || address.is_link_local()
        || address.is_broadcast()
        || address.is_documentation()
        || address.is_unspecified()
        || address.is_multicast()
        || octets[0] == 0
        || (octets[0] == 100 && (octets[1] & 0xc0) == 64) // shared 100.64.0.0/10
        || (octets[0] == 198 && (octets[1] & 0xfe) == 18) // benchmarking 198.18.0.0/15
        || (octets[0] == 192 && octets[1] == 0 && octets[2] == 0) // IETF 192.0.0.0/24
        || octets[0] >= 240) // reserved
}

/// Rejects URLs whose host is a non-public IP literal, or "localhost".
pub(super) fn check_url_literal(url: &Url) -> Result<(), String> {
    match url.host() {
        Some(Host::Ipv4(v4)) if !is_public_v4(v4) => {
            Err(format!("{url} points at private address {v4}"))
        }
        Some(Host::Ipv6(v6)) if !is_public_address(IpAddr::V6(v6)) => {
            Err(format!("{url} points at private address {v6}"))
        }
        Some(Host::Domain(domain))
            if domain.eq_ignore_ascii_case("localhost")
                || domain.to_ascii_lowercase().ends_with(".localhost") =>
        {
            Err(format!("{url} points at localhost"))
        }
        None => Err(format!("{url} has no host")),
        _ => Ok(()),
    }
}

/// Resolves with the system resolver and keeps only public addresses.
pub(super) struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = addresses
                .iter()
                .copied()
                .filter(|address| is_public_address(address.ip()))
                .collect();
            if public.is_empty() {
                let shown: Vec<String> = addresses.iter().map(|a| a.ip().to_string()).collect();
                return Err(Box::new(Blocked(format!(
                    "{host} resolves only to non-public addresses ({})",
                    shown.join(", ")
                )))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(address: &str, public: bool) {
        let parsed: IpAddr = address.parse().unwrap();
        assert_eq!(is_public_address(parsed), public, "{address}");
    }

    #[test]
    fn address_classes() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "::1",
            "::",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "64:ff9b::a00:1",
        ] {
            check(private, false);
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            check(public, true);
        }
    }

    #[test]
    fn literal_hosts() {
        assert!(check_url_literal(&Url::parse("http://127.0.0.1:8080/x").unwrap()).is_err());
        assert!(check_url_literal(&Url::parse("http://[::1]/x").unwrap()).is_err());
        assert!(check_url_literal(&Url::parse("http://LOCALHOST/x").unwrap()).is_err());
        assert!(check_url_literal(&Url::parse("http://2130706433/x").unwrap()).is_err());
        assert!(check_url_literal(&Url::parse("https://example.org/x").unwrap()).is_ok());
    }
}
