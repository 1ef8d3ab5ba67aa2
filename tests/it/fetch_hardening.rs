//! The fetcher against hostile and broken servers, through the real binary: a feed whose links
//! and discovered feeds point at an "internal" server (which must receive nothing), a gzip bomb,
//! an endless body, a server that never answers, a redirect loop, `Retry-After`, conditional
//! GET with verbatim validators and 304s, per-host connection and gap limits, and every document
//! of the feed corpus polled by `once`.

use crate::common;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

async fn serve_on(host: &str, router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(format!("{host}:0"))
        .await
        .unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    address
}

fn rss(items: &[(&str, &str)]) -> String {
    let items: String = items
        .iter()
        .map(|(title, link)| {
            format!("<item><title>{title}</title><link>{link}</link><guid>{link}</guid><description>{title}</description></item>")
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title><link>http://example.org/</link>{items}</channel></rss>"#
    )
}

async fn once(config: &str) -> common::Output {
    let folder = tempfile::tempdir().unwrap();
    let path = common::write_config(folder.path(), config);
    let output = common::wirewatch(&["once", "--config", path.to_str().unwrap()]).await;
    // keep the folder alive until the command is done
    drop(folder);
    output
}

/// A server on 127.0.0.2 standing for the metadata service or an admin panel: it counts
/// everything that reaches it.
async fn internal_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let router = Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            "secret"
        }
    });
    (serve_on("127.0.0.2", router).await, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_feed_reaches_no_internal_address() {
    let (internal, hits) = internal_server().await;
    let port = internal.port();
    // Every way to spell the internal host that a feed could use. The feed server itself is on
    // 127.0.0.1 and written in the config, so it is trusted; what it *says* is not.
    let links = [
        format!("http://127.0.0.2:{port}/latest/meta-data/"),
        format!("http://localhost:{port}/admin"),
        format!("http://internal.localhost:{port}/admin"),
        format!("http://[::ffff:127.0.0.2]:{port}/mapped"),
        format!("http://2130706434:{port}/decimal"),
        format!("http://0x7f000002:{port}/hex"),
        format!("http://127.2:{port}/short"),
        format!("http://[::1]:{port}/v6"),
    ];
    let items: Vec<(String, String)> = links
        .iter()
        .enumerate()
        .map(|(index, link)| (format!("Story {index}"), link.clone()))
        .collect();
    let item_refs: Vec<(&str, &str)> = items
        .iter()
        .map(|(title, link)| (title.as_str(), link.as_str()))
        .collect();
    let feed = rss(&item_refs);
    let homepage = format!(
        r#"<html><head><link rel="alternate" type="application/rss+xml" href="http://127.0.0.2:{port}/feed.xml"></head><body>home</body></html>"#
    );
    let sitemap_index = format!(
        r#"<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>http://127.0.0.2:{port}/child.xml</loc></sitemap></sitemapindex>"#
    );
    let router = Router::new()
        .route(
            "/feed.xml",
            get(move || async move { ([("content-type", "application/rss+xml")], feed) }),
        )
        .route(
            "/home",
            get(move || async move { ([("content-type", "text/html")], homepage) }),
        )
        .route(
            "/sitemap.xml",
            get(move || async move { ([("content-type", "application/xml")], sitemap_index) }),
        );
    let public = serve_on("127.0.0.1", router).await;
    let output = once(&format!(
        r#"
[daemon]
state_dir = "state"
[fetch]
timeout = "3s"
per_host_gap = "0s"
[sources.hostile]
url = "http://{public}/feed.xml"
max_age = "none"
[sources.discovers]
url = "http://{public}/home"
kind = "auto"
[sources.index]
url = "http://{public}/sitemap.xml"
kind = "sitemap"
[watchlists.any]
keywords = ["Story"]
[sinks.journal]
kind = "log"
"#
    ))
    .await;
    assert!(output.status.success(), "{}", output.stderr);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the internal server was reached:\n{}",
        output.stderr
    );
    // every link was refused with the reason, and the entries still alerted from the feed text
    assert!(
        output.stderr.matches("blocked:").count() >= links.len(),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("8 alerts created"),
        "{}",
        output.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bombs_endless_bodies_silence_and_loops_end_with_clear_errors() {
    // 64 MiB of zeros, about 64 KiB compressed
    let bomb = {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let block = vec![0u8; 1 << 20];
        for _ in 0..64 {
            encoder.write_all(&block).unwrap();
        }
        Bytes::from(encoder.finish().unwrap())
    };
    let router = Router::new()
        .route(
            "/bomb.xml",
            get(move || async move {
                (
                    [
                        ("content-type", "application/xml"),
                        ("content-encoding", "gzip"),
                    ],
                    bomb,
                )
            }),
        )
        .route(
            "/endless.xml",
            get(|| async {
                let chunk = Bytes::from(vec![b' '; 64 << 10]);
                let stream =
                    futures_util::stream::repeat_with(move || Ok::<_, Infallible>(chunk.clone()));
                (
                    [("content-type", "application/xml")],
                    Body::from_stream(stream),
                )
            }),
        )
        .route(
            "/slow.xml",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "too late"
            }),
        )
        .route(
            "/loop.xml",
            get(|| async { (StatusCode::FOUND, [("location", "/loop.xml")]) }),
        );
    let server = serve_on("127.0.0.1", router).await;
    let output = once(&format!(
        r#"
[daemon]
state_dir = "state"
[fetch]
timeout = "2s"
per_host_connections = 4
per_host_gap = "0s"
[sources.bomb]
url = "http://{server}/bomb.xml"
[sources.endless]
url = "http://{server}/endless.xml"
[sources.slow]
url = "http://{server}/slow.xml"
[sources.loop]
url = "http://{server}/loop.xml"
"#
    ))
    .await;
    assert!(output.status.success(), "{}", output.stderr);
    let failure = |source: &str| -> String {
        output
            .stderr
            .lines()
            .find(|line| line.contains("poll failed") && line.contains(&format!("source={source}")))
            .unwrap_or_else(|| panic!("no failure for {source}:\n{}", output.stderr))
            .to_string()
    };
    assert!(
        failure("bomb").contains("body larger than the 15728640-byte limit"),
        "{}",
        failure("bomb")
    );
    assert!(
        failure("endless").contains("body larger than the 15728640-byte limit"),
        "{}",
        failure("endless")
    );
    assert!(failure("slow").contains("timed out"), "{}", failure("slow"));
    assert!(
        failure("loop").contains("too many redirects"),
        "{}",
        failure("loop")
    );
    assert!(
        output.stderr.contains("polled 4 sources (4 failed)"),
        "{}",
        output.stderr
    );
}

#[derive(Clone, Default)]
struct Recorder {
    /// (path, start, request headers)
    requests: Arc<Mutex<Vec<(String, Instant, HeaderMap)>>>,
    in_flight: Arc<AtomicUsize>,
    most_in_flight: Arc<AtomicUsize>,
}

const ETAG: &str = r#"W/"v1;x=y, z""#;
const LAST_MODIFIED: &str = "Tue, 14 May 2024 10:05:00 GMT";

/// Feeds that honour validators (304 on a match), answer the first request of `/busy/…` with
/// 503 + Retry-After: 3, and hold every request 100 ms while counting concurrency.
async fn polite_feed(
    State(recorder): State<Recorder>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let now = Instant::now();
    let earlier = {
        let mut requests = recorder.requests.lock().unwrap();
        let earlier = requests.iter().filter(|(path, ..)| *path == name).count();
        requests.push((name.clone(), now, headers.clone()));
        earlier
    };
    let current = recorder.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    recorder.most_in_flight.fetch_max(current, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    recorder.in_flight.fetch_sub(1, Ordering::SeqCst);
    if name.starts_with("busy") && earlier == 0 {
        return (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "3")]).into_response();
    }
    let matches = headers.get("if-none-match").and_then(|v| v.to_str().ok()) == Some(ETAG);
    if matches {
        return (StatusCode::NOT_MODIFIED, [("etag", ETAG)]).into_response();
    }
    let body = rss(&[
        ("One", &format!("http://example.org/{name}/1")),
        ("Two", &format!("http://example.org/{name}/2")),
    ]);
    (
        [
            ("content-type", "application/rss+xml"),
            ("etag", ETAG),
            ("last-modified", LAST_MODIFIED),
        ],
        body,
    )
        .into_response()
}

async fn recorder_server() -> (SocketAddr, Recorder) {
    let recorder = Recorder::default();
    let router = Router::new()
        .route("/feeds/:name", get(polite_feed))
        .with_state(recorder.clone());
    (serve_on("127.0.0.1", router).await, recorder)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_per_host_and_a_gap_between_requests() {
    let (server, recorder) = recorder_server().await;
    let sources: String = (0..6)
        .map(|index| {
            format!("[sources.s{index}]\nurl = \"http://{server}/feeds/s{index}\"\nfetch_article = false\n")
        })
        .collect();
    let output = once(&format!(
        "[daemon]\nstate_dir = \"state\"\n[fetch]\nper_host_gap = \"1s\"\n{sources}"
    ))
    .await;
    assert!(output.status.success(), "{}", output.stderr);
    assert_eq!(recorder.most_in_flight.load(Ordering::SeqCst), 1);
    let mut starts: Vec<Instant> = recorder
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|(_, start, _)| *start)
        .collect();
    starts.sort();
    assert_eq!(starts.len(), 6);
    for pair in starts.windows(2) {
        let gap = pair[1] - pair[0];
        // measured where the fixture server's handler starts, which a loaded machine can delay
        // for one request and not the next: the slack is for that, the gap is 1 s
        assert!(gap >= Duration::from_millis(700), "gap of {gap:?}");
    }
    // the honest User-Agent
    let requests = recorder.requests.lock().unwrap();
    let agent = requests[0].2.get("user-agent").unwrap().to_str().unwrap();
    assert!(agent.starts_with("wirewatch/"), "{agent}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validators_go_back_verbatim_and_304_is_a_success() {
    let (server, recorder) = recorder_server().await;
    let folder = tempfile::tempdir().unwrap();
    let config = common::write_config(
        folder.path(),
        &format!(
            "[daemon]\nstate_dir = \"state\"\n[sources.feed]\nurl = \"http://{server}/feeds/feed\"\nfetch_article = false\nmax_age = \"none\"\n"
        ),
    );
    let config = config.to_str().unwrap();
    for _ in 0..2 {
        let output = common::wirewatch(&["once", "--config", config]).await;
        assert!(output.stderr.contains("(0 failed)"), "{}", output.stderr);
    }
    let requests = recorder.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    let second = &requests[1].2;
    assert_eq!(second.get("if-none-match").unwrap().to_str().unwrap(), ETAG);
    assert_eq!(
        second.get("if-modified-since").unwrap().to_str().unwrap(),
        LAST_MODIFIED
    );
    let table = common::wirewatch(&["sources", "--config", config]).await;
    assert!(table.status.success(), "{}", table.stderr);
    let row = table.stdout.lines().nth(1).unwrap();
    assert!(row.starts_with("feed  feed  http://"), "{}", table.stdout);
    assert!(row.contains(" ago "), "{row}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_respected_by_the_daemon() {
    let (server, recorder) = recorder_server().await;
    let folder = tempfile::tempdir().unwrap();
    let config = common::write_config(
        folder.path(),
        &format!(
            "[daemon]\nstate_dir = \"state\"\n[sources.busy]\nurl = \"http://{server}/feeds/busy\"\ninterval = \"1s\"\nfetch_article = false\n"
        ),
    );
    let mut daemon = common::Daemon::start(&config, &[("WIREWATCH_LOG", "info")]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while recorder.requests.lock().unwrap().len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    daemon.kill().await;
    let requests = recorder.requests.lock().unwrap().clone();
    assert!(requests.len() >= 2, "no second poll within 60 s");
    let gap = requests[1].1 - requests[0].1;
    // the interval (1 s, and the ×1 back-off after one failure) would have come back sooner;
    // a lower bound only, since a loaded machine can make any gap longer
    assert!(
        gap >= Duration::from_millis(2900),
        "came back after {gap:?}"
    );
}

/// Every file of the feed corpus served over HTTP and polled by `once`: no crash, the entry
/// count of tests/fixtures/corpus_snapshot.tsv for each document that parses, and the
/// snapshot's clear reason for each that does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_feed_through_the_daemon() {
    let root = common::fixtures().join("feeds");
    let router = Router::new()
        .route(
            "/*path",
            get(|State(root): State<std::path::PathBuf>, UrlPath(path): UrlPath<String>| async move {
                match std::fs::read(root.join(&path)) {
                    // no content-type: the bytes alone decide, as in tests/corpus.rs
                    Ok(bytes) => Response::new(Body::from(bytes)),
                    Err(_) => StatusCode::NOT_FOUND.into_response(),
                }
            }),
        )
        .with_state(root.clone());
    let server = serve_on("127.0.0.1", router).await;
    let snapshot = std::fs::read_to_string(common::fixtures().join("corpus_snapshot.tsv")).unwrap();
    let manifest = std::fs::read_to_string(root.join("MANIFEST.tsv")).unwrap();
    let formats: BTreeMap<&str, &str> = manifest
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut columns = line.split('\t');
            Some((columns.next()?, columns.next()?))
        })
        .collect();
    let mut expected = BTreeMap::new();
    let mut config = String::from(
        "[daemon]\nstate_dir = \"state\"\n[fetch]\nper_host_connections = 8\nper_host_gap = \"0s\"\n",
    );
    for line in snapshot.lines().skip(1) {
        let columns: Vec<&str> = line.split('\t').collect();
        let (file, entries, title_or_error) = (columns[0], columns[1], columns[6]);
        let name = file.replace(['/', ' ', '.'], "_");
        let kind = if formats
            .get(file)
            .is_some_and(|format| format.starts_with("sitemap"))
        {
            "kind = \"sitemap\"\nmax_entries = 50000\n"
        } else {
            ""
        };
        config.push_str(&format!(
            "[sources.{name}]\nurl = \"http://{server}/{file}\"\nfetch_article = false\nmax_age = \"none\"\n{kind}"
        ));
        expected.insert(name, (entries.to_string(), title_or_error.to_string()));
    }
    let output = once(&config).await;
    assert!(output.status.success(), "{}", output.stderr);
    assert!(!output.stderr.contains("panicked"), "{}", output.stderr);
    let mut problems = Vec::new();
    for (name, (entries, title_or_error)) in &expected {
        let tag = format!("source={name} ");
        let line = output.stderr.lines().find(|line| {
            line.contains(&tag) && (line.contains("polled") || line.contains("poll failed"))
        });
        match (entries.as_str(), line) {
            ("error", Some(line))
                if line.contains("poll failed") && line.contains(title_or_error.as_str()) => {}
            ("error", line) => problems.push(format!(
                "{name}: expected the error {title_or_error:?}, got {line:?}"
            )),
            ("0", None) => {}
            (count, Some(line)) if line.contains(&format!("entries={count} ")) => {}
            (count, line) => {
                problems.push(format!("{name}: expected {count} entries, got {line:?}"))
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A site whose robots.txt disallows `/private/`: its article pages there are not fetched (the
/// entry's own text is used), those elsewhere are, and a page source under `/private/` is refused
/// with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_txt_decides_article_pages_and_page_sources() {
    let requests: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = requests.clone();
    let feed_base: Arc<Mutex<String>> = Arc::default();
    let base = feed_base.clone();
    let router = Router::new().fallback(move |uri: axum::http::Uri| {
        let log = log.clone();
        let base = base.lock().unwrap().clone();
        async move {
            let path = uri.path().to_string();
            log.lock().unwrap().push(path.clone());
            match path.as_str() {
                "/robots.txt" => "User-agent: *\nDisallow: /private/\n".into_response(),
                "/feed.xml" => (
                    [("content-type", "application/rss+xml")],
                    rss(&[
                        ("Closed story", &format!("{base}/private/a")),
                        ("Open story", &format!("{base}/public/b")),
                    ]),
                )
                    .into_response(),
                _ => (
                    [("content-type", "text/html")],
                    "<html><head><title>Page</title></head><body><article><h1>Page</h1><p>Open story text.</p></article></body></html>",
                )
                    .into_response(),
            }
        }
    });
    let server = serve_on("127.0.0.1", router).await;
    *feed_base.lock().unwrap() = format!("http://{server}");
    let output = once(&format!(
        r#"
[daemon]
state_dir = "state"
[fetch]
allow_private_networks = true   # the article pages are on this test's loopback "internet"
per_host_gap = "0s"
[sources.feed]
url = "http://{server}/feed.xml"
max_age = "none"
[sources.listing]
url = "http://{server}/private/list"
kind = "page"
selectors = {{ item = "article" }}
"#
    ))
    .await;
    assert!(output.status.success(), "{}", output.stderr);
    let requested = requests.lock().unwrap().clone();
    assert!(
        requested.contains(&"/public/b".to_string()),
        "{requested:?}"
    );
    assert!(
        !requested.contains(&"/private/a".to_string()),
        "{requested:?}"
    );
    assert!(
        !requested.contains(&"/private/list".to_string()),
        "{requested:?}"
    );
    assert_eq!(
        requested
            .iter()
            .filter(|path| *path == "/robots.txt")
            .count(),
        1,
        "robots.txt is read once per site: {requested:?}"
    );
    assert!(
        output.stderr.contains(&format!(
            "robots.txt of http://{server} disallows http://{server}/private/list"
        )),
        "{}",
        output.stderr
    );
}

/// A source that keeps failing is reported once to the health sinks after `health_failures`
/// polls, and once more when it answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unhealthy_and_recovered_messages_reach_the_health_sink_once() {
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let switch = failing.clone();
    let router = Router::new().route(
        "/feed.xml",
        get(move || {
            let failing = switch.load(Ordering::SeqCst);
            async move {
                if failing {
                    StatusCode::SERVICE_UNAVAILABLE.into_response()
                } else {
                    ([("content-type", "application/rss+xml")], rss(&[])).into_response()
                }
            }
        }),
    );
    let server = serve_on("127.0.0.1", router).await;
    let receiver = common::Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let config = common::write_config(
        folder.path(),
        &format!(
            r#"
[daemon]
state_dir = "state"
health_sinks = ["ops"]
health_failures = 2
[sources.flaky]
url = "http://{server}/feed.xml"
[sinks.ops]
kind = "webhook"
url = "{}/ops"
"#,
            receiver.url
        ),
    );
    let config = config.to_str().unwrap();
    for _ in 0..3 {
        let output = common::wirewatch(&["once", "--config", config]).await;
        assert!(output.stderr.contains("(1 failed)"), "{}", output.stderr);
    }
    let table = common::wirewatch(&["sources", "--config", config]).await;
    assert!(table.stdout.contains("3 (unhealthy)"), "{}", table.stdout);
    failing.store(false, Ordering::SeqCst);
    for _ in 0..2 {
        let output = common::wirewatch(&["once", "--config", config]).await;
        assert!(output.stderr.contains("(0 failed)"), "{}", output.stderr);
    }
    let messages: Vec<serde_json::Value> = receiver.all().iter().map(|r| r.json()).collect();
    let kinds: Vec<&str> = messages
        .iter()
        .map(|message| message["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec!["source.unhealthy", "source.recovered"],
        "{messages:#?}"
    );
    assert_eq!(messages[0]["source"], "flaky");
    assert_eq!(messages[0]["version"], 1);
    assert_eq!(messages[0]["health"]["consecutive_failures"], 2);
    assert!(messages[0]["health"]["last_error"]
        .as_str()
        .unwrap()
        .contains("HTTP 503"));
    assert_eq!(
        messages[0]["health"]["unhealthy_since"],
        messages[1]["health"]["unhealthy_since"]
    );
    // `alerts list` names health messages for what they are, not as a watchlist-less alert.
    let list = common::wirewatch(&["alerts", "list", "--config", config]).await;
    assert!(list.status.success(), "{}", list.stderr);
    assert!(
        list.stdout.contains("(health)")
            && list.stdout.contains("source.unhealthy: flaky (fetch ")
            && list.stdout.contains("source.recovered: flaky")
            && !list.stdout.contains("source-health:"),
        "{}",
        list.stdout
    );
}

/// reqwest does not follow a redirect to `file:` and hands back the 302; the error must say why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_to_a_file_url_is_refused_by_name_not_a_bare_302() {
    let router = Router::new().route(
        "/feed.xml",
        get(|| async { (StatusCode::FOUND, [("location", "file:///etc/passwd")]) }),
    );
    let server = serve_on("127.0.0.1", router).await;
    let expected = "redirect to a non-http(s) URL (file:///etc/passwd) refused";
    let output = once(&format!(
        r#"
[daemon]
state_dir = "state"
listen = "off"
[sources.passwd]
url = "http://{server}/feed.xml"
"#
    ))
    .await;
    let failure = output
        .stderr
        .lines()
        .find(|line| line.contains("poll failed") && line.contains("source=passwd"))
        .unwrap_or_else(|| panic!("no failure:\n{}", output.stderr))
        .to_string();
    assert!(failure.contains(expected), "{failure}");
    assert!(!failure.contains("HTTP 302"), "{failure}");

    let output = common::wirewatch(&["extract", &format!("http://{server}/feed.xml")]).await;
    assert!(!output.status.success());
    assert!(output.stderr.contains(expected), "{}", output.stderr);
}
