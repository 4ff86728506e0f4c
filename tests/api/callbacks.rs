//! Every callback kind end to end against the simulated Mattermost: slash commands (with
//! deferred replies, `response_url` limits and long text), outgoing webhooks in both
//! encodings, dialogs opened from a command and submitted back, buttons and menus, signature
//! checks and key rotation — plus every way a caller can get it wrong.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use switchboard::config::Settings;
use switchboard::integrations::{
    ActionClick, BoxFuture, CONTEXT_KEY, Cx, Handler, HandlerError, SubmittedDialog,
};
use switchboard::mattermost::models::{
    ActionOption, CommandResponse, Dialog, DialogElement, MessageAttachment,
};
use switchboard::protocol::{
    ActionResponse, DialogResponse, OutgoingWebhookRequest, OutgoingWebhookResponse, PostUpdate,
    SlashCommandRequest,
};
use switchboard::signing::{Claims, Purpose, Signer, SigningKey, now_secs};
use switchboard::sim::{SimEvent, SimPost, Simulator};

use crate::helpers::*;

/// What the test handler saw, for assertions.
#[derive(Debug, Default)]
struct Seen {
    hooks: Vec<OutgoingWebhookRequest>,
    dialogs: Vec<(String, Value, bool)>,
    clicks: Vec<(String, Value, Option<String>)>,
    respond_results: Vec<Result<(), String>>,
}

/// A handler exercising every kind; behaviour chosen by the command text.
#[derive(Debug, Default)]
struct Deploy {
    seen: Mutex<Seen>,
}

fn attachment(
    text: &str,
    actions: Vec<switchboard::mattermost::models::PostAction>,
) -> MessageAttachment {
    let mut a = MessageAttachment::default();
    a.text = Some(text.to_owned());
    a.actions = actions;
    a
}

impl Handler for Deploy {
    fn slash_command<'a>(
        &'a self,
        cx: &'a Cx,
        request: &'a SlashCommandRequest,
    ) -> BoxFuture<'a, Result<CommandResponse, HandlerError>> {
        Box::pin(async move {
            let (word, rest) = request.text.split_once(' ').unwrap_or((&request.text, ""));
            match word {
                "dialog" => {
                    let dialog =
                        Dialog::new("Deploy").element(DialogElement::text("env", "Environment"));
                    cx.open_dialog(
                        &request.trigger_id,
                        &request.user_id,
                        &request.channel_id,
                        "confirm",
                        json!({"service": rest}),
                        dialog,
                    )
                    .await?;
                    Ok(CommandResponse::default())
                }
                "buttons" => {
                    let mut response = CommandResponse::in_channel("Deploy waiting for approval");
                    response.attachments = Some(vec![attachment(
                        "Approve?",
                        vec![
                            cx.button(
                                "Approve",
                                "approve",
                                &request.channel_id,
                                json!({"service": rest}),
                            ),
                            cx.button("Slow", "slow", &request.channel_id, json!({})),
                            cx.menu(
                                "Pick",
                                "pick",
                                "",
                                json!({}),
                                vec![ActionOption {
                                    text: "Blue".into(),
                                    value: "blue".into(),
                                }],
                            ),
                        ],
                    )]);
                    Ok(response)
                }
                "slow" => {
                    tokio::time::sleep(Duration::from_millis(600)).await;
                    Ok(CommandResponse::in_channel(format!("done slowly: {rest}")))
                }
                "long" => Ok(CommandResponse::in_channel(
                    (0..400)
                        .map(|i| format!("{i:04} {}", "x".repeat(95)))
                        .collect::<Vec<_>>()
                        .join("\n"),
                )),
                "six" => {
                    for i in 1..=6 {
                        let r = cx
                            .respond(
                                &request.response_url,
                                &CommandResponse::in_channel(format!("update {i}")),
                            )
                            .await
                            .map_err(|e| e.to_string());
                        self.seen.lock().unwrap().respond_results.push(r);
                    }
                    Ok(CommandResponse::default())
                }
                "fail" => Err(HandlerError::failed("asked to fail")),
                "panic" => panic!("asked to panic"),
                "yield" => {
                    // Not ready on the first poll: the server finishes it on a task.
                    tokio::task::yield_now().await;
                    if rest == "panic" {
                        panic!("asked to panic after a yield");
                    }
                    Ok(CommandResponse::ephemeral(format!("after a yield: {rest}")))
                }
                _ => Ok(CommandResponse::ephemeral(format!(
                    "deploy {}",
                    request.text
                ))),
            }
        })
    }

    fn outgoing_hook<'a>(
        &'a self,
        _cx: &'a Cx,
        request: &'a OutgoingWebhookRequest,
    ) -> BoxFuture<'a, Result<OutgoingWebhookResponse, HandlerError>> {
        Box::pin(async move {
            self.seen.lock().unwrap().hooks.push(request.clone());
            if request.text.contains("slow") {
                tokio::time::sleep(Duration::from_millis(600)).await;
            }
            Ok(OutgoingWebhookResponse::comment(format!(
                "echo: {}",
                request.text
            )))
        })
    }

    fn dialog_submission<'a>(
        &'a self,
        cx: &'a Cx,
        dialog: &'a SubmittedDialog,
    ) -> BoxFuture<'a, Result<DialogResponse, HandlerError>> {
        Box::pin(async move {
            let env = dialog.request.value("env").unwrap_or_default();
            self.seen.lock().unwrap().dialogs.push((
                dialog.step.clone(),
                dialog.data.clone(),
                dialog.request.cancelled,
            ));
            if dialog.request.cancelled {
                return Ok(DialogResponse::close());
            }
            if env != "staging" && env != "prod" {
                return Ok(DialogResponse::default().field_error("env", "staging or prod"));
            }
            let service = dialog.data["service"].as_str().unwrap_or("");
            cx.client()
                .posts()
                .create(
                    &dialog.request.channel_id.as_str().into(),
                    format!("deploying {service} to {env}"),
                )
                .send()
                .await?;
            Ok(DialogResponse::close())
        })
    }

    fn action<'a>(
        &'a self,
        _cx: &'a Cx,
        click: &'a ActionClick,
    ) -> BoxFuture<'a, Result<ActionResponse, HandlerError>> {
        Box::pin(async move {
            self.seen.lock().unwrap().clicks.push((
                click.action.clone(),
                click.data.clone(),
                click.selected_option().map(str::to_owned),
            ));
            match click.action.as_str() {
                "approve" => Ok(ActionResponse::update(
                    PostUpdate::message(format!("Approved by @{}", click.request.user_name))
                        .clear_props(),
                )
                .and_tell("thanks")),
                "slow" => {
                    tokio::time::sleep(Duration::from_millis(600)).await;
                    Ok(ActionResponse::update(PostUpdate::message("approved late"))
                        .and_tell("done late"))
                }
                _ => Ok(ActionResponse::ephemeral("picked")),
            }
        })
    }
}

/// A handler that only answers slash commands (the defaults refuse the rest).
#[derive(Debug)]
struct OnlyCommands;

impl Handler for OnlyCommands {}

const KEY_A: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
const KEY_B: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

struct Env {
    sim: Simulator,
    app: TestApp,
    handler: Arc<Deploy>,
    team_id: String,
    channel_id: String,
    bot: reqwest::Client,
}

fn test_settings(sim: &Simulator, budget_ms: u64, keys: Option<&str>) -> Settings {
    let empty = tempfile::tempdir().unwrap();
    let mut settings = settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        empty.path(),
    );
    // The routes directory is read at spawn time; an empty one is enough.
    std::mem::forget(empty);
    settings.callbacks.budget_ms = budget_ms;
    settings.signing.keys = keys.map(|k| secrecy::SecretString::from(k.to_owned()));
    settings
}

async fn start(sim: Simulator, settings: Settings, addr: SocketAddr, handler: Arc<Deploy>) -> Env {
    let h = handler.clone();
    let app = spawn_app_with(settings, addr, move |app| {
        app.with_handler("deploy", h)
            .with_handler("plain", Arc::new(OnlyCommands))
    })
    .await;
    app.wait_ready().await;
    let team_id = sim.world().team_id("main").unwrap();
    let channel_id = sim.world().channel_id("main", "town-square").unwrap();
    let bot = bot_client(&sim);
    Env {
        sim,
        app,
        handler,
        team_id,
        channel_id,
        bot,
    }
}

async fn env_with(budget_ms: u64) -> Env {
    let sim = spawn_sim().await;
    let settings = test_settings(&sim, budget_ms, None);
    start(sim, settings, loopback(), Arc::default()).await
}

/// Like [`env_with`], but a slow click on a post the bot did not write is deferred like any
/// other (`action_inline_ms = 0`), so the late path through the API is exercised.
async fn env_without_inline_clicks(budget_ms: u64) -> Env {
    let sim = spawn_sim().await;
    let mut settings = test_settings(&sim, budget_ms, None);
    settings.callbacks.action_inline_ms = 0;
    start(sim, settings, loopback(), Arc::default()).await
}

fn bot_client(sim: &Simulator) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {}", sim.bot_token()).parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

impl Env {
    /// `user` posts `message` in ~town-square of main; waits for the reply in its thread.
    async fn post_and_await_thread_reply(&self, user: &str, message: &str) -> (SimPost, SimPost) {
        let post = self
            .sim
            .world()
            .create_post(user, "main", "town-square", message)
            .await
            .unwrap();
        let reply = eventually("the hook reply in the thread", || {
            self.sim
                .world()
                .posts_in("main", "town-square")
                .into_iter()
                .find(|p| p.root_id == post.id)
        })
        .await;
        (post, reply)
    }

    /// Registers `/trigger` → `/commands/route` in the simulator and hands the token over.
    async fn command(&self, trigger: &str, route: &str, method: &str) {
        let created: Value = self
            .bot
            .post(format!("{}api/v4/commands", self.sim.url()))
            .json(
                &json!({"team_id": self.team_id, "trigger": trigger, "method": method,
                          "url": self.app.url(&format!("/commands/{route}"))}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = created["token"].as_str().expect("token");
        self.app.state.tokens.insert(route, &self.team_id, token);
    }

    /// Registers an outgoing hook on `word` → `/hooks/route`; returns its token.
    async fn hook(&self, word: &str, route: &str, content_type: &str) -> String {
        let created: Value = self
            .bot
            .post(format!("{}api/v4/hooks/outgoing", self.sim.url()))
            .json(&json!({"team_id": self.team_id, "trigger_words": [word], "content_type": content_type,
                          "display_name": "deploy", "callback_urls": [self.app.url(&format!("/hooks/{route}"))]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = created["token"].as_str().expect("hook token").to_owned();
        self.app.state.tokens.insert(route, &self.team_id, &token);
        token
    }

    /// After a restart: the token of the already registered `/deploy` (the reconciler's job
    /// for declared routes; code handlers' commands are registered by these tests).
    fn adopt_command_token(&self, route: &str) {
        let command = self
            .sim
            .world()
            .commands("main")
            .into_iter()
            .find(|c| c.trigger == route)
            .expect("registered before the restart");
        self.app
            .state
            .tokens
            .insert(route, &self.team_id, &command.token);
    }

    async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.app
            .http
            .post(self.app.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

/// Polls `check` until it returns `Some` (at most 10 s; the deadline only bounds a hang).
async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    eventually_async(what, move || std::future::ready(check())).await
}

/// [`eventually`] for checks that must await (an HTTP scrape).
async fn eventually_async<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------
// Slash commands

#[tokio::test]
async fn a_code_handler_answers_a_slash_command_by_post_and_by_get() {
    let env = env_with(2500).await;
    env.command("deploy", "deploy", "P").await;
    let out = env
        .sim
        .world()
        .execute_command("alice", "main", "town-square", "/deploy web")
        .await
        .unwrap();
    assert_eq!(out.posts[0].message, "deploy web");
    assert!(out.posts[0].is_ephemeral());

    let env2 = env_with(2500).await;
    env2.command("deployget", "deploy", "G").await;
    let out = env2
        .sim
        .world()
        .execute_command("bob", "main", "town-square", "/deployget api")
        .await
        .unwrap();
    assert_eq!(out.posts[0].message, "deploy api");
}

#[tokio::test]
async fn a_slow_command_is_acknowledged_then_answered_through_response_url_as_json() {
    let env = env_with(100).await;
    env.command("deploy", "deploy", "P").await;

    let out = env
        .sim
        .world()
        .execute_command("alice", "main", "town-square", "/deploy slow web")
        .await
        .unwrap();

    assert_eq!(
        out.posts[0].message, "Working on it…",
        "the acknowledgement"
    );
    // The late answer arrives through response_url; Mattermost parsed it as JSON (else the
    // post would hold the raw JSON text) and honoured `in_channel`.
    let post = eventually("the late in_channel post", || {
        env.sim
            .world()
            .posts_in("main", "town-square")
            .into_iter()
            .find(|p| p.message.contains("done slowly"))
    })
    .await;
    assert_eq!(post.message, "done slowly: web");

    // Both ends of the deferral are counted for this route: the missed budget and the
    // delivered late answer.
    let counted = |metric: &'static str, extra: &'static str| {
        let url = env.app.url("/metrics");
        async move {
            let text = reqwest::get(url).await.unwrap().text().await.unwrap();
            text.lines()
                .filter(|l| l.starts_with(metric))
                .filter(|l| l.contains("kind=\"command\"") && l.contains("route=\"deploy\""))
                .filter(|l| l.contains(extra))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum::<f64>()
        }
    };
    assert!(counted("switchboard_deadline_misses_total", "").await >= 1.0);
    // The late answer is counted right after Mattermost accepted it: allow a moment.
    eventually_async("the delivered deferred reply counted", || async {
        let n = counted(
            "switchboard_deferred_replies_total",
            "outcome=\"delivered\"",
        )
        .await;
        (n >= 1.0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn response_url_takes_five_uses_and_the_sixth_is_refused_without_a_request() {
    let env = env_with(2500).await;
    env.command("deploy", "deploy", "P").await;

    env.sim
        .world()
        .execute_command("alice", "main", "town-square", "/deploy six")
        .await
        .unwrap();

    let results = env.handler.seen.lock().unwrap().respond_results.clone();
    assert_eq!(results.len(), 6);
    assert!(results[..5].iter().all(Result::is_ok), "{results:?}");
    assert!(
        results[5]
            .as_ref()
            .unwrap_err()
            .contains("already used 5 times"),
        "{results:?}"
    );
    let updates: Vec<String> = env
        .sim
        .world()
        .posts_in("main", "town-square")
        .into_iter()
        .map(|p| p.message)
        .filter(|m| m.starts_with("update "))
        .collect();
    assert_eq!(
        updates,
        ["update 1", "update 2", "update 3", "update 4", "update 5"]
    );
    let refused = env
        .sim
        .world()
        .api_requests()
        .iter()
        .filter(|r| r.status >= 400)
        .count();
    assert_eq!(refused, 0, "no sixth request reached Mattermost");
}

#[tokio::test]
async fn text_over_the_post_limit_is_split_into_extra_responses_on_line_boundaries() {
    let env = env_with(2500).await;
    env.command("deploy", "deploy", "P").await;

    let out = env
        .sim
        .world()
        .execute_command("alice", "main", "town-square", "/deploy long")
        .await
        .expect("Mattermost accepts the reply");

    assert!(
        out.posts.len() >= 3,
        "split into several posts: {}",
        out.posts.len()
    );
    let joined: Vec<String> = out.posts.iter().map(|p| p.message.clone()).collect();
    assert!(joined.iter().all(|m| m.chars().count() <= 16_383));
    assert!(
        joined.iter().all(|m| m.lines().all(|l| l.len() == 100)),
        "no line was cut"
    );
    assert_eq!(joined.join("\n").lines().count(), 400);
}

#[tokio::test]
async fn a_failing_handler_gets_an_apology_not_a_500() {
    let env = env_with(2500).await;
    env.command("deploy", "deploy", "P").await;
    let out = env
        .sim
        .world()
        .execute_command("alice", "main", "town-square", "/deploy fail")
        .await
        .unwrap();
    assert!(
        out.posts[0].message.starts_with("Sorry"),
        "{}",
        out.posts[0].message
    );
}

#[tokio::test]
async fn a_panicking_handler_gets_an_apology_whether_it_panics_at_once_or_later() {
    let env = env_with(2500).await;
    env.command("deploy", "deploy", "P").await;
    for text in ["/deploy panic", "/deploy yield panic"] {
        let out = env
            .sim
            .world()
            .execute_command("alice", "main", "town-square", text)
            .await
            .unwrap();
        assert!(
            out.posts[0].message.starts_with("Sorry"),
            "{text}: {}",
            out.posts[0].message
        );
    }
}

#[tokio::test]
async fn a_handler_not_ready_at_once_still_answers_inline_within_the_budget() {
    let env = env_with(2500).await;
    env.command("deploy", "deploy", "P").await;
    let out = env
        .sim
        .world()
        .execute_command("alice", "main", "town-square", "/deploy yield web")
        .await
        .unwrap();
    assert_eq!(out.posts[0].message, "after a yield: web");
}

// ---------------------------------------------------------------------------------------
// Dialogs

#[tokio::test]
async fn a_dialog_opened_from_a_command_is_submitted_with_errors_then_successfully() {
    let env = env_with(2500).await;
    env.command("deploy", "deploy", "P").await;
    let world = env.sim.world();

    world
        .execute_command("alice", "main", "town-square", "/deploy dialog web")
        .await
        .expect("the command (and the dialog open inside it) succeeds");
    let dialogs = world.opened_dialogs();
    assert_eq!(dialogs.len(), 1, "opened within the trigger deadline");
    let dialog = &dialogs[0];
    assert_eq!(dialog.user_id, world.user_id("alice").unwrap());
    assert_eq!(dialog.url, env.app.url("/dialogs/deploy"));
    assert_eq!(dialog.callback_id(), "confirm");
    assert_eq!(dialog.element_names(), ["env"]);

    let mut bad = serde_json::Map::new();
    bad.insert("env".into(), json!("moon"));
    let answer = world
        .submit_dialog("alice", "main", "town-square", dialog, bad, false)
        .await
        .unwrap();
    assert_eq!(answer, json!({"errors": {"env": "staging or prod"}}));

    let mut good = serde_json::Map::new();
    good.insert("env".into(), json!("prod"));
    let answer = world
        .submit_dialog("alice", "main", "town-square", dialog, good, false)
        .await
        .unwrap();
    assert_eq!(answer, json!({}), "closes the dialog");
    assert!(
        world
            .posts_in("main", "town-square")
            .iter()
            .any(|p| p.message == "deploying web to prod")
    );
    let seen = env.handler.seen.lock().unwrap();
    assert_eq!(seen.dialogs[1].0, "confirm");
    assert_eq!(
        seen.dialogs[1].1,
        json!({"service": "web"}),
        "signed data came back"
    );
}

#[tokio::test]
async fn a_dialog_submitted_by_another_user_or_in_another_channel_is_refused() {
    let env = env_with(2500).await;
    env.command("deploy", "deploy", "P").await;
    let world = env.sim.world();
    world
        .execute_command("alice", "main", "town-square", "/deploy dialog web")
        .await
        .unwrap();
    let dialog = world.opened_dialogs().remove(0);
    let mut sub = serde_json::Map::new();
    sub.insert("env".into(), json!("prod"));

    let as_bob = world
        .submit_dialog("bob", "main", "town-square", &dialog, sub.clone(), false)
        .await
        .unwrap_err();
    assert!(
        as_bob.to_string().contains("status=403") || format!("{as_bob:?}").contains("status=403"),
        "{as_bob:?}"
    );
    let elsewhere = world
        .submit_dialog("alice", "main", "off-topic", &dialog, sub, false)
        .await
        .unwrap_err();
    assert!(
        format!("{elsewhere:?}").contains("status=403"),
        "{elsewhere:?}"
    );
    assert_eq!(
        env.handler.seen.lock().unwrap().dialogs.len(),
        0,
        "handler never ran"
    );
}

#[tokio::test]
async fn dialog_states_that_are_missing_tampered_expired_or_for_another_step_get_403() {
    let env = env_with(2500).await;
    let signer = env.app.state.signer.clone();
    let alice = env.sim.world().user_id("alice").unwrap();
    let body = |state: &str, callback_id: &str| {
        json!({"type": "dialog_submission", "callback_id": callback_id, "state": state,
               "user_id": alice, "channel_id": env.channel_id, "team_id": env.team_id,
               "submission": {"env": "prod"}, "cancelled": false})
    };
    let claims = |expires: i64| {
        Claims::new(Purpose::Dialog, "deploy", "confirm", expires)
            .user(&alice)
            .channel(&env.channel_id)
    };
    let good = signer.sign(&claims(now_secs() + 600));
    let expired = signer.sign(&claims(now_secs() - 1));
    let other_route = signer
        .sign(&Claims::new(Purpose::Dialog, "plain", "confirm", now_secs() + 600).user(&alice));
    let as_action = signer.sign(&Claims::new(
        Purpose::Action,
        "deploy",
        "confirm",
        now_secs() + 600,
    ));
    let mut tampered = good.clone();
    tampered.insert(tampered.len() - 3, 'x');

    for (why, state, callback) in [
        ("missing", "", "confirm"),
        ("tampered", tampered.as_str(), "confirm"),
        ("expired", expired.as_str(), "confirm"),
        ("another route", other_route.as_str(), "confirm"),
        ("an action context", as_action.as_str(), "confirm"),
        ("another step", good.as_str(), "other"),
        (
            "another key",
            &Signer::ephemeral().sign(&claims(now_secs() + 600)),
            "confirm",
        ),
    ] {
        let response = env
            .post_json("/dialogs/deploy", &body(state, callback))
            .await;
        assert_eq!(response.status(), 403, "{why}");
        assert_eq!(
            response.text().await.unwrap(),
            "",
            "{why}: no detail in the body"
        );
    }
    let ok = env
        .post_json("/dialogs/deploy", &body(&good, "confirm"))
        .await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn a_cancellation_reaches_the_handler_as_cancelled() {
    let env = env_with(2500).await;
    env.command("deploy", "deploy", "P").await;
    let world = env.sim.world();
    world
        .execute_command("alice", "main", "town-square", "/deploy dialog web")
        .await
        .unwrap();
    let dialog = world.opened_dialogs().remove(0);
    world
        .submit_dialog(
            "alice",
            "main",
            "town-square",
            &dialog,
            serde_json::Map::new(),
            true,
        )
        .await
        .unwrap();
    assert!(env.handler.seen.lock().unwrap().dialogs[0].2);
}

// ---------------------------------------------------------------------------------------
// Message actions

async fn post_buttons(env: &Env) -> (String, Vec<(String, String)>) {
    env.command("deploy", "deploy", "P").await;
    let out = env
        .sim
        .world()
        .execute_command("alice", "main", "town-square", "/deploy buttons web")
        .await
        .unwrap();
    let post_id = out.posts[0].id.clone();
    let actions = env.sim.world().action_ids(&post_id);
    (post_id, actions)
}

#[tokio::test]
async fn a_button_click_updates_the_post_and_tells_the_user() {
    let env = env_with(2500).await;
    let (post_id, actions) = post_buttons(&env).await;
    assert_eq!(actions.len(), 3);
    assert!(
        actions.iter().all(|(id, _)| id.len() == 26),
        "Mattermost generated the ids"
    );
    let mut events = env.sim.world().subscribe();

    env.sim
        .world()
        .click_action("bob", &post_id, &actions[0].0, None)
        .await
        .unwrap();

    let post = env.sim.world().post(&post_id).unwrap();
    assert_eq!(post.message, "Approved by @bob");
    assert!(
        post.props.get("attachments").is_none(),
        "buttons removed: {:?}",
        post.props
    );
    assert_eq!(
        post.props.get("from_webhook"),
        Some(&json!("true")),
        "kept by Mattermost"
    );
    let seen = env.handler.seen.lock().unwrap().clicks.clone();
    assert_eq!(seen[0].0, "approve");
    assert_eq!(seen[0].1, json!({"service": "web"}));
    let mut ephemeral = None;
    while let Ok(event) = events.try_recv() {
        if let SimEvent::EphemeralPost(p) = event {
            ephemeral = Some(p);
        }
    }
    let ephemeral = ephemeral.expect("ephemeral_text shown");
    assert_eq!(ephemeral.message, "thanks");
    assert_eq!(ephemeral.root_id, post_id, "in the post's thread");
}

#[tokio::test]
async fn integration_blocks_never_leave_mattermost() {
    let env = env_with(2500).await;
    let (post_id, _) = post_buttons(&env).await;
    let got: Value = env
        .bot
        .get(format!("{}api/v4/posts/{post_id}", env.sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = got.to_string();
    assert!(text.contains("Approve"));
    assert!(
        !text.contains("integration") && !text.contains(CONTEXT_KEY),
        "{text}"
    );
}

#[tokio::test]
async fn a_menu_choice_arrives_as_selected_option() {
    let env = env_with(2500).await;
    let (post_id, actions) = post_buttons(&env).await;
    env.sim
        .world()
        .click_action("alice", &post_id, &actions[2].0, Some("blue"))
        .await
        .unwrap();
    let seen = env.handler.seen.lock().unwrap().clicks.clone();
    assert_eq!(seen[0].0, "pick");
    assert_eq!(seen[0].2.as_deref(), Some("blue"));
}

#[tokio::test]
async fn a_slow_click_is_acknowledged_and_the_post_updated_later_through_the_api() {
    let env = env_without_inline_clicks(100).await;
    let (post_id, actions) = post_buttons(&env).await;
    let mut events = env.sim.world().subscribe();

    env.sim
        .world()
        .click_action("alice", &post_id, &actions[1].0, None)
        .await
        .unwrap();

    let ack = eventually("the acknowledgement", || match events.try_recv() {
        Ok(SimEvent::EphemeralPost(p)) => Some(p),
        _ => None,
    })
    .await;
    assert_eq!(ack.message, "Working on it…");
    let updated = eventually("the late update", || {
        env.sim
            .world()
            .post(&post_id)
            .filter(|p| p.message == "approved late")
    })
    .await;
    assert!(
        updated.props.get("attachments").is_some(),
        "props omitted → buttons kept"
    );
    // The bot may not post ephemerally (PROTOCOL.md §5.8): the late text goes to the user
    // alone, in a direct message from the bot; nothing is posted in the thread.
    let direct = env.sim.direct_channel("switchboard", "alice").unwrap();
    let told = eventually("the late ephemeral_text, as a direct message", || {
        env.sim.posts_in_channel(&direct).pop()
    })
    .await;
    assert_eq!(told.message, "From a thread in ~town-square: done late");
    assert!(
        !env.sim
            .world()
            .posts_in("main", "town-square")
            .iter()
            .any(|p| p.root_id == post_id),
        "nothing in the thread"
    );
}

#[tokio::test]
async fn a_late_ephemeral_text_is_ephemeral_when_the_bot_may_post_ephemerally() {
    let env = env_without_inline_clicks(100).await;
    env.sim
        .world()
        .set_system_admin("switchboard", true)
        .unwrap();
    let (post_id, actions) = post_buttons(&env).await;
    let mut events = env.sim.world().subscribe();

    env.sim
        .world()
        .click_action("alice", &post_id, &actions[1].0, None)
        .await
        .unwrap();

    let told = eventually("the late ephemeral post", || match events.try_recv() {
        Ok(SimEvent::EphemeralPost(p)) if p.message == "done late" => Some(p),
        _ => None,
    })
    .await;
    assert_eq!(told.ephemeral_for, env.sim.world().user_id("alice"));
    assert_eq!(told.root_id, post_id);
}

#[tokio::test]
async fn the_web_clients_http_calls_reach_the_integration() {
    let env = env_with(2500).await;
    let (post_id, actions) = post_buttons(&env).await;
    let alice = {
        let token = env.sim.world().user_token("alice").unwrap();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap()
    };

    let clicked: Value = alice
        .post(format!(
            "{}api/v4/posts/{post_id}/actions/{}",
            env.sim.url(),
            actions[2].0
        ))
        .json(&json!({"selected_option": "blue"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clicked["status"], "OK");
    assert_eq!(
        clicked["trigger_id"].as_str().unwrap().len(),
        26,
        "the short client trigger id"
    );

    env.sim
        .world()
        .execute_command("alice", "main", "town-square", "/deploy dialog api")
        .await
        .unwrap();
    let dialog = env.sim.world().opened_dialogs().remove(0);
    let response = alice
        .post(format!("{}api/v4/actions/dialogs/submit", env.sim.url()))
        .json(&json!({"url": dialog.url, "callback_id": dialog.callback_id(), "state": dialog.state(),
                      "channel_id": env.channel_id, "team_id": env.team_id, "submission": {"env": "mars"},
                      "cancelled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer, json!({"errors": {"env": "staging or prod"}}));
}

#[tokio::test]
async fn action_contexts_that_are_unsigned_altered_expired_or_misplaced_get_403() {
    let env = env_with(2500).await;
    let signer = env.app.state.signer.clone();
    let body = |context: Value, channel: &str| {
        json!({"user_id": "u", "user_name": "alice", "channel_id": channel, "channel_name": "town-square",
               "team_id": env.team_id, "team_domain": "main", "post_id": "p", "trigger_id": "t",
               "type": "button", "data_source": "", "context": context})
    };
    let token = |claims: Claims| json!({CONTEXT_KEY: signer.sign(&claims)});
    let valid = Claims::new(Purpose::Action, "deploy", "approve", now_secs() + 600)
        .channel(&env.channel_id)
        .data(json!({"service": "web"}));
    let mut altered = signer.sign(&valid);
    altered.replace_range(10..11, "Z");

    for (why, context, channel) in [
        (
            "unsigned",
            json!({"service": "web"}),
            env.channel_id.as_str(),
        ),
        (
            "altered",
            json!({CONTEXT_KEY: altered}),
            env.channel_id.as_str(),
        ),
        (
            "expired",
            token(Claims::new(
                Purpose::Action,
                "deploy",
                "approve",
                now_secs() - 1,
            )),
            env.channel_id.as_str(),
        ),
        (
            "another channel",
            token(valid.clone()),
            "otherchannel00000000000000",
        ),
        (
            "another route",
            token(Claims::new(
                Purpose::Action,
                "plain",
                "approve",
                now_secs() + 600,
            )),
            env.channel_id.as_str(),
        ),
        (
            "a dialog state",
            token(Claims::new(
                Purpose::Dialog,
                "deploy",
                "approve",
                now_secs() + 600,
            )),
            env.channel_id.as_str(),
        ),
    ] {
        let response = env
            .post_json("/actions/deploy", &body(context, channel))
            .await;
        assert_eq!(response.status(), 403, "{why}");
        assert_eq!(response.text().await.unwrap(), "", "{why}");
    }
    let ok = env
        .post_json("/actions/deploy", &body(token(valid), &env.channel_id))
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(
        env.handler.seen.lock().unwrap().clicks.len(),
        1,
        "only the valid click ran"
    );
}

#[tokio::test]
async fn after_key_rotation_old_buttons_still_work_and_new_ones_use_the_new_key() {
    let sim = spawn_sim().await;
    let old_keys = format!("k1:{KEY_A}");
    let settings = test_settings(&sim, 2500, Some(&old_keys));
    let first = start(sim, settings, loopback(), Arc::default()).await;
    let (old_post, old_actions) = post_buttons(&first).await;
    let addr = first.app.addr;
    let Env { sim, app, .. } = first;
    app.stop().await;

    // New key first (it signs), old key kept (it verifies).
    let rotated_keys = format!("k2:{KEY_B},k1:{KEY_A}");
    let settings = test_settings(&sim, 2500, Some(&rotated_keys));
    let second = start(sim, settings, addr, Arc::default()).await;
    second.adopt_command_token("deploy");
    second
        .sim
        .world()
        .click_action("alice", &old_post, &old_actions[2].0, Some("blue"))
        .await
        .expect("a button signed with the old key still works");
    let out = second
        .sim
        .world()
        .execute_command("alice", "main", "town-square", "/deploy buttons api")
        .await
        .unwrap();
    let stored = second.sim.world().post(&out.posts[0].id).unwrap();
    let token = stored.props["attachments"][0]["actions"][0]["integration"]["context"][CONTEXT_KEY]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        token.starts_with("sb1.k2."),
        "new buttons are signed with k2: {token}"
    );
    let Env { sim, app, .. } = second;
    app.stop().await;

    // Once k1 is retired, its buttons are refused.
    let settings = test_settings(&sim, 2500, Some(&format!("k2:{KEY_B}")));
    let third = start(sim, settings, addr, Arc::default()).await;
    let refused = third
        .sim
        .world()
        .click_action("alice", &old_post, &old_actions[2].0, Some("blue"))
        .await
        .unwrap_err();
    assert!(format!("{refused:?}").contains("status=403"), "{refused:?}");
}

// ---------------------------------------------------------------------------------------
// Outgoing webhooks

#[tokio::test]
async fn an_outgoing_hook_with_a_json_payload_answers_in_the_thread() {
    let env = env_with(2500).await;
    env.hook("echo", "deploy", "application/json").await;
    let (post, reply) = env
        .post_and_await_thread_reply("alice", "echo hello world")
        .await;
    assert_eq!(reply.message, "echo: echo hello world");
    assert_eq!(reply.props.get("from_webhook"), Some(&json!("true")));
    let seen = env.handler.seen.lock().unwrap().hooks.clone();
    assert_eq!(seen.len(), 1, "the reply did not trigger the hook again");
    assert_eq!(seen[0].trigger_word, "echo");
    assert_eq!(
        seen[0].timestamp_ms, post.create_at,
        "JSON carries milliseconds"
    );
    assert_eq!(seen[0].post_id, post.id);
}

#[tokio::test]
async fn an_outgoing_hook_with_a_form_payload_has_its_timestamp_normalised() {
    let env = env_with(2500).await;
    env.hook("echo", "deploy", "").await;
    let (post, _reply) = env.post_and_await_thread_reply("bob", "echo form").await;
    let seen = env.handler.seen.lock().unwrap().hooks.clone();
    assert_eq!(
        seen[0].timestamp_ms,
        post.create_at / 1000 * 1000,
        "seconds → ms"
    );
    assert_eq!(seen[0].user_name, "bob");
    assert!(seen[0].file_ids.is_empty());
}

#[tokio::test]
async fn a_slow_hook_reply_is_posted_through_the_api_in_the_thread() {
    let env = env_with(100).await;
    env.hook("echo", "deploy", "application/json").await;
    let (_post, reply) = env
        .post_and_await_thread_reply("alice", "echo slow please")
        .await;
    assert_eq!(reply.message, "echo: echo slow please");
    assert_eq!(
        reply.user_id,
        env.sim.world().user_id("switchboard").unwrap(),
        "posted by the bot"
    );
}

fn hook_json(token: &str, team_id: &str, user_id: &str) -> Value {
    json!({"token": token, "team_id": team_id, "team_domain": "main", "channel_id": "c0000000000000000000000000",
           "channel_name": "town-square", "timestamp": 1_700_000_000_123_i64, "user_id": user_id,
           "user_name": "x", "post_id": "p0000000000000000000000000", "text": "echo hi",
           "trigger_word": "echo", "file_ids": "f1,f2"})
}

#[tokio::test]
async fn the_bots_own_posts_never_reach_the_hook_handler() {
    let env = env_with(2500).await;
    let token = env.hook("echo", "deploy", "application/json").await;
    let bot_id = env.sim.world().user_id("switchboard").unwrap();

    let response = env
        .post_json("/hooks/deploy", &hook_json(&token, &env.team_id, &bot_id))
        .await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "{}", "nothing posted");
    assert!(env.handler.seen.lock().unwrap().hooks.is_empty());
}

#[tokio::test]
async fn bad_hook_requests_get_the_right_4xx_and_never_500() {
    let env = env_with(2500).await;
    let token = env.hook("echo", "deploy", "application/json").await;
    let good = hook_json(&token, &env.team_id, "u0000000000000000000000000");
    let http = &env.app.http;
    let send = |path: &str, content_type: &str, body: Vec<u8>| {
        http.post(env.app.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let wrong_token = hook_json("wrongtoken0000000000000000", &env.team_id, "u");
    let r = env.post_json("/hooks/deploy", &wrong_token).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.text().await.unwrap(), "");
    let mut no_token = good.clone();
    no_token.as_object_mut().unwrap().remove("token");
    let r = env.post_json("/hooks/deploy", &no_token).await;
    assert_eq!(r.status(), 401, "a missing token fails verification");
    let r = send("/hooks/deploy", "text/plain", good.to_string().into_bytes())
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = send("/hooks/deploy", "application/json", b"{not json".to_vec())
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = send(
        "/hooks/deploy",
        "application/json",
        br#"{"token": 5}"#.to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.text().await.unwrap().contains("token"),
        "the reason names the field"
    );
    let r = send(
        "/hooks/deploy",
        "application/x-www-form-urlencoded",
        b"token=x&timestamp=soon".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let huge = vec![b'a'; 300 * 1024];
    let r = send("/hooks/deploy", "application/json", huge)
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = env.post_json("/hooks/nosuchroute", &good).await;
    assert_eq!(r.status(), 404);
    let r = env.post_json("/hooks/deploy", &good).await;
    assert_eq!(r.status(), 200, "the good request still works");
}

#[tokio::test]
async fn a_route_that_does_not_handle_a_kind_says_so_with_404() {
    let env = env_with(2500).await;
    env.app
        .state
        .tokens
        .insert("plain", &env.team_id, "plaintoken0000000000000000");
    let r = env
        .post_json(
            "/hooks/plain",
            &hook_json("plaintoken0000000000000000", &env.team_id, "u"),
        )
        .await;
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("outgoing webhooks"));
}

#[tokio::test]
async fn malformed_dialog_and_action_bodies_get_400_or_415_never_500() {
    let env = env_with(2500).await;
    let http = &env.app.http;
    for path in ["/dialogs/deploy", "/actions/deploy"] {
        for (content_type, body, status) in [
            ("application/json", "{", 400),
            ("application/json", "[]", 400),
            ("application/json", r#"{"user_id": 7}"#, 400),
            ("application/json", "{}", 400),
            ("application/x-www-form-urlencoded", "a=b", 415),
            ("", "{}", 415),
        ] {
            let mut request = http.post(env.app.url(path)).body(body);
            if !content_type.is_empty() {
                request = request.header("content-type", content_type);
            }
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), status, "{path} {content_type} {body}");
        }
    }
    let r = env.post_json("/dialogs/nosuch", &json!({})).await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn signing_keys_come_from_the_environment_format_and_bad_ones_stop_startup() {
    let sim = spawn_sim().await;
    let mut settings = test_settings(&sim, 2500, Some(&format!("k1:{KEY_A}, k0:{KEY_B}")));
    let signer = settings.signing.signer().unwrap().unwrap();
    assert_eq!(signer.signing_key_id(), "k1");
    settings.signing.keys = Some(secrecy::SecretString::from("k1:dG9vc2hvcnQ=".to_owned()));
    let err = settings.signing.signer().unwrap_err().to_string();
    assert!(
        err.contains("at least 32") && !err.contains("dG9vc2hvcnQ"),
        "{err}"
    );
    let _ = SigningKey::generate("x");
}

/// A handler that hands out signed dialogs or buttons.
#[derive(Debug)]
struct Signs;

impl Handler for Signs {
    fn needs_signing(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn serving_a_signing_handler_needs_configured_keys() {
    let sim = spawn_sim().await;
    let start = |settings: Settings| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let routes = switchboard::integrations::RouteSet::default();
        switchboard::startup::Application::with_listener(settings, routes, listener)
            .unwrap()
            .with_handler("approve", Arc::new(Signs))
    };
    // Without keys an ephemeral one would break every dialog at the next restart: refused,
    // naming the route and how to configure keys (the secret itself never appears).
    let err = start(test_settings(&sim, 2500, None))
        .require_signing_keys()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("approve") && err.contains("SWITCHBOARD_SIGNING__KEYS"),
        "{err}"
    );
    // With keys it starts.
    let keyed = test_settings(&sim, 2500, Some(&format!("k1:{KEY_A}")));
    assert!(start(keyed).require_signing_keys().is_ok());
}

#[tokio::test]
async fn serving_declared_dialog_or_button_routes_needs_configured_keys() {
    let sim = spawn_sim().await;
    let start = |settings: Settings| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let routes = switchboard::integrations::load_dir(&settings.routes.dir).unwrap();
        switchboard::startup::Application::with_listener(settings, routes, listener).unwrap()
    };
    let mut settings = test_settings(&sim, 2500, None);
    settings.routes.dir = repo_root().join("routes");
    // The shipped deploy and incident (dialogs) and poll (buttons) routes need keys; hello does not.
    let err = start(settings.clone())
        .require_signing_keys()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("deploy, incident, poll") && err.contains("SWITCHBOARD_SIGNING__KEYS"),
        "{err}"
    );
    assert!(!err.contains("hello"), "{err}");
}

#[tokio::test]
async fn without_keys_a_reload_adding_a_dialog_route_is_rejected() {
    let sim = spawn_sim().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo_root().join("routes/hello.toml"),
        dir.path().join("hello.toml"),
    )
    .unwrap();
    let mut settings = test_settings(&sim, 2500, None);
    settings.routes.dir = dir.path().to_path_buf();
    let routes = switchboard::integrations::load_dir(dir.path()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = switchboard::startup::Application::with_listener(settings, routes, listener).unwrap();
    // No route needs signing yet: serve may start with an ephemeral key…
    app.require_signing_keys().unwrap();

    // …but a reload that adds buttons would hand out what the next restart cannot verify.
    std::fs::copy(
        repo_root().join("routes/poll.toml"),
        dir.path().join("poll.toml"),
    )
    .unwrap();
    let outcome = app.state().routes.reload().await;

    let switchboard::integrations::ReloadOutcome::Rejected(problems) = outcome else {
        panic!("expected the reload to be rejected, got {outcome:?}");
    };
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|p| p.contains("poll.toml") && p.contains("SWITCHBOARD_SIGNING__KEYS")),
        "{text:?}"
    );
    assert!(app.state().routes.current().get("poll").is_none());
}

#[tokio::test]
async fn shutdown_waits_for_a_deferred_reply_before_exiting() {
    let env = env_with(100).await;
    env.command("deploy", "deploy", "P").await;
    let out = env
        .sim
        .world()
        .execute_command("alice", "main", "town-square", "/deploy slow bye")
        .await
        .unwrap();
    assert_eq!(out.posts[0].message, "Working on it…");

    // Stop right away: the handler is still sleeping in the background.
    let Env { sim, app, .. } = env;
    app.stop().await;

    assert!(
        sim.world()
            .posts_in("main", "town-square")
            .iter()
            .any(|p| p.message == "done slowly: bye"),
        "the late answer was delivered before the process stopped"
    );
}
