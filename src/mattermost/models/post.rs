//! Posts, reactions and files (<https://api.mattermost.com/#tag/posts>).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::Extra;
use crate::mattermost::ids::{ChannelId, FileId, PostId, UserId};

/// A post (`model.Post`).
///
/// API: <https://api.mattermost.com/#tag/posts/operation/GetPost>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Post {
    /// The channel the post is in.
    #[serde(default)]
    pub channel_id: ChannelId,
    /// Creation time, Unix milliseconds.
    #[serde(default)]
    pub create_at: i64,
    /// Deletion time (0 when live).
    #[serde(default)]
    pub delete_at: i64,
    /// Last edit time (0 when never edited).
    #[serde(default)]
    pub edit_at: i64,
    /// Attached files.
    #[serde(default)]
    pub file_ids: Vec<FileId>,
    /// Hashtags found in the message, space separated.
    #[serde(default)]
    pub hashtags: String,
    /// The post's id.
    #[serde(default)]
    pub id: PostId,
    /// Whether the post is pinned to its channel.
    #[serde(default)]
    pub is_pinned: bool,
    /// Markdown text.
    #[serde(default)]
    pub message: String,
    /// Server-computed metadata (embeds, emojis, files, reactions, priority).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    /// The original post's id, for edits.
    #[serde(default)]
    pub original_id: String,
    /// The client-side id the post was created with (echoed back).
    #[serde(default)]
    pub pending_post_id: String,
    /// Properties: `attachments`, `from_webhook`, anything custom.
    #[serde(default)]
    pub props: Extra,
    /// Replies in the thread (root posts).
    #[serde(default)]
    pub reply_count: i64,
    /// The thread's root post, `""` for a root post.
    #[serde(default)]
    pub root_id: String,
    /// Post type: `""`, `custom_…`, `system_…`.
    #[serde(default, rename = "type")]
    pub post_type: String,
    /// Last update time, Unix milliseconds.
    #[serde(default)]
    pub update_at: i64,
    /// The author.
    #[serde(default)]
    pub user_id: UserId,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A list of posts in display order (`model.PostList`).
///
/// API: <https://api.mattermost.com/#tag/posts/operation/GetPostsForChannel>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PostList {
    /// More posts after these (cursor paging).
    #[serde(default)]
    pub has_next: bool,
    /// Cursor for the next page.
    #[serde(default)]
    pub next_post_id: String,
    /// Post ids, newest first.
    #[serde(default)]
    pub order: Vec<PostId>,
    /// The posts by id.
    #[serde(default)]
    pub posts: HashMap<PostId, Post>,
    /// Cursor for the previous page.
    #[serde(default)]
    pub prev_post_id: String,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl PostList {
    /// The posts in `order` (newest first), consuming the list.
    ///
    /// API: <https://api.mattermost.com/#tag/posts/operation/GetPostsForChannel>.
    pub fn into_ordered(mut self) -> Vec<Post> {
        self.order
            .iter()
            .filter_map(|id| self.posts.remove(id))
            .collect()
    }
}

/// The answer of a post search (`PostListWithSearchMatches`).
///
/// API: <https://api.mattermost.com/#tag/posts/operation/SearchPosts>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PostSearchResults {
    /// Matched terms per post id.
    #[serde(default)]
    pub matches: Option<HashMap<PostId, Vec<String>>>,
    /// Post ids in rank order.
    #[serde(default)]
    pub order: Vec<PostId>,
    /// The posts by id.
    #[serde(default)]
    pub posts: HashMap<PostId, Post>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Fields to change with `PUT /posts/{post_id}/patch`; only fields set are sent, and a field
/// set to `false`, `""` or an empty list is sent as such.
///
/// API: <https://api.mattermost.com/#tag/posts/operation/PatchPost>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PostPatch {
    /// Replace the attached files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_ids: Option<Vec<FileId>>,
    /// Set the has-reactions flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_reactions: Option<bool>,
    /// Pin (`true`) or unpin (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_pinned: Option<bool>,
    /// Replace the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Replace all props.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub props: Option<Extra>,
}

/// An emoji reaction (`model.Reaction`).
///
/// API: <https://api.mattermost.com/#tag/reactions/operation/SaveReaction>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Reaction {
    /// Creation time, Unix milliseconds (server managed).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub create_at: i64,
    /// Emoji name without colons, e.g. `thumbsup`.
    pub emoji_name: String,
    /// The post reacted to.
    pub post_id: PostId,
    /// The reacting user.
    pub user_id: UserId,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// Metadata of an uploaded file (`model.FileInfo`).
///
/// API: <https://api.mattermost.com/#tag/files/operation/GetFileInfo>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileInfo {
    /// Upload time, Unix milliseconds.
    #[serde(default)]
    pub create_at: i64,
    /// Deletion time (0 when live).
    #[serde(default)]
    pub delete_at: i64,
    /// Extension without dot.
    #[serde(default)]
    pub extension: String,
    /// Whether a preview image exists.
    #[serde(default)]
    pub has_preview_image: bool,
    /// Image height in pixels (images only).
    #[serde(default)]
    pub height: i64,
    /// The file's id.
    pub id: FileId,
    /// MIME type.
    #[serde(default)]
    pub mime_type: String,
    /// File name.
    #[serde(default)]
    pub name: String,
    /// The post the file is attached to (`""` until posted).
    #[serde(default)]
    pub post_id: String,
    /// Size in bytes.
    #[serde(default)]
    pub size: i64,
    /// Last update time.
    #[serde(default)]
    pub update_at: i64,
    /// The uploader.
    #[serde(default)]
    pub user_id: UserId,
    /// Image width in pixels (images only).
    #[serde(default)]
    pub width: i64,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The answer of `POST /files`.
///
/// API: <https://api.mattermost.com/#tag/files/operation/UploadFile>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileUploadResponse {
    /// The client ids sent with the files, same order.
    #[serde(default)]
    pub client_ids: Vec<String>,
    /// One info per uploaded file; reference `file_infos[i].id` in a post's `file_ids`.
    #[serde(default)]
    pub file_infos: Vec<FileInfo>,
}

/// The answer of `POST /posts/{post_id}/actions/{action_id}`.
///
/// API: <https://api.mattermost.com/#tag/posts/operation/DoPostAction>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PostActionResponse {
    /// `"OK"`.
    #[serde(default)]
    pub status: String,
    /// A trigger id for opening a dialog, when the integration answered with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_id: Option<String>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}
