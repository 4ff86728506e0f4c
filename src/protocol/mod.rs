//! The payloads Mattermost sends to integrations (PROTOCOL.md §1–§4) and the answers it reads,
//! typed, with field names exactly as Mattermost writes them. Parsing never panics: bad input
//! is a [`PayloadError`].
//!
//! | module | inbound | answer |
//! |---|---|---|
//! | `slash_command` | [`SlashCommandRequest`] (form or query) | `CommandResponse` (shared with the client) |
//! | `outgoing_webhook` | [`OutgoingWebhookRequest`] (JSON or form) | [`OutgoingWebhookResponse`] |
//! | `dialog` | [`DialogSubmissionRequest`] (JSON) | [`DialogResponse`] |
//! | `action` | [`PostActionRequest`] (JSON) | [`ActionResponse`] |
//!
//! Also here: `response_url` delivery with Mattermost's use limits (`response_url.rs`) and
//! splitting over-long command replies into `extra_responses` (`command_response.rs`).
//!
//! Message attachments are the client's [`MessageAttachment`](crate::mattermost::models::MessageAttachment):
//! one model for posts, replies and action updates.

mod action;
mod command_response;
mod dialog;
mod form;
mod json;
mod outgoing_webhook;
mod response_url;
mod slash_command;

pub use action::{ActionResponse, PostActionRequest, PostUpdate};
pub use command_response::{
    POST_MESSAGE_MAX_CHARS, clip_to_post_limit, split_long_text, split_text,
};
pub use dialog::{DialogResponse, DialogSubmissionRequest, LookupItem, LookupResponse};
pub use outgoing_webhook::{OutgoingWebhookRequest, OutgoingWebhookResponse};
pub use response_url::{
    LIFETIME as RESPONSE_URL_LIFETIME, MAX_USES as RESPONSE_URL_MAX_USES, ResponseUrlError,
    ResponseUrls, RetryPolicy as ResponseUrlRetry,
};
pub use slash_command::{Mention, SlashCommandRequest};

/// Why a callback body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// A required field is absent.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// The body is not valid for its content type.
    #[error("malformed body: {0}")]
    Malformed(String),
}

/// Caller-sent text as it may appear in an error (answered to the caller, logged): at most
/// `max` characters, and everything but printable characters escaped as Rust escapes them, so
/// a key cannot break a log line or drive a terminal.
pub(crate) fn printable(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// Mattermost's built-in slash-command triggers (PROTOCOL.md §1.1); a custom command cannot use
/// them. One list for the whole crate: route validation and the simulator both read it.
pub const BUILT_IN_TRIGGERS: &[&str] = &[
    "away",
    "offline",
    "online",
    "dnd",
    "code",
    "collapse",
    "expand",
    "echo",
    "header",
    "invite",
    "invite_people",
    "purpose",
    "rename",
    "help",
    "kick",
    "remove",
    "join",
    "open",
    "leave",
    "mute",
    "logout",
    "me",
    "msg",
    "groupmsg",
    "search",
    "settings",
    "shortcuts",
    "shrug",
    "status",
    "marketplace",
];
