//! Several instances on one database share the work: this file holds the instances' heartbeats
//! and the leases that make each piece of work one instance's at a time — a source's poll, a
//! WebSub subscription's renewal (both rows of `leases`, named `source:NAME` / `websub:NAME`)
//! and an outbox row's attempt (its `next_attempt_at` moved to the lease's end, so the row is
//! simply not due for anyone else, and due again for everyone if its holder dies).
//!
//! It decides nothing about schedules or lease lengths: the caller passes `now` and the expiry.

use super::PostgresStore;
use crate::store::{Claim, Instance, LiveInstance, Millis, StoreError, TurnGrant};

/// How long a dead instance's row and an unused lease's row are kept: a day, long past any
/// lease, long enough for `wirewatch cluster` readers to have seen them go.
const FORGET_AFTER: Millis = 24 * 3600 * 1000;

impl PostgresStore {
    /// Announces `instance` (or refreshes its heartbeat). False when another live process
    /// (heartbeat after `stale_before`, another start time) already uses the name: the row is
    /// then left alone.
    pub async fn heartbeat(
        &self,
        instance: &Instance,
        stale_before: Millis,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let written = client
            .execute(
                "INSERT INTO instances (name, started_at, heartbeat_at, config_hash, version)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (name) DO UPDATE SET started_at = EXCLUDED.started_at,
                     heartbeat_at = EXCLUDED.heartbeat_at, config_hash = EXCLUDED.config_hash,
                     version = EXCLUDED.version
                 WHERE instances.started_at = EXCLUDED.started_at OR instances.heartbeat_at < $6",
                &[
                    &instance.name,
                    &instance.started_at,
                    &instance.heartbeat_at,
                    &instance.config_hash,
                    &instance.version,
                    &stale_before,
                ],
            )
            .await?;
        // An instance killed without `leave` keeps its row, and a source dropped from the
        // config keeps its lease row: both are forgotten a day after they last meant anything,
        // so a crash-looping host (a new hostname-pid each start) cannot grow the tables.
        let forgotten = instance.heartbeat_at.saturating_sub(FORGET_AFTER);
        client
            .execute(
                "DELETE FROM instances WHERE heartbeat_at < $1",
                &[&forgotten],
            )
            .await?;
        client
            .execute("DELETE FROM leases WHERE expires_at < $1", &[&forgotten])
            .await?;
        // and so are the pacing rows of a host nobody has fetched from for a day
        client
            .execute(
                "DELETE FROM turn_starts WHERE next_start < $1",
                &[&forgotten],
            )
            .await?;
        client
            .execute(
                "DELETE FROM turn_slots WHERE expires_at < $1",
                &[&forgotten],
            )
            .await?;
        Ok(written == 1)
    }

    /// A clean stop: the instance leaves the list, its leases end now and the outbox rows it
    /// was attempting are due again at `now`.
    pub async fn leave(&self, name: &str, now: Millis) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        transaction
            .execute("DELETE FROM instances WHERE name = $1", &[&name])
            .await?;
        transaction
            .execute(
                "UPDATE leases SET expires_at = 0 WHERE holder = $1",
                &[&name],
            )
            .await?;
        transaction
            .execute(
                "UPDATE deliveries SET next_attempt_at = $2, lease_holder = NULL
                 WHERE lease_holder = $1 AND state = 'pending' AND next_attempt_at > $2",
                &[&name, &now],
            )
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Instances whose heartbeat is not older than `since`, by name, with the leases they hold
    /// at `now`.
    pub async fn live_instances(
        &self,
        since: Millis,
        now: Millis,
    ) -> Result<Vec<LiveInstance>, StoreError> {
        let client = self.client().await?;
        let mut live: Vec<LiveInstance> = client
            .query(
                "SELECT name, started_at, heartbeat_at, config_hash, version FROM instances
                 WHERE heartbeat_at >= $1 ORDER BY name",
                &[&since],
            )
            .await?
            .iter()
            .map(|row| LiveInstance {
                instance: Instance {
                    name: row.get(0),
                    started_at: row.get(1),
                    heartbeat_at: row.get(2),
                    config_hash: row.get(3),
                    version: row.get(4),
                },
                leases: Vec::new(),
                deliveries: 0,
            })
            .collect();
        for row in client
            .query(
                "SELECT holder, name, expires_at FROM leases WHERE expires_at > $1 ORDER BY name",
                &[&now],
            )
            .await?
        {
            let holder: String = row.get(0);
            if let Some(entry) = live.iter_mut().find(|entry| entry.instance.name == holder) {
                entry.leases.push((row.get(1), row.get(2)));
            }
        }
        for row in client
            .query(
                "SELECT lease_holder, COUNT(*) FROM deliveries
                 WHERE state = 'pending' AND lease_holder IS NOT NULL AND next_attempt_at > $1
                 GROUP BY lease_holder",
                &[&now],
            )
            .await?
        {
            let holder: String = row.get(0);
            if let Some(entry) = live.iter_mut().find(|entry| entry.instance.name == holder) {
                entry.deliveries = u64::try_from(row.get::<_, i64>(1)).unwrap_or(0);
            }
        }
        Ok(live)
    }

    /// Takes (or renews) the lease `name` for `holder` until `until`, unless another holder's
    /// lease runs past `now`.
    pub async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: Millis,
        until: Millis,
    ) -> Result<Claim, StoreError> {
        self.claim(name, holder, now, until, None).await
    }

    /// Takes the lease of polling `source` — when no other instance holds it and, with
    /// `due_only`, only once the source's next poll (the last poller's schedule) is due. The
    /// lease row is locked first, so two instances asking at once are served one after the other
    /// and the second sees the first's schedule.
    pub async fn claim_source(
        &self,
        source: &str,
        holder: &str,
        now: Millis,
        until: Millis,
        due_only: bool,
    ) -> Result<Claim, StoreError> {
        let lease = format!("source:{source}");
        self.claim(&lease, holder, now, until, due_only.then_some(source))
            .await
    }

    async fn claim(
        &self,
        name: &str,
        holder: &str,
        now: Millis,
        until: Millis,
        due_source: Option<&str>,
    ) -> Result<Claim, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        transaction
            .execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES ($1, '', 0)
                 ON CONFLICT (name) DO NOTHING",
                &[&name],
            )
            .await?;
        let row = transaction
            .query_one(
                "SELECT holder, expires_at FROM leases WHERE name = $1 FOR UPDATE",
                &[&name],
            )
            .await?;
        let (current, expires_at): (String, Millis) = (row.get(0), row.get(1));
        if current != holder && expires_at > now {
            return Ok(Claim::NotBefore(expires_at));
        }
        if let Some(source) = due_source {
            let next: Option<Option<Millis>> = transaction
                .query_opt(
                    "SELECT next_poll_at FROM source_state WHERE source = $1",
                    &[&source],
                )
                .await?
                .map(|row| row.get(0));
            if let Some(Some(next)) = next {
                if next > now {
                    return Ok(Claim::NotBefore(next));
                }
            }
        }
        transaction
            .execute(
                "UPDATE leases SET holder = $2, expires_at = $3 WHERE name = $1",
                &[&name, &holder, &until],
            )
            .await?;
        transaction.commit().await?;
        Ok(Claim::Granted)
    }

    /// Ends `holder`'s lease `name` now (nothing if someone else holds it).
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE leases SET expires_at = 0 WHERE name = $1 AND holder = $2",
                &[&name, &holder],
            )
            .await?;
        Ok(())
    }

    /// Leases one due outbox row for one attempt: true when this caller may send it. The row
    /// is not due for anyone until `until` (or until it is settled).
    pub async fn claim_delivery(
        &self,
        alert_id: &str,
        sink: &str,
        holder: &str,
        now: Millis,
        until: Millis,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let claimed = client
            .execute(
                "UPDATE deliveries SET next_attempt_at = $5, lease_holder = $3
                 WHERE alert_id = $1 AND sink = $2 AND state = 'pending' AND next_attempt_at <= $4",
                &[&alert_id, &sink, &holder, &now, &until],
            )
            .await?;
        Ok(claimed == 1)
    }

    /// Leases every pending member of a due digest for one attempt, all or none.
    pub async fn claim_digest(
        &self,
        sink: &str,
        digest_id: &str,
        holder: &str,
        now: Millis,
        until: Millis,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        // locked first: a second claimer waits, then sees the moved times and backs off. Rows
        // this holder already leases count as due: a chat digest cut by the sink's size limit
        // sends its unlisted rest right after, within the same lease.
        let due: Vec<Millis> = transaction
            .query(
                "SELECT CASE WHEN lease_holder = $3 THEN LEAST(next_attempt_at, $4)
                             ELSE next_attempt_at END
                 FROM deliveries
                 WHERE sink = $1 AND digest_id = $2 AND state = 'pending' FOR UPDATE",
                &[&sink, &digest_id, &holder, &now],
            )
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        if due.iter().min().is_none_or(|first| *first > now) {
            return Ok(false);
        }
        transaction
            .execute(
                "UPDATE deliveries SET next_attempt_at = $4, lease_holder = $3
                 WHERE sink = $1 AND digest_id = $2 AND state = 'pending'",
                &[&sink, &digest_id, &holder, &until],
            )
            .await?;
        transaction.commit().await?;
        Ok(true)
    }

    /// A turn at `key`: a free in-flight slot if `slots` are asked for (none free: `Busy`),
    /// then a start `gap` after the previous turn's, all in one transaction and by the
    /// database's clock.
    pub async fn take_turn(
        &self,
        key: &str,
        holder: &str,
        slots: Option<u32>,
        gap: Millis,
        hold: Millis,
    ) -> Result<TurnGrant, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        let now: Millis = transaction
            .query_one(
                "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT",
                &[],
            )
            .await?
            .get(0);
        let slot = match slots {
            None => None,
            Some(count) => {
                let count = i32::try_from(count.max(1)).unwrap_or(i32::MAX);
                let take = "UPDATE turn_slots SET holder = $3, expires_at = $4
                     WHERE key = $1 AND slot = (
                         SELECT slot FROM turn_slots
                         WHERE key = $1 AND slot < $2 AND expires_at <= $5
                         ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED)
                     RETURNING slot";
                let until = now.saturating_add(hold);
                let arguments: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
                    [&key, &count, &holder, &until, &now];
                let mut free = transaction.query_opt(take, &arguments).await?;
                if free.is_none() {
                    // the key's slots may not exist yet (a host never fetched, or a larger
                    // per_host_connections): create the missing ones free, then ask again
                    let created = transaction
                        .execute(
                            "INSERT INTO turn_slots (key, slot, holder, expires_at)
                             SELECT $1, number, '', 0 FROM generate_series(0, $2::INTEGER - 1) AS number
                             ON CONFLICT (key, slot) DO NOTHING",
                            &[&key, &count],
                        )
                        .await?;
                    if created > 0 {
                        free = transaction.query_opt(take, &arguments).await?;
                    }
                }
                match free {
                    Some(row) => Some(row.get::<_, i32>(0)),
                    None => return Ok(TurnGrant::Busy),
                }
            }
        };
        let start: Millis = transaction
            .query_one(
                "INSERT INTO turn_starts (key, next_start) VALUES ($1, $2::BIGINT + $3::BIGINT)
                 ON CONFLICT (key) DO UPDATE
                     SET next_start = GREATEST(turn_starts.next_start, $2::BIGINT) + $3::BIGINT
                 RETURNING next_start - $3::BIGINT",
                &[&key, &now, &gap],
            )
            .await?
            .get(0);
        transaction.commit().await?;
        Ok(TurnGrant::Granted {
            slot,
            wait: start.saturating_sub(now).max(0),
        })
    }

    pub async fn release_turn(&self, key: &str, slot: i32, holder: &str) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "UPDATE turn_slots SET expires_at = 0 WHERE key = $1 AND slot = $2 AND holder = $3",
                &[&key, &slot, &holder],
            )
            .await?;
        Ok(())
    }
}
