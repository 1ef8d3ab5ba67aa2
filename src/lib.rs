//! wirewatch: a news-monitoring daemon. It polls news sources, fetches every new article, turns it
//! into a structured document, matches it against keyword watchlists and delivers alerts durably.
//!
//! The codemap — what each module and file does, and the invariants between them — is kept in
//! one place, README.md "Architecture"; each module's `//!` paragraph says the rest. The
//! document format is docs/FORMAT.md, the query language docs/QUERY.md.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod alert;
pub mod archive;
pub mod assemble;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod encoding;
pub mod extract;
pub mod fetch;
pub mod model;
pub mod retention;
pub mod rules;
pub mod schedule;
pub mod secret;
pub mod similarity;
pub mod sink;
pub mod source;
pub mod store;
pub mod target_url;
pub mod template;
#[doc(hidden)]
pub mod testing;
pub mod text_safety;
pub mod websub;
