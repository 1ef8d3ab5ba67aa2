//! The `extract` command as a user runs it: saved pages in, the seed document or JSON records out.

use crate::common;

use common::wirewatch;

fn fixture(path: &str) -> String {
    common::fixtures().join(path).to_str().unwrap().to_string()
}

#[tokio::test]
async fn extract_renders_the_seed_document_from_a_saved_page() {
    let page = fixture("seed/moscow-times.html");
    let output = wirewatch(&["extract", "--links", "hash", &page]).await;
    assert!(output.status.success(), "{}", output.stderr);
    let expected = std::fs::read_to_string(fixture("seed/article.txt")).unwrap();
    assert_eq!(
        common::normalise(&output.stdout),
        common::normalise(&expected),
        "\n{}",
        output.stdout
    );
}

#[tokio::test]
async fn extract_json_prints_one_record_per_input_and_reports_bad_inputs() {
    let seed = fixture("seed/moscow-times.html");
    let lemonde = fixture("pages/readability_lemonde-1.html");
    let output = wirewatch(&[
        "extract",
        "--format",
        "json",
        &seed,
        "/nonexistent/page.html",
        &lemonde,
    ])
    .await;
    assert_eq!(
        output.status.code(),
        Some(1),
        "a missing input fails the command"
    );
    assert!(
        output
            .stderr
            .contains("/nonexistent/page.html: cannot read the file"),
        "{}",
        output.stderr
    );
    let records: Vec<serde_json::Value> = output
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[0]["title"],
        "Putin to Visit China in First Foreign Trip Since Re-Election"
    );
    assert_eq!(records[0]["published"], "2024-05-14T13:05:00+03:00");
    assert_eq!(
        records[0]["image"]["credit"],
        "Sergei Savostyanov, TASS / kremlin.ru"
    );
    assert!(records[0]["text"]
        .as_str()
        .unwrap()
        .starts_with("Putin to Visit China"));
    assert!(records[0]["body"]
        .as_str()
        .unwrap()
        .ends_with("AFP contributed reporting."));
    assert!(records[0]["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|block| block["kind"] == "related"));
    assert_eq!(records[1]["language"], "fr");
}

#[tokio::test]
async fn demo_runs_offline_and_prints_the_alerts() {
    let output = wirewatch(&["demo"]).await;
    assert!(output.status.success(), "{}", output.stderr);
    assert!(
        output
            .stdout
            .contains("watchlist russia-china · source world-desk"),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains("│ Putin to Visit China in First Foreign Trip Since Re-Election"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("│ May 14, 2024"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("6 alerts created, 6 delivered"),
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn match_explains_why_a_query_matches_or_not() {
    let seed = fixture("seed/moscow-times.html");
    let lemonde = fixture("pages/readability_lemonde-1.html");
    let output = wirewatch(&[
        "match",
        "--query",
        "Putin NEAR/5 China -sport",
        "--explain",
        &seed,
        &lemonde,
    ])
    .await;
    assert!(output.status.success(), "{}", output.stderr);
    let lines: Vec<serde_json::Value> = output
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["matched"], true);
    assert_eq!(lines[0]["hits"][0]["term"], "Putin");
    assert_eq!(
        lines[0]["hits"][0]["snippet"],
        "**Putin** to Visit China in First Foreign Trip Since Re-Election"
    );
    assert!(lines[0]["explain"][0]["text"]
        .as_str()
        .unwrap()
        .contains("NEAR/5"));
    assert_eq!(lines[1]["matched"], false);
    assert!(lines[1]["explain"][0]["tree"]["matched"] == false);

    // a saved record works as input too
    let folder = tempfile::tempdir().unwrap();
    let record = wirewatch(&["extract", "--format", "json", &seed]).await;
    let record_path = folder.path().join("record.json");
    std::fs::write(&record_path, record.stdout).unwrap();
    let output = wirewatch(&[
        "match",
        "--query",
        "\"Xi Jinping\"",
        record_path.to_str().unwrap(),
    ])
    .await;
    assert!(
        output.stdout.contains("\"matched\":true"),
        "{}",
        output.stdout
    );

    let output = wirewatch(&["match", "--query", "Putin AND", &seed]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        output.stderr.starts_with("--query: column"),
        "{}",
        output.stderr
    );
}

/// Regression (issue 18): `match` gave `source:` terms the page's site name while the daemon
/// gives them the configured source's name, so a query tested by hand meant something else live.
#[tokio::test]
async fn match_source_terms_see_the_source_name_as_the_daemon_does() {
    let seed = fixture("seed/moscow-times.html");
    let matched = |output: &crate::common::Output| -> bool {
        assert!(output.status.success(), "{}", output.stderr);
        let line: serde_json::Value = serde_json::from_str(output.stdout.trim()).unwrap();
        line["matched"] == true
    };
    // the site name is not the source
    let site = wirewatch(&["match", "--query", "source:\"moscow times\"", &seed]).await;
    assert!(!matched(&site), "{}", site.stdout);
    let named = wirewatch(&[
        "match",
        "--query",
        "source:russia_wire AND Putin",
        "--source",
        "russia_wire",
        &seed,
    ])
    .await;
    assert!(matched(&named), "{}", named.stdout);
    let other = wirewatch(&[
        "match",
        "--query",
        "source:russia_wire",
        "--source",
        "other",
        &seed,
    ])
    .await;
    assert!(!matched(&other), "{}", other.stdout);
}

/// Issue 17: `--url //host/path` (protocol-relative, as manifests and HTML carry them) is read as
/// https rather than refused as "relative URL without a base"; and a canonical link naming the
/// site's section index (as on a Yahoo page) is ignored in favour of the page's own URL.
#[tokio::test]
async fn extract_takes_a_protocol_relative_url_and_ignores_a_section_canonical() {
    let folder = tempfile::tempdir().unwrap();
    let page = folder.path().join("yahoo.html");
    std::fs::write(
        &page,
        r#"<html><head><title>Putin visits China</title>
        <link rel="canonical" href="//us.yahoo.com/news/"></head>
        <body><h1>Putin visits China</h1>
        <p>President Vladimir Putin arrived in Beijing on Thursday for talks with Xi Jinping, his
        first foreign trip since he was sworn in for a fifth term earlier this month.</p>
        <p>The two leaders are expected to sign a joint statement on deepening their partnership,
        officials in Moscow said before the visit, which lasts two days.</p></body></html>"#,
    )
    .unwrap();
    let output = wirewatch(&[
        "extract",
        "--format",
        "json",
        "--url",
        "//news.yahoo.com/putin-visits-china-123.html",
        page.to_str().unwrap(),
    ])
    .await;
    assert!(output.status.success(), "{}", output.stderr);
    let record: serde_json::Value = serde_json::from_str(output.stdout.trim()).unwrap();
    assert_eq!(
        record["fetched_url"],
        "https://news.yahoo.com/putin-visits-china-123.html"
    );
    assert_eq!(
        record["url"],
        "https://news.yahoo.com/putin-visits-china-123.html"
    );
}

/// Issue 17: a page whose date has no zone keeps its local time; no "Z" is stamped on.
#[tokio::test]
async fn extract_keeps_a_local_time_without_inventing_a_zone() {
    let page = fixture("pages/readability_liberation-1.html");
    let output = wirewatch(&["extract", "--format", "json", &page]).await;
    assert!(output.status.success(), "{}", output.stderr);
    let record: serde_json::Value = serde_json::from_str(output.stdout.trim()).unwrap();
    assert_eq!(record["published"], "2015-04-30T07:19:58");
    assert!(record["text"]
        .as_str()
        .unwrap()
        .contains("\nApril 30, 2015\n"));
}
