//! Typed ids: one newtype per kind of Mattermost id.
//!
//! Every Mattermost id is a 26-character string; the newtypes stop a channel id being passed
//! where a user id belongs. They serialise as plain strings.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id string.
            ///
            /// API: <https://api.mattermost.com/> (introduction, *Schema & Conventions*: ids).
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as a string slice.
            ///
            /// API: <https://api.mattermost.com/> (introduction, *Schema & Conventions*: ids).
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Unwraps the string.
            ///
            /// API: <https://api.mattermost.com/> (introduction, *Schema & Conventions*: ids).
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
    )*};
}

id_type! {
    /// A user's id.
    UserId;
    /// A team's id.
    TeamId;
    /// A channel's id.
    ChannelId;
    /// A post's id.
    PostId;
    /// A slash command's id.
    CommandId;
    /// An incoming or outgoing webhook's id.
    HookId;
    /// An uploaded file's id.
    FileId;
    /// A custom emoji's id.
    EmojiId;
    /// A group's id.
    GroupId;
    /// A session's id.
    SessionId;
}

/// Mattermost's `model.IsValidId`: 26 bytes (Go's `len`), every character a letter or a
/// digit. Every id Mattermost makes passes (26 characters of its base32 alphabet).
pub fn is_valid_id(id: &str) -> bool {
    id.len() == 26 && id.chars().all(char::is_alphanumeric)
}
