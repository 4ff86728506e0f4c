//! Delivering answers meant for one user through the REST API.
//!
//! An ephemeral post through the API needs `create_post_ephemeral`, which bots lack by
//! default: only system admins hold it (PROTOCOL.md §5.8). So a callback's own reply is
//! always preferred; only when there is none (a dialog's submit or cancel cannot carry a
//! message) or the answer is late do we use the API: an ephemeral post if the bot may, else a
//! direct message from the bot that says where it came from. A private answer is never posted
//! where others can read it: a route author chose `ephemeral` because the answer may be
//! nobody else's business, and a public post cannot be taken back. The log and
//! `switchboard_late_fallbacks_total` say which way each answer went.

use crate::mattermost::api::NewPost;
use crate::mattermost::models::{CommandResponse, Extra, ResponseType};
use crate::mattermost::{ChannelId, Client, PostId, UserId};
use crate::protocol::{SlashCommandRequest, clip_to_post_limit};

/// How a message reached the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivered {
    /// Ephemerally (the bot has `create_post_ephemeral`).
    Ephemeral,
    /// As a direct message from the bot (the ephemeral post was refused).
    Direct,
    /// As a visible post in the channel (and thread): an `in_channel` answer, public anyway.
    InChannel,
    /// Not at all (logged).
    Failed,
}

impl Delivered {
    /// The metrics label (`via`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Delivered::Ephemeral => "ephemeral",
            Delivered::Direct => "direct",
            Delivered::InChannel => "channel",
            Delivered::Failed => "failed",
        }
    }
}

/// Whom a private message is for, and where the thing it answers happened.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Recipient<'a> {
    /// The user.
    pub(crate) user_id: &'a str,
    /// The channel the answer belongs in.
    pub(crate) channel_id: &'a str,
    /// Its thread's root post; empty for none.
    pub(crate) root_id: &'a str,
}

/// A slash command's late answer that its `response_url` would not take, delivered through
/// the API instead: an in-channel answer as a post in the command's channel (and thread), an
/// ephemeral one told to the user alone ([`tell_user`]). Counted in
/// `switchboard_late_fallbacks_total`.
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
        let mut create = client.posts().create(&channel, clip_to_post_limit(text));
        if !request.root_id.is_empty() {
            create = create.root_id(&PostId::from(request.root_id.as_str()));
        }
        match create.send().await {
            Ok(_) => Delivered::InChannel,
            Err(e) => {
                tracing::error!(error = %e, "late answer could not be posted through the API either");
                Delivered::Failed
            }
        }
    } else {
        let to = Recipient {
            user_id: &request.user_id,
            channel_id: &request.channel_id,
            root_id: &request.root_id,
        };
        tell_user(client, to, &text, None).await
    };
    crate::metrics::late_fallback("command", route, how.as_str());
    how
}

/// Tells the user `text` (with `props`: attachments, buttons) so that nobody else sees it:
/// an ephemeral post in their channel and thread if the bot may make one, else a direct
/// message from the bot saying where it came from. When both are refused the answer is lost
/// (logged as an error), rather than shown to the channel.
pub(crate) async fn tell_user(
    client: &Client,
    to: Recipient<'_>,
    text: &str,
    props: Option<Extra>,
) -> Delivered {
    let mut post = NewPost::new(
        ChannelId::from(to.channel_id),
        clip_to_post_limit(text.to_owned()),
    );
    if !to.root_id.is_empty() {
        post.root_id = Some(PostId::from(to.root_id));
    }
    post.props = props.clone();
    let refused = match client
        .posts()
        .create_ephemeral(&UserId::from(to.user_id), &post)
        .await
    {
        Ok(_) => {
            tracing::info!("private answer delivered as an ephemeral post");
            return Delivered::Ephemeral;
        }
        Err(e) => e,
    };
    match direct_message(client, to, text, props).await {
        Ok(()) => {
            tracing::info!(
                ephemeral_refused = %refused,
                "private answer delivered as a direct message (bots lack create_post_ephemeral by default)"
            );
            Delivered::Direct
        }
        Err(e) => {
            tracing::error!(
                ephemeral_refused = %refused,
                error = %e,
                "private answer not delivered: neither an ephemeral post nor a direct message was accepted"
            );
            Delivered::Failed
        }
    }
}

/// Posts `text` in the direct channel of the bot and the user, after a note of where it came
/// from: unlike an ephemeral post, it does not appear beside what it answers.
async fn direct_message(
    client: &Client,
    to: Recipient<'_>,
    text: &str,
    props: Option<Extra>,
) -> Result<(), crate::mattermost::Error> {
    let bot = client.own_user_id().await?;
    let direct = client
        .channels()
        .direct(&bot, &UserId::from(to.user_id))
        .await?;
    // Where it came from, only to say so: a lookup that fails leaves the note out.
    let origin = match client.channels().get(&ChannelId::from(to.channel_id)).await {
        Ok(channel) if matches!(channel.channel_type.as_str(), "O" | "P") => Some(channel.name),
        Ok(_) => None,
        Err(e) => {
            tracing::debug!(error = %e, "the answer's channel could not be looked up");
            None
        }
    };
    let message = clip_to_post_limit(with_origin(origin.as_deref(), !to.root_id.is_empty(), text));
    let mut create = client.posts().create(&direct.id, message);
    if let Some(props) = props {
        create = create.props(props);
    }
    create.send().await.map(|_| ())
}

/// `text` after a note of where it came from (`~channel`, in a thread or not): on the same
/// line for one line, on a line of its own before several (which may open with a code block
/// or a list, which must start a line). No channel known (the answer came from a direct or
/// group message): `text` alone.
fn with_origin(channel: Option<&str>, in_thread: bool, text: &str) -> String {
    let Some(channel) = channel else {
        return text.to_owned();
    };
    let place = if in_thread {
        format!("From a thread in ~{channel}:")
    } else {
        format!("From ~{channel}:")
    };
    if text.contains('\n') {
        format!("{place}\n{text}")
    } else {
        format!("{place} {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Simulator;

    /// `GET /users/me` calls the simulator has answered so far.
    fn me_calls(sim: &Simulator) -> usize {
        sim.world()
            .api_requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path == "/api/v4/users/me")
            .count()
    }

    #[tokio::test]
    async fn a_second_direct_message_asks_no_more_who_the_bot_is() {
        // Arrange: a bot that may not post ephemerally (the simulator's default), so every
        // private answer is a direct message.
        let sim = Simulator::start(([127, 0, 0, 1], 0).into()).await.unwrap();
        let client = Client::builder(sim.url().as_str())
            .token(sim.bot_token())
            .build()
            .unwrap();
        let alice = sim.world().user_id("alice").unwrap();
        let town_square = sim.world().channel_id("main", "town-square").unwrap();
        let to = Recipient {
            user_id: &alice,
            channel_id: &town_square,
            root_id: "",
        };

        // Act
        let first = tell_user(&client, to, "one", None).await;
        let second = tell_user(&client, to, "two", None).await;

        // Assert: both delivered, one lookup of the bot's id between them.
        assert_eq!((first, second), (Delivered::Direct, Delivered::Direct));
        let direct = sim.direct_channel("switchboard", "alice").unwrap();
        let told: Vec<String> = sim
            .posts_in_channel(&direct)
            .into_iter()
            .map(|p| p.message)
            .collect();
        assert_eq!(told, ["From ~town-square: one", "From ~town-square: two"]);
        assert_eq!(me_calls(&sim), 1, "{:?}", sim.world().api_requests());

        // Another token is another user: its id is looked up, not taken from the bot's.
        let as_bob = client
            .with_token(&sim.world().user_token("bob").unwrap().into())
            .unwrap();
        assert_eq!(
            tell_user(&as_bob, to, "three", None).await,
            Delivered::Direct
        );
        assert_eq!(me_calls(&sim), 2);
        let from_bob = sim.direct_channel("bob", "alice").unwrap();
        assert_eq!(sim.posts_in_channel(&from_bob).len(), 1);
    }

    #[test]
    fn a_direct_message_says_where_it_came_from() {
        assert_eq!(
            with_origin(Some("town-square"), false, "cancelled"),
            "From ~town-square: cancelled"
        );
        assert_eq!(
            with_origin(Some("ops"), true, "done"),
            "From a thread in ~ops: done"
        );
        assert_eq!(
            with_origin(Some("ops"), false, "```\nlog\n```"),
            "From ~ops:\n```\nlog\n```"
        );
        assert_eq!(with_origin(None, false, "hi"), "hi");
    }
}
