//! The values templates can use. One shape for real requests and for the sample that
//! `switchboard check` renders every template against.

use serde::Serialize;

use crate::protocol::{Mention, SlashCommandRequest};

/// `{{ user.id }}`, `{{ user.name }}`.
#[derive(Debug, Clone, Serialize)]
pub struct Who {
    /// Id.
    pub id: String,
    /// URL name (username, channel name, team name).
    pub name: String,
}

/// The context of a slash-command invocation.
#[derive(Debug, Clone, Serialize)]
pub struct CommandContext {
    /// The invoking user.
    pub user: Who,
    /// The channel it was typed in.
    pub channel: Who,
    /// The team.
    pub team: Who,
    /// `/trigger`.
    pub command: String,
    /// Everything after the trigger.
    pub text: String,
    /// The thread root, if typed in a reply.
    pub root_id: String,
    /// `@user` mentions.
    pub user_mentions: Vec<Mention>,
    /// `~channel` mentions.
    pub channel_mentions: Vec<Mention>,
}

impl CommandContext {
    /// The context of a real request.
    pub fn from_request(req: &SlashCommandRequest) -> Self {
        CommandContext {
            user: Who {
                id: req.user_id.clone(),
                name: req.user_name.clone(),
            },
            channel: Who {
                id: req.channel_id.clone(),
                name: req.channel_name.clone(),
            },
            team: Who {
                id: req.team_id.clone(),
                name: req.team_domain.clone(),
            },
            command: req.command.clone(),
            text: req.text.clone(),
            root_id: req.root_id.clone(),
            user_mentions: req.user_mentions.clone(),
            channel_mentions: req.channel_mentions.clone(),
        }
    }

    /// A plausible context, for test-rendering templates at load time.
    pub fn sample(trigger: &str) -> Self {
        let who = |id: &str, name: &str| Who {
            id: id.to_owned(),
            name: name.to_owned(),
        };
        CommandContext {
            user: who("sampleuserid00000000000000", "alice"),
            channel: who("samplechannelid00000000000", "town-square"),
            team: who("sampleteamid00000000000000", "main"),
            command: format!("/{trigger}"),
            text: "some text".to_owned(),
            root_id: String::new(),
            user_mentions: Vec::new(),
            channel_mentions: Vec::new(),
        }
    }
}
