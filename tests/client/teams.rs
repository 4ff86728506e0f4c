//! Teams.

use serde_json::json;
use switchboard::mattermost::endpoints as ep;
use switchboard::mattermost::models::{NewTeam, SchemeRoles, TeamPatch};
use switchboard::mattermost::{ChannelId, TeamId, UserId};

use crate::call;
use crate::fixtures::*;
use crate::support::{Case, case, run};

fn t(id: &str) -> TeamId {
    TeamId::new(id)
}

pub fn cases() -> Vec<Case> {
    vec![
        case(ep::TEAMS_LIST, "GET", "/api/v4/teams")
            .query(&[("page", "0"), ("per_page", "200")])
            .respond(200, json!([team("team1"), team("team2")]))
            .call(call!(|c| {
                use futures::TryStreamExt;
                let teams: Vec<_> = c.teams().list().try_collect().await?;
                assert_eq!(teams.len(), 2);
            })),
        case(ep::TEAMS_CREATE, "POST", "/api/v4/teams")
            .json(json!({"name": "eng", "display_name": "Engineering", "type": "O"}))
            .respond(201, team("team1"))
            .call(call!(|c| {
                c.teams()
                    .create(&NewTeam::new("eng", "Engineering", "O"))
                    .await?;
            })),
        case(ep::TEAMS_GET, "GET", "/api/v4/teams/team1")
            .respond(200, team("team1"))
            .call(call!(|c| {
                assert_eq!(c.teams().get(&t("team1")).await?.name, "eng");
            })),
        case(ep::TEAMS_BY_NAME, "GET", "/api/v4/teams/name/eng")
            .respond(200, team("team1"))
            .call(call!(|c| {
                c.teams().by_name("eng").await?;
            })),
        case(ep::TEAMS_FOR_USER, "GET", "/api/v4/users/me/teams")
            .respond(200, json!([team("team1")]))
            .call(call!(|c| {
                c.teams().for_user(None).await?;
            })),
        case(ep::TEAMS_PATCH, "PUT", "/api/v4/teams/team1/patch")
            .json(json!({"allow_open_invite": false, "description": ""}))
            .respond(200, team("team1"))
            .call(call!(|c| {
                let mut patch = TeamPatch::default();
                patch.allow_open_invite = Some(false);
                patch.description = Some(String::new());
                c.teams().patch(&t("team1"), &patch).await?;
            })),
        case(ep::TEAMS_DELETE, "DELETE", "/api/v4/teams/team1")
            .query(&[("permanent", "false")])
            .call(call!(|c| {
                c.teams().delete(&t("team1"), false).await?;
            })),
        case(ep::TEAMS_RESTORE, "POST", "/api/v4/teams/team1/restore")
            .respond(200, team("team1"))
            .call(call!(|c| {
                c.teams().restore(&t("team1")).await?;
            })),
        case(ep::TEAMS_SEARCH, "POST", "/api/v4/teams/search")
            .json(json!({"term": "en"}))
            .respond(200, json!([team("team1")]))
            .call(call!(|c| {
                assert_eq!(c.teams().search("en").await?.len(), 1);
            })),
        case(ep::TEAMS_STATS, "GET", "/api/v4/teams/team1/stats")
            .respond(
                200,
                json!({"team_id": "team1", "total_member_count": 42, "active_member_count": 40}),
            )
            .call(call!(|c| {
                assert_eq!(c.teams().stats(&t("team1")).await?.total_member_count, 42);
            })),
        case(ep::TEAMS_MEMBERS, "GET", "/api/v4/teams/team1/members")
            .query(&[("page", "0"), ("per_page", "200")])
            .respond(200, json!([team_member("team1", "user1")]))
            .call(call!(|c| {
                use futures::TryStreamExt;
                let m: Vec<_> = c.teams().members(&t("team1")).try_collect().await?;
                assert!(m[0].scheme_user);
            })),
        case(ep::TEAMS_ADD_MEMBER, "POST", "/api/v4/teams/team1/members")
            .json(json!({"team_id": "team1", "user_id": "user1"}))
            .respond(201, team_member("team1", "user1"))
            .call(call!(|c| {
                c.teams()
                    .add_member(&t("team1"), &UserId::new("user1"))
                    .await?;
            })),
        case(ep::TEAMS_MEMBER, "GET", "/api/v4/teams/team1/members/user1")
            .respond(200, team_member("team1", "user1"))
            .call(call!(|c| {
                c.teams().member(&t("team1"), &UserId::new("user1")).await?;
            })),
        case(
            ep::TEAMS_REMOVE_MEMBER,
            "DELETE",
            "/api/v4/teams/team1/members/user1",
        )
        .call(call!(|c| {
            c.teams()
                .remove_member(&t("team1"), &UserId::new("user1"))
                .await?;
        })),
        case(
            ep::TEAMS_MEMBER_SCHEME_ROLES,
            "PUT",
            "/api/v4/teams/team1/members/user1/schemeRoles",
        )
        .json(json!({"scheme_admin": false, "scheme_user": true}))
        .call(call!(|c| {
            let roles = SchemeRoles {
                scheme_admin: false,
                scheme_user: true,
            };
            c.teams()
                .update_member_scheme_roles(&t("team1"), &UserId::new("user1"), roles)
                .await?;
        })),
        case(
            ep::TEAMS_INVITE_GUESTS,
            "POST",
            "/api/v4/teams/team1/invite-guests/email",
        )
        .json(json!({"emails": ["g@example.com"], "channels": ["chan1"], "message": "welcome"}))
        .call(call!(|c| {
            c.teams()
                .invite_guests(
                    &t("team1"),
                    &["g@example.com"],
                    &[ChannelId::new("chan1")],
                    Some("welcome"),
                )
                .await?;
        })),
    ]
}

#[tokio::test]
async fn team_requests_are_exact() {
    run(cases()).await;
}

#[tokio::test]
async fn list_with_total_count_is_one_request_not_a_loop() {
    run(vec![
        case(ep::TEAMS_LIST, "GET", "/api/v4/teams")
            .query(&[
                ("page", "0"),
                ("per_page", "60"),
                ("include_total_count", "true"),
            ])
            .respond(200, json!({"teams": [team("team1")], "total_count": 1}))
            .call(call!(|c| {
                let page = c.teams().list_with_total_count(0, 60).await?;
                assert_eq!(page.total_count, 1);
            })),
    ])
    .await;
}
