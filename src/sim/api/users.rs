//! Users: `GET /users/me`, `/users/{user_id}`, `/users/username/{username}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{Session, json, user_id_param};
use crate::sim::app_error::AppError;
use crate::sim::model::User;
use crate::sim::state::World;

fn render(viewer: &str, user: &User, viewer_is_admin: bool) -> Response {
    json(
        StatusCode::OK,
        user.to_json(viewer == user.id || viewer_is_admin),
    )
}

pub(super) async fn get_me(
    State(world): State<World>,
    session: Session,
) -> Result<Response, AppError> {
    let store = world.lock();
    let user = store.user(&session.user_id).ok_or_else(missing_account)?;
    Ok(render(&session.user_id, user, user.is_system_admin()))
}

pub(super) async fn get_user(
    State(world): State<World>,
    session: Session,
    Path(user_id): Path<String>,
) -> Result<Response, AppError> {
    let user_id = user_id_param(&user_id, &session)?;
    let store = world.lock();
    let admin = store
        .user(&session.user_id)
        .is_some_and(User::is_system_admin);
    let user = store.user(&user_id).ok_or_else(missing_account)?;
    Ok(render(&session.user_id, user, admin))
}

pub(super) async fn get_by_username(
    State(world): State<World>,
    session: Session,
    Path(username): Path<String>,
) -> Result<Response, AppError> {
    let store = world.lock();
    let admin = store
        .user(&session.user_id)
        .is_some_and(User::is_system_admin);
    let user = store.user_by_name(&username).ok_or_else(|| {
        AppError::new(
            "app.user.get_by_username.app_error",
            404,
            "Unable to find an existing account matching your username for this team.",
        )
    })?;
    Ok(render(&session.user_id, user, admin))
}

fn missing_account() -> AppError {
    AppError::new(
        "app.user.missing_account.const",
        404,
        "Unable to find the user.",
    )
}
