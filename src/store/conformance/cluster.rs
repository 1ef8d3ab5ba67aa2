//! Cluster cases: two "instances" are two holder names against one database, and a lease's
//! expiry is reached by passing a later `now`. PostgreSQL only: on SQLite one process owns the
//! state directory and every lease is granted (`sqlite/cluster.rs`), which
//! `sqlite_grants_every_lease` pins down.

use super::*;

fn instance(name: &str, started_at: Millis, heartbeat_at: Millis, hash: &str) -> Instance {
    Instance {
        name: name.to_string(),
        started_at,
        heartbeat_at,
        config_hash: hash.to_string(),
        version: "test".to_string(),
    }
}

/// One instance at a time polls a source, and only once its schedule is due; a holder that
/// dies loses the lease when it expires.
pub(super) async fn source_leases(store: &Store) {
    assert_eq!(
        store.claim_source("s", "a", 100, 160, true).await.unwrap(),
        Claim::Granted
    );
    // b asks during a's poll: not before a's lease ends
    assert_eq!(
        store.claim_source("s", "b", 110, 170, true).await.unwrap(),
        Claim::NotBefore(160)
    );
    // a renews while its poll runs long
    assert_eq!(
        store.take_lease("source:s", "a", 150, 210).await.unwrap(),
        Claim::Granted
    );
    assert_eq!(
        store.claim_source("s", "b", 170, 230, true).await.unwrap(),
        Claim::NotBefore(210)
    );
    // a finishes: its schedule is recorded, then the lease released
    store.record_poll_success("s", None, 200).await.unwrap();
    store.record_next_poll("s", 1_000).await.unwrap();
    store.release_lease("source:s", "a").await.unwrap();
    // b is not due before a's schedule says so
    assert_eq!(
        store.claim_source("s", "b", 210, 270, true).await.unwrap(),
        Claim::NotBefore(1_000)
    );
    // a poll woken early (not due-only) only needs the lease to be free
    assert_eq!(
        store.claim_source("s", "b", 220, 280, false).await.unwrap(),
        Claim::Granted
    );
    // b dies holding it; at 1_000 the source is due but b's lease runs to 280 only
    assert_eq!(
        store
            .claim_source("s", "c", 1_000, 1_060, true)
            .await
            .unwrap(),
        Claim::Granted
    );
    // releasing someone else's lease does nothing
    store.release_lease("source:s", "b").await.unwrap();
    assert_eq!(
        store
            .claim_source("s", "b", 1_010, 1_070, false)
            .await
            .unwrap(),
        Claim::NotBefore(1_060)
    );
}

/// Concurrent claims of one due source: exactly one instance wins.
pub(super) async fn concurrent_source_claims_grant_one(store: &Store) {
    let mut claims = Vec::new();
    for index in 0..8 {
        let store = store.clone();
        claims.push(tokio::spawn(async move {
            store
                .claim_source("s", &format!("i{index}"), 100, 200, true)
                .await
                .unwrap()
        }));
    }
    let mut granted = 0;
    for claim in claims {
        if claim.await.unwrap() == Claim::Granted {
            granted += 1;
        }
    }
    assert_eq!(granted, 1);
}

/// An outbox row is attempted by one instance at a time; a crashed attempt is due again for
/// another instance when its lease ends, with the same alert id.
pub(super) async fn delivery_leases(store: &Store) {
    let new = NewAlert {
        id: "al_1".to_string(),
        fingerprint: None,
        title: "t".to_string(),
        watchlist: "w".to_string(),
        article_url: "https://x/1".to_string(),
        source: "s".to_string(),
        payload: "{}".to_string(),
        sinks: vec!["hook".to_string()],
    };
    store
        .commit_entry("s", "e", None, &[new], 100)
        .await
        .unwrap();
    assert_eq!(
        store.due_deliveries("hook", 100, 10).await.unwrap().len(),
        1
    );
    assert!(store
        .claim_delivery("al_1", "hook", "a", 100, 160)
        .await
        .unwrap());
    assert!(!store
        .claim_delivery("al_1", "hook", "b", 101, 161)
        .await
        .unwrap());
    // not due for anyone while a attempts it; the delivery loop sleeps until the lease ends
    assert!(store
        .due_deliveries("hook", 150, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.next_due("hook").await.unwrap(), Some(160));
    let live = store.live_instances(0, 150).await.unwrap();
    assert!(live.is_empty(), "no heartbeat yet: {live:?}");
    // a crashed: b takes it over after the lease, same alert id
    let due = store.due_deliveries("hook", 160, 10).await.unwrap();
    assert_eq!(due[0].alert_id, "al_1");
    assert_eq!(due[0].attempts, 0);
    assert!(store
        .claim_delivery("al_1", "hook", "b", 160, 220)
        .await
        .unwrap());
    store.mark_delivered("al_1", "hook", 170).await.unwrap();
    assert!(!store
        .claim_delivery("al_1", "hook", "a", 300, 360)
        .await
        .unwrap());
    assert_eq!(store.outbox_counts().await.unwrap().delivered, 1);
}

/// A digest is attempted as one: all its members leased by one instance, or none.
pub(super) async fn digest_leases(store: &Store) {
    for index in 0..3 {
        let new = NewAlert {
            id: format!("al_{index}"),
            fingerprint: None,
            title: "t".to_string(),
            watchlist: "w".to_string(),
            article_url: format!("https://x/{index}"),
            source: "s".to_string(),
            payload: "{}".to_string(),
            sinks: vec!["hook".to_string()],
        };
        store
            .commit_entry("s", &format!("e{index}"), None, &[new], 100)
            .await
            .unwrap();
    }
    let digest = store
        .form_digest("hook", 100, 10, 100, |_| "dig_1".to_string())
        .await
        .unwrap()
        .unwrap();
    assert!(store
        .claim_digest("hook", &digest, "a", 100, 160)
        .await
        .unwrap());
    assert!(!store
        .claim_digest("hook", &digest, "b", 110, 170)
        .await
        .unwrap());
    assert!(store.due_digests("hook", 150).await.unwrap().is_empty());
    assert_eq!(
        store.due_digests("hook", 160).await.unwrap(),
        vec![digest.clone()]
    );
    assert!(store
        .claim_digest("hook", &digest, "b", 160, 220)
        .await
        .unwrap());
    // its holder may attempt it again within its lease (a chat digest's follow-up message);
    // nobody else may
    assert!(store
        .claim_digest("hook", &digest, "b", 165, 225)
        .await
        .unwrap());
    assert!(!store
        .claim_digest("hook", &digest, "a", 166, 226)
        .await
        .unwrap());
    store
        .settle_digest("hook", &digest, Settlement::Delivered { now: 170 })
        .await
        .unwrap();
    assert!(!store
        .claim_digest("hook", &digest, "a", 300, 360)
        .await
        .unwrap());
}

/// Heartbeats, the live list with leases and in-flight rows, a name taken by a live process,
/// and a clean leave.
pub(super) async fn instances_and_heartbeats(store: &Store) {
    assert!(store
        .heartbeat(&instance("a", 1, 100, "h1"), 40)
        .await
        .unwrap());
    assert!(store
        .heartbeat(&instance("b", 2, 100, "h2"), 40)
        .await
        .unwrap());
    // another process (another start time) under a live name is refused
    assert!(!store
        .heartbeat(&instance("a", 9, 110, "h1"), 50)
        .await
        .unwrap());
    store.claim_source("s", "a", 100, 200, true).await.unwrap();
    store.take_lease("websub:t", "b", 100, 200).await.unwrap();
    let live = store.live_instances(50, 150).await.unwrap();
    let names: Vec<&str> = live
        .iter()
        .map(|entry| entry.instance.name.as_str())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(live[0].instance.started_at, 1);
    assert_eq!(live[0].leases, vec![("source:s".to_string(), 200)]);
    assert_eq!(live[1].leases, vec![("websub:t".to_string(), 200)]);
    assert_eq!(live[1].instance.config_hash, "h2");
    // b stops heartbeating: after a while it is no longer live, and a may reuse a stale name
    assert!(store
        .heartbeat(&instance("a", 1, 300, "h1"), 240)
        .await
        .unwrap());
    let live = store.live_instances(250, 300).await.unwrap();
    assert_eq!(live.len(), 1);
    assert!(store
        .heartbeat(&instance("b", 7, 310, "h2"), 250)
        .await
        .unwrap());
    // a leaves: gone from the list, its lease free at once
    store.leave("a", 320).await.unwrap();
    let live = store.live_instances(250, 320).await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(
        store.claim_source("s", "b", 320, 400, false).await.unwrap(),
        Claim::Granted
    );
    // b is killed: a day after its last heartbeat, another instance's heartbeat forgets it
    let day = 24 * 3600 * 1000;
    assert!(store
        .heartbeat(&instance("c", 8, 500 + day, "h3"), 400 + day)
        .await
        .unwrap());
    let everyone = store.live_instances(0, 0).await.unwrap();
    let names: Vec<&str> = everyone
        .iter()
        .map(|entry| entry.instance.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["c"],
        "a dead instance's row outlives a day: {everyone:?}"
    );
}

/// Shared turns (per-host politeness and sink rate limits across instances): starts spaced by
/// the gap whoever asks, in-flight slots capped across holders, a released or expired slot
/// free again. The clock is the database's, so waits are compared with a wide margin.
pub(super) async fn turns_pace_and_cap_across_holders(store: &Store) {
    let minute = 60_000;
    let first = store
        .take_turn("host:a:443", "a", Some(2), minute, 30_000)
        .await
        .unwrap();
    let TurnGrant::Granted {
        slot: Some(first_slot),
        wait: 0,
    } = first
    else {
        panic!("the first turn starts at once: {first:?}");
    };
    // another instance: the other slot, a start one gap later
    let second = store
        .take_turn("host:a:443", "b", Some(2), minute, 30_000)
        .await
        .unwrap();
    let TurnGrant::Granted {
        slot: Some(second_slot),
        wait,
    } = second
    else {
        panic!("the second slot is free: {second:?}");
    };
    assert_ne!(first_slot, second_slot);
    assert!((minute - 10_000..=minute).contains(&wait), "{wait}");
    // both slots held: a third request waits for one
    assert_eq!(
        store
            .take_turn("host:a:443", "c", Some(2), minute, 30_000)
            .await
            .unwrap(),
        TurnGrant::Busy
    );
    // another host is independent
    assert!(matches!(
        store
            .take_turn("host:b:443", "c", Some(2), minute, 30_000)
            .await
            .unwrap(),
        TurnGrant::Granted { wait: 0, .. }
    ));
    // only its holder gives a slot back
    store
        .release_turn("host:a:443", first_slot, "b")
        .await
        .unwrap();
    assert_eq!(
        store
            .take_turn("host:a:443", "c", Some(2), minute, 30_000)
            .await
            .unwrap(),
        TurnGrant::Busy
    );
    store
        .release_turn("host:a:443", first_slot, "a")
        .await
        .unwrap();
    let third = store
        .take_turn("host:a:443", "c", Some(2), minute, 30_000)
        .await
        .unwrap();
    let TurnGrant::Granted {
        slot: Some(third_slot),
        wait,
    } = third
    else {
        panic!("a released slot is free: {third:?}");
    };
    assert_eq!(third_slot, first_slot);
    assert!((2 * minute - 10_000..=2 * minute).contains(&wait), "{wait}");
    // a slot held by a dead instance is free once its hold runs out
    store
        .take_turn("host:d:443", "dead", Some(1), 0, 1)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert!(matches!(
        store
            .take_turn("host:d:443", "alive", Some(1), 0, 1_000)
            .await
            .unwrap(),
        TurnGrant::Granted { slot: Some(0), .. }
    ));
    // without slots (a sink's rate limit): only the spacing
    for expected in [0, 1] {
        let TurnGrant::Granted { slot: None, wait } = store
            .take_turn("sink:hook", "a", None, minute, 0)
            .await
            .unwrap()
        else {
            panic!("turns without slots are never busy");
        };
        assert!(
            (expected * minute - 10_000..=expected * minute).contains(&wait),
            "{wait}"
        );
    }
}
