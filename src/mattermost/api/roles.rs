//! Roles: <https://api.mattermost.com/#tag/roles>.

use super::handle;
use crate::mattermost::endpoints as ep;
use crate::mattermost::models::Role;
use crate::mattermost::{ApiRequest, Result};

handle! {
    /// Handle for role calls; see [`Client::roles`](crate::mattermost::Client::roles).
    Roles
}

impl<'c> Roles<'c> {
    /// Roles by name (e.g. `system_user`). `POST /roles/names`
    /// (<https://api.mattermost.com/#tag/roles/operation/GetRolesByNames>).
    pub async fn by_names(&self, names: &[&str]) -> Result<Vec<Role>> {
        let request = ApiRequest::new(ep::ROLES_BY_NAMES, &[])?.json(names)?;
        self.client.send_json(&request).await
    }

    /// A role by name. `GET /roles/name/{role_name}`
    /// (<https://api.mattermost.com/#tag/roles/operation/GetRoleByName>).
    pub async fn by_name(&self, name: &str) -> Result<Role> {
        self.client
            .send_json(&ApiRequest::new(ep::ROLES_BY_NAME, &[name])?)
            .await
    }
}
