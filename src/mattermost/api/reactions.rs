//! Reactions: <https://api.mattermost.com/#tag/reactions>.

use super::handle;
use crate::mattermost::endpoints as ep;
use crate::mattermost::models::Reaction;
use crate::mattermost::{ApiRequest, PostId, Result, UserId};

handle! {
    /// Handle for reaction calls; see [`Client::reactions`](crate::mattermost::Client::reactions).
    Reactions
}

impl<'c> Reactions<'c> {
    /// Reacts to a post with an emoji (name without colons). `POST /reactions`
    /// (<https://api.mattermost.com/#tag/reactions/operation/SaveReaction>).
    pub async fn create(
        &self,
        user_id: &UserId,
        post_id: &PostId,
        emoji_name: &str,
    ) -> Result<Reaction> {
        let body = serde_json::json!({
            "user_id": user_id,
            "post_id": post_id,
            "emoji_name": emoji_name,
        });
        let request = ApiRequest::new(ep::REACTIONS_CREATE, &[])?.json(&body)?;
        self.client.send_json(&request).await
    }

    /// A post's reactions. `GET /posts/{post_id}/reactions`
    /// (<https://api.mattermost.com/#tag/reactions/operation/GetReactions>).
    pub async fn list(&self, post_id: &PostId) -> Result<Vec<Reaction>> {
        self.client
            .send_json(&ApiRequest::new(ep::REACTIONS_LIST, &[post_id.as_str()])?)
            .await
    }

    /// Removes a reaction. `DELETE /users/{user_id}/posts/{post_id}/reactions/{emoji_name}`
    /// (<https://api.mattermost.com/#tag/reactions/operation/DeleteReaction>).
    pub async fn delete(&self, user_id: &UserId, post_id: &PostId, emoji_name: &str) -> Result<()> {
        self.client
            .send_unit(&ApiRequest::new(
                ep::REACTIONS_DELETE,
                &[user_id.as_str(), post_id.as_str(), emoji_name],
            )?)
            .await
    }
}
