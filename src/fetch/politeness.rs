//! Per-host politeness: at most `per_host_connections` requests in flight to one host (host and
//! port) and at least `per_host_gap` between the starts of two requests to it, whatever source or
//! article they belong to. Every request the fetcher sends takes a turn here first.
//!
//! Instances sharing a PostgreSQL database pace their requests together: with [`SharedTurns`]
//! set (the daemon's, over its store; this module never touches the store), each turn also
//! takes one of the host's in-flight slots and a start `per_host_gap` after the previous start
//! by any instance. When the store cannot answer, the local turn alone applies (politeness is
//! best effort; polling does not stop for it).
//!
//! A turn covers the first request only: redirects reqwest follows inside it are not counted
//! against their own hosts (they are few, at most five, and usually stay on the same site). This
//! is not a global rate limit either; hosts are independent, so ten thousand feeds on ten
//! thousand hosts are fetched as fast as the machine allows.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

/// Above this many remembered hosts, idle ones are forgotten (their gap has passed and nobody
/// waits for them), so a long-running daemon's table stays small.
const PRUNE_ABOVE: usize = 4096;

/// While every shared slot of a host is held, ask again this often (a slot is held for at most
/// the hold, so the wait ends).
const BUSY_RETRY: Duration = Duration::from_millis(200);

/// The answer of the cluster to a request for a turn at a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedAnswer {
    /// Start after `wait`; `slot` is this request's in-flight slot, to give back after it.
    Granted { slot: Option<i32>, wait: Duration },
    /// Every in-flight slot of the host is held by some instance.
    Busy,
    /// The store cannot answer now: only the local turn applies.
    Unavailable,
}

/// Turns shared by every instance of a cluster (the daemon implements it over its store).
pub trait SharedTurns: Send + Sync {
    /// A turn at `host` ("host:port"): one of `slots` in-flight slots, held at most `hold`, and
    /// a start at least `gap` after the previous one cluster-wide.
    fn take<'a>(
        &'a self,
        host: &'a str,
        slots: u32,
        gap: Duration,
        hold: Duration,
    ) -> Pin<Box<dyn Future<Output = SharedAnswer> + Send + 'a>>;
    /// Gives the slot back (without waiting for the store: it runs in the background).
    fn release(&self, host: &str, slot: i32);
}

pub(super) struct Politeness {
    connections: usize,
    gap: Duration,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
    /// Set once by the daemon when it shares its store; with the hold of a slot.
    shared: OnceLock<(Arc<dyn SharedTurns>, Duration)>,
}

struct Host {
    permits: Arc<Semaphore>,
    /// The earliest start of the next request.
    next_start: Mutex<Instant>,
}

/// Held while a request to a host is in flight (including reading its body).
pub(super) struct Turn {
    _permit: Option<OwnedSemaphorePermit>,
    _shared: Option<SharedSlot>,
}

/// A cluster-wide in-flight slot, given back when the request's turn ends.
struct SharedSlot {
    turns: Arc<dyn SharedTurns>,
    host: String,
    slot: i32,
}

impl Drop for SharedSlot {
    fn drop(&mut self) {
        self.turns.release(&self.host, self.slot);
    }
}

impl Politeness {
    pub(super) fn new(connections: u32, gap: Duration) -> Politeness {
        Politeness {
            connections: connections.max(1) as usize,
            gap,
            hosts: Mutex::new(HashMap::new()),
            shared: OnceLock::new(),
        }
    }

    /// Paces every later turn with the cluster's too; a slot is held at most `hold` (longer
    /// than any request). Only the first call counts.
    pub(super) fn share(&self, turns: Arc<dyn SharedTurns>, hold: Duration) {
        let _ = self.shared.set((turns, hold));
    }

    /// Waits for a connection slot to the URL's host, then for its gap.
    pub(super) async fn turn(&self, url: &Url) -> Turn {
        let key = format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        let Some(host) = self.host(key.clone()) else {
            // a poisoned table only means a panic elsewhere; fetching unthrottled beats stopping
            return Turn {
                _permit: None,
                _shared: None,
            };
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
        let shared = match self.shared.get() {
            Some((turns, hold)) => self.shared_turn(turns, key, *hold).await,
            None => None,
        };
        Turn {
            _permit: permit,
            _shared: shared,
        }
    }

    /// The cluster's turn after the local one: waits for a free slot and the shared gap.
    async fn shared_turn(
        &self,
        turns: &Arc<dyn SharedTurns>,
        host: String,
        hold: Duration,
    ) -> Option<SharedSlot> {
        let slots = u32::try_from(self.connections).unwrap_or(u32::MAX);
        loop {
            match turns.take(&host, slots, self.gap, hold).await {
                SharedAnswer::Granted { slot, wait } => {
                    tokio::time::sleep(wait).await;
                    return slot.map(|slot| SharedSlot {
                        turns: Arc::clone(turns),
                        host,
                        slot,
                    });
                }
                SharedAnswer::Busy => tokio::time::sleep(BUSY_RETRY).await,
                SharedAnswer::Unavailable => return None,
            }
        }
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

    /// A cluster that grants one slot at a time with a 3 s gap, and records releases.
    #[derive(Default)]
    struct Cluster {
        state: Mutex<(Option<i32>, Option<Instant>, Vec<i32>)>,
    }

    impl SharedTurns for Cluster {
        fn take<'a>(
            &'a self,
            _host: &'a str,
            _slots: u32,
            gap: Duration,
            _hold: Duration,
        ) -> Pin<Box<dyn Future<Output = SharedAnswer> + Send + 'a>> {
            Box::pin(async move {
                let mut state = self.state.lock().unwrap();
                if state.0.is_some() {
                    return SharedAnswer::Busy;
                }
                state.0 = Some(7);
                let now = Instant::now();
                let start = state.1.map_or(now, |next| next.max(now));
                state.1 = Some(start + gap);
                SharedAnswer::Granted {
                    slot: Some(7),
                    wait: start - now,
                }
            })
        }

        fn release(&self, _host: &str, slot: i32) {
            let mut state = self.state.lock().unwrap();
            state.0 = None;
            state.2.push(slot);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn shared_turns_pace_and_hold_slots_beyond_the_local_ones() {
        // locally generous (four connections, no gap); the cluster allows one and 3 s
        let politeness = Arc::new(Politeness::new(4, Duration::ZERO));
        let cluster = Arc::new(Cluster::default());
        politeness.share(
            Arc::clone(&cluster) as Arc<dyn SharedTurns>,
            Duration::from_secs(60),
        );
        let url = Url::parse("https://a.example/1").unwrap();
        let begin = Instant::now();
        let first = politeness.turn(&url).await;
        assert_eq!(begin.elapsed(), Duration::ZERO);
        let waiting = {
            let politeness = Arc::clone(&politeness);
            let url = url.clone();
            tokio::spawn(async move {
                let turn = politeness.turn(&url).await;
                (Instant::now(), turn)
            })
        };
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(!waiting.is_finished(), "the cluster's one slot is held");
        drop(first);
        let (started, second) = waiting.await.unwrap();
        assert!(started >= begin + Duration::from_secs(10));
        drop(second);
        assert_eq!(
            cluster.state.lock().unwrap().2,
            [7, 7],
            "both slots given back"
        );
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
