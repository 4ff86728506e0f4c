//! Body checks shared by callback handlers: size, content type.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};

use super::error::AppError;

/// Maps a body that could not be buffered: over the limit → 413, else 400.
pub(crate) fn body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, AppError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::BadRequest(rejection.body_text())
        }
    })
}

/// The media type of the request (`application/json` from `application/json; charset=utf-8`),
/// lower-cased; empty when absent.
pub(crate) fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Requires a form-encoded body (415 otherwise).
pub(crate) fn require_form(headers: &HeaderMap) -> Result<(), AppError> {
    match media_type(headers).as_str() {
        "application/x-www-form-urlencoded" => Ok(()),
        "" => Err(AppError::UnsupportedMediaType(
            "expected application/x-www-form-urlencoded, got no content type".into(),
        )),
        other => Err(AppError::UnsupportedMediaType(format!(
            "expected application/x-www-form-urlencoded, got {other}"
        ))),
    }
}
