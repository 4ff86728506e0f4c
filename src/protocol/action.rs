//! The message-action callback — a button click or menu choice (PROTOCOL.md §4.2) — and its
//! reply (§4.3).
//!
//! `context` is whatever the integration put into the action, plus `selected_option` for
//! menus. It passes through Mattermost only (clients get an encrypted cookie), but anyone who
//! can reach our URL can forge it, so Switchboard signs it (see [`crate::signing`]).

use serde::{Deserialize, Serialize};

use super::PayloadError;
use super::json::{from_slice, null_default};
use crate::mattermost::models::{Extra, MessageAttachment};

/// What Mattermost sends when a user clicks a button or picks a menu option.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PostActionRequest {
    /// The channel of the post.
    #[serde(default, deserialize_with = "null_default")]
    pub channel_id: String,
    /// That channel's URL name.
    #[serde(default, deserialize_with = "null_default")]
    pub channel_name: String,
    /// The action's `integration.context`, plus `selected_option` for menus.
    #[serde(default, deserialize_with = "null_default")]
    pub context: Extra,
    /// A menu's data source (`users`, `channels`) when an option was picked, else `""`.
    #[serde(default, deserialize_with = "null_default")]
    pub data_source: String,
    /// The post with the action.
    #[serde(default, deserialize_with = "null_default")]
    pub post_id: String,
    /// The team's URL name (`""` in DMs).
    #[serde(default, deserialize_with = "null_default")]
    pub team_domain: String,
    /// The team (`""` in DMs).
    #[serde(default, deserialize_with = "null_default")]
    pub team_id: String,
    /// A fresh trigger id, for opening a dialog in answer.
    #[serde(default, deserialize_with = "null_default")]
    pub trigger_id: String,
    /// `button` or `select`.
    #[serde(default, rename = "type", deserialize_with = "null_default")]
    pub kind: String,
    /// The clicking user (from the session).
    #[serde(default, deserialize_with = "null_default")]
    pub user_id: String,
    /// The clicking user's username.
    #[serde(default, deserialize_with = "null_default")]
    pub user_name: String,
}

impl PostActionRequest {
    /// Parses the JSON body.
    pub fn from_json(body: &[u8]) -> Result<Self, PayloadError> {
        let request: PostActionRequest = from_slice(body)?;
        for (name, value) in [
            ("user_id", &request.user_id),
            ("channel_id", &request.channel_id),
        ] {
            if value.is_empty() {
                return Err(PayloadError::MissingField(name));
            }
        }
        Ok(request)
    }

    /// The menu option picked, if any.
    pub fn selected_option(&self) -> Option<&str> {
        self.context
            .get("selected_option")
            .and_then(serde_json::Value::as_str)
    }
}

/// The reply to an action (`model.PostActionIntegrationResponse`). `{}` changes nothing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActionResponse {
    /// An ephemeral message to the clicking user, in the post's thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_text: Option<String>,
    /// A URL the client navigates to (newer servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goto_location: Option<String>,
    /// Use `ephemeral_text` verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_slack_parsing: Option<bool>,
    /// Replace the clicked post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<PostUpdate>,
}

impl ActionResponse {
    /// Changes nothing.
    pub fn none() -> Self {
        Self::default()
    }

    /// Tells the clicking user something, privately.
    pub fn ephemeral(text: impl Into<String>) -> Self {
        ActionResponse {
            ephemeral_text: Some(text.into()),
            ..Self::default()
        }
    }

    /// Replaces the clicked post.
    pub fn update(update: PostUpdate) -> Self {
        ActionResponse {
            update: Some(update),
            ..Self::default()
        }
    }

    /// Also tells the clicking user `text`, privately (chainable).
    pub fn and_tell(mut self, text: impl Into<String>) -> Self {
        self.ephemeral_text = Some(text.into());
        self
    }
}

/// The `update` of an action reply. Mattermost's semantics (§4.3): `message` always replaces
/// the old one — so it is always sent, and an update without one blanks the post; `props`
/// absent keeps the old props (and buttons), `props: {}` clears them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PostUpdate {
    /// The new message (required by design: Mattermost blanks the post without it).
    #[serde(default)]
    pub message: String,
    /// New props, or `None` to keep the post's props.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub props: Option<Extra>,
}

impl PostUpdate {
    /// The post's new message; props (and buttons) are kept.
    pub fn message(message: impl Into<String>) -> Self {
        PostUpdate {
            message: message.into(),
            props: None,
        }
    }

    /// Replaces the attachments (e.g. to remove or change buttons).
    pub fn attachments(mut self, attachments: &[MessageAttachment]) -> Self {
        let mut props = self.props.take().unwrap_or_default();
        props.insert(
            "attachments".into(),
            serde_json::to_value(attachments).unwrap_or(serde_json::Value::Array(Vec::new())),
        );
        self.props = Some(props);
        self
    }

    /// Removes every prop, buttons included.
    pub fn clear_props(mut self) -> Self {
        self.props = Some(Extra::new());
        self
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_read_and_selected_option_comes_from_the_context() {
        let body =
            br#"{"user_id":"u","user_name":"alice","channel_id":"c","channel_name":"town-square",
            "team_id":"t","team_domain":"main","post_id":"p","trigger_id":"tr","type":"select",
            "data_source":"","context":{"sb":"x","selected_option":"v1"}}"#;
        let r = PostActionRequest::from_json(body).unwrap();
        assert_eq!(r.selected_option(), Some("v1"));
        assert_eq!(r.kind, "select");
    }

    #[test]
    fn an_update_always_carries_its_message() {
        let v = serde_json::to_value(ActionResponse::update(PostUpdate::default())).unwrap();
        assert_eq!(v, serde_json::json!({"update": {"message": ""}}));
        let v = serde_json::to_value(PostUpdate::message("done").clear_props()).unwrap();
        assert_eq!(v, serde_json::json!({"message": "done", "props": {}}));
    }
}
