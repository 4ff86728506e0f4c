//! Slash commands: <https://api.mattermost.com/#tag/commands>.

use serde::Deserialize;

use super::handle;
use crate::mattermost::endpoints as ep;
use crate::mattermost::models::{AutocompleteSuggestion, Command, CommandResponse};
use crate::mattermost::{ApiRequest, ChannelId, CommandId, Result, TeamId};

handle! {
    /// Handle for slash-command calls; see [`Client::commands`](crate::mattermost::Client::commands).
    Commands
}

impl<'c> Commands<'c> {
    /// The commands a team's users see in autocomplete. `GET /teams/{team_id}/commands/autocomplete`
    /// (<https://api.mattermost.com/#tag/commands/operation/ListAutocompleteCommands>).
    pub async fn autocomplete(&self, team_id: &TeamId) -> Result<Vec<Command>> {
        self.client
            .send_json(&ApiRequest::new(
                ep::COMMANDS_AUTOCOMPLETE,
                &[team_id.as_str()],
            )?)
            .await
    }

    /// Autocomplete suggestions for a partly typed command line (`user_input`, e.g. `/dep`).
    /// `GET /teams/{team_id}/commands/autocomplete_suggestions`
    /// (<https://api.mattermost.com/#tag/commands/operation/ListCommandAutocompleteSuggestions>).
    pub async fn autocomplete_suggestions(
        &self,
        team_id: &TeamId,
        user_input: &str,
    ) -> Result<Vec<AutocompleteSuggestion>> {
        let request = ApiRequest::new(ep::COMMANDS_AUTOCOMPLETE_SUGGESTIONS, &[team_id.as_str()])?
            .query("user_input", user_input);
        self.client.send_json(&request).await
    }

    /// Registers a command; the answer carries its id and token. `POST /commands`
    /// (<https://api.mattermost.com/#tag/commands/operation/CreateCommand>).
    pub async fn create(&self, command: &Command) -> Result<Command> {
        let request = ApiRequest::new(ep::COMMANDS_CREATE, &[])?.json(command)?;
        self.client.send_json(&request).await
    }

    /// Lists a team's commands. With `custom_only`, only custom commands, with their tokens
    /// (the only listing that returns them; needs `manage_own_slash_commands`).
    /// `GET /commands?team_id=&custom_only=`
    /// (<https://api.mattermost.com/#tag/commands/operation/ListCommands>).
    pub async fn list(&self, team_id: &TeamId, custom_only: bool) -> Result<Vec<Command>> {
        if team_id.as_str().is_empty() {
            return Err(crate::mattermost::Error::invalid(
                "team_id must not be empty",
            ));
        }
        let request = ApiRequest::new(ep::COMMANDS_LIST, &[])?
            .query("team_id", team_id)
            .query("custom_only", &custom_only);
        self.client.send_json(&request).await
    }

    /// A command by id. `GET /commands/{command_id}`
    /// (<https://api.mattermost.com/#tag/commands/operation/GetCommandById>).
    pub async fn get(&self, command_id: &CommandId) -> Result<Command> {
        self.client
            .send_json(&ApiRequest::new(ep::COMMANDS_GET, &[command_id.as_str()])?)
            .await
    }

    /// Replaces a command (its `id` must be set). `PUT /commands/{command_id}`
    /// (<https://api.mattermost.com/#tag/commands/operation/UpdateCommand>).
    pub async fn update(&self, command: &Command) -> Result<Command> {
        let id = command.id.as_ref().map_or("", CommandId::as_str);
        let request = ApiRequest::new(ep::COMMANDS_UPDATE, &[id])?.json(command)?;
        self.client.send_json(&request).await
    }

    /// Deletes a command. `DELETE /commands/{command_id}`
    /// (<https://api.mattermost.com/#tag/commands/operation/DeleteCommand>).
    pub async fn delete(&self, command_id: &CommandId) -> Result<()> {
        self.client
            .send_unit(&ApiRequest::new(
                ep::COMMANDS_DELETE,
                &[command_id.as_str()],
            )?)
            .await
    }

    /// Gives a command a new token and returns it; the old one stops working at once.
    /// `PUT /commands/{command_id}/regen_token`
    /// (<https://api.mattermost.com/#tag/commands/operation/RegenCommandToken>).
    pub async fn regen_token(&self, command_id: &CommandId) -> Result<String> {
        #[derive(Deserialize)]
        struct TokenBody {
            token: String,
        }
        let request = ApiRequest::new(ep::COMMANDS_REGEN_TOKEN, &[command_id.as_str()])?;
        let body: TokenBody = self.client.send_json(&request).await?;
        Ok(body.token)
    }

    /// Runs a command line (starting with `/`) as the token's user.
    /// `POST /commands/execute`
    /// (<https://api.mattermost.com/#tag/commands/operation/ExecuteCommand>).
    pub async fn execute(&self, channel_id: &ChannelId, command: &str) -> Result<CommandResponse> {
        let body = serde_json::json!({ "channel_id": channel_id, "command": command });
        let request = ApiRequest::new(ep::COMMANDS_EXECUTE, &[])?.json(&body)?;
        self.client.send_json(&request).await
    }
}
