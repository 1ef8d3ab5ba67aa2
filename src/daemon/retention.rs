//! The retention loop: once an hour (the first pass a minute after start) it deletes what
//! `crate::retention` says is no longer needed — seen entries no longer listed, then old
//! alerts with their deliveries — in batches of [`PRUNE_BATCH`] rows, yielding between
//! batches so polls and deliveries get the database in between. It decides no window itself
//! and holds no SQL. `wirewatch once` does not prune.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use super::{now_millis, Pipeline};
use crate::config::Config;
use crate::retention::{millis, seen_keep, PRUNE_BATCH, PRUNE_EVERY};
use crate::store::{Millis, Store, StoreError};

/// A pause after start-up, so the first polls do not share the database with a long prune.
const FIRST_PASS: Duration = Duration::from_secs(60);

/// How long each kind of row is kept, from the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    pub seen: Millis,
    pub alerts: Millis,
}

impl Windows {
    pub fn of(config: &Config) -> Windows {
        Windows {
            seen: millis(seen_keep(
                config
                    .sources
                    .iter()
                    .map(|source| (source.max_interval, source.max_age)),
            )),
            alerts: millis(config.daemon.keep_alerts),
        }
    }
}

/// Rows one pass deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub seen_entries: usize,
    pub alerts: usize,
}

/// One pass: every prune method, batch after batch until a batch comes back short, with a
/// yield between batches. Stops early (with what it did) when `shutdown` is cancelled.
pub async fn prune(
    store: &Store,
    windows: Windows,
    now: Millis,
    shutdown: &CancellationToken,
) -> Result<Pruned, StoreError> {
    Ok(Pruned {
        seen_entries: in_batches(shutdown, || {
            store.prune_seen(now, windows.seen, PRUNE_BATCH)
        })
        .await?,
        alerts: in_batches(shutdown, || {
            store.prune_alerts(now, windows.alerts, PRUNE_BATCH)
        })
        .await?,
    })
}

/// Runs `batch` until it deletes fewer than [`PRUNE_BATCH`] rows; the rows deleted in all.
async fn in_batches<Batch, Deleting>(
    shutdown: &CancellationToken,
    mut batch: Batch,
) -> Result<usize, StoreError>
where
    Batch: FnMut() -> Deleting,
    Deleting: std::future::Future<Output = Result<usize, StoreError>>,
{
    let mut total = 0;
    while !shutdown.is_cancelled() {
        let deleted = batch().await?;
        total += deleted;
        if deleted < PRUNE_BATCH {
            break;
        }
        tokio::task::yield_now().await;
    }
    Ok(total)
}

pub(super) async fn retention_loop(pipeline: Arc<Pipeline>, shutdown: CancellationToken) {
    let mut delay = FIRST_PASS;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.cancelled() => return,
        }
        delay = PRUNE_EVERY;
        let windows = Windows::of(&pipeline.config);
        match prune(&pipeline.store, windows, now_millis(), &shutdown).await {
            Ok(pruned) if pruned != Pruned::default() => info!(
                seen_entries = pruned.seen_entries,
                alerts = pruned.alerts,
                "pruned the state database"
            ),
            Ok(_) => {}
            // the next pass tries again; nothing waits on pruning
            Err(store_error) => error!(error = %store_error, "cannot prune the state database"),
        }
    }
}
