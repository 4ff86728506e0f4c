//! A typed, async client for the Mattermost REST API v4.
//!
//! Layout:
//! - [`Client`] / [`ClientBuilder`] (`client.rs`, `client/builder.rs`): one cheap-to-clone
//!   handle over one pooled connection set; every call goes through [`Client::execute`], which
//!   owns auth, retries and tracing.
//! - `endpoints.rs`: the one table of method + templated path; URLs, span names and error
//!   messages are built from it, never from raw strings.
//! - `request.rs`: [`ApiRequest`], a request built but not sent, so its shape is unit-testable.
//! - `error.rs`: one [`Error`] enum; Mattermost's error body is decoded in exactly one place.
//! - `retry.rs`: the [`RetryPolicy`] (429 / 5xx back-off).
//! - `ids.rs`: a newtype per id kind, so a channel id cannot be passed as a user id.
//! - `models/`: request and response bodies, one file per resource.
//! - `api/`: per-resource handles (`client.users()`, `client.commands()` …).
//!
//! ```no_run
//! # async fn demo() -> Result<(), switchboard::mattermost::Error> {
//! use switchboard::mattermost::Client;
//! let client = Client::builder("https://chat.example.com").token("bot-token").build()?;
//! let me = client.users().me().await?;
//! println!("logged in as {}", me.username);
//! # Ok(()) }
//! ```

// Every public item says which part of the API it maps to; keep it that way.
#![warn(missing_docs)]

pub mod api;
mod client;
pub mod endpoints;
mod error;
mod ids;
pub mod models;
mod pagination;
mod request;
mod retry;
pub mod websocket;

pub use client::{Client, ClientBuilder, ResponseObserver};
pub use endpoints::Endpoint;
pub use error::{AppError, Error};
pub use ids::{
    ChannelId, CommandId, EmojiId, FileId, GroupId, HookId, PostId, SessionId, TeamId, UserId,
    is_valid_id,
};
pub use pagination::{DEFAULT_PER_PAGE, ItemStream, MAX_PER_PAGE};
pub(crate) use request::guess_mime;
pub use request::{ApiRequest, Multipart, PartReader, RequestBody};
pub use retry::RetryPolicy;
pub use websocket::{EventStream, WebSocketOptions, WsEvent, WsEventKind, WsItem};

/// Result type of every client call.
///
/// API: <https://api.mattermost.com/> (introduction).
pub type Result<T, E = Error> = std::result::Result<T, E>;
