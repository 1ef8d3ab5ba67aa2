//! The `extract` command as a user runs it: saved pages in, the seed document or JSON records out.

mod common;

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
