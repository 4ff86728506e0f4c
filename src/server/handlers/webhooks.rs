//! Inbound webhooks from other systems: `POST /webhooks/{route}` (see `triggers::webhook`).

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use serde_json::Value;

use crate::server::error::AppError;
use crate::server::extract::RouteName;
use crate::server::state::AppState;

/// `POST /webhooks/{route}`.
pub(crate) async fn webhook(
    State(state): State<AppState>,
    RouteName(route): RouteName,
    // Set by `into_make_service_with_connect_info` (absent when the router is served without).
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let peer = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    crate::triggers::webhook::handle(&state, &route, &headers, &body, peer)
        .await
        .map(Json)
}
