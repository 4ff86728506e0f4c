//! Delivering late answers through the REST API.
//!
//! An ephemeral post through the API needs `create_post_ephemeral`, which bots lack by
//! default (PROTOCOL.md §5.8). So a callback's own reply is always preferred; only when the
//! answer is late do we fall back to the API: an ephemeral post if the bot may, else a post
//! in the thread that names the user. The log says which way each answer went.

use crate::mattermost::api::NewPost;
use crate::mattermost::models::{CommandResponse, ResponseType};
use crate::mattermost::{ChannelId, Client, PostId, UserId};
use crate::protocol::SlashCommandRequest;

/// How a late message reached the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivered {
    /// Ephemerally (the bot has `create_post_ephemeral`).
    Ephemeral,
    /// As a visible post in the thread.
    InThread,
    /// Not at all (both failed; logged).
    Failed,
}

impl Delivered {
    /// The metrics label.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Delivered::Ephemeral => "ephemeral",
            Delivered::InThread => "thread",
            Delivered::Failed => "failed",
        }
    }
}

/// A slash command's late answer that its `response_url` would not take, delivered through
/// the API instead: an in-channel answer as a post in the command's channel (and thread), an
/// ephemeral one told to the user (ephemerally if the bot may, else in the thread naming
/// them). Counted in `switchboard_late_fallbacks_total`.
pub(crate) async fn command_answer_elsewhere(
    client: &Client,
    route: &str,
    request: &SlashCommandRequest,
    response: &CommandResponse,
) -> Delivered {
    let mut text = response.text.clone();
    for extra in response.extra_responses.iter().flatten() {
        if !extra.text.is_empty() {
            text.push_str("\n\n");
            text.push_str(&extra.text);
        }
    }
    if text.trim().is_empty() {
        text = "Your command finished, but its answer could not be shown here.".to_owned();
    }
    let how = if response.response_type == ResponseType::InChannel {
        let channel = ChannelId::from(request.channel_id.as_str());
        let mut create = client.posts().create(&channel, text);
        if !request.root_id.is_empty() {
            create = create.root_id(&PostId::from(request.root_id.as_str()));
        }
        match create.send().await {
            Ok(_) => Delivered::InThread,
            Err(e) => {
                tracing::error!(error = %e, "late answer could not be posted through the API either");
                Delivered::Failed
            }
        }
    } else {
        tell_user(
            client,
            &request.user_id,
            &request.user_name,
            &request.channel_id,
            &request.root_id,
            &text,
        )
        .await
    };
    crate::metrics::late_fallback("command", route, how.as_str());
    how
}

/// Tells `user_id` `text` in `channel_id` (thread `root_id`, may be empty): ephemerally if
/// possible, else in the thread, mentioning `user_name` (looked up when empty).
pub(crate) async fn tell_user(
    client: &Client,
    user_id: &str,
    user_name: &str,
    channel_id: &str,
    root_id: &str,
    text: &str,
) -> Delivered {
    let channel = ChannelId::from(channel_id);
    let mut post = NewPost::new(channel.clone(), text);
    if !root_id.is_empty() {
        post.root_id = Some(PostId::from(root_id));
    }
    match client
        .posts()
        .create_ephemeral(&UserId::from(user_id), &post)
        .await
    {
        Ok(_) => {
            tracing::info!("late answer delivered as an ephemeral post");
            return Delivered::Ephemeral;
        }
        Err(e) => tracing::info!(
            error = %e,
            "ephemeral post refused (bots lack create_post_ephemeral by default); posting in the thread"
        ),
    }
    // Said in front of the channel: name whom it is for. A dialog submission carries no user
    // name, so it is looked up here, on this rare path only.
    let looked_up;
    let user_name = if user_name.is_empty() {
        looked_up = client
            .users()
            .get(&UserId::from(user_id))
            .await
            .map(|u| u.username)
            .unwrap_or_default();
        looked_up.as_str()
    } else {
        user_name
    };
    let text = if user_name.is_empty() {
        text.to_owned()
    } else {
        format!("@{user_name} {text}")
    };
    let mut create = client.posts().create(&channel, text);
    if !root_id.is_empty() {
        create = create.root_id(&PostId::from(root_id));
    }
    match create.send().await {
        Ok(_) => {
            tracing::info!("late answer delivered as a post in the thread");
            Delivered::InThread
        }
        Err(e) => {
            tracing::error!(error = %e, "late answer could not be delivered");
            Delivered::Failed
        }
    }
}
