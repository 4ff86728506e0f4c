//! Per-resource handles: `client.users()`, `client.teams()`, `client.commands()` …
//!
//! Each handle borrows the [`Client`](super::Client); simple calls are `async fn`s on it.

mod commands;
mod system;
mod teams;
mod users;

pub use commands::Commands;
pub use system::System;
pub use teams::Teams;
pub use users::Users;

use super::Client;

impl Client {
    /// Users: <https://api.mattermost.com/#tag/users>.
    pub fn users(&self) -> Users<'_> {
        Users::new(self)
    }

    /// Teams: <https://api.mattermost.com/#tag/teams>.
    pub fn teams(&self) -> Teams<'_> {
        Teams::new(self)
    }

    /// Slash commands: <https://api.mattermost.com/#tag/commands>.
    pub fn commands(&self) -> Commands<'_> {
        Commands::new(self)
    }

    /// System: <https://api.mattermost.com/#tag/system>.
    pub fn system(&self) -> System<'_> {
        System::new(self)
    }
}
