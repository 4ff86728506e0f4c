//! Posts: <https://api.mattermost.com/#tag/posts>.

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::handle;
use crate::mattermost::endpoints as ep;
use crate::mattermost::models::{
    Extra, Post, PostActionResponse, PostList, PostPatch, PostSearchResults,
};
use crate::mattermost::pagination::{DEFAULT_PER_PAGE, ItemStream, paginate};
use crate::mattermost::{ApiRequest, ChannelId, Client, FileId, PostId, Result, TeamId, UserId};

handle! {
    /// Handle for post calls; see [`Client::posts`](crate::mattermost::Client::posts).
    Posts
}

/// The fields of a new post (the body of `POST /posts`, and the `post` of an ephemeral post).
///
/// API: <https://api.mattermost.com/#tag/posts/operation/CreatePost>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewPost {
    /// The channel.
    pub channel_id: ChannelId,
    /// Attached files (ids from an upload).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_ids: Option<Vec<FileId>>,
    /// Markdown text.
    pub message: String,
    /// Post metadata (only `priority` is honoured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    /// The client id Mattermost de-duplicates repeats by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_post_id: Option<String>,
    /// Props (`attachments` …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub props: Option<Extra>,
    /// The thread's root post, for a reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_id: Option<PostId>,
    /// Post type (`custom_…`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub post_type: Option<String>,
}

impl NewPost {
    /// A post of `message` in `channel_id`.
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/CreatePost>.
    pub fn new(channel_id: ChannelId, message: impl Into<String>) -> Self {
        NewPost {
            channel_id,
            message: message.into(),
            ..NewPost::default()
        }
    }
}

/// A fresh `pending_post_id`: 26 random characters (`a–z`, `2–7`), `:`, Unix milliseconds.
/// Each character is 5 bits of one random `u128` (the last gets its 3 remaining bits), without
/// rejection sampling or `format!` (the sampler cost 2 500 instructions a post, #12).
fn pending_post_id() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let bits: u128 = rand::random();
    let mut id = String::with_capacity(26 + 1 + 13);
    for i in 0..26 {
        id.push(char::from(ALPHABET[(bits >> (5 * i)) as usize & 31]));
    }
    id.push(':');
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    id.push_str(&millis.to_string());
    id
}

/// Builder for `POST /posts`
/// (<https://api.mattermost.com/#tag/posts/operation/CreatePost>). Always sends a
/// `pending_post_id`, so a retry after a timeout or 5xx cannot post twice: Mattermost answers a
/// repeat with the post already made, for 30 s, and the client retries such failures only
/// within 25 s of the first attempt (after that, the error is returned).
///
/// ```no_run
/// # async fn demo(client: switchboard::mattermost::Client, channel: switchboard::mattermost::ChannelId, root: switchboard::mattermost::PostId) -> switchboard::mattermost::Result<()> {
/// let post = client.posts().create(&channel, "deployed").root_id(&root).send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "call .send()"]
pub struct CreatePost<'c> {
    client: &'c Client,
    post: NewPost,
    set_online: Option<bool>,
}

impl CreatePost<'_> {
    /// Replies in the thread of `root_id`.
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/CreatePost>.
    pub fn root_id(mut self, root_id: &PostId) -> Self {
        self.post.root_id = Some(root_id.clone());
        self
    }

    /// Sets the props (sent even when empty).
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/CreatePost>.
    pub fn props(mut self, props: Extra) -> Self {
        self.post.props = Some(props);
        self
    }

    /// Attaches uploaded files (sent even when empty).
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/CreatePost>.
    pub fn file_ids(mut self, file_ids: Vec<FileId>) -> Self {
        self.post.file_ids = Some(file_ids);
        self
    }

    /// Sets the post type (`custom_…`).
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/CreatePost>.
    pub fn post_type(mut self, post_type: impl Into<String>) -> Self {
        self.post.post_type = Some(post_type.into());
        self
    }

    /// Sets metadata (`{"priority": {...}}`).
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/CreatePost>.
    pub fn metadata(mut self, metadata: serde_json::Value) -> Self {
        self.post.metadata = Some(metadata);
        self
    }

    /// Uses this `pending_post_id` instead of a generated one.
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/CreatePost>.
    pub fn pending_post_id(mut self, id: impl Into<String>) -> Self {
        self.post.pending_post_id = Some(id.into());
        self
    }

    /// Sends `set_online` (whether posting marks the author online).
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/CreatePost>.
    pub fn set_online(mut self, set_online: bool) -> Self {
        self.set_online = Some(set_online);
        self
    }

    /// The request this builder sends (for inspection).
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/CreatePost>.
    pub fn request(&self) -> Result<ApiRequest> {
        let mut post = self.post.clone();
        if post.pending_post_id.is_none() {
            post.pending_post_id = Some(pending_post_id());
        }
        ApiRequest::new(ep::POSTS_CREATE, &[])?
            .query_opt("set_online", self.set_online.as_ref())
            .json(&post)
    }

    /// Creates the post.
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/CreatePost>.
    pub async fn send(self) -> Result<Post> {
        self.client.send_json(&self.request()?).await
    }

    /// Creates the post and returns only its id: the rest of the answer is skipped, not
    /// decoded (a created post has a dozen fields and a map of the unknown ones).
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/CreatePost>.
    pub async fn send_for_id(self) -> Result<PostId> {
        /// The one field of the created post kept.
        #[derive(serde::Deserialize)]
        struct Created {
            id: PostId,
        }
        let created: Created = self.client.send_json(&self.request()?).await?;
        Ok(created.id)
    }
}

/// Builder for `PUT /posts/{post_id}/patch`
/// (<https://api.mattermost.com/#tag/posts/operation/PatchPost>): every field set is sent,
/// so `.is_pinned(false)` unpins.
#[derive(Debug, Clone)]
#[must_use = "call .send()"]
pub struct PatchPost<'c> {
    client: &'c Client,
    post_id: PostId,
    patch: PostPatch,
}

impl PatchPost<'_> {
    /// Replaces the message.
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/PatchPost>.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.patch.message = Some(message.into());
        self
    }

    /// Pins or unpins.
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/PatchPost>.
    pub fn is_pinned(mut self, pinned: bool) -> Self {
        self.patch.is_pinned = Some(pinned);
        self
    }

    /// Replaces the attached files.
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/PatchPost>.
    pub fn file_ids(mut self, file_ids: Vec<FileId>) -> Self {
        self.patch.file_ids = Some(file_ids);
        self
    }

    /// Sets the has-reactions flag.
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/PatchPost>.
    pub fn has_reactions(mut self, has_reactions: bool) -> Self {
        self.patch.has_reactions = Some(has_reactions);
        self
    }

    /// Replaces all props.
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/PatchPost>.
    pub fn props(mut self, props: Extra) -> Self {
        self.patch.props = Some(props);
        self
    }

    /// Applies the patch.
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/PatchPost>.
    pub async fn send(self) -> Result<Post> {
        let request =
            ApiRequest::new(ep::POSTS_PATCH, &[self.post_id.as_str()])?.json(&self.patch)?;
        self.client.send_json(&request).await
    }
}

/// Builder for `GET /channels/{channel_id}/posts`
/// (<https://api.mattermost.com/#tag/posts/operation/GetPostsForChannel>): page or cursor
/// (`before`/`after` a post, `since` a time).
#[derive(Debug, Clone)]
#[must_use = "call .send() or .stream()"]
pub struct ChannelPosts {
    client: Client,
    channel_id: ChannelId,
    query: Vec<(&'static str, String)>,
    per_page: u32,
}

impl ChannelPosts {
    /// Posts changed since this time (Unix milliseconds). The answer is not paged: Mattermost
    /// returns every post changed since then (at most 1000) in one answer and ignores `page`,
    /// `per_page`, `before` and `after` (`getPostsForChannel` in `server/channels/api4/post.go`
    /// reads `since` first), so [`page`](Self::page) and [`stream`](Self::stream) send one
    /// request without them.
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/GetPostsForChannel>.
    pub fn since(mut self, millis: i64) -> Self {
        self.query.push(("since", millis.to_string()));
        self
    }

    /// Whether `since` is set (and non-zero: the server treats `since=0` as absent).
    fn is_since(&self) -> bool {
        self.query
            .iter()
            .any(|(key, value)| *key == "since" && value.parse::<i64>().is_ok_and(|v| v > 0))
    }

    /// Posts before this post.
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/GetPostsForChannel>.
    pub fn before(mut self, post_id: &PostId) -> Self {
        self.query.push(("before", post_id.to_string()));
        self
    }

    /// Posts after this post.
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/GetPostsForChannel>.
    pub fn after(mut self, post_id: &PostId) -> Self {
        self.query.push(("after", post_id.to_string()));
        self
    }

    /// Include deleted posts.
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/GetPostsForChannel>.
    pub fn include_deleted(mut self, include: bool) -> Self {
        self.query.push(("include_deleted", include.to_string()));
        self
    }

    /// Posts per page (1–200, default 200).
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/GetPostsForChannel>.
    pub fn per_page(mut self, per_page: u32) -> Self {
        self.per_page = per_page;
        self
    }

    fn request(channel_id: &ChannelId, query: &[(&'static str, String)]) -> Result<ApiRequest> {
        let mut request = ApiRequest::new(ep::POSTS_FOR_CHANNEL, &[channel_id.as_str()])?;
        for (key, value) in query {
            request = request.query(key, value);
        }
        Ok(request)
    }

    /// One page (0-based) as a [`PostList`].
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/GetPostsForChannel>.
    pub async fn page(self, page: u32) -> Result<PostList> {
        let mut request = Self::request(&self.channel_id, &self.query)?;
        if !self.is_since() {
            request = request
                .query("page", &page)
                .query("per_page", &self.per_page);
        }
        self.client.send_json(&request).await
    }

    /// All posts, newest first, one page in flight at a time. With [`since`](Self::since),
    /// the one unpaged answer.
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/GetPostsForChannel>.
    pub fn stream(self) -> ItemStream<Post> {
        if self.is_since() {
            // Paging would ask for the same answer again as "page 1" and, as it is as long as a
            // full page, end in `PaginationStuck` (or, with a post edited in between, repeat
            // every post).
            let (client, request) = (self.client, Self::request(&self.channel_id, &self.query));
            return futures::stream::once(async move {
                let list: PostList = client.send_json(&request?).await?;
                Ok::<_, crate::mattermost::Error>(futures::stream::iter(
                    list.into_ordered().into_iter().map(Ok),
                ))
            })
            .try_flatten()
            .boxed();
        }
        let (channel_id, query) = (self.channel_id, self.query);
        paginate::<PostList, Post, _, _>(
            self.client,
            self.per_page,
            move || Self::request(&channel_id, &query),
            PostList::into_ordered,
        )
    }
}

impl<'c> Posts<'c> {
    /// Starts a post of `message` in `channel_id`; finish with [`CreatePost::send`].
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/CreatePost>.
    pub fn create(&self, channel_id: &ChannelId, message: impl Into<String>) -> CreatePost<'c> {
        CreatePost {
            client: self.client,
            post: NewPost::new(channel_id.clone(), message),
            set_online: None,
        }
    }

    /// Posts `post` visible only to `user_id`, delivered by WebSocket and not stored (needs
    /// `create_post_ephemeral`). `POST /posts/ephemeral`
    /// (<https://api.mattermost.com/#tag/posts/operation/CreatePostEphemeral>).
    pub async fn create_ephemeral(&self, user_id: &UserId, post: &NewPost) -> Result<Post> {
        if user_id.as_str().is_empty() {
            return Err(crate::mattermost::Error::invalid(
                "user_id must not be empty",
            ));
        }
        let request = ApiRequest::new(ep::POSTS_EPHEMERAL, &[])?
            .json(&serde_json::json!({ "user_id": user_id, "post": post }))?;
        self.client.send_json(&request).await
    }

    /// A post by id. `GET /posts/{post_id}`
    /// (<https://api.mattermost.com/#tag/posts/operation/GetPost>).
    pub async fn get(&self, post_id: &PostId) -> Result<Post> {
        self.client
            .send_json(&ApiRequest::new(ep::POSTS_GET, &[post_id.as_str()])?)
            .await
    }

    /// Replaces a post (message, props, file ids) with `post`'s. `PUT /posts/{post_id}`
    /// (<https://api.mattermost.com/#tag/posts/operation/UpdatePost>).
    pub async fn update(&self, post: &Post) -> Result<Post> {
        let request = ApiRequest::new(ep::POSTS_UPDATE, &[post.id.as_str()])?.json(post)?;
        self.client.send_json(&request).await
    }

    /// Starts a patch of `post_id`; finish with [`PatchPost::send`].
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/PatchPost>.
    pub fn patch(&self, post_id: &PostId) -> PatchPost<'c> {
        PatchPost {
            client: self.client,
            post_id: post_id.clone(),
            patch: PostPatch::default(),
        }
    }

    /// Deletes a post. `DELETE /posts/{post_id}`
    /// (<https://api.mattermost.com/#tag/posts/operation/DeletePost>).
    pub async fn delete(&self, post_id: &PostId) -> Result<()> {
        self.client
            .send_unit(&ApiRequest::new(ep::POSTS_DELETE, &[post_id.as_str()])?)
            .await
    }

    /// A channel's posts; see [`ChannelPosts`].
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/GetPostsForChannel>.
    pub fn for_channel(&self, channel_id: &ChannelId) -> ChannelPosts {
        ChannelPosts {
            client: self.client.clone(),
            channel_id: channel_id.clone(),
            query: Vec::new(),
            per_page: DEFAULT_PER_PAGE,
        }
    }

    /// A post's whole thread. `GET /posts/{post_id}/thread`
    /// (<https://api.mattermost.com/#tag/posts/operation/GetPostThread>).
    pub async fn thread(&self, post_id: &PostId) -> Result<PostList> {
        self.client
            .send_json(&ApiRequest::new(ep::POSTS_THREAD, &[post_id.as_str()])?)
            .await
    }

    /// Searches a team's posts. `POST /teams/{team_id}/posts/search`
    /// (<https://api.mattermost.com/#tag/posts/operation/SearchPosts>).
    pub async fn search(
        &self,
        team_id: &TeamId,
        terms: &str,
        is_or_search: bool,
    ) -> Result<PostSearchResults> {
        let request = ApiRequest::new(ep::POSTS_SEARCH, &[team_id.as_str()])?
            .json(&serde_json::json!({ "terms": terms, "is_or_search": is_or_search }))?;
        self.client.send_json(&request).await
    }

    /// Pins a post. `POST /posts/{post_id}/pin`
    /// (<https://api.mattermost.com/#tag/posts/operation/PinPost>).
    pub async fn pin(&self, post_id: &PostId) -> Result<()> {
        self.client
            .send_unit(&ApiRequest::new(ep::POSTS_PIN, &[post_id.as_str()])?)
            .await
    }

    /// Unpins a post. `POST /posts/{post_id}/unpin`
    /// (<https://api.mattermost.com/#tag/posts/operation/UnpinPost>).
    pub async fn unpin(&self, post_id: &PostId) -> Result<()> {
        self.client
            .send_unit(&ApiRequest::new(ep::POSTS_UNPIN, &[post_id.as_str()])?)
            .await
    }

    /// The posts around a user's last unread post in a channel.
    /// `GET /users/{user_id}/channels/{channel_id}/posts/unread`
    /// (<https://api.mattermost.com/#tag/posts/operation/GetPostsAroundLastUnread>).
    pub async fn around_last_unread(
        &self,
        user_id: &UserId,
        channel_id: &ChannelId,
        limit_before: u32,
        limit_after: u32,
    ) -> Result<PostList> {
        let request = ApiRequest::new(
            ep::POSTS_AROUND_LAST_UNREAD,
            &[user_id.as_str(), channel_id.as_str()],
        )?
        .query("limit_before", &limit_before)
        .query("limit_after", &limit_after);
        self.client.send_json(&request).await
    }

    /// Clicks a button or picks a menu option (`selected_option`) of a post, as the web client
    /// does. `POST /posts/{post_id}/actions/{action_id}`
    /// (<https://api.mattermost.com/#tag/posts/operation/DoPostAction>).
    pub async fn do_action(
        &self,
        post_id: &PostId,
        action_id: &str,
        selected_option: Option<&str>,
    ) -> Result<PostActionResponse> {
        let mut request = ApiRequest::new(ep::POSTS_DO_ACTION, &[post_id.as_str(), action_id])?;
        if let Some(option) = selected_option {
            request = request.json(&serde_json::json!({ "selected_option": option }))?;
        }
        self.client.send_json(&request).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_pending_post_id_is_26_random_characters_a_colon_and_milliseconds() {
        let (a, b) = (super::pending_post_id(), super::pending_post_id());
        assert_ne!(a, b);
        for id in [a, b] {
            let (random, millis) = id.split_once(':').unwrap();
            assert_eq!(random.len(), 26, "{id}");
            assert!(
                random
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
                "{id}"
            );
            let millis: u128 = millis.parse().unwrap();
            assert!(millis > 1_700_000_000_000, "{id}");
        }
    }
}
