//! End-to-end tests: the real Switchboard against the simulated Mattermost, over HTTP on
//! 127.0.0.1 with OS-picked ports. One binary, a module per feature.

// Test helpers panic on setup failures by design: a broken fixture should stop the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Items are `pub` for sibling test modules; nothing here is a public API.
#![allow(unreachable_pub)]

mod callbacks;
mod check;
mod connections;
mod dialog_files;
mod dialogs;
mod editor;
mod helpers;
mod hostile_corpus;
mod hostile_values;
mod http_lookups;
mod job_messages;
mod late_answers;
mod lease;
mod log_drops;
mod log_injection;
mod lookups;
mod ops;
mod reconcile;
mod redis_server;
mod replay;
mod replicas;
mod resume;
mod routes;
mod scaffold;
mod sim_callbacks;
mod skeleton;
mod takeover;
mod triggers;
mod validation;
mod webhook_replay;
