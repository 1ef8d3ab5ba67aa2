//! The daemon on PostgreSQL (`[daemon] database = "postgres://…"`): it polls local feeds and
//! delivers to a local receiver with its state in a database of its own on the test server
//! (`WIREWATCH_TEST_POSTGRES`, default the local service), and a second process on the same
//! database raises no alert again. Skipped loudly when PostgreSQL is unreachable.

use crate::common;

use std::collections::BTreeSet;

use common::config::ConfigBuilder;
use common::{FixtureServer, Receiver, Wirewatch};
use wirewatch::testing::TestDatabase;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Two sources, two watchlists and a signing webhook, the state in `${TEST_DATABASE_URL}`.
fn config(server: &FixtureServer, receiver: &Receiver) -> ConfigBuilder {
    let base = &server.base;
    ConfigBuilder::local()
        .state_dir("state")
        .daemon("database", "\"${TEST_DATABASE_URL}\"")
        .fetch("timeout", "\"10s\"")
        .source(
            "world",
            &format!("url = \"{base}/feeds/world.rss\"\nmax_age = \"none\""),
        )
        .source(
            "nytimes",
            &format!(
                "url = \"{base}/feeds/nytimes.xml\"\nfetch_article = false\nmax_age = \"none\""
            ),
        )
        .watchlist("russia", "query = 'Putin OR Kremlin'\nsinks = [\"hook\"]")
        .watchlist(
            "africa",
            "query = 'Tunisia OR Zimbabwe'\nsinks = [\"hook\"]",
        )
        .sink(
            "hook",
            &format!(
                "kind = \"webhook\"\nurl = \"{}/main\"\nsecret = \"${{TEST_WEBHOOK_SECRET}}\"",
                receiver.url
            ),
        )
}

pub(crate) async fn run_once(config: &std::path::Path, database: &str) -> common::Output {
    Wirewatch::with_config("once", config)
        .env("TEST_WEBHOOK_SECRET", SECRET)
        .env("TEST_DATABASE_URL", database)
        .output()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_on_postgres_delivers_once_across_a_restart() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let config = config(&server, &receiver).write(folder.path());

    let first = run_once(&config, &database.url).await;
    assert!(first.status.success(), "stderr: {}", first.stderr);
    let ids: Vec<String> = receiver
        .all()
        .iter()
        .map(|request| request.json()["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!ids.is_empty(), "no alert delivered: {}", first.stderr);
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an alert delivered twice: {ids:?}");
    let created = format!("{} alerts created, {} delivered", ids.len(), ids.len());
    assert!(first.stderr.contains(&created), "{}", first.stderr);
    // the state is in PostgreSQL: no SQLite file appears
    assert!(!folder.path().join("state/wirewatch.db").exists());

    // a restart on the same database: the entries are seen, nothing is alerted again
    let second = run_once(&config, &database.url).await;
    assert!(second.status.success(), "stderr: {}", second.stderr);
    assert!(
        second.stderr.contains("0 alerts created, 0 delivered"),
        "{}",
        second.stderr
    );
    assert_eq!(receiver.all().len(), ids.len());
    database.drop_database().await;
}
