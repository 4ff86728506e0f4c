//! The reconciler against the simulated Mattermost: create / update / delete / keep, zero
//! writes on an unchanged run, foreign commands left alone, replicas converging, token
//! refresh, and the failure modes (403, 400, Mattermost down).

use std::path::Path;
use std::sync::Arc;

use switchboard::mattermost::Client;
use switchboard::reconcile::{ReconcileError, Reconciler};
use switchboard::sim::{SimCommand, Simulator};
use switchboard::tokens::{TokenKind, TokenStore};

use crate::helpers::{
    TestApp, repo_root, settings, slash_form, spawn_ready, spawn_replica, spawn_sim,
};

/// The public URL the reconciler-level tests announce (nothing listens there; these tests
/// never run a callback).
const PUBLIC: &str = "http://switchboard.test:3000";

/// A route file for `trigger` with optional description.
fn route(trigger: &str, description: &str) -> String {
    format!(
        "[command]\ntrigger = \"{trigger}\"\ndisplay_name = \"{trigger}\"\ndescription = \"{description}\"\n[reply]\ntext = \"hi\"\n"
    )
}

fn routes_dir(files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in files {
        std::fs::write(dir.path().join(format!("{name}.toml")), body).unwrap();
    }
    dir
}

fn reconciler(sim: &Simulator, teams: &[&str], dir: &Path) -> Reconciler {
    let mut settings = settings(sim.url().as_str(), &sim.bot_token(), teams, dir);
    settings.server.public_url = PUBLIC.parse().unwrap();
    let routes = switchboard::integrations::load_dir(dir).unwrap();
    let client = Client::builder(sim.url().as_str())
        .token(sim.bot_token())
        .build()
        .unwrap();
    Reconciler::new(
        client,
        Arc::new(settings),
        switchboard::integrations::RouteTable::new(routes, dir),
    )
}

fn url(route: &str) -> String {
    format!("{PUBLIC}/commands/{route}")
}

/// Mattermost before the run: one command of ours that matches (`keep`), one whose
/// description differs (`change`), one no route declares (`gone`); alice's `/taken`, which a
/// route also wants; alice's `/other`; and a command of the bot's calling somewhere else.
struct World {
    sim: Simulator,
    _dir: tempfile::TempDir,
    reconciler: Reconciler,
    keep: SimCommand,
    change: SimCommand,
    gone: SimCommand,
    foreign: Vec<SimCommand>,
}

async fn seeded_world() -> World {
    let sim = spawn_sim().await;
    let world = sim.world();
    let keep = world
        .create_command_as("switchboard", "main", "keep", &url("keep"))
        .unwrap();
    let change = world
        .create_command_as("switchboard", "main", "change", &url("change"))
        .unwrap();
    let gone = world
        .create_command_as("switchboard", "main", "gone", &url("gone"))
        .unwrap();
    let foreign = vec![
        world
            .create_command_as("alice", "main", "taken", "http://other.example/taken")
            .unwrap(),
        world
            .create_command_as("alice", "main", "other", "http://other.example/other")
            .unwrap(),
        world
            .create_command_as(
                "switchboard",
                "main",
                "legacy",
                "http://elsewhere.example/x",
            )
            .unwrap(),
    ];
    let dir = routes_dir(&[
        ("keep", route("keep", "")),
        ("change", route("change", "Now described")),
        ("fresh", route("fresh", "")),
        ("taken", route("taken", "")),
    ]);
    let reconciler = reconciler(&sim, &["main"], dir.path());
    world.clear_requests();
    World {
        sim,
        _dir: dir,
        reconciler,
        keep,
        change,
        gone,
        foreign,
    }
}

fn find<'a>(commands: &'a [SimCommand], trigger: &str) -> Vec<&'a SimCommand> {
    commands.iter().filter(|c| c.trigger == trigger).collect()
}

#[tokio::test]
async fn register_creates_updates_deletes_and_keeps_writing_only_what_differs() {
    let w = seeded_world().await;
    let world = w.sim.world();

    let report = w.reconciler.register(&TokenStore::default()).await.unwrap();

    assert_eq!(
        (report.created, report.updated, report.deleted, report.kept),
        (1, 1, 1, 1),
        "{report:?}"
    );
    let writes: Vec<(String, String)> = world
        .write_requests()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    assert_eq!(
        writes,
        vec![
            (
                "DELETE".to_owned(),
                format!("/api/v4/commands/{}", w.gone.id)
            ),
            (
                "PUT".to_owned(),
                format!("/api/v4/commands/{}", w.change.id)
            ),
            ("POST".to_owned(), "/api/v4/commands".to_owned()),
        ],
        "exactly one delete, one update, one create"
    );
    let put = &world.write_requests()[1];
    let body: serde_json::Value = serde_json::from_str(&put.body).unwrap();
    assert_eq!(body["description"], "Now described");
    assert_eq!(
        body["token"], w.change.token,
        "the update sends back what it read"
    );

    let now = world.commands("main");
    assert_eq!(find(&now, "keep"), vec![&w.keep], "kept as it was");
    let changed = find(&now, "change")[0];
    assert_eq!(changed.description, "Now described");
    assert_eq!(
        (&changed.id, &changed.token, &changed.url),
        (&w.change.id, &w.change.token, &w.change.url),
        "same command, same token"
    );
    assert!(find(&now, "gone").is_empty(), "deleted");
    assert_eq!(find(&now, "fresh")[0].url, url("fresh"));
}

#[tokio::test]
async fn foreign_commands_are_never_touched_and_a_trigger_clash_is_reported() {
    let w = seeded_world().await;

    let report = w.reconciler.register(&TokenStore::default()).await.unwrap();

    assert_eq!(report.conflicts, vec!["/taken in team `main`".to_owned()]);
    let now = w.sim.world().commands("main");
    for foreign in &w.foreign {
        assert_eq!(
            find(&now, &foreign.trigger),
            vec![foreign],
            "/{} unchanged",
            foreign.trigger
        );
    }
}

#[tokio::test]
async fn a_second_run_with_nothing_changed_writes_nothing_and_lists_once_per_team() {
    let w = seeded_world().await;
    w.reconciler.register(&TokenStore::default()).await.unwrap();
    w.sim.world().clear_requests();

    let report = w.reconciler.register(&TokenStore::default()).await.unwrap();

    assert_eq!(report.writes, 0, "{report:?}");
    assert_eq!(
        w.sim.world().write_requests(),
        vec![],
        "no write call at all"
    );
    let listings = w
        .sim
        .world()
        .api_requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == "/api/v4/commands")
        .count();
    assert_eq!(listings, 1, "one listing for the one team");
}

#[tokio::test]
async fn plan_prints_a_readable_diff_and_changes_nothing() {
    let w = seeded_world().await;

    let plan = w.reconciler.dry_run().await.unwrap();

    assert_eq!(
        w.sim.world().write_requests(),
        vec![],
        "plan writes nothing"
    );
    let alice = w.sim.world().user_id("alice").unwrap();
    let text = plan
        .to_string()
        .replace(&w.keep.id, "<keep-id>")
        .replace(&w.change.id, "<change-id>")
        .replace(&w.gone.id, "<gone-id>")
        .replace(&w.foreign[0].id, "<taken-id>")
        .replace(&alice, "<alice-id>");
    assert_snapshot("plan_small.txt", &text);
}

/// Compares `actual` with `tests/api/snapshots/<name>`; `UPDATE_SNAPSHOTS=1` rewrites it.
fn assert_snapshot(name: &str, actual: &str) {
    let path = repo_root().join("tests/api/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_SNAPSHOTS=1)", path.display()));
    assert_eq!(
        actual, expected,
        "snapshot {name} differs; run with UPDATE_SNAPSHOTS=1 to accept"
    );
}

#[tokio::test]
async fn unregister_deletes_only_what_switchboard_owns() {
    let w = seeded_world().await;
    w.reconciler.register(&TokenStore::default()).await.unwrap();

    let report = w.reconciler.unregister().await.unwrap();

    assert_eq!(report.deleted, 3, "keep, change, fresh: {report:?}");
    let mut left: Vec<SimCommand> = w.sim.world().commands("main");
    left.sort_by(|a, b| a.trigger.cmp(&b.trigger));
    let mut foreign = w.foreign.clone();
    foreign.sort_by(|a, b| a.trigger.cmp(&b.trigger));
    assert_eq!(left, foreign);
}

#[tokio::test]
async fn duplicates_we_own_are_reduced_to_the_one_with_the_lowest_id() {
    let sim = spawn_sim().await;
    let world = sim.world();
    let mut copies: Vec<SimCommand> = (0..3)
        .map(|_| {
            world
                .create_command_as("switchboard", "main", "hello", &url("hello"))
                .unwrap()
        })
        .collect();
    copies.sort_by(|a, b| a.id.cmp(&b.id));
    let dir = routes_dir(&[("hello", route("hello", ""))]);
    let tokens = TokenStore::default();
    let team_id = world.team_id("main").unwrap();

    let report = reconciler(&sim, &["main"], dir.path())
        .register(&tokens)
        .await
        .unwrap();

    assert_eq!(report.deleted, 2, "{report:?}");
    assert_eq!(
        world.commands("main"),
        vec![copies[0].clone()],
        "lowest id survives"
    );
    assert!(tokens.verify("hello", &team_id, &copies[0].token));
    assert!(!tokens.verify("hello", &team_id, &copies[1].token));
}

#[tokio::test]
async fn three_replicas_started_together_converge_and_all_accept_the_survivors_token() {
    let sim = spawn_sim().await;
    let make = || {
        settings(
            sim.url().as_str(),
            &sim.bot_token(),
            &["main", "ops"],
            &repo_root().join("routes"),
        )
    };
    let public = "http://switchboard.test:3000";
    let (a, b, c) = tokio::join!(
        spawn_replica(make(), public),
        spawn_replica(make(), public),
        spawn_replica(make(), public)
    );
    let replicas: [TestApp; 3] = [a, b, c];
    for replica in &replicas {
        replica.wait_ready().await;
    }

    for team in ["main", "ops"] {
        let commands = sim.world().commands(team);
        let hello = find(&commands, "hello");
        assert_eq!(hello.len(), 1, "one /hello in {team}: {commands:?}");
        let team_id = sim.world().team_id(team).unwrap();
        for (i, replica) in replicas.iter().enumerate() {
            let response = replica
                .post_form(
                    "/commands/hello",
                    slash_form(&hello[0].token, &team_id, "hi"),
                )
                .await;
            assert_eq!(
                response.status(),
                200,
                "replica {i} refused the survivor's token in {team}"
            );
        }
    }
    for team in ["main", "ops"] {
        let hooks = sim.world().outgoing_hooks(team);
        assert_eq!(hooks.len(), 1, "one oncall hook in {team}: {hooks:?}");
        let team_id = sim.world().team_id(team).unwrap();
        for (i, replica) in replicas.iter().enumerate() {
            assert!(
                replica
                    .state
                    .tokens
                    .verify_or_refresh(TokenKind::Hook, "oncall", &team_id, &hooks[0].token)
                    .await,
                "replica {i} refused the surviving hook's token in {team}"
            );
        }
    }
    for replica in replicas {
        replica.stop().await;
    }
}

#[tokio::test]
async fn a_token_regenerated_by_an_admin_is_accepted_after_one_refresh() {
    let (sim, app) = spawn_ready().await;
    let world = sim.world();
    let hello = find(&world.commands("main"), "hello")[0].clone();
    let new_token = world.regen_command_token(&hello.id).unwrap();
    assert_ne!(new_token, hello.token);

    let outcome = world
        .execute_command("alice", "main", "town-square", "/hello there")
        .await
        .expect("the command runs with the regenerated token");

    assert!(
        outcome.response["text"]
            .as_str()
            .is_some_and(|t| t.contains("You said: there")),
        "{:?}",
        outcome.response
    );
    assert_eq!(app.state.tokens.refresh_count(), 1, "exactly one refresh");
    let team_id = world.team_id("main").unwrap();
    let old = app
        .post_form("/commands/hello", slash_form(&hello.token, &team_id, "x"))
        .await;
    assert_eq!(old.status(), 401, "the old token no longer works");
    assert_eq!(
        app.state.tokens.refresh_count(),
        1,
        "a refused token within the interval triggers no second refresh"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_403_on_listing_names_the_missing_permission_and_how_to_grant_it() {
    let sim = spawn_sim().await;
    sim.world()
        .set_team_admin("switchboard", "main", false)
        .unwrap();
    let dir = routes_dir(&[("hello", route("hello", ""))]);

    let error = reconciler(&sim, &["main"], dir.path())
        .register(&TokenStore::default())
        .await
        .unwrap_err();

    assert!(
        matches!(error, ReconcileError::Forbidden { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    for needle in [
        "manage_own_slash_commands",
        "manage_slash_commands",
        "Team Admin",
        "`main`",
    ] {
        assert!(message.contains(needle), "missing {needle:?} in: {message}");
    }
}

#[tokio::test]
async fn once_the_permission_is_granted_a_waiting_server_becomes_ready_without_restart() {
    let sim = spawn_sim().await;
    sim.world()
        .set_team_admin("switchboard", "main", false)
        .unwrap();
    let app = crate::helpers::spawn_app(settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        &repo_root().join("routes"),
    ))
    .await;
    wait_for_refusals(&sim, 403, 1).await;
    assert_eq!(
        app.readyz().await,
        503,
        "not ready while the listing is refused"
    );

    sim.world()
        .set_team_admin("switchboard", "main", true)
        .unwrap();

    app.wait_ready().await;
    assert_eq!(find(&sim.world().commands("main"), "hello").len(), 1);
    app.stop().await;
}

/// Waits (at most 10 s) until the simulator has answered `count` calls with `status`.
async fn wait_for_refusals(sim: &Simulator, status: u16, count: usize) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let seen = sim
            .world()
            .api_requests()
            .iter()
            .filter(|r| r.status == status)
            .count();
        if seen >= count {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {status} answer seen"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn with_mattermost_answering_503_switchboard_waits_and_becomes_ready_once_it_recovers() {
    let sim = spawn_sim().await;
    sim.world().set_fault(Some(503));
    let app = crate::helpers::spawn_app(settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        &repo_root().join("routes"),
    ))
    .await;
    wait_for_refusals(&sim, 503, 2).await;
    assert_eq!(app.readyz().await, 503);
    assert!(sim.world().commands("main").is_empty());

    sim.world().set_fault(None);

    app.wait_ready().await;
    assert_eq!(find(&sim.world().commands("main"), "hello").len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_route_mattermost_refuses_is_reported_and_the_others_are_registered() {
    let sim = spawn_sim().await;
    sim.world().register_plugin_command("jira");
    let dir = routes_dir(&[("hello", route("hello", "")), ("jira", route("jira", ""))]);

    let report = reconciler(&sim, &["main"], dir.path())
        .register(&TokenStore::default())
        .await
        .unwrap();

    assert_eq!(report.failures.len(), 1, "{report:?}");
    assert_eq!(report.failures[0].route, "jira");
    assert!(report.failures[0].message.contains("plugin"), "{report:?}");
    assert_eq!(find(&sim.world().commands("main"), "hello").len(), 1);
}

#[tokio::test]
async fn read_only_mode_writes_nothing_and_still_learns_the_tokens() {
    let sim = spawn_sim().await;
    let dir = routes_dir(&[("hello", route("hello", ""))]);
    let theirs = sim
        .world()
        .create_command_as("switchboard", "main", "hello", &url("hello"))
        .unwrap();
    sim.world().clear_requests();
    let tokens = TokenStore::default();

    reconciler(&sim, &["main", "ops"], dir.path())
        .load_tokens(&tokens)
        .await
        .unwrap();

    assert_eq!(sim.world().write_requests(), vec![], "nothing written");
    assert!(tokens.verify(
        "hello",
        &sim.world().team_id("main").unwrap(),
        &theirs.token
    ));
    assert!(sim.world().commands("ops").is_empty(), "ops not registered");
}

fn hook_route(description: &str) -> String {
    format!(
        "[hook]\ntrigger_words = [\"deploy\"]\nchannel = \"town-square\"\ndisplay_name = \"Deploy hook\"\ndescription = \"{description}\"\n[reply]\ntext = \"ok\"\n"
    )
}

#[tokio::test]
async fn outgoing_hooks_are_created_kept_updated_and_deleted_like_commands() {
    let sim = spawn_sim().await;
    let world = sim.world();
    let dir = routes_dir(&[("hooky", hook_route("first"))]);
    let tokens = TokenStore::default();
    let team_id = world.team_id("main").unwrap();

    // Create.
    let report = reconciler(&sim, &["main"], dir.path())
        .register(&tokens)
        .await
        .unwrap();
    assert_eq!(report.created, 1, "{report:?}");
    let hooks = world.outgoing_hooks("main");
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let hook = hooks[0].clone();
    assert_eq!(hook.callback_urls, vec![format!("{PUBLIC}/hooks/hooky")]);
    assert_eq!(hook.trigger_words, vec!["deploy".to_owned()]);
    assert_eq!(
        hook.channel_id,
        world.channel_id("main", "town-square").unwrap()
    );
    assert_eq!(hook.creator_id, world.user_id("switchboard").unwrap());
    assert!(tokens.verify_kind(TokenKind::Hook, "hooky", &team_id, &hook.token));
    assert!(
        !tokens.verify_kind(TokenKind::Command, "hooky", &team_id, &hook.token),
        "a hook token does not open a slash command"
    );

    // Keep: nothing written.
    world.clear_requests();
    reconciler(&sim, &["main"], dir.path())
        .register(&tokens)
        .await
        .unwrap();
    assert_eq!(world.write_requests(), vec![], "unchanged hook, no write");

    // Update only what differs, same hook.
    std::fs::write(dir.path().join("hooky.toml"), hook_route("second")).unwrap();
    reconciler(&sim, &["main"], dir.path())
        .register(&tokens)
        .await
        .unwrap();
    let writes = world.write_requests();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(
        (writes[0].method.as_str(), writes[0].path.clone()),
        ("PUT", format!("/api/v4/hooks/outgoing/{}", hook.id))
    );
    let updated = world.outgoing_hooks("main")[0].clone();
    assert_eq!(
        (
            updated.id.as_str(),
            updated.description.as_str(),
            updated.token.as_str()
        ),
        (hook.id.as_str(), "second", hook.token.as_str())
    );

    // Delete once no route declares it.
    std::fs::write(dir.path().join("hooky.toml"), route("hooky", "")).unwrap();
    world.clear_requests();
    let report = reconciler(&sim, &["main"], dir.path())
        .register(&tokens)
        .await
        .unwrap();
    assert!(world.outgoing_hooks("main").is_empty(), "{report:?}");
    assert!(!tokens.verify_kind(TokenKind::Hook, "hooky", &team_id, &hook.token));
}

#[tokio::test]
async fn a_regenerated_hook_token_is_picked_up_by_one_refresh() {
    let sim = spawn_sim().await;
    let dir = routes_dir(&[("hooky", hook_route("x"))]);
    let app = crate::helpers::spawn_app(settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        dir.path(),
    ))
    .await;
    app.wait_ready().await;
    let world = sim.world();
    let team_id = world.team_id("main").unwrap();
    let hook = world.outgoing_hooks("main")[0].clone();
    let new_token = world.regen_hook_token(&hook.id).unwrap();

    let accepted = app
        .state
        .tokens
        .verify_or_refresh(TokenKind::Hook, "hooky", &team_id, &new_token)
        .await;

    assert!(accepted, "the regenerated token is read from the listing");
    assert_eq!(app.state.tokens.refresh_count(), 1);
    assert!(
        !app.state
            .tokens
            .verify_kind(TokenKind::Hook, "hooky", &team_id, &hook.token)
    );
    app.stop().await;
}

fn doctor_settings(sim: &Simulator, teams: &[&str]) -> switchboard::config::Settings {
    let mut settings = settings(
        sim.url().as_str(),
        &sim.bot_token(),
        teams,
        &repo_root().join("routes"),
    );
    settings.signing.keys = Some(secrecy::SecretString::from(
        "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned(),
    ));
    settings
}

fn finding<'a>(
    findings: &'a [switchboard::reconcile::doctor::Finding],
    check: &str,
    status: switchboard::reconcile::doctor::Status,
) -> Vec<&'a switchboard::reconcile::doctor::Finding> {
    findings
        .iter()
        .filter(|f| f.check == check && f.status == status)
        .collect()
}

#[tokio::test]
async fn doctor_passes_a_good_setup_and_warns_about_a_loopback_public_url() {
    use switchboard::reconcile::doctor::{self, Status};
    let sim = spawn_sim().await;
    let settings = doctor_settings(&sim, &["main", "ops"]);
    let routes = switchboard::integrations::load_dir(&settings.routes.dir).unwrap();

    let findings = doctor::run(&settings, Some(&routes)).await;

    assert!(!doctor::has_failures(&findings), "{findings:#?}");
    assert_eq!(
        finding(&findings, "teams", Status::Ok).len(),
        2,
        "{findings:#?}"
    );
    let public = finding(&findings, "public URL", Status::Warn);
    assert!(
        public.iter().any(|f| f
            .fix
            .as_deref()
            .is_some_and(|x| x.contains("AllowedUntrustedInternalConnections"))),
        "{findings:#?}"
    );
    // The shipped routes use commands, a hook and a dialog: the version finding names them.
    let version = finding(&findings, "server version", Status::Ok);
    assert!(
        version
            .iter()
            .any(|f| f.message.contains("Mattermost 11.10.0")
                && f.message.contains("outgoing webhooks")
                && f.message.contains("interactive dialogs (5.6+)")),
        "{findings:#?}"
    );
}

#[tokio::test]
async fn doctor_warns_naming_the_route_and_feature_a_server_is_too_old_for() {
    use switchboard::reconcile::doctor::{self, Status};
    let sim = spawn_sim().await;
    sim.world()
        .update_settings(|s| s.server_version = "11.0.4".to_owned());
    let settings = doctor_settings(&sim, &["main"]);
    let routes = switchboard::integrations::load_dir(&settings.routes.dir).unwrap();

    let findings = doctor::run(&settings, Some(&routes)).await;

    let version = finding(&findings, "server version", Status::Warn);
    let messages: Vec<&str> = version.iter().map(|f| f.message.as_str()).collect();
    for feature in ["multi-step dialogs", "dynamic selects", "date elements"] {
        assert!(
            messages.iter().any(|m| m.contains("route `incident`")
                && m.contains(feature)
                && m.contains("needs 11.1 or later")),
            "{feature}: {messages:#?}"
        );
    }
    assert!(
        !messages.iter().any(|m| m.contains("multiselect")),
        "11.0 has multiselect: {messages:#?}"
    );
    assert!(!doctor::has_failures(&findings), "a warning, not a failure");
}

#[tokio::test]
async fn doctor_fails_missing_signing_keys_when_routes_hand_out_dialogs_or_buttons() {
    use switchboard::reconcile::doctor::{self, Status};
    let sim = spawn_sim().await;
    let mut settings = doctor_settings(&sim, &["main"]);
    settings.signing.keys = None;
    let routes = switchboard::integrations::load_dir(&settings.routes.dir).unwrap();

    let findings = doctor::run(&settings, Some(&routes)).await;

    assert!(doctor::has_failures(&findings), "{findings:#?}");
    let signing = finding(&findings, "signing keys", Status::Fail);
    assert!(
        signing
            .iter()
            .any(|f| f.message.contains("deploy, incident, poll")
                && f.fix
                    .as_deref()
                    .is_some_and(|x| x.contains("SWITCHBOARD_SIGNING__KEYS"))),
        "{findings:#?}"
    );
    // With keys, the same check passes and names the signing key.
    let findings = doctor::run(&doctor_settings(&sim, &["main"]), Some(&routes)).await;
    assert!(
        finding(&findings, "signing keys", Status::Ok)
            .iter()
            .any(|f| f.message.contains("`k1`")),
        "{findings:#?}"
    );
}

#[tokio::test]
async fn doctor_fails_a_server_older_than_bot_accounts() {
    use switchboard::reconcile::doctor::{self, Status};
    let sim = spawn_sim().await;
    sim.world()
        .update_settings(|s| s.server_version = "5.9.0".to_owned());
    let settings = doctor_settings(&sim, &["main"]);

    let findings = doctor::run(&settings, None).await;

    let version = finding(&findings, "server version", Status::Fail);
    assert!(
        version
            .iter()
            .any(|f| f.fix.as_deref().is_some_and(|x| x.contains("5.10"))),
        "{findings:#?}"
    );
}

#[tokio::test]
async fn doctor_explains_disabled_commands_a_missing_team_and_an_empty_site_url() {
    use switchboard::reconcile::doctor::{self, Status};
    let sim = spawn_sim().await;
    sim.world().update_settings(|s| {
        s.enable_commands = false;
        s.site_url = String::new();
    });
    let settings = doctor_settings(&sim, &["main", "nope"]);

    let findings = doctor::run(&settings, None).await;

    assert!(doctor::has_failures(&findings));
    let commands = finding(&findings, "custom slash commands", Status::Fail);
    assert!(
        commands[0]
            .fix
            .as_deref()
            .is_some_and(|f| f.contains("Enable Custom Slash Commands")),
        "{findings:#?}"
    );
    assert_eq!(
        finding(&findings, "SiteURL", Status::Fail).len(),
        1,
        "{findings:#?}"
    );
    assert!(
        finding(&findings, "teams", Status::Fail)
            .iter()
            .any(|f| f.message.contains("`nope`")),
        "{findings:#?}"
    );
}

#[tokio::test]
async fn doctor_names_a_refused_token() {
    use switchboard::reconcile::doctor::{self, Status};
    let sim = spawn_sim().await;
    let mut settings = doctor_settings(&sim, &["main"]);
    settings.mattermost.token = Some("wrongwrongwrongwrongwrong1".to_owned().into());

    let findings = doctor::run(&settings, None).await;

    let token = finding(&findings, "bot token", Status::Fail);
    assert!(
        token[0]
            .fix
            .as_deref()
            .is_some_and(|f| f.contains("Bot Accounts")),
        "{findings:#?}"
    );
}

/// Runs the built binary from the repository (shipped config.toml and routes/) against `sim`,
/// announcing `public`: `(exit code, stdout)`.
async fn run_binary(sim: &Simulator, command: &str, public: &str) -> (i32, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .current_dir(repo_root())
        .arg(command)
        .env("SWITCHBOARD_MATTERMOST__URL", sim.url().as_str())
        .env("SWITCHBOARD_MATTERMOST__TOKEN", sim.bot_token())
        .env("SWITCHBOARD_SERVER__PUBLIC_URL", public)
        .env_remove("SWITCHBOARD_STORE__URL")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    (
        output.status.code().unwrap_or(-1),
        format!("{stdout}{stderr}"),
    )
}

/// Issues: after a `public_url` change, our own commands were reported as another user's
/// (naming the bot's id), `plan` exited 0 with conflicts, nothing said how to fix it; the hook
/// registered again beside the old one answered every trigger word twice while `plan` said
/// "Nothing to change"; `unregister` called its webhooks commands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_public_url_change_plan_names_the_old_url_the_fix_and_the_doubled_hook() {
    let sim = spawn_sim().await;
    let old = "http://old.switchboard.test:3101";
    let new = "http://new.switchboard.test:3100";
    let (code, out) = run_binary(&sim, "register", old).await;
    assert_eq!(code, 0, "{out}");

    // Our commands, seen from the new URL: this bot's, with the old URL and the fix.
    let (code, out) = run_binary(&sim, "plan", new).await;
    assert_eq!(
        code, 2,
        "plan exits 2 on conflicts, as register does: {out}"
    );
    let hello = out
        .lines()
        .find(|l| l.contains("! /hello"))
        .unwrap_or_else(|| panic!("a conflict line for /hello: {out}"));
    assert!(
        hello.contains("created by this bot") && !hello.contains("of user"),
        "{hello}"
    );
    assert!(
        out.contains(&format!(
            "`SWITCHBOARD_SERVER__PUBLIC_URL={old} switchboard unregister`"
        )),
        "{out}"
    );

    // The hook is created again under the new URL: now both fire on `oncall`, and plan says so.
    let (code, out) = run_binary(&sim, "register", new).await;
    assert_eq!(code, 2, "{out}");
    let (code, out) = run_binary(&sim, "plan", new).await;
    assert_eq!(code, 2, "{out}");
    let overlap = out
        .lines()
        .find(|l| l.contains("! hook oncall"))
        .unwrap_or_else(|| panic!("the doubled hook is reported: {out}"));
    assert!(
        overlap.contains("oncall")
            && overlap.contains("created by this bot")
            && overlap.contains(&format!("{old}/hooks/oncall")),
        "{overlap}"
    );

    // The fix the plan named works, and says what it deleted.
    let (code, out) = run_binary(&sim, "unregister", old).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("and 1 outgoing webhook(s)") && !out.contains("6 command(s)"),
        "{out}"
    );
    let (code, out) = run_binary(&sim, "register", new).await;
    assert_eq!(code, 0, "{out}");
    let (code, out) = run_binary(&sim, "plan", new).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 conflicts. Nothing to change."), "{out}");
}
