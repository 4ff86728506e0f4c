//! System: <https://api.mattermost.com/#tag/system>.

use std::collections::HashMap;

use super::handle;
use crate::mattermost::endpoints as ep;
use crate::mattermost::models::SystemStatus;
use crate::mattermost::{ApiRequest, Result};

handle! {
    /// Handle for system calls; see [`Client::system`](crate::mattermost::Client::system).
    System
}

impl<'c> System<'c> {
    /// Checks the server is up. `GET /system/ping` (no auth needed)
    /// (<https://api.mattermost.com/#tag/system/operation/GetPing>).
    pub async fn ping(&self) -> Result<serde_json::Value> {
        self.client
            .send_json(&ApiRequest::new(ep::SYSTEM_PING, &[])?)
            .await
    }

    /// Ping with the database and file store checked too (`get_server_status=true`) and REST
    /// semantics (`use_rest_semantics=true`: an unhealthy server answers 200 with its status
    /// instead of 500). `GET /system/ping`
    /// (<https://api.mattermost.com/#tag/system/operation/GetPing>).
    pub async fn status(&self) -> Result<SystemStatus> {
        let request = ApiRequest::new(ep::SYSTEM_PING, &[])?
            .query("get_server_status", &true)
            .query("use_rest_semantics", &true);
        self.client.send_json(&request).await
    }

    /// The client configuration (`format=old`, a flat map of strings).
    /// `GET /config/client?format=old`
    /// (<https://api.mattermost.com/#tag/system/operation/GetClientConfig>).
    pub async fn client_config(&self) -> Result<HashMap<String, String>> {
        let request = ApiRequest::new(ep::SYSTEM_CLIENT_CONFIG, &[])?.query("format", "old");
        self.client.send_json(&request).await
    }
}
