//! `[message]`: posts the bot sees on its WebSocket event stream (`posted` events): direct
//! messages to it, and posts in channels it is a member of, public or private.
//!
//! For each post, every `[message]` route is matched in file order: its `channels` (URL
//! names; direct messages have none, so a route with a list never matches them), `mentioned`
//! (the post mentions `@<bot>`, or is a direct message), its trigger words and its `pattern`
//! (named captures become `captures.<name>`). A matching route is claimed for the post in the
//! store (`message:<post id>:<route>`, [`super::claims`]), so with several replicas one
//! answers, also when the one answering is killed mid-run; then it fires
//! with the author as `user` (so `[access]` applies as for a slash command) and answers in
//! the post's thread (`reply_in = "thread"`) or the channel.
//!
//! Never answered: the bot's own posts (so nothing loops), system messages, and posts by
//! other bots or webhooks unless the route sets `from_bots = true`.
//!
//! The event stream reconnects and resumes by itself (`mattermost::websocket`). When it
//! cannot — sequence numbers jump, or the server could not resume — the posts of that stretch
//! were not seen: that is logged as a warning and counted in
//! `switchboard_event_stream_gaps_total`, never passed over in silence.
//!
//! The listener starts when a route declares `[message]` at startup; adding the first such
//! route later takes a restart.

use std::collections::BTreeMap;

use futures::StreamExt;
use serde::Deserialize;
use serde_json::Value;

use crate::integrations::{Context, Delivery, Fired, MessageTrigger, ReplyIn, Who};
use crate::mattermost::websocket::{WebSocketOptions, WsEvent, WsEventKind, WsItem};
use crate::mattermost::{TeamId, UserId};
use crate::server::AppState;

/// Starts the listener when a route declares `[message]`.
pub fn spawn(state: AppState) -> Option<tokio::task::JoinHandle<()>> {
    if !state.routes.current().iter().any(|r| r.message.is_some()) {
        return None;
    }
    Some(tokio::spawn(listen(state)))
}

/// The bot, as the listener needs it.
#[derive(Debug, Clone)]
struct Bot {
    id: String,
    username: String,
}

async fn listen(state: AppState) {
    let bot = loop {
        match state.client.users().me().await {
            Ok(me) => {
                break Bot {
                    id: me.id.as_str().to_owned(),
                    username: me.username,
                };
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot look up the bot user; [message] routes wait");
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            }
        }
    };
    tracing::info!(bot = %bot.username, "listening for messages on the WebSocket event stream");
    let mut events = state.client.events(WebSocketOptions::default());
    while let Some(item) = events.next().await {
        match item {
            WsItem::Event(event) if event.kind() == WsEventKind::Posted => {
                let (state, bot) = (state.clone(), bot.clone());
                state
                    .background
                    .clone()
                    .spawn(async move { handle_posted(&state, &bot, &event).await });
            }
            WsItem::Event(_) => {}
            WsItem::Gap { expected, received } => {
                tracing::warn!(
                    expected,
                    received,
                    "WebSocket events were skipped; messages posted meanwhile were not seen"
                );
                crate::metrics::event_stream_gap("gap");
            }
            WsItem::ResumeFailed { expected } => {
                tracing::warn!(
                    expected,
                    "the WebSocket connection could not be resumed; messages posted while it was down were not seen"
                );
                crate::metrics::event_stream_gap("resume_failed");
            }
            WsItem::Disconnected { reason, retry_in } => {
                tracing::info!(%reason, ?retry_in, "WebSocket disconnected; reconnecting");
            }
            WsItem::Unauthorized { reason } => {
                tracing::error!(%reason, "Mattermost refuses the bot token on the WebSocket");
            }
        }
    }
    tracing::warn!("the WebSocket event stream ended; [message] routes are not served");
}

/// The post inside a `posted` event (`data.post` is the post's JSON as a string).
#[derive(Debug, Deserialize)]
struct PostedPost {
    id: String,
    #[serde(default)]
    channel_id: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    root_id: String,
    #[serde(default)]
    message: String,
    #[serde(default, rename = "type")]
    post_type: String,
    #[serde(default)]
    props: serde_json::Map<String, Value>,
}

impl PostedPost {
    /// Posted by a bot account or through a webhook (Mattermost marks both in `props`).
    fn is_by_bot_or_webhook(&self) -> bool {
        ["from_bot", "from_webhook"].iter().any(|k| {
            matches!(self.props.get(*k), Some(Value::String(s)) if s == "true")
                || self.props.get(*k) == Some(&Value::Bool(true))
        })
    }
}

/// Whether `message` mentions `@username` the way Mattermost decides it (so the bot answers
/// exactly the posts that notify it).
///
/// Mattermost's `StandardMentionParser.ProcessText` (`server/channels/app/
/// mention_parser_standard.go`): the text is split into words at every character that is not
/// a letter, a digit or one of `: . - _ @`; a `:word:` is an emoji, never a mention; leading
/// `: . - _` are dropped; a word mentions the user when it equals `@username` **ignoring
/// case** (`strings.ToLower`, so `@Switchboard` notifies `switchboard`), also after dropping
/// trailing `. - : _` one at a time (`@switchboard.` ends a sentence); a word not starting with
/// `@` is split again at `. - :` (`see:@switchboard`).
fn mentions(message: &str, username: &str) -> bool {
    let key = format!("@{}", username.to_lowercase());
    let is_key = |word: &str| word.to_lowercase() == key;
    message
        .split(|c: char| !(c.is_alphanumeric() || matches!(c, ':' | '.' | '-' | '_' | '@')))
        // An empty piece is no word; a `:word:` is an emoji code, never a mention.
        .filter(|word| !(word.is_empty() || word.starts_with(':') && word.ends_with(':')))
        .any(|word| {
            let word = word.trim_start_matches([':', '.', '-', '_']);
            let mut candidate = word;
            loop {
                if is_key(candidate) {
                    return true;
                }
                match candidate.strip_suffix(['.', '-', ':', '_']) {
                    Some(shorter) => candidate = shorter,
                    None => break,
                }
            }
            !word.starts_with('@') && word.split(['.', '-', ':']).any(is_key)
        })
}

/// A route's answer to one post, when it matches.
fn matches(
    trigger: &MessageTrigger,
    post: &PostedPost,
    channel_name: &str,
    direct: bool,
    bot: &Bot,
) -> Option<BTreeMap<String, String>> {
    let spec = &trigger.spec;
    if !spec.channels.is_empty() && (direct || !spec.channels.iter().any(|c| c == channel_name)) {
        return None;
    }
    if spec.mentioned && !direct && !mentions(&post.message, &bot.username) {
        return None;
    }
    if !trigger.has_trigger_word(&post.message) {
        return None;
    }
    let Some(pattern) = &trigger.pattern else {
        return Some(BTreeMap::new());
    };
    let captures = pattern.captures(&post.message)?;
    Some(
        pattern
            .capture_names()
            .flatten()
            .map(|n| {
                let value = captures.name(n).map_or("", |m| m.as_str());
                (n.to_owned(), value.to_owned())
            })
            .collect(),
    )
}

async fn handle_posted(state: &AppState, bot: &Bot, event: &WsEvent) {
    let text = |key: &str| {
        event
            .data
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let post: PostedPost = match serde_json::from_str(&text("post")) {
        Ok(post) => post,
        Err(e) => {
            tracing::warn!(error = %e, "a posted event without a readable post; ignored");
            return;
        }
    };
    // The bot's own posts never trigger anything; system messages neither.
    if post.user_id == bot.id || !post.post_type.is_empty() {
        return;
    }
    let channel_name = text("channel_name");
    let direct = text("channel_type") == "D";
    let routes = state.routes.current();
    let candidates: Vec<(String, MessageTrigger, BTreeMap<String, String>)> = routes
        .iter()
        .filter_map(|r| {
            let trigger = r.message.as_ref()?;
            if post.is_by_bot_or_webhook() && !trigger.spec.from_bots {
                return None;
            }
            let captures = matches(trigger, &post, &channel_name, direct, bot)?;
            Some((r.name.clone(), trigger.clone(), captures))
        })
        .collect();
    if candidates.is_empty() {
        return;
    }
    // One lookup for the author (name for templates and access, and whether it is a bot).
    let author = match state
        .client
        .users()
        .get(&UserId::new(post.user_id.clone()))
        .await
    {
        Ok(user) => user,
        Err(e) => {
            tracing::warn!(error = %e, post_id = %post.id, "cannot look up a message's author; not answered");
            return;
        }
    };
    let team_id = text("team_id");
    let team_name = if team_id.is_empty() {
        String::new()
    } else {
        match state
            .client
            .teams()
            .get(&TeamId::new(team_id.clone()))
            .await
        {
            Ok(team) => team.name,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look up a message's team");
                String::new()
            }
        }
    };
    for (name, trigger, captures) in candidates {
        if author.is_bot && !trigger.spec.from_bots {
            continue;
        }
        let Some(route) = super::declared(state, &name) else {
            continue;
        };
        let context = Context {
            route: name.clone(),
            user: Who {
                id: post.user_id.clone(),
                name: author.username.clone(),
            },
            channel: Who {
                id: post.channel_id.clone(),
                name: channel_name.clone(),
            },
            team: Who {
                id: team_id.clone(),
                name: team_name.clone(),
            },
            text: post.message.clone(),
            root_id: post.root_id.clone(),
            post_id: post.id.clone(),
            captures,
            ..Context::default()
        };
        let root = if post.root_id.is_empty() {
            post.id.clone()
        } else {
            post.root_id.clone()
        };
        let delivery = Delivery {
            root_id: (trigger.spec.reply_in == ReplyIn::Thread).then_some(root),
            replace: None,
            user_id: Some(post.user_id.clone()),
        };
        let cx = state.cx(&name, String::new());
        let id = format!("{}:{name}", post.id);
        let event = super::claims::Event {
            kind: "message",
            id: &id,
            trigger: "message",
            route: &name,
        };
        let Some(fired) =
            super::claims::run_once(state, event, route.fire(&cx, context, &delivery)).await
        else {
            continue;
        };
        let outcome = match &fired {
            Fired::Posted(_) => "posted",
            Fired::Refused(_) => "refused",
            Fired::Failed(_) => "failed",
            _ => "nothing",
        };
        crate::metrics::trigger("message", &name, outcome);
        tracing::info!(route = %name, post_id = %post.id, outcome, "message answered");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn post(message: &str) -> PostedPost {
        serde_json::from_value(serde_json::json!({"id": "p", "message": message})).unwrap()
    }

    fn trigger(toml_text: &str) -> MessageTrigger {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("m.toml"),
            format!("[message]\n{toml_text}\n[reply]\ntext = \"x\"\n"),
        )
        .unwrap();
        let routes = crate::integrations::load_dir(dir.path()).unwrap();
        routes.get("m").unwrap().message.clone().unwrap()
    }

    #[test]
    fn mentions_channels_and_captures_decide_a_match() {
        let bot = Bot {
            id: "b".into(),
            username: "switchboard".into(),
        };
        let t = trigger("mentioned = true\npattern = '(?i)status of (?P<service>\\w+)'");
        let asked = post("@switchboard status of api please");
        assert_eq!(
            matches(&t, &asked, "town-square", false, &bot).unwrap()["service"],
            "api"
        );
        // Not mentioned in a channel: ignored; in a direct message: answered.
        let unmentioned = post("status of api");
        assert!(matches(&t, &unmentioned, "town-square", false, &bot).is_none());
        assert!(matches(&t, &unmentioned, "", true, &bot).is_some());
        assert!(matches(&t, &post("@switchboard hello"), "x", false, &bot).is_none());

        let t = trigger("trigger_words = [\"deploy\"]\nchannels = [\"ops\"]");
        assert!(matches(&t, &post("deploy now"), "ops", false, &bot).is_some());
        assert!(matches(&t, &post("deploy now"), "town-square", false, &bot).is_none());
        assert!(matches(&t, &post("deploy now"), "", true, &bot).is_none());
    }

    /// As Mattermost's mention parser decides: any case, end-of-sentence punctuation, but
    /// not a longer name, an email address or an emoji code.
    #[test]
    fn a_mention_is_recognised_as_mattermost_recognises_it() {
        for text in [
            "@switchboard status",
            "@Switchboard status",
            "hey @SWITCHBOARD, status?",
            "status, @switchboard.",
            "status @switchboard_",
            "(@switchboard) status",
            "see:@switchboard",
        ] {
            assert!(mentions(text, "switchboard"), "{text}");
        }
        for text in [
            "switchboard status",
            "@switchboard-ops status",
            "@switchboards status",
            "ops@switchboard.example status",
            ":@switchboard: status",
            "@switchboardé",
        ] {
            assert!(!mentions(text, "switchboard"), "{text}");
        }
    }

    #[test]
    fn posts_by_bots_and_webhooks_are_recognised() {
        let p: PostedPost = serde_json::from_value(serde_json::json!({
            "id": "p", "props": {"from_bot": "true"}
        }))
        .unwrap();
        assert!(p.is_by_bot_or_webhook());
        assert!(!post("hi").is_by_bot_or_webhook());
    }
}
