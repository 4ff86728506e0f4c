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

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::access::RoleCache;
use super::args::Parsed;
use super::context::{Context, Who};
use super::handler::{ActionClick, BoxFuture, Cx, Handler, HandlerError, SubmittedDialog};
use super::reply::{ButtonLinks, Rendered};
use super::{Action, Route, RouteSet, TriggerWhen};
use crate::mattermost::api::NewPost;
use crate::mattermost::models::{ActionIntegration, CommandResponse};
use crate::mattermost::{ChannelId, PostId, TeamId, UserId};
use crate::protocol::{
    ActionResponse, DialogResponse, OutgoingWebhookRequest, OutgoingWebhookResponse, PostUpdate,
    SlashCommandRequest,
};

const SORRY: &str = "Sorry, Switchboard could not do this; the error is in its log.";

/// Shared by every run of a declared route.
#[derive(Debug, Clone, Default)]
pub struct Runtime {
    /// For `http` actions.
    pub http: reqwest::Client,
    /// Cached system roles for `[access] roles`.
    pub roles: Arc<RoleCache>,
    /// Exec concurrency counts, kept across route reloads.
    pub exec_limits: Arc<super::ExecLimiters>,
}

impl Runtime {
    /// A runtime whose role cache and exec limits live in `store` (shared by replicas when it
    /// is).
    pub fn with_store(store: &crate::store::Store) -> Self {
        Runtime {
            http: reqwest::Client::default(),
            roles: Arc::new(RoleCache::new(store.clone())),
            exec_limits: Arc::new(super::ExecLimiters::new(store.clone())),
        }
    }
}

/// One declared route, holding the route set it was found in (so a reload during the request
/// does not change it).
#[derive(Debug, Clone)]
pub struct DeclaredRoute {
    routes: Arc<RouteSet>,
    name: String,
    runtime: Runtime,
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
        DeclaredRoute {
            routes,
            name: name.to_owned(),
            runtime,
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
        tracing::info!(route = %route.name, user = %context.user.name, %reason, "access refused");
        let what = route.command.as_ref().map_or_else(
            || format!("`{}`", route.name),
            |c| format!("`/{}`", c.trigger),
        );
        Some(format!("🚫 You cannot use {what}: {reason}."))
    }

    /// Runs `action` with `context`; `trigger_id` opens dialogs.
    pub(super) async fn run(
        &self,
        cx: &Cx,
        route: &Route,
        action: &Action,
        context: Context,
    ) -> Answer {
        let links = SignedLinks {
            cx,
            channel_id: &context.channel.id.clone(),
        };
        match action {
            Action::Reply(reply) => match reply.render(context, &links) {
                Ok(rendered) => Answer::Reply {
                    rendered,
                    update: reply.update,
                },
                Err(e) => {
                    tracing::error!(route = %route.name, error = %e, "reply template failed");
                    Answer::Ephemeral(SORRY.into())
                }
            },
            Action::Dialog(dialog) => {
                let step = dialog_step(route, action);
                let built = match dialog.build(&context, &step, String::new()) {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::error!(route = %route.name, error = %e, "dialog template failed");
                        return Answer::Ephemeral(SORRY.into());
                    }
                };
                let data = json!({ "args": context.args, "context": context.context });
                match cx
                    .open_dialog(
                        &context.trigger_id,
                        &context.user.id,
                        &context.channel.id,
                        &step,
                        data,
                        built,
                    )
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
                let ticket = match exec.admit(&route.name, &self.runtime.exec_limits).await {
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
                        exec.spawn_live(cx, context, ticket);
                        Answer::Ephemeral(text)
                    }
                    Err(e) => {
                        tracing::error!(route = %route.name, error = %e, "exec template failed");
                        Answer::Ephemeral(SORRY.into())
                    }
                }
            }
            Action::Http(http) => match http.run(&self.runtime.http, context, &links).await {
                Ok(rendered) => Answer::Reply {
                    rendered,
                    update: http.reply.update,
                },
                Err(e) => {
                    tracing::warn!(route = %route.name, error = %e, "http forward failed");
                    Answer::Ephemeral(format!("⚠️ `{}`: {e}.", route.name))
                }
            },
            Action::Post(post) => match post.run(cx.client(), context).await {
                Ok(text) if text.is_empty() => Answer::Nothing,
                Ok(text) => Answer::Ephemeral(text),
                Err(e) => {
                    tracing::warn!(route = %route.name, error = %e, "post action failed");
                    Answer::Ephemeral(format!("⚠️ `{}`: {e}", route.name))
                }
            },
        }
    }

    /// Tells the user something after a dialog submission, which has no reply of its own:
    /// an ephemeral post if the bot may, else a post mentioning them.
    async fn tell(cx: &Cx, context: &Context, answer: Answer) {
        let (text, in_channel, props) = match answer {
            Answer::Nothing => return,
            Answer::Ephemeral(text) => (text, false, Map::new()),
            Answer::Reply { rendered, .. } => {
                let props = rendered.post_props();
                (rendered.text, rendered.in_channel, props)
            }
        };
        let channel = ChannelId::new(context.channel.id.clone());
        if !in_channel {
            let post = NewPost::new(channel.clone(), text.clone());
            let user = UserId::new(context.user.id.clone());
            if cx
                .client()
                .posts()
                .create_ephemeral(&user, &post)
                .await
                .is_ok()
            {
                return;
            }
        }
        let text = if in_channel {
            text
        } else {
            format!("@{} {text}", context.user.name)
        };
        let mut create = cx.client().posts().create(&channel, text);
        if !props.is_empty() {
            create = create.props(props);
        }
        if let Err(e) = create.send().await {
            tracing::error!(error = %e, "the answer to a dialog could not be posted");
        }
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

fn who(id: &str, name: &str) -> Who {
    Who {
        id: id.to_owned(),
        name: name.to_owned(),
    }
}

impl Handler for DeclaredRoute {
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
            let mut context = Context::from_request(request);
            context.route.clone_from(&route.name);
            if !route.args.is_empty() {
                let usage = || route.args.usage(&command.trigger, &command.description);
                match route.args.parse(&request.text) {
                    Ok(Parsed::Help) => return Ok(CommandResponse::ephemeral(usage())),
                    Ok(Parsed::Args(args)) => context.args = args,
                    Err(e) => {
                        return Ok(CommandResponse::ephemeral(format!("⚠️ {e}\n\n{}", usage())));
                    }
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
            let answer = self.run(cx, route, &route.action, context).await;
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
            if dialog.request.cancelled {
                return Ok(DialogResponse::close());
            }
            let holder = if dialog.step == "main" {
                Some(&route.action)
            } else {
                route.actions.get(&dialog.step)
            };
            let Some(Action::Dialog(declared)) = holder else {
                return Err(HandlerError::failed(format!(
                    "dialog step `{}` is not a dialog of route `{}` (changed by a reload?)",
                    dialog.step, route.name
                )));
            };
            let submitted: Map<String, Value> = dialog
                .request
                .submission
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let values = match declared.validate(&submitted) {
                Ok(values) => values,
                Err(errors) => {
                    return Ok(DialogResponse {
                        errors: errors.into_iter().collect(),
                        ..DialogResponse::default()
                    });
                }
            };
            let Some(next) = route.actions.get(&declared.on_submit) else {
                return Err(HandlerError::failed(format!(
                    "on_submit `{}` is not an action of route `{}`",
                    declared.on_submit, route.name
                )));
            };
            let user_name = match cx
                .client()
                .users()
                .get(&UserId::new(dialog.request.user_id.clone()))
                .await
            {
                Ok(user) => user.username,
                Err(e) => {
                    tracing::warn!(error = %e, "looking up the dialog's user failed");
                    String::new()
                }
            };
            let field = |key: &str| -> BTreeMap<String, Value> {
                dialog
                    .data
                    .get(key)
                    .and_then(|v| serde_json::from_value(v.clone()).ok())
                    .unwrap_or_default()
            };
            // A submission carries ids only; templates and access lists use names.
            let client = cx.client();
            let team_name = match client
                .teams()
                .get(&TeamId::new(dialog.request.team_id.clone()))
                .await
            {
                Ok(team) => team.name,
                Err(e) => {
                    tracing::warn!(error = %e, "looking up the dialog's team failed");
                    String::new()
                }
            };
            let channel_name = match client
                .channels()
                .get(&ChannelId::new(dialog.request.channel_id.clone()))
                .await
            {
                Ok(channel) => channel.name,
                Err(e) => {
                    tracing::warn!(error = %e, "looking up the dialog's channel failed");
                    String::new()
                }
            };
            let context = Context {
                route: route.name.clone(),
                user: who(&dialog.request.user_id, &user_name),
                channel: who(&dialog.request.channel_id, &channel_name),
                team: who(&dialog.request.team_id, &team_name),
                args: field("args"),
                context: field("context"),
                submission: values,
                ..Context::default()
            };
            if let Some(refusal) = self.refused(route, cx, &context).await {
                Self::tell(cx, &context, Answer::Ephemeral(refusal)).await;
                return Ok(DialogResponse::close());
            }
            let answer = self.run(cx, route, next, context.clone()).await;
            Self::tell(cx, &context, answer).await;
            Ok(DialogResponse::close())
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
            let request = &click.request;
            let mut button_context: BTreeMap<String, Value> = match &click.data {
                Value::Object(map) => map.clone().into_iter().collect(),
                _ => BTreeMap::new(),
            };
            button_context.insert(
                "selected_option".into(),
                Value::String(click.selected_option().unwrap_or_default().to_owned()),
            );
            let post_props = match cx
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
            Ok(match self.run(cx, route, next, context).await {
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
