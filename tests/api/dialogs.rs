//! Mattermost 11 dialogs end to end through the simulated Mattermost: multiselect, date and
//! datetime, dynamic selects served by Switchboard, cross-field rules, `on_cancel`, and
//! multi-step forms — each with the submissions that must be refused.

use std::time::Duration;

use serde_json::{Map, Value, json};
use switchboard::sim::{OpenedDialog, SimPost, Simulator};

use crate::helpers::*;
use crate::replay::{free_addr, serve_from_repo};

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// Today and `days` from today, UTC, as `YYYY-MM-DD`.
fn day(days: i64) -> String {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    today
        .checked_add(jiff::Span::new().days(days))
        .unwrap()
        .to_string()
}

async fn submit(sim: &Simulator, user: &str, dialog: &OpenedDialog, v: Value) -> Value {
    sim.world()
        .submit_dialog(user, "main", "town-square", dialog, object(v), false)
        .await
        .unwrap_or_else(|e| panic!("submission refused by the simulator: {e:?}"))
}

async fn wait_for_post(sim: &Simulator, needle: &str) -> String {
    wait_for(needle, || sim.world().posts_in("main", "town-square")).await
}

/// Waits for a private answer to alice: the seeded bot may not post ephemerally, so it comes
/// as a direct message from the bot.
async fn wait_for_direct(sim: &Simulator, needle: &str) -> String {
    let direct = sim.direct_channel("switchboard", "alice").unwrap();
    wait_for(needle, || sim.posts_in_channel(&direct)).await
}

async fn wait_for(needle: &str, posts: impl Fn() -> Vec<SimPost>) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(p) = posts().into_iter().find(|p| p.message.contains(needle)) {
            return p.message;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no post containing {needle:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The shipped `/incident` route, run as the README says (`switchboard serve` from the
/// repository): lookup, every refusal of step 1, the signed step 2, its rule, forged step-2
/// submissions, the report, and a replay of step 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_incident_report_takes_two_validated_steps() {
    let sim = spawn_sim().await;
    let listen = free_addr();
    let _served = serve_from_repo(&sim, listen, &format!("http://{listen}"), &[]).await;
    let world = sim.world();
    world
        .execute_command("alice", "main", "town-square", "/incident")
        .await
        .unwrap();
    let step1 = world.opened_dialogs().pop().expect("step 1 opened");
    assert_eq!(step1.callback_id(), "main");
    let services = step1.dialog["elements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "services")
        .unwrap()
        .clone();
    assert_eq!(services["data_source"], "dynamic");
    assert_eq!(services["multiselect"], true);
    assert_eq!(
        services["data_source_url"],
        format!("http://{listen}/dialogs/incident/lookup?step=main")
    );

    // The lookup is answered by Switchboard, filtered by what was typed.
    let items = world
        .lookup_dialog(
            "alice",
            "main",
            "town-square",
            &step1,
            "services",
            "DATA",
            Map::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        items,
        json!({"items": [{"text": "Database", "value": "db"}]})
    );
    // Someone else cannot use alice's dialog state to look things up.
    assert!(
        world
            .lookup_dialog(
                "bob",
                "main",
                "town-square",
                &step1,
                "services",
                "",
                Map::new()
            )
            .await
            .is_err(),
        "a lookup with another user's state is refused"
    );
    // Nor can step 1's state look up a later step's options, with step-1 answers made up.
    let forged = reqwest::Client::new()
        .post(format!(
            "http://{listen}/dialogs/incident/lookup?step=details"
        ))
        .json(&json!({"type": "dialog_lookup", "callback_id": "main",
            "state": step1.state(),
            "user_id": world.user_id("alice").unwrap(),
            "channel_id": world.channel_id("main", "town-square").unwrap(),
            "team_id": world.team_id("main").unwrap(),
            "submission": {"query": "", "selected_field": "teams", "severity": "sev1"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    let good = json!({"summary": "Checkout fails", "severity": "sev1",
        "services": ["api", "db"], "started": day(0)});
    for (change, field, error) in [
        (
            json!({"services": ["api", "mainframe"]}),
            "services",
            "`mainframe` is not one of the options offered.",
        ),
        (
            json!({"services": ["api", "db", "web", "queue"]}),
            "services",
            "Choose at most 3.",
        ),
        (
            json!({"services": []}),
            "services",
            "This field is required.",
        ),
        (
            json!({"started": day(-31)}),
            "started",
            &format!("Choose {} or later.", day(-30)),
        ),
        (
            json!({"started": day(1)}),
            "started",
            &format!("Choose {} or earlier.", day(0)),
        ),
        (
            json!({"started": "yesterday"}),
            "started",
            "Enter a date like 2026-03-01.",
        ),
        (
            json!({"severity": "sev0"}),
            "severity",
            "Choose one of the offered options.",
        ),
    ] {
        let mut fields = good.clone();
        for (k, v) in change.as_object().unwrap() {
            fields[k] = v.clone();
        }
        let answer = submit(&sim, "alice", &step1, fields.clone()).await;
        assert_eq!(answer["errors"][field], *error, "{fields}: {answer}");
        assert!(answer.get("form").is_none(), "{answer}");
    }

    // A valid step 1 moves on to step 2, which carries its own signed state.
    let answer = submit(&sim, "alice", &step1, good.clone()).await;
    assert_eq!(answer["type"], "form", "{answer}");
    let step2 = world.opened_dialogs().pop().expect("step 2 shown");
    assert_eq!(step2.callback_id(), "details");
    assert_ne!(step2.state(), step1.state());
    assert_eq!(
        step2.dialog["introduction_text"],
        "Step 2 of 2 for **Checkout fails** (sev1)."
    );

    // Step 1's state is used up.
    let again = submit(&sim, "alice", &step1, good.clone()).await;
    assert_eq!(again["error"], "This dialog was already submitted.");

    // Step 2 for another user, or step 1's state presented as step 2, is refused.
    let team = json!({"teams": ["platform", "database"]});
    assert!(
        world
            .submit_dialog(
                "bob",
                "main",
                "town-square",
                &step2,
                object(team.clone()),
                false
            )
            .await
            .is_err(),
        "bob cannot submit alice's step 2"
    );
    // As the web client does, step 2 goes out with step 1's callback_id.
    assert_eq!(step2.sent_callback_id(), "main");
    // Step 1's (used) state presented as step 2 is refused as a replay; step 2's state with a
    // callback_id of neither step is refused outright.
    let mut forged = step2.clone();
    forged.dialog["state"] = Value::String(step1.state().to_owned());
    let answer = submit(&sim, "alice", &forged, team.clone()).await;
    assert_eq!(
        answer["error"], "This dialog was already submitted.",
        "{answer}"
    );
    let mut forged = step2.clone();
    forged.first = Some(("report".into(), step1.state().to_owned()));
    assert!(
        world
            .submit_dialog(
                "alice",
                "main",
                "town-square",
                &forged,
                object(team.clone()),
                false
            )
            .await
            .is_err(),
        "a step-2 state does not submit another step"
    );

    // The rule across both steps: a sev1 pages two teams.
    let answer = submit(&sim, "alice", &step2, json!({"teams": ["platform"]})).await;
    assert_eq!(answer["error"], "A sev1 pages two teams.", "{answer}");
    let answer = submit(
        &sim,
        "alice",
        &step2,
        json!({"teams": ["platform", "support", "database"]}),
    )
    .await;
    assert_eq!(answer["errors"]["teams"], "Choose at most 2.");

    // The browser re-sends step 1's values; a tampered copy changes nothing.
    let mut tampered = step2.clone();
    tampered.carried.insert("severity".into(), json!("sev3"));
    let answer = submit(&sim, "alice", &tampered, team.clone()).await;
    assert_eq!(answer, json!({}), "{answer}");
    let report = wait_for_post(&sim, "SEV1").await;
    assert!(report.contains("**SEV1**: Checkout fails"), "{report}");
    assert!(report.contains("Services: api, db · since "), "{report}");
    assert!(
        report.contains("Paging: platform, database · reported by @alice"),
        "{report}"
    );
}

/// The mobile app submits a multiselect as one comma-separated string (its dialog adapter
/// joins the chosen values with `,`): the shipped `/incident` takes both steps that way, its
/// lookup and rule checking each value, as from the web app's arrays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_incident_report_takes_multiselects_as_the_mobile_app_sends_them() {
    let sim = spawn_sim().await;
    let listen = free_addr();
    let _served = serve_from_repo(&sim, listen, &format!("http://{listen}"), &[]).await;
    let world = sim.world();
    world
        .execute_command("alice", "main", "town-square", "/incident")
        .await
        .unwrap();
    let step1 = world.opened_dialogs().pop().expect("step 1 opened");
    let fields = |services: &str| {
        json!({"summary": "Checkout fails", "severity": "sev1",
            "services": services, "started": day(0)})
    };
    let answer = submit(&sim, "alice", &step1, fields("api,mainframe")).await;
    assert_eq!(
        answer["errors"]["services"], "`mainframe` is not one of the options offered.",
        "{answer}"
    );
    let answer = submit(&sim, "alice", &step1, fields("api,db")).await;
    assert_eq!(answer["type"], "form", "{answer}");
    let step2 = world.opened_dialogs().pop().expect("step 2 shown");
    let answer = submit(&sim, "alice", &step2, json!({"teams": "platform"})).await;
    assert_eq!(answer["error"], "A sev1 pages two teams.", "{answer}");
    let answer = submit(&sim, "alice", &step2, json!({"teams": "platform,database"})).await;
    assert_eq!(answer, json!({}), "{answer}");
    let report = wait_for_post(&sim, "SEV1").await;
    assert!(report.contains("Services: api, db · since "), "{report}");
    assert!(
        report.contains("Paging: platform, database · reported by @alice"),
        "{report}"
    );
}

const BOOKING: &str = r#"
[command]
trigger = "book"

[dialog]
title = "Book a slot"
on_submit = "booked"
on_cancel = "nevermind"

[[dialog.elements]]
name = "at"
display_name = "When"
type = "datetime"
required = true
min_date = "2030-01-01"
max_date = "2030-12-31"
time_interval = 30
time_zone = "Asia/Kolkata"

[[dialog.elements]]
name = "room"
display_name = "Room"
type = "select"
data_source = "dynamic"

[dialog.elements.lookup]
options = "{% for r in ['alpha', 'beta'] %}{{ r }}-{{ args.floor }} | Room {{ r }}\n{% endfor %}"

[[dialog.elements]]
name = "note"
display_name = "Note"
type = "select"
data_source = "dynamic"

[dialog.elements.lookup]
options = "{{ query }}"
free_form = true

[[args]]
name = "floor"
type = "string"
default = "1"

[actions.booked.reply]
text = "Booked {{ submission.at }} in {{ submission.room }} ({{ submission.note }})"

[actions.nevermind.reply]
text = "Nothing booked on floor {{ args.floor }}."
"#;

#[tokio::test]
async fn datetimes_dynamic_selects_and_cancel_follow_the_declaration() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("book.toml"), BOOKING).unwrap();
    let (sim, app) = start(dir.path()).await;
    let world = sim.world();
    world
        .execute_command("alice", "main", "town-square", "/book 7")
        .await
        .unwrap();
    let dialog = world.opened_dialogs().pop().unwrap();
    let at = dialog.dialog["elements"][0].clone();
    assert_eq!(at["type"], "datetime");
    assert_eq!(at["time_interval"], 30);
    assert_eq!(at["datetime_config"]["location_timezone"], "Asia/Kolkata");

    let rooms = world
        .lookup_dialog(
            "alice",
            "main",
            "town-square",
            &dialog,
            "room",
            "",
            Map::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        rooms,
        json!({"items": [{"text": "Room alpha", "value": "alpha-7"}, {"text": "Room beta", "value": "beta-7"}]})
    );

    for (at, error) in [
        (
            "2030-03-01T04:15:00Z",
            "Choose a time on the 30-minute steps offered.",
        ),
        ("2029-12-31T18:00:00Z", "Choose 2030-01-01 or later."),
        (
            "2030-03-01 09:30",
            "Enter a date and time like 2026-03-01T09:30:00Z.",
        ),
    ] {
        let answer = submit(&sim, "alice", &dialog, json!({"at": at, "room": "alpha-7"})).await;
        assert_eq!(answer["errors"]["at"], error, "{at}: {answer}");
    }
    let answer = submit(
        &sim,
        "alice",
        &dialog,
        json!({"at": "2030-03-01T04:00:00Z", "room": "gamma-7"}),
    )
    .await;
    assert_eq!(
        answer["errors"]["room"],
        "`gamma-7` is not one of the options offered."
    );

    // A forged lookup: no state, or a state that was not signed by Switchboard.
    let http = reqwest::Client::new();
    for state in ["", "sb1.k1.e30.AAAA"] {
        let forged = http
            .post(app.url("/dialogs/book/lookup?step=main"))
            .json(
                &json!({"type": "dialog_lookup", "user_id": "u", "channel_id": "c",
                "callback_id": "main", "state": state,
                "submission": {"query": "", "selected_field": "room"}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 403, "state {state:?}");
    }

    let answer = submit(
        &sim,
        "alice",
        &dialog,
        json!({"at": "2030-03-01T09:30:00+05:30", "room": "beta-7", "note": "window seat"}),
    )
    .await;
    assert_eq!(answer, json!({}), "{answer}");
    wait_for_direct(
        &sim,
        "Booked 2030-03-01T09:30:00+05:30 in beta-7 (window seat)",
    )
    .await;

    // Cancelling runs on_cancel with what opened the dialog.
    world
        .execute_command("alice", "main", "town-square", "/book 3")
        .await
        .unwrap();
    let dialog = world.opened_dialogs().pop().unwrap();
    assert_eq!(dialog.dialog["notify_on_cancel"], true);
    world
        .submit_dialog("alice", "main", "town-square", &dialog, Map::new(), true)
        .await
        .unwrap();
    wait_for_direct(&sim, "Nothing booked on floor 3.").await;
}

const TRIAGE: &str = r#"
[command]
trigger = "triage"

[dialog]
title = "Triage"
introduction = "Triage by @{{ user.name }} in ~{{ channel.name }}"
on_submit = "done"

[[dialog.elements]]
name = "severity"
display_name = "Severity"
type = "radio"
required = true
refresh = true
options = [{ text = "Low", value = "low" }, { text = "High", value = "high" }]

[[dialog.elements]]
name = "reason"
display_name = "Why high?"
type = "textarea"
required = true
show_when = "{{ submission.severity == 'high' }}"

[actions.done.reply]
text = "Triaged {{ submission.severity }}{% if submission.reason %}: {{ submission.reason }}{% endif %}"
"#;

fn names(dialog: &Value) -> Vec<String> {
    dialog["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_refresh_field_updates_the_form_and_hidden_fields_are_not_required() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("triage.toml"), TRIAGE).unwrap();
    let (sim, app) = start(dir.path()).await;
    let world = sim.world();
    world
        .execute_command("alice", "main", "town-square", "/triage")
        .await
        .unwrap();
    let dialog = world.opened_dialogs().pop().unwrap();
    assert_eq!(names(&dialog.dialog), ["severity"]);
    assert_eq!(dialog.dialog["elements"][0]["refresh"], true);
    assert_eq!(dialog.dialog["source_url"], app.url("/dialogs/triage"));

    // Choosing "high" brings the reason in, keeping the choice, under the same state.
    let answer = world
        .refresh_dialog(
            "alice",
            "main",
            "town-square",
            &dialog,
            object(json!({"severity": "high"})),
        )
        .await
        .unwrap();
    assert_eq!(answer["type"], "form", "{answer}");
    assert_eq!(names(&answer["form"]), ["severity", "reason"]);
    assert_eq!(answer["form"]["elements"][0]["default"], "high");
    assert_eq!(answer["form"]["state"], dialog.state());
    // The refreshed form knows who and where, as the first one did.
    assert_eq!(
        dialog.dialog["introduction_text"],
        "Triage by @alice in ~town-square"
    );
    assert_eq!(
        answer["form"]["introduction_text"],
        dialog.dialog["introduction_text"]
    );
    let refreshed = world.opened_dialogs().pop().unwrap();
    assert_eq!(names(&refreshed.dialog), ["severity", "reason"]);

    // A refresh is verified like a submission: not for bob, not with a forged state.
    assert!(
        world
            .refresh_dialog(
                "bob",
                "main",
                "town-square",
                &dialog,
                object(json!({"severity": "high"}))
            )
            .await
            .is_err()
    );
    let mut forged = dialog.clone();
    forged.dialog["state"] = json!("sb1.k1.e30.AAAA");
    assert!(
        world
            .refresh_dialog(
                "alice",
                "main",
                "town-square",
                &forged,
                object(json!({"severity": "high"}))
            )
            .await
            .is_err()
    );

    // The shown reason is required; refreshes did not use the state up.
    let answer = submit(&sim, "alice", &refreshed, json!({"severity": "high"})).await;
    assert_eq!(answer["errors"]["reason"], "This field is required.");
    let answer = submit(
        &sim,
        "alice",
        &refreshed,
        json!({"severity": "high", "reason": "checkout down"}),
    )
    .await;
    assert_eq!(answer, json!({}), "{answer}");
    wait_for_direct(&sim, "Triaged high: checkout down").await;

    // Low: the reason is hidden, so not required and not taken.
    world
        .execute_command("alice", "main", "town-square", "/triage")
        .await
        .unwrap();
    let dialog = world.opened_dialogs().pop().unwrap();
    let answer = submit(
        &sim,
        "alice",
        &dialog,
        json!({"severity": "low", "reason": "ignored"}),
    )
    .await;
    assert_eq!(answer, json!({}), "{answer}");
    let low = wait_for_direct(&sim, "Triaged low").await;
    assert!(
        !low.contains("ignored"),
        "a hidden field's value is dropped"
    );
}

/// `serve` against a server older than a feature a shipped route uses warns, naming both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_warns_when_the_server_is_too_old_for_a_routes_dialog() {
    let sim = spawn_sim().await;
    sim.world()
        .update_settings(|s| s.server_version = "11.0.2".to_owned());
    let listen = free_addr();
    let served = serve_from_repo(&sim, listen, &format!("http://{listen}"), &[]).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let logged = served.logged();
        let warned = logged.lines().any(|l| {
            l.contains("incident") && l.contains("multi-step dialogs") && l.contains("11.1")
        });
        if warned {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no warning naming the route and feature:\n{logged}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The manual's "Newer dialogs" example is a valid route that needs the newer features it
/// shows (`tests/docs.rs` also runs `switchboard check` on it).
#[test]
fn the_manual_dialog_example_loads() {
    let page = std::fs::read_to_string(repo_root().join("docs/src/reference/dialogs.md")).unwrap();
    let section = page
        .split("## Newer dialogs")
        .nth(1)
        .expect("the manual has the section");
    let example = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a TOML example");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("example.toml"), example).unwrap();
    let routes = switchboard::integrations::load_dir(dir.path())
        .unwrap_or_else(|e| panic!("the manual's example does not load: {e:?}"));
    let features: Vec<_> = switchboard::integrations::versions::requirements(&routes)
        .into_iter()
        .map(|r| r.feature.name())
        .collect();
    assert!(features.contains(&"dynamic selects"), "{features:?}");
    assert!(features.contains(&"file elements"), "{features:?}");
}

/// `check` renders rules and lookups with sample values, as it does other templates.
#[test]
fn check_reports_a_broken_lookup_or_rule_template() {
    for (key, body) in [
        (
            "dialog.lookup",
            "[dialog.elements.lookup]\noptions = \"{{ nope.x }}\"\n",
        ),
        (
            "dialog.rules.when",
            "[dialog.elements.lookup]\noptions = \"a\"\n[[dialog.rules]]\nwhen = \"{{ submission.a | nofilter }}\"\nerror = \"x\"\n",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("bad.toml"),
            format!("[command]\ntrigger = \"bad\"\n[dialog]\ntitle = \"t\"\n[[dialog.elements]]\nname = \"a\"\ndisplay_name = \"A\"\ntype = \"select\"\ndata_source = \"dynamic\"\n{body}"),
        )
        .unwrap();
        let problems = switchboard::integrations::load_dir(dir.path()).unwrap_err();
        assert!(
            problems.iter().any(|p| format!("{p:?}").contains(key)),
            "{key}: {problems:?}"
        );
    }
}

const SHOUT: &str = r#"
[command]
trigger = "shout"
description = "Say a note eight times"

[dialog]
title = "Shout"
on_submit = "say"

[[dialog.elements]]
name = "note"
display_name = "Note"
type = "textarea"
max_length = 3000

[actions.say.reply]
visibility = "in_channel"
text = "{% for i in range(8) %}{{ submission.note }}\n{% endfor %}"
"#;

#[tokio::test]
async fn an_in_channel_dialog_answer_too_long_for_a_post_is_cut_to_fit() {
    // Arrange: a submission within its field's limit whose answer is 24,000 characters.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shout.toml"), SHOUT).unwrap();
    let (sim, _app) = start(dir.path()).await;
    let world = sim.world();
    world
        .execute_command("alice", "main", "town-square", "/shout")
        .await
        .unwrap();
    let dialog = world.opened_dialogs().pop().unwrap();

    // Act
    let answer = submit(&sim, "alice", &dialog, json!({"note": "loud ".repeat(600)})).await;

    // Assert: accepted, and the answer posted in the channel, cut with a note.
    assert!(answer.get("errors").is_none(), "{answer}");
    let post = wait_for_post(&sim, "loud loud").await;
    assert!(post.chars().count() <= 16_383, "{}", post.chars().count());
    assert!(
        post.ends_with("_(cut: the message was longer than a Mattermost post)_"),
        "{}",
        &post[post.len() - 80..]
    );
}

#[tokio::test]
async fn a_private_dialog_answer_too_long_for_a_post_is_cut_to_fit() {
    // Arrange: the same 24,000-character answer, for the user only (a direct message from
    // the bot, which may not post ephemerally).
    let dir = tempfile::tempdir().unwrap();
    let private = SHOUT.replace("visibility = \"in_channel\"", "visibility = \"ephemeral\"");
    std::fs::write(dir.path().join("shout.toml"), private).unwrap();
    let (sim, _app) = start(dir.path()).await;
    let world = sim.world();
    world
        .execute_command("alice", "main", "town-square", "/shout")
        .await
        .unwrap();
    let dialog = world.opened_dialogs().pop().unwrap();

    // Act
    let answer = submit(
        &sim,
        "alice",
        &dialog,
        json!({"note": "quiet ".repeat(500)}),
    )
    .await;

    // Assert: delivered to alice, cut with a note, not refused and lost.
    assert!(answer.get("errors").is_none(), "{answer}");
    let post = wait_for_direct(&sim, "quiet quiet").await;
    assert!(post.chars().count() <= 16_383, "{}", post.chars().count());
    assert!(
        post.ends_with("_(cut: the message was longer than a Mattermost post)_"),
        "{}",
        &post[post.len() - 80..]
    );
}
