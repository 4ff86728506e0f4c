//! Teams: `GET /teams/{team_id}`, `/teams/name/{name}`, `/users/{user_id}/teams`.
//!
//! A team that is not open to everyone is visible only with `view_team` (membership): others
//! get 403, as `getTeam` answers.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{Session, json, require_id, user_id_param};
use crate::sim::app_error::AppError;
use crate::sim::model::Team;
use crate::sim::permissions::Permission;
use crate::sim::state::{Store, World};

fn visible(store: &Store, user_id: &str, team: &Team) -> Result<Response, AppError> {
    let open = team.allow_open_invite && team.team_type == "O";
    if !open && !store.has_team_permission(user_id, &team.id, Permission::ViewTeam) {
        return Err(AppError::permission(Permission::ViewTeam.id()));
    }
    let sanitize = !store.has_team_permission(user_id, &team.id, Permission::ManageTeam);
    Ok(json(StatusCode::OK, team.to_json(sanitize)))
}

pub(super) async fn get_team(
    State(world): State<World>,
    session: Session,
    Path(team_id): Path<String>,
) -> Result<Response, AppError> {
    let team_id = require_id(&team_id, "team_id")?;
    let store = world.lock();
    let team = store.team(&team_id).ok_or_else(|| {
        AppError::new(
            "app.team.get.find.app_error",
            404,
            "Unable to find the existing team.",
        )
    })?;
    visible(&store, &session.user_id, team)
}

pub(super) async fn get_by_name(
    State(world): State<World>,
    session: Session,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let store = world.lock();
    let team = store.team_by_name(&name).ok_or_else(|| {
        AppError::new(
            "app.team.get_by_name.missing.app_error",
            404,
            "Unable to find the existing team.",
        )
    })?;
    visible(&store, &session.user_id, team)
}

/// Only oneself (or a system admin) may list a user's teams.
pub(super) async fn teams_for_user(
    State(world): State<World>,
    session: Session,
    Path(user_id): Path<String>,
) -> Result<Response, AppError> {
    let user_id = user_id_param(&user_id, &session)?;
    let store = world.lock();
    let admin = store
        .user(&session.user_id)
        .is_some_and(|u| u.is_system_admin());
    if user_id != session.user_id && !admin {
        return Err(AppError::permission(
            "sysconsole_read_user_management_users",
        ));
    }
    let teams: Vec<_> = store
        .teams
        .iter()
        .filter(|t| t.delete_at == 0 && store.team_member(&t.id, &user_id).is_some())
        .map(|t| {
            let sanitize =
                !store.has_team_permission(&session.user_id, &t.id, Permission::ManageTeam);
            t.to_json(sanitize)
        })
        .collect();
    Ok(json(StatusCode::OK, serde_json::Value::Array(teams)))
}
