//! The archive from the command line, after a real `once` over the fixture site: `match
//! --archive` finds exactly what live matching alerted (same articles, same hits and snippets),
//! `archive show` prints the document an alert was built from by id or by URL, and the commands'
//! mistakes (a broken query, an unknown article, an archive turned off) are said plainly.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::config::ConfigBuilder;
use common::{wirewatch, FixtureServer, Receiver, Wirewatch};

/// Three sources (one a real captured feed matched on its entries' own text) and four
/// watchlists delivering to the receiver.
fn config(server: &FixtureServer, receiver: &Receiver) -> ConfigBuilder {
    let base = &server.base;
    ConfigBuilder::local()
        .state_dir("state")
        .fetch("timeout", "\"10s\"")
        .source(
            "world",
            &format!("url = \"{base}/feeds/world.rss\"\nmax_age = \"none\""),
        )
        .source(
            "wire",
            &format!("url = \"{base}/feeds/wire.rss\"\nmax_age = \"none\""),
        )
        .source(
            "nytimes",
            &format!(
                "url = \"{base}/feeds/nytimes.xml\"\nfetch_article = false\nmax_age = \"none\""
            ),
        )
        .watchlist("sudan", "query = 'Sudan AND sanctions'\nsinks = [\"hook\"]")
        .watchlist(
            "africa",
            "query = 'Tunisia OR Zimbabwe'\nsinks = [\"hook\"]",
        )
        .watchlist("russia", "query = 'Putin OR Kremlin'\nsinks = [\"hook\"]")
        .watchlist(
            "trump-wall",
            "query = 'Trump NEAR/10 wall'\nsinks = [\"hook\"]",
        )
        .sink(
            "hook",
            &format!("kind = \"webhook\"\nurl = \"{}/main\"", receiver.url),
        )
}

fn lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}")))
        .collect()
}

/// A hit as both sides print it: (term, field, start, end, snippet).
fn hit(value: &serde_json::Value) -> (String, String, u64, u64, String) {
    (
        value["term"].as_str().unwrap().to_string(),
        value["field"].as_str().unwrap().to_string(),
        value["start"].as_u64().unwrap(),
        value["end"].as_u64().unwrap(),
        value["snippet"].as_str().unwrap().to_string(),
    )
}

async fn archive_match(config: &Path, arguments: &[&str]) -> common::Output {
    let mut all = vec!["match", "--config", config.to_str().unwrap(), "--archive"];
    all.extend_from_slice(arguments);
    wirewatch(&all).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn match_archive_finds_what_live_matching_alerted_with_the_same_hits() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let config = config(&server, &receiver).write(folder.path());
    let once = Wirewatch::with_config("once", &config).output().await;
    assert!(once.status.success(), "{}", once.stderr);

    // live: (watchlist, url) → the hits of its alert
    let mut live = BTreeMap::new();
    for request in receiver.all() {
        let alert = request.json();
        let hits: BTreeSet<_> = alert["matches"]
            .as_array()
            .unwrap()
            .iter()
            .map(hit)
            .collect();
        let key = (
            alert["watchlist"].as_str().unwrap().to_string(),
            alert["article"]["url"].as_str().unwrap().to_string(),
        );
        assert!(live.insert(key, hits).is_none(), "alerted twice");
    }
    assert!(live.len() >= 6, "the scenario alerts: {live:?}");

    // the past: every watchlist of the config over everything archived
    let past = archive_match(&config, &[]).await;
    assert!(past.status.success(), "{}", past.stderr);
    let found = lines(&past.stdout);
    let mut archived = BTreeMap::new();
    let mut newest_first = Vec::new();
    for line in &found {
        let url = line["url"].as_str().unwrap().to_string();
        newest_first.push(line["processed_at"].as_str().unwrap().to_string());
        assert!(line["id"].as_str().unwrap().starts_with("art_"), "{line}");
        for watchlist in line["watchlists"].as_array().unwrap() {
            let watchlist = watchlist.as_str().unwrap().to_string();
            let hits: BTreeSet<_> = line["hits"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|hit| hit["watchlist"] == watchlist.as_str())
                .map(hit)
                .collect();
            archived.insert((watchlist, url.clone()), hits);
        }
    }
    let mut sorted = newest_first.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(newest_first, sorted, "newest first");
    // every alert is found in the archive with exactly the hits it was sent with
    for (key, hits) in &live {
        assert_eq!(archived.get(key), Some(hits), "{key:?}");
    }
    // and what the archive finds beyond the alerts is only what the story rule kept from
    // alerting twice: the same watchlist alerted the same story (title) under another URL
    let titles: BTreeMap<String, String> = found
        .iter()
        .map(|line| {
            (
                line["url"].as_str().unwrap().to_string(),
                line["title"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (watchlist, url) in archived.keys() {
        if live.contains_key(&(watchlist.clone(), url.clone())) {
            continue;
        }
        let title = &titles[url];
        assert!(
            live.keys().any(|(alerted, other)| alerted == watchlist
                && other != url
                && titles.get(other) == Some(title)),
            "{watchlist} {url} ({title}) found in the archive but never alerted"
        );
    }

    // one watchlist, one source, a window
    let russia = archive_match(
        &config,
        &[
            "--watchlist",
            "russia",
            "--source",
            "nytimes",
            "--since",
            "1h",
        ],
    )
    .await;
    assert!(russia.status.success(), "{}", russia.stderr);
    let russia: BTreeSet<String> = lines(&russia.stdout)
        .iter()
        .map(|line| {
            assert_eq!(line["source"], "nytimes");
            line["url"].as_str().unwrap().to_string()
        })
        .collect();
    let expected: BTreeSet<String> = live
        .keys()
        .filter(|(watchlist, url)| watchlist == "russia" && url.contains("nytimes.com"))
        .map(|(_, url)| url.clone())
        .collect();
    assert_eq!(russia, expected);
    assert!(!russia.is_empty());

    // an ad-hoc query, explained
    let query = archive_match(&config, &["--query", "Mugabe", "--explain"]).await;
    assert!(query.status.success(), "{}", query.stderr);
    let query = lines(&query.stdout);
    assert!(!query.is_empty());
    for line in &query {
        assert_eq!(line["watchlists"], serde_json::json!(["query"]));
        assert!(line["explain"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Mugabe"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_show_prints_the_document_an_alert_was_built_from() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let config = config(&server, &receiver).write(folder.path());
    let once = Wirewatch::with_config("once", &config).output().await;
    assert!(once.status.success(), "{}", once.stderr);
    let alert = receiver
        .all()
        .iter()
        .map(|request| request.json())
        .find(|alert| alert["watchlist"] == "sudan")
        .expect("the sudan alert");
    let url = alert["article"]["url"].as_str().unwrap();
    let path = config.to_str().unwrap();

    let by_url = wirewatch(&["archive", "show", "--config", path, url]).await;
    assert!(by_url.status.success(), "{}", by_url.stderr);
    // the document the alert carried, as `extract` renders it
    assert_eq!(
        by_url.stdout.trim_end(),
        alert["article"]["text"].as_str().unwrap().trim_end()
    );

    let found = archive_match(&config, &["--watchlist", "sudan"]).await;
    let id = lines(&found.stdout)[0]["id"].as_str().unwrap().to_string();
    let by_id = wirewatch(&["archive", "show", "--config", path, &id]).await;
    assert_eq!(by_id.stdout, by_url.stdout);

    let json = wirewatch(&["archive", "show", "--config", path, "--format", "json", &id]).await;
    assert!(json.status.success(), "{}", json.stderr);
    let record: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(record["url"], alert["article"]["url"]);
    assert_eq!(record["title"], alert["article"]["title"]);
    assert_eq!(record["archived"]["id"], id.as_str());
    assert_eq!(record["archived"]["source"], alert["source"]);

    let unknown = wirewatch(&["archive", "show", "--config", path, "art_0000"]).await;
    assert!(!unknown.status.success());
    assert!(
        unknown.stderr.contains("art_0000: not in the archive"),
        "{}",
        unknown.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn match_archive_says_what_is_wrong() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let config = config(&server, &receiver)
        .raw("[archive]\nretention = \"off\"")
        .write(folder.path());
    let once = Wirewatch::with_config("once", &config).output().await;
    assert!(once.status.success(), "{}", once.stderr);
    assert!(!receiver.all().is_empty(), "alerts still flow");

    let broken = archive_match(&config, &["--query", "Putin AND"]).await;
    assert!(!broken.status.success());
    assert!(broken.stderr.starts_with("--query: "), "{}", broken.stderr);
    assert!(broken.stderr.contains("column"), "{}", broken.stderr);

    let unknown = archive_match(&config, &["--watchlist", "nope"]).await;
    assert!(!unknown.status.success());
    assert!(
        unknown.stderr.contains("no watchlist named \"nope\"") && unknown.stderr.contains("russia"),
        "{}",
        unknown.stderr
    );

    let since = archive_match(&config, &["--since", "yesterday"]).await;
    assert!(!since.status.success());
    assert!(since.stderr.starts_with("--since: "), "{}", since.stderr);

    // nothing was archived: an empty answer that says why
    let off = archive_match(&config, &["--query", "Putin"]).await;
    assert!(off.status.success(), "{}", off.stderr);
    assert_eq!(off.stdout, "");
    assert!(
        off.stderr.contains("[archive] retention is \"off\""),
        "{}",
        off.stderr
    );
}

/// How many log lines of the daemon contain `needle`.
fn log_count(daemon: &common::Daemon, needle: &str) -> usize {
    daemon
        .log_text()
        .lines()
        .filter(|line| line.contains(needle))
        .count()
}

/// Waits until the daemon has logged `needle` `count` times.
async fn wait_for_log_count(daemon: &common::Daemon, needle: &str, count: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while log_count(daemon, needle) < count {
        assert!(
            std::time::Instant::now() < deadline,
            "{needle:?} not logged {count} times:\n{}",
            daemon.log_text()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The URLs of the alerts received for `watchlist`, once `count` of them have arrived.
async fn alerted(receiver: &Receiver, watchlist: &str, count: usize) -> BTreeSet<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let urls: Vec<String> = receiver
            .all()
            .iter()
            .map(|request| request.json())
            .filter(|alert| alert["watchlist"] == watchlist)
            .map(|alert| alert["article"]["url"].as_str().unwrap().to_string())
            .collect();
        if urls.len() >= count || std::time::Instant::now() > deadline {
            let distinct: BTreeSet<String> = urls.iter().cloned().collect();
            assert_eq!(
                distinct.len(),
                urls.len(),
                "an alert arrived twice: {urls:?}"
            );
            return distinct;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Backfill through the running daemon: a watchlist added by a SIGHUP reload alerts on what the
/// archive already holds (exactly what `match --archive` finds for its query), a reload with the
/// same query backfills nothing, and an edited query backfills again without repeating an alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watchlist_added_on_reload_backfills_from_the_archive_once() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let base = config(&server, &receiver);
    let config_path = base.write(folder.path());
    let once = Wirewatch::with_config("once", &config_path).output().await;
    assert!(once.status.success(), "{}", once.stderr);
    let before = receiver.all().len();

    let with_query = |query: &str| {
        base.clone().watchlist(
            "late",
            &format!("query = '{query}'\nbackfill = \"24h\"\nsinks = [\"hook\"]"),
        )
    };
    let past = |query: &str| {
        let query = query.to_string();
        let config_path = config_path.clone();
        async move {
            let found = archive_match(&config_path, &["--query", &query]).await;
            assert!(found.status.success(), "{}", found.stderr);
            lines(&found.stdout)
                .iter()
                .map(|line| line["url"].as_str().unwrap().to_string())
                .collect::<BTreeSet<String>>()
        }
    };
    let first_query = "Mugabe";
    let expected_first = past(first_query).await;
    assert!(!expected_first.is_empty());

    let mut daemon = common::Daemon::start(&config_path, &[]);
    // the daemon is up (its signal handlers too); every entry is already seen: nothing alerts
    wait_for_log_count(&daemon, "wirewatch running", 1).await;

    with_query(first_query).write(folder.path());
    daemon.signal("HUP");
    wait_for_log_count(&daemon, "configuration reloaded", 1).await;
    assert_eq!(log_count(&daemon, "backfilled from the archive"), 1);
    assert_eq!(
        alerted(&receiver, "late", expected_first.len()).await,
        expected_first
    );

    // the same query again: no backfill
    daemon.signal("HUP");
    wait_for_log_count(&daemon, "configuration reloaded", 2).await;
    assert_eq!(log_count(&daemon, "backfilled from the archive"), 1);

    // an edited query: backfilled again; what it already alerted is not alerted twice
    let second_query = "Mugabe OR Putin";
    let expected_second = past(second_query).await;
    assert!(expected_second.len() > expected_first.len());
    with_query(second_query).write(folder.path());
    daemon.signal("HUP");
    wait_for_log_count(&daemon, "configuration reloaded", 3).await;
    assert_eq!(log_count(&daemon, "backfilled from the archive"), 2);
    let late = alerted(&receiver, "late", expected_second.len()).await;
    daemon.kill().await;
    // the story rule may keep a reprint of an alerted story from alerting: every alert is one
    // the archive finds, and every first-query alert is still there once
    assert!(late.is_subset(&expected_second), "{late:?}");
    assert!(late.is_superset(&expected_first));
    assert!(late.len() > expected_first.len());
    // and the other watchlists alerted nothing new
    let others = receiver
        .all()
        .iter()
        .filter(|request| request.json()["watchlist"] != "late")
        .count();
    assert_eq!(others, before);
}
