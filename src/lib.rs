//! Switchboard: a self-hosted Mattermost integration server, and the typed Mattermost API v4
//! client inside it.
//!
//! Layout:
//! - [`mattermost`]: the API client (usable on its own).
//! - [`config`]: settings from defaults, `config.toml` and `SWITCHBOARD_*` environment variables.
//! - [`integrations`]: loads and validates `routes/*.toml`; one module per action kind.
//! - [`reconcile`]: registers the routes' slash commands in Mattermost at startup.
//! - [`server`]: the axum app that receives Mattermost's callbacks.
//! - [`signing`]: HMAC signatures on dialog state and action context, with key rotation.
//! - [`startup`]: wires it all into an [`startup::Application`].
//! - [`schema`]: the route language's JSON Schema; [`scaffold`]: `switchboard new`.
//! - [`store`]: what replicas share (single-use records, limits, caches): in-process or Redis.
//! - [`metrics`]: Prometheus metrics and the helpers every module counts through.
//! - [`sim`]: a simulated Mattermost for `switchboard dev` and the tests (feature `sim`).

pub mod cli;
pub mod config;
pub mod coordination;
#[cfg(feature = "sim")]
pub mod dev;
pub mod healthcheck;
pub mod integrations;
pub mod mattermost;
pub mod metrics;
pub mod protocol;
pub mod reconcile;
pub mod scaffold;
pub mod schema;
pub mod server;
pub mod signing;
#[cfg(feature = "sim")]
pub mod sim;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tokens;
pub mod triggers;
