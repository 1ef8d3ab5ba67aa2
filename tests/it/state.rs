//! The state directory as a careless operator (or a hostile config) leaves it: absurd durations,
//! a read-only, damaged or newer database, a database that starts refusing writes while the
//! daemon runs, and the umask. Each test drives the real binary (issue 16).

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::config::ConfigBuilder;
use common::{free_port, wirewatch, Daemon, FixtureServer, Wirewatch};

fn config(server: &FixtureServer, listen: &str) -> String {
    ConfigBuilder::local()
        .state_dir("state")
        .listen(listen)
        .source(
            "world",
            &format!(
                "url = \"{}/feeds/world.rss\"\nmax_age = \"none\"\nfetch_article = false\ninterval = \"1s\"\nmax_interval = \"1s\"\nadaptive = false",
                server.base
            ),
        )
        .watchlist("africa", "query = 'Tunisia OR Zimbabwe'")
        .sink("journal", "kind = \"log\"")
        .build()
}

fn database(folder: &Path) -> PathBuf {
    folder.join("state/wirewatch.db")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A config with one source and a database `once` has filled.
async fn polled_once(server: &FixtureServer, folder: &Path) -> PathBuf {
    let config = common::write_config(folder, &config(server, "off"));
    let output = wirewatch(&["once", "--config", config.to_str().unwrap()]).await;
    assert!(output.status.success(), "{}", output.stderr);
    config
}

/// Regression (issue 16, defect 3): `per_host_gap = "18446744073709551615s"` panicked in
/// `Fetcher::get` and `interval = "213503982334601d"` in `schedule::next_poll`; `check` accepted
/// both. It now refuses them, naming the maximum.
#[tokio::test]
async fn check_refuses_absurd_durations_with_the_maximum() {
    let folder = tempfile::tempdir().unwrap();
    let config = common::write_config(
        folder.path(),
        r#"
[fetch]
per_host_gap = "18446744073709551615s"

[sources.a]
url = "https://example.org/feed"
interval = "213503982334601d"

[watchlists.w]
query = "x"

[sinks.journal]
kind = "log"
"#,
    );
    let output = wirewatch(&["check", "--config", config.to_str().unwrap()]).await;
    assert!(!output.status.success(), "{}", output.stdout);
    for expected in [
        "fetch.per_host_gap: \"18446744073709551615s\" is too long, the maximum is 1h",
        "sources.a.interval: \"213503982334601d\" is too long, the maximum is 365d",
    ] {
        assert!(output.stderr.contains(expected), "{}", output.stderr);
    }
}

/// Regression (issue 16, defect 5): with `wirewatch.db` mode 0444 `run` started and reported
/// healthy while every poll failed. `once` and `run` now refuse at start, naming the file.
#[tokio::test]
async fn read_only_database_is_refused_at_start() {
    let server = FixtureServer::start("e2e").await;
    let folder = tempfile::tempdir().unwrap();
    let config = polled_once(&server, folder.path()).await;
    let database = database(folder.path());
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o444)).unwrap();
    // root (or CAP_DAC_OVERRIDE) writes through mode 0444, as CI does: there the commands run as
    // `nobody` (setpriv), owning the state as a service user would
    let privileged = std::fs::OpenOptions::new()
        .write(true)
        .open(&database)
        .is_ok();
    if privileged
        && !common::tool_present(
            "setpriv",
            "as root, only a user the file mode binds shows the refusal; Debian package util-linux",
        )
    {
        return;
    }
    if privileged {
        let nobody = Some(65534);
        for path in [
            folder.path().to_path_buf(),
            folder.path().join("state"),
            config.clone(),
        ] {
            std::os::unix::fs::chown(&path, nobody, nobody).unwrap();
        }
        for entry in std::fs::read_dir(folder.path().join("state")).unwrap() {
            std::os::unix::fs::chown(entry.unwrap().path(), nobody, nobody).unwrap();
        }
        std::fs::set_permissions(folder.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for command in ["once", "run"] {
        let arguments = [command, "--config", config.to_str().unwrap()];
        let run = async {
            if !privileged {
                return wirewatch(&arguments).await;
            }
            Wirewatch::new(&arguments).run_as(65534).output().await
        };
        let output = tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .expect("the command should refuse at once, not run");
        assert!(!output.status.success(), "{command}: {}", output.stderr);
        for expected in [
            database.to_str().unwrap(),
            "cannot be written",
            "readonly",
            "writable",
        ] {
            assert!(
                output.stderr.contains(expected),
                "{command}: {expected:?} missing in {}",
                output.stderr
            );
        }
    }
}

/// Regression (issue 16, defect 6): a database with `user_version = 999` was used silently.
#[tokio::test]
async fn database_from_a_newer_wirewatch_is_refused() {
    let server = FixtureServer::start("e2e").await;
    let folder = tempfile::tempdir().unwrap();
    let config = polled_once(&server, folder.path()).await;
    let database = database(folder.path());
    let known: i64 = {
        let connection = rusqlite::Connection::open(&database).unwrap();
        let known = connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        connection.pragma_update(None, "user_version", 999).unwrap();
        known
    };
    for arguments in [
        vec!["once", "--config", config.to_str().unwrap()],
        vec!["alerts", "list", "--config", config.to_str().unwrap()],
    ] {
        let output = wirewatch(&arguments).await;
        assert!(!output.status.success(), "{arguments:?}: {}", output.stderr);
        for expected in [
            "schema version 999".to_string(),
            format!("knows versions up to {known}"),
            "downgrades are not supported".to_string(),
            "new state_dir".to_string(),
        ] {
            assert!(
                output.stderr.contains(&expected),
                "{arguments:?}: {expected:?} missing in {}",
                output.stderr
            );
        }
    }
}

/// Issue 16, weak spot: a database failing `PRAGMA quick_check` was used. `once` (and `run`)
/// now refuse it with advice.
#[tokio::test]
async fn damaged_database_fails_quick_check_at_start() {
    let server = FixtureServer::start("e2e").await;
    let folder = tempfile::tempdir().unwrap();
    let config = polled_once(&server, folder.path()).await;
    let database = database(folder.path());
    assert!(
        !database.with_extension("db-wal").exists(),
        "once should leave a checkpointed database"
    );
    let mut bytes = std::fs::read(&database).unwrap();
    let pages = bytes.len() / 4096;
    assert!(
        pages >= 6,
        "the database is too small to damage: {pages} pages"
    );
    // the middle third of the pages (page 1, the schema, stays whole)
    for byte in &mut bytes[pages / 3 * 4096..pages * 2 / 3 * 4096] {
        *byte = 0xA5;
    }
    std::fs::write(&database, &bytes).unwrap();
    for command in ["once", "run"] {
        let output = tokio::time::timeout(
            Duration::from_secs(60),
            wirewatch(&[command, "--config", config.to_str().unwrap()]),
        )
        .await
        .expect("the command should refuse at once, not run");
        assert!(!output.status.success(), "{command}: {}", output.stderr);
        for expected in [
            database.to_str().unwrap(),
            "is damaged",
            "restore it from a backup",
            "move it away",
        ] {
            assert!(
                output.stderr.contains(expected),
                "{command}: {expected:?} missing in {}",
                output.stderr
            );
        }
    }
}

/// Issue 16, weak spot: run with umask 022, the state directory was 0755 and the database (which
/// holds WebSub hub secrets) 0644.
#[tokio::test]
async fn state_files_are_private_whatever_the_umask() {
    let server = FixtureServer::start("e2e").await;
    let folder = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = common::write_config(
        folder.path(),
        &config(&server, &format!("127.0.0.1:{port}")),
    );
    let with_umask = |command: &str| Wirewatch::with_config(command, &config).prelude("umask 022");
    let output = with_umask("once").output().await;
    assert!(output.status.success(), "{}", output.stderr);
    let state = folder.path().join("state");
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("wirewatch.db")), 0o600);
    assert_eq!(mode(&state.join("wirewatch.lock")), 0o600);
    // -wal and -shm exist while a daemon runs
    let mut daemon = with_umask("run").daemon();
    let (wal, shm) = (
        state.join("wirewatch.db-wal"),
        state.join("wirewatch.db-shm"),
    );
    let start = Instant::now();
    while !(wal.exists() && shm.exists()) && start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!((mode(&wal), mode(&shm)), (0o600, 0o600));
    daemon.kill().await;
}

/// Regression (issue 16, defect 5): when the database refused the poll results, the failure
/// could not be recorded and `/healthz` said `ok`, `/status` `healthy: true` with no failures.
/// Here another program holds the write lock while `run` polls: every write fails after the busy
/// timeout (a real failure, not a hook), health must turn red with the failures counted, and
/// green again once the lock is released.
#[tokio::test]
async fn store_write_failure_turns_health_red() {
    let server = FixtureServer::start("e2e").await;
    let folder = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = common::write_config(
        folder.path(),
        &config(&server, &format!("127.0.0.1:{port}")),
    );
    let mut daemon = Daemon::start(&config, &[("WIREWATCH_LOG", "info")]);
    assert!(
        daemon.wait_for_log("polled", Duration::from_secs(60)).await,
        "{}",
        daemon.log_text()
    );
    let base = format!("http://127.0.0.1:{port}");
    let status = || async {
        reqwest::get(format!("{base}/status"))
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    };
    assert_eq!(status().await["healthy"], true);

    let blocker = rusqlite::Connection::open(database(folder.path())).unwrap();
    blocker.busy_timeout(Duration::from_secs(30)).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let start = Instant::now();
    let mut seen = status().await;
    while seen["healthy"] != false && start.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        seen = status().await;
    }
    assert_eq!(seen["healthy"], false, "{seen:#}\n{}", daemon.log_text());
    assert!(
        seen["state_database_error"]
            .as_str()
            .is_some_and(|error| error.contains("locked")),
        "{seen:#}"
    );
    let healthz = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(healthz.status(), 503);
    let text = healthz.text().await.unwrap();
    assert!(text.contains("state database refuses writes"), "{text}");
    // the failure is counted although the database could not take it
    let start = Instant::now();
    while seen["sources"][0]["consecutive_failures"] == 0
        && start.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
        seen = status().await;
    }
    assert!(
        seen["sources"][0]["consecutive_failures"].as_u64() >= Some(1),
        "{seen:#}"
    );
    assert!(
        seen["sources"][0]["last_error"]
            .as_str()
            .is_some_and(|error| error.contains("state database")),
        "{seen:#}"
    );

    blocker.execute_batch("ROLLBACK").unwrap();
    let start = Instant::now();
    while reqwest::get(format!("{base}/healthz"))
        .await
        .unwrap()
        .status()
        != 200
        && start.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seen = status().await;
    assert_eq!(seen["healthy"], true, "{seen:#}");
    assert_eq!(seen["sources"][0]["consecutive_failures"], 0, "{seen:#}");
    daemon.child.kill().await.unwrap();
}

/// Regression (issue 16, defect 5): `once` exited 0 although the database refused the poll's
/// results. Here the database is locked by another program after the start-up checks (while the
/// feed request is in flight), so recording the poll fails for real after the busy timeout.
#[tokio::test]
async fn once_fails_when_the_store_refuses_writes() {
    use axum::extract::State;
    use axum::http::StatusCode;
    use std::sync::Arc;
    use tokio::sync::Notify;

    // requested: the feed request arrived; release: answer it
    let gates = Arc::new((Notify::new(), Notify::new()));
    let router = axum::Router::new()
        .route(
            "/feed",
            axum::routing::get(|State(gates): State<Arc<(Notify, Notify)>>| async move {
                gates.0.notify_one();
                gates.1.notified().await;
                StatusCode::NOT_FOUND
            }),
        )
        .with_state(Arc::clone(&gates));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let folder = tempfile::tempdir().unwrap();
    let config = common::write_config(
        folder.path(),
        &format!(
            r#"
[daemon]
state_dir = "state"
listen = "off"

[sources.slow]
url = "http://{address}/feed"

[watchlists.w]
query = "x"

[sinks.journal]
kind = "log"
"#
        ),
    );
    let once = Wirewatch::with_config("once", &config).output();
    let once = tokio::spawn(once);
    tokio::time::timeout(Duration::from_secs(60), gates.0.notified())
        .await
        .expect("once should fetch the feed");
    let blocker = rusqlite::Connection::open(database(folder.path())).unwrap();
    blocker.busy_timeout(Duration::from_secs(30)).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    gates.1.notify_one();
    let output = tokio::time::timeout(Duration::from_secs(120), once)
        .await
        .expect("once should finish")
        .unwrap();
    drop(blocker);
    let stderr = &output.stderr;
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("polled 1 source (1 failed)"), "{stderr}");
    for expected in [
        database(folder.path()).to_str().unwrap(),
        "1 write refused",
        "database is locked",
    ] {
        assert!(
            stderr.contains(expected),
            "{expected:?} missing in {stderr}"
        );
    }
}
