//! One alert per story across outlets: the same wire story under another outlet's URL and chrome
//! raises no second alert for a watchlist (the store links it to the first), while a different
//! article on the same topic alerts on its own.

use crate::common;

use common::config::ConfigBuilder;
use common::{FixtureServer, Receiver};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reprinted_story_alerts_once_and_a_different_story_alerts_too() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let path = ConfigBuilder::local()
        .feed("world", &format!("{}/feeds/world.rss", server.base), "")
        .feed("wires", &format!("{}/feeds/wires.rss", server.base), "")
        .watchlist(
            "russia-china",
            "query = '(Putin OR Kremlin) AND (China OR \"Xi Jinping\")'",
        )
        .watchlist("sanctions", "keywords = [\"sanctions\"]")
        .webhook("hook", &format!("{}/stories", receiver.url), "")
        .write(folder.path());
    let output = common::wirewatch(&["once", "--config", path.to_str().unwrap()]).await;
    assert!(output.status.success(), "{}", output.stderr);
    let alerts = receiver.alerts();
    let for_watchlist = |name: &str| -> Vec<String> {
        let mut urls: Vec<String> = alerts
            .iter()
            .filter(|(w, _)| w == name)
            .map(|(_, u)| u.clone())
            .collect();
        urls.sort();
        urls
    };
    let seed = "https://www.themoscowtimes.com/2024/05/14/putin-to-visit-china-in-first-foreign-trip-since-re-election-a85112";
    let reprint = "https://www.example-wire-reprint.com/world/2024/05/14/putin-china-visit";
    let payments =
        "https://www.themoscowtimes.com/2024/05/15/sanctions-strain-russia-china-payments-a85130";
    for watchlist in ["russia-china", "sanctions"] {
        // (the world desk's Sudan sanctions story also matches "sanctions"; it is not in play here)
        let urls: Vec<String> = for_watchlist(watchlist)
            .into_iter()
            .filter(|url| [seed, reprint, payments].contains(&url.as_str()))
            .collect();
        assert_eq!(urls.len(), 2, "{watchlist}: {urls:?}");
        assert!(
            urls.contains(&payments.to_string()),
            "{watchlist}: the different story alerts: {urls:?}"
        );
        assert!(
            urls.contains(&seed.to_string()) ^ urls.contains(&reprint.to_string()),
            "{watchlist}: exactly one of the two copies of the story alerts: {urls:?}"
        );
    }
    // the first copy's alert lists the other (its delivery had not been attempted yet)
    let story = receiver
        .all()
        .into_iter()
        .map(|r| r.json())
        .find(|json| json["watchlist"] == "russia-china" && json["article"]["url"] != payments)
        .unwrap();
    let also = story["also_seen"].as_array().expect("also_seen listed");
    assert_eq!(also.len(), 1, "{story}");
    assert!(also[0]["url"] == seed || also[0]["url"] == reprint);
    assert_ne!(also[0]["url"], story["article"]["url"]);
}
