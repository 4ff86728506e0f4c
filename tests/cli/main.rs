//! The `switchboard` binary as a person runs it: from the repository root, with the shipped
//! `config.toml` and `routes/` (relative paths, default settings), exactly as the README says.
//! Nothing here calls the library: every test starts the compiled binary.

// Test helpers panic on setup failures by design: a broken fixture should stop the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Items are `pub` for sibling test modules; nothing here is a public API.
#![allow(unreachable_pub)]

mod check;
mod config;
mod dev;
mod page;
mod serve;
mod support;
mod transcripts;
