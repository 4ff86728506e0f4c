//! The payloads Mattermost sends to integrations (PROTOCOL.md §1–§4), typed, with field names
//! exactly as Mattermost writes them. Parsing never panics: bad input is a [`PayloadError`].

mod slash_command;

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
