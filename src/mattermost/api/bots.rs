//! Bots: <https://api.mattermost.com/#tag/bots>.

use super::handle;
use crate::mattermost::endpoints as ep;
use crate::mattermost::models::{Bot, BotPatch};
use crate::mattermost::pagination::{DEFAULT_PER_PAGE, paginate_list};
use crate::mattermost::{ApiRequest, ItemStream, Result, UserId};

handle! {
    /// Handle for bot calls; see [`Client::bots`](crate::mattermost::Client::bots).
    Bots
}

impl<'c> Bots<'c> {
    /// Creates a bot. `POST /bots`
    /// (<https://api.mattermost.com/#tag/bots/operation/CreateBot>).
    pub async fn create(&self, bot: &BotPatch) -> Result<Bot> {
        self.client
            .send_json(&ApiRequest::new(ep::BOTS_CREATE, &[])?.json(bot)?)
            .await
    }

    /// Bots, page by page; `include_deleted` adds disabled bots, `only_orphaned` keeps bots
    /// whose owner is deactivated. Both are always sent. `GET /bots`
    /// (<https://api.mattermost.com/#tag/bots/operation/GetBots>).
    pub fn list(&self, include_deleted: bool, only_orphaned: bool) -> ItemStream<Bot> {
        paginate_list(self.client.clone(), DEFAULT_PER_PAGE, move || {
            Ok(ApiRequest::new(ep::BOTS_LIST, &[])?
                .query("include_deleted", &include_deleted)
                .query("only_orphaned", &only_orphaned))
        })
    }

    /// A bot by its user id. `GET /bots/{bot_user_id}`
    /// (<https://api.mattermost.com/#tag/bots/operation/GetBot>).
    pub async fn get(&self, bot_user_id: &UserId) -> Result<Bot> {
        self.client
            .send_json(&ApiRequest::new(ep::BOTS_GET, &[bot_user_id.as_str()])?)
            .await
    }

    /// Changes a bot. `PUT /bots/{bot_user_id}`
    /// (<https://api.mattermost.com/#tag/bots/operation/PatchBot>).
    pub async fn patch(&self, bot_user_id: &UserId, patch: &BotPatch) -> Result<Bot> {
        let request = ApiRequest::new(ep::BOTS_PATCH, &[bot_user_id.as_str()])?.json(patch)?;
        self.client.send_json(&request).await
    }

    /// Disables a bot. `POST /bots/{bot_user_id}/disable`
    /// (<https://api.mattermost.com/#tag/bots/operation/DisableBot>).
    pub async fn disable(&self, bot_user_id: &UserId) -> Result<Bot> {
        self.client
            .send_json(&ApiRequest::new(ep::BOTS_DISABLE, &[bot_user_id.as_str()])?)
            .await
    }

    /// Enables a bot. `POST /bots/{bot_user_id}/enable`
    /// (<https://api.mattermost.com/#tag/bots/operation/EnableBot>).
    pub async fn enable(&self, bot_user_id: &UserId) -> Result<Bot> {
        self.client
            .send_json(&ApiRequest::new(ep::BOTS_ENABLE, &[bot_user_id.as_str()])?)
            .await
    }

    /// Gives a bot a new owner. `POST /bots/{bot_user_id}/assign/{user_id}`
    /// (<https://api.mattermost.com/#tag/bots/operation/AssignBot>).
    pub async fn assign(&self, bot_user_id: &UserId, owner_id: &UserId) -> Result<Bot> {
        self.client
            .send_json(&ApiRequest::new(
                ep::BOTS_ASSIGN,
                &[bot_user_id.as_str(), owner_id.as_str()],
            )?)
            .await
    }
}
