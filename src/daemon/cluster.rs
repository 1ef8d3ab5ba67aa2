//! Instances sharing one PostgreSQL database: this instance's name, its heartbeat (and the
//! warning when live instances run different configurations), the lease around each poll of a
//! source, the claim before each delivery attempt, and the cluster view `/status` and
//! `wirewatch cluster` show.
//!
//! On SQLite none of this runs: one process owns a state directory, so there is nothing to
//! share, and the single-instance loops behave exactly as before. It does not choose which
//! instance does what: whichever instance asks first when work is due gets the lease, so the
//! work spreads by itself and a dead instance's share is taken over when its leases expire.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

use super::{now_millis, Pipeline};
use crate::config::Config;
use crate::fetch::{SharedAnswer, SharedTurns};
use crate::store::{Claim, Instance, LiveInstance, Millis, Store, TurnGrant};

/// After the store failed to answer a lease request, ask again this much later.
const STORE_RETRY: Duration = Duration::from_secs(5);

/// This instance's name: `[daemon] instance`, or hostname-pid.
pub fn instance_name(config: &Config) -> String {
    config.daemon.instance.clone().unwrap_or_else(|| {
        let host = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned();
        format!("{host}-{}", std::process::id())
    })
}

/// When this process started, the same for every reload: another process under the same name
/// is told apart by it.
fn process_started_at() -> Millis {
    static STARTED: OnceLock<Millis> = OnceLock::new();
    *STARTED.get_or_init(now_millis)
}

pub fn millis(duration: Duration) -> Millis {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn until(at: Millis) -> Duration {
    Duration::from_millis(u64::try_from(at - now_millis()).unwrap_or(0))
}

impl Pipeline {
    /// Whether this instance shares its store with others (PostgreSQL).
    pub(super) fn clustered(&self) -> bool {
        self.store.shared()
    }

    pub(super) fn lease_end(&self, now: Millis) -> Millis {
        now.saturating_add(millis(self.config.daemon.lease))
    }

    /// Asks for the lease of polling `source`: `None` when granted, else how long to wait
    /// before asking again. `due_only`: only when the source's schedule (whoever polled it
    /// last) says it is due.
    pub(super) async fn claim_poll(&self, source: &str, due_only: bool) -> Option<Duration> {
        let now = now_millis();
        match self
            .store
            .claim_source(source, &self.instance, now, self.lease_end(now), due_only)
            .await
        {
            Ok(Claim::Granted) => None,
            Ok(Claim::NotBefore(at)) => Some(until(at)),
            Err(store_error) => {
                error!(source, error = %store_error, "cannot ask for the source's lease");
                Some(STORE_RETRY)
            }
        }
    }

    /// Runs `work` while renewing the lease `name` every third of its length, so a poll that
    /// runs longer than the lease keeps it; then releases the lease.
    pub(super) async fn holding<T>(
        &self,
        name: &str,
        work: impl std::future::Future<Output = T>,
    ) -> T {
        let every = self.config.daemon.lease / 3;
        let renew = async {
            loop {
                tokio::time::sleep(every).await;
                let now = now_millis();
                match self
                    .store
                    .take_lease(name, &self.instance, now, self.lease_end(now))
                    .await
                {
                    Ok(Claim::Granted) => {}
                    Ok(Claim::NotBefore(_)) => {
                        warn!(lease = name, "lost a lease while working (the database was out of reach longer than the lease); another instance may repeat this work")
                    }
                    Err(store_error) => {
                        error!(lease = name, error = %store_error, "cannot renew a lease")
                    }
                }
            }
        };
        let result = tokio::select! {
            result = work => result,
            never = renew => never,
        };
        if let Err(store_error) = self.store.release_lease(name, &self.instance).await {
            error!(lease = name, error = %store_error, "cannot release a lease; it ends by itself");
        }
        result
    }

    /// Live instances as the store sees them (a heartbeat within one lease).
    pub(super) async fn live_instances(&self) -> Vec<LiveInstance> {
        let now = now_millis();
        self.store
            .live_instances(now - millis(self.config.daemon.lease), now)
            .await
            .unwrap_or_else(|store_error| {
                error!(error = %store_error, "cannot read the cluster's instances");
                Vec::new()
            })
    }

    /// The `cluster` section of `/status`: `null` on SQLite.
    pub(super) async fn cluster_status(&self) -> serde_json::Value {
        if !self.clustered() {
            return serde_json::Value::Null;
        }
        let now = now_millis();
        let instances: Vec<serde_json::Value> = self
            .live_instances()
            .await
            .iter()
            .map(|live| {
                serde_json::json!({
                    "name": live.instance.name,
                    "heartbeat_age_ms": now - live.instance.heartbeat_at,
                    "started_at": live.instance.started_at,
                    "config_hash": live.instance.config_hash,
                    "version": live.instance.version,
                    "leases": live.leases.iter().map(|(name, _)| name).collect::<Vec<_>>(),
                    "deliveries_in_flight": live.deliveries,
                })
            })
            .collect();
        serde_json::json!({
            "instance": self.instance,
            "config_hash": self.config.hash,
            "lease_seconds": self.config.daemon.lease.as_secs_f64(),
            "instances": instances,
        })
    }
}

/// Refreshes this instance's heartbeat every third of a lease and warns (once per pair) about
/// live instances running another configuration, until cancelled.
pub(super) async fn heartbeat_loop(
    pipeline: std::sync::Arc<Pipeline>,
    shutdown: CancellationToken,
) {
    let lease = pipeline.config.daemon.lease;
    let mut warned = BTreeSet::new();
    loop {
        let now = now_millis();
        let me = Instance {
            name: pipeline.instance.clone(),
            started_at: process_started_at(),
            heartbeat_at: now,
            config_hash: pipeline.config.hash.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        };
        match pipeline.store.heartbeat(&me, now - millis(lease)).await {
            Ok(true) => {}
            Ok(false) => {
                error!(instance = %me.name, "another live process uses this instance name; give each instance its own [daemon] instance (or leave it out for hostname-pid), or they hold each other's leases")
            }
            Err(store_error) => error!(error = %store_error, "cannot record the heartbeat"),
        }
        for other in pipeline.live_instances().await {
            let other = other.instance;
            if other.name != me.name
                && other.config_hash != me.config_hash
                && warned.insert((other.name.clone(), other.config_hash.clone()))
            {
                warn!(
                    instance = %me.name,
                    config_hash = %me.config_hash,
                    other_instance = %other.name,
                    other_config_hash = %other.config_hash,
                    "instances on this database run different configurations; run every instance with the same config file"
                );
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(lease / 3) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// `wirewatch cluster`: one line per live instance (name, heartbeat age, config hash, leases).
pub fn report(live: &[LiveInstance], now: Millis) -> String {
    let mut text = String::new();
    for entry in live {
        let instance = &entry.instance;
        let age = Duration::from_millis(
            u64::try_from(now - instance.heartbeat_at).unwrap_or(0) / 1000 * 1000,
        );
        let leases: Vec<&str> = entry.leases.iter().map(|(name, _)| name.as_str()).collect();
        text.push_str(&format!(
            "{}  heartbeat {} ago  config {}  version {}  deliveries in flight {}  leases: {}\n",
            instance.name,
            humantime::format_duration(age),
            instance.config_hash,
            instance.version,
            entry.deliveries,
            if leases.is_empty() {
                "none".to_string()
            } else {
                leases.join(", ")
            },
        ));
    }
    let hashes: BTreeSet<&str> = live
        .iter()
        .map(|entry| entry.instance.config_hash.as_str())
        .collect();
    if hashes.len() > 1 {
        text.push_str("warning: live instances run different configurations\n");
    }
    text
}

/// The cluster's turns at hosts, over the shared store: what makes `per_host_connections` and
/// `per_host_gap` hold across instances. Keys are `host:HOST:PORT`.
pub(super) struct StoreTurns {
    pub store: Arc<Store>,
    pub holder: String,
}

impl SharedTurns for StoreTurns {
    fn take<'a>(
        &'a self,
        host: &'a str,
        slots: u32,
        gap: Duration,
        hold: Duration,
    ) -> Pin<Box<dyn Future<Output = SharedAnswer> + Send + 'a>> {
        Box::pin(async move {
            let key = format!("host:{host}");
            match self
                .store
                .take_turn(&key, &self.holder, Some(slots), millis(gap), millis(hold))
                .await
            {
                Ok(TurnGrant::Granted { slot, wait }) => SharedAnswer::Granted {
                    slot,
                    wait: Duration::from_millis(u64::try_from(wait).unwrap_or(0)),
                },
                Ok(TurnGrant::Busy) => SharedAnswer::Busy,
                Err(store_error) => {
                    // an outage is logged once by the store itself; per request it would flood
                    tracing::debug!(host, error = %store_error, "no shared turn; pacing locally");
                    SharedAnswer::Unavailable
                }
            }
        })
    }

    fn release(&self, host: &str, slot: i32) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // shutting down: the slot's hold runs out by itself
        };
        let store = Arc::clone(&self.store);
        let holder = self.holder.clone();
        let key = format!("host:{host}");
        runtime.spawn(async move {
            if let Err(store_error) = store.release_turn(&key, slot, &holder).await {
                tracing::debug!(key, error = %store_error, "slot not given back; its hold runs out");
            }
        });
    }
}

impl Pipeline {
    /// On a cluster, waits for the sink's turn under its `rate_limit` cluster-wide: deliveries
    /// by all instances evenly spaced at the limit's average rate (`per / count` apart; no
    /// burst, since the instances' buckets cannot be shared cheaply). False when the store
    /// cannot answer (the local bucket alone then paces this instance).
    pub(super) async fn shared_rate_turn(&self, sink: &str) -> bool {
        let Some(limit) = self
            .config
            .sinks
            .iter()
            .find(|config| config.name == sink)
            .and_then(|config| config.rate_limit)
        else {
            return true;
        };
        let gap = limit.per / limit.count.max(1);
        match self
            .store
            .take_turn(
                &format!("sink:{sink}"),
                &self.instance,
                None,
                millis(gap),
                0,
            )
            .await
        {
            Ok(TurnGrant::Granted { wait, .. }) => {
                tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(0))).await;
                true
            }
            Ok(TurnGrant::Busy) => true,
            Err(store_error) => {
                tracing::debug!(sink, error = %store_error, "no shared rate turn; pacing locally");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(name: &str, hash: &str, leases: &[&str]) -> LiveInstance {
        LiveInstance {
            instance: Instance {
                name: name.to_string(),
                started_at: 0,
                heartbeat_at: 95_000,
                config_hash: hash.to_string(),
                version: "0.1.0".to_string(),
            },
            leases: leases.iter().map(|lease| (lease.to_string(), 0)).collect(),
            deliveries: 1,
        }
    }

    #[test]
    fn report_lists_instances_and_warns_about_configurations() {
        let same = [live("a", "h1", &["source:x"]), live("b", "h1", &[])];
        let text = report(&same, 100_000);
        assert_eq!(
            text,
            "a  heartbeat 5s ago  config h1  version 0.1.0  deliveries in flight 1  leases: source:x\n\
             b  heartbeat 5s ago  config h1  version 0.1.0  deliveries in flight 1  leases: none\n"
        );
        let different = [live("a", "h1", &[]), live("b", "h2", &[])];
        assert!(report(&different, 100_000).ends_with("different configurations\n"));
    }
}
