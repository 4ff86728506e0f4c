//! `[reply]` and its attachments, fields, buttons and menu options.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `[reply]`: a templated answer.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplySpec {
    /// `ephemeral` (only the user sees it, the default; a direct message from the bot where
    /// an ephemeral one is impossible) or `in_channel`.
    #[serde(default)]
    pub visibility: Visibility,
    /// The message, a minijinja template.
    #[serde(default)]
    pub text: String,
    /// Display name to post as (needs Mattermost's override settings).
    #[serde(default)]
    pub username: Option<String>,
    /// Icon URL to post with.
    #[serde(default)]
    pub icon_url: Option<String>,
    /// Message attachments, with fields and buttons/menus.
    #[serde(default)]
    pub attachments: Vec<AttachmentSpec>,
    /// For a button click: replace the clicked post with this reply instead of answering
    /// with an ephemeral message.
    #[serde(default)]
    pub update: bool,
    /// Post props to set, each value a template (rendered, then parsed as JSON when it is
    /// valid JSON). Used with `update` to keep state such as poll votes in the post.
    #[serde(default)]
    pub props: BTreeMap<String, String>,
}

/// Who sees a reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Only the user who triggered the route: an ephemeral message, or a direct message from
    /// the bot where the bot may not send one (after a dialog, or a late answer).
    #[default]
    Ephemeral,
    /// Everyone in the channel.
    InChannel,
}

/// One message attachment.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentSpec {
    /// Template.
    #[serde(default)]
    pub title: String,
    /// Template.
    #[serde(default)]
    pub text: String,
    /// Template.
    #[serde(default)]
    pub pretext: String,
    /// `#rrggbb` or `good`/`warning`/`danger`.
    #[serde(default)]
    pub color: String,
    /// Fallback text for clients that cannot show attachments.
    #[serde(default)]
    pub fallback: String,
    /// Fields, two per row when `short`.
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
    /// Buttons and menus.
    #[serde(default)]
    pub actions: Vec<ButtonSpec>,
}

/// An attachment field.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Template.
    pub title: String,
    /// Template.
    pub value: String,
    /// Half width.
    #[serde(default)]
    pub short: bool,
}

/// A button or menu in an attachment; a click runs the named follow-up action.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ButtonSpec {
    /// Letters and digits, unique within the post; Mattermost finds the clicked button by it.
    pub id: String,
    /// Label (template).
    pub name: String,
    /// `button` (default) or `select`.
    #[serde(rename = "type", default)]
    pub kind: ButtonKind,
    /// `default`, `primary`, `success`, `good`, `warning`, `danger`, or `#rrggbb`.
    #[serde(default)]
    pub style: Option<String>,
    /// The follow-up action to run, a key of `[actions]`.
    pub action: String,
    /// One-shot: the first accepted click uses the button up, for everyone and on every
    /// replica; later clicks (or a replay of its context) are answered "already used" and run
    /// nothing. For approvals and other actions that must not run twice.
    #[serde(default)]
    pub once: bool,
    /// Values passed to the action as `context.<key>` (templates rendered when the post is
    /// made). Signed, so a client cannot change them.
    #[serde(default)]
    pub context: BTreeMap<String, String>,
    /// For a static menu: its options.
    #[serde(default)]
    pub options: Vec<OptionSpec>,
    /// For a dynamic menu: `users` or `channels`.
    #[serde(default)]
    pub data_source: Option<String>,
}

/// A button or menu.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ButtonKind {
    /// A button.
    #[default]
    Button,
    /// A menu.
    Select,
}

/// A menu or radio option.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionSpec {
    /// Shown text.
    pub text: String,
    /// Submitted value.
    pub value: String,
}
