//! The web console (issue 14) in a real headless Chromium, through the daemon on a local feed
//! site: the overview lists every source and the alerts created; the playground marks hits as
//! you type and shows a broken query's error at its column; a `<script>` in a feed title renders
//! as text; replay is refused without the token and works with it. Each test saves screenshots
//! under `target/console-screenshots/`. Without chromium the browser tests skip (fail under
//! `WIREWATCH_REQUIRE_SERVICES=1`).

use crate::common;

use std::time::Duration;

use common::browser::Browser;
use common::{Behaviour, Daemon, FixtureServer, Receiver};
use serde_json::json;

const TOKEN: &str = "console-test-token-0123456789";

fn config(server: &FixtureServer, receiver: &Receiver, listen: &str, token: bool) -> String {
    format!(
        r#"
[daemon]
listen = "{listen}"

[console]
{token}

[fetch]
allow_private_networks = true

[sources.world]
url = "{base}/feeds/world.rss"
fetch_article = false
max_age = "none"

[sources.hostile]
url = "{base}/feeds/hostile-titles.rss"
fetch_article = false
max_age = "none"

[watchlists.africa]
query = 'Tunisia OR Zimbabwe'
sinks = ["hook"]

[watchlists.kremlin]
query = 'Putin OR Kremlin'
sinks = ["hook"]

[sinks.hook]
kind = "webhook"
url = "{hook}/console?token=very-secret-part"
"#,
        token = if token {
            format!("token = \"{TOKEN}\"")
        } else {
            String::new()
        },
        base = server.base,
        hook = receiver.url
    )
}

/// The overview's JSON until `ready` says it shows what the test needs.
async fn overview_when(
    address: &str,
    ready: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let client = reqwest::Client::new();
    let start = std::time::Instant::now();
    loop {
        let overview: serde_json::Value = client
            .get(format!("http://{address}/api/overview"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if ready(&overview) {
            return overview;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "never ready: {overview:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn dead(overview: &serde_json::Value) -> u64 {
    overview["sinks"][0]["dead"].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_in_a_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    // every alert becomes a dead letter first (400: not worth retrying), for the replay below
    receiver.set(Behaviour::Fail(400));
    let folder = tempfile::tempdir().unwrap();
    let path = common::write_config(
        folder.path(),
        &config(&server, &receiver, "127.0.0.1:0", true),
    );
    let daemon = Daemon::start(&path, &[("WIREWATCH_LOG", "info")]);
    let address = daemon.listen_address().await;
    let base = format!("http://{address}");
    // world: Tunisia, Zimbabwe (africa), Kremlin, Putin (kremlin); hostile: both africa
    let overview = overview_when(&address, |overview| dead(overview) >= 6).await;

    // overview: every source, every alert created, nothing secret
    browser.go(&format!("{base}/")).await;
    let text = browser.text().await;
    for source in ["world", "hostile"] {
        assert!(text.contains(source), "source {source} missing:\n{text}");
    }
    for alert in overview["recent"].as_array().unwrap() {
        let title = alert["title"].as_str().unwrap();
        assert!(text.contains(title), "alert {title:?} missing:\n{text}");
    }
    assert!(
        text.contains("Attack stokes instability fears in North Africa"),
        "{text}"
    );
    let html = browser
        .run("return document.documentElement.outerHTML;", json!([]))
        .await;
    assert!(!html.as_str().unwrap().contains("very-secret-part"));
    browser.screenshot("overview").await;

    // a hostile title is text: no element from it, no script run
    assert!(
        text.contains("<script>alert(1)</script> Tunisia ministers meet"),
        "{text}"
    );
    assert!(
        text.contains("<img src=x onerror=alert(2)> Zimbabwe harvest report"),
        "{text}"
    );
    let injected = browser
        .run(
            "return [document.querySelectorAll('img').length, \
             Array.from(document.scripts).filter(s => !s.src.endsWith('/assets/console.js')).length];",
            json!([]),
        )
        .await;
    assert_eq!(injected, json!([0, 0]));
    browser.go(&format!("{base}/alerts?watchlist=africa")).await;
    let text = browser.text().await;
    assert!(
        text.contains("Zimbabwe harvest report") && !text.contains("Kremlin weighs in"),
        "{text}"
    );
    browser.screenshot("alerts").await;
    browser.go(&format!("{base}/sources/hostile")).await;
    let text = browser.text().await;
    assert!(
        text.contains("hostile-titles.rss") && text.contains("Zimbabwe harvest report"),
        "{text}"
    );
    browser.screenshot("source").await;

    // the playground: hits marked as you type, a broken query's error at its column
    browser.go(&format!("{base}/playground")).await;
    browser.type_into("#q", "Tunisia OR Zimbabwe").await;
    let marked = browser
        .wait_until(
            "return document.querySelectorAll('#results mark').length >= 2 \
             && Array.from(document.querySelectorAll('#results mark')).map(m => m.textContent);",
            "marked hits in the playground",
        )
        .await;
    let marked: Vec<String> = serde_json::from_value(marked).unwrap();
    assert!(
        marked.iter().any(|hit| hit == "Tunisia") && marked.iter().any(|hit| hit == "Zimbabwe"),
        "{marked:?}"
    );
    let text = browser.text().await;
    assert!(
        text.contains("Attack stokes instability fears in North Africa"),
        "{text}"
    );
    assert!(!text.contains("Kremlin weighs in"), "{text}");
    assert!(
        text.contains("[watchlists.my-watchlist]\nquery = \"Tunisia OR Zimbabwe\""),
        "{text}"
    );
    browser.screenshot("playground").await;
    browser.clear("#q").await;
    browser.type_into("#q", "Tunisia AND (").await;
    let error = wirewatch::rules::Query::parse("Tunisia AND (").unwrap_err();
    let shown = browser
        .wait_until(
            "const e = document.getElementById('query-error'); return e && e.innerText;",
            "the query error",
        )
        .await;
    let shown = shown.as_str().unwrap();
    assert!(
        shown.contains(&format!("watchlists.my-watchlist.query: {error}")),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "{}^ column {}",
            " ".repeat(error.column - 1),
            error.column
        )),
        "{shown}"
    );
    browser.screenshot("playground-error").await;

    // replay: refused without the token, done with it
    let alert = overview["recent"][0]["id"].as_str().unwrap().to_string();
    let refused = reqwest::Client::new()
        .post(format!("{base}/alerts/{alert}/replay"))
        .form(&[("csrf", "guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("needs the console token"));
    let before = receiver.all().len();
    receiver.set(Behaviour::Accept);
    browser
        .go(&format!("{base}/login?next=/alerts/{alert}"))
        .await;
    browser.type_into("input[name=token]", TOKEN).await;
    browser.click("form.login button").await;
    browser
        .wait_until(
            "return location.pathname.startsWith('/alerts/');",
            "the login",
        )
        .await;
    browser.click("form.actions button").await;
    browser
        .wait_until(
            "const n = document.querySelector('.notice'); return n && n.textContent.includes('Queued again');",
            "the replay",
        )
        .await;
    assert!(
        receiver.wait_for(before + 1, Duration::from_secs(60)).await,
        "the replayed alert was not delivered"
    );
    assert_eq!(receiver.all()[before].json()["id"], alert);
    browser.screenshot("replay").await;
    browser.quit().await;
}

/// Beyond loopback every page and API call needs the token (no browser needed), and without a
/// token such a listener is refused at start with a clear config error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exposed_listener_needs_the_token() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let path = common::write_config(
        folder.path(),
        &config(&server, &receiver, "0.0.0.0:0", false),
    );
    let check = common::wirewatch(&["check", "--config", path.to_str().unwrap()]).await;
    assert!(!check.status.success());
    let said = format!("{}{}", check.stdout, check.stderr);
    assert!(
        said.contains(
            "console.token: is required: daemon.listen (0.0.0.0:0) is not a loopback address"
        ),
        "{said}"
    );

    let path = common::write_config(
        folder.path(),
        &config(&server, &receiver, "0.0.0.0:0", true),
    );
    let daemon = Daemon::start(&path, &[("WIREWATCH_LOG", "info")]);
    let port = daemon
        .listen_address()
        .await
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client.get(format!("{base}/alerts")).send().await.unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/login?next=%2Falerts");
    assert_eq!(
        client
            .get(format!("{base}/api/overview"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let with_token = client
        .get(format!("{base}/api/overview"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), 200);
    let csp = with_token.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    let login = client.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(login.status(), 200);
}
