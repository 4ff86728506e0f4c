//! The client's one error type.
//!
//! Mattermost answers failures with an `AppError` JSON body; [`Error::from_response`] is the one
//! place that decodes it, falling back to the status and a short excerpt of the body when the
//! body is not JSON (the rate limiter's plain-text 429, a reverse proxy's HTML 502). No variant
//! holds a URL with credentials or a token.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;

use super::endpoints::Endpoint;

/// Mattermost's error body (`model.AppError`).
///
/// API: <https://api.mattermost.com/> (introduction, *Error Handling*).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct AppError {
    /// Stable error id, e.g. `api.context.permissions.app_error`; match on this.
    #[serde(default)]
    pub id: String,
    /// Translated, human-readable message.
    #[serde(default)]
    pub message: String,
    /// Details; blank unless the server runs with `EnableDeveloper`.
    #[serde(default)]
    pub detailed_error: String,
    /// The request id, equal to the `X-Request-ID` response header.
    #[serde(default)]
    pub request_id: String,
    /// The HTTP status, repeated.
    #[serde(default)]
    pub status_code: u16,
}

/// Everything that can go wrong in a client call.
///
/// API: <https://api.mattermost.com/> (introduction, *Error Handling*).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Mattermost refused the call with an `AppError` body.
    #[error("{endpoint}: Mattermost answered {status}: {} [{}]", body.message, body.id)]
    Api {
        /// The operation called.
        endpoint: Endpoint,
        /// The HTTP status.
        status: StatusCode,
        /// The decoded error body.
        body: Box<AppError>,
    },
    /// A failure status whose body is not Mattermost's JSON (a proxy page, plain text).
    #[error("{endpoint}: HTTP {status}: {excerpt}")]
    Http {
        /// The operation called.
        endpoint: Endpoint,
        /// The HTTP status.
        status: StatusCode,
        /// The start of the body, at most 200 characters.
        excerpt: String,
    },
    /// 429 Too Many Requests, after the retry policy gave up.
    #[error("{endpoint}: rate limited by Mattermost")]
    RateLimited {
        /// The operation called.
        endpoint: Endpoint,
        /// How long the server asked us to wait, from `Retry-After` or `X-RateLimit-Reset`.
        retry_after: Option<Duration>,
    },
    /// The request did not complete in time.
    #[error("{endpoint}: timed out")]
    Timeout {
        /// The operation called.
        endpoint: Endpoint,
    },
    /// The server could not be reached at all.
    #[error("{endpoint}: cannot connect to Mattermost")]
    Connect {
        /// The operation called.
        endpoint: Endpoint,
        /// The transport error, with its URL removed.
        #[source]
        source: reqwest::Error,
    },
    /// Any other transport failure (connection reset, bad TLS, broken body stream).
    #[error("{endpoint}: transport error")]
    Transport {
        /// The operation called.
        endpoint: Endpoint,
        /// The transport error, with its URL removed.
        #[source]
        source: reqwest::Error,
    },
    /// The response was not the JSON we expected.
    #[error("{endpoint}: unexpected response at `{path}`")]
    Decode {
        /// The operation called.
        endpoint: Endpoint,
        /// The JSON path that failed, e.g. `[3].team_id`.
        path: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// Writing a download to its destination failed.
    #[error("{endpoint}: cannot write the download")]
    Io {
        /// The operation called.
        endpoint: Endpoint,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The WebSocket connection failed or was refused.
    #[error("WebSocket: {0}")]
    WebSocket(String),
    /// Refused before sending: this client logged out ([`Users::logout`]), so its token is
    /// revoked. Build a new client with [`Client::with_token`] after logging in again.
    ///
    /// [`Users::logout`]: super::api::Users::logout
    /// [`Client::with_token`]: super::Client::with_token
    #[error(
        "{endpoint}: this client has logged out; its token is revoked (log in again for a new client)"
    )]
    LoggedOut {
        /// The operation that was refused.
        endpoint: Endpoint,
    },
    /// Refused before sending: an empty id, a bad URL, a body that does not serialise.
    #[error("invalid request: {0}")]
    InvalidInput(String),
    /// A successful answer was longer than the client's
    /// [`max_response_bytes`](super::ClientBuilder::max_response_bytes); it was not read further
    /// (a misbehaving server or proxy sending a huge or endless body).
    #[error("{endpoint}: the answer is longer than {limit} bytes; stopped reading it")]
    TooLarge {
        /// The operation called.
        endpoint: Endpoint,
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// A paginated listing returned the same page twice (a server that ignores `page`).
    #[error("{endpoint}: the server returned the same page twice; stopping instead of looping")]
    PaginationStuck {
        /// The operation called.
        endpoint: Endpoint,
    },
}

impl Error {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidInput(message.into())
    }

    /// Builds the error for a failure status from its body (the one place that decodes
    /// Mattermost's `AppError`).
    pub(crate) fn from_response(
        endpoint: Endpoint,
        status: StatusCode,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> Self {
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Error::RateLimited {
                endpoint,
                retry_after,
            };
        }
        match serde_json::from_slice::<AppError>(body) {
            Ok(body) if !body.id.is_empty() || !body.message.is_empty() => Error::Api {
                endpoint,
                status,
                body: Box::new(body),
            },
            _ => Error::Http {
                endpoint,
                status,
                excerpt: excerpt(body),
            },
        }
    }

    pub(crate) fn from_transport(endpoint: Endpoint, source: reqwest::Error) -> Self {
        let source = source.without_url();
        if source.is_timeout() {
            Error::Timeout { endpoint }
        } else if source.is_connect() {
            Error::Connect { endpoint, source }
        } else {
            Error::Transport { endpoint, source }
        }
    }

    /// The HTTP status Mattermost answered with, if it answered.
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Error Handling*).
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } | Error::Http { status, .. } => Some(*status),
            Error::RateLimited { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            _ => None,
        }
    }

    /// Mattermost's error id (`api.context.permissions.app_error` …), if it sent one.
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Error Handling*).
    pub fn app_error_id(&self) -> Option<&str> {
        match self {
            Error::Api { body, .. } => Some(&body.id),
            _ => None,
        }
    }

    /// Refused because the client logged out (see [`Error::LoggedOut`]).
    ///
    /// API: <https://api.mattermost.com/#tag/users/operation/Logout>.
    pub fn is_logged_out(&self) -> bool {
        matches!(self, Error::LoggedOut { .. })
    }

    /// 404 Not Found.
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Error Handling*).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// 401 Unauthorized: the token is missing, invalid or revoked.
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Error Handling*).
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(StatusCode::UNAUTHORIZED)
    }

    /// 403 Forbidden: the token is valid but lacks a permission.
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Error Handling*).
    pub fn is_forbidden(&self) -> bool {
        self.status() == Some(StatusCode::FORBIDDEN)
    }

    /// 429 Too Many Requests.
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Error Handling*).
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Error::RateLimited { .. })
    }

    /// Mattermost could not be reached or did not answer in time: worth trying again later.
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Error Handling*).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Error::Connect { .. } | Error::Timeout { .. })
            || matches!(self.status(), Some(s) if s.is_server_error())
    }
}

/// The first 200 characters of a body, for errors and logs.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mattermost::endpoints::USERS_ME;

    #[test]
    fn an_app_error_body_is_decoded() {
        let body = br#"{"id":"api.context.session_expired.app_error","message":"Invalid or expired session, please login again.","detailed_error":"","request_id":"abc","status_code":401}"#;
        let err = Error::from_response(USERS_ME, StatusCode::UNAUTHORIZED, None, body);
        assert!(err.is_unauthorized());
        assert_eq!(
            err.app_error_id(),
            Some("api.context.session_expired.app_error")
        );
    }

    #[test]
    fn a_plain_text_429_is_rate_limited_not_a_decode_error() {
        let err = Error::from_response(
            USERS_ME,
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(2)),
            b"limit exceeded\n",
        );
        assert!(
            matches!(err, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(2))
        );
    }

    #[test]
    fn an_html_502_keeps_status_and_an_excerpt() {
        let err = Error::from_response(
            USERS_ME,
            StatusCode::BAD_GATEWAY,
            None,
            b"<html><body>502 Bad Gateway</body></html>",
        );
        match err {
            Error::Http {
                status, excerpt, ..
            } => {
                assert_eq!(status, StatusCode::BAD_GATEWAY);
                assert!(excerpt.contains("502 Bad Gateway"), "{excerpt}");
            }
            other => panic!("expected Http, got {other:?}"),
        }
    }
}
