//! Slash-command management and execution (PROTOCOL.md §1.1, §1.2), following
//! `api4/command.go` check by check, in the same order: permission, then the feature switch,
//! then trigger uniqueness, then `Command.IsValid`. Failing to see a command one may not manage
//! is a 404, never a 403, so ids do not leak.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{Session, decode, json, null_default, require_id, status_ok};
use crate::sim::app_error::AppError;
use crate::sim::builtin;
use crate::sim::execute::{disabled, execute_as_user};
use crate::sim::ids::{is_valid_id, new_id, now_millis};
use crate::sim::model::SimCommand;
use crate::sim::permissions::Permission;
use crate::sim::state::{Store, World};

/// The Command JSON as a client sends it (Go zero values for absent or `null` keys).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct CommandBody {
    #[serde(deserialize_with = "null_default")]
    id: String,
    #[serde(deserialize_with = "null_default")]
    token: String,
    #[serde(deserialize_with = "null_default")]
    creator_id: String,
    #[serde(deserialize_with = "null_default")]
    team_id: String,
    #[serde(deserialize_with = "null_default")]
    trigger: String,
    #[serde(deserialize_with = "null_default")]
    method: String,
    #[serde(deserialize_with = "null_default")]
    username: String,
    #[serde(deserialize_with = "null_default")]
    icon_url: String,
    #[serde(deserialize_with = "null_default")]
    auto_complete: bool,
    #[serde(deserialize_with = "null_default")]
    auto_complete_desc: String,
    #[serde(deserialize_with = "null_default")]
    auto_complete_hint: String,
    #[serde(deserialize_with = "null_default")]
    display_name: String,
    #[serde(deserialize_with = "null_default")]
    description: String,
    #[serde(deserialize_with = "null_default")]
    url: String,
}

impl CommandBody {
    /// The user-settable fields applied onto `cmd`.
    fn apply_to(self, cmd: &mut SimCommand) {
        cmd.trigger = self.trigger.to_lowercase();
        cmd.method = self.method;
        cmd.username = self.username;
        cmd.icon_url = self.icon_url;
        cmd.auto_complete = self.auto_complete;
        cmd.auto_complete_desc = self.auto_complete_desc;
        cmd.auto_complete_hint = self.auto_complete_hint;
        cmd.display_name = self.display_name;
        cmd.description = self.description;
        cmd.url = self.url;
    }
}

fn command_not_found() -> AppError {
    AppError::new(
        "store.sql_command.save.get.app_error",
        404,
        "Unable to get the command.",
    )
}

fn invalid(field: &str, message: &str) -> AppError {
    AppError::new(
        &format!("model.command.is_valid.{field}.app_error"),
        400,
        message,
    )
}

/// `Command.IsValid`, in Mattermost's order.
fn is_valid(cmd: &SimCommand) -> Result<(), AppError> {
    if !is_valid_id(&cmd.id) {
        return Err(invalid("id", "Invalid id."));
    }
    if cmd.token.len() != 26 {
        return Err(invalid("token", "Invalid token."));
    }
    if cmd.create_at == 0 {
        return Err(invalid("create_at", "Create at must be a valid time."));
    }
    if cmd.update_at == 0 {
        return Err(invalid("update_at", "Update at must be a valid time."));
    }
    if !is_valid_id(&cmd.creator_id) {
        return Err(invalid("user_id", "Invalid user id."));
    }
    if !is_valid_id(&cmd.team_id) {
        return Err(invalid("team_id", "Invalid team ID."));
    }
    if cmd.trigger.is_empty()
        || cmd.trigger.len() > 128
        || cmd.trigger.starts_with('/')
        || cmd.trigger.contains(' ')
    {
        return Err(invalid(
            "trigger",
            "Invalid trigger: it must be 1-128 characters, not start with / and contain no spaces.",
        ));
    }
    if cmd.url.is_empty() || cmd.url.len() > 1024 {
        return Err(invalid("url", "Invalid url."));
    }
    if !is_valid_http_url(&cmd.url) {
        return Err(invalid(
            "url_http",
            "Invalid URL. Must be a valid URL and start with http:// or https://.",
        ));
    }
    if cmd.method != "G" && cmd.method != "P" {
        return Err(invalid("method", "Invalid method."));
    }
    if cmd.display_name.chars().count() > 64 {
        return Err(invalid("display_name", "Invalid title."));
    }
    if cmd.description.chars().count() > 128 {
        return Err(invalid("description", "Invalid description."));
    }
    Ok(())
}

/// `IsValidHTTPURL`: `http://` or `https://` prefix and a host.
fn is_valid_http_url(raw: &str) -> bool {
    (raw.starts_with("http://") || raw.starts_with("https://"))
        && url::Url::parse(raw).is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()))
}

/// `validateCommandTriggerUniqueness`.
fn check_trigger_unique(
    store: &Store,
    team_id: &str,
    trigger: &str,
    exclude: &str,
) -> Result<(), AppError> {
    let trigger = trigger.to_lowercase();
    let taken = builtin::is_built_in(&trigger)
        || store.plugin_triggers.contains(&trigger)
        || store.commands.iter().any(|c| {
            c.delete_at == 0 && c.team_id == team_id && c.id != exclude && c.trigger == trigger
        });
    if taken {
        return Err(AppError::new(
            "api.command.duplicate_trigger.app_error",
            400,
            "This trigger word is already in use. Please choose another word.",
        ));
    }
    Ok(())
}

pub(super) async fn create(
    State(world): State<World>,
    session: Session,
    body: Bytes,
) -> Result<Response, AppError> {
    let body: CommandBody = decode(&body, "command")?;
    let cmd = validate_new_command(&world.lock(), &session.user_id, body)?;
    // Mattermost checks trigger uniqueness with one query and saves with another, with no
    // transaction around them, so concurrent creates of one trigger can both succeed. The
    // simulator keeps that window open (the lock is released here) so replicas racing at
    // startup meet the duplicates they would meet on a real server.
    tokio::task::yield_now().await;
    world.lock().commands.push(cmd.clone());
    Ok(json(StatusCode::CREATED, cmd.to_json()))
}

/// The checks of `createCommand`/`CreateCommand`, in order, and the command to save.
fn validate_new_command(
    store: &Store,
    me: &str,
    body: CommandBody,
) -> Result<SimCommand, AppError> {
    if !store.has_team_permission(me, &body.team_id, Permission::ManageOwnSlashCommands) {
        return Err(AppError::permission(
            Permission::ManageOwnSlashCommands.id(),
        ));
    }
    let mut creator = me.to_owned();
    if !body.creator_id.is_empty() && body.creator_id != me {
        if !store.has_team_permission(me, &body.team_id, Permission::ManageOthersSlashCommands) {
            return Err(AppError::permission(
                Permission::ManageOthersSlashCommands.id(),
            ));
        }
        if store.user(&body.creator_id).is_none() {
            return Err(AppError::new(
                "app.user.missing_account.const",
                404,
                "Unable to find the user.",
            ));
        }
        creator.clone_from(&body.creator_id);
    }
    if !store.settings.enable_commands {
        return Err(disabled());
    }
    check_trigger_unique(store, &body.team_id, &body.trigger, "")?;
    if !body.id.is_empty() {
        // The store refuses to overwrite; the app layer reports it as an internal error.
        return Err(AppError::new(
            "app.command.createcommand.internal_error",
            500,
            "Unable to save the command.",
        ));
    }
    let now = now_millis();
    let mut cmd = SimCommand {
        id: new_id(),
        token: if body.token.is_empty() {
            new_id()
        } else {
            body.token.clone()
        },
        create_at: now,
        update_at: now,
        creator_id: creator,
        team_id: body.team_id.clone(),
        ..SimCommand::default()
    };
    body.apply_to(&mut cmd);
    is_valid(&cmd)?;
    Ok(cmd)
}

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    team_id: Option<String>,
    custom_only: Option<String>,
}

pub(super) async fn list(
    State(world): State<World>,
    session: Session,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    // strconv.ParseBool: anything unparsable is false.
    let custom_only = matches!(
        query.custom_only.as_deref(),
        Some("1" | "t" | "T" | "TRUE" | "true" | "True")
    );
    let team_id = query.team_id.unwrap_or_default();
    if team_id.is_empty() {
        return Err(AppError::invalid_param("team_id"));
    }
    let store = world.lock();
    let me = &session.user_id;
    if !store.has_team_permission(me, &team_id, Permission::ViewTeam) {
        return Err(AppError::permission(Permission::ViewTeam.id()));
    }
    let can_manage = store.has_team_permission(me, &team_id, Permission::ManageOwnSlashCommands);
    let manage_others =
        store.has_team_permission(me, &team_id, Permission::ManageOthersSlashCommands);
    let custom = store
        .commands
        .iter()
        .filter(|c| c.delete_at == 0 && c.team_id == team_id);

    let commands: Vec<SimCommand> = if custom_only {
        if !can_manage {
            return Err(AppError::permission(
                Permission::ManageOwnSlashCommands.id(),
            ));
        }
        if !store.settings.enable_commands {
            return Err(disabled());
        }
        custom
            .filter(|c| manage_others || c.creator_id == *me)
            .cloned()
            .collect()
    } else {
        let mut out = Vec::new();
        let built_ins = builtin::listing(store.settings.enable_custom_user_statuses);
        let mut seen: Vec<String> = Vec::new();
        if can_manage {
            // ListAllCommandsByUser: built-ins first, then the team's (sanitized).
            for c in built_ins {
                seen.push(c.trigger.clone());
                out.push(c);
            }
            if store.settings.enable_commands {
                for c in custom.filter(|c| manage_others || c.creator_id == *me) {
                    if !seen.contains(&c.trigger) {
                        seen.push(c.trigger.clone());
                        out.push(c.sanitized());
                    }
                }
            }
        } else {
            // ListAutocompleteCommands: the team's autocomplete commands, then built-ins.
            if store.settings.enable_commands {
                for c in custom.filter(|c| c.auto_complete) {
                    if !seen.contains(&c.trigger) {
                        seen.push(c.trigger.clone());
                        out.push(c.sanitized());
                    }
                }
            }
            for c in built_ins {
                if !seen.contains(&c.trigger) {
                    seen.push(c.trigger.clone());
                    out.push(c);
                }
            }
        }
        out
    };
    let body = commands.iter().map(SimCommand::to_json).collect();
    Ok(json(StatusCode::OK, serde_json::Value::Array(body)))
}

/// Loads a command the caller may manage, with `getCommand`'s 404s and the manage-others 403
/// (`others_is_404` for GET, which hides even that).
fn manageable(
    store: &Store,
    user_id: &str,
    command_id: &str,
    others_is_404: bool,
) -> Result<SimCommand, AppError> {
    if !store.settings.enable_commands {
        // GetCommand fails with 501, which the handlers report as not found.
        return Err(command_not_found());
    }
    let cmd = store.command(command_id).ok_or_else(command_not_found)?;
    if others_is_404 && !store.has_team_permission(user_id, &cmd.team_id, Permission::ViewTeam) {
        return Err(command_not_found());
    }
    if !store.has_team_permission(user_id, &cmd.team_id, Permission::ManageOwnSlashCommands) {
        return Err(command_not_found());
    }
    if cmd.creator_id != user_id
        && !store.has_team_permission(user_id, &cmd.team_id, Permission::ManageOthersSlashCommands)
    {
        return Err(if others_is_404 {
            command_not_found()
        } else {
            AppError::permission(Permission::ManageOthersSlashCommands.id())
        });
    }
    Ok(cmd.clone())
}

pub(super) async fn get(
    State(world): State<World>,
    session: Session,
    Path(command_id): Path<String>,
) -> Result<Response, AppError> {
    let command_id = require_id(&command_id, "command_id")?;
    let store = world.lock();
    let cmd = manageable(&store, &session.user_id, &command_id, true)?;
    Ok(json(StatusCode::OK, cmd.to_json()))
}

pub(super) async fn update(
    State(world): State<World>,
    session: Session,
    Path(command_id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let command_id = require_id(&command_id, "command_id")?;
    let body: CommandBody = decode(&body, "command")?;
    if body.id != command_id {
        return Err(AppError::invalid_param("command"));
    }
    let mut store = world.lock();
    let old = store
        .command(&command_id)
        .cloned()
        .filter(|_| store.settings.enable_commands)
        .ok_or_else(command_not_found)?;
    if body.team_id != old.team_id {
        return Err(AppError::new(
            "api.command.team_mismatch.app_error",
            400,
            "Unable to update command across teams.",
        ));
    }
    let old = manageable(&store, &session.user_id, &command_id, false)?;
    check_trigger_unique(&store, &old.team_id, &body.trigger, &old.id)?;
    // Id, token, creator, team, create/delete times are kept; everything else comes from the body.
    let mut cmd = SimCommand {
        update_at: now_millis(),
        ..old.clone()
    };
    body.apply_to(&mut cmd);
    is_valid(&cmd)?;
    if let Some(slot) = store.commands.iter_mut().find(|c| c.id == cmd.id) {
        *slot = cmd.clone();
    }
    Ok(json(StatusCode::OK, cmd.to_json()))
}

pub(super) async fn delete(
    State(world): State<World>,
    session: Session,
    Path(command_id): Path<String>,
) -> Result<Response, AppError> {
    let command_id = require_id(&command_id, "command_id")?;
    let mut store = world.lock();
    let cmd = manageable(&store, &session.user_id, &command_id, false)?;
    let now = now_millis();
    if let Some(slot) = store.commands.iter_mut().find(|c| c.id == cmd.id) {
        slot.delete_at = now;
        slot.update_at = now;
    }
    Ok(status_ok())
}

pub(super) async fn regen_token(
    State(world): State<World>,
    session: Session,
    Path(command_id): Path<String>,
) -> Result<Response, AppError> {
    let command_id = require_id(&command_id, "command_id")?;
    let mut store = world.lock();
    let cmd = manageable(&store, &session.user_id, &command_id, false)?;
    let token = new_id();
    if let Some(slot) = store.commands.iter_mut().find(|c| c.id == cmd.id) {
        slot.token.clone_from(&token);
        slot.update_at = now_millis();
    }
    Ok(json(StatusCode::OK, serde_json::json!({ "token": token })))
}

/// `model.CommandArgs` as the client sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ExecuteBody {
    #[serde(deserialize_with = "null_default")]
    channel_id: String,
    #[serde(deserialize_with = "null_default")]
    command: String,
    #[serde(deserialize_with = "null_default")]
    root_id: String,
}

pub(super) async fn execute(
    State(world): State<World>,
    session: Session,
    body: Bytes,
) -> Result<Response, AppError> {
    let body: ExecuteBody = decode(&body, "command_args")?;
    let executed = execute_as_user(
        &world,
        &session.user_id,
        &body.channel_id,
        &body.root_id,
        &body.command,
    )
    .await
    .map_err(crate::sim::error::SimError::into_app_error)?;
    Ok(json(StatusCode::OK, executed.response.to_json()))
}
