//! Running declared routes: [`DeclaredRoute`] is a route of a [`RouteSet`] as a [`Handler`]
//! for every callback kind, and [`Runtime`] holds what runs share (HTTP client, role cache).
//!
//! Order for every trigger: build the template context, parse arguments (slash commands:
//! usage errors and `help` answer with the generated usage), check access (a refusal answers
//! ephemerally and nothing runs), then run the action in one `match` ([`DeclaredRoute::run`]).
//! Every failure the user can act on becomes a message to them; our own failures are logged
//! and answered with a short apology.
//!
//! Dialog `state` and button `context` are signed through [`Cx`] (callback issue), so the
//! arguments carried into a dialog and the values a button passes on cannot be forged.

use std::collections::{BTreeMap, HashSet};
use std::future::{Ready, ready};
use std::sync::Arc;

use futures::future::Either;

use serde_json::{Map, Value, json};

use super::access::RoleCache;
use super::args::Parsed;
use super::context::{Context, Who};
use super::handler::{
    ActionClick, BoxFuture, Cx, DialogLookup, Handler, HandlerError, SubmittedDialog,
};
use super::locate::template_location;
use super::names::{Directory, Needs};
use super::reply::{ButtonLinks, Choices, Rendered, ReplyAction};
use super::{Action, Route, RouteSet, TriggerWhen};
use crate::mattermost::models::{ActionIntegration, CommandResponse};
use crate::mattermost::{ChannelId, PostId};
use crate::protocol::{
    ActionResponse, DialogResponse, LookupItem, LookupResponse, OutgoingWebhookRequest,
    OutgoingWebhookResponse, PostUpdate, SlashCommandRequest,
};

const SORRY: &str = "Sorry, Switchboard could not do this; the error is in its log.";

/// Shared by every run of a declared route.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// For `http` actions; follows no redirect itself (each route decides, see `http.rs`).
    pub http: reqwest::Client,
    /// Cached system roles for `[access] roles`.
    pub roles: Arc<RoleCache>,
    /// Exec concurrency counts, kept across route reloads.
    pub exec_limits: Arc<super::ExecLimiters>,
    /// Names and ids looked up through the API, cached (`names.rs`).
    pub directory: Arc<Directory>,
    /// `[http] allowed_hosts`: the only hosts any `http` action may reach (empty: any).
    pub http_allowed_hosts: Arc<[String]>,
}

impl Runtime {
    /// A runtime whose role cache and exec limits live in `store` (shared by replicas when it
    /// is).
    pub fn with_store(store: &crate::store::Store) -> Self {
        Runtime {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            roles: Arc::new(RoleCache::new(store.clone())),
            exec_limits: Arc::new(super::ExecLimiters::new(store.clone())),
            directory: Arc::default(),
            http_allowed_hosts: Arc::from(Vec::new()),
        }
    }
}

impl Default for Runtime {
    /// Everything in process: right for one replica and for tests.
    fn default() -> Self {
        Runtime::with_store(&crate::store::Store::in_process())
    }
}

/// One declared route, holding the route set it was found in (so a reload during the request
/// does not change it).
#[derive(Debug, Clone)]
pub struct DeclaredRoute {
    routes: Arc<RouteSet>,
    name: String,
    runtime: Runtime,
    /// The names and lookups the route reads (the rest is never looked up).
    needs: Needs,
}

/// Button integrations signed by the callback's [`Cx`], for use in `channel_id`.
struct SignedLinks<'a> {
    cx: &'a Cx,
    channel_id: &'a str,
}

impl ButtonLinks for SignedLinks<'_> {
    fn integration(
        &self,
        route: &str,
        action: &str,
        context: Map<String, Value>,
        once: bool,
    ) -> ActionIntegration {
        let cx = self.cx.for_route(route);
        let data = Value::Object(context);
        let context = if once {
            cx.single_use_action_context(action, self.channel_id, data)
        } else {
            cx.action_context(action, self.channel_id, data)
        };
        ActionIntegration {
            context: Some(context),
            url: cx.action_url(route),
        }
    }
}

/// What an action produced, before it is shaped for the callback kind.
pub(super) enum Answer {
    /// Nothing to say.
    Nothing,
    /// A message for the user only.
    Ephemeral(String),
    /// A rendered reply (in channel or ephemeral, maybe replacing the clicked post).
    Reply { rendered: Rendered, update: bool },
}

impl DeclaredRoute {
    /// The route `name` of `routes`.
    pub fn new(routes: Arc<RouteSet>, name: &str, runtime: Runtime) -> Self {
        let needs = match routes.get(name) {
            Some(route) if !route.source.is_empty() => Needs::of_route(&route.source),
            _ => Needs::ALL,
        };
        DeclaredRoute {
            routes,
            name: name.to_owned(),
            runtime,
            needs,
        }
    }

    pub(super) fn route(&self) -> Result<&Route, HandlerError> {
        self.routes
            .get(&self.name)
            .ok_or_else(|| HandlerError::failed(format!("route `{}` is gone", self.name)))
    }

    pub(super) async fn refused(
        &self,
        route: &Route,
        cx: &Cx,
        context: &Context,
    ) -> Option<String> {
        let reason = route
            .access
            .check(context, &self.runtime.roles, cx.client())
            .await
            .err()?;
        tracing::info!(route = %route.name, user_id = %context.user.id, %reason, "access refused");
        let what = route.command.as_ref().map_or_else(
            || format!("`{}`", route.name),
            |c| format!("`/{}`", c.trigger),
        );
        Some(format!("🚫 You cannot use {what}: {reason}."))
    }

    /// Runs `action` with `context`; `trigger_id` opens dialogs.
    ///
    /// A reply, the commonest action, is rendered at once; the other actions wait for I/O and
    /// run as a boxed future. A caller's future so holds a pointer rather than the other
    /// actions' state (1.2 kB, with the context), which it would carry for a reply too.
    pub(super) fn run<'a>(
        &'a self,
        cx: &'a Cx,
        route: &'a Route,
        action: &'a Action,
        mut context: Box<Context>,
    ) -> Either<Ready<Answer>, BoxFuture<'a, Answer>> {
        route.declared.fill(&mut context);
        match action {
            Action::Reply(reply) => Either::Left(ready(Self::reply(cx, route, reply, context))),
            _ => Either::Right(Box::pin(self.run_io(cx, route, action, context))),
        }
    }

    /// Renders a `[reply]`.
    fn reply(cx: &Cx, route: &Route, reply: &ReplyAction, context: Box<Context>) -> Answer {
        let links = SignedLinks {
            cx,
            channel_id: &context.channel.id.clone(),
        };
        match reply.render(context, &links) {
            Ok(rendered) => Answer::Reply {
                rendered,
                update: reply.update,
            },
            Err(e) => {
                tracing::error!(route = %route.name, at = %template_location(route, &e), error = %e, "reply template failed");
                Answer::Ephemeral(SORRY.into())
            }
        }
    }

    /// [`Self::run`] for the actions that wait for I/O. Not an `async fn`, whose future would
    /// hold the context twice (as given, and as its body's variable).
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn's future holds its arguments twice"
    )]
    fn run_io<'a>(
        &'a self,
        cx: &'a Cx,
        route: &'a Route,
        action: &'a Action,
        context: Box<Context>,
    ) -> impl Future<Output = Answer> + Send + 'a {
        async move {
            let links = SignedLinks {
                cx,
                channel_id: &context.channel.id.clone(),
            };
            match action {
                Action::Reply(reply) => Self::reply(cx, route, reply, context),
                Action::Dialog(dialog) => {
                    let step = dialog_step(route, action);
                    let built = match dialog.build(&context, &step, String::new()) {
                        Ok(mut d) => {
                            dialog.set_lookup_url(&mut d, &cx.lookup_url(&step));
                            if dialog.refreshes() {
                                d.source_url = Some(cx.dialog_url(&route.name));
                            }
                            d
                        }
                        Err(e) => {
                            tracing::error!(route = %route.name, at = %template_location(route, &e), error = %e, "dialog template failed");
                            return Answer::Ephemeral(SORRY.into());
                        }
                    };
                    let data = json!({ "args": context.args, "context": context.context });
                    match Box::pin(cx.open_dialog(
                        &context.trigger_id,
                        &context.user.id,
                        &context.channel.id,
                        &step,
                        data,
                        built,
                    ))
                    .await
                    {
                        Ok(()) => Answer::Nothing,
                        Err(e) => {
                            tracing::error!(route = %route.name, error = %e, "opening the dialog failed");
                            Answer::Ephemeral(
                                "⚠️ The dialog could not be opened; please try again.".into(),
                            )
                        }
                    }
                }
                Action::Exec(exec) => {
                    // Argv and environment are rendered again when the run starts; a template
                    // that cannot render is reported now, with its place, and nothing starts.
                    if let Err(e) = exec.prepare(&context) {
                        tracing::error!(route = %route.name, at = %template_location(route, &e), error = %e, "exec template failed");
                        return Answer::Ephemeral(SORRY.into());
                    }
                    let ticket = match Box::pin(exec.admit(&route.name, &self.runtime.exec_limits))
                        .await
                    {
                        Ok(Some(ticket)) => ticket,
                        Ok(None) => {
                            return Answer::Ephemeral(format!(
                                "⏳ `{}` is busy (every slot and queue place is taken); try later.",
                                route.name
                            ));
                        }
                        Err(e) => {
                            // Fail closed: without the count, the limit cannot be kept.
                            tracing::error!(route = %route.name, error = %e, "exec limits unavailable");
                            return Answer::Ephemeral(format!(
                                "⚠️ `{}` could not be started: its run limits cannot be checked right now; try again shortly.",
                                route.name
                            ));
                        }
                    };
                    match exec.started_text(&context, &ticket) {
                        Ok(text) => {
                            exec.spawn_live(cx, *context, ticket);
                            Answer::Ephemeral(text)
                        }
                        Err(e) => {
                            tracing::error!(route = %route.name, at = %template_location(route, &e), error = %e, "exec template failed");
                            Answer::Ephemeral(SORRY.into())
                        }
                    }
                }
                Action::Http(http) => match Box::pin(http.run(
                    &self.runtime.http,
                    &self.runtime.http_allowed_hosts,
                    *context,
                    &links,
                ))
                .await
                {
                    Ok(rendered) => Answer::Reply {
                        rendered,
                        update: http.reply.update,
                    },
                    Err(e) => {
                        if let super::HttpError::Template(t) = &e {
                            tracing::error!(route = %route.name, at = %template_location(route, t), error = %t, "http template failed");
                        }
                        tracing::warn!(route = %route.name, error = %e, "http forward failed");
                        Answer::Ephemeral(format!("⚠️ `{}`: {e}.", route.name))
                    }
                },
                Action::Post(post) => {
                    match Box::pin(post.run(cx.client(), &self.runtime.directory, *context)).await {
                        Ok(text) if text.is_empty() => Answer::Nothing,
                        Ok(text) => Answer::Ephemeral(text),
                        Err(e) => {
                            if let super::PostError::Template(t) = &e {
                                tracing::error!(route = %route.name, at = %template_location(route, t), error = %t, "post template failed");
                            }
                            tracing::warn!(route = %route.name, error = %e, "post action failed");
                            Answer::Ephemeral(format!("⚠️ `{}`: {}.", route.name, e.user_message()))
                        }
                    }
                }
            }
        }
    }

    /// Tells the user something after a dialog submission, which has no reply of its own:
    /// an `in_channel` answer as a post in the channel; any other only to them (an ephemeral
    /// post if the bot may, else a direct message from the bot: `server/deliver.rs`).
    async fn tell(&self, cx: &Cx, context: &Context, answer: Answer) {
        let (text, in_channel, props) = match answer {
            Answer::Nothing => return,
            Answer::Ephemeral(text) => (text, false, Map::new()),
            Answer::Reply { rendered, .. } => {
                let props = rendered.post_props();
                (rendered.text, rendered.in_channel, props)
            }
        };
        let props = (!props.is_empty()).then_some(props);
        if !in_channel {
            let to = crate::server::deliver::Recipient {
                user_id: &context.user.id,
                channel_id: &context.channel.id,
                root_id: &context.root_id,
            };
            crate::server::deliver::tell_user(cx.client(), to, &text, props).await;
            return;
        }
        let channel = ChannelId::new(context.channel.id.clone());
        // No command response to split it (as `split_long_text` does): cut to fit, or
        // Mattermost refuses the whole answer.
        let text = crate::protocol::clip_to_post_limit(text);
        let mut create = cx.client().posts().create(&channel, text);
        if let Some(props) = props {
            create = create.props(props);
        }
        if let Err(e) = create.send().await {
            tracing::error!(error = %e, "the answer to a dialog could not be posted");
        }
    }
}

/// An ephemeral answer Mattermost shows as written: generated usage (`<berlin|paris>`) and
/// echoed user words must not go through its Slack-link parsing, which would turn
/// `<a|b>` into a link (PROTOCOL.md §1.5 `skip_slack_parsing`).
fn verbatim(text: String) -> CommandResponse {
    let mut response = CommandResponse::ephemeral(text);
    response.skip_slack_parsing = Some(true);
    response
}

/// What the route's buttons and menus that run `action` allow a click to carry.
fn click_choices(route: &Route, action: &str) -> Choices {
    let mut choices = Choices::default();
    for declared in std::iter::once(&route.action).chain(route.actions.values()) {
        match declared {
            Action::Reply(reply) => reply.choices_for(action, &mut choices),
            Action::Http(http) => http.reply.choices_for(action, &mut choices),
            _ => {}
        }
    }
    choices
}

impl DeclaredRoute {
    /// Looks up every `user` and `channel` argument given (through the shared cache; a
    /// channel in the request's team) and records its id for `{{ args.<name>.id }}`; the
    /// problem, as the user is told, when one does not exist or cannot be checked.
    async fn check_mentions(
        &self,
        cx: &Cx,
        route: &Route,
        context: &mut Context,
    ) -> Result<(), String> {
        let directory = &self.runtime.directory;
        for (name, kind) in route.args.mentions() {
            let Some(Value::String(given)) = context.args.get(name) else {
                continue;
            };
            let (found, shown) = match kind {
                super::ArgType::Channel => (
                    directory
                        .channel_by_name(cx.client(), &context.team.id, given)
                        .await,
                    format!("channel `~{given}`"),
                ),
                _ => (
                    directory.user_by_name(cx.client(), given).await,
                    format!("user `@{given}`"),
                ),
            };
            match found {
                Ok(Some(who)) => {
                    context.arg_ids.insert(name.to_owned(), who.id);
                }
                Ok(None) => return Err(format!("There is no {shown}.")),
                Err(e) => {
                    tracing::warn!(error = %e, argument = name, "checking an argument failed");
                    return Err(format!("The {shown} could not be checked; try again."));
                }
            }
        }
        Ok(())
    }
}

/// Which kind of id [`DeclaredRoute::name_of`] looks up.
#[derive(Debug, Clone, Copy)]
enum Kind {
    User,
    Channel,
    Team,
}

/// The map `key` of a dialog's signed route data (`args`, `context`, earlier steps'
/// `submission`); empty when absent.
fn signed_map(data: &Value, key: &str) -> BTreeMap<String, Value> {
    data.get(key)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

impl DeclaredRoute {
    /// Runs `next`, the action a dialog submission leads to, once the submission was accepted
    /// (`values`: every step's values), and tells the user what it answered.
    async fn run_submitted(
        &self,
        cx: &Cx,
        route: &Route,
        next: &Action,
        dialog: &SubmittedDialog,
        values: BTreeMap<String, Value>,
    ) -> Result<DialogResponse, HandlerError> {
        let context = self.dialog_context(cx, route, dialog, values).await;
        if let Some(refusal) = self.refused(route, cx, &context).await {
            self.tell(cx, &context, Answer::Ephemeral(refusal)).await;
            return Ok(DialogResponse::close());
        }
        let answer = self.run(cx, route, next, Box::new(context.clone())).await;
        self.tell(cx, &context, answer).await;
        Ok(DialogResponse::close())
    }

    /// What a submission's templates see: the route, who sent it from where, the signed
    /// `args` and `context`, and `submission`. A submission carries ids only; names are
    /// looked up (cached) only for a route whose templates or access lists read them.
    async fn dialog_context(
        &self,
        cx: &Cx,
        route: &Route,
        dialog: &SubmittedDialog,
        submission: BTreeMap<String, Value>,
    ) -> Context {
        let request = &dialog.request;
        let (user_name, channel_name, team_name) = tokio::join!(
            self.name_of(cx, self.needs.user_name, Kind::User, &request.user_id),
            self.name_of(
                cx,
                self.needs.channel_name,
                Kind::Channel,
                &request.channel_id
            ),
            self.name_of(cx, self.needs.team_name, Kind::Team, &request.team_id),
        );
        let mut context = Context {
            route: route.name.clone(),
            user: who(&request.user_id, &user_name),
            channel: who(&request.channel_id, &channel_name),
            team: who(&request.team_id, &team_name),
            args: signed_map(&dialog.data, "args"),
            context: signed_map(&dialog.data, "context"),
            submission,
            ..Context::default()
        };
        route.declared.fill(&mut context);
        context
    }

    /// The name of the user, channel or team `id` when `needed` (through the shared cache),
    /// else empty. A failed lookup is logged and leaves the name empty.
    async fn name_of(&self, cx: &Cx, needed: bool, kind: Kind, id: &str) -> String {
        if !needed || id.is_empty() {
            return String::new();
        }
        let directory = &self.runtime.directory;
        let found = match kind {
            Kind::User => directory.user(cx.client(), id).await,
            Kind::Channel => directory.channel(cx.client(), id).await,
            Kind::Team => directory.team(cx.client(), id).await,
        };
        match found {
            Ok(Some(who)) => who.name,
            Ok(None) => {
                tracing::warn!(?kind, id, "the dialog's {kind:?} does not exist");
                String::new()
            }
            Err(e) => {
                tracing::warn!(?kind, error = %e, "looking up a name for the dialog failed");
                String::new()
            }
        }
    }
}

/// The dialog of step `step` of `route` (the inverse of [`dialog_step`]); `None` when that
/// step is not a dialog (a reload changed the route since the dialog was opened).
fn dialog_at<'r>(route: &'r Route, step: &str) -> Option<&'r super::DialogAction> {
    let action = if step == "main" {
        Some(&route.action)
    } else {
        route.actions.get(step)
    };
    match action {
        Some(Action::Dialog(declared)) => Some(declared),
        _ => None,
    }
}

/// A dialog's step name: the named action holding it, or `main`.
fn dialog_step(route: &Route, action: &Action) -> String {
    route
        .actions
        .iter()
        .find(|(_, a)| std::ptr::eq(*a, action))
        .map_or_else(|| "main".to_owned(), |(name, _)| name.clone())
}

/// A field refresh (`type: "refresh"`): the same step built again with the values so far
/// (`show_when` decides what is shown, entered values stay), under the same state, which a
/// refresh does not use up.
fn refreshed(
    cx: &Cx,
    route: &Route,
    declared: &super::DialogAction,
    dialog: &SubmittedDialog,
    shown_in: &Context,
) -> DialogResponse {
    match declared.build(shown_in, &dialog.step, dialog.request.state.clone()) {
        Ok(mut form) => {
            declared.set_lookup_url(&mut form, &cx.lookup_url(&dialog.step));
            form.source_url = Some(cx.dialog_url(&route.name));
            DialogResponse::form(form)
        }
        Err(e) => {
            tracing::error!(route = %route.name, at = %template_location(route, &e), error = %e, "dialog template failed");
            DialogResponse::error(SORRY)
        }
    }
}

/// The next step of a multi-step dialog, answered as `type: "form"`: it carries the values
/// so far (and what opened the first step) in its own signed, single-use state, bound to the
/// same user and channel, with the step's name as `callback_id`.
fn next_step(
    cx: &Cx,
    route: &Route,
    next: &Action,
    step: &super::DialogAction,
    dialog: &SubmittedDialog,
    context: &Context,
) -> DialogResponse {
    let name = dialog_step(route, next);
    match step.build(context, &name, String::new()) {
        Ok(mut form) => {
            step.set_lookup_url(&mut form, &cx.lookup_url(&name));
            if step.refreshes() {
                form.source_url = Some(cx.dialog_url(&route.name));
            }
            // The web client sends the first step's callback_id with every later step.
            let first = dialog
                .data
                .get(crate::server::FIRST_STEP)
                .and_then(Value::as_str)
                .unwrap_or(&dialog.step);
            let data = json!({
                "args": context.args,
                "context": context.context,
                "submission": context.submission,
                crate::server::FIRST_STEP: first,
            });
            let form = cx.sign_dialog(
                form,
                &name,
                &dialog.request.user_id,
                &dialog.request.channel_id,
                data,
            );
            // A state too long to verify would refuse the next step's submission; say so now,
            // with the dialog still open, instead.
            if form
                .state
                .as_ref()
                .is_some_and(|s| s.len() > crate::signing::MAX_TOKEN_BYTES)
            {
                return DialogResponse::error(
                    "These answers are too long to carry to the next step; please shorten them.",
                );
            }
            DialogResponse::form(form)
        }
        Err(e) => {
            tracing::error!(route = %route.name, at = %template_location(route, &e), error = %e, "dialog template failed");
            DialogResponse::error(SORRY)
        }
    }
}

fn who(id: &str, name: &str) -> Who {
    Who {
        id: id.to_owned(),
        name: name.to_owned(),
    }
}

impl Handler for DeclaredRoute {
    /// A declared route's late answer is its only use of the URL.
    fn reuses_response_url(&self) -> bool {
        false
    }

    fn slash_command<'a>(
        &'a self,
        cx: &'a Cx,
        request: &'a SlashCommandRequest,
    ) -> BoxFuture<'a, Result<CommandResponse, HandlerError>> {
        Box::pin(async move {
            let route = self.route()?;
            let Some(command) = &route.command else {
                return Err(HandlerError::Unsupported(super::CallbackKind::SlashCommand));
            };
            // Boxed: it moves through `run`, `reply` and `render` (552 bytes a move, #12).
            let mut context = Box::new(Context::from_request(request));
            context.route.clone_from(&route.name);
            // A NUL or other control character would reach templates, argv and environment
            // variables (`SWITCHBOARD_TEXT`): refused before anything runs. With declared
            // arguments the parser refuses it naming the argument; without, here.
            if route.args.is_empty() {
                if let Some(problem) = super::dialog::control_character(&request.text, true) {
                    return Ok(verbatim(format!("⚠️ {problem}")));
                }
            }
            if !route.args.is_empty() {
                let usage = || route.args.usage(&command.trigger, &command.description);
                match route.args.parse(&request.text) {
                    Ok(Parsed::Help) => return Ok(verbatim(usage())),
                    Ok(Parsed::Args(args)) => context.args = args,
                    Err(e) => return Ok(verbatim(format!("⚠️ {e}\n\n{}", usage()))),
                }
                if let Err(problem) = Box::pin(self.check_mentions(cx, route, &mut context)).await {
                    return Ok(verbatim(format!("⚠️ {problem}\n\n{}", usage())));
                }
            }
            if let Some(refusal) = self.refused(route, cx, &context).await {
                return Ok(CommandResponse::ephemeral(refusal));
            }
            Ok(match self.run(cx, route, &route.action, context).await {
                Answer::Nothing => CommandResponse::ephemeral(""),
                Answer::Ephemeral(text) => CommandResponse::ephemeral(text),
                Answer::Reply { rendered, .. } => rendered.into_command_response(),
            })
        })
    }

    fn outgoing_hook<'a>(
        &'a self,
        cx: &'a Cx,
        request: &'a OutgoingWebhookRequest,
    ) -> BoxFuture<'a, Result<OutgoingWebhookResponse, HandlerError>> {
        Box::pin(async move {
            let route = self.route()?;
            let Some(hook) = &route.hook else {
                return Err(HandlerError::Unsupported(super::CallbackKind::OutgoingHook));
            };
            // Mattermost filters by first word; "anywhere" hooks get the whole channel.
            if hook.trigger_when == TriggerWhen::Anywhere
                && !request.text.split_whitespace().any(|w| {
                    hook.trigger_words
                        .iter()
                        .any(|t| w.trim_matches(|c: char| !c.is_alphanumeric()) == t)
                })
            {
                return Ok(OutgoingWebhookResponse::none());
            }
            // As for a command's text: a NUL or terminal control would reach templates,
            // argv and the environment. Line breaks are a post's own.
            if let Some(problem) = super::dialog::control_character(&request.text, true) {
                return Ok(OutgoingWebhookResponse::comment(format!("⚠️ {problem}")));
            }
            let mut context = Context {
                route: route.name.clone(),
                user: who(&request.user_id, &request.user_name),
                channel: who(&request.channel_id, &request.channel_name),
                team: who(&request.team_id, &request.team_domain),
                text: request.text.clone(),
                post_id: request.post_id.clone(),
                trigger_word: request.trigger_word.clone(),
                ..Context::default()
            };
            if let Some(pattern) = &route.hook_pattern {
                let Some(captures) = pattern.captures(&request.text) else {
                    return Ok(OutgoingWebhookResponse::none());
                };
                context.captures = pattern
                    .capture_names()
                    .flatten()
                    .map(|n| {
                        let value = captures.name(n).map_or("", |m| m.as_str());
                        (n.to_owned(), value.to_owned())
                    })
                    .collect();
            }
            if let Some(refusal) = self.refused(route, cx, &context).await {
                return Ok(OutgoingWebhookResponse::comment(refusal));
            }
            let answer = self.run(cx, route, &route.action, Box::new(context)).await;
            Ok(match answer {
                Answer::Nothing => OutgoingWebhookResponse::none(),
                // A hook has no ephemeral answer; a reply in the thread is the quiet option.
                Answer::Ephemeral(text) => OutgoingWebhookResponse::comment(text),
                Answer::Reply { rendered, .. } => {
                    let mut response = if rendered.in_channel {
                        OutgoingWebhookResponse::post(rendered.text.clone())
                    } else {
                        OutgoingWebhookResponse::comment(rendered.text.clone())
                    };
                    response.username = rendered.username.clone();
                    response.icon_url = rendered.icon_url.clone();
                    if !rendered.attachments.is_empty() {
                        response.attachments = Some(rendered.attachments.clone());
                    }
                    if !rendered.props.is_empty() {
                        response.props = Some(rendered.props);
                    }
                    response
                }
            })
        })
    }

    fn dialog_submission<'a>(
        &'a self,
        cx: &'a Cx,
        dialog: &'a SubmittedDialog,
    ) -> BoxFuture<'a, Result<DialogResponse, HandlerError>> {
        Box::pin(async move {
            let route = self.route()?;
            let Some(declared) = dialog_at(route, &dialog.step) else {
                return Err(HandlerError::failed(format!(
                    "dialog step `{}` is not a dialog of route `{}` (changed by a reload?)",
                    dialog.step, route.name
                )));
            };
            // Earlier steps' values come from the signed state, never from the browser's copy.
            let earlier = signed_map(&dialog.data, "submission");
            // What the browser sent for this step (earlier steps' echoed copies dropped).
            let mut submitted: Map<String, Value> = dialog
                .request
                .submission
                .iter()
                .filter(|(k, _)| !earlier.contains_key(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            // The top-level `file_ids` is the documented source of a lone file element's ids.
            let lone_file = declared.file_limits(&HashSet::new());
            if let [only] = lone_file.as_slice() {
                let unset = submitted
                    .get(&only.name)
                    .is_none_or(|v| v.is_null() || v.as_str() == Some(""));
                if unset && !dialog.request.file_ids.is_empty() {
                    submitted.insert(
                        only.name.clone(),
                        Value::Array(
                            dialog
                                .request
                                .file_ids
                                .iter()
                                .map(|id| Value::String(id.clone()))
                                .collect(),
                        ),
                    );
                }
            }
            // The contexts below are made only when something reads them: most dialogs have
            // no `show_when`, lookup or rule, and a submission that only validates copies
            // nothing (the copies were a tenth of such a submission's instructions, #12).
            let shown_in = || {
                let mut as_sent = earlier.clone();
                as_sent.extend(submitted.clone());
                self.dialog_context(cx, route, dialog, as_sent)
            };
            if dialog.request.kind == "refresh" {
                let shown_in = shown_in().await;
                return Ok(refreshed(cx, route, declared, dialog, &shown_in));
            }
            let hidden = if declared.shows_every_element() {
                HashSet::new()
            } else {
                match declared.hidden(&shown_in().await) {
                    Ok(hidden) => hidden,
                    Err(e) => {
                        tracing::error!(route = %route.name, at = %template_location(route, &e), error = %e, "show_when template failed");
                        return Err(HandlerError::failed("a show_when template failed"));
                    }
                }
            };
            let (next_name, values) = if dialog.request.cancelled {
                let Some(on_cancel) = &declared.on_cancel else {
                    return Ok(DialogResponse::close());
                };
                (on_cancel, earlier)
            } else {
                let mut values =
                    match declared.validate_at(&submitted, jiff::Timestamp::now(), &hidden) {
                        Ok(values) => values,
                        Err(errors) => {
                            return Ok(DialogResponse {
                                errors: errors.into_iter().collect(),
                                ..DialogResponse::default()
                            });
                        }
                    };
                let files = declared.file_limits(&hidden);
                if !files.is_empty() {
                    // Boxed: this future (API calls) is large and rarely needed; inline, its
                    // size would be copied into every submission's future.
                    match Box::pin(super::dialog_files::verify(
                        cx.client(),
                        &dialog.request.user_id,
                        &files,
                        &values,
                    ))
                    .await
                    {
                        Ok(errors) if errors.is_empty() => {}
                        Ok(errors) => {
                            return Ok(DialogResponse {
                                errors: errors.into_iter().collect(),
                                ..DialogResponse::default()
                            });
                        }
                        Err(e) => {
                            tracing::warn!(route = %route.name, error = %e, "checking the dialog's files failed");
                            return Ok(DialogResponse::error(
                                "The uploaded files could not be checked; try again.",
                            ));
                        }
                    }
                }
                for (k, v) in earlier {
                    values.entry(k).or_insert(v);
                }
                if declared.checks_further() {
                    // Who and where, as the lookup saw them (an http lookup may send
                    // `user.id`), and the rules may read.
                    let checked = self.dialog_context(cx, route, dialog, values.clone()).await;
                    let env = super::LookupEnv {
                        http: &self.runtime.http,
                        global_hosts: &self.runtime.http_allowed_hosts,
                    };
                    match declared.check_lookups(&checked, env).await {
                        Ok(Ok(())) => {}
                        Ok(Err(errors)) => {
                            return Ok(DialogResponse {
                                errors: errors.into_iter().collect(),
                                ..DialogResponse::default()
                            });
                        }
                        Err(e) => {
                            tracing::error!(route = %route.name, at = %template_location(route, &e), error = %e, "lookup template failed");
                            return Err(HandlerError::failed("a lookup could not be evaluated"));
                        }
                    }
                    match declared.refusal(&checked) {
                        Ok(None) => {}
                        Ok(Some(message)) => return Ok(DialogResponse::error(message)),
                        Err(e) => {
                            tracing::error!(route = %route.name, at = %template_location(route, &e), error = %e, "dialog rule template failed");
                            return Err(HandlerError::failed(
                                "a dialog rule could not be evaluated",
                            ));
                        }
                    }
                }
                // Only validation declared: close with `{}`, no lookup, nothing runs.
                let Some(on_submit) = &declared.on_submit else {
                    return Ok(DialogResponse::close());
                };
                (on_submit, values)
            };
            let Some(next) = route.actions.get(next_name) else {
                return Err(HandlerError::failed(format!(
                    "`{next_name}` is not an action of route `{}`",
                    route.name
                )));
            };
            if let Action::Dialog(step) = next {
                if !dialog.request.cancelled {
                    let context = self.dialog_context(cx, route, dialog, values).await;
                    return Ok(next_step(cx, route, next, step, dialog, &context));
                }
            }
            // Boxed: running an action (exec, http, posts…) is a large future; inline, every
            // submission's future would carry its size (bench S3: a 22 kB copy per request).
            Box::pin(self.run_submitted(cx, route, next, dialog, values)).await
        })
    }

    fn dialog_lookup<'a>(
        &'a self,
        _cx: &'a Cx,
        lookup: &'a DialogLookup,
    ) -> BoxFuture<'a, Result<LookupResponse, HandlerError>> {
        Box::pin(async move {
            let route = self.route()?;
            let Some(declared) = dialog_at(route, &lookup.step) else {
                return Ok(LookupResponse::default());
            };
            let field = |key: &str| signed_map(&lookup.dialog.data, key);
            // The values so far, as the browser sent them (unchecked: they only shape the
            // list; the submission is checked again in full), under the signed earlier steps.
            let mut values: BTreeMap<String, Value> = lookup
                .dialog
                .request
                .submission
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "query" | "selected_field"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            values.extend(field("submission"));
            let context = Context {
                route: route.name.clone(),
                user: who(&lookup.dialog.request.user_id, ""),
                channel: who(&lookup.dialog.request.channel_id, ""),
                args: field("args"),
                context: field("context"),
                submission: values,
                ..Context::default()
            };
            let env = super::LookupEnv {
                http: &self.runtime.http,
                global_hosts: &self.runtime.http_allowed_hosts,
            };
            match declared
                .lookup(&lookup.field, &lookup.query, &context, env)
                .await
            {
                None => Ok(LookupResponse::default()),
                Some(Ok(items)) => Ok(LookupResponse {
                    items: items
                        .into_iter()
                        .map(|(value, text)| LookupItem::new(text, value))
                        .collect(),
                }),
                Some(Err(super::LookupError::Template(e))) => {
                    tracing::error!(route = %route.name, at = %template_location(route, &e), error = %e, "lookup template failed");
                    Err(HandlerError::failed("the lookup template failed"))
                }
                Some(Err(e)) => {
                    // The service failed: the user sees no options (Mattermost shows "No
                    // results"), never a server error; the log says why.
                    tracing::warn!(route = %route.name, field = %lookup.field, error = %e, "http lookup failed");
                    Ok(LookupResponse::default())
                }
            }
        })
    }

    fn action<'a>(
        &'a self,
        cx: &'a Cx,
        click: &'a ActionClick,
    ) -> BoxFuture<'a, Result<ActionResponse, HandlerError>> {
        Box::pin(async move {
            let route = self.route()?;
            let Some(next) = route.actions.get(&click.action) else {
                return Ok(ActionResponse::ephemeral(
                    "This button belongs to an older version of the integration.",
                ));
            };
            if let Some(refusal) =
                click_choices(route, &click.action).refusal(click.selected_option())
            {
                tracing::info!(route = %route.name, action = %click.action, "click refused: {refusal}");
                return Ok(ActionResponse::ephemeral(format!("⚠️ {refusal}")));
            }
            let request = &click.request;
            let mut button_context: BTreeMap<String, Value> = match &click.data {
                Value::Object(map) => map.clone().into_iter().collect(),
                _ => BTreeMap::new(),
            };
            button_context.insert(
                "selected_option".into(),
                Value::String(click.selected_option().unwrap_or_default().to_owned()),
            );
            // The clicked post is read only for a route that reads its props.
            let post_props = if self.needs.post_props {
                match cx
                    .client()
                    .posts()
                    .get(&PostId::new(request.post_id.clone()))
                    .await
                {
                    Ok(post) => post.props.into_iter().collect(),
                    Err(e) => {
                        tracing::warn!(error = %e, "reading the clicked post failed");
                        BTreeMap::new()
                    }
                }
            } else {
                BTreeMap::new()
            };
            let context = Context {
                route: route.name.clone(),
                user: who(&request.user_id, &request.user_name),
                channel: who(&request.channel_id, &request.channel_name),
                team: who(&request.team_id, &request.team_domain),
                post_id: request.post_id.clone(),
                trigger_id: request.trigger_id.clone(),
                context: button_context,
                post_props,
                ..Context::default()
            };
            if let Some(refusal) = self.refused(route, cx, &context).await {
                return Ok(ActionResponse::ephemeral(refusal));
            }
            Ok(match self.run(cx, route, next, Box::new(context)).await {
                Answer::Nothing => ActionResponse::none(),
                Answer::Ephemeral(text) => ActionResponse::ephemeral(text),
                Answer::Reply {
                    rendered,
                    update: true,
                } => {
                    let mut update = PostUpdate::message(rendered.text.clone());
                    update.props = Some(rendered.post_props());
                    ActionResponse::update(update)
                }
                Answer::Reply { rendered, .. } => ActionResponse::ephemeral(rendered.text),
            })
        })
    }
}
