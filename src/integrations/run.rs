//! Running declared routes: [`DeclaredRoute`] is a route of a [`RouteSet`] as a
//! [`Handler`](super::Handler) for every callback kind, and [`Runtime`] holds what runs share
//! (HTTP client, role cache).
//!
//! Order for every trigger: build the template context, parse arguments (slash commands:
//! usage errors and `help` answer with the generated usage), check access (a refusal answers
//! ephemerally and nothing runs), then run the action in one `match` ([`DeclaredRoute::run`]).
//! Every failure the user can act on becomes a message to them; our own failures are logged
//! and answered with a short apology.
//!
//! Dialog `state` and button `context` are signed through [`Cx`] (callback issue), so the
//! arguments carried into a dialog and the values a button passes on cannot be forged.
//!
//! Here: the route, its access check and running its action. Beside it: `callbacks` (the
//! `Handler` methods, one per callback kind) and `dialog_steps` (a submission's context, the
//! step it leads to, field refreshes).

use std::future::{Ready, ready};
use std::sync::Arc;

use futures::future::Either;

use serde_json::{Map, Value, json};

use super::access::RoleCache;
use super::context::{Context, Who};
use super::handler::{BoxFuture, Cx, HandlerError};
use super::locate::template_location;
use super::names::{Directory, Needs};
use super::reply::{ButtonLinks, Choices, Rendered, ReplyAction};
use super::{Action, Route, RouteSet};
use crate::mattermost::ChannelId;
use crate::mattermost::models::{ActionIntegration, CommandResponse};
use dialog_steps::dialog_step;

mod callbacks;
mod dialog_steps;

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

fn who(id: &str, name: &str) -> Who {
    Who {
        id: id.to_owned(),
        name: name.to_owned(),
    }
}
