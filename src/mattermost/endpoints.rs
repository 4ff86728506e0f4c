//! The endpoint table: every operation the client performs, with its method and templated path.
//!
//! Paths are relative to `/api/v4` and use `{name}` placeholders that
//! [`ApiRequest::new`](super::ApiRequest::new) fills with percent-encoded segments. The templated
//! form (never the filled-in URL) names tracing spans and appears in errors, so ids and query
//! strings stay out of logs and metrics labels.

use std::fmt;

/// The HTTP method of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Verb {
    /// The method as reqwest wants it.
    pub fn as_method(self) -> reqwest::Method {
        match self {
            Verb::Get => reqwest::Method::GET,
            Verb::Post => reqwest::Method::POST,
            Verb::Put => reqwest::Method::PUT,
            Verb::Patch => reqwest::Method::PATCH,
            Verb::Delete => reqwest::Method::DELETE,
        }
    }

    /// The method's name in upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }
}

/// One API operation: method, templated path, and whether repeating it is harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// HTTP method.
    pub verb: Verb,
    /// Path below `/api/v4`, with `{placeholders}`.
    pub path: &'static str,
    /// Safe to send again after a timeout or a 5xx: GET, PUT, DELETE, and POSTs that only read
    /// (e.g. `POST /users/ids`) or that Mattermost de-duplicates (`POST /posts` with a
    /// `pending_post_id`).
    pub idempotent: bool,
}

impl Endpoint {
    const fn new(verb: Verb, path: &'static str) -> Self {
        let idempotent = !matches!(verb, Verb::Post | Verb::Patch);
        Endpoint {
            verb,
            path,
            idempotent,
        }
    }

    /// An endpoint for a custom path, for the raw escape hatch ([`Client::raw`](super::Client::raw)).
    /// `idempotent` follows the method (GET, PUT, DELETE).
    pub const fn custom(verb: Verb, path: &'static str) -> Self {
        Endpoint::new(verb, path)
    }

    /// Marks a POST as safe to retry.
    const fn retry_safe(mut self) -> Self {
        self.idempotent = true;
        self
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} /api/v4{}", self.verb.as_str(), self.path)
    }
}

macro_rules! endpoints {
    ($( $(#[$doc:meta])* $name:ident = $verb:ident $path:literal $(, $modifier:ident)? ;)*) => {
        $( $(#[$doc])* pub const $name: Endpoint = Endpoint::new(Verb::$verb, $path)$(.$modifier())?; )*
        /// Every endpoint in this table, for coverage checks and documentation.
        pub const ALL: &[(&str, Endpoint)] = &[ $( (stringify!($name), $name), )* ];
    };
}

endpoints! {
    // --- system ---
    /// <https://api.mattermost.com/#tag/system/operation/GetPing>
    SYSTEM_PING = Get "/system/ping";

    // --- users ---
    /// <https://api.mattermost.com/#tag/users/operation/GetUser>
    USERS_ME = Get "/users/me";
    /// <https://api.mattermost.com/#tag/users/operation/GetUser>
    USERS_GET = Get "/users/{user_id}";
    /// <https://api.mattermost.com/#tag/users/operation/GetUserByUsername>
    USERS_BY_USERNAME = Get "/users/username/{username}";

    // --- teams ---
    /// <https://api.mattermost.com/#tag/teams/operation/GetTeam>
    TEAMS_GET = Get "/teams/{team_id}";
    /// <https://api.mattermost.com/#tag/teams/operation/GetTeamByName>
    TEAMS_BY_NAME = Get "/teams/name/{name}";
    /// <https://api.mattermost.com/#tag/teams/operation/GetTeamsForUser>
    TEAMS_FOR_USER = Get "/users/{user_id}/teams";

    // --- slash commands ---
    /// <https://api.mattermost.com/#tag/commands/operation/CreateCommand>
    COMMANDS_CREATE = Post "/commands";
    /// <https://api.mattermost.com/#tag/commands/operation/ListCommands>
    COMMANDS_LIST = Get "/commands";
    /// <https://api.mattermost.com/#tag/commands/operation/GetCommandById>
    COMMANDS_GET = Get "/commands/{command_id}";
    /// <https://api.mattermost.com/#tag/commands/operation/UpdateCommand>
    COMMANDS_UPDATE = Put "/commands/{command_id}";
    /// <https://api.mattermost.com/#tag/commands/operation/DeleteCommand>
    COMMANDS_DELETE = Delete "/commands/{command_id}";
    /// <https://api.mattermost.com/#tag/commands/operation/RegenCommandToken>
    COMMANDS_REGEN_TOKEN = Put "/commands/{command_id}/regen_token";
    /// <https://api.mattermost.com/#tag/commands/operation/ExecuteCommand>
    COMMANDS_EXECUTE = Post "/commands/execute";

    // --- posts ---
    /// <https://api.mattermost.com/#tag/posts/operation/CreatePost> (retry-safe: the client
    /// always sends a `pending_post_id`, which Mattermost de-duplicates)
    POSTS_CREATE = Post "/posts", retry_safe;
}
