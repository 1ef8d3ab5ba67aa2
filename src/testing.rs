//! Test support shared by the crate's own tests (the store conformance suite) and the
//! integration tests in `tests/it`: the one rule for a test that cannot run on this machine
//! ([`skip`]: say why, or fail under `WIREWATCH_REQUIRE_SERVICES=1`) and a throw-away PostgreSQL
//! database ([`TestDatabase`]). It is not part of the daemon: no daemon path calls it, it is
//! hidden from the docs, and it panics on purpose, since a failing set-up is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// A test that needs something this machine may lack (a service, a system tool, a privilege)
/// calls this when it is missing: on a developer's machine the test prints the reason and passes
/// as a skip; with `WIREWATCH_REQUIRE_SERVICES=1` (set by `.ci/run`) a skip is a failure, so CI
/// always runs it.
pub fn skip(reason: &str) {
    if std::env::var_os("WIREWATCH_REQUIRE_SERVICES").is_some_and(|value| value == "1") {
        panic!("{reason}, and WIREWATCH_REQUIRE_SERVICES=1 makes that a failure");
    }
    eprintln!("SKIPPED: {reason}");
}

/// A database of its own on the test PostgreSQL (`WIREWATCH_TEST_POSTGRES`, default the local
/// service), dropped by [`TestDatabase::drop_database`] at the end of the test.
pub struct TestDatabase {
    admin_url: String,
    name: String,
    /// The new database's URL, for `Store::connect` or a config's `database`.
    pub url: String,
}

impl TestDatabase {
    /// A fresh database, or `None` after a [`skip`] when PostgreSQL is unreachable.
    pub async fn create() -> Option<TestDatabase> {
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

    /// Drops the database, closing any connection still open on it.
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
