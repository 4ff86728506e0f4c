//! Test controls: things that happen to a real Mattermost outside our integration's view —
//! another user registering a command, an admin regenerating a token or changing a role, the
//! server going down — done directly on the [`World`], with no HTTP call and no entry in the
//! request log.

use super::error::SimError;
use super::ids::{new_id, now_millis};
use super::model::{SimCommand, Team, TeamMember};
use super::state::{RecordedRequest, World};

impl World {
    /// Stores a custom command created by `username` in `team_name`, as if they had registered it
    /// themselves (`method` `P`, autocomplete on). Trigger uniqueness is **not** checked, so a
    /// test can also set up the duplicates two racing creates leave behind on a real server.
    pub fn create_command_as(
        &self,
        username: &str,
        team_name: &str,
        trigger: &str,
        url: &str,
    ) -> Result<SimCommand, SimError> {
        let user_id = self.resolve_user(username)?;
        let mut store = self.lock();
        let team_id = store
            .team_by_name(team_name)
            .map(|t| t.id.clone())
            .ok_or_else(|| SimError::NoSuch {
                kind: "team",
                name: team_name.to_owned(),
            })?;
        let now = now_millis();
        let command = SimCommand {
            id: new_id(),
            token: new_id(),
            create_at: now,
            update_at: now,
            creator_id: user_id,
            team_id,
            trigger: trigger.to_lowercase(),
            method: "P".to_owned(),
            auto_complete: true,
            display_name: trigger.to_owned(),
            url: url.to_owned(),
            ..SimCommand::default()
        };
        store.commands.push(command.clone());
        Ok(command)
    }

    /// Adds a team `name` (invite only) with the bot as team admin and alice and bob as
    /// members; no channels. Returns its id.
    pub fn create_team(&self, name: &str) -> String {
        let now = now_millis();
        let mut store = self.lock();
        let team = Team {
            id: new_id(),
            name: name.to_owned(),
            display_name: name.to_owned(),
            team_type: "I".to_owned(),
            allow_open_invite: false,
            email: format!("admin@{name}.example.com"),
            invite_id: new_id(),
            create_at: now,
            update_at: now,
            delete_at: 0,
        };
        let members: Vec<(String, bool)> = store
            .users
            .iter()
            .map(|u| (u.id.clone(), u.username == "switchboard"))
            .collect();
        for (user_id, admin) in members {
            store.team_members.push(TeamMember {
                team_id: team.id.clone(),
                user_id,
                admin,
            });
        }
        let id = team.id.clone();
        store.teams.push(team);
        id
    }

    /// Live outgoing webhooks of a team (empty for an unknown team).
    pub fn outgoing_hooks(&self, team_name: &str) -> Vec<super::outgoing::SimOutgoingHook> {
        let store = self.lock();
        let Some(team) = store.team_by_name(team_name) else {
            return Vec::new();
        };
        store
            .outgoing_hooks
            .iter()
            .filter(|h| h.team_id == team.id && h.delete_at == 0)
            .cloned()
            .collect()
    }

    /// Gives an outgoing webhook a new token, as an admin regenerating it does. Returns it.
    pub fn regen_hook_token(&self, hook_id: &str) -> Result<String, SimError> {
        let token = new_id();
        let mut store = self.lock();
        let hook = store
            .outgoing_hooks
            .iter_mut()
            .find(|h| h.id == hook_id && h.delete_at == 0)
            .ok_or_else(|| SimError::NoSuch {
                kind: "outgoing webhook",
                name: hook_id.to_owned(),
            })?;
        hook.token.clone_from(&token);
        hook.update_at = now_millis();
        Ok(token)
    }

    /// Changes fields of a live command in place, as an admin editing it in the System Console
    /// would. Returns the changed command.
    pub fn edit_command(
        &self,
        command_id: &str,
        change: impl FnOnce(&mut SimCommand),
    ) -> Result<SimCommand, SimError> {
        let mut store = self.lock();
        let command = store
            .commands
            .iter_mut()
            .find(|c| c.id == command_id && c.delete_at == 0)
            .ok_or_else(|| SimError::NoSuch {
                kind: "command",
                name: command_id.to_owned(),
            })?;
        change(command);
        command.update_at = now_millis();
        Ok(command.clone())
    }

    /// Gives a command a new token, as an admin pressing "Regenerate token" does; the old one
    /// stops working at once. Returns the new token.
    pub fn regen_command_token(&self, command_id: &str) -> Result<String, SimError> {
        let token = new_id();
        self.edit_command(command_id, |c| c.token.clone_from(&token))?;
        Ok(token)
    }

    /// Makes `username` a team admin of `team_name` or a plain member. A plain member lacks
    /// `manage_own_slash_commands`, so the custom-only listing answers 403.
    pub fn set_team_admin(
        &self,
        username: &str,
        team_name: &str,
        admin: bool,
    ) -> Result<(), SimError> {
        let user_id = self.resolve_user(username)?;
        let mut store = self.lock();
        let team_id = store
            .team_by_name(team_name)
            .map(|t| t.id.clone())
            .ok_or_else(|| SimError::NoSuch {
                kind: "team",
                name: team_name.to_owned(),
            })?;
        let member = store
            .team_members
            .iter_mut()
            .find(|m| m.team_id == team_id && m.user_id == user_id)
            .ok_or_else(|| SimError::NoSuch {
                kind: "team member",
                name: format!("{team_name}/{username}"),
            })?;
        member.admin = admin;
        Ok(())
    }

    /// A plugin registers `/trigger`: from now on a custom command cannot take it (400
    /// `api.command.duplicate_trigger.app_error`, as for built-ins).
    pub fn register_plugin_command(&self, trigger: &str) {
        self.lock().plugin_triggers.insert(trigger.to_lowercase());
    }

    /// Answers every `/api/v4` call with `status` (e.g. 503, 502, 429) until called with
    /// `None`: the server is down behind its proxy, or rate limiting everything.
    pub fn set_fault(&self, status: Option<u16>) {
        self.lock().fault = status;
    }

    /// The write calls (POST/PUT/PATCH/DELETE) in the request log, with their bodies, whatever
    /// their status.
    pub fn write_requests(&self) -> Vec<RecordedRequest> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.is_write())
            .cloned()
            .collect()
    }

    /// Empties the request log and the write counter, so a test can look at one phase alone.
    pub fn clear_requests(&self) {
        let mut store = self.lock();
        store.requests.clear();
        store.api_writes = 0;
    }
}
