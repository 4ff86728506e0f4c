//! Users: <https://api.mattermost.com/#tag/users>.

use crate::mattermost::endpoints as ep;
use crate::mattermost::models::User;
use crate::mattermost::{ApiRequest, Client, Result, UserId};

/// Handle for user calls; see [`Client::users`].
#[derive(Debug, Clone, Copy)]
pub struct Users<'c> {
    client: &'c Client,
}

impl<'c> Users<'c> {
    pub(super) fn new(client: &'c Client) -> Self {
        Users { client }
    }

    /// The user the token belongs to. `GET /users/me`
    /// (<https://api.mattermost.com/#tag/users/operation/GetUser>).
    pub async fn me(&self) -> Result<User> {
        self.client
            .send_json(&ApiRequest::new(ep::USERS_ME, &[])?)
            .await
    }

    /// A user by id. `GET /users/{user_id}`.
    pub async fn get(&self, user_id: &UserId) -> Result<User> {
        self.client
            .send_json(&ApiRequest::new(ep::USERS_GET, &[user_id.as_str()])?)
            .await
    }

    /// A user by username. `GET /users/username/{username}`
    /// (<https://api.mattermost.com/#tag/users/operation/GetUserByUsername>).
    pub async fn by_username(&self, username: &str) -> Result<User> {
        self.client
            .send_json(&ApiRequest::new(ep::USERS_BY_USERNAME, &[username])?)
            .await
    }
}
