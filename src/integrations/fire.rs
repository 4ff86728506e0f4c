//! Firing a declared route from a trigger that has no callback to answer: a `[webhook]`,
//! a `[schedule]` tick or a `[message]`. The action runs as for any trigger (same access
//! rules, same `match` over the action kinds in `run.rs`); what it answers is *posted*:
//! into the declared channel (webhook, schedule) or the message's thread or channel. A
//! `[webhook] group_key` edits the group's earlier post instead ([`Delivery::replace`]).

use super::context::{Context, Who};
use super::handler::Cx;
use super::run::{Answer, DeclaredRoute};
use crate::mattermost::api::NewPost;
use crate::mattermost::{ChannelId, Client, PostId, UserId};

/// Where a fired route's answer goes.
#[derive(Debug, Clone, Default)]
pub struct Delivery {
    /// Post in this thread (a `[message]` answered in its thread).
    pub root_id: Option<String>,
    /// Edit this post instead of creating one (a webhook group's earlier post).
    pub replace: Option<String>,
    /// Tell answers meant for one user (errors, confirmations) to this user ephemerally
    /// (`[message]`); without one they are logged.
    pub user_id: Option<String>,
}

/// What firing did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fired {
    /// A post was created; its id.
    Posted(String),
    /// The post in [`Delivery::replace`] was edited.
    Edited(String),
    /// The action answered nothing visible, or only to one user (an exec's start notice,
    /// a `post` confirmation, an error).
    Nothing,
    /// `[access]` refused it.
    Refused(String),
    /// Posting the answer failed (logged).
    Failed(String),
}

/// What a person reads (`dev`'s `!tick`): `posted <id>`, `failed: <why>`.
impl std::fmt::Display for Fired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fired::Posted(id) => write!(f, "posted {id}"),
            Fired::Edited(id) => write!(f, "edited {id}"),
            Fired::Nothing => write!(f, "nothing posted"),
            Fired::Refused(why) => write!(f, "refused: {why}"),
            Fired::Failed(why) => write!(f, "failed: {why}"),
        }
    }
}

impl DeclaredRoute {
    /// Runs the route's main action with `context` (whose `channel` and `team` say where it
    /// happens) and posts what it answers as `delivery` says.
    pub async fn fire(&self, cx: &Cx, context: Context, delivery: &Delivery) -> Fired {
        let route = match self.route() {
            Ok(route) => route,
            Err(e) => return Fired::Failed(e.to_string()),
        };
        if let Some(refusal) = self.refused(route, cx, &context).await {
            if let Some(user) = &delivery.user_id {
                tell(cx.client(), &context.channel.id, user, &refusal).await;
            }
            return Fired::Refused(refusal);
        }
        let channel = context.channel.id.clone();
        let name = route.name.clone();
        match self.run(cx, route, &route.action, Box::new(context)).await {
            Answer::Nothing => Fired::Nothing,
            Answer::Ephemeral(text) => {
                match &delivery.user_id {
                    Some(user) => tell(cx.client(), &channel, user, &text).await,
                    None => {
                        tracing::info!(route = %name, answer = %text, "answer for no one in particular")
                    }
                }
                Fired::Nothing
            }
            // An empty answer (an event the templates chose to ignore) posts nothing.
            Answer::Reply { rendered, .. }
                if rendered.text.trim().is_empty() && rendered.attachments.is_empty() =>
            {
                Fired::Nothing
            }
            Answer::Reply { rendered, .. } => {
                let props = rendered.post_props();
                post(cx.client(), &channel, rendered.text, props, delivery).await
            }
        }
    }
}

async fn post(
    client: &Client,
    channel: &str,
    text: String,
    props: serde_json::Map<String, serde_json::Value>,
    delivery: &Delivery,
) -> Fired {
    // A webhook body can hold any amount (hundreds of alerts in an outage, a long pull
    // request title list): Mattermost would refuse the whole post, so it is cut to fit.
    let text = crate::protocol::clip_to_post_limit(text);
    if let Some(existing) = &delivery.replace {
        let mut patch = client
            .posts()
            .patch(&PostId::new(existing.clone()))
            .message(text.clone());
        if !props.is_empty() {
            patch = patch.props(props.clone());
        }
        match patch.send().await {
            Ok(post) => return Fired::Edited(post.id.as_str().to_owned()),
            // Deleted meanwhile, or never there: a new post carries on.
            Err(e) if e.is_not_found() => {
                tracing::info!(post_id = %existing, "the group's post is gone; posting anew");
            }
            Err(e) => return Fired::Failed(format!("editing post {existing}: {e}")),
        }
    }
    let channel_id = ChannelId::new(channel.to_owned());
    let mut create = client.posts().create(&channel_id, text);
    let root = delivery.root_id.clone().map(PostId::new);
    if let Some(root) = &root {
        create = create.root_id(root);
    }
    if !props.is_empty() {
        create = create.props(props);
    }
    match create.send().await {
        Ok(post) => Fired::Posted(post.id.as_str().to_owned()),
        Err(e) => {
            tracing::error!(error = %e, channel_id = %channel, "a trigger's answer could not be posted");
            Fired::Failed(e.to_string())
        }
    }
}

/// An ephemeral note to `user` in `channel`.
async fn tell(client: &Client, channel: &str, user: &str, text: &str) {
    let post = NewPost::new(ChannelId::new(channel.to_owned()), text.to_owned());
    if let Err(e) = client
        .posts()
        .create_ephemeral(&UserId::new(user.to_owned()), &post)
        .await
    {
        tracing::warn!(error = %e, "an ephemeral note could not be posted");
    }
}

/// The team and channel named `team`/`channel`, as template values with their ids.
pub async fn resolve_channel(
    client: &Client,
    team: &str,
    channel: &str,
) -> Result<(Who, Who), crate::mattermost::Error> {
    let team = client.teams().by_name(team).await?;
    let found = client
        .channels()
        .by_name(&team.id, channel.trim_start_matches('~'))
        .await?;
    Ok((
        Who {
            id: team.id.as_str().to_owned(),
            name: team.name,
        },
        Who {
            id: found.id.as_str().to_owned(),
            name: found.name,
        },
    ))
}
