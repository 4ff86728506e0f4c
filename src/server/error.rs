//! [`AppError`]: every way a callback can fail, and the status each maps to.
//!
//! | variant | status | body |
//! |---|---|---|
//! | `BadRequest` | 400 | the short reason (malformed form/JSON, missing field) |
//! | `Unauthorized` | 401 | empty: a command or hook token is missing or wrong |
//! | `Forbidden` | 403 | empty: dialog state or action context unsigned, tampered, expired, or not for this user/channel/route |
//! | `NotFound` | 404 | `no such route` |
//! | `Unsupported` | 404 | which kind the route does not handle |
//! | `PayloadTooLarge` | 413 | fixed text |
//! | `UnsupportedMediaType` | 415 | the expected content type |
//! | `Internal` | 500 | fixed text; only for our own failures, never a caller's mistake |
//!
//! Verification failures carry their reason for the log only, so a prober learns nothing.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::integrations::CallbackKind;
use crate::protocol::PayloadError;

/// A failed callback.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the body could not be read. The short reason is sent.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401: a token is missing or wrong. The reason is logged, not sent.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// 403: a signature check failed. The reason is logged, not sent.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 401: a signed timestamp is missing or too far from now (a replay, or a skewed clock).
    /// The reason is sent: it holds no secret, and the sender needs it.
    #[error("stale request: {0}")]
    StaleRequest(String),
    /// 503: something this request needs (the shared store) does not answer; retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 404: no such route.
    #[error("not found")]
    NotFound,
    /// 404: the route exists but does not handle this kind of callback.
    #[error("this route does not handle {0}")]
    Unsupported(CallbackKind),
    /// 413: the body is over the configured limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415: the content type is not one this callback accepts.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// 500: our own failure; logged with its cause.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<PayloadError> for AppError {
    fn from(e: PayloadError) -> Self {
        AppError::BadRequest(e.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match &self {
            AppError::Internal(_) => tracing::error!(error = %self, "callback failed"),
            _ => tracing::warn!(error = %self, "callback refused"),
        }
        match self {
            AppError::BadRequest(reason) => (StatusCode::BAD_REQUEST, reason).into_response(),
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED.into_response(),
            AppError::Forbidden(_) => StatusCode::FORBIDDEN.into_response(),
            AppError::StaleRequest(reason) => (StatusCode::UNAUTHORIZED, reason).into_response(),
            AppError::Unavailable(reason) => {
                (StatusCode::SERVICE_UNAVAILABLE, reason).into_response()
            }
            AppError::NotFound => (StatusCode::NOT_FOUND, "no such route").into_response(),
            AppError::Unsupported(kind) => (
                StatusCode::NOT_FOUND,
                format!("this route does not handle {kind}"),
            )
                .into_response(),
            AppError::PayloadTooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response()
            }
            AppError::UnsupportedMediaType(reason) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, reason).into_response()
            }
            AppError::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
            }
        }
    }
}
