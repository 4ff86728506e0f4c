//! Extractors and body checks shared by callback handlers: size, content type, request id,
//! and [`JsonOrForm`] for outgoing webhooks, whose encoding depends on the hook's settings.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};

use super::error::AppError;
use crate::protocol::PayloadError;

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

/// Whether the media type of the request is `expected` (lower case), without allocating.
fn media_type_is(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

fn require(headers: &HeaderMap, expected: &str) -> Result<(), AppError> {
    if media_type_is(headers, expected) {
        return Ok(());
    }
    match media_type(headers).as_str() {
        t if t == expected => Ok(()),
        "" => Err(AppError::UnsupportedMediaType(format!(
            "expected {expected}, got no content type"
        ))),
        other => Err(AppError::UnsupportedMediaType(format!(
            "expected {expected}, got {other}"
        ))),
    }
}

/// Requires a form-encoded body (415 otherwise).
pub(crate) fn require_form(headers: &HeaderMap) -> Result<(), AppError> {
    require(headers, FORM)
}

/// Requires a JSON body (415 otherwise).
pub(crate) fn require_json(headers: &HeaderMap) -> Result<(), AppError> {
    require(headers, JSON)
}

/// A form-encoded body: 415 for another content type, 413 over the limit.
#[derive(Debug)]
pub(crate) struct FormBody(pub(crate) Bytes);

impl<S: Send + Sync> FromRequest<S> for FormBody {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        require_form(request.headers())?;
        Ok(FormBody(body(Bytes::from_request(request, state).await)?))
    }
}

/// A JSON body, checked but not yet refused: `Err` with 413 or 400 when it could not be
/// buffered, else 415 when it is not JSON. The handler refuses it after its own first check
/// (404 for an unknown route), and the request's headers are read where they are, not copied.
#[derive(Debug)]
pub(crate) struct JsonBody(pub(crate) Result<Bytes, AppError>);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = std::convert::Infallible;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = require_json(request.headers());
        let bytes = body(Bytes::from_request(request, state).await);
        Ok(JsonBody(bytes.and_then(|bytes| json.map(|()| bytes))))
    }
}

/// A payload that parses from either encoding.
pub(crate) trait FromJsonOrForm: Sized {
    /// Parses the JSON encoding.
    fn from_json(body: &[u8]) -> Result<Self, PayloadError>;
    /// Parses the form encoding.
    fn from_form(body: &[u8]) -> Result<Self, PayloadError>;
}

impl FromJsonOrForm for crate::protocol::OutgoingWebhookRequest {
    fn from_json(body: &[u8]) -> Result<Self, PayloadError> {
        Self::from_json(body)
    }
    fn from_form(body: &[u8]) -> Result<Self, PayloadError> {
        Self::from_form(body)
    }
}

/// A body that is JSON or form-encoded, chosen by `Content-Type`: 415 for anything else,
/// 413 over the limit, 400 when it does not parse.
#[derive(Debug)]
pub(crate) struct JsonOrForm<T>(pub(crate) T);

impl<S: Send + Sync, T: FromJsonOrForm> FromRequest<S> for JsonOrForm<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let media = media_type(request.headers());
        if media != JSON && media != FORM {
            return Err(AppError::UnsupportedMediaType(format!(
                "expected {JSON} or {FORM}, got {}",
                if media.is_empty() {
                    "no content type"
                } else {
                    &media
                }
            )));
        }
        let bytes = body(Bytes::from_request(request, state).await)?;
        let value = if media == JSON {
            T::from_json(&bytes)?
        } else {
            T::from_form(&bytes)?
        };
        Ok(JsonOrForm(value))
    }
}

/// The request id set by the middleware (`X-Request-ID`).
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestId(
            parts
                .headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned(),
        ))
    }
}
