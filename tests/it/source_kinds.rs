//! Source kinds beyond feeds, end to end through the binary: an HTML list page read with CSS
//! selectors, a news sitemap behind a sitemap index, and `kind = "auto"` finding the feed a
//! homepage announces; plus `wirewatch discover`.

use crate::common;

use std::collections::BTreeSet;

use common::config::ConfigBuilder;
use common::{FixtureServer, Receiver};

const SEED_URL: &str = "https://www.themoscowtimes.com/2024/05/14/putin-to-visit-china-in-first-foreign-trip-since-re-election-a85112";
const LEMONDE_URL: &str = "http://www.lemonde.fr/pixels/article/2015/05/04/que-contient-la-loi-sur-le-renseignement_4627068_4408996.html";

async fn alerts_from(config_body: &str) -> (BTreeSet<(String, String)>, String) {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let text = config_body
        .replace("{{BASE}}", &server.base)
        .replace("{{HOOK}}", &receiver.url);
    let config = ConfigBuilder::new()
        .fetch("allow_private_networks", "true")
        .webhook("hook", &format!("{}/k", receiver.url), "")
        .raw(&text)
        .write(folder.path());
    let output = common::wirewatch(&["once", "--config", config.to_str().unwrap()]).await;
    assert!(output.status.success(), "{}", output.stderr);
    let alerts = receiver.alerts().into_iter().collect();
    (alerts, output.stderr)
}

fn set(pairs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    pairs
        .iter()
        .map(|(w, u)| (w.to_string(), u.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_source_reads_stories_by_css_selectors() {
    let (alerts, stderr) = alerts_from(
        r#"
[sources.front]
url = "{{BASE}}/feeds/frontpage.html"
kind = "page"
max_age = "none"
selectors = { item = "article.story", link = "h2.headline a", title = "h2.headline", date = "time" }

[watchlists.africa]
query = 'Tunisia OR Zimbabwe OR Sudan'
"#,
    )
    .await;
    assert_eq!(
        alerts,
        set(&[
            ("africa", "https://www.nytimes.com/2017/01/13/world/africa/sudan-sanctions.html"),
            ("africa", "http://www.telegraph.co.uk/news/2017/11/16/zimbabwes-robert-mugabe-wife-grace-insisting-finishes-term-priest/"),
            ("africa", "http://www.washingtonpost.com/world/gunmen-storm-museum-in-tunisia-killing-at-least-8/2015/03/18/00202e76-cd73-11e4-8730-4f473416e759_story.html"),
        ]),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_source_whose_selector_matches_nothing_is_reported() {
    let (alerts, stderr) = alerts_from(
        r#"
[sources.front]
url = "{{BASE}}/feeds/frontpage.html"
kind = "page"
selectors = { item = "div.teaser-that-was-renamed" }

[watchlists.any]
keywords = ["Sudan"]
"#,
    )
    .await;
    assert!(alerts.is_empty());
    assert!(stderr.contains("matched nothing on the page"), "{stderr}");
    assert!(stderr.contains("polled 1 source (1 failed)"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sitemap_index_leads_to_news_sitemap_entries() {
    let (alerts, stderr) = alerts_from(
        r#"
[sources.sitemap]
url = "{{BASE}}/feeds/sitemap-index.xml"
kind = "sitemap"
max_entries = 50
max_age = "none"

[watchlists.china]
query = 'Putin AND China'

[watchlists.france]
keywords = ["renseignement"]
"#,
    )
    .await;
    assert_eq!(
        alerts,
        set(&[("china", SEED_URL), ("france", LEMONDE_URL)]),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_source_polls_the_feed_its_homepage_announces() {
    let (alerts, stderr) = alerts_from(
        r#"
[sources.site]
url = "{{BASE}}/feeds/frontpage.html"
kind = "auto"
max_age = "none"

[watchlists.china]
query = 'Putin AND China'
"#,
    )
    .await;
    assert_eq!(alerts, set(&[("china", SEED_URL)]), "{stderr}");
    assert!(stderr.contains("feed discovered"), "{stderr}");
    assert!(stderr.contains("/feeds/world.rss"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_command_reports_the_chosen_feed() {
    let server = FixtureServer::start("e2e").await;
    let page = format!("{}/feeds/frontpage.html", server.base);
    let output = common::wirewatch(&["discover", &page]).await;
    assert!(output.status.success(), "{}", output.stderr);
    assert!(
        output
            .stdout
            .contains(&format!("{}/feeds/world.rss", server.base)),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("announced by the page, 6 entries"),
        "{}",
        output.stdout
    );
    assert!(output.stdout.contains("← chosen"), "{}", output.stdout);

    let feed = format!("{}/feeds/wire.rss", server.base);
    let output = common::wirewatch(&["discover", &feed]).await;
    assert!(
        output.stdout.contains("the URL is a feed"),
        "{}",
        output.stdout
    );

    let nothing = format!("{}/pages/nytimes-sudan.html", server.base);
    let output = common::wirewatch(&["discover", &nothing]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        output.stderr.contains("announces no feed"),
        "{}",
        output.stderr
    );
}
