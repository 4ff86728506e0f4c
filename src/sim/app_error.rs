//! Mattermost's `AppError`: the JSON error body of every failed API call.
//!
//! Handlers return `Err(AppError)`; `IntoResponse` renders the status and puts the error in a
//! response extension. The request-id middleware in [`super::api`] then writes the final JSON
//! body, because only it knows the request id (`request_id` must equal `X-Request-ID`).
//! `detailed_error` is kept for [`super::SimError`] and tests but blanked on the wire unless the
//! `enable_developer` setting is on, as Mattermost does.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A Mattermost application error (`model.AppError`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AppError {
    /// Stable error id, e.g. `api.context.permissions.app_error`.
    pub id: String,
    /// Human-readable message (English).
    pub message: String,
    /// Extra detail; blank on the wire unless `EnableDeveloper` is on.
    pub detailed_error: String,
    /// HTTP status the error is sent with.
    pub status_code: u16,
}

impl AppError {
    /// An error with the given id, status and message.
    pub fn new(id: &str, status: u16, message: impl Into<String>) -> Self {
        Self {
            id: id.to_owned(),
            message: message.into(),
            detailed_error: String::new(),
            status_code: status,
        }
    }

    /// Adds `detailed_error`.
    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detailed_error = detail.into();
        self
    }

    /// 401 `api.context.session_expired.app_error`.
    pub fn session_expired() -> Self {
        Self::new(
            "api.context.session_expired.app_error",
            401,
            "Invalid or expired session, please login again.",
        )
    }

    /// 403 `api.context.permissions.app_error` for a missing permission.
    pub fn permission(permission: &str) -> Self {
        Self::new(
            "api.context.permissions.app_error",
            403,
            "You do not have the appropriate permissions.",
        )
        .detail(format!("permission={permission}"))
    }

    /// 400 `api.context.invalid_body_param.app_error` (`SetInvalidParam`).
    pub fn invalid_param(name: &str) -> Self {
        Self::new(
            "api.context.invalid_body_param.app_error",
            400,
            format!("Invalid or missing {name} in request body."),
        )
    }

    /// 400 `api.context.invalid_url_param.app_error` (`SetInvalidURLParam`).
    pub fn invalid_url_param(name: &str) -> Self {
        Self::new(
            "api.context.invalid_url_param.app_error",
            400,
            format!("Invalid or missing {name} parameter in request URL."),
        )
    }

    /// 400 `api.context.invalid_param.app_error` (used by the app layer for bad fields).
    pub fn invalid_app_param(name: &str) -> Self {
        Self::new(
            "api.context.invalid_param.app_error",
            400,
            format!("Invalid {name} parameter."),
        )
    }

    /// 404 for routes Mattermost does not have.
    pub fn not_found_route() -> Self {
        Self::new(
            "api.context.404.app_error",
            404,
            "Sorry, we could not find the page.",
        )
    }

    /// The HTTP status as a `StatusCode` (500 if the code is somehow out of range).
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The wire JSON, with `request_id` and `detailed_error` as Mattermost would send them.
    pub fn to_json(&self, request_id: &str, developer: bool) -> serde_json::Value {
        let mut body = serde_json::json!({
            "id": self.id,
            "message": self.message,
            "detailed_error": if developer { self.detailed_error.as_str() } else { "" },
            "status_code": self.status_code,
        });
        if !request_id.is_empty() {
            body["request_id"] = serde_json::Value::from(request_id);
        }
        body
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.id, self.status_code, self.message)?;
        if !self.detailed_error.is_empty() {
            write!(f, " [{}]", self.detailed_error)?;
        }
        Ok(())
    }
}

impl std::error::Error for AppError {}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        // The body is written by the middleware, which knows the request id; this fallback body
        // is only seen if the error escapes it (it never should).
        let fallback = axum::Json(self.to_json("", false));
        let mut response = (self.status(), fallback).into_response();
        response.extensions_mut().insert(self);
        response
    }
}
