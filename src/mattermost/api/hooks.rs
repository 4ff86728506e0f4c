//! Incoming and outgoing webhooks: <https://api.mattermost.com/#tag/webhooks>.

use super::handle;
use crate::mattermost::endpoints as ep;
use crate::mattermost::models::{IncomingWebhook, IncomingWebhookPayload, OutgoingWebhook};
use crate::mattermost::pagination::{DEFAULT_PER_PAGE, paginate_list};
use crate::mattermost::{ApiRequest, ChannelId, HookId, ItemStream, Result, TeamId};

handle! {
    /// Handle for webhook calls; see [`Client::hooks`](crate::mattermost::Client::hooks).
    Hooks
}

fn required(id: Option<&HookId>) -> &str {
    id.map_or("", HookId::as_str)
}

impl<'c> Hooks<'c> {
    /// Creates an incoming webhook. `POST /hooks/incoming`
    /// (<https://api.mattermost.com/#tag/webhooks/operation/CreateIncomingWebhook>).
    pub async fn create_incoming(&self, hook: &IncomingWebhook) -> Result<IncomingWebhook> {
        let request = ApiRequest::new(ep::HOOKS_INCOMING_CREATE, &[])?.json(hook)?;
        self.client.send_json(&request).await
    }

    /// Incoming webhooks (of one team, or all the token may manage), page by page.
    /// `GET /hooks/incoming`
    /// (<https://api.mattermost.com/#tag/webhooks/operation/GetIncomingWebhooks>).
    pub fn list_incoming(&self, team_id: Option<&TeamId>) -> ItemStream<IncomingWebhook> {
        let team_id = team_id.cloned();
        paginate_list(self.client.clone(), DEFAULT_PER_PAGE, move || {
            Ok(ApiRequest::new(ep::HOOKS_INCOMING_LIST, &[])?
                .query_opt("team_id", team_id.as_ref()))
        })
    }

    /// An incoming webhook. `GET /hooks/incoming/{hook_id}`
    /// (<https://api.mattermost.com/#tag/webhooks/operation/GetIncomingWebhook>).
    pub async fn get_incoming(&self, hook_id: &HookId) -> Result<IncomingWebhook> {
        self.client
            .send_json(&ApiRequest::new(
                ep::HOOKS_INCOMING_GET,
                &[hook_id.as_str()],
            )?)
            .await
    }

    /// Replaces an incoming webhook (its `id` must be set). `PUT /hooks/incoming/{hook_id}`
    /// (<https://api.mattermost.com/#tag/webhooks/operation/UpdateIncomingWebhook>).
    pub async fn update_incoming(&self, hook: &IncomingWebhook) -> Result<IncomingWebhook> {
        let request = ApiRequest::new(ep::HOOKS_INCOMING_UPDATE, &[required(hook.id.as_ref())])?
            .json(hook)?;
        self.client.send_json(&request).await
    }

    /// Deletes an incoming webhook. `DELETE /hooks/incoming/{hook_id}`
    /// (<https://api.mattermost.com/#tag/webhooks/operation/DeleteIncomingWebhook>).
    pub async fn delete_incoming(&self, hook_id: &HookId) -> Result<()> {
        self.client
            .send_unit(&ApiRequest::new(
                ep::HOOKS_INCOMING_DELETE,
                &[hook_id.as_str()],
            )?)
            .await
    }

    /// Posts a message through an incoming webhook: `POST <server>/hooks/{hook_id}` (the
    /// hook id is the credential; no token is sent)
    /// (<https://developers.mattermost.com/integrate/webhooks/incoming/>).
    pub async fn post_incoming(
        &self,
        hook_id: &HookId,
        payload: &IncomingWebhookPayload,
    ) -> Result<()> {
        let request =
            ApiRequest::new(ep::HOOKS_INCOMING_EXECUTE, &[hook_id.as_str()])?.json(payload)?;
        self.client.send_unit(&request).await
    }

    /// Creates an outgoing webhook; the answer carries its token. `POST /hooks/outgoing`
    /// (<https://api.mattermost.com/#tag/webhooks/operation/CreateOutgoingWebhook>).
    pub async fn create_outgoing(&self, hook: &OutgoingWebhook) -> Result<OutgoingWebhook> {
        let request = ApiRequest::new(ep::HOOKS_OUTGOING_CREATE, &[])?.json(hook)?;
        self.client.send_json(&request).await
    }

    /// Outgoing webhooks of a team (or of one channel), page by page. `GET /hooks/outgoing`
    /// (<https://api.mattermost.com/#tag/webhooks/operation/GetOutgoingWebhooks>).
    pub fn list_outgoing(
        &self,
        team_id: &TeamId,
        channel_id: Option<&ChannelId>,
    ) -> ItemStream<OutgoingWebhook> {
        let (team_id, channel_id) = (team_id.clone(), channel_id.cloned());
        paginate_list(self.client.clone(), DEFAULT_PER_PAGE, move || {
            Ok(ApiRequest::new(ep::HOOKS_OUTGOING_LIST, &[])?
                .query("team_id", &team_id)
                .query_opt("channel_id", channel_id.as_ref()))
        })
    }

    /// An outgoing webhook. `GET /hooks/outgoing/{hook_id}`
    /// (<https://api.mattermost.com/#tag/webhooks/operation/GetOutgoingWebhook>).
    pub async fn get_outgoing(&self, hook_id: &HookId) -> Result<OutgoingWebhook> {
        self.client
            .send_json(&ApiRequest::new(
                ep::HOOKS_OUTGOING_GET,
                &[hook_id.as_str()],
            )?)
            .await
    }

    /// Replaces an outgoing webhook (its `id` must be set; send back the whole object).
    /// `PUT /hooks/outgoing/{hook_id}`
    /// (<https://api.mattermost.com/#tag/webhooks/operation/UpdateOutgoingWebhook>).
    pub async fn update_outgoing(&self, hook: &OutgoingWebhook) -> Result<OutgoingWebhook> {
        let request = ApiRequest::new(ep::HOOKS_OUTGOING_UPDATE, &[required(hook.id.as_ref())])?
            .json(hook)?;
        self.client.send_json(&request).await
    }

    /// Deletes an outgoing webhook. `DELETE /hooks/outgoing/{hook_id}`
    /// (<https://api.mattermost.com/#tag/webhooks/operation/DeleteOutgoingWebhook>).
    pub async fn delete_outgoing(&self, hook_id: &HookId) -> Result<()> {
        self.client
            .send_unit(&ApiRequest::new(
                ep::HOOKS_OUTGOING_DELETE,
                &[hook_id.as_str()],
            )?)
            .await
    }

    /// Gives an outgoing webhook a new token; the answer is the whole hook (the server code
    /// returns it, although the API reference documents `{"status":"OK"}`).
    /// `POST /hooks/outgoing/{hook_id}/regen_token`
    /// (<https://api.mattermost.com/#tag/webhooks/operation/RegenOutgoingHookToken>).
    pub async fn regen_outgoing_token(&self, hook_id: &HookId) -> Result<OutgoingWebhook> {
        self.client
            .send_json(&ApiRequest::new(
                ep::HOOKS_OUTGOING_REGEN_TOKEN,
                &[hook_id.as_str()],
            )?)
            .await
    }
}
