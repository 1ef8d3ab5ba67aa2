//! Process signals as daemon controls: SIGTERM/SIGINT cancel the shutdown token, each SIGHUP
//! becomes a reload request (coalesced while one is pending). Lives in `daemon` because it
//! spawns the listening tasks; the CLI only asks for a [`Control`].

use std::path::Path;

use tokio_util::sync::CancellationToken;

use super::Control;

/// A [`Control`] driven by this process's signals, reloading `config_path`.
pub fn control(config_path: &Path) -> Control {
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        wait_for_stop_signal().await;
        stop.cancel();
    });
    let (requests, reload) = tokio::sync::mpsc::channel(4);
    tokio::spawn(forward_reload_signals(requests));
    Control {
        shutdown,
        reload,
        config_path: config_path.to_path_buf(),
    }
}

async fn forward_reload_signals(requests: tokio::sync::mpsc::Sender<()>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGHUP; reload by restarting instead");
                return;
            }
        };
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP received");
            let _ = requests.try_send(());
        }
    }
    #[cfg(not(unix))]
    {
        let _ = requests;
    }
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => tracing::info!("SIGTERM received"),
                    _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the daemon");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
