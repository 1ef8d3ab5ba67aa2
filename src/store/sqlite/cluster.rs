//! The cluster methods on SQLite, honestly trivial: a SQLite state directory is locked by one
//! process (see `daemon::State`), so there is never a second instance to share work with.
//! Every lease is granted, nothing is recorded, and no instance is listed. It deliberately keeps
//! no tables for this: the single-instance behaviour stays exactly what it was.

use super::SqliteStore;
use crate::store::{Claim, Instance, LiveInstance, Millis, StoreError, TurnGrant};

impl SqliteStore {
    pub fn heartbeat(
        &self,
        _instance: &Instance,
        _stale_before: Millis,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }

    pub fn leave(&self, _name: &str, _now: Millis) -> Result<(), StoreError> {
        Ok(())
    }

    pub fn live_instances(
        &self,
        _since: Millis,
        _now: Millis,
    ) -> Result<Vec<LiveInstance>, StoreError> {
        Ok(Vec::new())
    }

    pub fn take_lease(
        &self,
        _name: &str,
        _holder: &str,
        _now: Millis,
        _until: Millis,
    ) -> Result<Claim, StoreError> {
        Ok(Claim::Granted)
    }

    pub fn claim_source(
        &self,
        _source: &str,
        _holder: &str,
        _now: Millis,
        _until: Millis,
        _due_only: bool,
    ) -> Result<Claim, StoreError> {
        Ok(Claim::Granted)
    }

    pub fn release_lease(&self, _name: &str, _holder: &str) -> Result<(), StoreError> {
        Ok(())
    }

    pub fn claim_delivery(
        &self,
        _alert_id: &str,
        _sink: &str,
        _holder: &str,
        _now: Millis,
        _until: Millis,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }

    pub fn claim_digest(
        &self,
        _sink: &str,
        _digest_id: &str,
        _holder: &str,
        _now: Millis,
        _until: Millis,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// One process: its own pacing (`fetch::politeness`, the sink's bucket) is the whole truth.
    pub fn take_turn(
        &self,
        _key: &str,
        _holder: &str,
        _slots: Option<u32>,
        _gap: Millis,
        _hold: Millis,
    ) -> Result<TurnGrant, StoreError> {
        Ok(TurnGrant::Granted {
            slot: None,
            wait: 0,
        })
    }

    pub fn release_turn(&self, _key: &str, _slot: i32, _holder: &str) -> Result<(), StoreError> {
        Ok(())
    }
}
