//! Outgoing-webhook management (PROTOCOL.md §2.1), following `api4/webhook.go`: the feature
//! switch (501), the team permission (`manage_own_outgoing_webhooks`, and
//! `manage_others_outgoing_webhooks` for someone else's hook), channel checks (public, same
//! team), `IsValid`, and the channel/URL/trigger intersection rule. Regenerating a token is a
//! **POST** answering the whole hook.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{Session, decode, json, require_id, status_ok};
use crate::sim::app_error::AppError;
use crate::sim::ids::{new_id, now_millis};
use crate::sim::outgoing::{HookBody, SimOutgoingHook};
use crate::sim::permissions::Permission;
use crate::sim::state::{Store, World};

fn disabled() -> AppError {
    AppError::new(
        "api.outgoing_webhook.disabled.app_error",
        501,
        "Outgoing webhooks have been disabled by the system admin.",
    )
}

fn missing() -> AppError {
    AppError::new(
        "app.webhooks.get_outgoing.app_error",
        404,
        "Unable to get the webhook.",
    )
}

fn require_enabled(store: &Store) -> Result<(), AppError> {
    if store.settings.enable_outgoing_webhooks {
        Ok(())
    } else {
        Err(disabled())
    }
}

/// May `user_id` manage `hook` (own, or others' with the others permission)?
fn check_manage(
    store: &Store,
    user_id: &str,
    team_id: &str,
    creator_id: &str,
) -> Result<(), AppError> {
    if !store.has_team_permission(user_id, team_id, Permission::ManageOwnOutgoingWebhooks) {
        return Err(AppError::permission(
            Permission::ManageOwnOutgoingWebhooks.id(),
        ));
    }
    if creator_id != user_id
        && !store.has_team_permission(user_id, team_id, Permission::ManageOthersOutgoingWebhooks)
    {
        return Err(AppError::permission(
            Permission::ManageOthersOutgoingWebhooks.id(),
        ));
    }
    Ok(())
}

/// A hook's channel must be a public channel of its team.
fn check_channel(store: &Store, hook: &SimOutgoingHook) -> Result<(), AppError> {
    if hook.channel_id.is_empty() {
        if hook.trigger_words.is_empty() {
            return Err(AppError::new(
                "api.webhook.create_outgoing.triggers.app_error",
                400,
                "Either trigger_words or channel_id must be set.",
            ));
        }
        return Ok(());
    }
    let ok = store
        .channel(&hook.channel_id)
        .is_some_and(|c| c.is_open() && c.team_id == hook.team_id && c.delete_at == 0);
    if ok {
        Ok(())
    } else {
        Err(AppError::new(
            "api.webhook.create_outgoing.not_open.app_error",
            403,
            "Only public channels can have outgoing webhooks.",
        ))
    }
}

/// Same channel, a shared callback URL and a shared trigger word: refused.
fn intersects(store: &Store, hook: &SimOutgoingHook) -> bool {
    store.outgoing_hooks.iter().any(|h| {
        h.delete_at == 0
            && h.id != hook.id
            && h.team_id == hook.team_id
            && h.channel_id == hook.channel_id
            && h.callback_urls
                .iter()
                .any(|u| hook.callback_urls.contains(u))
            && (h
                .trigger_words
                .iter()
                .any(|w| hook.trigger_words.contains(w))
                || (h.trigger_words.is_empty() && hook.trigger_words.is_empty()))
    })
}

fn apply(body: HookBody, hook: &mut SimOutgoingHook) {
    hook.channel_id = body.channel_id;
    hook.trigger_words = body.trigger_words;
    hook.trigger_when = body.trigger_when;
    hook.callback_urls = body.callback_urls;
    hook.display_name = body.display_name;
    hook.description = body.description;
    hook.content_type = body.content_type;
    hook.username = body.username;
    hook.icon_url = body.icon_url;
}

pub(super) async fn create(
    State(world): State<World>,
    session: Session,
    body: Bytes,
) -> Result<Response, AppError> {
    let body: HookBody = decode(&body, "outgoing_webhook")?;
    let mut store = world.lock();
    require_enabled(&store)?;
    let creator = if body.creator_id.is_empty() {
        session.user_id.clone()
    } else {
        body.creator_id.clone()
    };
    let mut hook = SimOutgoingHook {
        team_id: body.team_id.clone(),
        creator_id: creator,
        ..SimOutgoingHook::default()
    };
    apply(body, &mut hook);
    check_manage(&store, &session.user_id, &hook.team_id, &hook.creator_id)?;
    check_channel(&store, &hook)?;
    hook.validate()?;
    if intersects(&store, &hook) {
        return Err(AppError::new(
            "api.webhook.create_outgoing.intersect.app_error",
            500,
            "Outgoing webhooks from the same channel cannot have the same trigger words/callback URLs.",
        ));
    }
    hook.id = new_id();
    hook.token = new_id();
    hook.create_at = now_millis();
    hook.update_at = hook.create_at;
    store.outgoing_hooks.push(hook.clone());
    Ok(json(StatusCode::CREATED, hook.to_json()))
}

/// `?team_id=&channel_id=&page=&per_page=`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    team_id: Option<String>,
    channel_id: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

pub(super) async fn list(
    State(world): State<World>,
    session: Session,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let store = world.lock();
    require_enabled(&store)?;
    let me = &session.user_id;
    let channel_id = query.channel_id.unwrap_or_default();
    let team_id = query.team_id.unwrap_or_default();
    let team_of_channel = if channel_id.is_empty() {
        String::new()
    } else {
        store
            .channel(&channel_id)
            .map(|c| c.team_id.clone())
            .ok_or_else(|| AppError::invalid_param("channel_id"))?
    };
    let scope_team = if team_of_channel.is_empty() {
        team_id
    } else {
        team_of_channel
    };
    if !scope_team.is_empty()
        && !store.has_team_permission(me, &scope_team, Permission::ManageOwnOutgoingWebhooks)
    {
        return Err(AppError::permission(
            Permission::ManageOwnOutgoingWebhooks.id(),
        ));
    }
    let page: usize = query.page.and_then(|p| p.parse().ok()).unwrap_or(0);
    let per_page: usize = query
        .per_page
        .and_then(|p| p.parse().ok())
        .filter(|&p| p > 0)
        .unwrap_or(60)
        .min(200);
    let hooks: Vec<serde_json::Value> = store
        .outgoing_hooks
        .iter()
        .filter(|h| h.delete_at == 0)
        .filter(|h| channel_id.is_empty() || h.channel_id == channel_id)
        .filter(|h| scope_team.is_empty() || h.team_id == scope_team)
        .filter(|h| {
            store.has_team_permission(me, &h.team_id, Permission::ManageOwnOutgoingWebhooks)
                && (h.creator_id == *me
                    || store.has_team_permission(
                        me,
                        &h.team_id,
                        Permission::ManageOthersOutgoingWebhooks,
                    ))
        })
        .skip(page.saturating_mul(per_page))
        .take(per_page)
        .map(SimOutgoingHook::to_json)
        .collect();
    Ok(json(StatusCode::OK, serde_json::Value::Array(hooks)))
}

/// The live hook `id` if the caller may manage it.
fn managed(store: &Store, user_id: &str, id: &str) -> Result<SimOutgoingHook, AppError> {
    require_enabled(store)?;
    let hook = store
        .outgoing_hooks
        .iter()
        .find(|h| h.id == id && h.delete_at == 0)
        .cloned()
        .ok_or_else(missing)?;
    check_manage(store, user_id, &hook.team_id, &hook.creator_id)?;
    Ok(hook)
}

pub(super) async fn get(
    State(world): State<World>,
    session: Session,
    Path(hook_id): Path<String>,
) -> Result<Response, AppError> {
    let hook_id = require_id(&hook_id, "hook_id")?;
    let hook = managed(&world.lock(), &session.user_id, &hook_id)?;
    Ok(json(StatusCode::OK, hook.to_json()))
}

pub(super) async fn update(
    State(world): State<World>,
    session: Session,
    Path(hook_id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let hook_id = require_id(&hook_id, "hook_id")?;
    let body: HookBody = decode(&body, "outgoing_webhook")?;
    if body.id != hook_id {
        return Err(AppError::invalid_param("hook_id"));
    }
    let mut store = world.lock();
    let old = managed(&store, &session.user_id, &hook_id)?;
    if !body.team_id.is_empty() && body.team_id != old.team_id {
        return Err(AppError::new(
            "api.webhook.team_mismatch.app_error",
            400,
            "Unable to update webhook across teams.",
        ));
    }
    let mut hook = old.clone();
    let token = body.token.clone();
    apply(body, &mut hook);
    // The stored row is written whole: the token comes from the body (send back the GET).
    hook.token = token;
    check_channel(&store, &hook)?;
    hook.validate()?;
    if intersects(&store, &hook) {
        return Err(AppError::new(
            "api.webhook.update_outgoing.intersect.app_error",
            400,
            "Outgoing webhooks from the same channel cannot have the same trigger words/callback URLs.",
        ));
    }
    hook.update_at = now_millis();
    if let Some(slot) = store.outgoing_hooks.iter_mut().find(|h| h.id == hook_id) {
        *slot = hook.clone();
    }
    Ok(json(StatusCode::OK, hook.to_json()))
}

pub(super) async fn delete(
    State(world): State<World>,
    session: Session,
    Path(hook_id): Path<String>,
) -> Result<Response, AppError> {
    let hook_id = require_id(&hook_id, "hook_id")?;
    let mut store = world.lock();
    managed(&store, &session.user_id, &hook_id)?;
    let now = now_millis();
    if let Some(slot) = store.outgoing_hooks.iter_mut().find(|h| h.id == hook_id) {
        slot.delete_at = now;
    }
    Ok(status_ok())
}

pub(super) async fn regen_token(
    State(world): State<World>,
    session: Session,
    Path(hook_id): Path<String>,
) -> Result<Response, AppError> {
    let hook_id = require_id(&hook_id, "hook_id")?;
    let mut store = world.lock();
    managed(&store, &session.user_id, &hook_id)?;
    let Some(slot) = store.outgoing_hooks.iter_mut().find(|h| h.id == hook_id) else {
        return Err(missing());
    };
    slot.token = new_id();
    slot.update_at = now_millis();
    Ok(json(StatusCode::OK, slot.to_json()))
}
