//! Bots: <https://api.mattermost.com/#tag/bots>.

use super::handle;
use crate::mattermost::endpoints as ep;
use crate::mattermost::models::{Bot, BotPatch};
use crate::mattermost::pagination::{DEFAULT_PER_PAGE, MAX_PER_PAGE, paginate_list};
use crate::mattermost::{ApiRequest, Client, ItemStream, Result, UserId};

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

    /// Lists bots; see [`BotsList`]. `GET /bots`
    /// (<https://api.mattermost.com/#tag/bots/operation/GetBots>).
    ///
    /// ```no_run
    /// # async fn demo(client: switchboard::mattermost::Client) -> Result<(), switchboard::mattermost::Error> {
    /// let second_page = client.bots().list().include_deleted(true).per_page(50).page(1).await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> BotsList {
        BotsList {
            client: self.client.clone(),
            include_deleted: None,
            only_orphaned: None,
            per_page: DEFAULT_PER_PAGE,
        }
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

/// `GET /bots` with its filters and pagination
/// (<https://api.mattermost.com/#tag/bots/operation/GetBots>). A filter set is sent, `false`
/// included; `page` and `per_page` are always sent.
#[derive(Debug, Clone)]
#[must_use = "call .stream() or .page()"]
pub struct BotsList {
    client: Client,
    include_deleted: Option<bool>,
    only_orphaned: Option<bool>,
    per_page: u32,
}

impl BotsList {
    /// Also list disabled (deleted) bots.
    ///
    /// API: <https://api.mattermost.com/#tag/bots/operation/GetBots>.
    pub fn include_deleted(mut self, include: bool) -> Self {
        self.include_deleted = Some(include);
        self
    }

    /// Only bots whose owner has been deactivated.
    ///
    /// API: <https://api.mattermost.com/#tag/bots/operation/GetBots>.
    pub fn only_orphaned(mut self, only: bool) -> Self {
        self.only_orphaned = Some(only);
        self
    }

    /// Bots per page (1–200, default 200).
    ///
    /// API: <https://api.mattermost.com/#tag/bots/operation/GetBots>.
    pub fn per_page(mut self, per_page: u32) -> Self {
        self.per_page = per_page;
        self
    }

    fn request(include_deleted: Option<bool>, only_orphaned: Option<bool>) -> Result<ApiRequest> {
        Ok(ApiRequest::new(ep::BOTS_LIST, &[])?
            .query_opt("include_deleted", include_deleted.as_ref())
            .query_opt("only_orphaned", only_orphaned.as_ref()))
    }

    /// One page (0-based).
    ///
    /// API: <https://api.mattermost.com/#tag/bots/operation/GetBots>.
    pub async fn page(self, page: u32) -> Result<Vec<Bot>> {
        let per_page = self.per_page.clamp(1, MAX_PER_PAGE);
        let request = Self::request(self.include_deleted, self.only_orphaned)?
            .query("page", &page)
            .query("per_page", &per_page);
        self.client.send_json(&request).await
    }

    /// Every bot, one page in flight at a time.
    ///
    /// API: <https://api.mattermost.com/#tag/bots/operation/GetBots>.
    pub fn stream(self) -> ItemStream<Bot> {
        let (include_deleted, only_orphaned) = (self.include_deleted, self.only_orphaned);
        paginate_list(self.client, self.per_page, move || {
            Self::request(include_deleted, only_orphaned)
        })
    }
}
