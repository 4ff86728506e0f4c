//! User status: <https://api.mattermost.com/#tag/status>.

use super::{handle, id_strs};
use crate::mattermost::endpoints as ep;
use crate::mattermost::models::{CustomStatus, Status};
use crate::mattermost::{ApiRequest, Result, UserId};

handle! {
    /// Handle for status calls; see [`Client::status`](crate::mattermost::Client::status).
    Statuses
}

impl<'c> Statuses<'c> {
    /// A user's status. `GET /users/{user_id}/status`
    /// (<https://api.mattermost.com/#tag/status/operation/GetUserStatus>).
    pub async fn get(&self, user_id: &UserId) -> Result<Status> {
        self.client
            .send_json(&ApiRequest::new(ep::STATUS_GET, &[user_id.as_str()])?)
            .await
    }

    /// Sets a user's status (`online`, `away`, `dnd`, `offline`); `dnd_end_time` (Unix
    /// seconds) ends a `dnd`. `PUT /users/{user_id}/status`
    /// (<https://api.mattermost.com/#tag/status/operation/UpdateUserStatus>).
    pub async fn set(
        &self,
        user_id: &UserId,
        status: &str,
        dnd_end_time: Option<i64>,
    ) -> Result<Status> {
        let mut body = serde_json::json!({ "user_id": user_id, "status": status });
        if let Some(end) = dnd_end_time {
            body["dnd_end_time"] = end.into();
        }
        let request = ApiRequest::new(ep::STATUS_SET, &[user_id.as_str()])?.json(&body)?;
        self.client.send_json(&request).await
    }

    /// Statuses of several users. `POST /users/status/ids`
    /// (<https://api.mattermost.com/#tag/status/operation/GetUsersStatusesByIds>).
    pub async fn by_ids(&self, user_ids: &[UserId]) -> Result<Vec<Status>> {
        let request = ApiRequest::new(ep::STATUS_BY_IDS, &[])?.json(&id_strs(user_ids))?;
        self.client.send_json(&request).await
    }

    /// Sets a custom status. `PUT /users/{user_id}/status/custom`
    /// (<https://api.mattermost.com/#tag/status/operation/UpdateUserCustomStatus>).
    pub async fn set_custom(&self, user_id: &UserId, status: &CustomStatus) -> Result<()> {
        let request = ApiRequest::new(ep::STATUS_CUSTOM_SET, &[user_id.as_str()])?.json(status)?;
        self.client.send_unit(&request).await
    }

    /// Clears the custom status. `DELETE /users/{user_id}/status/custom`
    /// (<https://api.mattermost.com/#tag/status/operation/UnsetUserCustomStatus>).
    pub async fn unset_custom(&self, user_id: &UserId) -> Result<()> {
        self.client
            .send_unit(&ApiRequest::new(
                ep::STATUS_CUSTOM_UNSET,
                &[user_id.as_str()],
            )?)
            .await
    }
}
