//! Users: <https://api.mattermost.com/#tag/users>.

use std::collections::HashMap;
use std::fmt;

use secrecy::SecretString;
use serde::Serialize;

use super::{handle, id_strs};
use crate::mattermost::endpoints as ep;
use crate::mattermost::models::{
    NewUser, Session, User, UserAccessToken, UserAutocomplete, UserPatch, UserSearch,
};
use crate::mattermost::pagination::{DEFAULT_PER_PAGE, paginate_list};
use crate::mattermost::{
    ApiRequest, ChannelId, Client, Error, ItemStream, Result, SessionId, TeamId, UserId,
};

handle! {
    /// Handle for user calls; see [`Client::users`].
    Users
}

/// The answer of a password login: the user and the session token from the `Token` header.
///
/// API: <https://api.mattermost.com/#tag/users/operation/Login>.
#[derive(Clone)]
pub struct LoggedIn {
    /// The logged-in user.
    pub user: User,
    /// The session token; use it with [`Client::with_token`].
    pub token: SecretString,
}

impl fmt::Debug for LoggedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoggedIn")
            .field("user", &self.user.username)
            .field("token", &"[redacted]")
            .finish()
    }
}

fn me_or(user_id: Option<&UserId>) -> &str {
    user_id.map_or("me", UserId::as_str)
}

impl<'c> Users<'c> {
    /// Logs in with a login id (username or email) and password, plus an MFA code when the
    /// account needs one. The token comes back in the `Token` header. `POST /users/login`
    /// (<https://api.mattermost.com/#tag/users/operation/Login>).
    ///
    /// To use a personal access or bot token instead, pass it to
    /// [`ClientBuilder::token`](crate::mattermost::ClientBuilder::token).
    pub async fn login(
        &self,
        login_id: &str,
        password: &SecretString,
        mfa_code: Option<&str>,
    ) -> Result<LoggedIn> {
        use secrecy::ExposeSecret;
        #[derive(Serialize)]
        struct Body<'a> {
            login_id: &'a str,
            password: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            token: Option<&'a str>,
        }
        let request = ApiRequest::new(ep::USERS_LOGIN, &[])?.json(&Body {
            login_id,
            password: password.expose_secret(),
            token: mfa_code,
        })?;
        let (user, headers) = self.client.send_json_with_headers::<User>(&request).await?;
        let token = headers
            .get("token")
            .and_then(|v| v.to_str().ok())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::invalid("the login answer carries no `Token` header"))?;
        Ok(LoggedIn {
            user,
            token: SecretString::from(token.to_owned()),
        })
    }

    /// Ends the token's session. `POST /users/logout`
    /// (<https://api.mattermost.com/#tag/users/operation/Logout>).
    ///
    /// Afterwards this client and its clones refuse authenticated calls with
    /// [`Error::LoggedOut`](crate::mattermost::Error::LoggedOut) rather than send the revoked
    /// token (clearing the token instead would turn every later call into a confusing 401 from
    /// the server, or worse, an anonymous call that half-works). A failed logout leaves the
    /// client as it was.
    pub async fn logout(&self) -> Result<()> {
        self.client
            .send_unit(&ApiRequest::new(ep::USERS_LOGOUT, &[])?)
            .await?;
        self.client.mark_logged_out();
        Ok(())
    }

    /// Creates a user. `POST /users`
    /// (<https://api.mattermost.com/#tag/users/operation/CreateUser>).
    pub async fn create(&self, user: &NewUser) -> Result<User> {
        self.client
            .send_json(&ApiRequest::new(ep::USERS_CREATE, &[])?.json(user)?)
            .await
    }

    /// Lists users with filters; see [`UsersList`]. `GET /users`
    /// (<https://api.mattermost.com/#tag/users/operation/GetUsers>).
    pub fn list(&self) -> UsersList {
        UsersList {
            client: self.client.clone(),
            filters: Vec::new(),
            per_page: DEFAULT_PER_PAGE,
        }
    }

    /// Users by id. `POST /users/ids`
    /// (<https://api.mattermost.com/#tag/users/operation/GetUsersByIds>).
    pub async fn by_ids(&self, user_ids: &[UserId]) -> Result<Vec<User>> {
        let request = ApiRequest::new(ep::USERS_BY_IDS, &[])?.json(&id_strs(user_ids))?;
        self.client.send_json(&request).await
    }

    /// The members of group (and direct) channels, by channel id. `POST /users/group_channels`
    /// (<https://api.mattermost.com/#tag/users/operation/GetUsersByGroupChannelIds>).
    pub async fn by_group_channel_ids(
        &self,
        channel_ids: &[ChannelId],
    ) -> Result<HashMap<ChannelId, Vec<User>>> {
        let request =
            ApiRequest::new(ep::USERS_BY_GROUP_CHANNEL_IDS, &[])?.json(&id_strs(channel_ids))?;
        self.client.send_json(&request).await
    }

    /// Users by username. `POST /users/usernames`
    /// (<https://api.mattermost.com/#tag/users/operation/GetUsersByUsernames>).
    pub async fn by_usernames(&self, usernames: &[&str]) -> Result<Vec<User>> {
        let request = ApiRequest::new(ep::USERS_BY_USERNAMES, &[])?.json(usernames)?;
        self.client.send_json(&request).await
    }

    /// Searches users. `POST /users/search`
    /// (<https://api.mattermost.com/#tag/users/operation/SearchUsers>).
    pub async fn search(&self, search: &UserSearch) -> Result<Vec<User>> {
        let request = ApiRequest::new(ep::USERS_SEARCH, &[])?.json(search)?;
        self.client.send_json(&request).await
    }

    /// Users whose names start with `name`, optionally within a team or channel.
    /// `GET /users/autocomplete`
    /// (<https://api.mattermost.com/#tag/users/operation/AutocompleteUsers>).
    pub async fn autocomplete(
        &self,
        name: &str,
        team_id: Option<&TeamId>,
        channel_id: Option<&ChannelId>,
        limit: Option<u32>,
    ) -> Result<UserAutocomplete> {
        let request = ApiRequest::new(ep::USERS_AUTOCOMPLETE, &[])?
            .query_opt("team_id", team_id)
            .query_opt("channel_id", channel_id)
            .query("name", name)
            .query_opt("limit", limit.as_ref());
        self.client.send_json(&request).await
    }

    /// The user the token belongs to. `GET /users/me`
    /// (<https://api.mattermost.com/#tag/users/operation/GetUser>).
    pub async fn me(&self) -> Result<User> {
        self.client
            .send_json(&ApiRequest::new(ep::USERS_ME, &[])?)
            .await
    }

    /// A user by id. `GET /users/{user_id}`
    /// (<https://api.mattermost.com/#tag/users/operation/GetUser>).
    pub async fn get(&self, user_id: &UserId) -> Result<User> {
        self.client
            .send_json(&ApiRequest::new(ep::USERS_GET, &[user_id.as_str()])?)
            .await
    }

    /// A user by username. `GET /users/username/{username}`
    /// (<https://api.mattermost.com/#tag/users/operation/GetUserByUsername>).
    pub async fn by_username(&self, username: &str) -> Result<User> {
        self.client
            .send_json(&ApiRequest::new(ep::USERS_BY_USERNAME, &[username])?)
            .await
    }

    /// A user by email. `GET /users/email/{email}`
    /// (<https://api.mattermost.com/#tag/users/operation/GetUserByEmail>).
    pub async fn by_email(&self, email: &str) -> Result<User> {
        self.client
            .send_json(&ApiRequest::new(ep::USERS_BY_EMAIL, &[email])?)
            .await
    }

    /// Changes the fields set in `patch`. `PUT /users/{user_id}/patch`
    /// (<https://api.mattermost.com/#tag/users/operation/PatchUser>).
    pub async fn patch(&self, user_id: &UserId, patch: &UserPatch) -> Result<User> {
        let request = ApiRequest::new(ep::USERS_PATCH, &[user_id.as_str()])?.json(patch)?;
        self.client.send_json(&request).await
    }

    /// Replaces a user's system roles (space separated). `PUT /users/{user_id}/roles`
    /// (<https://api.mattermost.com/#tag/users/operation/UpdateUserRoles>).
    pub async fn update_roles(&self, user_id: &UserId, roles: &str) -> Result<()> {
        let request = ApiRequest::new(ep::USERS_UPDATE_ROLES, &[user_id.as_str()])?
            .json(&serde_json::json!({ "roles": roles }))?;
        self.client.send_unit(&request).await
    }

    /// Activates or deactivates a user. `PUT /users/{user_id}/active`
    /// (<https://api.mattermost.com/#tag/users/operation/UpdateUserActive>).
    pub async fn set_active(&self, user_id: &UserId, active: bool) -> Result<()> {
        let request = ApiRequest::new(ep::USERS_UPDATE_ACTIVE, &[user_id.as_str()])?
            .json(&serde_json::json!({ "active": active }))?;
        self.client.send_unit(&request).await
    }

    /// Deactivates a user (soft delete). `DELETE /users/{user_id}`
    /// (<https://api.mattermost.com/#tag/users/operation/DeleteUser>).
    pub async fn deactivate(&self, user_id: &UserId) -> Result<()> {
        self.client
            .send_unit(&ApiRequest::new(ep::USERS_DEACTIVATE, &[user_id.as_str()])?)
            .await
    }

    /// Demotes a user to guest. `POST /users/{user_id}/demote`
    /// (<https://api.mattermost.com/#tag/users/operation/DemoteUserToGuest>).
    pub async fn demote(&self, user_id: &UserId) -> Result<()> {
        self.client
            .send_unit(&ApiRequest::new(ep::USERS_DEMOTE, &[user_id.as_str()])?)
            .await
    }

    /// Promotes a guest to user. `POST /users/{user_id}/promote`
    /// (<https://api.mattermost.com/#tag/users/operation/PromoteGuestToUser>).
    pub async fn promote(&self, user_id: &UserId) -> Result<()> {
        self.client
            .send_unit(&ApiRequest::new(ep::USERS_PROMOTE, &[user_id.as_str()])?)
            .await
    }

    /// A user's sessions; `None` for the token's own user. `GET /users/{user_id}/sessions`
    /// (<https://api.mattermost.com/#tag/users/operation/GetSessions>).
    pub async fn sessions(&self, user_id: Option<&UserId>) -> Result<Vec<Session>> {
        self.client
            .send_json(&ApiRequest::new(ep::USERS_SESSIONS, &[me_or(user_id)])?)
            .await
    }

    /// Revokes one session. `POST /users/{user_id}/sessions/revoke`
    /// (<https://api.mattermost.com/#tag/users/operation/RevokeSession>).
    pub async fn revoke_session(
        &self,
        user_id: Option<&UserId>,
        session_id: &SessionId,
    ) -> Result<()> {
        if session_id.as_str().is_empty() {
            return Err(Error::invalid("session_id must not be empty"));
        }
        let request = ApiRequest::new(ep::USERS_REVOKE_SESSION, &[me_or(user_id)])?
            .json(&serde_json::json!({ "session_id": session_id }))?;
        self.client.send_unit(&request).await
    }

    /// Creates a personal access token; the secret is in the answer only.
    /// `POST /users/{user_id}/tokens`
    /// (<https://api.mattermost.com/#tag/users/operation/CreateUserAccessToken>).
    pub async fn create_token(
        &self,
        user_id: &UserId,
        description: &str,
    ) -> Result<UserAccessToken> {
        let request = ApiRequest::new(ep::USERS_TOKENS_CREATE, &[user_id.as_str()])?
            .json(&serde_json::json!({ "description": description }))?;
        self.client.send_json(&request).await
    }

    /// A user's access tokens (without secrets), page by page. `GET /users/{user_id}/tokens`
    /// (<https://api.mattermost.com/#tag/users/operation/GetUserAccessTokensForUser>).
    pub fn tokens(&self, user_id: &UserId) -> ItemStream<UserAccessToken> {
        let user_id = user_id.clone();
        paginate_list(self.client.clone(), DEFAULT_PER_PAGE, move || {
            ApiRequest::new(ep::USERS_TOKENS_LIST, &[user_id.as_str()])
        })
    }

    /// Revokes an access token by its id. `POST /users/tokens/revoke`
    /// (<https://api.mattermost.com/#tag/users/operation/RevokeUserAccessToken>).
    pub async fn revoke_token(&self, token_id: &str) -> Result<()> {
        if token_id.is_empty() {
            return Err(Error::invalid("token_id must not be empty"));
        }
        let request = ApiRequest::new(ep::USERS_TOKENS_REVOKE, &[])?
            .json(&serde_json::json!({ "token_id": token_id }))?;
        self.client.send_unit(&request).await
    }
}

/// `GET /users` with filters
/// (<https://api.mattermost.com/#tag/users/operation/GetUsers>). Every filter set is sent,
/// `false` included.
#[derive(Debug, Clone)]
#[must_use = "call .stream() or .page()"]
pub struct UsersList {
    client: Client,
    filters: Vec<(&'static str, String)>,
    per_page: u32,
}

macro_rules! filters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {$(
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.filters.push((stringify!($name), value.to_string()));
            self
        }
    )*};
}

impl UsersList {
    filters! {
        /// Only members of this team.
        in_team: &TeamId;
        /// Only users outside this team.
        not_in_team: &TeamId;
        /// Only members of this channel.
        in_channel: &ChannelId;
        /// Only users outside this channel (needs `in_team`).
        not_in_channel: &ChannelId;
        /// Only members of this group.
        in_group: &str;
        /// Only users allowed by the group constraint.
        group_constrained: bool;
        /// Only users in no team.
        without_team: bool;
        /// Only active users.
        active: bool;
        /// Only deactivated users.
        inactive: bool;
        /// Only users with this system role.
        role: &str;
        /// `last_activity_at`, `create_at` or `status` (with a team or channel filter).
        sort: &str;
        /// Only users with one of these system roles (comma separated).
        roles: &str;
        /// Only users with one of these channel roles (comma separated).
        channel_roles: &str;
        /// Only users with one of these team roles (comma separated).
        team_roles: &str;
    }

    /// Users per page (1–200, default 200).
    ///
    /// API: <https://api.mattermost.com/#tag/users/operation/GetUsers>.
    pub fn per_page(mut self, per_page: u32) -> Self {
        self.per_page = per_page;
        self
    }

    fn request(filters: &[(&'static str, String)]) -> Result<ApiRequest> {
        let mut request = ApiRequest::new(ep::USERS_LIST, &[])?;
        for (key, value) in filters {
            request = request.query(key, value);
        }
        Ok(request)
    }

    /// One page (0-based).
    ///
    /// API: <https://api.mattermost.com/#tag/users/operation/GetUsers>.
    pub async fn page(self, page: u32) -> Result<Vec<User>> {
        let request = Self::request(&self.filters)?
            .query("page", &page)
            .query("per_page", &self.per_page);
        self.client.send_json(&request).await
    }

    /// Every matching user, one page in flight at a time.
    ///
    /// API: <https://api.mattermost.com/#tag/users/operation/GetUsers>.
    pub fn stream(self) -> ItemStream<User> {
        let filters = self.filters;
        paginate_list(self.client, self.per_page, move || Self::request(&filters))
    }
}
