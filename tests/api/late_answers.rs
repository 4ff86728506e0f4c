//! Late answers on bad days, through the simulator's fault injection: a `response_url` that
//! fails transiently is retried, one that never works is replaced by a message through the
//! API (to the user alone: the bot may not post ephemerally, so a direct message), a button's
//! late `update` the bot may not make reaches the user anyway, and a dialog whose handler
//! answers too late with errors tells its user so.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard::integrations::{
    ActionClick, BoxFuture, Cx, Handler, HandlerError, SubmittedDialog,
};
use switchboard::mattermost::models::{CommandResponse, Dialog, DialogElement, MessageAttachment};
use switchboard::protocol::{ActionResponse, DialogResponse, PostUpdate, SlashCommandRequest};
use switchboard::sim::{Fault, FaultKind, SimEvent, SimPost, Simulator};

use crate::helpers::*;

/// `/late <text>`: answers `done: <text>` after 300 ms (over the 100 ms budget); `/late
/// quiet <text>` does so ephemerally; `/late buttons`: an in-channel post (written as the
/// user who ran it) with a button whose click takes `click_ms`; `/late dialog`: a dialog whose
/// submission is answered after 300 ms: `env` = `moon` gets a field error, `boom` fails, the
/// rest closes it.
#[derive(Debug)]
struct Late {
    click_ms: u64,
}

impl Handler for Late {
    fn slash_command<'a>(
        &'a self,
        cx: &'a Cx,
        request: &'a SlashCommandRequest,
    ) -> BoxFuture<'a, Result<CommandResponse, HandlerError>> {
        Box::pin(async move {
            if request.text == "dialog" {
                let dialog =
                    Dialog::new("Deploy").element(DialogElement::text("env", "Environment"));
                cx.open_dialog(
                    &request.trigger_id,
                    &request.user_id,
                    &request.channel_id,
                    "slow",
                    json!({}),
                    dialog,
                )
                .await?;
                return Ok(CommandResponse::default());
            }
            if request.text == "buttons" {
                let mut response = CommandResponse::in_channel("Vote?");
                let mut a = MessageAttachment::default();
                a.actions = vec![cx.button("Yes", "yes", &request.channel_id, json!({}))];
                response.attachments = Some(vec![a]);
                return Ok(response);
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(match request.text.strip_prefix("quiet ") {
                Some(rest) => CommandResponse::ephemeral(format!("done: {rest}")),
                None => CommandResponse::in_channel(format!("done: {}", request.text)),
            })
        })
    }

    fn dialog_submission<'a>(
        &'a self,
        _cx: &'a Cx,
        dialog: &'a SubmittedDialog,
    ) -> BoxFuture<'a, Result<DialogResponse, HandlerError>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            match dialog.request.value("env").unwrap_or_default().as_str() {
                "moon" => Ok(DialogResponse::default().field_error("env", "staging or prod")),
                "boom" => Err(HandlerError::failed("the deploy service is down")),
                _ => Ok(DialogResponse::close()),
            }
        })
    }

    fn action<'a>(
        &'a self,
        _cx: &'a Cx,
        click: &'a ActionClick,
    ) -> BoxFuture<'a, Result<ActionResponse, HandlerError>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(self.click_ms)).await;
            Ok(ActionResponse::update(PostUpdate::message(format!(
                "Yes: @{}",
                click.request.user_name
            ))))
        })
    }
}

struct Env {
    sim: Simulator,
    app: TestApp,
}

async fn env(click_ms: u64, configure: impl FnOnce(&mut switchboard::config::Settings)) -> Env {
    let sim = spawn_sim().await;
    let empty = tempfile::tempdir().unwrap();
    let mut settings = settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        empty.path(),
    );
    std::mem::forget(empty);
    settings.callbacks.budget_ms = 100;
    configure(&mut settings);
    let app = spawn_app_with(settings, loopback(), move |app| {
        app.with_handler("late", Arc::new(Late { click_ms }))
    })
    .await;
    app.wait_ready().await;
    let team_id = sim.world().team_id("main").unwrap();
    let created: Value = reqwest::Client::new()
        .post(format!("{}api/v4/commands", sim.url()))
        .bearer_auth(sim.bot_token())
        .json(
            &json!({"team_id": team_id, "trigger": "late", "method": "P",
                      "url": app.url("/commands/late")}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    app.state
        .tokens
        .insert("late", &team_id, created["token"].as_str().unwrap());
    Env { sim, app }
}

async fn eventually<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

impl Env {
    async fn run(&self, line: &str) -> Vec<SimPost> {
        self.sim
            .world()
            .execute_command("alice", "main", "town-square", line)
            .await
            .unwrap()
            .posts
    }

    fn posts_saying(&self, text: &str) -> Vec<SimPost> {
        self.sim
            .world()
            .posts_in("main", "town-square")
            .into_iter()
            .filter(|p| p.message.contains(text))
            .collect()
    }

    /// The bot's direct messages to `user`, oldest first.
    fn direct_to(&self, user: &str) -> Vec<SimPost> {
        let channel = self.sim.direct_channel("switchboard", user).unwrap();
        self.sim.posts_in_channel(&channel)
    }

    async fn metric(&self, name: &str, labels: &[&str]) -> f64 {
        let text = reqwest::get(self.app.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| l.starts_with(name) && labels.iter().all(|want| l.contains(want)))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

#[tokio::test]
async fn a_late_answer_survives_transient_response_url_failures() {
    let env = env(0, |_| {}).await;
    let hooks = "/hooks/commands/";
    let cases = [
        ("503", Fault::on(hooks, FaultKind::Status(503)).times(2)),
        ("500", Fault::on(hooks, FaultKind::Status(500)).times(1)),
        (
            "429",
            Fault::on(
                hooks,
                FaultKind::RateLimited {
                    retry_after_secs: 1,
                },
            )
            .times(1),
        ),
        ("reset", Fault::on(hooks, FaultKind::Reset).times(2)),
    ];
    for (name, fault) in cases {
        env.sim.world().inject(fault);
        let ack = env.run(&format!("/late {name}")).await;
        assert_eq!(ack[0].message, "Working on it…", "{name}");
        let wanted = format!("done: {name}");
        eventually(&wanted, Duration::from_secs(10), || {
            let posts = env.posts_saying(&wanted);
            (!posts.is_empty()).then_some(posts)
        })
        .await;
        assert_eq!(
            env.sim.world().pending_faults(),
            0,
            "{name}: faults used up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(env.posts_saying(&wanted).len(), 1, "{name}: posted once");
    }
}

#[tokio::test]
async fn a_late_answer_response_url_never_takes_reaches_the_user_through_the_api() {
    let env = env(0, |_| {}).await;
    env.sim
        .world()
        .inject(Fault::on("/hooks/commands/", FaultKind::Reset));
    env.run("/late quiet lost?").await;
    // Five attempts (0.5 + 1 + 2 + 4 s apart), then the API: the bot may not post
    // ephemerally, so it tells the user in a direct message, saying where from.
    let told = eventually(
        "the answer through the API",
        Duration::from_secs(20),
        || env.direct_to("alice").pop(),
    )
    .await;
    assert_eq!(told.message, "From ~town-square: done: lost?");
    assert_eq!(
        told.user_id,
        env.sim.world().user_id("switchboard").unwrap()
    );
    assert!(
        env.posts_saying("done: lost?").is_empty(),
        "an ephemeral answer is never posted in the channel"
    );
    assert!(
        env.metric(
            "switchboard_late_fallbacks_total",
            &["kind=\"command\"", "via=\"direct\""]
        )
        .await
            >= 1.0
    );
}

async fn click_buttons(env: &Env) -> String {
    let posts = env.run("/late buttons").await;
    let post = &posts[0];
    assert_eq!(
        post.user_id,
        env.sim.world().user_id("alice").unwrap(),
        "a command's answer is written as the user who ran it"
    );
    let actions = env.sim.world().action_ids(&post.id);
    env.sim
        .world()
        .click_action("bob", &post.id, &actions[0].0, None)
        .await
        .unwrap();
    post.id.clone()
}

#[tokio::test]
async fn a_slow_click_on_a_post_the_bot_may_not_edit_is_answered_inline() {
    let env = env(700, |_| {}).await;
    // A bot that is not team admin lacks edit_others_posts: a late PATCH would be refused.
    env.sim
        .world()
        .set_team_admin("switchboard", "main", false)
        .unwrap();
    let mut events = env.sim.world().subscribe();
    let post_id = click_buttons(&env).await;
    // The click returned after the handler: Mattermost applied the update itself.
    assert_eq!(env.sim.world().post(&post_id).unwrap().message, "Yes: @bob");
    assert!(
        !std::iter::from_fn(|| events.try_recv().ok())
            .any(|e| matches!(e, SimEvent::EphemeralPost(p) if p.message == "Working on it…")),
        "no acknowledgement: the answer was inline"
    );
}

#[tokio::test]
async fn a_click_too_slow_even_for_that_is_shown_to_the_user_when_the_edit_is_refused() {
    let env = env(1500, |s| s.callbacks.action_inline_ms = 600).await;
    env.sim
        .world()
        .set_team_admin("switchboard", "main", false)
        .unwrap();
    let post_id = click_buttons(&env).await;
    let told = eventually("the refused update, shown", Duration::from_secs(10), || {
        env.direct_to("bob").pop()
    })
    .await;
    assert_eq!(told.message, "From a thread in ~town-square: Yes: @bob");
    assert_eq!(env.sim.world().post(&post_id).unwrap().message, "Vote?");
    assert!(
        !env.posts_saying("Yes: @bob")
            .iter()
            .any(|p| p.id != post_id),
        "nothing about bob's click is posted in the channel"
    );
    assert!(
        env.metric(
            "switchboard_late_fallbacks_total",
            &["kind=\"action\"", "via=\"direct\""]
        )
        .await
            >= 1.0
    );
}

/// A local service answering `{"answer": …}` after 300 ms (over the 100 ms budget).
async fn slow_answer_service() -> String {
    let app = axum::Router::new().route(
        "/answer",
        axum::routing::post(|| async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            axum::Json(json!({"answer": "forty-two"}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/answer")
}

/// The `response_url` the simulator sent with the next slash command it runs.
async fn next_response_url(events: &mut tokio::sync::broadcast::Receiver<SimEvent>) -> String {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .expect("the simulator called the integration")
            .unwrap();
        if let SimEvent::IntegrationCalled(call) = event {
            if call.kind == "slash command" {
                return url::form_urlencoded::parse(call.request_body.as_bytes())
                    .find(|(k, _)| k == "response_url")
                    .map(|(_, v)| v.into_owned())
                    .expect("a response_url in the form");
            }
        }
    }
}

#[tokio::test]
async fn a_response_url_use_count_is_kept_only_while_the_handler_could_use_it_again() {
    let service = slow_answer_service().await;
    let routes = tempfile::tempdir().unwrap();
    std::fs::write(
        routes.path().join("ask.toml"),
        format!(
            "[command]\ntrigger = \"ask\"\n[http]\nmethod = \"POST\"\nurl = {service:?}\n\
             [http.reply]\ntext = \"💡 {{{{ response.json.answer }}}}\"\n"
        ),
    )
    .unwrap();
    let dir = routes.path().to_path_buf();
    let env = env(0, |settings| settings.routes.dir = dir).await;
    let mut events = env.sim.world().subscribe();

    // A Rust handler may keep its `Cx` and answer again: the count stays for the 30 minutes.
    env.run("/late kept").await;
    let kept = next_response_url(&mut events).await;
    eventually(
        "the Rust handler's late answer",
        Duration::from_secs(5),
        || env.posts_saying("done: kept").pop(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(env.app.state.response_urls.uses(&kept).await, 1);

    // A declared route answers once: its count is forgotten as soon as the answer is out.
    let ack = env.run("/ask what is it").await;
    assert_eq!(ack[0].message, "Working on it…");
    let forgotten = next_response_url(&mut events).await;
    loop {
        let event = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .expect("the declared route's late answer")
            .unwrap();
        if matches!(&event, SimEvent::EphemeralPost(post) if post.message.contains("forty-two")) {
            break;
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while env.app.state.response_urls.uses(&forgotten).await != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the declared route's response_url count is still kept"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A handler that answers after the budget moves to a task of its own; what that task logs
/// still carries the callback's context (request id, route, caller), like its inline lines.
#[tokio::test]
async fn a_late_answer_is_logged_in_the_context_of_its_callback() {
    let (sink, _guard) = crate::ops::capture_logs("info", switchboard::config::LogFormat::Json);
    let env = env(0, |_| {}).await;
    let ack = env.run("/late logged").await;
    assert_eq!(ack[0].message, "Working on it…");
    eventually("the late answer", Duration::from_secs(10), || {
        let posts = env.posts_saying("done: logged");
        (!posts.is_empty()).then_some(posts)
    })
    .await;
    let text = sink.text();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let find = |message: &str| {
        lines
            .iter()
            .find(|l| l["fields"]["message"] == message && l["span"]["route"] == "late")
            .unwrap_or_else(|| panic!("no {message:?} line for /late: {text}"))
    };
    let answered = find("callback answered");
    let late = find("handler finished after the budget; delivering its answer late");
    let request_id = answered["span"]["request_id"].as_str().unwrap();
    assert!(!request_id.is_empty(), "{answered}");
    assert_eq!(late["span"]["request_id"], request_id, "{late}");
    assert_eq!(late["span"]["kind"], "commands");
    assert_eq!(
        late["span"]["user_id"],
        env.sim.world().user_id("alice").unwrap().as_str()
    );
    assert_eq!(late["spans"][0]["name"], "request");
}

/// A dialog handler slower than the budget: the dialog closes at once (Mattermost would
/// otherwise give up on it), and what the handler says later reaches the user in the channel
/// the dialog was opened from: the field errors, or the apology when it failed. A late
/// success says nothing more.
#[tokio::test]
async fn a_dialog_answered_too_late_tells_its_user_the_errors_or_the_failure() {
    let env = env(0, |_| {}).await;
    let world = env.sim.world();
    // Each submission in a dialog of its own: the dialog closed at once, so its state is
    // spent (single use).
    let submit = |env_value: &str| {
        let mut values = serde_json::Map::new();
        values.insert("env".into(), json!(env_value));
        let world = world.clone();
        let env = &env;
        async move {
            env.run("/late dialog").await;
            let dialog = world.opened_dialogs().pop().unwrap();
            world
                .submit_dialog("alice", "main", "town-square", &dialog, values, false)
                .await
                .unwrap()
        }
    };

    assert_eq!(submit("moon").await, json!({}), "closed within the budget");
    let told = eventually("the late field errors", Duration::from_secs(10), || {
        env.direct_to("alice").pop()
    })
    .await;
    // The bot may not post ephemerally here, so it tells the user in a direct message.
    assert_eq!(
        told.message,
        "From ~town-square:\nYour submission could not be accepted:\nenv: staging or prod"
    );
    assert!(
        env.posts_saying("Your submission could not be accepted")
            .is_empty()
    );
    assert!(
        !told.message.contains("the deploy service is down"),
        "the handler's error stays in the log"
    );

    assert_eq!(submit("boom").await, json!({}));
    eventually("the late apology", Duration::from_secs(10), || {
        env.direct_to("alice")
            .into_iter()
            .find(|p| p.message.contains("could not process this"))
    })
    .await;

    let before = world.posts_in("main", "town-square").len();
    assert_eq!(submit("prod").await, json!({}));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        world.posts_in("main", "town-square").len(),
        before,
        "a late success adds nothing"
    );
}
