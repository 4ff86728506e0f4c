//! The endpoint table: every operation the client performs, with its method and templated path.
//!
//! Paths are relative to `/api/v4` and use `{name}` placeholders that
//! [`ApiRequest::new`](super::ApiRequest::new) fills with percent-encoded segments. The templated
//! form (never the filled-in URL) names tracing spans and appears in errors, so ids and query
//! strings stay out of logs and metrics labels.

use std::fmt;
use std::time::Duration;

/// The HTTP method of an endpoint.
///
/// API: <https://api.mattermost.com/> (introduction: `/api/v4` paths).
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
    ///
    /// API: <https://api.mattermost.com/> (introduction: `/api/v4` paths).
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
    ///
    /// API: <https://api.mattermost.com/> (introduction: `/api/v4` paths).
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
///
/// API: <https://api.mattermost.com/> (introduction: `/api/v4` paths).
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
    /// The path is below the server root instead of `/api/v4` (incoming webhooks: `/hooks/{id}`).
    pub server_root: bool,
    /// For a POST that is safe to repeat only because Mattermost recognises a repeat for a
    /// while (`POST /posts` and its `pending_post_id`): how long after the first attempt a
    /// timeout or 5xx may still be retried. Later, the server would take the repeat for a new
    /// request.
    pub dedup_window: Option<Duration>,
}

impl Endpoint {
    const fn new(verb: Verb, path: &'static str) -> Self {
        let idempotent = !matches!(verb, Verb::Post | Verb::Patch);
        Endpoint {
            verb,
            path,
            idempotent,
            server_root: false,
            dedup_window: None,
        }
    }

    /// An endpoint for a custom path, for the raw escape hatch ([`Client::raw`](super::Client::raw)).
    /// `idempotent` follows the method (GET, PUT, DELETE).
    ///
    /// API: <https://api.mattermost.com/> (introduction: `/api/v4` paths).
    pub const fn custom(verb: Verb, path: &'static str) -> Self {
        Endpoint::new(verb, path)
    }

    /// Marks a path as below the server root rather than `/api/v4`.
    const fn server_root(mut self) -> Self {
        self.server_root = true;
        self
    }

    /// Marks a POST as safe to retry.
    const fn retry_safe(mut self) -> Self {
        self.idempotent = true;
        self
    }

    /// Marks a POST as safe to retry within `window` of the first attempt (the server
    /// de-duplicates repeats for a while).
    const fn deduplicated_for(mut self, window: Duration) -> Self {
        self.idempotent = true;
        self.dedup_window = Some(window);
        self
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = if self.server_root { "" } else { "/api/v4" };
        write!(f, "{} {prefix}{}", self.verb.as_str(), self.path)
    }
}

macro_rules! endpoints {
    ($( $(#[$doc:meta])* $name:ident = $verb:ident $path:literal $(, $modifier:ident $(($arg:expr))?)* ;)*) => {
        $( $(#[$doc])* pub const $name: Endpoint = Endpoint::new(Verb::$verb, $path)$(.$modifier($($arg)?))*; )*
        /// Every endpoint in this table, for coverage checks and documentation.
        ///
        /// API: <https://api.mattermost.com/> (introduction: `/api/v4` paths).
        pub const ALL: &[(&str, Endpoint)] = &[ $( (stringify!($name), $name), )* ];
    };
}

endpoints! {

    // --- system ---
    /// <https://api.mattermost.com/#tag/system/operation/GetPing>
    SYSTEM_PING = Get "/system/ping";
    /// <https://api.mattermost.com/#tag/system/operation/GetClientConfig>
    SYSTEM_CLIENT_CONFIG = Get "/config/client";

    // --- users ---
    /// <https://api.mattermost.com/#tag/users/operation/Login>
    USERS_LOGIN = Post "/users/login";
    /// <https://api.mattermost.com/#tag/users/operation/Logout>
    USERS_LOGOUT = Post "/users/logout";
    /// <https://api.mattermost.com/#tag/users/operation/CreateUser>
    USERS_CREATE = Post "/users";
    /// <https://api.mattermost.com/#tag/users/operation/GetUsers>
    USERS_LIST = Get "/users";
    /// <https://api.mattermost.com/#tag/users/operation/GetUsersByIds>
    /// (Retry-safe: repeating it has the same effect as sending it once.)
    USERS_BY_IDS = Post "/users/ids", retry_safe;
    /// <https://api.mattermost.com/#tag/users/operation/GetUsersByGroupChannelIds>
    /// (Retry-safe: repeating it has the same effect as sending it once.)
    USERS_BY_GROUP_CHANNEL_IDS = Post "/users/group_channels", retry_safe;
    /// <https://api.mattermost.com/#tag/users/operation/GetUsersByUsernames>
    /// (Retry-safe: repeating it has the same effect as sending it once.)
    USERS_BY_USERNAMES = Post "/users/usernames", retry_safe;
    /// <https://api.mattermost.com/#tag/users/operation/SearchUsers>
    /// (Retry-safe: repeating it has the same effect as sending it once.)
    USERS_SEARCH = Post "/users/search", retry_safe;
    /// <https://api.mattermost.com/#tag/users/operation/AutocompleteUsers>
    USERS_AUTOCOMPLETE = Get "/users/autocomplete";
    /// <https://api.mattermost.com/#tag/users/operation/GetUser> (`user_id` = `me`)
    USERS_ME = Get "/users/me";
    /// <https://api.mattermost.com/#tag/users/operation/GetUser>
    USERS_GET = Get "/users/{user_id}";
    /// <https://api.mattermost.com/#tag/users/operation/GetUserByUsername>
    USERS_BY_USERNAME = Get "/users/username/{username}";
    /// <https://api.mattermost.com/#tag/users/operation/GetUserByEmail>
    USERS_BY_EMAIL = Get "/users/email/{email}";
    /// <https://api.mattermost.com/#tag/users/operation/PatchUser>
    USERS_PATCH = Put "/users/{user_id}/patch";
    /// <https://api.mattermost.com/#tag/users/operation/UpdateUserRoles>
    USERS_UPDATE_ROLES = Put "/users/{user_id}/roles";
    /// <https://api.mattermost.com/#tag/users/operation/UpdateUserActive>
    USERS_UPDATE_ACTIVE = Put "/users/{user_id}/active";
    /// <https://api.mattermost.com/#tag/users/operation/DeleteUser>
    USERS_DEACTIVATE = Delete "/users/{user_id}";
    /// <https://api.mattermost.com/#tag/users/operation/DemoteUserToGuest>
    USERS_DEMOTE = Post "/users/{user_id}/demote";
    /// <https://api.mattermost.com/#tag/users/operation/PromoteGuestToUser>
    USERS_PROMOTE = Post "/users/{user_id}/promote";
    /// <https://api.mattermost.com/#tag/users/operation/GetSessions>
    USERS_SESSIONS = Get "/users/{user_id}/sessions";
    /// <https://api.mattermost.com/#tag/users/operation/RevokeSession>
    USERS_REVOKE_SESSION = Post "/users/{user_id}/sessions/revoke";
    /// <https://api.mattermost.com/#tag/users/operation/CreateUserAccessToken>
    USERS_TOKENS_CREATE = Post "/users/{user_id}/tokens";
    /// <https://api.mattermost.com/#tag/users/operation/GetUserAccessTokensForUser>
    USERS_TOKENS_LIST = Get "/users/{user_id}/tokens";
    /// <https://api.mattermost.com/#tag/users/operation/RevokeUserAccessToken>
    USERS_TOKENS_REVOKE = Post "/users/tokens/revoke";

    // --- status ---
    /// <https://api.mattermost.com/#tag/status/operation/GetUserStatus>
    STATUS_GET = Get "/users/{user_id}/status";
    /// <https://api.mattermost.com/#tag/status/operation/UpdateUserStatus>
    STATUS_SET = Put "/users/{user_id}/status";
    /// <https://api.mattermost.com/#tag/status/operation/GetUsersStatusesByIds>
    /// (Retry-safe: repeating it has the same effect as sending it once.)
    STATUS_BY_IDS = Post "/users/status/ids", retry_safe;
    /// <https://api.mattermost.com/#tag/status/operation/UpdateUserCustomStatus>
    STATUS_CUSTOM_SET = Put "/users/{user_id}/status/custom";
    /// <https://api.mattermost.com/#tag/status/operation/UnsetUserCustomStatus>
    STATUS_CUSTOM_UNSET = Delete "/users/{user_id}/status/custom";

    // --- preferences ---
    /// <https://api.mattermost.com/#tag/preferences/operation/GetPreferences>
    PREFERENCES_GET = Get "/users/{user_id}/preferences";
    /// <https://api.mattermost.com/#tag/preferences/operation/UpdatePreferences>
    PREFERENCES_UPDATE = Put "/users/{user_id}/preferences";
    /// <https://api.mattermost.com/#tag/preferences/operation/DeletePreferences>
    /// (Retry-safe: repeating it has the same effect as sending it once.)
    PREFERENCES_DELETE = Post "/users/{user_id}/preferences/delete", retry_safe;

    // --- teams ---
    /// <https://api.mattermost.com/#tag/teams/operation/GetAllTeams>
    TEAMS_LIST = Get "/teams";
    /// <https://api.mattermost.com/#tag/teams/operation/CreateTeam>
    TEAMS_CREATE = Post "/teams";
    /// <https://api.mattermost.com/#tag/teams/operation/GetTeam>
    TEAMS_GET = Get "/teams/{team_id}";
    /// <https://api.mattermost.com/#tag/teams/operation/GetTeamByName>
    TEAMS_BY_NAME = Get "/teams/name/{name}";
    /// <https://api.mattermost.com/#tag/teams/operation/GetTeamsForUser>
    TEAMS_FOR_USER = Get "/users/{user_id}/teams";
    /// <https://api.mattermost.com/#tag/teams/operation/PatchTeam>
    TEAMS_PATCH = Put "/teams/{team_id}/patch";
    /// <https://api.mattermost.com/#tag/teams/operation/SoftDeleteTeam>
    TEAMS_DELETE = Delete "/teams/{team_id}";
    /// <https://api.mattermost.com/#tag/teams/operation/RestoreTeam>
    TEAMS_RESTORE = Post "/teams/{team_id}/restore";
    /// <https://api.mattermost.com/#tag/teams/operation/SearchTeams>
    /// (Retry-safe: repeating it has the same effect as sending it once.)
    TEAMS_SEARCH = Post "/teams/search", retry_safe;
    /// <https://api.mattermost.com/#tag/teams/operation/GetTeamStats>
    TEAMS_STATS = Get "/teams/{team_id}/stats";
    /// <https://api.mattermost.com/#tag/teams/operation/GetTeamMembers>
    TEAMS_MEMBERS = Get "/teams/{team_id}/members";
    /// <https://api.mattermost.com/#tag/teams/operation/AddTeamMember>
    TEAMS_ADD_MEMBER = Post "/teams/{team_id}/members";
    /// <https://api.mattermost.com/#tag/teams/operation/GetTeamMember>
    TEAMS_MEMBER = Get "/teams/{team_id}/members/{user_id}";
    /// <https://api.mattermost.com/#tag/teams/operation/RemoveTeamMember>
    TEAMS_REMOVE_MEMBER = Delete "/teams/{team_id}/members/{user_id}";
    /// <https://api.mattermost.com/#tag/teams/operation/UpdateTeamMemberSchemeRoles>
    TEAMS_MEMBER_SCHEME_ROLES = Put "/teams/{team_id}/members/{user_id}/schemeRoles";
    /// <https://api.mattermost.com/#tag/teams/operation/InviteGuestsToTeam>
    TEAMS_INVITE_GUESTS = Post "/teams/{team_id}/invite-guests/email";

    // --- channels ---
    /// <https://api.mattermost.com/#tag/channels/operation/CreateChannel>
    CHANNELS_CREATE = Post "/channels";
    /// <https://api.mattermost.com/#tag/channels/operation/CreateDirectChannel>
    CHANNELS_DIRECT = Post "/channels/direct";
    /// <https://api.mattermost.com/#tag/channels/operation/CreateGroupChannel>
    CHANNELS_GROUP = Post "/channels/group";
    /// <https://api.mattermost.com/#tag/channels/operation/GetChannel>
    CHANNELS_GET = Get "/channels/{channel_id}";
    /// <https://api.mattermost.com/#tag/channels/operation/UpdateChannel>
    CHANNELS_UPDATE = Put "/channels/{channel_id}";
    /// <https://api.mattermost.com/#tag/channels/operation/PatchChannel>
    CHANNELS_PATCH = Put "/channels/{channel_id}/patch";
    /// <https://api.mattermost.com/#tag/channels/operation/DeleteChannel>
    CHANNELS_DELETE = Delete "/channels/{channel_id}";
    /// <https://api.mattermost.com/#tag/channels/operation/RestoreChannel>
    CHANNELS_RESTORE = Post "/channels/{channel_id}/restore";
    /// <https://api.mattermost.com/#tag/channels/operation/GetPinnedPosts>
    CHANNELS_PINNED = Get "/channels/{channel_id}/pinned";
    /// <https://api.mattermost.com/#tag/channels/operation/GetChannelByName>
    CHANNELS_BY_NAME = Get "/teams/{team_id}/channels/name/{channel_name}";
    /// <https://api.mattermost.com/#tag/channels/operation/GetPublicChannelsForTeam>
    CHANNELS_FOR_TEAM = Get "/teams/{team_id}/channels";
    /// <https://api.mattermost.com/#tag/channels/operation/GetPublicChannelsByIdsForTeam>
    /// (Retry-safe: repeating it has the same effect as sending it once.)
    CHANNELS_BY_IDS = Post "/teams/{team_id}/channels/ids", retry_safe;
    /// <https://api.mattermost.com/#tag/channels/operation/SearchChannels>
    /// (Retry-safe: repeating it has the same effect as sending it once.)
    CHANNELS_SEARCH = Post "/teams/{team_id}/channels/search", retry_safe;
    /// <https://api.mattermost.com/#tag/channels/operation/GetChannelMembers>
    CHANNELS_MEMBERS = Get "/channels/{channel_id}/members";
    /// <https://api.mattermost.com/#tag/channels/operation/AddChannelMember>
    CHANNELS_ADD_MEMBER = Post "/channels/{channel_id}/members";
    /// <https://api.mattermost.com/#tag/channels/operation/GetChannelMember>
    CHANNELS_MEMBER = Get "/channels/{channel_id}/members/{user_id}";
    /// <https://api.mattermost.com/#tag/channels/operation/RemoveUserFromChannel>
    CHANNELS_REMOVE_MEMBER = Delete "/channels/{channel_id}/members/{user_id}";
    /// <https://api.mattermost.com/#tag/channels/operation/UpdateChannelMemberSchemeRoles>
    CHANNELS_MEMBER_SCHEME_ROLES = Put "/channels/{channel_id}/members/{user_id}/schemeRoles";
    /// <https://api.mattermost.com/#tag/channels/operation/GetChannelMembersForUser>
    CHANNELS_MEMBERS_FOR_USER = Get "/users/{user_id}/teams/{team_id}/channels/members";
    /// <https://api.mattermost.com/#tag/channels/operation/GetChannelsForTeamForUser>
    CHANNELS_FOR_USER = Get "/users/{user_id}/teams/{team_id}/channels";

    // --- posts ---
    /// <https://api.mattermost.com/#tag/posts/operation/CreatePost>
    /// (Retry-safe while Mattermost remembers the `pending_post_id` the client always sends:
    /// `deduplicateCreatePost` in `server/channels/app/post.go` keeps it 30 s
    /// (`pendingPostIDsCacheTTL`) from when the first attempt arrived. A repeat after that is
    /// a second post, so timeouts and 5xx are retried only within 25 s of the first attempt.)
    POSTS_CREATE = Post "/posts", deduplicated_for(Duration::from_secs(25));
    /// <https://api.mattermost.com/#tag/posts/operation/CreatePostEphemeral>
    POSTS_EPHEMERAL = Post "/posts/ephemeral";
    /// <https://api.mattermost.com/#tag/posts/operation/GetPost>
    POSTS_GET = Get "/posts/{post_id}";
    /// <https://api.mattermost.com/#tag/posts/operation/UpdatePost>
    POSTS_UPDATE = Put "/posts/{post_id}";
    /// <https://api.mattermost.com/#tag/posts/operation/PatchPost>
    POSTS_PATCH = Put "/posts/{post_id}/patch";
    /// <https://api.mattermost.com/#tag/posts/operation/DeletePost>
    POSTS_DELETE = Delete "/posts/{post_id}";
    /// <https://api.mattermost.com/#tag/posts/operation/GetPostsForChannel>
    POSTS_FOR_CHANNEL = Get "/channels/{channel_id}/posts";
    /// <https://api.mattermost.com/#tag/posts/operation/GetPostThread>
    POSTS_THREAD = Get "/posts/{post_id}/thread";
    /// <https://api.mattermost.com/#tag/posts/operation/SearchPosts>
    /// (Retry-safe: repeating it has the same effect as sending it once.)
    POSTS_SEARCH = Post "/teams/{team_id}/posts/search", retry_safe;
    /// <https://api.mattermost.com/#tag/posts/operation/PinPost>
    /// (Retry-safe: repeating it has the same effect as sending it once.)
    POSTS_PIN = Post "/posts/{post_id}/pin", retry_safe;
    /// <https://api.mattermost.com/#tag/posts/operation/UnpinPost>
    /// (Retry-safe: repeating it has the same effect as sending it once.)
    POSTS_UNPIN = Post "/posts/{post_id}/unpin", retry_safe;
    /// <https://api.mattermost.com/#tag/posts/operation/GetPostsAroundLastUnread>
    POSTS_AROUND_LAST_UNREAD = Get "/users/{user_id}/channels/{channel_id}/posts/unread";
    /// <https://api.mattermost.com/#tag/posts/operation/DoPostAction>
    POSTS_DO_ACTION = Post "/posts/{post_id}/actions/{action_id}";

    // --- files ---
    /// <https://api.mattermost.com/#tag/files/operation/UploadFile>
    FILES_UPLOAD = Post "/files";
    /// <https://api.mattermost.com/#tag/files/operation/GetFile>
    FILES_GET = Get "/files/{file_id}";
    /// <https://api.mattermost.com/#tag/files/operation/GetFileInfo>
    FILES_INFO = Get "/files/{file_id}/info";
    /// <https://api.mattermost.com/#tag/files/operation/GetFileLink>
    FILES_LINK = Get "/files/{file_id}/link";
    /// <https://api.mattermost.com/#tag/files/operation/GetFilePreview>
    FILES_PREVIEW = Get "/files/{file_id}/preview";
    /// <https://api.mattermost.com/#tag/files/operation/GetFileThumbnail>
    FILES_THUMBNAIL = Get "/files/{file_id}/thumbnail";

    // --- reactions ---
    /// <https://api.mattermost.com/#tag/reactions/operation/SaveReaction>
    /// (Retry-safe: repeating it has the same effect as sending it once.)
    REACTIONS_CREATE = Post "/reactions", retry_safe;
    /// <https://api.mattermost.com/#tag/reactions/operation/GetReactions>
    REACTIONS_LIST = Get "/posts/{post_id}/reactions";
    /// <https://api.mattermost.com/#tag/reactions/operation/DeleteReaction>
    REACTIONS_DELETE = Delete "/users/{user_id}/posts/{post_id}/reactions/{emoji_name}";

    // --- incoming webhooks ---
    /// <https://api.mattermost.com/#tag/webhooks/operation/CreateIncomingWebhook>
    HOOKS_INCOMING_CREATE = Post "/hooks/incoming";
    /// <https://api.mattermost.com/#tag/webhooks/operation/GetIncomingWebhooks>
    HOOKS_INCOMING_LIST = Get "/hooks/incoming";
    /// <https://api.mattermost.com/#tag/webhooks/operation/GetIncomingWebhook>
    HOOKS_INCOMING_GET = Get "/hooks/incoming/{hook_id}";
    /// <https://api.mattermost.com/#tag/webhooks/operation/UpdateIncomingWebhook>
    HOOKS_INCOMING_UPDATE = Put "/hooks/incoming/{hook_id}";
    /// <https://api.mattermost.com/#tag/webhooks/operation/DeleteIncomingWebhook>
    HOOKS_INCOMING_DELETE = Delete "/hooks/incoming/{hook_id}";
    /// <https://developers.mattermost.com/integrate/webhooks/incoming/> (not part of the REST API reference)
    HOOKS_INCOMING_EXECUTE = Post "/hooks/{hook_id}", server_root;

    // --- outgoing webhooks ---
    /// <https://api.mattermost.com/#tag/webhooks/operation/CreateOutgoingWebhook>
    HOOKS_OUTGOING_CREATE = Post "/hooks/outgoing";
    /// <https://api.mattermost.com/#tag/webhooks/operation/GetOutgoingWebhooks>
    HOOKS_OUTGOING_LIST = Get "/hooks/outgoing";
    /// <https://api.mattermost.com/#tag/webhooks/operation/GetOutgoingWebhook>
    HOOKS_OUTGOING_GET = Get "/hooks/outgoing/{hook_id}";
    /// <https://api.mattermost.com/#tag/webhooks/operation/UpdateOutgoingWebhook>
    HOOKS_OUTGOING_UPDATE = Put "/hooks/outgoing/{hook_id}";
    /// <https://api.mattermost.com/#tag/webhooks/operation/DeleteOutgoingWebhook>
    HOOKS_OUTGOING_DELETE = Delete "/hooks/outgoing/{hook_id}";
    /// <https://api.mattermost.com/#tag/webhooks/operation/RegenOutgoingHookToken>
    HOOKS_OUTGOING_REGEN_TOKEN = Post "/hooks/outgoing/{hook_id}/regen_token";

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
    /// <https://api.mattermost.com/#tag/commands/operation/ListAutocompleteCommands>
    COMMANDS_AUTOCOMPLETE = Get "/teams/{team_id}/commands/autocomplete";
    /// <https://api.mattermost.com/#tag/commands/operation/ListCommandAutocompleteSuggestions>
    COMMANDS_AUTOCOMPLETE_SUGGESTIONS = Get "/teams/{team_id}/commands/autocomplete_suggestions";

    // --- groups ---
    /// <https://api.mattermost.com/#tag/groups/operation/GetGroups>
    GROUPS_LIST = Get "/groups";
    /// <https://api.mattermost.com/#tag/groups/operation/GetGroupUsers>
    GROUPS_MEMBERS = Get "/groups/{group_id}/members";
    /// <https://api.mattermost.com/#tag/groups/operation/AddGroupMembers>
    /// (Retry-safe: repeating it has the same effect as sending it once.)
    GROUPS_ADD_MEMBERS = Post "/groups/{group_id}/members", retry_safe;
    /// <https://api.mattermost.com/#tag/groups/operation/DeleteGroupMembers>
    GROUPS_REMOVE_MEMBERS = Delete "/groups/{group_id}/members";

    // --- interactive dialogs ---
    /// <https://api.mattermost.com/#tag/integration_actions/operation/OpenInteractiveDialog>
    DIALOGS_OPEN = Post "/actions/dialogs/open";
    /// <https://api.mattermost.com/#tag/integration_actions/operation/SubmitInteractiveDialog>
    DIALOGS_SUBMIT = Post "/actions/dialogs/submit";

    // --- bots ---
    /// <https://api.mattermost.com/#tag/bots/operation/CreateBot>
    BOTS_CREATE = Post "/bots";
    /// <https://api.mattermost.com/#tag/bots/operation/GetBots>
    BOTS_LIST = Get "/bots";
    /// <https://api.mattermost.com/#tag/bots/operation/GetBot>
    BOTS_GET = Get "/bots/{bot_user_id}";
    /// <https://api.mattermost.com/#tag/bots/operation/PatchBot>
    BOTS_PATCH = Put "/bots/{bot_user_id}";
    /// <https://api.mattermost.com/#tag/bots/operation/DisableBot>
    /// (Retry-safe: repeating it has the same effect as sending it once.)
    BOTS_DISABLE = Post "/bots/{bot_user_id}/disable", retry_safe;
    /// <https://api.mattermost.com/#tag/bots/operation/EnableBot>
    /// (Retry-safe: repeating it has the same effect as sending it once.)
    BOTS_ENABLE = Post "/bots/{bot_user_id}/enable", retry_safe;
    /// <https://api.mattermost.com/#tag/bots/operation/AssignBot>
    /// (Retry-safe: repeating it has the same effect as sending it once.)
    BOTS_ASSIGN = Post "/bots/{bot_user_id}/assign/{user_id}", retry_safe;

    // --- emoji ---
    /// <https://api.mattermost.com/#tag/emoji/operation/GetEmojiList>
    EMOJI_LIST = Get "/emoji";
    /// <https://api.mattermost.com/#tag/emoji/operation/CreateEmoji>
    EMOJI_CREATE = Post "/emoji";
    /// <https://api.mattermost.com/#tag/emoji/operation/GetEmoji>
    EMOJI_GET = Get "/emoji/{emoji_id}";
    /// <https://api.mattermost.com/#tag/emoji/operation/GetEmojiByName>
    EMOJI_BY_NAME = Get "/emoji/name/{emoji_name}";
    /// <https://api.mattermost.com/#tag/emoji/operation/DeleteEmoji>
    EMOJI_DELETE = Delete "/emoji/{emoji_id}";
    /// <https://api.mattermost.com/#tag/emoji/operation/SearchEmoji>
    /// (Retry-safe: a search only reads.)
    EMOJI_SEARCH = Post "/emoji/search", retry_safe;
    /// <https://api.mattermost.com/#tag/emoji/operation/AutocompleteEmoji>
    EMOJI_AUTOCOMPLETE = Get "/emoji/autocomplete";

    // --- roles ---
    /// <https://api.mattermost.com/#tag/roles/operation/GetRolesByNames>
    /// (Retry-safe: repeating it has the same effect as sending it once.)
    ROLES_BY_NAMES = Post "/roles/names", retry_safe;
    /// <https://api.mattermost.com/#tag/roles/operation/GetRoleByName>
    ROLES_BY_NAME = Get "/roles/name/{role_name}";
}
