//! Preferences: <https://api.mattermost.com/#tag/preferences>.

use super::handle;
use crate::mattermost::endpoints as ep;
use crate::mattermost::models::Preference;
use crate::mattermost::{ApiRequest, Result, UserId};

handle! {
    /// Handle for preference calls; see [`Client::preferences`](crate::mattermost::Client::preferences).
    Preferences
}

impl<'c> Preferences<'c> {
    /// All of a user's preferences. `GET /users/{user_id}/preferences`
    /// (<https://api.mattermost.com/#tag/preferences/operation/GetPreferences>).
    pub async fn get(&self, user_id: &UserId) -> Result<Vec<Preference>> {
        self.client
            .send_json(&ApiRequest::new(ep::PREFERENCES_GET, &[user_id.as_str()])?)
            .await
    }

    /// Saves preferences. `PUT /users/{user_id}/preferences`
    /// (<https://api.mattermost.com/#tag/preferences/operation/UpdatePreferences>).
    pub async fn update(&self, user_id: &UserId, preferences: &[Preference]) -> Result<()> {
        let request =
            ApiRequest::new(ep::PREFERENCES_UPDATE, &[user_id.as_str()])?.json(preferences)?;
        self.client.send_unit(&request).await
    }

    /// Deletes preferences. `POST /users/{user_id}/preferences/delete`
    /// (<https://api.mattermost.com/#tag/preferences/operation/DeletePreferences>).
    pub async fn delete(&self, user_id: &UserId, preferences: &[Preference]) -> Result<()> {
        let request =
            ApiRequest::new(ep::PREFERENCES_DELETE, &[user_id.as_str()])?.json(preferences)?;
        self.client.send_unit(&request).await
    }
}
