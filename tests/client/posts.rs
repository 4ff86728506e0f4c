//! Posts, reactions, files.

use serde_json::json;
use switchboard::mattermost::api::NewPost;
use switchboard::mattermost::endpoints as ep;
use switchboard::mattermost::models::Post;
use switchboard::mattermost::{ChannelId, FileId, PostId, TeamId, UserId};

use crate::call;
use crate::fixtures::*;
use crate::support::{ANY, Case, case, run};

fn p(id: &str) -> PostId {
    PostId::new(id)
}
fn ch(id: &str) -> ChannelId {
    ChannelId::new(id)
}

pub fn cases() -> Vec<Case> {
    vec![
        case(ep::POSTS_CREATE, "POST", "/api/v4/posts")
            .json(json!({"channel_id": "chan1", "message": "deployed", "root_id": "post0",
                         "props": {}, "file_ids": [], "pending_post_id": ANY}))
            .respond(201, post("post1"))
            .call(call!(|c| {
                let post = c.posts().create(&ch("chan1"), "deployed").root_id(&p("post0"))
                    .props(serde_json::Map::new()).file_ids(vec![]).send().await?;
                assert_eq!(post.props["from_bot"], "true");
            })),
        // The same request; only the id of the answer is kept.
        case(ep::POSTS_CREATE, "POST", "/api/v4/posts")
            .json(json!({"channel_id": "chan1", "message": "deployed", "root_id": "post0",
                         "props": {}, "file_ids": [], "pending_post_id": ANY}))
            .respond(201, post("post1"))
            .call(call!(|c| {
                let id = c.posts().create(&ch("chan1"), "deployed").root_id(&p("post0"))
                    .props(serde_json::Map::new()).file_ids(vec![]).send_for_id().await?;
                assert_eq!(id, p("post1"));
            })),
        case(ep::POSTS_EPHEMERAL, "POST", "/api/v4/posts/ephemeral")
            .json(json!({"user_id": "user2", "post": {"channel_id": "chan1", "message": "only you"}}))
            .respond(201, post("eph1"))
            .call(call!(|c| {
                c.posts().create_ephemeral(&UserId::new("user2"), &NewPost::new(ch("chan1"), "only you")).await?;
            })),
        case(ep::POSTS_GET, "GET", "/api/v4/posts/post1")
            .respond(200, post("post1"))
            .call(call!(|c| { assert_eq!(c.posts().get(&p("post1")).await?.message, "deployed"); })),
        case(ep::POSTS_UPDATE, "PUT", "/api/v4/posts/post1")
            .json(post("post1"))
            .respond(200, post("post1"))
            .call(call!(|c| {
                let current: Post = serde_json::from_value(post("post1")).unwrap();
                c.posts().update(&current).await?;
            })),
        case(ep::POSTS_PATCH, "PUT", "/api/v4/posts/post1/patch")
            .json(json!({"is_pinned": false, "message": "", "has_reactions": false, "file_ids": [], "props": {}}))
            .respond(200, post("post1"))
            .call(call!(|c| {
                c.posts().patch(&p("post1")).is_pinned(false).message("").has_reactions(false)
                    .file_ids(vec![]).props(serde_json::Map::new()).send().await?;
            })),
        case(ep::POSTS_DELETE, "DELETE", "/api/v4/posts/post1")
            .call(call!(|c| { c.posts().delete(&p("post1")).await?; })),
        case(ep::POSTS_FOR_CHANNEL, "GET", "/api/v4/channels/chan1/posts")
            .query(&[("before", "post5"), ("include_deleted", "false"), ("page", "0"), ("per_page", "30")])
            .respond(200, post_list(&["post3", "post2"]))
            .call(call!(|c| {
                let list = c.posts().for_channel(&ch("chan1")).before(&p("post5")).include_deleted(false)
                    .per_page(30).page(0).await?;
                let posts = list.into_ordered();
                assert_eq!(posts[0].id, p("post3"));
            })),
        case(ep::POSTS_THREAD, "GET", "/api/v4/posts/post1/thread")
            .respond(200, post_list(&["post1", "post2"]))
            .call(call!(|c| { c.posts().thread(&p("post1")).await?; })),
        case(ep::POSTS_SEARCH, "POST", "/api/v4/teams/team1/posts/search")
            .json(json!({"terms": "deploy", "is_or_search": false}))
            .respond(200, json!({"order": ["post1"], "posts": {"post1": post("post1")}, "matches": {"post1": ["deploy"]}}))
            .call(call!(|c| {
                let r = c.posts().search(&TeamId::new("team1"), "deploy", false).await?;
                assert_eq!(r.order.len(), 1);
            })),
        case(ep::POSTS_PIN, "POST", "/api/v4/posts/post1/pin")
            .call(call!(|c| { c.posts().pin(&p("post1")).await?; })),
        case(ep::POSTS_UNPIN, "POST", "/api/v4/posts/post1/unpin")
            .call(call!(|c| { c.posts().unpin(&p("post1")).await?; })),
        case(ep::POSTS_AROUND_LAST_UNREAD, "GET", "/api/v4/users/user1/channels/chan1/posts/unread")
            .query(&[("limit_before", "0"), ("limit_after", "30")])
            .respond(200, post_list(&["post1"]))
            .call(call!(|c| { c.posts().around_last_unread(&UserId::new("user1"), &ch("chan1"), 0, 30).await?; })),
        case(ep::POSTS_DO_ACTION, "POST", "/api/v4/posts/post1/actions/approve")
            .json(json!({"selected_option": "prod"}))
            .respond(200, json!({"status": "OK", "trigger_id": "trig1"}))
            .call(call!(|c| {
                let r = c.posts().do_action(&p("post1"), "approve", Some("prod")).await?;
                assert_eq!(r.trigger_id.as_deref(), Some("trig1"));
            })),
        case(ep::REACTIONS_CREATE, "POST", "/api/v4/reactions")
            .json(json!({"user_id": "user1", "post_id": "post1", "emoji_name": "thumbsup"}))
            .respond(201, reaction())
            .call(call!(|c| { c.reactions().create(&UserId::new("user1"), &p("post1"), "thumbsup").await?; })),
        case(ep::REACTIONS_LIST, "GET", "/api/v4/posts/post1/reactions")
            .respond(200, json!([reaction()]))
            .call(call!(|c| { assert_eq!(c.reactions().list(&p("post1")).await?.len(), 1); })),
        case(ep::REACTIONS_DELETE, "DELETE", "/api/v4/users/user1/posts/post1/reactions/thumbsup")
            .call(call!(|c| { c.reactions().delete(&UserId::new("user1"), &p("post1"), "thumbsup").await?; })),
        case(ep::FILES_UPLOAD, "POST", "/api/v4/files")
            .multipart(&[("channel_id", "chan1"), ("files", "hello file")])
            .respond(201, json!({"file_infos": [file_info("file1")], "client_ids": []}))
            .call(call!(|c| {
                let reader = Box::new(std::io::Cursor::new(b"hello file".to_vec()));
                let r = c.files().upload(&ch("chan1"), "report.txt", reader, Some(10)).await?;
                assert_eq!(r.file_infos[0].id, FileId::new("file1"));
            })),
        case(ep::FILES_GET, "GET", "/api/v4/files/file1")
            .respond_raw(200, b"file content bytes")
            .call(call!(|c| {
                let mut out = Vec::new();
                let n = c.files().download(&FileId::new("file1"), &mut out).await?;
                assert_eq!((n, out.as_slice()), (18, &b"file content bytes"[..]));
            })),
        case(ep::FILES_PREVIEW, "GET", "/api/v4/files/file1/preview")
            .respond_raw(200, b"\x89PNG preview")
            .call(call!(|c| {
                let mut out = Vec::new();
                c.files().preview(&FileId::new("file1"), &mut out).await?;
                assert!(out.starts_with(b"\x89PNG"));
            })),
        case(ep::FILES_THUMBNAIL, "GET", "/api/v4/files/file1/thumbnail")
            .respond_raw(200, b"\xff\xd8thumb")
            .call(call!(|c| {
                let mut out = Vec::new();
                c.files().thumbnail(&FileId::new("file1"), &mut out).await?;
            })),
        case(ep::FILES_INFO, "GET", "/api/v4/files/file1/info")
            .respond(200, file_info("file1"))
            .call(call!(|c| { assert_eq!(c.files().info(&FileId::new("file1")).await?.size, 10); })),
        case(ep::FILES_LINK, "GET", "/api/v4/files/file1/link")
            .respond(200, json!({"link": "https://chat.example.com/files/file1/public?h=abc"}))
            .call(call!(|c| { assert!(c.files().link(&FileId::new("file1")).await?.contains("public")); })),
    ]
}

#[tokio::test]
async fn post_requests_are_exact() {
    run(cases()).await;
}

#[tokio::test]
async fn upload_streams_from_a_file_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "hello file from disk").unwrap();
    let path2 = path.clone();
    run(vec![
        case(ep::FILES_UPLOAD, "POST", "/api/v4/files")
            .multipart(&[("channel_id", "chan1"), ("files", "hello file from disk")])
            .respond(
                201,
                json!({"file_infos": [file_info("file1")], "client_ids": []}),
            )
            .call(move |c| {
                let path = path2.clone();
                Box::pin(async move {
                    c.files().upload_path(&ch("chan1"), &path).await?;
                    Ok(())
                })
            }),
    ])
    .await;
    drop(path);
}

#[tokio::test]
async fn do_action_without_option_sends_no_body() {
    run(vec![
        case(
            ep::POSTS_DO_ACTION,
            "POST",
            "/api/v4/posts/post1/actions/approve",
        )
        .respond(200, json!({"status": "OK"}))
        .call(call!(|c| {
            c.posts().do_action(&p("post1"), "approve", None).await?;
        })),
    ])
    .await;
}
