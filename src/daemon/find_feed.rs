//! Feed discovery over the network, for `kind = "auto"` sources and `wirewatch discover`: is the
//! URL a feed itself; else which feeds does the page announce (`<link rel="alternate">`); else
//! does the site serve one at a common path. A candidate counts only if it really parses as a
//! feed. The page parsing itself is `source::discover` (pure); this module only fetches.

use url::Url;

use crate::fetch::{Fetched, Fetcher, Origin};
use crate::source::{self, discover::COMMON_FEED_PATHS};

/// How a feed was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// The URL given is a feed.
    Itself,
    /// The page announces it with `<link rel="alternate">`.
    Announced,
    /// Served at one of the common paths of the site.
    CommonPath,
}

impl Found {
    pub fn describe(self) -> &'static str {
        match self {
            Found::Itself => "the URL is a feed",
            Found::Announced => "announced by the page",
            Found::CommonPath => "found at a common feed path",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Candidate {
    pub url: Url,
    pub title: Option<String>,
    pub found: Found,
    /// Entries in the feed when it was checked, or why it did not parse.
    pub check: Result<usize, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("fetch {url}: {error}")]
    Fetch { url: String, error: String },
    #[error("{url} is not a feed, announces no feed, and no feed answers at the common paths ({paths}); give the feed URL with kind = \"feed\", or use kind = \"page\" with CSS selectors")]
    NothingFound { url: String, paths: String },
}

/// Every candidate, checked; the first whose check succeeded is the one to poll.
pub async fn discover(
    fetcher: &Fetcher,
    url: &Url,
    max_bytes: u64,
) -> Result<Vec<Candidate>, DiscoveryError> {
    let page = match fetcher.get(url, Origin::Config, None, max_bytes).await {
        Ok(Fetched::Page(page)) => page,
        Ok(Fetched::NotModified(_)) => {
            return Err(DiscoveryError::Fetch {
                url: url.to_string(),
                error: "unexpected 304 Not Modified".to_string(),
            })
        }
        Err(error) => {
            return Err(DiscoveryError::Fetch {
                url: url.to_string(),
                error: error.to_string(),
            })
        }
    };
    if let Ok(feed) =
        source::feed::parse_feed(&page.body, page.content_type.as_deref(), &page.final_url)
    {
        return Ok(vec![Candidate {
            url: page.final_url,
            title: feed.title,
            found: Found::Itself,
            check: Ok(feed.entries.len()),
        }]);
    }
    let html = crate::extract::decode_html(&page.body, page.content_type.as_deref());
    let announced = source::discover::discover_feeds(&html, &page.final_url);
    let mut candidates = Vec::new();
    for feed in announced {
        let Ok(feed_url) = Url::parse(&feed.url) else {
            continue;
        };
        // announced URLs are learned from content: the SSRF guard applies
        let check = check_feed(fetcher, &feed_url, Origin::Content, max_bytes).await;
        candidates.push(Candidate {
            url: feed_url,
            title: feed.title,
            found: Found::Announced,
            check,
        });
    }
    if candidates.iter().any(|candidate| candidate.check.is_ok()) {
        return Ok(candidates);
    }
    for path in COMMON_FEED_PATHS {
        let Ok(probe) = page.final_url.join(path) else {
            continue;
        };
        // same site as the configured URL, so as trusted as it
        if let Ok(entries) = check_feed(fetcher, &probe, Origin::Config, max_bytes).await {
            candidates.push(Candidate {
                url: probe,
                title: None,
                found: Found::CommonPath,
                check: Ok(entries),
            });
            return Ok(candidates);
        }
    }
    if candidates.is_empty() {
        return Err(DiscoveryError::NothingFound {
            url: url.to_string(),
            paths: COMMON_FEED_PATHS.join(", "),
        });
    }
    Ok(candidates)
}

async fn check_feed(
    fetcher: &Fetcher,
    url: &Url,
    origin: Origin,
    max_bytes: u64,
) -> Result<usize, String> {
    match fetcher.get(url, origin, None, max_bytes).await {
        Ok(Fetched::Page(page)) => {
            source::feed::parse_feed(&page.body, page.content_type.as_deref(), &page.final_url)
                .map(|feed| feed.entries.len())
                .map_err(|error| error.to_string())
        }
        Ok(Fetched::NotModified(_)) => Err("unexpected 304 Not Modified".to_string()),
        Err(error) => Err(error.to_string()),
    }
}
