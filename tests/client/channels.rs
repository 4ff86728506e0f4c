//! Channels.

use serde_json::json;
use switchboard::mattermost::endpoints as ep;
use switchboard::mattermost::models::{ChannelPatch, NewChannel, SchemeRoles};
use switchboard::mattermost::{ChannelId, TeamId, UserId};

use crate::call;
use crate::fixtures::*;
use crate::support::{Case, case, run};

fn ch(id: &str) -> ChannelId {
    ChannelId::new(id)
}
fn u(id: &str) -> UserId {
    UserId::new(id)
}

pub fn cases() -> Vec<Case> {
    vec![
        case(ep::CHANNELS_CREATE, "POST", "/api/v4/channels")
            .json(json!({"team_id": "team1", "name": "ops", "display_name": "Ops", "type": "P", "purpose": ""}))
            .respond(201, channel("chan9"))
            .call(call!(|c| {
                let mut new = NewChannel::private(TeamId::new("team1"), "ops", "Ops");
                new.purpose = Some(String::new());
                c.channels().create(&new).await?;
            })),
        case(ep::CHANNELS_DIRECT, "POST", "/api/v4/channels/direct")
            .json(json!(["user1", "user2"]))
            .respond(201, channel("dm1"))
            .call(call!(|c| { c.channels().direct(&u("user1"), &u("user2")).await?; })),
        case(ep::CHANNELS_GROUP, "POST", "/api/v4/channels/group")
            .json(json!(["user1", "user2", "user3"]))
            .respond(201, channel("gm1"))
            .call(call!(|c| { c.channels().group(&[u("user1"), u("user2"), u("user3")]).await?; })),
        case(ep::CHANNELS_GET, "GET", "/api/v4/channels/chan1")
            .respond(200, channel("chan1"))
            .call(call!(|c| { assert_eq!(c.channels().get(&ch("chan1")).await?.channel_type, "O"); })),
        case(ep::CHANNELS_UPDATE, "PUT", "/api/v4/channels/chan1")
            .json(channel("chan1"))
            .respond(200, channel("chan1"))
            .call(call!(|c| {
                let current: switchboard::mattermost::models::Channel = serde_json::from_value(channel("chan1")).unwrap();
                c.channels().update(&current).await?;
            })),
        case(ep::CHANNELS_PATCH, "PUT", "/api/v4/channels/chan1/patch")
            .json(json!({"header": ""}))
            .respond(200, channel("chan1"))
            .call(call!(|c| {
                let mut patch = ChannelPatch::default();
                patch.header = Some(String::new());
                c.channels().patch(&ch("chan1"), &patch).await?;
            })),
        case(ep::CHANNELS_DELETE, "DELETE", "/api/v4/channels/chan1")
            .call(call!(|c| { c.channels().delete(&ch("chan1")).await?; })),
        case(ep::CHANNELS_RESTORE, "POST", "/api/v4/channels/chan1/restore")
            .respond(200, channel("chan1"))
            .call(call!(|c| { c.channels().restore(&ch("chan1")).await?; })),
        case(ep::CHANNELS_PINNED, "GET", "/api/v4/channels/chan1/pinned")
            .respond(200, post_list(&["post1"]))
            .call(call!(|c| { assert_eq!(c.channels().pinned_posts(&ch("chan1")).await?.order.len(), 1); })),
        case(ep::CHANNELS_BY_NAME, "GET", "/api/v4/teams/team1/channels/name/town-square")
            .respond(200, channel("chan1"))
            .call(call!(|c| { c.channels().by_name(&TeamId::new("team1"), "town-square").await?; })),
        case(ep::CHANNELS_FOR_TEAM, "GET", "/api/v4/teams/team1/channels")
            .query(&[("page", "0"), ("per_page", "200")])
            .respond(200, json!([channel("chan1")]))
            .call(call!(|c| {
                use futures::TryStreamExt;
                let all: Vec<_> = c.channels().for_team(&TeamId::new("team1")).try_collect().await?;
                assert_eq!(all.len(), 1);
            })),
        case(ep::CHANNELS_BY_IDS, "POST", "/api/v4/teams/team1/channels/ids")
            .json(json!(["chan1", "chan2"]))
            .respond(200, json!([channel("chan1"), channel("chan2")]))
            .call(call!(|c| { c.channels().by_ids(&TeamId::new("team1"), &[ch("chan1"), ch("chan2")]).await?; })),
        case(ep::CHANNELS_SEARCH, "POST", "/api/v4/teams/team1/channels/search")
            .json(json!({"term": "town"}))
            .respond(201, json!([channel("chan1")]))
            .call(call!(|c| { c.channels().search(&TeamId::new("team1"), "town").await?; })),
        case(ep::CHANNELS_MEMBERS, "GET", "/api/v4/channels/chan1/members")
            .query(&[("page", "0"), ("per_page", "200")])
            .respond(200, json!([channel_member("chan1", "user1")]))
            .call(call!(|c| {
                use futures::TryStreamExt;
                let all: Vec<_> = c.channels().members(&ch("chan1")).try_collect().await?;
                assert_eq!(all[0].notify_props["mark_unread"], "all");
            })),
        case(ep::CHANNELS_ADD_MEMBER, "POST", "/api/v4/channels/chan1/members")
            .json(json!({"user_id": "user1"}))
            .respond(201, channel_member("chan1", "user1"))
            .call(call!(|c| { c.channels().add_member(&ch("chan1"), &u("user1")).await?; })),
        case(ep::CHANNELS_MEMBER, "GET", "/api/v4/channels/chan1/members/user1")
            .respond(200, channel_member("chan1", "user1"))
            .call(call!(|c| { c.channels().member(&ch("chan1"), &u("user1")).await?; })),
        case(ep::CHANNELS_REMOVE_MEMBER, "DELETE", "/api/v4/channels/chan1/members/user1")
            .call(call!(|c| { c.channels().remove_member(&ch("chan1"), &u("user1")).await?; })),
        case(ep::CHANNELS_MEMBER_SCHEME_ROLES, "PUT", "/api/v4/channels/chan1/members/user1/schemeRoles")
            .json(json!({"scheme_admin": true, "scheme_user": true}))
            .call(call!(|c| {
                let roles = SchemeRoles { scheme_admin: true, scheme_user: true };
                c.channels().update_member_scheme_roles(&ch("chan1"), &u("user1"), roles).await?;
            })),
        case(ep::CHANNELS_MEMBERS_FOR_USER, "GET", "/api/v4/users/user1/teams/team1/channels/members")
            .respond(200, json!([channel_member("chan1", "user1")]))
            .call(call!(|c| { c.channels().memberships_for_user(&u("user1"), &TeamId::new("team1")).await?; })),
        case(ep::CHANNELS_FOR_USER, "GET", "/api/v4/users/user1/teams/team1/channels")
            .respond(200, json!([channel("chan1")]))
            .call(call!(|c| { c.channels().for_user(&u("user1"), &TeamId::new("team1")).await?; })),
    ]
}

#[tokio::test]
async fn channel_requests_are_exact() {
    run(cases()).await;
}

#[tokio::test]
async fn by_name_including_deleted_sends_the_flag() {
    run(vec![
        case(
            ep::CHANNELS_BY_NAME,
            "GET",
            "/api/v4/teams/team1/channels/name/old",
        )
        .query(&[("include_deleted", "true")])
        .respond(200, channel("chan1"))
        .call(call!(|c| {
            c.channels()
                .by_name_including_deleted(&TeamId::new("team1"), "old")
                .await?;
        })),
    ])
    .await;
}
