//! The daemon on PostgreSQL (`[daemon] database = "postgres://…"`): it polls local feeds and
//! delivers to a local receiver with its state in a database of its own on the test server
//! (`WIREWATCH_TEST_POSTGRES`, default the local service), and a second process on the same
//! database raises no alert again. Skipped loudly when PostgreSQL is unreachable.

use crate::common;

use std::collections::BTreeSet;

use common::{FixtureServer, Receiver};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A database of its own on the test server, dropped at the end.
pub struct TestDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl TestDatabase {
    pub async fn create() -> Option<TestDatabase> {
        let admin_url = std::env::var("WIREWATCH_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
        let (client, connection) =
            match tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await {
                Ok(connected) => connected,
                Err(error) => {
                    common::skip(&format!("PostgreSQL is unreachable ({error})"));
                    return None;
                }
            };
        tokio::spawn(connection);
        let name = format!("wirewatch_it_{:016x}", rand::random::<u64>());
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

    pub async fn drop_database(self) {
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

fn config_text(server: &FixtureServer, receiver: &Receiver) -> String {
    let base = &server.base;
    let hook = &receiver.url;
    format!(
        r#"
[daemon]
state_dir = "state"
database = "${{TEST_DATABASE_URL}}"
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
secret = "${{TEST_WEBHOOK_SECRET}}"
"#
    )
}

async fn run_once(config: &std::path::Path, database: &str) -> common::Output {
    let output = tokio::process::Command::new(common::binary())
        .args(["once", "--config", config.to_str().unwrap()])
        .env("TEST_WEBHOOK_SECRET", SECRET)
        .env("TEST_DATABASE_URL", database)
        .env("NO_COLOR", "1")
        .output()
        .await
        .unwrap();
    common::Output {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_on_postgres_delivers_once_across_a_restart() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let config = common::write_config(folder.path(), &config_text(&server, &receiver));

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
