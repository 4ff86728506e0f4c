//! What users send is checked as declared, end to end through the simulated Mattermost: menu
//! choices, blank required fields, control characters, JavaScript-like patterns, dialogs that
//! only validate, and generated usage that survives Mattermost's Slack-link parsing.

use std::time::Duration;

use serde_json::{Map, Value, json};
use switchboard::sim::{SimEvent, SimPost, Simulator};

use crate::helpers::*;

fn routes_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in files {
        std::fs::write(dir.path().join(name), body).unwrap();
    }
    dir
}

/// Runs `/command` as alice in main/town-square and returns the one post it made.
async fn run(sim: &Simulator, command: &str) -> SimPost {
    let outcome = sim
        .world()
        .execute_command("alice", "main", "town-square", command)
        .await
        .unwrap_or_else(|e| panic!("{command}: {e:?}"));
    assert_eq!(outcome.posts.len(), 1, "{command}: {:?}", outcome.posts);
    outcome.posts[0].clone()
}

/// The next ephemeral post shown, within 5 s.
async fn next_ephemeral(events: &mut tokio::sync::broadcast::Receiver<SimEvent>) -> SimPost {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Ok(SimEvent::EphemeralPost(post)) = events.recv().await {
                return post;
            }
        }
    })
    .await
    .expect("an ephemeral post")
}

const LUNCH: &str = r#"
[command]
trigger = "lunch"

[reply]
visibility = "in_channel"
text = "Lunch?"

[[reply.attachments]]
actions = [
  { id = "menu", name = "Pick", type = "select", action = "chosen", options = [
    { text = "Pizza", value = "pizza" }, { text = "Salad", value = "salad" } ] },
]

[actions.chosen.reply]
text = "Chosen: {{ context.selected_option }}"
"#;

#[tokio::test]
async fn a_menu_choice_that_was_not_offered_is_refused_ephemerally() {
    let dir = routes_dir(&[("lunch.toml", LUNCH)]);
    let (sim, _app) = start(dir.path()).await;
    let world = sim.world();
    let post = run(&sim, "/lunch").await;
    let (menu, _) = world.action_ids(&post.id).into_iter().next().unwrap();

    let mut events = sim.world().subscribe();
    world
        .click_action("alice", &post.id, &menu, Some("burger"))
        .await
        .unwrap();
    let answer = next_ephemeral(&mut events).await;
    assert_eq!(
        answer.message,
        "⚠️ `burger` is not one of the menu's options."
    );

    world
        .click_action("alice", &post.id, &menu, Some("pizza"))
        .await
        .unwrap();
    assert_eq!(next_ephemeral(&mut events).await.message, "Chosen: pizza");
}

const RELEASE: &str = r#"
[command]
trigger = "release"

[dialog]
title = "Release"
on_submit = "done"

[[dialog.elements]]
name = "version"
display_name = "Version"
type = "text"
required = true
pattern = 'v\d+\.\d+\.\d+'

[[dialog.elements]]
name = "notes"
display_name = "Notes"
type = "textarea"

[actions.done.reply]
text = "Releasing {{ submission.version }}"
"#;

const SURVEY: &str = r#"
[command]
trigger = "survey"

[dialog]
title = "Survey"

[[dialog.elements]]
name = "email"
display_name = "Email"
type = "text"
subtype = "email"
required = true
"#;

fn submission(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

#[tokio::test]
async fn dialog_fields_are_checked_as_declared_before_anything_runs() {
    let dir = routes_dir(&[("release.toml", RELEASE), ("survey.toml", SURVEY)]);
    let (sim, _app) = start(dir.path()).await;
    let world = sim.world();
    world
        .execute_command("alice", "main", "town-square", "/release")
        .await
        .unwrap();
    let dialog = world.opened_dialogs().pop().unwrap();
    let submit = |v: Value| {
        let world = sim.world();
        let dialog = dialog.clone();
        async move {
            world
                .submit_dialog(
                    "alice",
                    "main",
                    "town-square",
                    &dialog,
                    submission(v),
                    false,
                )
                .await
                .unwrap()
        }
    };

    for (fields, field, error) in [
        (
            json!({"version": "   "}),
            "version",
            "This field is required.",
        ),
        (
            json!({"version": "v١.٢.٣"}),
            "version",
            "This value is not in the expected form.",
        ),
        (
            json!({"version": "v1.2.3", "notes": "ok\u{0}rm -rf"}),
            "notes",
            "This value contains a NUL character, which is not allowed.",
        ),
        (
            json!({"version": "v1.2.3\u{0}"}),
            "version",
            "This value contains a NUL character, which is not allowed.",
        ),
    ] {
        let answer = submit(fields.clone()).await;
        assert_eq!(answer["errors"][field], error, "{fields}: {answer}");
    }

    assert!(
        !world
            .posts_in("main", "town-square")
            .iter()
            .any(|p| p.message.contains("Releasing")),
        "nothing ran for a refused submission"
    );
    let answer = submit(json!({"version": "v1.2.3", "notes": "line one\nline two"})).await;
    assert!(answer.get("errors").is_none_or(Value::is_null), "{answer}");
    // The seeded bot may not post ephemerally, so the answer is a direct message to alice.
    let direct = sim.direct_channel("switchboard", "alice").unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !sim
        .posts_in_channel(&direct)
        .iter()
        .any(|p| p.message == "From ~town-square: Releasing v1.2.3")
    {
        assert!(tokio::time::Instant::now() < deadline, "no answer posted");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    // A dialog without `on_submit` only validates: `{}` and not one API call.
    world
        .execute_command("alice", "main", "town-square", "/survey")
        .await
        .unwrap();
    let survey = world.opened_dialogs().pop().unwrap();
    let answer = world
        .submit_dialog(
            "alice",
            "main",
            "town-square",
            &survey,
            submission(json!({"email": " "})),
            false,
        )
        .await
        .unwrap();
    assert_eq!(answer["errors"]["email"], "This field is required.");
    let before = world.api_requests().len();
    let answer = world
        .submit_dialog(
            "alice",
            "main",
            "town-square",
            &survey,
            submission(json!({"email": "a@example.com"})),
            false,
        )
        .await
        .unwrap();
    assert_eq!(answer, json!({}));
    let calls: Vec<_> = world.api_requests()[before..].to_vec();
    assert!(
        calls.is_empty(),
        "no API call for a bare submission: {calls:?}"
    );
}

const WEATHER: &str = r#"
[command]
trigger = "weather"
description = "Weather in a city"

[[args]]
name = "city"
type = "choice"
choices = ["berlin", "paris", "tokyo"]
required = true

[reply]
text = "Sunny in {{ args.city }}"
"#;

#[tokio::test]
async fn generated_usage_survives_mattermosts_slack_link_parsing() {
    let dir = routes_dir(&[("weather.toml", WEATHER)]);
    let (sim, _app) = start(dir.path()).await;
    let command = sim
        .world()
        .commands("main")
        .into_iter()
        .find(|c| c.trigger == "weather")
        .unwrap();
    // The hint is shown as plain text in the autocomplete list; nothing parses it.
    assert_eq!(command.auto_complete_hint, "<berlin|paris|tokyo>");

    for text in ["/weather", "/weather help", "/weather rome"] {
        let post = run(&sim, text).await;
        assert!(post.is_ephemeral());
        assert!(
            post.message
                .contains("Usage: `/weather <berlin|paris|tokyo>`"),
            "{text}: {}",
            post.message
        );
    }
    assert!(
        run(&sim, "/weather <http://evil.example|rome>")
            .await
            .message
            .contains("`<http://evil.example|rome>` is not one of"),
        "echoed words are not turned into links either"
    );
    assert_eq!(run(&sim, "/weather tokyo").await.message, "Sunny in tokyo");
}

const SAY: &str = r#"
[command]
trigger = "say"

[[args]]
name = "words"
rest = true
required = true

[reply]
text = "You said: {{ args.words }}"
"#;

#[tokio::test]
async fn a_nul_or_a_blank_required_argument_is_refused_before_anything_runs() {
    let dir = routes_dir(&[("weather.toml", WEATHER), ("say.toml", SAY)]);
    let (sim, _app) = start(dir.path()).await;
    let post = run(&sim, "/weather tokyo\u{0}").await;
    assert!(post.is_ephemeral());
    assert!(
        post.message
            .contains("`city`: This value contains a NUL character"),
        "{}",
        post.message
    );
    assert!(!post.message.contains("Sunny"), "{}", post.message);

    for text in ["/say \"   \"", "/say a\u{0}b"] {
        let post = run(&sim, text).await;
        assert!(
            !post.message.contains("You said"),
            "{text}: {}",
            post.message
        );
    }
    assert!(
        run(&sim, "/say \"   \"")
            .await
            .message
            .contains("missing required argument `words`")
    );
    assert_eq!(
        run(&sim, "/say hi there").await.message,
        "You said: hi there"
    );
}

const SHIP: &str = r#"
[hook]
trigger_words = ["ship"]
pattern = '^ship v(?P<version>\d+)$'

[reply]
visibility = "in_channel"
text = "Shipping {{ captures.version }}"
"#;

#[tokio::test]
async fn a_hook_pattern_has_ascii_digits_like_the_web_client() {
    let dir = routes_dir(&[("ship.toml", SHIP)]);
    let (sim, _app) = start(dir.path()).await;
    let world = sim.world();
    let shipped = |world: &switchboard::sim::World| -> Vec<String> {
        world
            .posts_in("main", "town-square")
            .into_iter()
            .filter(|p| p.message.starts_with("Shipping"))
            .map(|p| p.message)
            .collect()
    };
    world
        .create_post("alice", "main", "town-square", "ship v١٢")
        .await
        .unwrap();
    world
        .create_post("alice", "main", "town-square", "ship v12")
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while shipped(&world).is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no answer");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(shipped(&world), vec!["Shipping 12".to_owned()]);
}
