//! One conformance suite for every backend: each case is an async function over a [`Store`],
//! run once on SQLite (in memory) and once on PostgreSQL (a fresh database per test, dropped
//! afterwards). PostgreSQL comes from `WIREWATCH_TEST_POSTGRES` (default: the local service);
//! when it is unreachable the PostgreSQL half says SKIPPED loudly, and fails instead under
//! `WIREWATCH_REQUIRE_SERVICES=1` (the integration harness's rule).

use super::*;

mod archive;
mod cases;

/// A database of its own on the test PostgreSQL, dropped when the test ends.
struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    async fn create() -> Option<TestDatabase> {
        let admin_url = std::env::var("WIREWATCH_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
        let (client, connection) =
            match tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await {
                Ok(connected) => connected,
                Err(error) => {
                    skip(&format!(
                        "PostgreSQL at {} is unreachable ({error})",
                        crate::secret::masked_password(&admin_url)
                    ));
                    return None;
                }
            };
        tokio::spawn(connection);
        let name = format!("wirewatch_test_{:016x}", rand::random::<u64>());
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let mut url = url::Url::parse(&admin_url).unwrap();
        url.set_path(&name);
        Some(TestDatabase {
            admin_url,
            name,
            url: url.to_string(),
        })
    }

    async fn drop_database(self) {
        let (client, connection) = tokio_postgres::connect(&self.admin_url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
            .await
            .unwrap();
    }
}

fn skip(reason: &str) {
    if std::env::var_os("WIREWATCH_REQUIRE_SERVICES").is_some_and(|value| value == "1") {
        panic!("{reason}, and WIREWATCH_REQUIRE_SERVICES=1 makes that a failure");
    }
    eprintln!("SKIPPED: {reason}");
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
                    let Some(database) = TestDatabase::create().await else {
                        return;
                    };
                    let store = Store::connect(&database.url).await.unwrap();
                    cases::$case(&store).await;
                    drop(store);
                    database.drop_database().await;
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
    archive_rows_page_and_prune,
    backfill_records_and_alerts,
);

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
