//! Realistic answers, shaped after openapi-v4.yaml's component schemas.

use serde_json::{Value, json};

pub fn user(id: &str) -> Value {
    json!({
        "id": id, "create_at": 1_700_000_000_000i64, "update_at": 1_700_000_000_001i64, "delete_at": 0,
        "username": format!("user-{id}"), "first_name": "Ada", "last_name": "Lovelace", "nickname": "",
        "email": format!("{id}@example.com"), "email_verified": true, "auth_service": "", "roles": "system_user",
        "locale": "en", "notify_props": {"email": "true", "push": "mention"}, "props": {},
        "last_password_update": 1_700_000_000_000i64, "last_picture_update": 0, "failed_attempts": 0,
        "mfa_active": false, "timezone": {"useAutomaticTimezone": "true", "manualTimezone": "", "automaticTimezone": "Europe/London"},
        "terms_of_service_id": "", "terms_of_service_create_at": 0, "is_bot": false
    })
}

pub fn team(id: &str) -> Value {
    json!({
        "id": id, "create_at": 1_700_000_000_000i64, "update_at": 1_700_000_000_000i64, "delete_at": 0,
        "display_name": "Engineering", "name": "eng", "description": "", "email": "admin@example.com",
        "type": "O", "allowed_domains": "", "invite_id": "inv1", "allow_open_invite": true,
        "policy_id": null
    })
}

pub fn team_member(team: &str, user: &str) -> Value {
    json!({"team_id": team, "user_id": user, "roles": "team_user", "delete_at": 0,
           "scheme_user": true, "scheme_admin": false, "explicit_roles": ""})
}

pub fn channel(id: &str) -> Value {
    json!({
        "id": id, "create_at": 1_700_000_000_000i64, "update_at": 1_700_000_000_000i64, "delete_at": 0,
        "team_id": "team1", "type": "O", "display_name": "Town Square", "name": "town-square",
        "header": "", "purpose": "", "last_post_at": 1_700_000_000_500i64, "total_msg_count": 12,
        "extra_update_at": 0, "creator_id": "user1"
    })
}

pub fn channel_member(channel: &str, user: &str) -> Value {
    json!({"channel_id": channel, "user_id": user, "roles": "channel_user", "last_viewed_at": 0,
           "msg_count": 3, "mention_count": 0, "notify_props": {"desktop": "default", "mark_unread": "all"},
           "last_update_at": 1_700_000_000_000i64, "scheme_user": true, "scheme_admin": false})
}

pub fn post(id: &str) -> Value {
    json!({
        "id": id, "create_at": 1_700_000_000_000i64, "update_at": 1_700_000_000_000i64, "edit_at": 0,
        "delete_at": 0, "is_pinned": false, "user_id": "user1", "channel_id": "chan1", "root_id": "",
        "original_id": "", "message": "deployed", "type": "", "props": {"from_bot": "true"},
        "hashtags": "", "file_ids": [], "pending_post_id": "", "reply_count": 0,
        "metadata": {"embeds": [], "priority": {"priority": "", "requested_ack": false}}
    })
}

pub fn post_list(ids: &[&str]) -> Value {
    let posts: serde_json::Map<String, Value> =
        ids.iter().map(|id| ((*id).to_owned(), post(id))).collect();
    json!({"order": ids, "posts": posts, "next_post_id": "", "prev_post_id": "", "has_next": false})
}

pub fn file_info(id: &str) -> Value {
    json!({"id": id, "user_id": "user1", "post_id": "", "create_at": 1_700_000_000_000i64,
           "update_at": 1_700_000_000_000i64, "delete_at": 0, "name": "report.txt", "extension": "txt",
           "size": 10, "mime_type": "text/plain", "width": 0, "height": 0, "has_preview_image": false})
}

pub fn reaction() -> Value {
    json!({"user_id": "user1", "post_id": "post1", "emoji_name": "thumbsup", "create_at": 1_700_000_000_000i64})
}

pub fn incoming_hook(id: &str) -> Value {
    json!({"id": id, "create_at": 1_700_000_000_000i64, "update_at": 1_700_000_000_000i64, "delete_at": 0,
           "channel_id": "chan1", "team_id": "team1", "user_id": "user1", "description": "CI",
           "display_name": "ci", "username": "", "icon_url": "", "channel_locked": false})
}

pub fn outgoing_hook(id: &str) -> Value {
    json!({"id": id, "token": "hooktoken", "create_at": 1_700_000_000_000i64, "update_at": 1_700_000_000_000i64,
           "delete_at": 0, "creator_id": "user1", "team_id": "team1", "channel_id": "", "description": "",
           "display_name": "deploy", "trigger_words": ["deploy"], "trigger_when": 0,
           "callback_urls": ["https://hooks.example.com/deploy"], "content_type": "application/json",
           "username": "", "icon_url": ""})
}

pub fn command(id: &str) -> Value {
    json!({"id": id, "token": "cmdtoken", "create_at": 1_700_000_000_000i64, "update_at": 1_700_000_000_000i64,
           "delete_at": 0, "creator_id": "user1", "team_id": "team1", "trigger": "deploy", "method": "P",
           "username": "", "icon_url": "", "auto_complete": true, "auto_complete_desc": "Deploy",
           "auto_complete_hint": "[env]", "display_name": "Deploy", "description": "", "url": "https://example.com/cmd"})
}

pub fn bot(id: &str) -> Value {
    json!({"user_id": id, "create_at": 1_700_000_000_000i64, "update_at": 1_700_000_000_000i64, "delete_at": 0,
           "username": "deploybot", "display_name": "Deploy Bot", "description": "", "owner_id": "user1"})
}

pub fn emoji(id: &str) -> Value {
    json!({"id": id, "creator_id": "user1", "name": "party", "create_at": 1_700_000_000_000i64,
           "update_at": 1_700_000_000_000i64, "delete_at": 0})
}

pub fn group(id: &str) -> Value {
    json!({"id": id, "name": "devs", "display_name": "Developers", "description": "", "source": "custom",
           "remote_id": null, "create_at": 1_700_000_000_000i64, "update_at": 1_700_000_000_000i64,
           "delete_at": 0, "has_syncables": false, "allow_reference": true})
}

pub fn group_member(group: &str, user: &str) -> Value {
    json!({"group_id": group, "user_id": user, "create_at": 1_700_000_000_000i64, "delete_at": 0})
}

pub fn role(name: &str) -> Value {
    json!({"id": "role1", "name": name, "display_name": "authentication.roles.global_user.name",
           "description": "", "permissions": ["create_post", "use_slash_commands"], "scheme_managed": true,
           "built_in": true, "create_at": 0, "update_at": 0, "delete_at": 0})
}

pub fn status(user: &str) -> Value {
    json!({"user_id": user, "status": "online", "manual": false, "last_activity_at": 1_700_000_000_000i64,
           "dnd_end_time": 0})
}

pub fn session() -> Value {
    json!({"id": "sess1", "token": "secret-session-token", "create_at": 1_700_000_000_000i64, "expires_at": 0,
           "last_activity_at": 1_700_000_000_000i64, "user_id": "user1", "device_id": "", "roles": "system_user",
           "is_oauth": false, "props": {"os": "Linux", "browser": "Firefox"}, "team_members": []})
}

pub fn preference() -> Value {
    json!({"user_id": "user1", "category": "display_settings", "name": "use_military_time", "value": "true"})
}

pub fn ok() -> Value {
    json!({"status": "OK"})
}

/// `value` without some keys (server-managed zero values the models do not send back).
pub fn without(mut value: Value, keys: &[&str]) -> Value {
    if let Some(map) = value.as_object_mut() {
        for key in keys {
            map.remove(*key);
        }
    }
    value
}
