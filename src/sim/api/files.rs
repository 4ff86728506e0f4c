//! Files: `POST /api/v4/files` (multipart upload) and `GET /api/v4/files/{file_id}/info`
//! (PROTOCOL.md §5.9; `api4/file.go`).
//!
//! The simulator keeps each file's metadata (`FileInfo`) and size, not its bytes. Upload needs
//! `upload_file` in the channel, which the simulator approximates with `create_post` (both come
//! with channel membership by default). Info is for the uploader or anyone who can read the
//! file's channel, as the spec's permission note says. Not modelled: the raw-body upload form
//! (`?channel_id=&filename=`), `client_ids`, previews and thumbnails, `MaxFileSize` (bodies over
//! the simulator's 4 MiB request-log limit get 413 instead).

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::{Session, json, require_id};
use crate::sim::app_error::AppError;
use crate::sim::ids::{new_id, now_millis};
use crate::sim::permissions::Permission;
use crate::sim::state::{SimFile, World};

fn bad_upload(detail: impl Into<String>) -> AppError {
    AppError::new(
        "api.file.upload_file.incorrect_number_of_files.app_error",
        400,
        "Unable to upload files. Incorrect number of files specified.",
    )
    .detail(detail)
}

/// `POST /api/v4/files`: `channel_id` then one or more `files` parts.
pub(super) async fn upload(
    State(world): State<World>,
    session: Session,
    mut form: Multipart,
) -> Result<Response, AppError> {
    let mut channel_id = String::new();
    let mut uploaded: Vec<(String, usize)> = Vec::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| AppError::invalid_param("multipart").detail(e.to_string()))?
    {
        match field.name().unwrap_or_default() {
            "channel_id" => {
                channel_id = field
                    .text()
                    .await
                    .map_err(|e| AppError::invalid_param("channel_id").detail(e.to_string()))?;
            }
            "files" => {
                let name = field.file_name().unwrap_or("file").to_owned();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| AppError::invalid_param("files").detail(e.to_string()))?;
                uploaded.push((name, bytes.len()));
            }
            _ => {}
        }
    }
    let channel_id =
        require_id(&channel_id, "channel_id").map_err(|_| AppError::invalid_param("channel_id"))?;
    if uploaded.is_empty() {
        return Err(bad_upload("no files"));
    }
    let mut store = world.lock();
    if store.channel(&channel_id).is_none()
        || !store.has_channel_permission(&session.user_id, &channel_id, Permission::CreatePost)
    {
        return Err(AppError::permission("upload_file"));
    }
    let now = now_millis();
    let mut infos = Vec::new();
    for (name, size) in uploaded {
        let extension = std::path::Path::new(&name)
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let file = SimFile {
            id: new_id(),
            user_id: session.user_id.clone(),
            channel_id: channel_id.clone(),
            name,
            extension,
            size: i64::try_from(size).unwrap_or(i64::MAX),
            create_at: now,
        };
        infos.push(file.to_json());
        store.files.push(file);
    }
    Ok(json(
        StatusCode::CREATED,
        json!({"file_infos": infos, "client_ids": []}),
    ))
}

/// `GET /api/v4/files/{file_id}/info`.
pub(super) async fn info(
    State(world): State<World>,
    session: Session,
    Path(file_id): Path<String>,
) -> Result<Response, AppError> {
    let file_id = require_id(&file_id, "file_id")?;
    let store = world.lock();
    let Some(file) = store.files.iter().find(|f| f.id == file_id) else {
        return Err(AppError::new(
            "app.file_info.get.app_error",
            404,
            "Unable to get the file info.",
        ));
    };
    let readable = file.user_id == session.user_id
        || store
            .channel(&file.channel_id)
            .is_some_and(|c| store.can_read_channel(&session.user_id, c));
    if !readable {
        return Err(AppError::permission(Permission::ReadChannel.id()));
    }
    Ok(json(StatusCode::OK, file.to_json()))
}
