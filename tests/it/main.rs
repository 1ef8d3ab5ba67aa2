//! The one integration-test binary: every module below drives the real `wirewatch` binary or
//! the library over real files and loopback HTTP. One binary links the crate once, which is
//! what keeps CI time in budget on two cores. Shared harness: `common`.

mod common;

mod archive;
mod cli;
mod cluster;
mod console;
mod corpus;
mod delivery;
mod deploy;
mod fetch_hardening;
mod hostile;
mod listener;
mod migrate_store;
mod nats;
mod operations;
mod pipeline;
mod postgres;
mod postgres_outage;
mod robustness;
mod seed;
mod sinks;
mod snapshots_pages;
mod soak;
mod source_kinds;
mod source_pages;
mod state;
mod stories;
mod watchlist_limits;
mod websub;
