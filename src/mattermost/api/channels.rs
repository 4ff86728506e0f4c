//! Channels: <https://api.mattermost.com/#tag/channels>.

use super::{handle, id_strs};
use crate::mattermost::endpoints as ep;
use crate::mattermost::models::{
    Channel, ChannelMember, ChannelPatch, NewChannel, PostList, SchemeRoles,
};
use crate::mattermost::pagination::{DEFAULT_PER_PAGE, paginate_list};
use crate::mattermost::{ApiRequest, ChannelId, Error, ItemStream, Result, TeamId, UserId};

handle! {
    /// Handle for channel calls; see [`Client::channels`](crate::mattermost::Client::channels).
    Channels
}

impl<'c> Channels<'c> {
    /// Creates an open or private channel. `POST /channels`
    /// (<https://api.mattermost.com/#tag/channels/operation/CreateChannel>).
    pub async fn create(&self, channel: &NewChannel) -> Result<Channel> {
        self.client
            .send_json(&ApiRequest::new(ep::CHANNELS_CREATE, &[])?.json(channel)?)
            .await
    }

    /// The direct channel between two users (created if needed). `POST /channels/direct`
    /// (<https://api.mattermost.com/#tag/channels/operation/CreateDirectChannel>).
    pub async fn direct(&self, user_a: &UserId, user_b: &UserId) -> Result<Channel> {
        let request =
            ApiRequest::new(ep::CHANNELS_DIRECT, &[])?.json(&[user_a.as_str(), user_b.as_str()])?;
        self.client.send_json(&request).await
    }

    /// The group channel of 3–8 users (created if needed). `POST /channels/group`
    /// (<https://api.mattermost.com/#tag/channels/operation/CreateGroupChannel>).
    pub async fn group(&self, user_ids: &[UserId]) -> Result<Channel> {
        let request = ApiRequest::new(ep::CHANNELS_GROUP, &[])?.json(&id_strs(user_ids))?;
        self.client.send_json(&request).await
    }

    /// A channel by id. `GET /channels/{channel_id}`
    /// (<https://api.mattermost.com/#tag/channels/operation/GetChannel>).
    pub async fn get(&self, channel_id: &ChannelId) -> Result<Channel> {
        self.client
            .send_json(&ApiRequest::new(ep::CHANNELS_GET, &[channel_id.as_str()])?)
            .await
    }

    /// Replaces a channel's editable fields with `channel`'s. `PUT /channels/{channel_id}`
    /// (<https://api.mattermost.com/#tag/channels/operation/UpdateChannel>).
    pub async fn update(&self, channel: &Channel) -> Result<Channel> {
        let request =
            ApiRequest::new(ep::CHANNELS_UPDATE, &[channel.id.as_str()])?.json(channel)?;
        self.client.send_json(&request).await
    }

    /// Changes the fields set in `patch`. `PUT /channels/{channel_id}/patch`
    /// (<https://api.mattermost.com/#tag/channels/operation/PatchChannel>).
    pub async fn patch(&self, channel_id: &ChannelId, patch: &ChannelPatch) -> Result<Channel> {
        let request = ApiRequest::new(ep::CHANNELS_PATCH, &[channel_id.as_str()])?.json(patch)?;
        self.client.send_json(&request).await
    }

    /// Archives a channel. `DELETE /channels/{channel_id}`
    /// (<https://api.mattermost.com/#tag/channels/operation/DeleteChannel>).
    pub async fn delete(&self, channel_id: &ChannelId) -> Result<()> {
        self.client
            .send_unit(&ApiRequest::new(
                ep::CHANNELS_DELETE,
                &[channel_id.as_str()],
            )?)
            .await
    }

    /// Restores an archived channel. `POST /channels/{channel_id}/restore`
    /// (<https://api.mattermost.com/#tag/channels/operation/RestoreChannel>).
    pub async fn restore(&self, channel_id: &ChannelId) -> Result<Channel> {
        self.client
            .send_json(&ApiRequest::new(
                ep::CHANNELS_RESTORE,
                &[channel_id.as_str()],
            )?)
            .await
    }

    /// The pinned posts of a channel. `GET /channels/{channel_id}/pinned`
    /// (<https://api.mattermost.com/#tag/channels/operation/GetPinnedPosts>).
    pub async fn pinned_posts(&self, channel_id: &ChannelId) -> Result<PostList> {
        self.client
            .send_json(&ApiRequest::new(
                ep::CHANNELS_PINNED,
                &[channel_id.as_str()],
            )?)
            .await
    }

    /// A channel by team and URL name. `GET /teams/{team_id}/channels/name/{channel_name}`
    /// (<https://api.mattermost.com/#tag/channels/operation/GetChannelByName>).
    pub async fn by_name(&self, team_id: &TeamId, name: &str) -> Result<Channel> {
        self.client
            .send_json(&ApiRequest::new(
                ep::CHANNELS_BY_NAME,
                &[team_id.as_str(), name],
            )?)
            .await
    }

    /// Like [`by_name`](Self::by_name), also finding archived channels
    /// (`include_deleted=true`).
    ///
    /// API: <https://api.mattermost.com/#tag/channels/operation/GetChannelByName>.
    pub async fn by_name_including_deleted(&self, team_id: &TeamId, name: &str) -> Result<Channel> {
        let request = ApiRequest::new(ep::CHANNELS_BY_NAME, &[team_id.as_str(), name])?
            .query("include_deleted", &true);
        self.client.send_json(&request).await
    }

    /// A team's public channels, page by page. `GET /teams/{team_id}/channels`
    /// (<https://api.mattermost.com/#tag/channels/operation/GetPublicChannelsForTeam>).
    pub fn for_team(&self, team_id: &TeamId) -> ItemStream<Channel> {
        let team_id = team_id.clone();
        paginate_list(self.client.clone(), DEFAULT_PER_PAGE, move || {
            ApiRequest::new(ep::CHANNELS_FOR_TEAM, &[team_id.as_str()])
        })
    }

    /// Public channels of a team by id. `POST /teams/{team_id}/channels/ids`
    /// (<https://api.mattermost.com/#tag/channels/operation/GetPublicChannelsByIdsForTeam>).
    pub async fn by_ids(
        &self,
        team_id: &TeamId,
        channel_ids: &[ChannelId],
    ) -> Result<Vec<Channel>> {
        let request = ApiRequest::new(ep::CHANNELS_BY_IDS, &[team_id.as_str()])?
            .json(&id_strs(channel_ids))?;
        self.client.send_json(&request).await
    }

    /// Searches a team's public channels. `POST /teams/{team_id}/channels/search`
    /// (<https://api.mattermost.com/#tag/channels/operation/SearchChannels>).
    pub async fn search(&self, team_id: &TeamId, term: &str) -> Result<Vec<Channel>> {
        let request = ApiRequest::new(ep::CHANNELS_SEARCH, &[team_id.as_str()])?
            .json(&serde_json::json!({ "term": term }))?;
        self.client.send_json(&request).await
    }

    /// A channel's members, page by page. `GET /channels/{channel_id}/members`
    /// (<https://api.mattermost.com/#tag/channels/operation/GetChannelMembers>).
    pub fn members(&self, channel_id: &ChannelId) -> ItemStream<ChannelMember> {
        let channel_id = channel_id.clone();
        paginate_list(self.client.clone(), DEFAULT_PER_PAGE, move || {
            ApiRequest::new(ep::CHANNELS_MEMBERS, &[channel_id.as_str()])
        })
    }

    /// Adds a user to a channel. `POST /channels/{channel_id}/members`
    /// (<https://api.mattermost.com/#tag/channels/operation/AddChannelMember>).
    pub async fn add_member(
        &self,
        channel_id: &ChannelId,
        user_id: &UserId,
    ) -> Result<ChannelMember> {
        if user_id.as_str().is_empty() {
            return Err(Error::invalid("user_id must not be empty"));
        }
        let request = ApiRequest::new(ep::CHANNELS_ADD_MEMBER, &[channel_id.as_str()])?
            .json(&serde_json::json!({ "user_id": user_id }))?;
        self.client.send_json(&request).await
    }

    /// One membership. `GET /channels/{channel_id}/members/{user_id}`
    /// (<https://api.mattermost.com/#tag/channels/operation/GetChannelMember>).
    pub async fn member(&self, channel_id: &ChannelId, user_id: &UserId) -> Result<ChannelMember> {
        self.client
            .send_json(&ApiRequest::new(
                ep::CHANNELS_MEMBER,
                &[channel_id.as_str(), user_id.as_str()],
            )?)
            .await
    }

    /// Removes a user from a channel. `DELETE /channels/{channel_id}/members/{user_id}`
    /// (<https://api.mattermost.com/#tag/channels/operation/RemoveUserFromChannel>).
    pub async fn remove_member(&self, channel_id: &ChannelId, user_id: &UserId) -> Result<()> {
        self.client
            .send_unit(&ApiRequest::new(
                ep::CHANNELS_REMOVE_MEMBER,
                &[channel_id.as_str(), user_id.as_str()],
            )?)
            .await
    }

    /// Sets a member's scheme roles. `PUT /channels/{channel_id}/members/{user_id}/schemeRoles`
    /// (<https://api.mattermost.com/#tag/channels/operation/UpdateChannelMemberSchemeRoles>).
    pub async fn update_member_scheme_roles(
        &self,
        channel_id: &ChannelId,
        user_id: &UserId,
        roles: SchemeRoles,
    ) -> Result<()> {
        let request = ApiRequest::new(
            ep::CHANNELS_MEMBER_SCHEME_ROLES,
            &[channel_id.as_str(), user_id.as_str()],
        )?
        .json(&roles)?;
        self.client.send_unit(&request).await
    }

    /// A user's channel memberships in a team.
    /// `GET /users/{user_id}/teams/{team_id}/channels/members`
    /// (<https://api.mattermost.com/#tag/channels/operation/GetChannelMembersForUser>).
    pub async fn memberships_for_user(
        &self,
        user_id: &UserId,
        team_id: &TeamId,
    ) -> Result<Vec<ChannelMember>> {
        self.client
            .send_json(&ApiRequest::new(
                ep::CHANNELS_MEMBERS_FOR_USER,
                &[user_id.as_str(), team_id.as_str()],
            )?)
            .await
    }

    /// The channels a user belongs to in a team. `GET /users/{user_id}/teams/{team_id}/channels`
    /// (<https://api.mattermost.com/#tag/channels/operation/GetChannelsForTeamForUser>).
    pub async fn for_user(&self, user_id: &UserId, team_id: &TeamId) -> Result<Vec<Channel>> {
        self.client
            .send_json(&ApiRequest::new(
                ep::CHANNELS_FOR_USER,
                &[user_id.as_str(), team_id.as_str()],
            )?)
            .await
    }
}
