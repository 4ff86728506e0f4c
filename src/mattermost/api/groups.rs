//! Groups: <https://api.mattermost.com/#tag/groups>.

use super::{handle, id_strs};
use crate::mattermost::endpoints as ep;
use crate::mattermost::models::{Group, GroupMember, GroupMembers, User};
use crate::mattermost::pagination::{DEFAULT_PER_PAGE, MAX_PER_PAGE, paginate, paginate_list};
use crate::mattermost::{
    ApiRequest, ChannelId, Client, GroupId, ItemStream, Result, TeamId, UserId,
};

handle! {
    /// Handle for group calls; see [`Client::groups`](crate::mattermost::Client::groups).
    Groups
}

impl<'c> Groups<'c> {
    /// Lists groups with filters; see [`GroupsList`]. `GET /groups`
    /// (<https://api.mattermost.com/#tag/groups/operation/GetGroups>).
    ///
    /// ```no_run
    /// # async fn demo(client: switchboard::mattermost::Client, team: switchboard::mattermost::TeamId) -> Result<(), switchboard::mattermost::Error> {
    /// use futures::TryStreamExt;
    /// let groups: Vec<_> = client
    ///     .groups()
    ///     .list()
    ///     .q("dev")
    ///     .not_associated_to_team(&team)
    ///     .include_member_count(true)
    ///     .stream()
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> GroupsList {
        GroupsList {
            client: self.client.clone(),
            filters: Vec::new(),
            per_page: DEFAULT_PER_PAGE,
        }
    }

    /// A group's members, page by page. `GET /groups/{group_id}/members`
    /// (<https://api.mattermost.com/#tag/groups/operation/GetGroupUsers>).
    pub fn members(&self, group_id: &GroupId) -> ItemStream<User> {
        let group_id = group_id.clone();
        paginate::<GroupMembers, User, _, _>(
            self.client.clone(),
            DEFAULT_PER_PAGE,
            move || ApiRequest::new(ep::GROUPS_MEMBERS, &[group_id.as_str()]),
            |page| page.members,
        )
    }

    /// Adds users to a custom group. `POST /groups/{group_id}/members`
    /// (<https://api.mattermost.com/#tag/groups/operation/AddGroupMembers>).
    pub async fn add_members(
        &self,
        group_id: &GroupId,
        user_ids: &[UserId],
    ) -> Result<Vec<GroupMember>> {
        let request = ApiRequest::new(ep::GROUPS_ADD_MEMBERS, &[group_id.as_str()])?
            .json(&serde_json::json!({ "user_ids": id_strs(user_ids) }))?;
        self.client.send_json(&request).await
    }

    /// Removes users from a custom group (a DELETE with a JSON body).
    /// `DELETE /groups/{group_id}/members`
    /// (<https://api.mattermost.com/#tag/groups/operation/DeleteGroupMembers>).
    pub async fn remove_members(
        &self,
        group_id: &GroupId,
        user_ids: &[UserId],
    ) -> Result<Vec<GroupMember>> {
        let request = ApiRequest::new(ep::GROUPS_REMOVE_MEMBERS, &[group_id.as_str()])?
            .json(&serde_json::json!({ "user_ids": id_strs(user_ids) }))?;
        self.client.send_json(&request).await
    }
}

/// `GET /groups` with the filters of the API reference
/// (<https://api.mattermost.com/#tag/groups/operation/GetGroups>). Every filter set is sent,
/// `false` included; unset ones are left to the server's defaults.
#[derive(Debug, Clone)]
#[must_use = "call .stream() or .page()"]
pub struct GroupsList {
    client: Client,
    filters: Vec<(&'static str, String)>,
    per_page: u32,
}

impl GroupsList {
    fn filter(mut self, key: &'static str, value: &(impl ToString + ?Sized)) -> Self {
        self.filters.push((key, value.to_string()));
        self
    }

    /// Only groups whose `name` or `display_name` matches this text.
    ///
    /// API: <https://api.mattermost.com/#tag/groups/operation/GetGroups>.
    pub fn q(self, q: &str) -> Self {
        self.filter("q", q)
    }

    /// Adds `member_count` to each group.
    ///
    /// API: <https://api.mattermost.com/#tag/groups/operation/GetGroups>.
    pub fn include_member_count(self, include: bool) -> Self {
        self.filter("include_member_count", &include)
    }

    /// Only groups not associated to this team (needs permission to manage the team).
    ///
    /// API: <https://api.mattermost.com/#tag/groups/operation/GetGroups>.
    pub fn not_associated_to_team(self, team_id: &TeamId) -> Self {
        self.filter("not_associated_to_team", team_id)
    }

    /// Only groups not associated to this channel (needs permission to manage the channel).
    ///
    /// API: <https://api.mattermost.com/#tag/groups/operation/GetGroups>.
    pub fn not_associated_to_channel(self, channel_id: &ChannelId) -> Self {
        self.filter("not_associated_to_channel", channel_id)
    }

    /// Only groups changed (created and deleted included) since this time, in milliseconds
    /// since the Unix epoch (server 5.24+).
    ///
    /// API: <https://api.mattermost.com/#tag/groups/operation/GetGroups>.
    pub fn since(self, millis: i64) -> Self {
        self.filter("since", &millis)
    }

    /// Only groups that can be @-mentioned (`allow_reference`).
    ///
    /// API: <https://api.mattermost.com/#tag/groups/operation/GetGroups>.
    pub fn filter_allow_reference(self, only_referenceable: bool) -> Self {
        self.filter("filter_allow_reference", &only_referenceable)
    }

    /// Groups per page (1–200, default 200).
    ///
    /// API: <https://api.mattermost.com/#tag/groups/operation/GetGroups>.
    pub fn per_page(mut self, per_page: u32) -> Self {
        self.per_page = per_page;
        self
    }

    fn request(filters: &[(&'static str, String)]) -> Result<ApiRequest> {
        let mut request = ApiRequest::new(ep::GROUPS_LIST, &[])?;
        for (key, value) in filters {
            request = request.query(key, value);
        }
        Ok(request)
    }

    /// One page (0-based).
    ///
    /// API: <https://api.mattermost.com/#tag/groups/operation/GetGroups>.
    pub async fn page(self, page: u32) -> Result<Vec<Group>> {
        let per_page = self.per_page.clamp(1, MAX_PER_PAGE);
        let request = Self::request(&self.filters)?
            .query("page", &page)
            .query("per_page", &per_page);
        self.client.send_json(&request).await
    }

    /// Every matching group, one page in flight at a time.
    ///
    /// API: <https://api.mattermost.com/#tag/groups/operation/GetGroups>.
    pub fn stream(self) -> ItemStream<Group> {
        let filters = self.filters;
        paginate_list(self.client, self.per_page, move || Self::request(&filters))
    }
}
