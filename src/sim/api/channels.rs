//! Channels: `GET /channels/{channel_id}`, `/teams/{team_id}/channels/name/{name}`.
//!
//! Public channels are readable by team members; private ones only by their members. Looking
//! up a private channel one cannot read by name answers 404 (Mattermost hides its existence).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{Session, json, require_id};
use crate::sim::app_error::AppError;
use crate::sim::permissions::Permission;
use crate::sim::state::World;

pub(super) async fn get_channel(
    State(world): State<World>,
    session: Session,
    Path(channel_id): Path<String>,
) -> Result<Response, AppError> {
    let channel_id = require_id(&channel_id, "channel_id")?;
    let store = world.lock();
    let channel = store.channel(&channel_id).ok_or_else(|| {
        AppError::new(
            "app.channel.get.existing.app_error",
            404,
            "Unable to find the existing channel.",
        )
    })?;
    if !store.can_read_channel(&session.user_id, channel) {
        let p = if channel.is_open() {
            Permission::ReadPublicChannel
        } else {
            Permission::ReadChannel
        };
        return Err(AppError::permission(p.id()));
    }
    Ok(json(StatusCode::OK, channel.to_json()))
}

pub(super) async fn get_by_name(
    State(world): State<World>,
    session: Session,
    Path((team_id, name)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let team_id = require_id(&team_id, "team_id")?;
    let store = world.lock();
    let missing = || {
        AppError::new(
            "app.channel.get_by_name.missing.app_error",
            404,
            "Channel does not exist.",
        )
    };
    let channel = store
        .channel_by_name(&team_id, &name)
        .filter(|c| c.delete_at == 0)
        .ok_or_else(missing)?;
    if channel.is_open() {
        if !store.has_team_permission(
            &session.user_id,
            &channel.team_id,
            Permission::ReadPublicChannel,
        ) {
            return Err(AppError::permission(Permission::ReadPublicChannel.id()));
        }
    } else if !store.has_channel_permission(&session.user_id, &channel.id, Permission::ReadChannel)
    {
        return Err(missing());
    }
    Ok(json(StatusCode::OK, channel.to_json()))
}
