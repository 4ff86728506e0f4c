//! The simulator's records and the JSON Mattermost sends for them.
//!
//! Records hold only what the simulator uses; `to_json` renders the full key set of the
//! Mattermost model (`model.User`, `model.Team`, `model.Channel`, `model.Command`,
//! `model.Post`) so clients see realistic bodies, including keys we never change.

use serde_json::{Map, Value, json};

/// A user account (`model.User`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct User {
    /// 26-char id.
    pub id: String,
    /// Login name, lower case, without `@`.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Nickname.
    pub nickname: String,
    /// Space-separated system roles, e.g. `system_user` or `system_admin system_user`.
    pub roles: String,
    /// Whether this is a bot account.
    pub is_bot: bool,
    /// Creation time (ms).
    pub create_at: i64,
    /// Last update (ms).
    pub update_at: i64,
    /// Deactivation time (ms), 0 if active.
    pub delete_at: i64,
}

impl User {
    /// Whether the user holds the `system_admin` role.
    pub(crate) fn is_system_admin(&self) -> bool {
        self.roles.split_whitespace().any(|r| r == "system_admin")
    }

    /// The User JSON. `full` includes fields Mattermost only shows to the user themself and
    /// admins (`notify_props`, `last_password_update`, …).
    pub(crate) fn to_json(&self, full: bool) -> Value {
        let mut user = json!({
            "id": self.id,
            "create_at": self.create_at,
            "update_at": self.update_at,
            "delete_at": self.delete_at,
            "username": self.username,
            "auth_data": "",
            "auth_service": "",
            "email": self.email,
            "nickname": self.nickname,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "position": "",
            "roles": self.roles,
            "props": {},
            "last_picture_update": 0,
            "locale": "en",
            "timezone": {
                "automaticTimezone": "",
                "manualTimezone": "",
                "useAutomaticTimezone": "true"
            },
            "disable_welcome_email": false,
        });
        if full {
            user["email_verified"] = Value::Bool(true);
            user["notify_props"] = json!({
                "channel": "true", "comments": "never", "desktop": "mention",
                "desktop_sound": "true", "email": "true", "first_name": "false",
                "mention_keys": "", "push": "mention", "push_status": "away"
            });
            user["last_password_update"] = Value::from(self.create_at);
            user["failed_attempts"] = Value::from(0);
            user["mfa_active"] = Value::Bool(false);
        }
        if self.is_bot {
            // `is_bot` and `bot_description` are `omitempty` in Mattermost.
            user["is_bot"] = Value::Bool(true);
            user["bot_description"] = Value::from("Switchboard integration bot");
        }
        user
    }
}

/// A team (`model.Team`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Team {
    /// 26-char id.
    pub id: String,
    /// URL name (`team_domain` in command payloads).
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// `"O"` open or `"I"` invite only.
    pub team_type: String,
    /// Whether anyone on the server may join.
    pub allow_open_invite: bool,
    /// Team e-mail (hidden from non-admins).
    pub email: String,
    /// Invite id (hidden from non-admins).
    pub invite_id: String,
    /// Creation time (ms).
    pub create_at: i64,
    /// Last update (ms).
    pub update_at: i64,
    /// Deletion time (ms).
    pub delete_at: i64,
}

impl Team {
    /// The Team JSON; `sanitize` blanks `email`, `invite_id` (and `allowed_domains`) like
    /// `Team.Sanitize` does for users without `manage_team`.
    pub(crate) fn to_json(&self, sanitize: bool) -> Value {
        json!({
            "id": self.id,
            "create_at": self.create_at,
            "update_at": self.update_at,
            "delete_at": self.delete_at,
            "display_name": self.display_name,
            "name": self.name,
            "description": "",
            "email": if sanitize { "" } else { self.email.as_str() },
            "type": self.team_type,
            "company_name": "",
            "allowed_domains": "",
            "invite_id": if sanitize { "" } else { self.invite_id.as_str() },
            "allow_open_invite": self.allow_open_invite,
            "last_team_icon_update": 0,
            "scheme_id": null,
            "group_constrained": null,
            "policy_id": null,
            "cloud_limits_archived": false,
        })
    }
}

/// A user's membership of a team, with team roles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TeamMember {
    /// Team id.
    pub team_id: String,
    /// User id.
    pub user_id: String,
    /// Whether the member holds `team_admin` (everyone holds `team_user`).
    pub admin: bool,
}

/// A channel (`model.Channel`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Channel {
    /// 26-char id.
    pub id: String,
    /// Owning team.
    pub team_id: String,
    /// `"O"` public, `"P"` private, `"D"` direct (group channels, `"G"`, are not simulated).
    pub channel_type: String,
    /// URL name.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Header text.
    pub header: String,
    /// Purpose text.
    pub purpose: String,
    /// Creator (empty for seeded default channels, as on Mattermost).
    pub creator_id: String,
    /// Creation time (ms).
    pub create_at: i64,
    /// Last update (ms).
    pub update_at: i64,
    /// Archive time (ms).
    pub delete_at: i64,
    /// Time of the newest post (ms).
    pub last_post_at: i64,
    /// Number of posts.
    pub total_msg_count: i64,
    /// Number of root posts.
    pub total_msg_count_root: i64,
    /// Time of the newest root post (ms).
    pub last_root_post_at: i64,
}

impl Channel {
    /// Whether the channel is public (`O`).
    pub(crate) fn is_open(&self) -> bool {
        self.channel_type == "O"
    }

    /// The Channel JSON.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "create_at": self.create_at,
            "update_at": self.update_at,
            "delete_at": self.delete_at,
            "team_id": self.team_id,
            "type": self.channel_type,
            "display_name": self.display_name,
            "name": self.name,
            "header": self.header,
            "purpose": self.purpose,
            "last_post_at": self.last_post_at,
            "total_msg_count": self.total_msg_count,
            "extra_update_at": 0,
            "creator_id": self.creator_id,
            "scheme_id": null,
            "props": null,
            "group_constrained": null,
            "shared": null,
            "total_msg_count_root": self.total_msg_count_root,
            "policy_id": null,
            "last_root_post_at": self.last_root_post_at,
        })
    }
}

/// A custom slash command as stored (`model.Command`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SimCommand {
    /// 26-char id.
    pub id: String,
    /// 26-char token sent to the integration.
    pub token: String,
    /// Creation time (ms).
    pub create_at: i64,
    /// Last update (ms).
    pub update_at: i64,
    /// Deletion time (ms); 0 while live.
    pub delete_at: i64,
    /// Creator's user id.
    pub creator_id: String,
    /// Team the command belongs to.
    pub team_id: String,
    /// Trigger word, lower case, without `/`.
    pub trigger: String,
    /// `"P"` or `"G"`.
    pub method: String,
    /// Username override for response posts.
    pub username: String,
    /// Icon override for response posts.
    pub icon_url: String,
    /// Show in autocomplete.
    pub auto_complete: bool,
    /// Autocomplete description.
    pub auto_complete_desc: String,
    /// Autocomplete hint.
    pub auto_complete_hint: String,
    /// Display name.
    pub display_name: String,
    /// Description.
    pub description: String,
    /// Integration URL.
    pub url: String,
    /// Owning plugin (always empty here).
    pub plugin_id: String,
}

impl SimCommand {
    /// The Command JSON (all keys, as Go encodes the struct).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "token": self.token,
            "create_at": self.create_at,
            "creator_id": self.creator_id,
            "update_at": self.update_at,
            "delete_at": self.delete_at,
            "team_id": self.team_id,
            "trigger": self.trigger,
            "method": self.method,
            "username": self.username,
            "icon_url": self.icon_url,
            "auto_complete": self.auto_complete,
            "auto_complete_desc": self.auto_complete_desc,
            "auto_complete_hint": self.auto_complete_hint,
            "display_name": self.display_name,
            "description": self.description,
            "url": self.url,
            "plugin_id": self.plugin_id,
        })
    }

    /// `Command.Sanitize`: what users who may not manage the command get to see.
    #[must_use]
    pub fn sanitized(&self) -> Self {
        Self {
            token: String::new(),
            creator_id: String::new(),
            method: String::new(),
            url: String::new(),
            username: String::new(),
            icon_url: String::new(),
            ..self.clone()
        }
    }
}

/// A post, stored or ephemeral (`model.Post`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SimPost {
    /// 26-char id.
    pub id: String,
    /// Channel the post is in.
    pub channel_id: String,
    /// Author.
    pub user_id: String,
    /// Thread root, empty for root posts.
    pub root_id: String,
    /// Markdown text.
    pub message: String,
    /// `props` (attachments, `from_webhook`, overrides …).
    pub props: Map<String, Value>,
    /// Post type: `""`, `slack_attachment`, `system_ephemeral`, `custom_*` ….
    pub post_type: String,
    /// For ephemeral posts, the only user who sees it; such posts are never stored.
    pub ephemeral_for: Option<String>,
    /// Creation time (ms).
    pub create_at: i64,
    /// Last update (ms).
    pub update_at: i64,
    /// Last message edit (ms), 0 if never edited.
    pub edit_at: i64,
    /// Deletion time (ms).
    pub delete_at: i64,
    /// Pinned flag.
    pub is_pinned: bool,
    /// Attached files.
    pub file_ids: Vec<String>,
    /// Client-side id echoed back.
    pub pending_post_id: String,
}

impl SimPost {
    /// A new post with empty optional fields.
    pub(crate) fn new(channel_id: &str, user_id: &str, root_id: &str, message: &str) -> Self {
        Self {
            id: String::new(),
            channel_id: channel_id.to_owned(),
            user_id: user_id.to_owned(),
            root_id: root_id.to_owned(),
            message: message.to_owned(),
            props: Map::new(),
            post_type: String::new(),
            ephemeral_for: None,
            create_at: 0,
            update_at: 0,
            edit_at: 0,
            delete_at: 0,
            is_pinned: false,
            file_ids: Vec::new(),
            pending_post_id: String::new(),
        }
    }

    /// Whether the post was sent only to one user.
    pub fn is_ephemeral(&self) -> bool {
        self.ephemeral_for.is_some()
    }

    /// The Post JSON. Action `integration` blocks are stripped, as Mattermost never returns them.
    pub fn to_json(&self) -> Value {
        let mut props = self.props.clone();
        strip_action_integrations(&mut props);
        let mut post = json!({
            "id": self.id,
            "create_at": self.create_at,
            "update_at": self.update_at,
            "edit_at": self.edit_at,
            "delete_at": self.delete_at,
            "is_pinned": self.is_pinned,
            "user_id": self.user_id,
            "channel_id": self.channel_id,
            "root_id": self.root_id,
            "original_id": "",
            "message": self.message,
            "type": self.post_type,
            "props": props,
            "hashtags": "",
            "pending_post_id": self.pending_post_id,
            "reply_count": 0,
            "last_reply_at": 0,
            "participants": null,
            "metadata": {},
        });
        if !self.file_ids.is_empty() {
            post["file_ids"] = json!(self.file_ids);
        }
        post
    }
}

/// Removes `integration` from every action of every attachment (`StripActionIntegrations`).
fn strip_action_integrations(props: &mut Map<String, Value>) {
    let Some(Value::Array(attachments)) = props.get_mut("attachments") else {
        return;
    };
    for attachment in attachments {
        if let Some(Value::Array(actions)) = attachment.get_mut("actions") {
            for action in actions {
                if let Value::Object(action) = action {
                    action.remove("integration");
                }
            }
        }
    }
}
