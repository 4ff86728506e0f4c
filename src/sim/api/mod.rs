//! The simulated REST API (`/api/v4`) and the `/hooks` endpoints, as one axum router.
//!
//! Every response passes through [`context_layer`], which does what Mattermost's handler
//! wrapper does: mints `X-Request-ID` (an incoming one is ignored), adds `X-Version-ID`, renders
//! [`AppError`]s with `request_id`, and records `/api/v4` calls for [`World::api_requests`].
//! Authentication is the [`Session`] extractor. Bodies are read as bytes and decoded as JSON
//! whatever the request's Content-Type, as Mattermost does.

mod channels;
mod commands;
mod files;
mod outgoing_hooks;
mod posts;
mod system;
mod teams;
mod users;

pub(crate) use posts::create_post_as;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::de::DeserializeOwned;

use super::app_error::AppError;
use super::faults::{self, FaultKind};
use super::hooks;
use super::ids::new_id;
use super::state::{RecordedRequest, SimEvent, World};
use crate::server::DropConnection;

/// Builds the whole simulated server.
pub(crate) fn router(world: World) -> Router {
    let api = Router::new()
        .route("/system/ping", get(system::ping))
        .route("/config/client", get(system::client_config))
        .route("/users/me", get(users::get_me))
        .route("/users/username/{username}", get(users::get_by_username))
        .route("/users/{user_id}", get(users::get_user))
        .route("/users/{user_id}/teams", get(teams::teams_for_user))
        .route("/teams/name/{name}", get(teams::get_by_name))
        .route("/teams/{team_id}", get(teams::get_team))
        .route(
            "/teams/{team_id}/channels/name/{name}",
            get(channels::get_by_name),
        )
        .route("/channels/direct", post(channels::create_direct))
        .route("/channels/{channel_id}", get(channels::get_channel))
        .route("/commands", post(commands::create).get(commands::list))
        .route("/commands/execute", post(commands::execute))
        .route(
            "/commands/{command_id}",
            get(commands::get)
                .put(commands::update)
                .delete(commands::delete),
        )
        .route(
            "/commands/{command_id}/regen_token",
            put(commands::regen_token),
        )
        .route("/files", post(files::upload))
        .route("/files/{file_id}/info", get(files::info))
        .route("/websocket", get(super::websocket::upgrade))
        .route("/posts", post(posts::create))
        .route("/posts/ephemeral", post(posts::create_ephemeral))
        .route("/posts/{post_id}", get(posts::get).put(posts::update))
        .route("/posts/{post_id}/patch", put(posts::patch))
        .route(
            "/posts/{post_id}/actions/{action_id}",
            post(super::interactive::do_post_action),
        )
        .route(
            "/actions/dialogs/open",
            post(super::interactive::open_dialog),
        )
        .route(
            "/actions/dialogs/submit",
            post(super::interactive::submit_dialog),
        )
        .route(
            "/actions/dialogs/lookup",
            post(super::interactive::lookup_dialog),
        )
        .route(
            "/hooks/outgoing",
            post(outgoing_hooks::create).get(outgoing_hooks::list),
        )
        .route(
            "/hooks/outgoing/{hook_id}",
            get(outgoing_hooks::get)
                .put(outgoing_hooks::update)
                .delete(outgoing_hooks::delete),
        )
        .route(
            "/hooks/outgoing/{hook_id}/regen_token",
            post(outgoing_hooks::regen_token),
        )
        .fallback(not_found);
    Router::new()
        .nest("/api/v4", api)
        .route("/hooks/commands/{hook_id}", post(hooks::command_webhook))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(world.clone(), context_layer))
        .with_state(world)
}

async fn not_found() -> AppError {
    AppError::not_found_route()
}

/// Request id, version header, AppError bodies, request log.
async fn context_layer(State(world): State<World>, request: Request, next: Next) -> Response {
    let request_id = new_id();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let is_api = path.starts_with("/api/v4/");
    let write = matches!(
        method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    // Write bodies are kept for the request log, so tests can assert exactly what was sent.
    let (request, body) = if is_api && write {
        let (parts, body) = request.into_parts();
        match axum::body::to_bytes(body, RECORDED_BODY_LIMIT).await {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                (
                    Request::from_parts(parts, axum::body::Body::from(bytes)),
                    text,
                )
            }
            Err(_) => {
                return AppError::new(
                    "api.context.invalid_body_param.app_error",
                    413,
                    "Request body too large.",
                )
                .into_response();
            }
        }
    } else {
        (request, String::new())
    };
    let fault = world.lock().fault.filter(|_| is_api);
    let injected = world.take_fault(method.as_str(), &path);
    match &injected {
        Some(FaultKind::Latency(delay)) => tokio::time::sleep(*delay).await,
        Some(FaultKind::Reset) => {
            if let Some(drop) = request.extensions().get::<DropConnection>() {
                drop.now();
                // The connection (and this future with it) is dropped by its watchdog.
                std::future::pending::<()>().await;
            }
            return StatusCode::BAD_GATEWAY.into_response();
        }
        _ => {}
    }
    let mut response = match (fault, injected.as_ref().and_then(faults::answer)) {
        (Some(status), _) => fault_response(status),
        (None, Some(answer)) => answer,
        (None, None) => next.run(request).await,
    };

    let (developer, version_id) = {
        let store = world.lock();
        (store.settings.enable_developer, store.settings.version_id())
    };
    if let Some(error) = response.extensions_mut().remove::<AppError>() {
        let status = response.status();
        response = (status, axum::Json(error.to_json(&request_id, developer))).into_response();
    }
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("X-Request-ID", v);
    }
    if let Ok(v) = HeaderValue::from_str(&version_id) {
        headers.insert("X-Version-ID", v);
    }
    if method == Method::GET {
        headers.insert("Expires", HeaderValue::from_static("0"));
    }

    if is_api {
        let status = response.status();
        let recorded = RecordedRequest {
            method: method.to_string(),
            path,
            status: status.as_u16(),
            query,
            body,
        };
        {
            let mut store = world.lock();
            if write && status.is_success() {
                store.api_writes += 1;
            }
            store.requests.push(recorded.clone());
        }
        // The answer's body, for an inspector (`switchboard dev`), only when one listens.
        let mut response_body = String::new();
        if world.inner.events.receiver_count() > 0 {
            let (parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, RECORDED_BODY_LIMIT)
                .await
                .unwrap_or_default();
            let shown = &bytes[..bytes.len().min(super::exchange::API_ANSWER_SHOWN)];
            response_body = String::from_utf8_lossy(shown).into_owned();
            response = Response::from_parts(parts, axum::body::Body::from(bytes));
        }
        world.publish(SimEvent::ApiCalled(Box::new(super::exchange::ApiCall {
            request: recorded,
            response_body,
        })));
    }
    response
}

/// Largest write body kept in the request log.
const RECORDED_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// What a Mattermost behind a proxy answers while it is down or overloaded: a 429 with
/// `Retry-After` as its rate limiter sends, or a bare 5xx from the proxy.
fn fault_response(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    if status == StatusCode::TOO_MANY_REQUESTS {
        return (
            status,
            [("Retry-After", "1"), ("X-RateLimit-Remaining", "0")],
            "limit exceeded\n",
        )
            .into_response();
    }
    (status, "upstream unavailable\n").into_response()
}

/// The authenticated caller (`APISessionRequired`).
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub(crate) user_id: String,
}

impl FromRequestParts<World> for Session {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, world: &World) -> Result<Self, AppError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let token = token_from_header(header).ok_or_else(AppError::session_expired)?;
        let store = world.lock();
        let user_id = store
            .tokens
            .get(token)
            .filter(|id| store.user(id).is_some_and(|u| u.delete_at == 0))
            .ok_or_else(AppError::session_expired)?;
        Ok(Self {
            user_id: user_id.clone(),
        })
    }
}

/// A session when the request carries a valid token; endpoints that work without one
/// (`/config/client`) answer more to a logged-in caller.
impl axum::extract::OptionalFromRequestParts<World> for Session {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        world: &World,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(
            <Session as FromRequestParts<World>>::from_request_parts(parts, world)
                .await
                .ok(),
        )
    }
}

/// `Bearer <t>` or `Token <t>`, scheme case-insensitive (`ParseAuthTokenFromRequest`).
fn token_from_header(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    let ok = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token");
    (ok && !token.trim().is_empty()).then(|| token.trim())
}

/// A JSON response with a status.
pub(crate) fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// `{"status":"OK"}` (`ReturnStatusOK`).
pub(crate) fn status_ok() -> Response {
    json(StatusCode::OK, serde_json::json!({"status": "OK"}))
}

/// Decodes a JSON body regardless of Content-Type; failure is `invalid_body_param(name)`.
pub(crate) fn decode<T: DeserializeOwned>(body: &Bytes, name: &str) -> Result<T, AppError> {
    serde_json::from_slice(body).map_err(|e| AppError::invalid_param(name).detail(e.to_string()))
}

/// Resolves `me` and validates a user id from the URL (`RequireUserId`).
pub(crate) fn user_id_param(raw: &str, session: &Session) -> Result<String, AppError> {
    if raw == "me" {
        return Ok(session.user_id.clone());
    }
    require_id(raw, "user_id")
}

/// A 26-char id from the URL, else 400 `invalid_url_param`.
pub(crate) fn require_id(raw: &str, name: &str) -> Result<String, AppError> {
    if super::ids::is_valid_id(raw) {
        Ok(raw.to_owned())
    } else {
        Err(AppError::invalid_url_param(name))
    }
}

/// serde helper: Go leaves a field at its zero value for JSON `null`.
pub(crate) fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    use serde::Deserialize as _;
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
