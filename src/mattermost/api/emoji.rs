//! Custom emoji: <https://api.mattermost.com/#tag/emoji>.

use super::handle;
use crate::mattermost::endpoints as ep;
use crate::mattermost::models::{Emoji, StatusOk};
use crate::mattermost::pagination::{DEFAULT_PER_PAGE, paginate_list};
use crate::mattermost::{
    ApiRequest, EmojiId, Error, ItemStream, Multipart, PartReader, Result, UserId, guess_mime,
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
    /// JSON part first, then the `image` file part, whose `Content-Type` is guessed from
    /// `file_name` (as a browser does). `POST /emoji`
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
        let body = Multipart::new().text("emoji", emoji).file(
            "image",
            file_name,
            guess_mime(file_name),
            None,
            image,
        );
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
    ///
    /// The answer is `{"status":"OK"}`: the reference says it returns the deleted `Emoji`, but
    /// the server's `deleteEmoji` (server/channels/api4/emoji.go) ends with `ReturnStatusOK`;
    /// the server wins.
    pub async fn delete(&self, emoji_id: &EmojiId) -> Result<()> {
        let _: StatusOk = self
            .client
            .send_json(&ApiRequest::new(ep::EMOJI_DELETE, &[emoji_id.as_str()])?)
            .await?;
        Ok(())
    }

    /// Custom emoji whose names contain `term` (or start with it, with `prefix_only`); at most
    /// 200. `POST /emoji/search`
    /// (<https://api.mattermost.com/#tag/emoji/operation/SearchEmoji>).
    ///
    /// `prefix_only` is sent as a JSON boolean: the reference types it as a string, but the
    /// server decodes `model.EmojiSearch{Term string, PrefixOnly bool}` and refuses a string.
    /// An empty `term` is refused before sending (the server answers 400).
    pub async fn search(&self, term: &str, prefix_only: bool) -> Result<Vec<Emoji>> {
        if term.is_empty() {
            return Err(Error::invalid("emoji search: term must not be empty"));
        }
        let request = ApiRequest::new(ep::EMOJI_SEARCH, &[])?.json(&serde_json::json!({
            "term": term,
            "prefix_only": prefix_only,
        }))?;
        self.client.send_json(&request).await
    }

    /// Custom emoji whose names start with `name`; at most 100. `GET /emoji/autocomplete`
    /// (<https://api.mattermost.com/#tag/emoji/operation/AutocompleteEmoji>).
    ///
    /// The answer is a list (the reference shows a single emoji; the server's
    /// `autocompleteEmojis` encodes the slice it found). An empty `name` is refused before
    /// sending (the server answers 400).
    pub async fn autocomplete(&self, name: &str) -> Result<Vec<Emoji>> {
        if name.is_empty() {
            return Err(Error::invalid("emoji autocomplete: name must not be empty"));
        }
        let request = ApiRequest::new(ep::EMOJI_AUTOCOMPLETE, &[])?.query("name", name);
        self.client.send_json(&request).await
    }
}
