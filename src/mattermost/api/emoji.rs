//! Custom emoji: <https://api.mattermost.com/#tag/emoji>.

use super::handle;
use crate::mattermost::endpoints as ep;
use crate::mattermost::models::Emoji;
use crate::mattermost::pagination::{DEFAULT_PER_PAGE, paginate_list};
use crate::mattermost::{
    ApiRequest, EmojiId, Error, ItemStream, Multipart, PartReader, Result, UserId,
};

handle! {
    /// Handle for emoji calls; see [`Client::emoji`](crate::mattermost::Client::emoji).
    Emojis
}

impl<'c> Emojis<'c> {
    /// Custom emoji, page by page. `GET /emoji`
    /// (<https://api.mattermost.com/#tag/emoji/operation/GetEmojiList>).
    pub fn list(&self) -> ItemStream<Emoji> {
        paginate_list(self.client.clone(), DEFAULT_PER_PAGE, || {
            ApiRequest::new(ep::EMOJI_LIST, &[])
        })
    }

    /// Creates a custom emoji from an image streamed from `image`: multipart with the `emoji`
    /// JSON part first, then the `image` file part. `POST /emoji`
    /// (<https://api.mattermost.com/#tag/emoji/operation/CreateEmoji>).
    pub async fn create(
        &self,
        creator_id: &UserId,
        name: &str,
        file_name: &str,
        image: PartReader,
    ) -> Result<Emoji> {
        let emoji = serde_json::json!({ "creator_id": creator_id, "name": name });
        let emoji = serde_json::to_string(&emoji)
            .map_err(|e| Error::invalid(format!("emoji does not serialise: {e}")))?;
        let body = Multipart::new()
            .text("emoji", emoji)
            .file("image", file_name, None, None, image);
        let request = ApiRequest::new(ep::EMOJI_CREATE, &[])?.multipart(body);
        self.client.send_json(&request).await
    }

    /// A custom emoji by id. `GET /emoji/{emoji_id}`
    /// (<https://api.mattermost.com/#tag/emoji/operation/GetEmoji>).
    pub async fn get(&self, emoji_id: &EmojiId) -> Result<Emoji> {
        self.client
            .send_json(&ApiRequest::new(ep::EMOJI_GET, &[emoji_id.as_str()])?)
            .await
    }

    /// A custom emoji by name. `GET /emoji/name/{emoji_name}`
    /// (<https://api.mattermost.com/#tag/emoji/operation/GetEmojiByName>).
    pub async fn by_name(&self, name: &str) -> Result<Emoji> {
        self.client
            .send_json(&ApiRequest::new(ep::EMOJI_BY_NAME, &[name])?)
            .await
    }

    /// Deletes a custom emoji. `DELETE /emoji/{emoji_id}`
    /// (<https://api.mattermost.com/#tag/emoji/operation/DeleteEmoji>).
    pub async fn delete(&self, emoji_id: &EmojiId) -> Result<Emoji> {
        self.client
            .send_json(&ApiRequest::new(ep::EMOJI_DELETE, &[emoji_id.as_str()])?)
            .await
    }
}
