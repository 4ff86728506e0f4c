//! Webhooks, slash commands, dialogs, bots, emoji, groups, roles, system.

use serde_json::json;
use switchboard::mattermost::endpoints as ep;
use switchboard::mattermost::models::{
    BotPatch, Command, Dialog, DialogElement, DialogOption, DialogSubmission, IncomingWebhook,
    IncomingWebhookPayload, OutgoingWebhook,
};
use switchboard::mattermost::{ChannelId, CommandId, EmojiId, GroupId, HookId, TeamId, UserId};

use crate::call;
use crate::fixtures::*;
use crate::support::{Case, case, run};

fn h(id: &str) -> HookId {
    HookId::new(id)
}
fn t(id: &str) -> TeamId {
    TeamId::new(id)
}
fn u(id: &str) -> UserId {
    UserId::new(id)
}

pub fn cases() -> Vec<Case> {
    vec![
        case(ep::HOOKS_INCOMING_CREATE, "POST", "/api/v4/hooks/incoming")
            .json(json!({"channel_id": "chan1", "display_name": "ci", "channel_locked": false}))
            .respond(201, incoming_hook("in1"))
            .call(call!(|c| {
                let mut hook = IncomingWebhook::new(ChannelId::new("chan1"));
                hook.display_name = Some("ci".into());
                hook.channel_locked = Some(false);
                c.hooks().create_incoming(&hook).await?;
            })),
        case(ep::HOOKS_INCOMING_LIST, "GET", "/api/v4/hooks/incoming")
            .query(&[("team_id", "team1"), ("page", "0"), ("per_page", "200")])
            .respond(200, json!([incoming_hook("in1")]))
            .call(call!(|c| {
                use futures::TryStreamExt;
                let all: Vec<_> = c.hooks().list_incoming(Some(&t("team1"))).try_collect().await?;
                assert_eq!(all.len(), 1);
            })),
        case(ep::HOOKS_INCOMING_GET, "GET", "/api/v4/hooks/incoming/in1")
            .respond(200, incoming_hook("in1"))
            .call(call!(|c| { c.hooks().get_incoming(&h("in1")).await?; })),
        case(ep::HOOKS_INCOMING_UPDATE, "PUT", "/api/v4/hooks/incoming/in1")
            .json(without(incoming_hook("in1"), &["delete_at"]))
            .respond(200, incoming_hook("in1"))
            .call(call!(|c| {
                let hook: IncomingWebhook = serde_json::from_value(incoming_hook("in1")).unwrap();
                c.hooks().update_incoming(&hook).await?;
            })),
        case(ep::HOOKS_INCOMING_DELETE, "DELETE", "/api/v4/hooks/incoming/in1")
            .call(call!(|c| { c.hooks().delete_incoming(&h("in1")).await?; })),
        case(ep::HOOKS_INCOMING_EXECUTE, "POST", "/hooks/in1")
            .no_auth()
            .json(json!({"text": "build green", "username": ""}))
            .respond_raw(200, b"ok")
            .call(call!(|c| {
                let mut payload = IncomingWebhookPayload::text("build green");
                payload.username = Some(String::new());
                c.hooks().post_incoming(&h("in1"), &payload).await?;
            })),
        case(ep::HOOKS_OUTGOING_CREATE, "POST", "/api/v4/hooks/outgoing")
            .json(json!({"team_id": "team1", "display_name": "deploy", "trigger_words": ["deploy"],
                         "trigger_when": 0, "callback_urls": ["https://hooks.example.com/deploy"]}))
            .respond(201, outgoing_hook("out1"))
            .call(call!(|c| {
                let hook = OutgoingWebhook::new(t("team1"), "deploy", vec!["deploy".into()],
                    vec!["https://hooks.example.com/deploy".into()]);
                let created = c.hooks().create_outgoing(&hook).await?;
                assert_eq!(created.token.as_deref(), Some("hooktoken"));
            })),
        case(ep::HOOKS_OUTGOING_LIST, "GET", "/api/v4/hooks/outgoing")
            .query(&[("team_id", "team1"), ("channel_id", "chan1"), ("page", "0"), ("per_page", "200")])
            .respond(200, json!([outgoing_hook("out1")]))
            .call(call!(|c| {
                use futures::TryStreamExt;
                let all: Vec<_> = c.hooks().list_outgoing(&t("team1"), Some(&ChannelId::new("chan1"))).try_collect().await?;
                assert_eq!(all.len(), 1);
            })),
        case(ep::HOOKS_OUTGOING_GET, "GET", "/api/v4/hooks/outgoing/out1")
            .respond(200, outgoing_hook("out1"))
            .call(call!(|c| { c.hooks().get_outgoing(&h("out1")).await?; })),
        case(ep::HOOKS_OUTGOING_UPDATE, "PUT", "/api/v4/hooks/outgoing/out1")
            .json(without(outgoing_hook("out1"), &["delete_at"]))
            .respond(200, outgoing_hook("out1"))
            .call(call!(|c| {
                let hook: OutgoingWebhook = serde_json::from_value(outgoing_hook("out1")).unwrap();
                c.hooks().update_outgoing(&hook).await?;
            })),
        case(ep::HOOKS_OUTGOING_DELETE, "DELETE", "/api/v4/hooks/outgoing/out1")
            .call(call!(|c| { c.hooks().delete_outgoing(&h("out1")).await?; })),
        case(ep::HOOKS_OUTGOING_REGEN_TOKEN, "POST", "/api/v4/hooks/outgoing/out1/regen_token")
            .respond(200, outgoing_hook("out1"))
            .call(call!(|c| { c.hooks().regen_outgoing_token(&h("out1")).await?; })),
        case(ep::COMMANDS_CREATE, "POST", "/api/v4/commands")
            .json(json!({"team_id": "team1", "trigger": "deploy", "url": "https://example.com/cmd", "method": "P",
                         "auto_complete": false, "auto_complete_desc": "", "auto_complete_hint": "",
                         "description": "", "display_name": "", "icon_url": "", "username": ""}))
            .respond(201, command("cmd1"))
            .call(call!(|c| {
                let cmd = c.commands().create(&Command::new(t("team1"), "deploy", "https://example.com/cmd")).await?;
                assert_eq!(cmd.token, "cmdtoken");
            })),
        case(ep::COMMANDS_LIST, "GET", "/api/v4/commands")
            .query(&[("team_id", "team1"), ("custom_only", "true")])
            .respond(200, json!([command("cmd1")]))
            .call(call!(|c| { c.commands().list(&t("team1"), true).await?; })),
        case(ep::COMMANDS_GET, "GET", "/api/v4/commands/cmd1")
            .respond(200, command("cmd1"))
            .call(call!(|c| { c.commands().get(&CommandId::new("cmd1")).await?; })),
        case(ep::COMMANDS_UPDATE, "PUT", "/api/v4/commands/cmd1")
            .json(without(command("cmd1"), &["delete_at"]))
            .respond(200, command("cmd1"))
            .call(call!(|c| {
                let cmd: Command = serde_json::from_value(command("cmd1")).unwrap();
                c.commands().update(&cmd).await?;
            })),
        case(ep::COMMANDS_DELETE, "DELETE", "/api/v4/commands/cmd1")
            .call(call!(|c| { c.commands().delete(&CommandId::new("cmd1")).await?; })),
        case(ep::COMMANDS_REGEN_TOKEN, "PUT", "/api/v4/commands/cmd1/regen_token")
            .respond(200, json!({"token": "newtoken"}))
            .call(call!(|c| { assert_eq!(c.commands().regen_token(&CommandId::new("cmd1")).await?, "newtoken"); })),
        case(ep::COMMANDS_EXECUTE, "POST", "/api/v4/commands/execute")
            .json(json!({"channel_id": "chan1", "command": "/deploy prod"}))
            .respond(200, json!({"response_type": "in_channel", "text": "deploying"}))
            .call(call!(|c| { c.commands().execute(&ChannelId::new("chan1"), "/deploy prod").await?; })),
        case(ep::COMMANDS_AUTOCOMPLETE, "GET", "/api/v4/teams/team1/commands/autocomplete")
            .respond(200, json!([command("cmd1")]))
            .call(call!(|c| { c.commands().autocomplete(&t("team1")).await?; })),
        case(ep::COMMANDS_AUTOCOMPLETE_SUGGESTIONS, "GET", "/api/v4/teams/team1/commands/autocomplete_suggestions")
            .query(&[("user_input", "/dep")])
            .respond(200, json!([{"Complete": "deploy", "Suggestion": "deploy", "Hint": "[env]", "Description": "Deploy", "IconData": ""}]))
            .call(call!(|c| {
                let s = c.commands().autocomplete_suggestions(&t("team1"), "/dep").await?;
                assert_eq!(s[0].hint, "[env]");
            })),
        case(ep::DIALOGS_OPEN, "POST", "/api/v4/actions/dialogs/open")
            .json(json!({"trigger_id": "trig1", "url": "https://sb.example.com/dialog", "dialog": {
                "title": "Deploy", "callback_id": "cb1", "notify_on_cancel": false,
                "elements": [
                    {"type": "text", "name": "reason", "display_name": "Reason", "optional": false, "max_length": 0},
                    {"type": "select", "name": "env", "display_name": "Env", "options": [{"text": "Prod", "value": "prod"}]}
                ]}}))
            .call(call!(|c| {
                let mut reason = DialogElement::text("reason", "Reason");
                reason.optional = Some(false);
                reason.max_length = Some(0);
                let mut dialog = Dialog::new("Deploy")
                    .element(reason)
                    .element(DialogElement::select("env", "Env", vec![DialogOption::new("Prod", "prod")]));
                dialog.callback_id = Some("cb1".into());
                dialog.notify_on_cancel = Some(false);
                c.dialogs().open("trig1", "https://sb.example.com/dialog", &dialog).await?;
            })),
        case(ep::DIALOGS_SUBMIT, "POST", "/api/v4/actions/dialogs/submit")
            .json(json!({"url": "https://sb.example.com/dialog", "channel_id": "chan1", "team_id": "team1",
                         "submission": {"reason": "hotfix"}, "callback_id": "cb1", "cancelled": false}))
            .respond(200, json!({"errors": {"reason": "too short"}}))
            .call(call!(|c| {
                let mut s = DialogSubmission::default();
                s.url = "https://sb.example.com/dialog".into();
                s.channel_id = "chan1".into();
                s.team_id = "team1".into();
                s.submission.insert("reason".into(), "hotfix".into());
                s.callback_id = Some("cb1".into());
                s.cancelled = Some(false);
                let r = c.dialogs().submit(&s).await?;
                assert_eq!(r.errors.unwrap()["reason"], "too short");
            })),
        case(ep::BOTS_CREATE, "POST", "/api/v4/bots")
            .json(json!({"username": "deploybot", "display_name": "Deploy Bot", "description": ""}))
            .respond(201, bot("bot1"))
            .call(call!(|c| {
                let mut b = BotPatch::new("deploybot");
                b.display_name = Some("Deploy Bot".into());
                b.description = Some(String::new());
                c.bots().create(&b).await?;
            })),
        case(ep::BOTS_LIST, "GET", "/api/v4/bots")
            .query(&[("page", "0"), ("per_page", "200")])
            .respond(200, json!([bot("bot1")]))
            .call(call!(|c| {
                use futures::TryStreamExt;
                let all: Vec<_> = c.bots().list().stream().try_collect().await?;
                assert_eq!(all[0].username, "deploybot");
            })),
        // Explicit `false` filters are sent; page and per_page are the caller's.
        case(ep::BOTS_LIST, "GET", "/api/v4/bots")
            .query(&[("include_deleted", "false"), ("only_orphaned", "false"), ("page", "2"), ("per_page", "50")])
            .respond(200, json!([bot("bot1")]))
            .call(call!(|c| {
                let page = c.bots().list().include_deleted(false).only_orphaned(false).per_page(50).page(2).await?;
                assert_eq!(page.len(), 1);
            })),
        case(ep::BOTS_LIST, "GET", "/api/v4/bots")
            .query(&[("include_deleted", "true"), ("only_orphaned", "true"), ("page", "0"), ("per_page", "25")])
            .respond(200, json!([bot("bot1")]))
            .call(call!(|c| {
                use futures::TryStreamExt;
                let all: Vec<_> = c.bots().list().include_deleted(true).only_orphaned(true).per_page(25).stream().try_collect().await?;
                assert_eq!(all.len(), 1, "a short page ends the stream");
            })),
        case(ep::BOTS_GET, "GET", "/api/v4/bots/bot1")
            .respond(200, bot("bot1"))
            .call(call!(|c| { c.bots().get(&u("bot1")).await?; })),
        case(ep::BOTS_PATCH, "PUT", "/api/v4/bots/bot1")
            .json(json!({"username": "deploybot", "description": "ships"}))
            .respond(200, bot("bot1"))
            .call(call!(|c| {
                let mut b = BotPatch::new("deploybot");
                b.description = Some("ships".into());
                c.bots().patch(&u("bot1"), &b).await?;
            })),
        case(ep::BOTS_DISABLE, "POST", "/api/v4/bots/bot1/disable")
            .respond(200, bot("bot1"))
            .call(call!(|c| { c.bots().disable(&u("bot1")).await?; })),
        case(ep::BOTS_ENABLE, "POST", "/api/v4/bots/bot1/enable")
            .respond(200, bot("bot1"))
            .call(call!(|c| { c.bots().enable(&u("bot1")).await?; })),
        case(ep::BOTS_ASSIGN, "POST", "/api/v4/bots/bot1/assign/user2")
            .respond(200, bot("bot1"))
            .call(call!(|c| { c.bots().assign(&u("bot1"), &u("user2")).await?; })),
        case(ep::EMOJI_LIST, "GET", "/api/v4/emoji")
            .query(&[("page", "0"), ("per_page", "200")])
            .respond(200, json!([emoji("em1")]))
            .call(call!(|c| {
                use futures::TryStreamExt;
                let all: Vec<_> = c.emoji().list().try_collect().await?;
                assert_eq!(all[0].name, "party");
            })),
        case(ep::EMOJI_CREATE, "POST", "/api/v4/emoji")
            .multipart(&[("emoji", "\"name\":\"party\""), ("image", "GIF89a")])
            .respond(201, emoji("em1"))
            .call(call!(|c| {
                let image = Box::new(std::io::Cursor::new(b"GIF89a...".to_vec()));
                c.emoji().create(&u("user1"), "party", "party.gif", image).await?;
            })),
        case(ep::EMOJI_GET, "GET", "/api/v4/emoji/em1")
            .respond(200, emoji("em1"))
            .call(call!(|c| { c.emoji().get(&EmojiId::new("em1")).await?; })),
        case(ep::EMOJI_BY_NAME, "GET", "/api/v4/emoji/name/party")
            .respond(200, emoji("em1"))
            .call(call!(|c| { c.emoji().by_name("party").await?; })),
        case(ep::EMOJI_DELETE, "DELETE", "/api/v4/emoji/em1")
            .respond(200, ok())
            .call(call!(|c| { c.emoji().delete(&EmojiId::new("em1")).await?; })),
        case(ep::GROUPS_LIST, "GET", "/api/v4/groups")
            .query(&[("q", "dev"), ("page", "0"), ("per_page", "200")])
            .respond(200, json!([group("grp1")]))
            .call(call!(|c| {
                use futures::TryStreamExt;
                let all: Vec<_> = c.groups().list().q("dev").stream().try_collect().await?;
                assert_eq!(all[0].source, "custom");
            })),
        // Every filter of the reference's GetGroups, each sent as set (`false` included).
        case(ep::GROUPS_LIST, "GET", "/api/v4/groups")
            .query(&[
                ("q", "dev"),
                ("include_member_count", "true"),
                ("not_associated_to_team", "team1"),
                ("not_associated_to_channel", "chan1"),
                ("since", "1700000000000"),
                ("filter_allow_reference", "false"),
                ("page", "3"),
                ("per_page", "20"),
            ])
            .respond(200, {
                let mut counted = group("grp1");
                counted["member_count"] = json!(7);
                json!([counted])
            })
            .call(call!(|c| {
                let page = c
                    .groups()
                    .list()
                    .q("dev")
                    .include_member_count(true)
                    .not_associated_to_team(&t("team1"))
                    .not_associated_to_channel(&ChannelId::new("chan1"))
                    .since(1_700_000_000_000)
                    .filter_allow_reference(false)
                    .per_page(20)
                    .page(3)
                    .await?;
                assert_eq!(page[0].member_count, Some(7));
            })),
        case(ep::GROUPS_LIST, "GET", "/api/v4/groups")
            .query(&[("filter_allow_reference", "true"), ("page", "0"), ("per_page", "200")])
            .respond(200, json!([]))
            .call(call!(|c| {
                use futures::TryStreamExt;
                let all: Vec<_> = c.groups().list().filter_allow_reference(true).stream().try_collect().await?;
                assert!(all.is_empty());
            })),
        case(ep::EMOJI_SEARCH, "POST", "/api/v4/emoji/search")
            .json(json!({"term": "par", "prefix_only": false}))
            .respond(200, json!([emoji("em1")]))
            .call(call!(|c| {
                let found = c.emoji().search("par", false).await?;
                assert_eq!(found[0].name, "party");
            })),
        // `prefix_only` is a JSON boolean (model.EmojiSearch), not the string the reference shows.
        case(ep::EMOJI_SEARCH, "POST", "/api/v4/emoji/search")
            .json(json!({"term": "par", "prefix_only": true}))
            .respond(200, json!([]))
            .call(call!(|c| {
                assert!(c.emoji().search("par", true).await?.is_empty());
            })),
        // The answer is a list, although the reference shows one emoji.
        case(ep::EMOJI_AUTOCOMPLETE, "GET", "/api/v4/emoji/autocomplete")
            .query(&[("name", "pa rty/x")])
            .respond(200, json!([emoji("em1"), emoji("em2")]))
            .call(call!(|c| {
                let found = c.emoji().autocomplete("pa rty/x").await?;
                assert_eq!(found.len(), 2);
            })),
        case(ep::GROUPS_MEMBERS, "GET", "/api/v4/groups/grp1/members")
            .query(&[("page", "0"), ("per_page", "200")])
            .respond(200, json!({"members": [user("user1")], "total_member_count": 1}))
            .call(call!(|c| {
                use futures::TryStreamExt;
                let all: Vec<_> = c.groups().members(&GroupId::new("grp1")).try_collect().await?;
                assert_eq!(all.len(), 1);
            })),
        case(ep::GROUPS_ADD_MEMBERS, "POST", "/api/v4/groups/grp1/members")
            .json(json!({"user_ids": ["user1", "user2"]}))
            .respond(200, json!([group_member("grp1", "user1"), group_member("grp1", "user2")]))
            .call(call!(|c| { c.groups().add_members(&GroupId::new("grp1"), &[u("user1"), u("user2")]).await?; })),
        case(ep::GROUPS_REMOVE_MEMBERS, "DELETE", "/api/v4/groups/grp1/members")
            .json(json!({"user_ids": ["user1"]}))
            .respond(200, json!([group_member("grp1", "user1")]))
            .call(call!(|c| { c.groups().remove_members(&GroupId::new("grp1"), &[u("user1")]).await?; })),
        case(ep::ROLES_BY_NAMES, "POST", "/api/v4/roles/names")
            .json(json!(["system_user", "team_user"]))
            .respond(200, json!([role("system_user"), role("team_user")]))
            .call(call!(|c| { c.roles().by_names(&["system_user", "team_user"]).await?; })),
        case(ep::ROLES_BY_NAME, "GET", "/api/v4/roles/name/system_user")
            .respond(200, role("system_user"))
            .call(call!(|c| { assert!(c.roles().by_name("system_user").await?.permissions.contains(&"create_post".to_owned())); })),
        case(ep::SYSTEM_PING, "GET", "/api/v4/system/ping")
            .query(&[("get_server_status", "true"), ("use_rest_semantics", "true")])
            .respond(200, json!({"status": "OK", "database_status": "OK", "filestore_status": "OK",
                                 "AndroidLatestVersion": "", "IosMinVersion": "", "ActiveSearchBackend": "database"}))
            .call(call!(|c| {
                let s = c.system().status().await?;
                assert_eq!(s.database_status.as_deref(), Some("OK"));
            })),
        case(ep::SYSTEM_CLIENT_CONFIG, "GET", "/api/v4/config/client")
            .query(&[("format", "old")])
            .respond(200, json!({"SiteName": "Mattermost", "Version": "10.11.0", "EnableCommands": "true"}))
            .call(call!(|c| { assert_eq!(c.system().client_config().await?["Version"], "10.11.0"); })),
    ]
}

#[tokio::test]
async fn integration_requests_are_exact() {
    run(cases()).await;
}

#[tokio::test]
async fn plain_ping_sends_no_query() {
    run(vec![
        case(ep::SYSTEM_PING, "GET", "/api/v4/system/ping")
            .respond(200, json!({"status": "OK"}))
            .call(call!(|c| {
                c.system().ping().await?;
            })),
    ])
    .await;
}
