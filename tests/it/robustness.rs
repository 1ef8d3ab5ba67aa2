//! Hostile and odd input never panics and stays bounded: arbitrary bytes, absurd nesting, huge pages;
//! and through the binary, `extract` reads no more than the daemon's page cap and says when it
//! had to flatten a page.

use crate::common;

use std::io::Write;
use std::process::Stdio;
use wirewatch::extract::{decode_html, extract, fragment_blocks, render, LinkStyle};

use axum::routing::get;
use axum::Router;

fn page_url() -> url::Url {
    url::Url::parse("https://example.org/news/story").unwrap()
}

fn run(html: &str) {
    let article = extract(html, &page_url());
    let _ = render::document(&article, LinkStyle::Absolute);
    let _ = render::document(&article, LinkStyle::Hash);
    let _ = serde_json::to_string(&render::record(&article, LinkStyle::Absolute)).unwrap();
    let _ = fragment_blocks(html, &page_url());
}

/// A small deterministic generator (xorshift) so the test needs no extra crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let pieces: &[&[u8]] = &[
        b"<p>",
        b"</p>",
        b"<div class=\"content\">",
        b"</div>",
        b"<a href=\"/x\">",
        b"</a>",
        b"<b>",
        b"</b>",
        b"<br>",
        b"<figure><img src=x><figcaption>",
        b"</figcaption></figure>",
        b"<script type=\"application/ld+json\">{\"@type\":\"NewsArticle\",\"author\":[",
        b"</script>",
        b"<meta charset=\"koi8-r\">",
        b"\xff\xfe",
        b"\xef\xbb\xbf",
        b"&amp;",
        b"&#x",
        b"<time datetime=\"2024-13-45T99:99\">",
        b"<li>",
        b"<h2>",
        b"<blockquote>",
        b"text, more text",
        b"\xd0\x9f\xd1\x80",
        b"\xe2\x80",
        b"<",
        b">",
        b"\"",
        b"<table><tr><td>",
    ];
    for _ in 0..300 {
        let mut bytes = Vec::new();
        let n = (rng.next() % 60) as usize;
        for _ in 0..n {
            if rng.next().is_multiple_of(4) {
                bytes.push((rng.next() % 256) as u8);
            } else {
                bytes.extend_from_slice(pieces[(rng.next() as usize) % pieces.len()]);
            }
        }
        let text = decode_html(&bytes, None);
        run(&text);
        let _ = decode_html(&bytes, Some("text/html; charset=shift_jis"));
    }
}

#[test]
fn deeply_nested_divs_do_not_overflow() {
    let depth = 100_000;
    let mut html = String::with_capacity(depth * 12 + 100);
    html.push_str("<html><body>");
    for _ in 0..depth {
        html.push_str("<div>");
    }
    html.push_str("<p>Deep text, with a comma, and enough words to count as a paragraph.</p>");
    for _ in 0..depth {
        html.push_str("</div>");
    }
    run(&html);
}

#[test]
fn many_deep_subtrees_stay_linear() {
    let mut html = String::from("<html><body>");
    for _ in 0..300 {
        html.push_str(&"<div>".repeat(400));
        html.push_str("<p>Deep text, with a comma, and enough words to count as a paragraph.</p>");
        html.push_str(&"</div>".repeat(400));
    }
    run(&html);
}

#[test]
fn deeply_nested_inline_elements_do_not_overflow() {
    let depth = 50_000;
    let html = format!(
        "<p>{}text{}</p>",
        "<a href=\"/a\"><b>".repeat(depth),
        "</b></a>".repeat(depth)
    );
    run(&html);
}

/// Its speed is `examples/nest_timing`'s and the extraction benchmark's business, not a test's.
#[test]
fn five_mib_page_keeps_every_paragraph() {
    let mut html = String::from("<html><head><title>Big page</title></head><body><article>");
    let mut n = 0;
    while html.len() < 5 * 1024 * 1024 {
        n += 1;
        // Numbered so that no paragraph is a verbatim duplicate of another.
        html.push_str(&format!(
            "<p>Officials said on Tuesday that talks round {n}, which lasted several hours, ended \
             without agreement on <a href=\"/x\">the main issues</a>, according to people familiar.</p>\n"
        ));
        html.push_str("<div class=\"share\"><a href=\"/s\">Share</a></div>\n");
    }
    html.push_str("</article></body></html>");
    let article = extract(&html, &page_url());
    assert!(
        article.blocks.len() > 10_000,
        "{} of {n}",
        article.blocks.len()
    );
}

#[test]
fn empty_and_degenerate_input() {
    for html in [
        "",
        " ",
        "<",
        "<html>",
        "<!doctype html>",
        "\u{0}",
        "<p></p>",
        "<a href=''>x</a>",
    ] {
        run(html);
    }
    let article = extract("", &page_url());
    assert_eq!(article.url, "https://example.org/news/story");
    assert!(article.blocks.is_empty());
}

/// The daemon's default fetch.max_page_size, which `extract` applies to files and stdin too.
const PAGE_CAP: usize = 5 << 20;

#[tokio::test]
async fn extract_refuses_a_file_over_the_page_cap_and_says_so() {
    let folder = tempfile::tempdir().unwrap();
    let too_large = folder.path().join("nul.html");
    std::fs::write(&too_large, vec![0u8; PAGE_CAP + 1]).unwrap();
    let output = common::wirewatch(&["extract", too_large.to_str().unwrap()]).await;
    assert!(!output.status.success());
    assert!(
        output
            .stderr
            .contains("input larger than 5 MiB; pages are read up to fetch.max_page_size"),
        "{}",
        output.stderr
    );
    assert!(output.stdout.is_empty(), "{}", output.stdout);
}

#[tokio::test]
async fn extract_of_five_mib_of_nul_is_an_empty_article() {
    let folder = tempfile::tempdir().unwrap();
    let page = folder.path().join("nul.html");
    std::fs::write(&page, vec![0u8; PAGE_CAP]).unwrap();
    let output = common::wirewatch(&[
        "extract",
        "--url",
        "https://example.org/nul",
        page.to_str().unwrap(),
    ])
    .await;
    assert!(output.status.success(), "{}", output.stderr);
    // no title, no body: only the "Original url" footer
    assert_eq!(
        common::normalise(&output.stdout),
        "Original url:\n\n<https://example.org/nul>"
    );
}

/// `/dev/zero` read without limit: the command must stop after the cap, not read forever.
#[test]
fn extract_of_endless_stdin_stops_at_the_page_cap() {
    let mut child = common::Wirewatch::new(&["extract", "-"])
        .command()
        .into_std()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // "endless" as far as the command can tell: 40 times the cap, unless it stops reading
    let writer = std::thread::spawn(move || {
        let chunk = vec![0u8; 64 << 10];
        let mut written = 0usize;
        while written < 40 * PAGE_CAP {
            if stdin.write_all(&chunk).is_err() {
                break;
            }
            written += chunk.len();
        }
        written
    });
    let output = child.wait_with_output().unwrap();
    let written = writer.join().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("-: input larger than 5 MiB"), "{stderr}");
    assert!(
        written < 40 * PAGE_CAP,
        "the command read all {written} bytes"
    );
}

const PROSE: &str = "Officials said on Tuesday that the talks, which lasted several hours, ended \
    without agreement on the main issues, according to two people familiar with them.";

/// A million nested divs (the 5 MB that fit the page cap), the article inside.
fn million_nested_divs() -> String {
    format!(
        "<html><head><title>Deep</title></head><body>{}<p>{PROSE}</p></body></html>",
        "<div>".repeat(1_000_000)
    )
}

#[tokio::test]
async fn million_nested_divs_keep_their_text_and_extract_says_so() {
    let folder = tempfile::tempdir().unwrap();
    let page = folder.path().join("deep.html");
    std::fs::write(&page, million_nested_divs()).unwrap();
    let output = common::wirewatch(&["extract", page.to_str().unwrap()]).await;
    assert!(output.status.success(), "{}", output.stderr);
    assert!(output.stdout.contains(PROSE), "{}", output.stdout);
    assert!(
        output.stderr.contains(
            "deep.html: page nests elements deeper than 512 levels; tags below that depth were \
             ignored and their text kept as flat text"
        ),
        "{}",
        output.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn million_nested_divs_are_a_warning_with_the_url_in_the_daemon() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let feed = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title><link>http://{address}/</link><item><title>Deep</title><link>http://{address}/deep.html</link><guid>http://{address}/deep.html</guid><description>Deep</description></item></channel></rss>"#
    );
    let page = million_nested_divs();
    let router = Router::new()
        .route("/feed.xml", get(move || async move { feed }))
        .route(
            "/deep.html",
            get(move || async move { ([("content-type", "text/html")], page) }),
        );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let folder = tempfile::tempdir().unwrap();
    let config = common::write_config(
        folder.path(),
        &format!(
            r#"
[daemon]
state_dir = "state"
listen = "off"
[fetch]
allow_private_networks = true
[sources.deep]
url = "http://{address}/feed.xml"
max_age = "none"
[watchlists.talks]
query = 'Officials'
[sinks.journal]
kind = "log"
"#
        ),
    );
    let output = common::wirewatch(&["once", "--config", config.to_str().unwrap()]).await;
    assert!(output.status.success(), "{}", output.stderr);
    let warning = output
        .stderr
        .lines()
        .find(|line| line.contains("deeper than 512 levels"))
        .unwrap_or_else(|| panic!("no warning:\n{}", output.stderr));
    assert!(warning.contains("WARN"), "{warning}");
    assert!(
        warning.contains(&format!("url=http://{address}/deep.html")),
        "{warning}"
    );
}
