//! Extractors and body checks shared by callback handlers: size, content type, route name,
//! request id, and [`JsonOrForm`] for outgoing webhooks, whose encoding depends on the hook's settings.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use http_body_util::{BodyExt as _, LengthLimitError};

use super::error::AppError;
use crate::protocol::PayloadError;

/// The whole body: 413 over the limit, 400 when it could not be read.
///
/// The limit is the middleware's (tower-http's, `[server] body_limit_bytes`). axum's `Bytes`
/// extractor would apply its own default (2 MiB) as well, capping a larger configured limit,
/// and read through one more wrapper (S1: 48 863 → 48 208 instructions per request,
/// `bench/instructions.sh 2000`).
pub(crate) async fn body(request: Request) -> Result<Bytes, AppError> {
    match request.into_body().collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => {
            let e = e.into_inner();
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&*e);
            while let Some(error) = source {
                if error.is::<LengthLimitError>() {
                    return Err(AppError::PayloadTooLarge);
                }
                source = error.source();
            }
            Err(AppError::BadRequest(format!(
                "failed to read the body: {e}"
            )))
        }
    }
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

    async fn from_request(request: Request, _: &S) -> Result<Self, AppError> {
        require_form(request.headers())?;
        Ok(FormBody(body(request).await?))
    }
}

/// A JSON body, checked but not yet refused: `Err` with 413 or 400 when it could not be
/// buffered, else 415 when it is not JSON. The handler refuses it after its own first check
/// (404 for an unknown route), and the request's headers are read where they are, not copied.
#[derive(Debug)]
pub(crate) struct JsonBody(pub(crate) Result<Bytes, AppError>);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = std::convert::Infallible;

    async fn from_request(request: Request, _: &S) -> Result<Self, Self::Rejection> {
        let json = require_json(request.headers());
        let bytes = body(request).await;
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

    async fn from_request(request: Request, _: &S) -> Result<Self, AppError> {
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
        let bytes = body(request).await?;
        let value = if media == JSON {
            T::from_json(&bytes)?
        } else {
            T::from_form(&bytes)?
        };
        Ok(JsonOrForm(value))
    }
}

/// The route a callback names: the second segment of its path (`/commands/{route}`,
/// `/dialogs/{route}/lookup`), percent-decoded as axum's `Path` decodes it. Read from the
/// path itself, so a callback reaches its handler the same way through the router and
/// straight from [`super::dispatch`], which has no path parameters to offer. A path without
/// one, or whose name is not UTF-8, names no route: 404.
#[derive(Debug, Clone)]
pub(crate) struct RouteName(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for RouteName {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let segment = parts
            .uri
            .path()
            .strip_prefix('/')
            .and_then(|path| path.split('/').nth(1))
            .filter(|segment| !segment.is_empty())
            .ok_or(AppError::NotFound)?;
        let name = percent_encoding::percent_decode_str(segment)
            .decode_utf8()
            .map_err(|_| AppError::NotFound)?;
        Ok(RouteName(name.into_owned()))
    }
}

/// The request's id: the one the middleware keeps in the request's context (the caller's
/// `X-Request-ID`, or one it made), else the header as sent ("" if none).
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let id = crate::telemetry::request::with_current(|context| context.request_id().to_owned())
            .unwrap_or_else(|| {
                parts
                    .headers
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned()
            });
        Ok(RequestId(id))
    }
}
