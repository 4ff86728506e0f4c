//! Channels: `GET /channels/{channel_id}`, `/teams/{team_id}/channels/name/{name}`, and
//! `POST /channels/direct`.
//!
//! Public channels are readable by team members; private ones only by their members. Looking
//! up a private channel one cannot read by name answers 404 (Mattermost hides its existence).
//! A direct channel is open to any account (`create_direct_channel` belongs to `system_user`,
//! so bots have it) when it is one of the two; another pair needs `manage_system`
//! (`createDirectChannel` in `channels/api4/channel.go`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{Session, json, require_id};
use crate::sim::app_error::AppError;
use crate::sim::ids::is_valid_id;
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

/// `POST /channels/direct` with `[user_id, user_id]`: 201 and the channel, new or existing.
pub(super) async fn create_direct(
    State(world): State<World>,
    session: Session,
    body: Bytes,
) -> Result<Response, AppError> {
    // `model.ArrayFromJSON`: anything but an array of strings reads as an empty list.
    let user_ids: Vec<String> = serde_json::from_slice(&body).unwrap_or_default();
    let [a, b] = user_ids.as_slice() else {
        return Err(AppError::invalid_param("user_ids"));
    };
    if !is_valid_id(a) || !is_valid_id(b) {
        return Err(AppError::invalid_param("user_id"));
    }
    let mut store = world.lock();
    if !store.has_system_permission(&session.user_id, Permission::CreateDirectChannel) {
        return Err(AppError::permission(Permission::CreateDirectChannel.id()));
    }
    let own = *a == session.user_id || *b == session.user_id;
    if !own && !store.has_system_permission(&session.user_id, Permission::ManageSystem) {
        return Err(AppError::permission(Permission::ManageSystem.id()));
    }
    let channel = store.direct_channel(a, b)?;
    Ok(json(StatusCode::CREATED, channel.to_json()))
}
