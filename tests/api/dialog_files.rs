//! `file` elements end to end through the simulated Mattermost: files uploaded through the
//! files API by the submitting user are taken; another user's file, an unknown id, too many
//! files, a wrong type or a too large file are refused with an error on the field — both when
//! the (simulated) server forwards the submission and when a forged one reaches Switchboard
//! directly (Mattermost's own checks then never ran).

use secrecy::SecretString;
use serde_json::{Map, Value, json};
use switchboard::mattermost::{ChannelId, Client};
use switchboard::sim::{OpenedDialog, Simulator};

use crate::helpers::*;

const EVIDENCE: &str = r#"
description = "Attach evidence."
[command]
trigger = "evidence"
[dialog]
title = "Evidence"
on_submit = "thanks"
[[dialog.elements]]
name = "logs"
display_name = "Logs"
type = "file"
required = true
max_files = 2
max_file_bytes = 100
extensions = ["txt", "LOG"]
[actions.thanks.reply]
visibility = "in_channel"
text = "Got {{ submission.logs | length }} file(s): {{ submission.logs | join(', ') }}"
"#;

/// Uploads `bytes` as `name` into main/town-square as `user`, through the client's files API.
async fn upload(sim: &Simulator, user: &str, name: &str, bytes: &[u8]) -> String {
    let token = sim.world().user_token(user).unwrap();
    let client = Client::builder(sim.url().as_str())
        .secret_token(SecretString::from(token))
        .build()
        .unwrap();
    let channel = ChannelId::new(sim.world().channel_id("main", "town-square").unwrap());
    let reader = Box::new(std::io::Cursor::new(bytes.to_vec()));
    let uploaded = client
        .files()
        .upload(&channel, name, reader, Some(bytes.len() as u64))
        .await
        .unwrap();
    uploaded.file_infos[0].id.as_str().to_owned()
}

/// A submission as it reaches Switchboard straight from an attacker (no Mattermost checks).
async fn forge(
    sim: &Simulator,
    user: &str,
    dialog: &OpenedDialog,
    logs: Value,
    ids: &[&str],
) -> Value {
    let world = sim.world();
    let body = json!({
        "type": "dialog_submission",
        "callback_id": dialog.sent_callback_id(),
        "state": dialog.state(),
        "user_id": world.user_id(user).unwrap(),
        "channel_id": world.channel_id("main", "town-square").unwrap(),
        "team_id": world.team_id("main").unwrap(),
        "submission": {"logs": logs},
        "file_ids": ids,
        "cancelled": false,
    });
    let answer = reqwest::Client::new()
        .post(&dialog.url)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "never a 5xx for a forged file");
    answer.json().await.unwrap_or(json!({}))
}

fn logs(v: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("logs".into(), v);
    m
}

#[tokio::test]
async fn file_elements_take_the_submitters_files_within_the_limits_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("evidence.toml"), EVIDENCE).unwrap();
    let (sim, app) = start(dir.path()).await;
    let world = sim.world();
    world
        .execute_command("alice", "main", "town-square", "/evidence")
        .await
        .unwrap();
    let dialog = world.opened_dialogs().pop().unwrap();
    let element = &dialog.dialog["elements"][0];
    assert_eq!(element["type"], "file");
    assert_eq!(
        element["allow_multiple"], true,
        "max_files = 2 allows several"
    );

    let mine = upload(&sim, "alice", "app.log", b"line 1\nline 2\n").await;
    let second = upload(&sim, "alice", "db.TXT", b"ok").await;
    let third = upload(&sim, "alice", "more.txt", b"ok").await;
    let pdf = upload(&sim, "alice", "report.pdf", b"%PDF").await;
    let big = upload(&sim, "alice", "huge.log", &[b'x'; 101]).await;
    let bobs = upload(&sim, "bob", "bob.log", b"not yours").await;
    let unknown = "zzzzzzzzzzzzzzzzzzzzzzzzzz";

    // Through the simulated server: it refuses another user's file itself (≥ 11.10 does)…
    let refused = world
        .submit_dialog(
            "alice",
            "main",
            "town-square",
            &dialog,
            logs(json!(bobs)),
            false,
        )
        .await;
    assert!(
        refused.is_err(),
        "the server refuses a file of another user"
    );
    // …and an unknown id too; a forged request straight to Switchboard meets its own checks.
    for (value, ids, error) in [
        (json!(bobs), vec![bobs.as_str()], "was not uploaded by you"),
        (json!(unknown), vec![unknown], "does not exist"),
        (
            json!(format!("{mine},{bobs}")),
            vec![mine.as_str(), bobs.as_str()],
            "was not uploaded by you",
        ),
    ] {
        let answer = forge(&sim, "alice", &dialog, value.clone(), &ids).await;
        let message = answer["errors"]["logs"].as_str().unwrap_or_default();
        assert!(message.contains(error), "{value}: {answer}");
    }
    // Limits the route declares, checked on what the simulated server forwards.
    for (value, error) in [
        (
            json!(format!("{mine},{second},{third}")),
            "Upload at most 2 files.",
        ),
        (json!(pdf), "not one of the accepted types (txt, log)"),
        (json!(big), "larger than 100 bytes"),
        (json!(""), "This field is required."),
    ] {
        let answer = world
            .submit_dialog(
                "alice",
                "main",
                "town-square",
                &dialog,
                logs(value.clone()),
                false,
            )
            .await
            .unwrap();
        let message = answer["errors"]["logs"].as_str().unwrap_or_default();
        assert!(message.contains(error), "{value}: {answer}");
    }
    let answer = world
        .submit_dialog(
            "alice",
            "main",
            "town-square",
            &dialog,
            logs(json!(format!("{mine},{second}"))),
            false,
        )
        .await
        .unwrap();
    assert_eq!(answer, json!({}), "two of alice's text files are taken");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let posts = world.posts_in("main", "town-square");
        if let Some(p) = posts
            .iter()
            .find(|p| p.message.starts_with("Got 2 file(s)"))
        {
            assert!(
                p.message.contains(&mine) && p.message.contains(&second),
                "{}",
                p.message
            );
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no reply posted");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    app.stop().await;
}

#[test]
fn check_refuses_a_file_element_below_the_declared_min_version() {
    let dir = tempfile::tempdir().unwrap();
    let routes = dir.path().join("routes");
    std::fs::create_dir(&routes).unwrap();
    std::fs::write(routes.join("evidence.toml"), EVIDENCE).unwrap();
    let run = |min: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("check")
            .current_dir(repo_root())
            .env("SWITCHBOARD_ROUTES__DIR", &routes)
            .env("SWITCHBOARD_MATTERMOST__MIN_VERSION", min)
            .output()
            .unwrap()
    };
    let old = run("11.1.0");
    let stderr = String::from_utf8_lossy(&old.stderr);
    assert!(!old.status.success(), "{stderr}");
    assert!(
        stderr.contains("route `evidence` uses file elements, which needs Mattermost 11.10"),
        "{stderr}"
    );
    let new = run("11.10.0");
    assert!(
        new.status.success(),
        "{}",
        String::from_utf8_lossy(&new.stderr)
    );
}
