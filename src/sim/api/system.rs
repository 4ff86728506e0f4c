//! `GET /api/v4/system/ping` (PROTOCOL.md §5.10): no session needed.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::json;

pub(super) async fn ping() -> Response {
    json(
        StatusCode::OK,
        json!({
            "status": "OK",
            "AndroidLatestVersion": "",
            "AndroidMinVersion": "",
            "IosLatestVersion": "",
            "IosMinVersion": "",
            "ActiveSearchBackend": "database",
        }),
    )
}
