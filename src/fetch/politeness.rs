//! Per-host politeness: at most `per_host_connections` requests in flight to one host (host and
//! port) and at least `per_host_gap` between the starts of two requests to it, whatever source or
//! article they belong to. Every request the fetcher sends takes a turn here first.
//!
//! A turn covers the first request only: redirects reqwest follows inside it are not counted
//! against their own hosts (they are few, at most five, and usually stay on the same site). This
//! is not a global rate limit either; hosts are independent, so ten thousand feeds on ten
//! thousand hosts are fetched as fast as the machine allows.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

/// Above this many remembered hosts, idle ones are forgotten (their gap has passed and nobody
/// waits for them), so a long-running daemon's table stays small.
const PRUNE_ABOVE: usize = 4096;

pub(super) struct Politeness {
    connections: usize,
    gap: Duration,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
}

struct Host {
    permits: Arc<Semaphore>,
    /// The earliest start of the next request.
    next_start: Mutex<Instant>,
}

/// Held while a request to a host is in flight (including reading its body).
pub(super) struct Turn {
    _permit: Option<OwnedSemaphorePermit>,
}

impl Politeness {
    pub(super) fn new(connections: u32, gap: Duration) -> Politeness {
        Politeness {
            connections: connections.max(1) as usize,
            gap,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a connection slot to the URL's host, then for its gap.
    pub(super) async fn turn(&self, url: &Url) -> Turn {
        let key = format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        let Some(host) = self.host(key) else {
            // a poisoned table only means a panic elsewhere; fetching unthrottled beats stopping
            return Turn { _permit: None };
        };
        let permit = host.permits.clone().acquire_owned().await.ok();
        let start = match host.next_start.lock() {
            Ok(mut next_start) => {
                let start = (*next_start).max(Instant::now());
                // a gap too long for the clock (the config bounds it) means no gap, not a panic
                *next_start = start.checked_add(self.gap).unwrap_or(start);
                start
            }
            Err(_) => Instant::now(),
        };
        tokio::time::sleep_until(start).await;
        Turn { _permit: permit }
    }

    fn host(&self, key: String) -> Option<Arc<Host>> {
        let mut hosts = self.hosts.lock().ok()?;
        if hosts.len() > PRUNE_ABOVE {
            let now = Instant::now();
            hosts.retain(|_, host| {
                Arc::strong_count(host) > 1 || host.next_start.lock().is_ok_and(|next| *next > now)
            });
        }
        let host = hosts.entry(key).or_insert_with(|| {
            Arc::new(Host {
                permits: Arc::new(Semaphore::new(self.connections)),
                next_start: Mutex::new(Instant::now()),
            })
        });
        Some(Arc::clone(host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_host_waits_its_gap_other_hosts_do_not() {
        let politeness = Politeness::new(1, Duration::from_secs(2));
        let a = Url::parse("https://a.example/1").unwrap();
        let b = Url::parse("https://b.example/1").unwrap();
        let begin = Instant::now();
        drop(politeness.turn(&a).await);
        drop(politeness.turn(&b).await);
        assert_eq!(begin.elapsed(), Duration::ZERO);
        drop(politeness.turn(&a).await);
        assert_eq!(begin.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn connections_per_host_are_limited() {
        let politeness = Arc::new(Politeness::new(1, Duration::ZERO));
        let url = Url::parse("https://a.example/1").unwrap();
        let first = politeness.turn(&url).await;
        let waiting = {
            let politeness = Arc::clone(&politeness);
            let url = url.clone();
            tokio::spawn(async move { politeness.turn(&url).await })
        };
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(
            !waiting.is_finished(),
            "a second request ran while the first was in flight"
        );
        drop(first);
        waiting.await.unwrap();
    }

    /// Regression (issue 16, defect 3): `per_host_gap = "18446744073709551615s"` panicked in
    /// `Fetcher::get` (`Instant + Duration` overflow).
    #[tokio::test(start_paused = true)]
    async fn absurd_per_host_gap_does_not_panic() {
        let politeness = Politeness::new(1, Duration::MAX);
        let url = Url::parse("https://a.example/1").unwrap();
        drop(politeness.turn(&url).await);
        drop(politeness.turn(&url).await);
    }
}
