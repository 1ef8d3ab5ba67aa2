//! Fetcher benchmark: one `once` cycle over 10,000 feeds, then a second over the same, unchanged
//! feeds. Prints the wall time of each cycle, the peak RSS of the process running the pipeline
//! (VmHWM), and the share of 304 answers on the second cycle.
//!
//! ```sh
//! cargo run --release --example fetch_bench             # 10,000 feeds on 5,000 hosts
//! cargo run --release --example fetch_bench -- 2000 1000
//! ```
//!
//! What is measured, honestly:
//! - The feeds are the real documents of tests/fixtures/feeds (every one that parses as a feed,
//!   108 files from 1 KB to 300 KB, RSS 0.9x/1.0/2.0, Atom, JSON Feed, many charsets), assigned
//!   round-robin, served by a separate process so its memory is not counted. The server sends
//!   an ETag per feed and answers 304 to a matching If-None-Match, as real servers do.
//! - Real feeds live on many hosts, and wirewatch's politeness (one connection per host, 1 s
//!   between requests to a host — the defaults, unchanged here) applies per host. The feeds are
//!   spread over 5,000 loopback addresses (127.0.0.0/8 all reach this machine), two feeds per
//!   host; the server binds 0.0.0.0 to receive them all and refuses any peer that is not on
//!   loopback.
//! - `fetch_article = false` (no article pages) and one watchlist over every source that matches
//!   nothing: this is the polling path — fetch, decode, parse, de-duplicate, build and match
//!   each new entry (entries older than the default `max_age` of 3 days are only recorded),
//!   commit every entry as seen, record the source state and schedule — for every feed. The
//!   state database is a real SQLite file.
//! - The first cycle imports every entry of every feed (about 200,000); the second finds the
//!   feeds unchanged. Both print their wall time and this process's CPU time: on a shared
//!   machine the wall time includes waiting for the CPU.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    if arguments.first().map(String::as_str) == Some("--serve") {
        serve();
        return;
    }
    let feeds: usize = arguments
        .first()
        .and_then(|text| text.parse().ok())
        .unwrap_or(10_000);
    let hosts: usize = arguments
        .get(1)
        .and_then(|text| text.parse().ok())
        .unwrap_or(feeds / 2)
        .clamp(1, 60_000);
    bench(feeds, hosts);
}

fn corpus_feeds() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let snapshot = std::fs::read_to_string(root.join("corpus_snapshot.tsv"))
        .expect("tests/fixtures/corpus_snapshot.tsv");
    let manifest =
        std::fs::read_to_string(root.join("feeds/MANIFEST.tsv")).expect("feeds/MANIFEST.tsv");
    let sitemaps: Vec<&str> = manifest
        .lines()
        .filter(|line| {
            line.split('\t')
                .nth(1)
                .is_some_and(|f| f.starts_with("sitemap"))
        })
        .filter_map(|line| line.split('\t').next())
        .collect();
    snapshot
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut columns = line.split('\t');
            let file = columns.next()?;
            let entries: usize = columns.next()?.parse().ok()?;
            (entries > 0 && !sitemaps.contains(&file)).then(|| root.join("feeds").join(file))
        })
        .collect()
}

/// The child process: serves feed i as the (i mod n)-th corpus document with an ETag.
fn serve() {
    let documents: Arc<Vec<Vec<u8>>> = Arc::new(
        corpus_feeds()
            .iter()
            .map(|path| std::fs::read(path).expect("corpus file"))
            .collect(),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let router = Router::new()
            .route("/f/:index", get(feed))
            .with_state(documents);
        // 0.0.0.0 so that every 127.x.y.z address reaches it; non-loopback peers are refused
        let listener = tokio::net::TcpListener::bind("0.0.0.0:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        println!("{port}");
        std::io::stdout().flush().ok();
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("serve");
    });
}

async fn feed(
    State(documents): State<Arc<Vec<Vec<u8>>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    UrlPath(index): UrlPath<usize>,
    headers: HeaderMap,
) -> Response {
    if !peer.ip().is_loopback() {
        return StatusCode::FORBIDDEN.into_response();
    }
    let document = index % documents.len();
    let etag = format!("\"{index}-{document}\"");
    if headers.get("if-none-match").and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return (StatusCode::NOT_MODIFIED, [("etag", etag)]).into_response();
    }
    (
        [
            ("etag", etag),
            ("content-type", "application/xml".to_string()),
        ],
        documents[document].clone(),
    )
        .into_response()
}

fn host_address(host: usize) -> IpAddr {
    // 127.0.0.1 … 127.x.y.z, skipping .0 and .255 in the last octet
    let n = host as u32;
    IpAddr::from([
        127,
        (n / (254 * 254)) as u8,
        ((n / 254) % 254) as u8,
        (n % 254 + 1) as u8,
    ])
}

fn bench(feeds: usize, hosts: usize) {
    let executable = std::env::current_exe().expect("own path");
    let mut server = Command::new(executable)
        .arg("--serve")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server process");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("server port");
    let port: u16 = line.trim().parse().expect("port number");

    let folder = tempfile::tempdir().expect("temporary folder");
    let mut config = format!(
        "[daemon]\nstate_dir = \"{}\"\n\n",
        folder.path().join("state").display()
    );
    for index in 0..feeds {
        let address = host_address(index % hosts);
        config.push_str(&format!(
            "[sources.f{index}]\nurl = \"http://{address}:{port}/f/{index}\"\nfetch_article = false\n\n"
        ));
    }
    // a watchlist over every source that matches nothing: every new entry goes through article
    // building and matching, as in a real config, without alerts to deliver
    config.push_str(
        "[watchlists.quiet]\nquery = '\"wirewatch benchmark phrase\"'\n\n[sinks.journal]\nkind = \"log\"\n",
    );
    let path = folder.path().join("bench.toml");
    std::fs::write(&path, &config).expect("write config");
    let config = wirewatch::config::Config::load(&path).expect("valid config");
    let documents = corpus_feeds().len();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let state = runtime
        .block_on(wirewatch::daemon::State::open(&config))
        .expect("state");
    let pipeline = Arc::new(
        wirewatch::daemon::Pipeline::build(
            config,
            Arc::clone(&state.store),
            Arc::new(wirewatch::daemon::Metrics::new()),
        )
        .expect("pipeline"),
    );
    println!(
        "fetch_bench: {feeds} feeds ({documents} corpus documents) on {hosts} hosts, defaults: 1 connection and 1s gap per host"
    );
    let mut cycles = Vec::new();
    for cycle in 1..=2 {
        let started = Instant::now();
        let cpu_before = cpu_seconds();
        let summary = runtime.block_on(wirewatch::daemon::once(Arc::clone(&pipeline)));
        let elapsed = started.elapsed();
        let cpu = cpu_seconds() - cpu_before;
        println!(
            "cycle {cycle}: {:.2} s wall, {cpu:.2} s CPU (pipeline process) — {} sources, {} failed, {} not modified (304), {} new entries",
            elapsed.as_secs_f64(),
            summary.sources,
            summary.sources_failed,
            summary.sources_not_modified,
            summary.entries_new
        );
        cycles.push((elapsed, summary));
    }
    let peak = peak_rss_kib();
    let (_, second) = &cycles[1];
    let share = second.sources_not_modified as f64 / second.sources.max(1) as f64 * 100.0;
    println!(
        "peak RSS (VmHWM): {:.1} MiB",
        peak.map_or(f64::NAN, |kib| kib as f64 / 1024.0)
    );
    println!("304 share on the second cycle: {share:.1} %");
    println!(
        "targets: cycle ≤ 10 s ({}), peak RSS ≤ 64 MiB ({}), 304 share ≥ 90 % ({})",
        verdict(
            cycles
                .iter()
                .all(|(elapsed, _)| elapsed.as_secs_f64() <= 10.0)
        ),
        verdict(peak.is_some_and(|kib| kib <= 64 * 1024)),
        verdict(share >= 90.0)
    );
    let _ = server.kill();
    let _ = server.wait();
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

/// User + system CPU time of this process so far (from /proc/self/stat, in clock ticks of 1/100 s
/// on Linux): shows how much of a cycle's wall time was this process working, on a shared machine.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // fields after the command name, which is parenthesised and may contain spaces
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name
    (ticks(11) + ticks(12)) / 100.0
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
