//! The `post` action: a templated message posted as the bot, optionally as a reply in a
//! thread, to
//! - the channel the request came from (`channel = "here"`): no lookup, one API call in all;
//! - a channel given by id (`channel_id`, a template): no lookup either;
//! - a channel named by team and channel name: looked up through the shared, time-limited
//!   name cache ([`Directory`]), so a renamed channel is found again within a minute and a
//!   missing one is reported to the user.
//!
//! A message longer than a Mattermost post (16,383 characters) is cut to fit, ending in a
//! note that it was cut, rather than sent whole: Mattermost refuses such a post outright, so a
//! long chat message quoted into a page would otherwise page no one.

use std::sync::Arc;

use minijinja::value::DynObject;
use serde_json::json;

use super::context::Context;
use super::names::Directory;
use super::spec::PostSpec;
use super::template::{Template, TemplateError};
use crate::mattermost::Client;
use crate::mattermost::{ChannelId, PostId};

/// A compiled `[post]`.
#[derive(Debug, Clone)]
pub struct PostAction {
    team: Option<Template>,
    channel: Target,
    message: Template,
    root_id: Option<Template>,
    reply: Template,
}

/// Where a `[post]` goes.
#[derive(Debug, Clone)]
enum Target {
    /// The request's own channel.
    Here,
    /// A channel name (template), looked up in the team.
    Named(Template),
    /// A channel id (template).
    Id(Template),
}

/// Why posting failed, as the user is told.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// A template failed.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The team or channel does not exist, or the bot cannot see it.
    #[error("cannot find {what} `{name}`: {source}")]
    NotFound {
        /// `team` or `channel`.
        what: &'static str,
        /// The name.
        name: String,
        /// The API error.
        #[source]
        source: crate::mattermost::Error,
    },
    /// The team or channel does not exist.
    #[error("there is no {what} `{name}`")]
    Missing {
        /// `team` or `channel`.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// The request has no channel to post `here` in.
    #[error("this request has no channel to post `here` in")]
    NoChannel,
    /// Mattermost refused the post.
    #[error("posting failed: {0}")]
    Api(#[from] crate::mattermost::Error),
}

impl PostError {
    /// What went wrong, in words for the user who ran the command; the error itself (with
    /// Mattermost's ids and details) belongs in the log.
    pub fn user_message(&self) -> String {
        match self {
            PostError::Template(_) => {
                "the message could not be put together; the details are in Switchboard's log"
                    .to_owned()
            }
            PostError::NotFound { what, name, .. } | PostError::Missing { what, name } => format!(
                "there is no {what} `{name}` that Switchboard can post to (it may not exist, or the bot is not a member)"
            ),
            PostError::NoChannel => "this request has no channel to post in".to_owned(),
            PostError::Api(e) if e.status().is_some_and(|s| s.as_u16() == 403) => {
                "Switchboard's bot is not allowed to post there".to_owned()
            }
            PostError::Api(_) => {
                "Mattermost did not take the post; the details are in Switchboard's log".to_owned()
            }
        }
    }
}

impl PostAction {
    /// Compiles the spec.
    pub fn compile(name: &str, spec: &PostSpec) -> Result<Self, TemplateError> {
        let t = |key: &str, source: &str| Template::compile(&format!("{name}.{key}"), source);
        let m =
            |key: &str, source: &str| Template::compile_message(&format!("{name}.{key}"), source);
        let channel = match (&spec.channel_id, spec.channel.trim()) {
            (Some(id), "") => Target::Id(t("channel_id", id)?),
            (None, "here") => Target::Here,
            (None, name) if !name.is_empty() => Target::Named(t("channel", &spec.channel)?),
            _ => {
                return Err(TemplateError {
                    message: "give exactly one of `channel` (a name, or \"here\") and `channel_id`"
                        .into(),
                    line: None,
                    name: Some(format!("{name}.channel")),
                });
            }
        };
        Ok(PostAction {
            team: spec.team.as_deref().map(|s| t("team", s)).transpose()?,
            channel,
            message: m("message", &spec.message)?,
            root_id: spec
                .root_id
                .as_deref()
                .map(|s| t("root_id", s))
                .transpose()?,
            reply: m("reply", &spec.reply)?,
        })
    }

    /// Test-renders every template.
    pub fn check(&self, context: &Context) -> Result<(), TemplateError> {
        if let Some(team) = &self.team {
            team.render(context)?;
        }
        match &self.channel {
            Target::Named(t) | Target::Id(t) => {
                t.render(context)?;
            }
            Target::Here => {}
        }
        self.message.render(context)?;
        if let Some(root) = &self.root_id {
            root.render(context)?;
        }
        let context = context
            .clone()
            .with_result("post", json!({"id": "x", "channel": "x", "team": "x"}));
        self.reply.render(&context)?;
        Ok(())
    }

    /// Posts, and renders the confirmation for the user (empty: no answer).
    ///
    /// Not an `async fn`, whose future would hold the context (550 bytes) as given besides
    /// the `Arc` it is moved into.
    pub fn run<'a>(
        &'a self,
        client: &'a Client,
        directory: &'a Directory,
        context: Context,
    ) -> impl Future<Output = Result<String, PostError>> + Send + 'a {
        // Converted once for every template below, keys on first use (rendering the context
        // itself would serialise all of it for each template), and shared rather than copied:
        // taken back below to add the post's result.
        let shared = Arc::new(context);
        self.run_shared(client, directory, shared)
    }

    async fn run_shared(
        &self,
        client: &Client,
        directory: &Directory,
        shared: Arc<Context>,
    ) -> Result<String, PostError> {
        let view = minijinja::Value::from_dyn_object(DynObject::new(Arc::clone(&shared)));
        let context = &*shared;
        let message = self.message.render(&view)?;
        let root = match &self.root_id {
            Some(t) => t.render(&view)?.trim().to_owned(),
            None => String::new(),
        };
        let (channel_id, channel_name, team_name) = match &self.channel {
            Target::Here if context.channel.id.is_empty() => return Err(PostError::NoChannel),
            Target::Here => (
                context.channel.id.clone(),
                context.channel.name.clone(),
                context.team.name.clone(),
            ),
            Target::Id(t) => (
                t.render(&context)?.trim().to_owned(),
                String::new(),
                String::new(),
            ),
            Target::Named(t) => {
                let channel_name = t
                    .render(&context)?
                    .trim()
                    .trim_start_matches('~')
                    .to_owned();
                let team_name = match &self.team {
                    Some(t) => t.render(&context)?.trim().to_owned(),
                    None => context.team.name.clone(),
                };
                let team_id = if (self.team.is_none() || team_name == context.team.name)
                    && !context.team.id.is_empty()
                {
                    context.team.id.clone()
                } else {
                    client
                        .teams()
                        .by_name(&team_name)
                        .await
                        .map_err(|source| PostError::NotFound {
                            what: "team",
                            name: team_name.clone(),
                            source,
                        })?
                        .id
                        .as_str()
                        .to_owned()
                };
                let channel = directory
                    .channel_by_name(client, &team_id, &channel_name)
                    .await
                    .map_err(|source| PostError::NotFound {
                        what: "channel",
                        name: channel_name.clone(),
                        source,
                    })?
                    .ok_or_else(|| PostError::Missing {
                        what: "channel",
                        name: channel_name.clone(),
                    })?;
                (channel.id, channel_name, team_name)
            }
        };
        let channel = ChannelId::new(channel_id);
        let message = crate::protocol::clip_to_post_limit(message);
        let mut create = client.posts().create(&channel, message);
        let root_id = PostId::new(root.clone());
        if !root.is_empty() {
            create = create.root_id(&root_id);
        }
        let post_id = create.send_for_id().await?;
        // Nothing but `view` holds the context once the templates are done with it.
        drop(view);
        let context = Arc::try_unwrap(shared).unwrap_or_else(|shared| (*shared).clone());
        let context = context.with_result(
            "post",
            json!({"id": post_id.as_str(), "channel": channel_name, "team": team_name}),
        );
        Ok(self.reply.render(&context.into_template_value())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(channel: &str, channel_id: Option<&str>) -> PostSpec {
        PostSpec {
            team: None,
            channel: channel.to_owned(),
            channel_id: channel_id.map(str::to_owned),
            message: "m".to_owned(),
            root_id: None,
            reply: String::new(),
        }
    }

    #[test]
    fn the_target_is_here_a_name_or_an_id_and_exactly_one_of_them() {
        let target = |channel, id| PostAction::compile("r", &spec(channel, id)).map(|a| a.channel);
        assert!(matches!(target("here", None), Ok(Target::Here)));
        assert!(matches!(target("~town-square", None), Ok(Target::Named(_))));
        assert!(matches!(
            target("", Some("{{ args.id }}")),
            Ok(Target::Id(_))
        ));
        for (channel, id) in [("", None), ("here", Some("x")), ("a", Some("x"))] {
            let error = target(channel, id).unwrap_err();
            assert!(
                error.message.contains("exactly one of"),
                "{}",
                error.message
            );
        }
    }
}
