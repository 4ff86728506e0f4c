//! Outgoing webhooks (PROTOCOL.md §2): the stored hook, its validation, firing on new posts,
//! and turning the integration's reply into a post.
//!
//! Firing follows `handleWebhookEvents`: only with `EnableOutgoingWebhooks`, only for posts in
//! **public** channels, never for posts made by webhooks; matching looks at the first
//! whitespace-separated word only, case-sensitively (`trigger_when` 0: equals, 1: starts with);
//! a hook bound to the channel with no trigger words fires for every post. Each callback URL
//! is called concurrently, JSON or form depending on `content_type` (form: `timestamp` in
//! seconds). The reply is JSON-decoded whatever its status or content type; a post is created
//! only when `text` is present or `attachments` is non-empty, authored by the hook's creator,
//! with `from_webhook: "true"` — and it does not fire hooks in turn.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::api::null_default;
use super::app_error::AppError;
use super::ids::{is_valid_id, now_millis};
use super::invoke::FormValues;
use super::model::SimPost;
use super::slack::parse_slack_links;
use super::state::{SimEvent, World};

/// A stored outgoing webhook (`model.OutgoingWebhook`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SimOutgoingHook {
    /// 26-char id.
    pub id: String,
    /// Verification token, sent in every payload.
    pub token: String,
    /// Creation time (ms).
    pub create_at: i64,
    /// Last update (ms).
    pub update_at: i64,
    /// Deletion time (ms), 0 when live.
    pub delete_at: i64,
    /// Creator; authors reply posts.
    pub creator_id: String,
    /// The team.
    pub team_id: String,
    /// Only this public channel, or `""`.
    pub channel_id: String,
    /// Trigger words.
    pub trigger_words: Vec<String>,
    /// 0: first word equals; 1: first word starts with.
    pub trigger_when: i64,
    /// Where payloads go.
    pub callback_urls: Vec<String>,
    /// Display name (copied into reply posts as `webhook_display_name`).
    pub display_name: String,
    /// Description.
    pub description: String,
    /// `application/json` → JSON payload; anything else → form.
    pub content_type: String,
    /// Default username of reply posts.
    pub username: String,
    /// Default icon of reply posts.
    pub icon_url: String,
}

impl SimOutgoingHook {
    /// The hook's JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "token": self.token,
            "create_at": self.create_at,
            "update_at": self.update_at,
            "delete_at": self.delete_at,
            "creator_id": self.creator_id,
            "team_id": self.team_id,
            "channel_id": self.channel_id,
            "trigger_words": self.trigger_words,
            "trigger_when": self.trigger_when,
            "callback_urls": self.callback_urls,
            "display_name": self.display_name,
            "description": self.description,
            "content_type": self.content_type,
            "username": self.username,
            "icon_url": self.icon_url,
        })
    }

    /// `OutgoingWebhook.IsValid`, with Mattermost's error ids.
    pub(crate) fn validate(&self) -> Result<(), AppError> {
        let invalid = |field: &str| {
            AppError::new(
                &format!("model.outgoing_hook.is_valid.{field}.app_error"),
                400,
                format!("Invalid {field}."),
            )
        };
        if !is_valid_id(&self.team_id) {
            return Err(invalid("team_id"));
        }
        if !self.channel_id.is_empty() && !is_valid_id(&self.channel_id) {
            return Err(invalid("channel_id"));
        }
        if self.trigger_words.iter().any(String::is_empty)
            || self.trigger_words.join(",").chars().count() > 1024
        {
            return Err(invalid("words"));
        }
        if self.callback_urls.is_empty()
            || self.callback_urls.join(",").chars().count() > 1024
            || !self.callback_urls.iter().all(|u| is_http_url(u))
        {
            return Err(invalid("callback"));
        }
        if self.display_name.chars().count() > 64 {
            return Err(invalid("display_name"));
        }
        if self.description.chars().count() > 500 {
            return Err(invalid("description"));
        }
        if self.content_type.chars().count() > 128 {
            return Err(invalid("content_type"));
        }
        if !(0..=1).contains(&self.trigger_when) {
            return Err(invalid("trigger_when"));
        }
        if self.username.chars().count() > 64 {
            return Err(invalid("username"));
        }
        if self.icon_url.chars().count() > 1024 {
            return Err(invalid("icon_url"));
        }
        Ok(())
    }

    /// Whether this hook fires for `first_word` in `channel_id`; the matched trigger word.
    fn matches(&self, channel_id: &str, first_word: &str) -> Option<String> {
        if !self.channel_id.is_empty() && self.channel_id != channel_id {
            return None;
        }
        if !self.channel_id.is_empty() && self.trigger_words.is_empty() {
            return Some(String::new());
        }
        self.trigger_words
            .iter()
            .find(|w| match self.trigger_when {
                0 => first_word == w.as_str(),
                _ => first_word.starts_with(w.as_str()),
            })
            .cloned()
    }
}

fn is_http_url(u: &str) -> bool {
    url::Url::parse(u).is_ok_and(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some())
}

/// The body of a hook create/update, Go-decoded (`null` → zero value).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct HookBody {
    #[serde(deserialize_with = "null_default")]
    pub(crate) id: String,
    #[serde(deserialize_with = "null_default")]
    pub(crate) token: String,
    #[serde(deserialize_with = "null_default")]
    pub(crate) creator_id: String,
    #[serde(deserialize_with = "null_default")]
    pub(crate) team_id: String,
    #[serde(deserialize_with = "null_default")]
    pub(crate) channel_id: String,
    #[serde(deserialize_with = "null_default")]
    pub(crate) trigger_words: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub(crate) trigger_when: i64,
    #[serde(deserialize_with = "null_default")]
    pub(crate) callback_urls: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub(crate) display_name: String,
    #[serde(deserialize_with = "null_default")]
    pub(crate) description: String,
    #[serde(deserialize_with = "null_default")]
    pub(crate) content_type: String,
    #[serde(deserialize_with = "null_default")]
    pub(crate) username: String,
    #[serde(deserialize_with = "null_default")]
    pub(crate) icon_url: String,
}

/// One call to make: the hook and the payload.
struct Firing {
    hook: SimOutgoingHook,
    trigger_word: String,
    team_domain: String,
    channel_name: String,
    user_name: String,
}

/// Fires every matching hook for a freshly created `post` (in the background).
pub(crate) fn fire(world: &World, post: &SimPost) {
    let firings: Vec<Firing> = {
        let store = world.lock();
        if !store.settings.enable_outgoing_webhooks || post.props.contains_key("from_webhook") {
            return;
        }
        let Some(channel) = store.channel(&post.channel_id) else {
            return;
        };
        if !channel.is_open() {
            return;
        }
        let first_word = post.message.split_whitespace().next().unwrap_or("");
        let team_domain = store
            .team(&channel.team_id)
            .map(|t| t.name.clone())
            .unwrap_or_default();
        let user_name = store
            .user(&post.user_id)
            .map(|u| u.username.clone())
            .unwrap_or_default();
        store
            .outgoing_hooks
            .iter()
            .filter(|h| h.delete_at == 0 && h.team_id == channel.team_id)
            .filter_map(|h| {
                h.matches(&channel.id, first_word).map(|word| Firing {
                    hook: h.clone(),
                    trigger_word: word,
                    team_domain: team_domain.clone(),
                    channel_name: channel.name.clone(),
                    user_name: user_name.clone(),
                })
            })
            .collect()
    };
    for firing in firings {
        for url in firing.hook.callback_urls.clone() {
            let world = world.clone();
            let post = post.clone();
            let firing = Firing {
                hook: firing.hook.clone(),
                trigger_word: firing.trigger_word.clone(),
                team_domain: firing.team_domain.clone(),
                channel_name: firing.channel_name.clone(),
                user_name: firing.user_name.clone(),
            };
            let tracker = world.inner.outbound.clone();
            tracker.spawn(async move {
                call(&world, &firing, &post, &url).await;
            });
        }
    }
}

/// The payload as JSON (`OutgoingWebhookPayload`, all twelve keys) or form (`ToFormValues`).
fn payload(firing: &Firing, post: &SimPost, json: bool) -> (String, Vec<u8>) {
    let hook = &firing.hook;
    let file_ids = post.file_ids.join(",");
    if json {
        let body = json!({
            "token": hook.token,
            "team_id": hook.team_id,
            "team_domain": firing.team_domain,
            "channel_id": post.channel_id,
            "channel_name": firing.channel_name,
            "timestamp": post.create_at,
            "user_id": post.user_id,
            "user_name": firing.user_name,
            "post_id": post.id,
            "text": post.message,
            "trigger_word": firing.trigger_word,
            "file_ids": file_ids,
        });
        ("application/json".into(), body.to_string().into_bytes())
    } else {
        let mut v = FormValues::default();
        v.set("token", &hook.token);
        v.set("team_id", &hook.team_id);
        v.set("team_domain", &firing.team_domain);
        v.set("channel_id", &post.channel_id);
        v.set("channel_name", &firing.channel_name);
        v.set("timestamp", &(post.create_at / 1000).to_string());
        v.set("user_id", &post.user_id);
        v.set("user_name", &firing.user_name);
        v.set("post_id", &post.id);
        v.set("text", &post.message);
        v.set("trigger_word", &firing.trigger_word);
        v.set("file_ids", &file_ids);
        (
            "application/x-www-form-urlencoded".into(),
            v.encode().into_bytes(),
        )
    }
}

/// `OutgoingWebhookResponse`, Go-decoded.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HookReply {
    text: Option<String>,
    #[serde(deserialize_with = "null_default")]
    username: String,
    #[serde(deserialize_with = "null_default")]
    icon_url: String,
    #[serde(deserialize_with = "null_default")]
    props: Map<String, Value>,
    #[serde(deserialize_with = "null_default")]
    attachments: Vec<Value>,
    #[serde(rename = "type", deserialize_with = "null_default")]
    post_type: String,
    #[serde(deserialize_with = "null_default")]
    response_type: String,
}

async fn call(world: &World, firing: &Firing, post: &SimPost, url: &str) {
    let (content_type, body) =
        payload(firing, post, firing.hook.content_type == "application/json");
    let deadline = world.lock().settings.outgoing_integration_requests_timeout;
    let request = world
        .inner
        .http
        .post(url)
        .header("Content-Type", content_type)
        .header("Accept", "application/json")
        .timeout(deadline)
        .body(body);
    // Status is not checked; the body is read through the 1 MiB limit and JSON-decoded.
    let bytes = match super::exchange::send(world, "outgoing webhook", request).await {
        Ok(answer) => answer.body,
        Err(e) => {
            tracing::warn!(error = %e, url, "outgoing webhook call failed");
            return;
        }
    };
    let bytes = &bytes[..];
    if bytes.is_empty() {
        return;
    }
    let reply: HookReply = match serde_json::from_slice(bytes) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "outgoing webhook reply is not JSON; nothing posted");
            return;
        }
    };
    if reply.text.is_none() && reply.attachments.is_empty() {
        return;
    }
    let root_id = if reply.response_type == "comment" {
        post.id.clone()
    } else {
        String::new()
    };
    let text = parse_slack_links(reply.text.as_deref().unwrap_or(""));
    let mut new = SimPost::new(&post.channel_id, &firing.hook.creator_id, &root_id, &text);
    new.props = reply.props;
    for key in ["override_username", "override_icon_url", "from_webhook"] {
        new.props.remove(key);
    }
    new.props
        .insert("from_webhook".into(), Value::String("true".into()));
    new.props.insert(
        "webhook_display_name".into(),
        Value::String(firing.hook.display_name.clone()),
    );
    let settings = world.lock().settings.clone();
    if settings.enable_post_username_override {
        let name = if reply.username.is_empty() {
            firing.hook.username.clone()
        } else {
            reply.username
        };
        new.props
            .insert("override_username".into(), Value::String(name));
    }
    if settings.enable_post_icon_override {
        let icon = if reply.icon_url.is_empty() {
            firing.hook.icon_url.clone()
        } else {
            reply.icon_url
        };
        new.props
            .insert("override_icon_url".into(), Value::String(icon));
    }
    new.post_type = reply.post_type;
    if !reply.attachments.is_empty() {
        if new.post_type.is_empty() {
            "slack_attachment".clone_into(&mut new.post_type);
        }
        new.props
            .insert("attachments".into(), Value::Array(reply.attachments));
    }
    if new.post_type.starts_with("system_") {
        tracing::warn!("outgoing webhook reply with a system_ type; nothing posted");
        return;
    }
    new.create_at = now_millis();
    let saved = world.lock().save_post(new);
    match saved {
        Ok(saved) => world.publish(SimEvent::PostCreated(saved)),
        // Mattermost only logs this (e.g. a comment on a reply).
        Err(e) => tracing::warn!(error = %e.id, "outgoing webhook reply could not be posted"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn hook(words: &[&str], when: i64, channel: &str) -> SimOutgoingHook {
        SimOutgoingHook {
            trigger_words: words.iter().map(|w| (*w).to_owned()).collect(),
            trigger_when: when,
            channel_id: channel.to_owned(),
            ..SimOutgoingHook::default()
        }
    }

    #[test]
    fn matching_looks_at_the_first_word_only() {
        assert_eq!(
            hook(&["deploy"], 0, "").matches("c", "deploy"),
            Some("deploy".into())
        );
        assert_eq!(hook(&["deploy"], 0, "").matches("c", "deploying"), None);
        assert_eq!(
            hook(&["dep"], 1, "").matches("c", "deploying"),
            Some("dep".into())
        );
        assert_eq!(hook(&["Deploy"], 0, "").matches("c", "deploy"), None);
        assert_eq!(
            hook(&[], 0, "c").matches("c", "anything"),
            Some(String::new())
        );
        assert_eq!(hook(&[], 0, "c").matches("d", "anything"), None);
    }
}
