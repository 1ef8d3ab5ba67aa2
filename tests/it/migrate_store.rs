//! `wirewatch migrate-store`: a daemon on SQLite over a feed site (some deliveries left waiting
//! for a retry), its state moved into an empty PostgreSQL database, then the daemon on
//! PostgreSQL over the same site: `alerts list` is identical, no alert is created again, and
//! each waiting alert is delivered exactly once. Skipped loudly when PostgreSQL is unreachable.

use crate::common;
use wirewatch::testing::TestDatabase;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::{Behaviour, FixtureServer, Receiver};

fn config_text(server: &FixtureServer, receiver: &Receiver, database: bool) -> String {
    let base = &server.base;
    let hook = &receiver.url;
    let database = if database {
        "database = \"${TEST_DATABASE_URL}\""
    } else {
        ""
    };
    format!(
        r#"
[daemon]
state_dir = "state"
{database}
listen = "off"

[fetch]
timeout = "10s"
allow_private_networks = true   # the test's "internet" is 127.0.0.1

[sources.world]
url = "{base}/feeds/world.rss"
max_age = "none"

[sources.nytimes]
url = "{base}/feeds/nytimes.xml"
fetch_article = false
max_age = "none"

[watchlists.russia]
query = 'Putin OR Kremlin'
sinks = ["hook"]

[watchlists.africa]
query = 'Tunisia OR Zimbabwe'
sinks = ["hook"]

[sinks.hook]
kind = "webhook"
url = "{hook}/main"
retry = ["1s", "1h"]
"#
    )
}

async fn wirewatch(arguments: &[&str], config: &Path, database: &str) -> common::Output {
    let mut arguments = arguments.to_vec();
    arguments.extend(["--config", config.to_str().unwrap()]);
    common::wirewatch_with_env(&arguments, &[("TEST_DATABASE_URL", database)]).await
}

/// Ids of the requests the receiver accepted (2xx), in arrival order.
fn accepted(receiver: &Receiver) -> Vec<String> {
    receiver
        .all()
        .iter()
        .filter(|request| (200..300).contains(&request.status))
        .map(|request| request.json()["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_state_moves_to_postgres_without_repeats_or_losses() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    // the africa alerts fail once: moved while waiting for their retry
    receiver.set(Behaviour::FailWhen("Tunisia", 503));
    let folder = tempfile::tempdir().unwrap();
    let sqlite = common::write_config(folder.path(), &config_text(&server, &receiver, false));
    let first = wirewatch(&["once"], &sqlite, &database.url).await;
    assert!(first.status.success(), "{}", first.stderr);
    let created: BTreeSet<String> = receiver
        .all()
        .iter()
        .map(|request| request.json()["id"].as_str().unwrap().to_string())
        .collect();
    let delivered: BTreeSet<String> = accepted(&receiver).into_iter().collect();
    assert!(
        !delivered.is_empty() && delivered.len() < created.len(),
        "want some delivered and some waiting: {}",
        first.stderr
    );
    let listed = wirewatch(&["alerts", "list"], &sqlite, &database.url).await;
    assert!(listed.status.success(), "{}", listed.stderr);

    std::fs::create_dir(folder.path().join("pg")).unwrap();
    let postgres = common::write_config(
        &folder.path().join("pg"),
        &config_text(&server, &receiver, true).replace("\"state\"", "\"../state\""),
    );
    let moved = wirewatch(&["migrate-store"], &postgres, &database.url).await;
    assert!(moved.status.success(), "{}", moved.stderr);
    assert!(moved.stdout.contains("seen_entries: "), "{}", moved.stdout);
    assert!(moved.stdout.contains("deliveries: "), "{}", moved.stdout);
    let listed_after = wirewatch(&["alerts", "list"], &postgres, &database.url).await;
    assert!(listed_after.status.success(), "{}", listed_after.stderr);
    assert_eq!(listed_after.stdout, listed.stdout);

    // the receiver recovers; polls on PostgreSQL create nothing again and send what waited
    receiver.set(Behaviour::Accept);
    let start = std::time::Instant::now();
    while accepted(&receiver).len() < created.len() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "waiting alerts not delivered"
        );
        let pass = wirewatch(&["once"], &postgres, &database.url).await;
        assert!(pass.status.success(), "{}", pass.stderr);
        assert!(pass.stderr.contains(" 0 alerts created"), "{}", pass.stderr);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let ids = accepted(&receiver);
    let unique: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "an alert delivered twice: {ids:?}");
    assert_eq!(unique, created);

    // a second move into the now used database is refused, naming why
    let again = wirewatch(&["migrate-store"], &postgres, &database.url).await;
    assert!(!again.status.success());
    assert!(
        again.stderr.contains("already holds wirewatch state"),
        "{}",
        again.stderr
    );
    database.drop_database().await;
}
