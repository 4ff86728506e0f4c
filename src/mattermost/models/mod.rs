//! Request and response bodies, one file per resource.
//!
//! Conventions: fields sorted as the API reference lists them, with a doc line each; optional
//! fields are skipped on output when `None` but an explicitly set value (`false`, `0`, `""`,
//! an empty list) is always sent; objects that round-trip keep unknown fields in `extra`.

mod attachment;
mod command;
mod command_response;
mod team;
mod user;

pub use attachment::{
    ActionIntegration, ActionOption, AttachmentField, MessageAttachment, PostAction,
};
pub use command::{Command, CommandMethod, CommandsListQuery};
pub use command_response::{CommandResponse, ResponseType};
pub use team::Team;
pub use user::User;

/// `{"status":"OK"}`, the answer of many write calls.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct StatusOk {
    /// `"OK"`.
    pub status: String,
}
