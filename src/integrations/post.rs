//! The `post` action: a templated message posted as the bot to a channel named by team and
//! channel name, optionally as a reply in a thread. Names are resolved through the API on each
//! run, so a renamed channel is found again after a reload and a missing one is reported to the
//! user.

use serde_json::json;

use super::context::Context;
use super::spec::PostSpec;
use super::template::{Template, TemplateError};
use crate::mattermost::Client;
use crate::mattermost::{PostId, TeamId};

/// A compiled `[post]`.
#[derive(Debug, Clone)]
pub struct PostAction {
    team: Option<Template>,
    channel: Template,
    message: Template,
    root_id: Option<Template>,
    reply: Template,
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
            PostError::NotFound { what, name, .. } => format!(
                "there is no {what} `{name}` that Switchboard can post to (it may not exist, or the bot is not a member)"
            ),
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
        Ok(PostAction {
            team: spec.team.as_deref().map(|s| t("team", s)).transpose()?,
            channel: t("channel", &spec.channel)?,
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
        self.channel.render(context)?;
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
    pub async fn run(&self, client: &Client, context: Context) -> Result<String, PostError> {
        let team_name = match &self.team {
            Some(t) => t.render(&context)?,
            None => context.team.name.clone(),
        };
        let channel_name = self.channel.render(&context)?;
        let channel_name = channel_name.trim().trim_start_matches('~').to_owned();
        let message = self.message.render(&context)?;
        let root = match &self.root_id {
            Some(t) => t.render(&context)?.trim().to_owned(),
            None => String::new(),
        };
        let team_id = if team_name == context.team.name && !context.team.id.is_empty() {
            TeamId::new(context.team.id.clone())
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
        };
        let channel = client
            .channels()
            .by_name(&team_id, &channel_name)
            .await
            .map_err(|source| PostError::NotFound {
                what: "channel",
                name: channel_name.clone(),
                source,
            })?;
        let mut create = client.posts().create(&channel.id, message);
        let root_id = PostId::new(root.clone());
        if !root.is_empty() {
            create = create.root_id(&root_id);
        }
        let post = create.send().await?;
        let context = context.with_result(
            "post",
            json!({"id": post.id.as_str(), "channel": channel_name, "team": team_name}),
        );
        Ok(self.reply.render(&context)?)
    }
}
