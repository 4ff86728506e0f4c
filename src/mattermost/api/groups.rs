//! Groups: <https://api.mattermost.com/#tag/groups>.

use super::{handle, id_strs};
use crate::mattermost::endpoints as ep;
use crate::mattermost::models::{Group, GroupMember, GroupMembers, User};
use crate::mattermost::pagination::{DEFAULT_PER_PAGE, paginate, paginate_list};
use crate::mattermost::{ApiRequest, GroupId, ItemStream, Result, UserId};

handle! {
    /// Handle for group calls; see [`Client::groups`](crate::mattermost::Client::groups).
    Groups
}

impl<'c> Groups<'c> {
    /// Groups, optionally matching `q`, page by page. `GET /groups`
    /// (<https://api.mattermost.com/#tag/groups/operation/GetGroups>).
    pub fn list(&self, q: Option<&str>) -> ItemStream<Group> {
        let q = q.map(str::to_owned);
        paginate_list(self.client.clone(), DEFAULT_PER_PAGE, move || {
            Ok(ApiRequest::new(ep::GROUPS_LIST, &[])?.query_opt("q", q.as_deref()))
        })
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
