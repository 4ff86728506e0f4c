//! Users, status, preferences, login.

use secrecy::SecretString;
use serde_json::json;
use switchboard::mattermost::endpoints as ep;
use switchboard::mattermost::models::{CustomStatus, NewUser, Preference, UserPatch, UserSearch};
use switchboard::mattermost::{ChannelId, SessionId, TeamId, UserId};

use crate::call;
use crate::fixtures::*;
use crate::support::{Case, case, run};

fn u(id: &str) -> UserId {
    UserId::new(id)
}

pub fn cases() -> Vec<Case> {
    vec![
        case(ep::USERS_LOGIN, "POST", "/api/v4/users/login")
            .json(json!({"login_id": "ada", "password": "pw", "token": "123456"}))
            .respond(201, user("user1"))
            .response_header("Token", "session-token-xyz")
            .call(call!(|c| {
                use secrecy::ExposeSecret;
                let pw = SecretString::from("pw".to_owned());
                let logged = c.users().login("ada", &pw, Some("123456")).await?;
                assert_eq!(logged.token.expose_secret(), "session-token-xyz");
                assert!(!format!("{logged:?}").contains("session-token-xyz"));
                let _session_client = c.with_token(&logged.token)?;
            })),
        case(ep::USERS_LOGOUT, "POST", "/api/v4/users/logout")
            .respond(201, ok())
            .call(call!(|c| { c.users().logout().await?; })),
        case(ep::USERS_CREATE, "POST", "/api/v4/users")
            .json(json!({"email": "a@example.com", "username": "ada", "password": "pw", "first_name": ""}))
            .respond(201, user("user9"))
            .call(call!(|c| {
                let mut new = NewUser::default();
                new.email = "a@example.com".into();
                new.username = "ada".into();
                new.password = Some("pw".into());
                new.first_name = Some(String::new());
                assert_eq!(c.users().create(&new).await?.id, *"user9");
            })),
        case(ep::USERS_LIST, "GET", "/api/v4/users")
            .query(&[("in_team", "team1"), ("not_in_channel", "chan1"), ("without_team", "false"),
                     ("sort", "last_activity_at"), ("active", "true"), ("page", "2"), ("per_page", "50")])
            .respond(200, json!([user("user1"), user("user2")]))
            .call(call!(|c| {
                let users = c.users().list().in_team(&TeamId::new("team1"))
                    .not_in_channel(&ChannelId::new("chan1")).without_team(false)
                    .sort("last_activity_at").active(true).per_page(50).page(2).await?;
                assert_eq!(users.len(), 2);
                assert_eq!(users[0].extra["timezone"]["automaticTimezone"], "Europe/London");
            })),
        case(ep::USERS_BY_IDS, "POST", "/api/v4/users/ids")
            .json(json!(["user1", "user2"]))
            .respond(200, json!([user("user1"), user("user2")]))
            .call(call!(|c| { assert_eq!(c.users().by_ids(&[u("user1"), u("user2")]).await?.len(), 2); })),
        case(ep::USERS_BY_GROUP_CHANNEL_IDS, "POST", "/api/v4/users/group_channels")
            .json(json!(["gc1"]))
            .respond(200, json!({"gc1": [user("user1"), user("user2"), user("user3")]}))
            .call(call!(|c| {
                let map = c.users().by_group_channel_ids(&[ChannelId::new("gc1")]).await?;
                assert_eq!(map[&ChannelId::new("gc1")].len(), 3);
            })),
        case(ep::USERS_BY_USERNAMES, "POST", "/api/v4/users/usernames")
            .json(json!(["ada", "grace"]))
            .respond(200, json!([user("user1")]))
            .call(call!(|c| { c.users().by_usernames(&["ada", "grace"]).await?; })),
        case(ep::USERS_SEARCH, "POST", "/api/v4/users/search")
            .json(json!({"term": "ada", "allow_inactive": false, "limit": 0}))
            .respond(200, json!([user("user1")]))
            .call(call!(|c| {
                let mut search = UserSearch::default();
                search.term = "ada".into();
                search.allow_inactive = Some(false);
                search.limit = Some(0);
                c.users().search(&search).await?;
            })),
        case(ep::USERS_AUTOCOMPLETE, "GET", "/api/v4/users/autocomplete")
            .query(&[("name", "ad"), ("team_id", "team1"), ("limit", "5")])
            .respond(200, json!({"users": [user("user1")], "out_of_channel": []}))
            .call(call!(|c| {
                let r = c.users().autocomplete("ad", Some(&TeamId::new("team1")), None, Some(5)).await?;
                assert_eq!(r.users.len(), 1);
            })),
        case(ep::USERS_ME, "GET", "/api/v4/users/me")
            .respond(200, user("user1"))
            .call(call!(|c| { assert_eq!(c.users().me().await?.username, "user-user1"); })),
        case(ep::USERS_GET, "GET", "/api/v4/users/user1")
            .respond(200, user("user1"))
            .call(call!(|c| { c.users().get(&u("user1")).await?; })),
        case(ep::USERS_BY_USERNAME, "GET", "/api/v4/users/username/weird%2Fname%3Fx%3D1")
            .respond(200, user("user1"))
            .call(call!(|c| { c.users().by_username("weird/name?x=1").await?; })),
        case(ep::USERS_BY_EMAIL, "GET", "/api/v4/users/email/ada%40example.com")
            .respond(200, user("user1"))
            .call(call!(|c| { c.users().by_email("ada@example.com").await?; })),
        case(ep::USERS_PATCH, "PUT", "/api/v4/users/user1/patch")
            .json(json!({"nickname": "", "props": {}}))
            .respond(200, user("user1"))
            .call(call!(|c| {
                let mut patch = UserPatch::default();
                patch.nickname = Some(String::new());
                patch.props = Some(serde_json::Map::new());
                c.users().patch(&u("user1"), &patch).await?;
            })),
        case(ep::USERS_UPDATE_ROLES, "PUT", "/api/v4/users/user1/roles")
            .json(json!({"roles": "system_user system_admin"}))
            .call(call!(|c| { c.users().update_roles(&u("user1"), "system_user system_admin").await?; })),
        case(ep::USERS_UPDATE_ACTIVE, "PUT", "/api/v4/users/user1/active")
            .json(json!({"active": false}))
            .call(call!(|c| { c.users().set_active(&u("user1"), false).await?; })),
        case(ep::USERS_DEACTIVATE, "DELETE", "/api/v4/users/user1")
            .call(call!(|c| { c.users().deactivate(&u("user1")).await?; })),
        case(ep::USERS_DEMOTE, "POST", "/api/v4/users/user1/demote")
            .call(call!(|c| { c.users().demote(&u("user1")).await?; })),
        case(ep::USERS_PROMOTE, "POST", "/api/v4/users/user1/promote")
            .call(call!(|c| { c.users().promote(&u("user1")).await?; })),
        case(ep::USERS_SESSIONS, "GET", "/api/v4/users/me/sessions")
            .respond(200, json!([session()]))
            .call(call!(|c| {
                let sessions = c.users().sessions(None).await?;
                assert_eq!(sessions[0].id, SessionId::new("sess1"));
                assert!(!format!("{sessions:?}").contains("secret-session-token"));
            })),
        case(ep::USERS_REVOKE_SESSION, "POST", "/api/v4/users/user1/sessions/revoke")
            .json(json!({"session_id": "sess1"}))
            .call(call!(|c| { c.users().revoke_session(Some(&u("user1")), &SessionId::new("sess1")).await?; })),
        case(ep::USERS_TOKENS_CREATE, "POST", "/api/v4/users/user1/tokens")
            .json(json!({"description": "ci"}))
            .respond(201, json!({"id": "tok1", "token": "pat-secret", "user_id": "user1", "description": "ci"}))
            .call(call!(|c| {
                let t = c.users().create_token(&u("user1"), "ci").await?;
                assert!(t.token.is_some());
                assert!(!format!("{t:?}").contains("pat-secret"));
            })),
        case(ep::USERS_TOKENS_LIST, "GET", "/api/v4/users/user1/tokens")
            .query(&[("page", "0"), ("per_page", "200")])
            .respond(200, json!([{"id": "tok1", "user_id": "user1", "description": "ci", "is_active": true}]))
            .call(call!(|c| {
                use futures::TryStreamExt;
                let all: Vec<_> = c.users().tokens(&u("user1")).try_collect().await?;
                assert!(all[0].is_active);
            })),
        case(ep::USERS_TOKENS_REVOKE, "POST", "/api/v4/users/tokens/revoke")
            .json(json!({"token_id": "tok1"}))
            .call(call!(|c| { c.users().revoke_token("tok1").await?; })),
        case(ep::STATUS_GET, "GET", "/api/v4/users/user1/status")
            .respond(200, status("user1"))
            .call(call!(|c| { assert_eq!(c.status().get(&u("user1")).await?.status, "online"); })),
        case(ep::STATUS_SET, "PUT", "/api/v4/users/user1/status")
            .json(json!({"user_id": "user1", "status": "dnd", "dnd_end_time": 0}))
            .respond(200, status("user1"))
            .call(call!(|c| { c.status().set(&u("user1"), "dnd", Some(0)).await?; })),
        case(ep::STATUS_BY_IDS, "POST", "/api/v4/users/status/ids")
            .json(json!(["user1"]))
            .respond(200, json!([status("user1")]))
            .call(call!(|c| { c.status().by_ids(&[u("user1")]).await?; })),
        case(ep::STATUS_CUSTOM_SET, "PUT", "/api/v4/users/user1/status/custom")
            .json(json!({"emoji": "calendar", "text": "In a meeting", "duration": "one_hour"}))
            .call(call!(|c| {
                let mut s = CustomStatus::default();
                s.emoji = "calendar".into();
                s.text = "In a meeting".into();
                s.duration = Some("one_hour".into());
                c.status().set_custom(&u("user1"), &s).await?;
            })),
        case(ep::STATUS_CUSTOM_UNSET, "DELETE", "/api/v4/users/user1/status/custom")
            .call(call!(|c| { c.status().unset_custom(&u("user1")).await?; })),
        case(ep::PREFERENCES_GET, "GET", "/api/v4/users/user1/preferences")
            .respond(200, json!([preference()]))
            .call(call!(|c| { assert_eq!(c.preferences().get(&u("user1")).await?[0].value, "true"); })),
        case(ep::PREFERENCES_UPDATE, "PUT", "/api/v4/users/user1/preferences")
            .json(json!([preference()]))
            .call(call!(|c| {
                let p = Preference::new(u("user1"), "display_settings", "use_military_time", "true");
                c.preferences().update(&u("user1"), &[p]).await?;
            })),
        case(ep::PREFERENCES_DELETE, "POST", "/api/v4/users/user1/preferences/delete")
            .json(json!([preference()]))
            .call(call!(|c| {
                let p = Preference::new(u("user1"), "display_settings", "use_military_time", "true");
                c.preferences().delete(&u("user1"), &[p]).await?;
            })),
    ]
}

#[tokio::test]
async fn user_requests_are_exact() {
    run(cases()).await;
}
