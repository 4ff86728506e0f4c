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

/// Query of `GET /config/client`.
#[derive(Debug, serde::Deserialize)]
pub(super) struct ClientConfigQuery {
    format: Option<String>,
}

/// `GET /api/v4/config/client?format=old`: the flat string map every client reads. Without a
/// session Mattermost sends only the limited subset (version, `SiteURL`, …); with one it adds
/// the feature switches integrations care about. Only `format=old` exists; anything else is
/// 501, as on Mattermost.
pub(super) async fn client_config(
    axum::extract::State(world): axum::extract::State<crate::sim::state::World>,
    session: Option<super::Session>,
    axum::extract::Query(query): axum::extract::Query<ClientConfigQuery>,
) -> Result<Response, crate::sim::app_error::AppError> {
    if query.format.as_deref() != Some("old") {
        return Err(crate::sim::app_error::AppError::new(
            "api.config.client.old_format.app_error",
            501,
            "New format for the client configuration is not supported yet. Please specify format=old in the query string.",
        ));
    }
    let settings = world.lock().settings.clone();
    let flag = |on: bool| if on { "true" } else { "false" };
    let mut config = json!({
        "Version": settings.server_version,
        "BuildNumber": settings.server_version,
        "BuildHash": "sim",
        "BuildEnterpriseReady": "false",
        "SiteName": "Mattermost",
        "SiteURL": settings.site_url,
        "DiagnosticsEnabled": "false",
    });
    if session.is_some() {
        let extra = json!({
            "EnableCommands": flag(settings.enable_commands),
            "EnableOutgoingWebhooks": flag(settings.enable_outgoing_webhooks),
            "EnableIncomingWebhooks": "true",
            "EnablePostUsernameOverride": flag(settings.enable_post_username_override),
            "EnablePostIconOverride": flag(settings.enable_post_icon_override),
            "EnableDeveloper": flag(settings.enable_developer),
            "EnableCustomUserStatuses": flag(settings.enable_custom_user_statuses),
        });
        if let (Some(config), Some(extra)) = (config.as_object_mut(), extra.as_object()) {
            config.extend(extra.clone());
        }
    }
    Ok(json(StatusCode::OK, config))
}
