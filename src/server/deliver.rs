//! Delivering late answers through the REST API.
//!
//! An ephemeral post through the API needs `create_post_ephemeral`, which bots lack by
//! default (PROTOCOL.md §5.8). So a callback's own reply is always preferred; only when the
//! answer is late do we fall back to the API: an ephemeral post if the bot may, else a post
//! in the thread that names the user. The log says which way each answer went.

use crate::mattermost::api::NewPost;
use crate::mattermost::{ChannelId, Client, PostId, UserId};

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

/// Tells `user_id` `text` in `channel_id` (thread `root_id`, may be empty): ephemerally if
/// possible, else in the thread, mentioning `user_name`.
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
