//! Request and response bodies, one file per resource.
//!
//! Conventions: fields sorted alphabetically, with a doc line each; optional
//! fields are skipped on output when `None` but an explicitly set value (`false`, `0`, `""`,
//! an empty list) is always sent; objects that round-trip keep unknown fields in `extra`.

mod attachment;
mod channel;
mod command;
mod command_response;
mod dialog;
mod misc;
mod post;
mod team;
mod user;
mod webhook;

pub use attachment::{
    ActionIntegration, ActionOption, AttachmentField, MessageAttachment, PostAction,
};
pub use channel::{Channel, ChannelMember, ChannelPatch, NewChannel, SchemeRoles};
pub use command::{Command, CommandMethod, CommandsListQuery};
pub use command_response::{CommandResponse, ResponseType};
pub use dialog::{
    DateTimeConfig, Dialog, DialogElement, DialogElementType, DialogOption, DialogSubmission,
    DialogSubmissionResponse,
};
pub use misc::{
    AutocompleteSuggestion, Bot, BotPatch, Emoji, Group, GroupMember, GroupMembers, Role,
    SystemStatus,
};
pub use post::{
    FileInfo, FileUploadResponse, Post, PostActionResponse, PostList, PostPatch, PostSearchResults,
    Reaction,
};
pub use team::{
    NewTeam, Team, TeamMember, TeamPatch, TeamSearchResults, TeamStats, TeamsWithCount,
};
pub use user::{
    CustomStatus, NewUser, Preference, Session, Status, User, UserAccessToken, UserAutocomplete,
    UserPatch, UserSearch,
};
pub use webhook::{IncomingWebhook, IncomingWebhookPayload, OutgoingWebhook};

/// A JSON object, for props and unknown fields.
///
/// API: <https://api.mattermost.com/> (introduction, *Schema & Conventions*).
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// `{"status":"OK"}`, the answer of many write calls.
///
/// API: <https://api.mattermost.com/> (introduction, *Schema & Conventions*).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct StatusOk {
    /// `"OK"`.
    pub status: String,
}
