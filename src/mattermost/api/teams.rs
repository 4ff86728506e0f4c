//! Teams: <https://api.mattermost.com/#tag/teams>.

use serde::Serialize;

use super::handle;
use crate::mattermost::endpoints as ep;
use crate::mattermost::models::{
    NewTeam, SchemeRoles, Team, TeamMember, TeamPatch, TeamSearchResults, TeamStats, TeamsWithCount,
};
use crate::mattermost::pagination::{DEFAULT_PER_PAGE, paginate_list};
use crate::mattermost::{ApiRequest, ChannelId, ItemStream, Result, TeamId, UserId};

handle! {
    /// Handle for team calls; see [`Client::teams`](crate::mattermost::Client::teams).
    Teams
}

impl<'c> Teams<'c> {
    /// Every team the token may see, page by page. `GET /teams`
    /// (<https://api.mattermost.com/#tag/teams/operation/GetAllTeams>).
    pub fn list(&self) -> ItemStream<Team> {
        paginate_list(self.client.clone(), DEFAULT_PER_PAGE, || {
            ApiRequest::new(ep::TEAMS_LIST, &[])
        })
    }

    /// One page of teams with the total count (`include_total_count=true`, which changes the
    /// answer's shape; this is a single page, never a loop). `GET /teams`
    /// (<https://api.mattermost.com/#tag/teams/operation/GetAllTeams>).
    pub async fn list_with_total_count(&self, page: u32, per_page: u32) -> Result<TeamsWithCount> {
        let request = ApiRequest::new(ep::TEAMS_LIST, &[])?
            .query("page", &page)
            .query("per_page", &per_page)
            .query("include_total_count", &true);
        self.client.send_json(&request).await
    }

    /// Creates a team. `POST /teams`
    /// (<https://api.mattermost.com/#tag/teams/operation/CreateTeam>).
    pub async fn create(&self, team: &NewTeam) -> Result<Team> {
        self.client
            .send_json(&ApiRequest::new(ep::TEAMS_CREATE, &[])?.json(team)?)
            .await
    }

    /// A team by id. `GET /teams/{team_id}`
    /// (<https://api.mattermost.com/#tag/teams/operation/GetTeam>).
    pub async fn get(&self, team_id: &TeamId) -> Result<Team> {
        self.client
            .send_json(&ApiRequest::new(ep::TEAMS_GET, &[team_id.as_str()])?)
            .await
    }

    /// A team by its URL name. `GET /teams/name/{name}`
    /// (<https://api.mattermost.com/#tag/teams/operation/GetTeamByName>).
    pub async fn by_name(&self, name: &str) -> Result<Team> {
        self.client
            .send_json(&ApiRequest::new(ep::TEAMS_BY_NAME, &[name])?)
            .await
    }

    /// The teams a user belongs to; pass `None` for the token's own user.
    /// `GET /users/{user_id}/teams`
    /// (<https://api.mattermost.com/#tag/teams/operation/GetTeamsForUser>).
    pub async fn for_user(&self, user_id: Option<&UserId>) -> Result<Vec<Team>> {
        let user = user_id.map_or("me", UserId::as_str);
        self.client
            .send_json(&ApiRequest::new(ep::TEAMS_FOR_USER, &[user])?)
            .await
    }

    /// Changes the fields set in `patch`. `PUT /teams/{team_id}/patch`
    /// (<https://api.mattermost.com/#tag/teams/operation/PatchTeam>).
    pub async fn patch(&self, team_id: &TeamId, patch: &TeamPatch) -> Result<Team> {
        let request = ApiRequest::new(ep::TEAMS_PATCH, &[team_id.as_str()])?.json(patch)?;
        self.client.send_json(&request).await
    }

    /// Archives a team, or deletes it for good with `permanent` (needs
    /// `ServiceSettings.EnableAPITeamDeletion`). `DELETE /teams/{team_id}?permanent=`
    /// (<https://api.mattermost.com/#tag/teams/operation/SoftDeleteTeam>).
    pub async fn delete(&self, team_id: &TeamId, permanent: bool) -> Result<()> {
        let request =
            ApiRequest::new(ep::TEAMS_DELETE, &[team_id.as_str()])?.query("permanent", &permanent);
        self.client.send_unit(&request).await
    }

    /// Restores an archived team. `POST /teams/{team_id}/restore`
    /// (<https://api.mattermost.com/#tag/teams/operation/RestoreTeam>).
    pub async fn restore(&self, team_id: &TeamId) -> Result<Team> {
        self.client
            .send_json(&ApiRequest::new(ep::TEAMS_RESTORE, &[team_id.as_str()])?)
            .await
    }

    /// Searches teams by name. `POST /teams/search`
    /// (<https://api.mattermost.com/#tag/teams/operation/SearchTeams>).
    pub async fn search(&self, term: &str) -> Result<Vec<Team>> {
        let request =
            ApiRequest::new(ep::TEAMS_SEARCH, &[])?.json(&serde_json::json!({ "term": term }))?;
        Ok(match self.client.send_json(&request).await? {
            TeamSearchResults::Paged { teams, .. } | TeamSearchResults::All(teams) => teams,
        })
    }

    /// Member counts. `GET /teams/{team_id}/stats`
    /// (<https://api.mattermost.com/#tag/teams/operation/GetTeamStats>).
    pub async fn stats(&self, team_id: &TeamId) -> Result<TeamStats> {
        self.client
            .send_json(&ApiRequest::new(ep::TEAMS_STATS, &[team_id.as_str()])?)
            .await
    }

    /// A team's members, page by page. `GET /teams/{team_id}/members`
    /// (<https://api.mattermost.com/#tag/teams/operation/GetTeamMembers>).
    pub fn members(&self, team_id: &TeamId) -> ItemStream<TeamMember> {
        let team_id = team_id.clone();
        paginate_list(self.client.clone(), DEFAULT_PER_PAGE, move || {
            ApiRequest::new(ep::TEAMS_MEMBERS, &[team_id.as_str()])
        })
    }

    /// Adds a user to a team. `POST /teams/{team_id}/members`
    /// (<https://api.mattermost.com/#tag/teams/operation/AddTeamMember>).
    pub async fn add_member(&self, team_id: &TeamId, user_id: &UserId) -> Result<TeamMember> {
        let request = ApiRequest::new(ep::TEAMS_ADD_MEMBER, &[team_id.as_str()])?
            .json(&serde_json::json!({ "team_id": team_id, "user_id": user_id }))?;
        self.client.send_json(&request).await
    }

    /// One membership. `GET /teams/{team_id}/members/{user_id}`
    /// (<https://api.mattermost.com/#tag/teams/operation/GetTeamMember>).
    pub async fn member(&self, team_id: &TeamId, user_id: &UserId) -> Result<TeamMember> {
        self.client
            .send_json(&ApiRequest::new(
                ep::TEAMS_MEMBER,
                &[team_id.as_str(), user_id.as_str()],
            )?)
            .await
    }

    /// Removes a user from a team. `DELETE /teams/{team_id}/members/{user_id}`
    /// (<https://api.mattermost.com/#tag/teams/operation/RemoveTeamMember>).
    pub async fn remove_member(&self, team_id: &TeamId, user_id: &UserId) -> Result<()> {
        self.client
            .send_unit(&ApiRequest::new(
                ep::TEAMS_REMOVE_MEMBER,
                &[team_id.as_str(), user_id.as_str()],
            )?)
            .await
    }

    /// Sets a member's scheme roles. `PUT /teams/{team_id}/members/{user_id}/schemeRoles`
    /// (<https://api.mattermost.com/#tag/teams/operation/UpdateTeamMemberSchemeRoles>).
    pub async fn update_member_scheme_roles(
        &self,
        team_id: &TeamId,
        user_id: &UserId,
        roles: SchemeRoles,
    ) -> Result<()> {
        let request = ApiRequest::new(
            ep::TEAMS_MEMBER_SCHEME_ROLES,
            &[team_id.as_str(), user_id.as_str()],
        )?
        .json(&roles)?;
        self.client.send_unit(&request).await
    }

    /// Invites guests by email into some of the team's channels.
    /// `POST /teams/{team_id}/invite-guests/email`
    /// (<https://api.mattermost.com/#tag/teams/operation/InviteGuestsToTeam>).
    pub async fn invite_guests(
        &self,
        team_id: &TeamId,
        emails: &[&str],
        channels: &[ChannelId],
        message: Option<&str>,
    ) -> Result<()> {
        #[derive(Serialize)]
        struct Body<'a> {
            emails: &'a [&'a str],
            channels: &'a [ChannelId],
            #[serde(skip_serializing_if = "Option::is_none")]
            message: Option<&'a str>,
        }
        let request =
            ApiRequest::new(ep::TEAMS_INVITE_GUESTS, &[team_id.as_str()])?.json(&Body {
                emails,
                channels,
                message,
            })?;
        self.client.send_unit(&request).await
    }
}
