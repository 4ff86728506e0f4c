//! What users read about exec jobs when things go wrong: a job cut off by shutdown says it
//! was interrupted, a failure names the program as the route does, not the server's path, and
//! a final status Mattermost will not put in the output post arrives as a reply instead.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use switchboard::sim::{Fault, FaultKind, SimPost, Simulator};

use crate::helpers::*;

fn exec_routes(trigger: &str, script: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("scripts")).unwrap();
    std::fs::write(
        dir.path().join(format!("{trigger}.toml")),
        format!(
            "[command]\ntrigger = \"{trigger}\"\n[exec]\nprogram = \"scripts/{trigger}.sh\"\nedit_interval_ms = 50\ntimeout_secs = 60\n"
        ),
    )
    .unwrap();
    let script_path = dir.path().join(format!("scripts/{trigger}.sh"));
    std::fs::write(&script_path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&script_path, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

async fn start(dir: &Path, grace_secs: u64) -> (Simulator, TestApp) {
    let sim = spawn_sim().await;
    let mut settings = settings(sim.url().as_str(), &sim.bot_token(), &["main"], dir);
    settings.server.shutdown_grace_secs = grace_secs;
    let app = spawn_app(settings).await;
    app.wait_ready().await;
    (sim, app)
}

async fn wait_for(sim: &Simulator, what: &str, done: impl Fn(&SimPost) -> bool) -> SimPost {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(p) = sim
            .world()
            .posts_in("main", "town-square")
            .into_iter()
            .find(&done)
        {
            return p;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: {:#?}",
            sim.world().posts_in("main", "town-square")
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_job_cut_off_by_shutdown_says_it_was_interrupted() {
    let dir = exec_routes("long", "echo halfway\nsleep 60\necho never");
    let (sim, app) = start(dir.path(), 1).await;
    sim.world()
        .execute_command("alice", "main", "town-square", "/long")
        .await
        .unwrap();
    let output = wait_for(&sim, "live output", |p| p.message.contains("halfway")).await;
    assert!(output.message.contains("running…"), "{}", output.message);

    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("shutdown is bounded");

    let output = sim.world().post(&output.id).unwrap();
    assert!(
        output.message.contains("interrupted") && !output.message.contains("running…"),
        "{}",
        output.message
    );
    assert!(output.message.contains("halfway"), "{}", output.message);
    let header = wait_for(&sim, "the header", |p| {
        p.message.contains("started by @alice")
    })
    .await;
    assert!(header.message.starts_with("⚠️"), "{}", header.message);
    assert!(header.message.contains("interrupted"), "{}", header.message);
}

#[tokio::test]
async fn a_final_status_the_output_post_will_not_take_arrives_as_a_reply_in_the_thread() {
    // Arrange: a job that waits for a gate after its first line, and an output post whose
    // every edit Mattermost answers with a 500 once that line is shown.
    let gate_dir = tempfile::tempdir().unwrap();
    let gate = gate_dir.path().join("go");
    let script = format!(
        "echo halfway\nwhile [ ! -e {} ]; do sleep 0.05; done\necho finished",
        gate.display()
    );
    let dir = exec_routes("gated", &script);
    let (sim, _app) = start(dir.path(), 5).await;
    sim.world()
        .execute_command("alice", "main", "town-square", "/gated")
        .await
        .unwrap();
    let output = wait_for(&sim, "live output", |p| p.message.contains("halfway")).await;
    sim.world().inject(
        Fault::on(
            &format!("/api/v4/posts/{}/patch", output.id),
            FaultKind::Status(500),
        )
        .method("PUT"),
    );

    // Act: the program finishes.
    std::fs::write(&gate, "").unwrap();

    // Assert: the status is a new reply in the same thread; the stuck post is left as it was.
    let reply = wait_for(&sim, "the final status as a reply", |p| {
        p.id != output.id && p.root_id == output.root_id && p.message.contains("✅ exit 0")
    })
    .await;
    assert!(reply.message.contains("finished"), "{}", reply.message);
    let stuck = sim.world().post(&output.id).unwrap();
    assert!(stuck.message.contains("running…"), "{}", stuck.message);
    wait_for(&sim, "the header's final status", |p| {
        p.message.starts_with("✅ `gated` started by @alice")
    })
    .await;
}

#[tokio::test]
async fn a_program_that_cannot_start_is_named_as_the_route_names_it() {
    let dir = exec_routes("gone", "echo hi");
    let (sim, _app) = start(dir.path(), 5).await;
    std::fs::remove_file(dir.path().join("scripts/gone.sh")).unwrap();
    sim.world()
        .execute_command("alice", "main", "town-square", "/gone")
        .await
        .unwrap();
    let output = wait_for(&sim, "the failure", |p| {
        p.message.contains("could not start")
    })
    .await;
    assert!(
        output.message.contains("`scripts/gone.sh`"),
        "{}",
        output.message
    );
    let server_path = dir.path().display().to_string();
    for post in sim.world().posts_in("main", "town-square") {
        assert!(
            !post.message.contains(&server_path),
            "the server's path is shown: {}",
            post.message
        );
    }
}

#[tokio::test]
async fn a_failed_post_is_explained_without_mattermost_s_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("page.toml"),
        "[command]\ntrigger = \"page\"\n[post]\nchannel = \"nowhere\"\nmessage = \"hi\"\nreply = \"done\"\n",
    )
    .unwrap();
    let (sim, _app) = start(dir.path(), 5).await;
    let out = sim
        .world()
        .execute_command("alice", "main", "town-square", "/page")
        .await
        .unwrap();
    let told = &out.posts[0].message;
    assert!(
        told.contains("there is no channel `nowhere` that Switchboard can post to"),
        "{told}"
    );
    for raw in ["app.", "store.", "404", "request_id", "http://"] {
        assert!(!told.contains(raw), "raw API error shown: {told}");
    }
}
