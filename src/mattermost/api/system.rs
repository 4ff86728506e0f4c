//! System: <https://api.mattermost.com/#tag/system>.

use crate::mattermost::endpoints as ep;
use crate::mattermost::{ApiRequest, Client, Result};

/// Handle for system calls; see [`Client::system`].
#[derive(Debug, Clone, Copy)]
pub struct System<'c> {
    client: &'c Client,
}

impl<'c> System<'c> {
    pub(super) fn new(client: &'c Client) -> Self {
        System { client }
    }

    /// Checks the server is up. `GET /system/ping` (no auth needed)
    /// (<https://api.mattermost.com/#tag/system/operation/GetPing>).
    pub async fn ping(&self) -> Result<serde_json::Value> {
        self.client
            .send_json(&ApiRequest::new(ep::SYSTEM_PING, &[])?)
            .await
    }
}
