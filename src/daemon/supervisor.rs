//! The long-lived daemon: starts a *generation* of tasks for a pipeline (one polling loop per
//! source, one delivery loop per sink, the WebSub loops when WebSub is on), and from its own loop answers reload requests, pings the
//! systemd watchdog, and publishes status, until shutdown.
//!
//! Reload: the new config is read and validated first; only if it is valid is the old
//! generation stopped (its tasks cancelled at their next await — safe, since entries commit with
//! their alerts in one transaction and outbox rows stay until accepted) and a new one started
//! over the same store and metrics. An invalid config leaves the old generation running.
//!
//! The watchdog is pinged from this loop, and only while every task of the generation is alive:
//! a dead loop or a stuck supervisor stops the pings and systemd restarts the service.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use super::loops::{delivery_loop, source_loop, warn_about_orphaned_deliveries};
use super::{notify, Pipeline, StartError};
use crate::config::Config;

/// How long tasks get to finish after a stop (or a reload) was requested.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

/// How often STATUS= is refreshed for `systemctl status`.
const STATUS_EVERY: Duration = Duration::from_secs(30);

/// What the outside world can ask of a running daemon.
pub struct Control {
    pub shutdown: CancellationToken,
    /// One message per SIGHUP.
    pub reload: mpsc::Receiver<()>,
    /// The config file to re-read on reload.
    pub config_path: PathBuf,
}

/// Counts of live tasks of the current generation, for the watchdog and `/healthz`.
#[derive(Debug, Default)]
pub struct Liveness {
    expected: [usize; 3],
    alive: [AtomicUsize; 3],
}

/// The kinds of long-lived task a generation runs; every one of them must stay alive.
#[derive(Debug, Clone, Copy)]
enum Task {
    /// One per source.
    Polling = 0,
    /// One per sink.
    Delivery = 1,
    /// The WebSub subscription and pushed-content loops, when WebSub is on.
    WebSub = 2,
}

/// Live and expected counts of each kind of task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopCounts {
    pub polling: (usize, usize),
    pub delivery: (usize, usize),
    pub websub: (usize, usize),
}

impl std::fmt::Display for LoopCounts {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{}/{} polling loops, {}/{} delivery loops and {}/{} WebSub loops alive",
            self.polling.0,
            self.polling.1,
            self.delivery.0,
            self.delivery.1,
            self.websub.0,
            self.websub.1
        )
    }
}

impl Liveness {
    pub fn healthy(&self) -> bool {
        let counts = self.counts();
        counts.polling.0 == counts.polling.1
            && counts.delivery.0 == counts.delivery.1
            && counts.websub.0 == counts.websub.1
    }

    pub fn counts(&self) -> LoopCounts {
        let pair = |task: Task| {
            (
                self.alive[task as usize].load(Ordering::SeqCst),
                self.expected[task as usize],
            )
        };
        LoopCounts {
            polling: pair(Task::Polling),
            delivery: pair(Task::Delivery),
            websub: pair(Task::WebSub),
        }
    }
}

/// Decrements its counter when the task holding it ends, however it ends (panic included).
struct Alive(Arc<Liveness>, Task);

impl Alive {
    fn new(liveness: &Arc<Liveness>, task: Task) -> Alive {
        liveness.alive[task as usize].fetch_add(1, Ordering::SeqCst);
        Alive(Arc::clone(liveness), task)
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.alive[self.1 as usize].fetch_sub(1, Ordering::SeqCst);
    }
}

/// The pipeline and liveness currently running, as the HTTP listener sees them.
#[derive(Clone)]
pub struct Current {
    pub pipeline: Arc<Pipeline>,
    pub liveness: Arc<Liveness>,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub reloads: u64,
}

struct Generation {
    pipeline: Arc<Pipeline>,
    liveness: Arc<Liveness>,
    token: CancellationToken,
    tracker: TaskTracker,
}

async fn start(pipeline: Arc<Pipeline>, parent: &CancellationToken) -> Generation {
    warn_about_orphaned_deliveries(&pipeline).await;
    // before the first poll: a new watchlist's past alerts come before its fresh ones
    pipeline.backfill(chrono::Utc::now()).await;
    let token = parent.child_token();
    let tracker = TaskTracker::new();
    let websub_loops = pipeline.websub_enabled();
    // also without WebSub sources now: bodies stored before a reload are still processed
    let inbox_loop =
        pipeline.config.daemon.public_url.is_some() && pipeline.config.daemon.listen.is_some();
    let liveness = Arc::new(Liveness {
        expected: [
            pipeline.config.sources.len(),
            pipeline.config.sinks.len(),
            usize::from(websub_loops) + usize::from(inbox_loop),
        ],
        ..Liveness::default()
    });
    for (index, source) in pipeline.config.sources.iter().enumerate() {
        let alive = Alive::new(&liveness, Task::Polling);
        let pipeline = Arc::clone(&pipeline);
        let token = token.clone();
        let source = source.clone();
        // Spread the first polls a little so a large config does not burst at start-up.
        let stagger = Duration::from_millis((index as u64 * 250).min(5_000));
        tracker.spawn(async move {
            let _alive = alive;
            source_loop(pipeline, source, stagger, token).await
        });
    }
    if websub_loops {
        let alive = Alive::new(&liveness, Task::WebSub);
        let pipeline = Arc::clone(&pipeline);
        let token = token.clone();
        tracker.spawn(async move {
            let _alive = alive;
            super::websub_subscriber::subscription_loop(pipeline, token).await
        });
    }
    if inbox_loop {
        let alive = Alive::new(&liveness, Task::WebSub);
        let pipeline = Arc::clone(&pipeline);
        let token = token.clone();
        tracker.spawn(async move {
            let _alive = alive;
            super::websub_subscriber::inbox_loop(pipeline, token).await
        });
    }
    {
        let pipeline = Arc::clone(&pipeline);
        let token = token.clone();
        tracker.spawn(super::retention::retention_loop(pipeline, token));
    }
    if pipeline.config.archive.retention.is_some() {
        let pipeline = Arc::clone(&pipeline);
        let token = token.clone();
        tracker.spawn(async move { super::loops::archive_loop(pipeline, token).await });
    }
    if pipeline.clustered() {
        // not counted among the loops the watchdog watches: a stopped heartbeat makes this
        // instance look dead to the others, whose leases then simply wait on the store
        let pipeline = Arc::clone(&pipeline);
        let token = token.clone();
        tracker.spawn(async move { super::cluster::heartbeat_loop(pipeline, token).await });
    }
    for sink in pipeline.config.sinks.iter() {
        let alive = Alive::new(&liveness, Task::Delivery);
        let pipeline = Arc::clone(&pipeline);
        let token = token.clone();
        let name = sink.name.clone();
        tracker.spawn(async move {
            let _alive = alive;
            delivery_loop(pipeline, name, token).await
        });
    }
    tracker.close();
    Generation {
        pipeline,
        liveness,
        token,
        tracker,
    }
}

async fn stop(generation: Generation) {
    generation.token.cancel();
    if tokio::time::timeout(SHUTDOWN_DEADLINE, generation.tracker.wait())
        .await
        .is_err()
    {
        warn!(
            deadline = %humantime::format_duration(SHUTDOWN_DEADLINE),
            "some tasks did not finish before the deadline; their work stays queued"
        );
    }
}

async fn status_line(pipeline: &Pipeline) -> String {
    let pending = pipeline
        .store
        .outbox_counts()
        .await
        .map(|counts| counts.pending.to_string())
        .unwrap_or_else(|_| "?".to_string());
    format!(
        "{} sources, {} watchlists, {} sinks; outbox: {pending} pending",
        pipeline.config.sources.len(),
        pipeline.config.watchlists.len(),
        pipeline.config.sinks.len()
    )
}

/// Runs until `control.shutdown` is cancelled. Fails only at start-up (the listener's address
/// cannot be bound).
pub async fn run(pipeline: Arc<Pipeline>, mut control: Control) -> Result<(), StartError> {
    let listen = pipeline.config.daemon.listen;
    let mut generation = start(pipeline, &control.shutdown).await;
    let mut reloads = 0u64;
    let (published, watched) = watch::channel(Current {
        pipeline: Arc::clone(&generation.pipeline),
        liveness: Arc::clone(&generation.liveness),
        started_at: chrono::Utc::now(),
        reloads,
    });
    let listener = match listen {
        Some(address) => match super::http::serve(address, watched, control.shutdown.clone()).await
        {
            Ok((bound, handle)) => {
                info!(address = %bound, "HTTP listener: /healthz /metrics /status");
                Some(handle)
            }
            Err(bind_error) => {
                stop(generation).await;
                return Err(StartError::Listen(format!(
                    "cannot listen on {address} ({bind_error}); set [daemon] listen to a free address, or \"off\""
                )));
            }
        },
        None => None,
    };
    info!(
        sources = generation.pipeline.config.sources.len(),
        watchlists = generation.pipeline.config.watchlists.len(),
        sinks = generation.pipeline.config.sinks.len(),
        "wirewatch running"
    );
    notify::ready(&status_line(&generation.pipeline).await);
    // A watchdog period of zero would spin; systemd never sets one that small.
    let mut watchdog = notify::watchdog_interval()
        .filter(|period| !period.is_zero())
        .map(tokio::time::interval);
    let mut status_timer = tokio::time::interval(STATUS_EVERY);
    status_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    if let Some(timer) = watchdog.as_mut() {
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    }
    loop {
        tokio::select! {
            _ = control.shutdown.cancelled() => break,
            Some(()) = control.reload.recv() => {
                notify::reloading();
                if let Some(next) = reload(&control.config_path, &generation.pipeline) {
                    stop(generation).await;
                    generation = start(Arc::new(next), &control.shutdown).await;
                    reloads += 1;
                    publish(&published, &generation, reloads);
                    info!(
                        sources = generation.pipeline.config.sources.len(),
                        watchlists = generation.pipeline.config.watchlists.len(),
                        sinks = generation.pipeline.config.sinks.len(),
                        "configuration reloaded"
                    );
                }
                notify::ready(&status_line(&generation.pipeline).await);
            }
            _ = async { match watchdog.as_mut() { Some(timer) => { timer.tick().await; } None => std::future::pending().await } } => {
                if generation.liveness.healthy() {
                    notify::watchdog();
                } else {
                    let counts = generation.liveness.counts();
                    error!(loops = %counts, "a long-lived loop has died; withholding the watchdog ping so systemd restarts the service");
                }
            }
            _ = status_timer.tick() => notify::status(&status_line(&generation.pipeline).await),
        }
    }
    notify::stopping();
    info!("stopping: waiting for in-flight work");
    let pipeline = Arc::clone(&generation.pipeline);
    stop(generation).await;
    if pipeline.clustered() {
        // the others need not wait for this instance's leases to expire
        if let Err(store_error) = pipeline
            .store
            .leave(&pipeline.instance, super::now_millis())
            .await
        {
            warn!(error = %store_error, "cannot leave the cluster cleanly; this instance's leases end by themselves");
        }
    }
    if let Some(listener) = listener {
        let _ = tokio::time::timeout(Duration::from_secs(2), listener).await;
    }
    Ok(())
}

fn publish(published: &watch::Sender<Current>, generation: &Generation, reloads: u64) {
    let started_at = published.borrow().started_at;
    published.send_replace(Current {
        pipeline: Arc::clone(&generation.pipeline),
        liveness: Arc::clone(&generation.liveness),
        started_at,
        reloads,
    });
}

/// The new pipeline, or `None` (every problem logged at ERROR) to keep the old one.
fn reload(path: &std::path::Path, current: &Pipeline) -> Option<Pipeline> {
    info!(config = %path.display(), "reloading the configuration");
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(config_error) => {
            for problem in &config_error.problems {
                error!(config = %path.display(), problem = %problem, "reload refused: the configuration is invalid; the previous one keeps running");
            }
            return None;
        }
    };
    if config.daemon.listen != current.config.daemon.listen {
        warn!("daemon.listen changed: the listener keeps its address until the service restarts");
    }
    if config.daemon.state_dir != current.config.daemon.state_dir {
        error!(
            old = %current.config.daemon.state_dir.display(),
            new = %config.daemon.state_dir.display(),
            "reload refused: daemon.state_dir cannot change while running; restart the service instead"
        );
        return None;
    }
    match Pipeline::build(
        config,
        Arc::clone(&current.store),
        Arc::clone(&current.metrics),
    ) {
        Ok(pipeline) => Some(pipeline),
        Err(start_error) => {
            error!(error = %start_error, "reload refused; the previous configuration keeps running");
            None
        }
    }
}
