//! Per-resource handles: `client.users()`, `client.posts()`, `client.channels()` …
//!
//! Each handle borrows the [`Client`]; simple calls are `async fn`s on it and
//! calls with many optional fields return a builder that ends in `.send()` (or `.stream()` for
//! listings).

mod bots;
mod channels;
mod commands;
mod dialogs;
mod emoji;
mod files;
mod groups;
mod hooks;
mod posts;
mod preferences;
mod reactions;
mod roles;
mod status;
mod system;
mod teams;
mod users;

pub use bots::{Bots, BotsList};
pub use channels::Channels;
pub use commands::Commands;
pub use dialogs::Dialogs;
pub use emoji::Emojis;
pub use files::Files;
pub use groups::{Groups, GroupsList};
pub use hooks::Hooks;
pub use posts::{ChannelPosts, CreatePost, NewPost, PatchPost, Posts};
pub use preferences::Preferences;
pub use reactions::Reactions;
pub use roles::Roles;
pub use status::Statuses;
pub use system::System;
pub use teams::Teams;
pub use users::{LoggedIn, Users, UsersList};

use super::Client;

macro_rules! handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name<'c> {
            client: &'c $crate::mattermost::Client,
        }

        impl<'c> $name<'c> {
            pub(super) fn new(client: &'c $crate::mattermost::Client) -> Self {
                $name { client }
            }
        }
    };
}
pub(crate) use handle;

/// Ids as string slices, for JSON array bodies.
pub(crate) fn id_strs<T: AsRef<str>>(ids: &[T]) -> Vec<&str> {
    ids.iter().map(AsRef::as_ref).collect()
}

impl Client {
    /// Users: <https://api.mattermost.com/#tag/users>.
    pub fn users(&self) -> Users<'_> {
        Users::new(self)
    }

    /// Teams: <https://api.mattermost.com/#tag/teams>.
    pub fn teams(&self) -> Teams<'_> {
        Teams::new(self)
    }

    /// Channels: <https://api.mattermost.com/#tag/channels>.
    pub fn channels(&self) -> Channels<'_> {
        Channels::new(self)
    }

    /// Posts: <https://api.mattermost.com/#tag/posts>.
    pub fn posts(&self) -> Posts<'_> {
        Posts::new(self)
    }

    /// Files: <https://api.mattermost.com/#tag/files>.
    pub fn files(&self) -> Files<'_> {
        Files::new(self)
    }

    /// Reactions: <https://api.mattermost.com/#tag/reactions>.
    pub fn reactions(&self) -> Reactions<'_> {
        Reactions::new(self)
    }

    /// Incoming and outgoing webhooks: <https://api.mattermost.com/#tag/webhooks>.
    pub fn hooks(&self) -> Hooks<'_> {
        Hooks::new(self)
    }

    /// Slash commands: <https://api.mattermost.com/#tag/commands>.
    pub fn commands(&self) -> Commands<'_> {
        Commands::new(self)
    }

    /// Groups: <https://api.mattermost.com/#tag/groups>.
    pub fn groups(&self) -> Groups<'_> {
        Groups::new(self)
    }

    /// Interactive dialogs: <https://api.mattermost.com/#tag/integration_actions>.
    pub fn dialogs(&self) -> Dialogs<'_> {
        Dialogs::new(self)
    }

    /// Bots: <https://api.mattermost.com/#tag/bots>.
    pub fn bots(&self) -> Bots<'_> {
        Bots::new(self)
    }

    /// User status: <https://api.mattermost.com/#tag/status>.
    pub fn status(&self) -> Statuses<'_> {
        Statuses::new(self)
    }

    /// Preferences: <https://api.mattermost.com/#tag/preferences>.
    pub fn preferences(&self) -> Preferences<'_> {
        Preferences::new(self)
    }

    /// Custom emoji: <https://api.mattermost.com/#tag/emoji>.
    pub fn emoji(&self) -> Emojis<'_> {
        Emojis::new(self)
    }

    /// Roles: <https://api.mattermost.com/#tag/roles>.
    pub fn roles(&self) -> Roles<'_> {
        Roles::new(self)
    }

    /// System: <https://api.mattermost.com/#tag/system>.
    pub fn system(&self) -> System<'_> {
        System::new(self)
    }
}
