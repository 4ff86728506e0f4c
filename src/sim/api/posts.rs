//! Posts: create, get, update, patch, and ephemeral posts (PROTOCOL.md §5.5–§5.8).
//!
//! Creating needs `create_post` in the channel (membership); editing needs `edit_post` on one's
//! own posts or `edit_others_posts`; ephemeral posts need the system-wide
//! `create_post_ephemeral`, which only system admins hold (the seeded bot is not one).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Session, decode, json, null_default, require_id};
use crate::sim::app_error::AppError;
use crate::sim::ids::now_millis;
use crate::sim::model::SimPost;
use crate::sim::permissions::Permission;
use crate::sim::state::{POST_MESSAGE_MAX_RUNES, SimEvent, Store, World, make_ephemeral};

/// The Post JSON as a client sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PostBody {
    #[serde(deserialize_with = "null_default")]
    id: String,
    #[serde(deserialize_with = "null_default")]
    channel_id: String,
    #[serde(deserialize_with = "null_default")]
    message: String,
    #[serde(deserialize_with = "null_default")]
    root_id: String,
    #[serde(deserialize_with = "null_default")]
    props: Map<String, Value>,
    #[serde(deserialize_with = "null_default")]
    file_ids: Vec<String>,
    #[serde(rename = "type", deserialize_with = "null_default")]
    post_type: String,
    #[serde(deserialize_with = "null_default")]
    pending_post_id: String,
    #[serde(deserialize_with = "null_default")]
    is_pinned: bool,
}

/// Types a user may not set.
fn check_type(post_type: &str) -> Result<(), AppError> {
    if post_type.starts_with("system_") {
        return Err(AppError::new(
            "api.context.invalid_param.app_error",
            400,
            "Invalid post.type parameter.",
        ));
    }
    Ok(())
}

/// Creates a post as `user_id` with every REST check (shared with `World::create_post`).
pub(crate) fn create_post_as(
    world: &World,
    user_id: &str,
    mut post: SimPost,
) -> Result<SimPost, AppError> {
    let saved = {
        let mut store = world.lock();
        if !store.has_channel_permission(user_id, &post.channel_id, Permission::CreatePost) {
            return Err(AppError::permission(Permission::CreatePost.id()));
        }
        check_type(&post.post_type)?;
        post.user_id = user_id.to_owned();
        // Clients may not set these.
        post.props.remove("from_webhook");
        post.props.remove("override_username");
        post.props.remove("override_icon_url");
        post.create_at = 0;
        store.save_post(post)?
    };
    world.publish(SimEvent::PostCreated(saved.clone()));
    crate::sim::outgoing::fire(world, &saved);
    Ok(saved)
}

pub(super) async fn create(
    State(world): State<World>,
    session: Session,
    body: Bytes,
) -> Result<Response, AppError> {
    let body: PostBody = decode(&body, "post")?;
    let mut post = SimPost::new(
        &body.channel_id,
        &session.user_id,
        &body.root_id,
        &body.message,
    );
    post.props = body.props;
    post.post_type = body.post_type;
    post.file_ids = body.file_ids;
    post.pending_post_id = body.pending_post_id;
    let saved = create_post_as(&world, &session.user_id, post)?;
    Ok(json(StatusCode::CREATED, saved.to_json()))
}

pub(super) async fn get(
    State(world): State<World>,
    session: Session,
    Path(post_id): Path<String>,
) -> Result<Response, AppError> {
    let post_id = require_id(&post_id, "post_id")?;
    let store = world.lock();
    let post = store.post(&post_id).ok_or_else(post_missing)?;
    let readable = store
        .channel(&post.channel_id)
        .is_some_and(|c| store.can_read_channel(&session.user_id, c));
    if !readable {
        return Err(AppError::permission(Permission::ReadChannel.id()));
    }
    Ok(json(StatusCode::OK, post.to_json()))
}

fn post_missing() -> AppError {
    AppError::new("app.post.get.app_error", 404, "Unable to get the post.")
}

/// `edit_post` for one's own post, `edit_others_posts` otherwise; unknown posts fail the
/// permission check (it runs before the lookup), like `SessionHasPermissionToChannelByPost`.
fn editable(store: &Store, user_id: &str, post_id: &str) -> Result<SimPost, AppError> {
    let Some(post) = store.post(post_id) else {
        return Err(AppError::permission(Permission::EditPost.id()));
    };
    if !store.has_channel_permission(user_id, &post.channel_id, Permission::EditPost) {
        return Err(AppError::permission(Permission::EditPost.id()));
    }
    if post.user_id != user_id
        && !store.has_channel_permission(user_id, &post.channel_id, Permission::EditOthersPosts)
    {
        return Err(AppError::permission(Permission::EditOthersPosts.id()));
    }
    if post.post_type.starts_with("system_") {
        return Err(AppError::new(
            "api.post.update_post.system_message.app_error",
            400,
            "Unable to update system message.",
        ));
    }
    Ok(post.clone())
}

fn store_edit(world: &World, old: &SimPost, mut new: SimPost) -> Result<SimPost, AppError> {
    if new.message.chars().count() > POST_MESSAGE_MAX_RUNES {
        return Err(AppError::new(
            "model.post.is_valid.message_length.app_error",
            400,
            "Invalid Message property length.",
        ));
    }
    crate::sim::interactive::fill_action_ids(&mut new.props);
    let now = now_millis();
    new.update_at = now;
    if new.message != old.message {
        new.edit_at = now;
    }
    {
        let mut store = world.lock();
        if let Some(slot) = store.post_mut(&new.id) {
            *slot = new.clone();
        }
    }
    world.publish(SimEvent::PostEdited(new.clone()));
    Ok(new)
}

pub(super) async fn update(
    State(world): State<World>,
    session: Session,
    Path(post_id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let post_id = require_id(&post_id, "post_id")?;
    let body: PostBody = decode(&body, "post")?;
    if body.id != post_id {
        return Err(AppError::invalid_param("id"));
    }
    let old = editable(&world.lock(), &session.user_id, &post_id)?;
    let mut new = old.clone();
    new.message = body.message;
    new.props = body.props;
    new.file_ids = body.file_ids;
    let saved = store_edit(&world, &old, new)?;
    Ok(json(StatusCode::OK, saved.to_json()))
}

/// `model.PostPatch`: only present keys apply.
#[derive(Debug, Default, Deserialize)]
pub(super) struct PostPatch {
    is_pinned: Option<bool>,
    message: Option<String>,
    props: Option<Map<String, Value>>,
    file_ids: Option<Vec<String>>,
    has_reactions: Option<bool>,
}

pub(super) async fn patch(
    State(world): State<World>,
    session: Session,
    Path(post_id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let post_id = require_id(&post_id, "post_id")?;
    let patch: PostPatch = decode(&body, "post")?;
    let old = editable(&world.lock(), &session.user_id, &post_id)?;
    let mut new = old.clone();
    if let Some(pinned) = patch.is_pinned {
        new.is_pinned = pinned;
    }
    if let Some(message) = patch.message {
        new.message = message;
    }
    if let Some(props) = patch.props {
        new.props = props;
    }
    if let Some(file_ids) = patch.file_ids {
        new.file_ids = file_ids;
    }
    let _ = patch.has_reactions;
    let saved = store_edit(&world, &old, new)?;
    Ok(json(StatusCode::OK, saved.to_json()))
}

/// `{"user_id", "post"}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct EphemeralBody {
    #[serde(deserialize_with = "null_default")]
    user_id: String,
    post: Option<PostBody>,
}

pub(super) async fn create_ephemeral(
    State(world): State<World>,
    session: Session,
    body: Bytes,
) -> Result<Response, AppError> {
    if !world
        .lock()
        .has_system_permission(&session.user_id, Permission::CreatePostEphemeral)
    {
        return Err(AppError::permission(Permission::CreatePostEphemeral.id()));
    }
    let body: EphemeralBody = decode(&body, "ephemeral_post")?;
    if body.user_id.is_empty() {
        return Err(AppError::invalid_param("user_id"));
    }
    let Some(post) = body.post else {
        return Err(AppError::invalid_param("post"));
    };
    if post.channel_id.is_empty() {
        return Err(AppError::invalid_param("post.channel_id"));
    }
    let mut eph = SimPost::new(
        &post.channel_id,
        &session.user_id,
        &post.root_id,
        &post.message,
    );
    eph.props = post.props;
    let eph = make_ephemeral(eph, &body.user_id);
    world.publish(SimEvent::EphemeralPost(eph.clone()));
    Ok(json(StatusCode::CREATED, eph.to_json()))
}
