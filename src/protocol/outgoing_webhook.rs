//! The outgoing-webhook callback (PROTOCOL.md §2.3) and its reply (§2.4).
//!
//! Mattermost sends the same twelve keys either as JSON or form-encoded, depending on the
//! hook's `content_type`. Two differences matter: `timestamp` is **milliseconds** in JSON but
//! **seconds** in a form, and `file_ids` is one comma-separated string in both. Both encodings
//! parse into one [`OutgoingWebhookRequest`] with the timestamp normalised to milliseconds.

use serde::{Deserialize, Serialize};

use super::PayloadError;
use super::json::{from_slice, null_default};
use crate::mattermost::models::{Extra, MessageAttachment};

/// What Mattermost sends when a post matches an outgoing webhook.
#[derive(Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct OutgoingWebhookRequest {
    /// The channel of the triggering post.
    pub channel_id: String,
    /// That channel's URL name.
    pub channel_name: String,
    /// Files attached to the post (from the comma-separated `file_ids`).
    pub file_ids: Vec<String>,
    /// The triggering post.
    pub post_id: String,
    /// The team's URL name.
    pub team_domain: String,
    /// The team.
    pub team_id: String,
    /// The full message, trigger word included.
    pub text: String,
    /// When the post was created, Unix **milliseconds** whatever the encoding. A form carries
    /// only seconds, so the last three digits are zero then.
    pub timestamp_ms: i64,
    /// The hook's verification token. Never logged or serialised.
    #[serde(skip)]
    pub token: String,
    /// The trigger word that matched; `""` for channel-wide hooks.
    pub trigger_word: String,
    /// The author of the post.
    pub user_id: String,
    /// The author's username.
    pub user_name: String,
}

impl std::fmt::Debug for OutgoingWebhookRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingWebhookRequest")
            .field("team_id", &self.team_id)
            .field("channel_id", &self.channel_id)
            .field("post_id", &self.post_id)
            .field("user_id", &self.user_id)
            .field("trigger_word", &self.trigger_word)
            .field("text", &self.text)
            .finish_non_exhaustive()
    }
}

/// The JSON shape, keys exactly as `model.OutgoingWebhookPayload` writes them.
#[derive(Deserialize)]
struct JsonPayload {
    #[serde(default, deserialize_with = "null_default")]
    token: String,
    #[serde(default, deserialize_with = "null_default")]
    team_id: String,
    #[serde(default, deserialize_with = "null_default")]
    team_domain: String,
    #[serde(default, deserialize_with = "null_default")]
    channel_id: String,
    #[serde(default, deserialize_with = "null_default")]
    channel_name: String,
    #[serde(default, deserialize_with = "null_default")]
    timestamp: i64,
    #[serde(default, deserialize_with = "null_default")]
    user_id: String,
    #[serde(default, deserialize_with = "null_default")]
    user_name: String,
    #[serde(default, deserialize_with = "null_default")]
    post_id: String,
    #[serde(default, deserialize_with = "null_default")]
    text: String,
    #[serde(default, deserialize_with = "null_default")]
    trigger_word: String,
    #[serde(default, deserialize_with = "null_default")]
    file_ids: String,
}

impl OutgoingWebhookRequest {
    /// Parses the JSON encoding (`content_type: application/json` hooks).
    pub fn from_json(body: &[u8]) -> Result<Self, PayloadError> {
        let p: JsonPayload = from_slice(body)?;
        let request = OutgoingWebhookRequest {
            channel_id: p.channel_id,
            channel_name: p.channel_name,
            file_ids: split_file_ids(&p.file_ids),
            post_id: p.post_id,
            team_domain: p.team_domain,
            team_id: p.team_id,
            text: p.text,
            timestamp_ms: p.timestamp,
            token: p.token,
            trigger_word: p.trigger_word,
            user_id: p.user_id,
            user_name: p.user_name,
        };
        request.check()
    }

    /// Parses the form encoding (every other hook); `timestamp` is in seconds there.
    pub fn from_form(body: &[u8]) -> Result<Self, PayloadError> {
        let Ok(body) = std::str::from_utf8(body) else {
            return Err(PayloadError::Malformed("body is not UTF-8".into()));
        };
        let mut r = OutgoingWebhookRequest::default();
        for (key, value) in super::form::pairs(body, &[])? {
            let value = value.into_owned();
            match key.as_ref() {
                "channel_id" => r.channel_id = value,
                "channel_name" => r.channel_name = value,
                "file_ids" => r.file_ids = split_file_ids(&value),
                "post_id" => r.post_id = value,
                "team_domain" => r.team_domain = value,
                "team_id" => r.team_id = value,
                "text" => r.text = value,
                "timestamp" => {
                    let seconds: i64 = if value.is_empty() {
                        0
                    } else {
                        value.parse().map_err(|_| {
                            PayloadError::Malformed(format!(
                                "timestamp: `{value}` is not a whole number of seconds"
                            ))
                        })?
                    };
                    r.timestamp_ms = seconds
                        .checked_mul(1000)
                        .ok_or_else(|| PayloadError::Malformed("timestamp: out of range".into()))?;
                }
                "token" => r.token = value,
                "trigger_word" => r.trigger_word = value,
                "user_id" => r.user_id = value,
                "user_name" => r.user_name = value,
                _ => {}
            }
        }
        r.check()
    }

    /// Required fields. A missing `token` parses as empty, so verification (not parsing)
    /// refuses it with 401, as for slash commands.
    fn check(self) -> Result<Self, PayloadError> {
        for (name, value) in [
            ("team_id", &self.team_id),
            ("channel_id", &self.channel_id),
            ("user_id", &self.user_id),
            ("post_id", &self.post_id),
        ] {
            if value.is_empty() {
                return Err(PayloadError::MissingField(name));
            }
        }
        Ok(self)
    }
}

fn split_file_ids(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The reply to an outgoing webhook (`model.OutgoingWebhookResponse`).
///
/// Mattermost creates a post only when `text` is present (even `""`) or `attachments` is
/// non-empty, so [`OutgoingWebhookResponse::none`] (`{}`) posts nothing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OutgoingWebhookResponse {
    /// Attachments (the post becomes `slack_attachment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<MessageAttachment>>,
    /// Icon override; falls back to the hook's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
    /// Extra props (`override_*` and `from_webhook` are ignored by Mattermost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub props: Option<Extra>,
    /// `"comment"` replies in the thread of the triggering post; anything else posts a new
    /// root post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_type: Option<String>,
    /// The message; Slack markup is converted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Post type (`custom_…`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub post_type: Option<String>,
    /// Username override; falls back to the hook's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl OutgoingWebhookResponse {
    /// Posts nothing.
    pub fn none() -> Self {
        Self::default()
    }

    /// A reply in the thread of the triggering post.
    pub fn comment(text: impl Into<String>) -> Self {
        OutgoingWebhookResponse {
            response_type: Some("comment".into()),
            text: Some(text.into()),
            ..Self::default()
        }
    }

    /// A new root post in the channel.
    pub fn post(text: impl Into<String>) -> Self {
        OutgoingWebhookResponse {
            text: Some(text.into()),
            ..Self::default()
        }
    }

    /// Adds attachments.
    pub fn attachments(mut self, attachments: Vec<MessageAttachment>) -> Self {
        self.attachments = Some(attachments);
        self
    }

    /// Whether Mattermost would create a post from this reply.
    pub fn posts_something(&self) -> bool {
        self.text.is_some() || self.attachments.as_ref().is_some_and(|a| !a.is_empty())
    }

    /// Whether the reply goes into the triggering post's thread.
    pub fn is_comment(&self) -> bool {
        self.response_type.as_deref() == Some("comment")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn json_timestamp_is_milliseconds_and_form_timestamp_is_seconds() {
        let json = br#"{"token":"t","team_id":"tm","team_domain":"main","channel_id":"c",
            "channel_name":"town-square","timestamp":1700000000123,"user_id":"u","user_name":"alice",
            "post_id":"p","text":"deploy now","trigger_word":"deploy","file_ids":"f1,f2"}"#;
        let j = OutgoingWebhookRequest::from_json(json).unwrap();
        assert_eq!(j.timestamp_ms, 1_700_000_000_123);
        assert_eq!(j.file_ids, vec!["f1", "f2"]);
        let form = b"channel_id=c&channel_name=town-square&file_ids=&post_id=p&team_domain=main\
            &team_id=tm&text=deploy+now&timestamp=1700000000&token=t&trigger_word=deploy\
            &user_id=u&user_name=alice";
        let f = OutgoingWebhookRequest::from_form(form).unwrap();
        assert_eq!(f.timestamp_ms, 1_700_000_000_000);
        assert!(f.file_ids.is_empty());
        assert_eq!(f.text, "deploy now");
    }

    #[test]
    fn a_file_ids_array_is_malformed_json() {
        let json = br#"{"token":"t","team_id":"tm","channel_id":"c","user_id":"u","post_id":"p","file_ids":["a"]}"#;
        let err = OutgoingWebhookRequest::from_json(json).unwrap_err();
        assert!(err.to_string().contains("file_ids"), "{err}");
    }

    #[test]
    fn the_empty_reply_posts_nothing() {
        assert_eq!(
            serde_json::to_string(&OutgoingWebhookResponse::none()).unwrap(),
            "{}"
        );
        assert!(!OutgoingWebhookResponse::none().posts_something());
        assert_eq!(
            serde_json::to_value(OutgoingWebhookResponse::comment("hi")).unwrap(),
            serde_json::json!({"response_type": "comment", "text": "hi"})
        );
    }
}
