//! One conformance suite for every backend: each case is an async function over a [`Store`],
//! run once on SQLite (in memory) and once on PostgreSQL (a fresh database per test, dropped
//! afterwards). PostgreSQL comes from `WIREWATCH_TEST_POSTGRES` (default: the local service);
//! when it is unreachable the PostgreSQL half says SKIPPED loudly, and fails instead under
//! `WIREWATCH_REQUIRE_SERVICES=1` (the integration harness's rule).

use super::*;
use crate::testing::TestDatabase;

mod archive;
mod cases;
mod cluster;
mod retention;

/// Runs `case` on a fresh PostgreSQL database, dropped afterwards (skipped as [`skip`] says).
async fn on_postgres<Case, Run>(case: Case)
where
    Case: FnOnce(Store) -> Run,
    Run: std::future::Future<Output = ()>,
{
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let store = Store::connect(&database.url).await.unwrap();
    case(store).await;
    database.drop_database().await;
}

/// Runs `case` on SQLite, then on a fresh PostgreSQL database.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        $(
            mod $case {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    cases::$case(&Store::open_in_memory().unwrap()).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    on_postgres(|store| async move { cases::$case(&store).await }).await;
                }
            }
        )*
    };
}

conformance!(
    seen_marks,
    one_alert_per_watchlist_and_article,
    concurrent_commits_of_one_article_alert_once,
    outbox_due_retry_dead_requeue,
    digests_bundle_and_settle_as_one,
    health_messages_once_per_episode,
    websub_rows,
    validators_and_poll_bookkeeping,
    near_duplicate_stories_alert_once,
    seen_entries_pruned_once_unlisted_for_the_margin,
    pruning_goes_in_batches,
    item_listed_again_inside_the_margin_alerts_once,
    alerts_pruned_after_keep_alerts,
    database_size_per_table,
    stored_alerts_keep_their_payloads,
    archive_rows_page_and_prune,
    backfill_records_and_alerts,
);

/// Runs a case on a fresh PostgreSQL database only: cluster coordination has nothing to
/// coordinate on SQLite (one process per state directory; see `cluster.rs`).
macro_rules! postgres_only {
    ($($case:ident),* $(,)?) => {
        $(
            mod $case {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    on_postgres(|store| async move { cluster::$case(&store).await }).await;
                }
            }
        )*
    };
}

postgres_only!(
    source_leases,
    concurrent_source_claims_grant_one,
    delivery_leases,
    digest_leases,
    instances_and_heartbeats,
    turns_pace_and_cap_across_holders,
);

/// On SQLite every lease is granted and nothing is listed: the single instance works as before.
#[tokio::test]
async fn sqlite_grants_every_lease() {
    let store = Store::open_in_memory().unwrap();
    assert!(!store.shared());
    for holder in ["a", "b"] {
        assert_eq!(
            store
                .claim_source("s", holder, 100, 160, true)
                .await
                .unwrap(),
            Claim::Granted
        );
        assert!(store
            .claim_delivery("x", "hook", holder, 100, 160)
            .await
            .unwrap());
        // its own politeness and bucket pace the one process: every turn at once
        assert_eq!(
            store
                .take_turn("host:a:443", holder, Some(1), 60_000, 1_000)
                .await
                .unwrap(),
            TurnGrant::Granted {
                slot: None,
                wait: 0
            }
        );
    }
    assert!(store.live_instances(0, 100).await.unwrap().is_empty());
}

/// A PostgreSQL database written by a newer wirewatch is refused, naming both versions.
#[tokio::test]
async fn postgres_newer_schema_is_refused() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    drop(Store::connect(&database.url).await.unwrap());
    let (client, connection) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let task = tokio::spawn(connection);
    client
        .batch_execute("INSERT INTO wirewatch_schema (version) VALUES (999)")
        .await
        .unwrap();
    drop(client);
    let _ = task.await;
    let error = Store::connect(&database.url)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("schema version 999"), "{error}");
    assert!(error.contains("downgrades are not supported"), "{error}");
    database.drop_database().await;
}

/// Instances starting together migrate once: the advisory lock makes the others wait, then
/// find the steps done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_first_connects_migrate_once() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let connects: Vec<_> = (0..4)
        .map(|_| {
            let url = database.url.clone();
            tokio::spawn(async move { Store::connect(&url).await.map(|_| ()) })
        })
        .collect();
    for connect in connects {
        connect.await.unwrap().unwrap();
    }
    database.drop_database().await;
}

/// The password of a database URL never reaches a message.
#[tokio::test]
async fn postgres_password_is_masked_in_errors() {
    let error = Store::connect("postgres://wirewatch:hunter2@127.0.0.1:1/wirewatch")
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(!error.contains("hunter2"), "{error}");
    assert!(error.contains("wirewatch:***@127.0.0.1:1"), "{error}");
}

/// `sslmode` against the local server, with TLS or without. Without: `disable` and `prefer`
/// connect; `require` and the `verify-*` modes are refused with the reason and the way out.
/// With TLS (a self-signed certificate for `localhost`, as Debian's snakeoil): `require`
/// connects without checking; `verify-full` refuses a certificate it cannot trust or that names
/// another host (even with the certificate as `sslrootcert`, which `verify-ca` accepts), and
/// accepts it for `localhost`. An unknown mode is
/// named either way.
#[tokio::test]
async fn postgres_sslmode_is_honoured() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let with = |url: &str, parameters: &str| {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}{parameters}")
    };
    let url = database.url.as_str();
    for mode in ["disable", "prefer"] {
        let store = Store::connect(&with(url, &format!("sslmode={mode}"))).await;
        assert!(store.is_ok(), "sslmode={mode}: {:?}", store.err());
    }
    let refused = |parameters: String| async move {
        Store::connect(&parameters)
            .await
            .err()
            .unwrap_or_else(|| panic!("{parameters} connected"))
            .to_string()
    };
    match server_certificate().await {
        None => {
            for mode in ["require", "verify-ca", "verify-full"] {
                let error = refused(with(url, &format!("sslmode={mode}"))).await;
                assert!(error.contains("server does not support TLS"), "{error}");
                assert!(error.contains(&format!("sslmode={mode}")), "{error}");
                assert!(error.contains("turn on ssl"), "{error}");
            }
        }
        Some(certificate) => {
            assert!(Store::connect(&with(url, "sslmode=require")).await.is_ok());
            // an unknown issuer, or (where the system store trusts the snakeoil certificate,
            // as Debian's does) the wrong name: refused either way, saying what to change
            let error = refused(with(url, "sslmode=verify-full")).await;
            assert!(error.contains("invalid peer certificate"), "{error}");
            assert!(error.contains("sslrootcert="), "{error}");
            let root = format!("sslrootcert={certificate}");
            let error = refused(with(url, &format!("sslmode=verify-full&{root}"))).await;
            assert!(error.contains("not valid for name"), "{error}");
            let store = Store::connect(&with(url, &format!("sslmode=verify-ca&{root}"))).await;
            assert!(store.is_ok(), "verify-ca: {:?}", store.err());
            if url.contains("127.0.0.1") {
                let named = url.replace("127.0.0.1", "localhost");
                let store =
                    Store::connect(&with(&named, &format!("sslmode=verify-full&{root}"))).await;
                assert!(store.is_ok(), "verify-full: {:?}", store.err());
            }
        }
    }
    let error = refused(with(url, "sslmode=allow")).await;
    assert!(error.contains("sslmode=allow is not a TLS mode"), "{error}");
    database.drop_database().await;
}

/// The test server's certificate file when it has TLS on and the file is readable here (the
/// server runs on this machine).
async fn server_certificate() -> Option<String> {
    let admin_url = std::env::var("WIREWATCH_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let (client, connection) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
        .await
        .ok()?;
    tokio::spawn(connection);
    let ssl: String = client.query_one("SHOW ssl", &[]).await.ok()?.get(0);
    let file: String = client
        .query_one("SHOW ssl_cert_file", &[])
        .await
        .ok()?
        .get(0);
    (ssl == "on" && std::fs::metadata(&file).is_ok()).then_some(file)
}
