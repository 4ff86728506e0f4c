//! Teams: <https://api.mattermost.com/#tag/teams>.

use crate::mattermost::endpoints as ep;
use crate::mattermost::models::Team;
use crate::mattermost::{ApiRequest, Client, Result, TeamId, UserId};

/// Handle for team calls; see [`Client::teams`].
#[derive(Debug, Clone, Copy)]
pub struct Teams<'c> {
    client: &'c Client,
}

impl<'c> Teams<'c> {
    pub(super) fn new(client: &'c Client) -> Self {
        Teams { client }
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
}
