//! [`Handler`]: what a route does with each kind of callback, and [`Cx`], what it may use
//! while doing it.
//!
//! The server verifies every callback (token, or signature on dialog state and action
//! context), parses it into a typed payload, finds the route's handler in [`Handlers`] and
//! calls the method for that kind. A handler answers with the typed reply; the server
//! serialises it the way Mattermost reads it and, if the handler overruns the callback budget,
//! acknowledges at once and delivers the answer later (see `server/deferred.rs`).
//!
//! Declared routes (`routes/*.toml`) implement `Handler`; Rust code registers its own with
//! [`Application::with_handler`](crate::startup::Application::with_handler).
//!
//! The trait is object safe (`Arc<dyn Handler>`): each method returns a boxed future that may
//! borrow the handler, the context and the payload. Every method has a default answering
//! [`HandlerError::Unsupported`], which the server turns into a 404 naming what the route does
//! not handle, so a handler implements only the kinds it uses.
//!
//! ```
//! use switchboard::integrations::{BoxFuture, Cx, Handler, HandlerError};
//! use switchboard::mattermost::models::CommandResponse;
//! use switchboard::protocol::SlashCommandRequest;
//!
//! #[derive(Debug)]
//! struct Echo;
//!
//! impl Handler for Echo {
//!     fn slash_command<'a>(
//!         &'a self,
//!         _cx: &'a Cx,
//!         request: &'a SlashCommandRequest,
//!     ) -> BoxFuture<'a, Result<CommandResponse, HandlerError>> {
//!         Box::pin(async move { Ok(CommandResponse::ephemeral(request.text.clone())) })
//!     }
//! }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use serde_json::{Map, Value};
use tokio_util::task::TaskTracker;
use url::Url;

use super::{DeclaredRoute, RouteSet, RouteTable, Runtime};
use crate::mattermost::Client;
use crate::mattermost::models::{
    ActionIntegration, ActionOption, CommandResponse, Dialog, PostAction,
};
use crate::protocol::{
    ActionResponse, DialogResponse, DialogSubmissionRequest, OutgoingWebhookRequest,
    OutgoingWebhookResponse, PostActionRequest, ResponseUrlError, ResponseUrls,
    SlashCommandRequest,
};
use crate::signing::{Claims, Purpose, Signer, now_secs};

/// A boxed, `Send` future borrowing for `'a`: what [`Handler`] methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The key under which a signed token travels in an action's `context`.
pub const CONTEXT_KEY: &str = "switchboard";

/// The four kinds of callback Mattermost sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallbackKind {
    /// `/commands/{route}`.
    SlashCommand,
    /// `/hooks/{route}`.
    OutgoingHook,
    /// `/dialogs/{route}`.
    DialogSubmission,
    /// `/actions/{route}`.
    Action,
}

impl fmt::Display for CallbackKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CallbackKind::SlashCommand => "slash commands",
            CallbackKind::OutgoingHook => "outgoing webhooks",
            CallbackKind::DialogSubmission => "dialog submissions",
            CallbackKind::Action => "message actions",
        })
    }
}

/// Why a handler could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandlerError {
    /// The route does not handle this kind of callback (the server answers 404).
    #[error("this route does not handle {0}")]
    Unsupported(CallbackKind),
    /// A call to Mattermost failed.
    #[error("Mattermost API call failed: {0}")]
    Mattermost(#[from] crate::mattermost::Error),
    /// A `response_url` could not be used.
    #[error(transparent)]
    ResponseUrl(#[from] ResponseUrlError),
    /// Anything else; the message goes to the log, the user sees a generic apology.
    #[error("{0}")]
    Failed(String),
}

impl HandlerError {
    /// A failure with a message (for the log).
    pub fn failed(message: impl Into<String>) -> Self {
        HandlerError::Failed(message.into())
    }
}

fn unsupported<'a, T: Send + 'a>(kind: CallbackKind) -> BoxFuture<'a, Result<T, HandlerError>> {
    Box::pin(async move { Err(HandlerError::Unsupported(kind)) })
}

/// A verified dialog submission: the request plus what Switchboard signed into its state.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SubmittedDialog {
    /// The request as Mattermost sent it (`user_id` checked against the signed state).
    pub request: DialogSubmissionRequest,
    /// The step the dialog was opened for (its signed `callback_id`).
    pub step: String,
    /// The route's own data, as signed when the dialog was opened.
    pub data: Value,
}

/// A verified lookup of a dynamic select.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DialogLookup {
    /// The request with its verified state; `submission` holds the values so far.
    pub dialog: SubmittedDialog,
    /// The dialog step whose element is looked up (from Switchboard's lookup URL).
    pub step: String,
    /// The element (`selected_field`).
    pub field: String,
    /// The typed text (`query`).
    pub query: String,
}

/// A verified button click or menu choice: the request plus what Switchboard signed into the
/// action's context.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ActionClick {
    /// The request as Mattermost sent it.
    pub request: PostActionRequest,
    /// The action's name, as signed.
    pub action: String,
    /// The route's own data, as signed.
    pub data: Value,
}

impl ActionClick {
    /// The menu option picked, if any (not signed: the user chooses it).
    pub fn selected_option(&self) -> Option<&str> {
        self.request.selected_option()
    }
}

/// What a route does with each kind of callback. See the module docs.
pub trait Handler: Send + Sync + fmt::Debug + 'static {
    /// Whether this route hands out signed dialogs or buttons. `switchboard serve` refuses to
    /// start without configured signing keys when any route says yes (an ephemeral key would
    /// break every dialog and button at the next restart or on another replica).
    fn needs_signing(&self) -> bool {
        false
    }

    /// Whether this handler may use a slash command's `response_url` again after its answer
    /// was delivered late (it kept a clone of the [`Cx`], or the URL, e.g. in a spawned task).
    /// When not, the URL's use count is forgotten as soon as the late answer has gone instead
    /// of being kept for the URL's 30 minutes: the count is a courtesy (Mattermost enforces
    /// the 5 uses itself), and kept, it costs about 130 bytes per late answer for those 30
    /// minutes. Declared routes answer once and say no; the default is yes.
    fn reuses_response_url(&self) -> bool {
        true
    }

    /// A slash command (token verified). The reply goes back as the callback's answer, or
    /// through `response_url` if it is late.
    fn slash_command<'a>(
        &'a self,
        cx: &'a Cx,
        request: &'a SlashCommandRequest,
    ) -> BoxFuture<'a, Result<CommandResponse, HandlerError>> {
        let _ = (cx, request);
        unsupported(CallbackKind::SlashCommand)
    }

    /// A post matching an outgoing webhook (token verified; the bot's own posts never arrive).
    fn outgoing_hook<'a>(
        &'a self,
        cx: &'a Cx,
        request: &'a OutgoingWebhookRequest,
    ) -> BoxFuture<'a, Result<OutgoingWebhookResponse, HandlerError>> {
        let _ = (cx, request);
        unsupported(CallbackKind::OutgoingHook)
    }

    /// A dialog submission or cancellation (signed state verified). The state is used once:
    /// the server records it before calling this, refuses copies sent later or at the same
    /// time, and gives it back when the answer keeps the dialog open with errors (so the
    /// corrected submission, which carries the same state, is accepted).
    fn dialog_submission<'a>(
        &'a self,
        cx: &'a Cx,
        dialog: &'a SubmittedDialog,
    ) -> BoxFuture<'a, Result<DialogResponse, HandlerError>> {
        let _ = (cx, dialog);
        unsupported(CallbackKind::DialogSubmission)
    }

    /// A dynamic select's lookup (the dialog's signed state verified, not used up): the
    /// options of `lookup.field` for `lookup.query`.
    fn dialog_lookup<'a>(
        &'a self,
        cx: &'a Cx,
        lookup: &'a DialogLookup,
    ) -> BoxFuture<'a, Result<crate::protocol::LookupResponse, HandlerError>> {
        let _ = (cx, lookup);
        unsupported(CallbackKind::DialogSubmission)
    }

    /// A button click or menu choice (signed context verified; a context made with
    /// [`Cx::single_use_action_context`] arrives here once).
    fn action<'a>(
        &'a self,
        cx: &'a Cx,
        click: &'a ActionClick,
    ) -> BoxFuture<'a, Result<ActionResponse, HandlerError>> {
        let _ = (cx, click);
        unsupported(CallbackKind::Action)
    }
}

/// Every route's handler, by route name: handlers registered in code, then the declared
/// routes of the live [`RouteTable`] (so a hot reload is seen by the next request, and a
/// request keeps the route set it started with).
#[derive(Debug, Clone, Default)]
pub struct Handlers {
    by_route: HashMap<String, Arc<dyn Handler>>,
    declared: Option<(RouteTable, Runtime)>,
    /// The declared routes' handlers, built once per route set (not per request).
    declared_handlers: Arc<ArcSwapOption<DeclaredHandlers>>,
}

/// The handler of every route of one route set.
#[derive(Debug)]
struct DeclaredHandlers {
    routes: Arc<RouteSet>,
    by_route: HashMap<String, Arc<dyn Handler>>,
}

impl Handlers {
    /// The handlers of the declared routes in `table`, run with `runtime`.
    pub fn declared(table: RouteTable, runtime: Runtime) -> Self {
        Handlers {
            by_route: HashMap::new(),
            declared: Some((table, runtime)),
            declared_handlers: Arc::default(),
        }
    }

    /// The handlers of a fixed set of declared routes (no reload).
    pub fn from_routes(routes: RouteSet) -> Self {
        Handlers::declared(RouteTable::new(routes, "."), Runtime::default())
    }

    /// The runtime declared routes run with (shared exec limits and role cache).
    pub fn runtime(&self) -> Option<&Runtime> {
        self.declared.as_ref().map(|(_, runtime)| runtime)
    }

    /// Sets the handler of `route`; returns the one it replaces.
    pub fn insert(
        &mut self,
        route: impl Into<String>,
        handler: Arc<dyn Handler>,
    ) -> Option<Arc<dyn Handler>> {
        self.by_route.insert(route.into(), handler)
    }

    /// Whether a handler registered in code serves `route` (it wins over a declared route).
    pub fn registered_in_code(&self, route: &str) -> bool {
        self.by_route.contains_key(route)
    }

    /// The handler of `route`: registered in code, or declared in the current route set.
    pub fn get(&self, route: &str) -> Option<Arc<dyn Handler>> {
        if let Some(handler) = self.by_route.get(route) {
            return Some(handler.clone());
        }
        let (table, runtime) = self.declared.as_ref()?;
        let routes = table.current();
        if let Some(built) = &*self.declared_handlers.load()
            && Arc::ptr_eq(&built.routes, &routes)
        {
            return built.by_route.get(route).cloned();
        }
        // First request since a (re)load: one handler per route of the new set.
        let by_route = routes
            .iter()
            .map(|r| {
                let handler: Arc<dyn Handler> =
                    Arc::new(DeclaredRoute::new(routes.clone(), &r.name, runtime.clone()));
                (r.name.clone(), handler)
            })
            .collect();
        let built = Arc::new(DeclaredHandlers { routes, by_route });
        let handler = built.by_route.get(route).cloned();
        self.declared_handlers.store(Some(built));
        handler
    }

    /// Routes whose handler hands out signed dialogs or buttons (handlers registered in code
    /// and the declared routes they do not replace), sorted.
    pub fn needing_signing(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .by_route
            .iter()
            .filter(|(_, h)| h.needs_signing())
            .map(|(n, _)| n.clone())
            .collect();
        if let Some((table, _)) = &self.declared {
            names.extend(
                table
                    .current()
                    .needing_signing()
                    .into_iter()
                    .filter(|name| !self.by_route.contains_key(name)),
            );
        }
        names.sort_unstable();
        names
    }

    /// Route names, sorted.
    pub fn routes(&self) -> Vec<String> {
        let mut names: Vec<String> = self.by_route.keys().cloned().collect();
        if let Some((table, _)) = &self.declared {
            names.extend(table.current().iter().map(|r| r.name.clone()));
        }
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// How long signed things stay valid.
#[derive(Debug, Clone, Copy)]
pub struct SigningTtl {
    /// Dialog state (from opening to submitting).
    pub dialog: Duration,
    /// Action context (from posting the button to clicking it).
    pub action: Duration,
}

/// The context a handler runs in: the API client, the signer, URL builders, ids.
#[derive(Debug, Clone)]
pub struct Cx {
    parts: Arc<CxParts>,
    route: String,
    request_id: String,
    /// When the callback arrived (a `response_url`'s 30 minutes count from then).
    arrived: Instant,
}

/// The parts a [`Cx`] is built from (the server fills it for each callback).
#[derive(Debug, Clone)]
pub struct CxParts {
    /// The Mattermost client (the bot).
    pub client: Client,
    /// Signs dialog state and action context.
    pub signer: Signer,
    /// Where Mattermost reaches Switchboard.
    pub public_url: Url,
    /// Lifetimes of signed things.
    pub ttl: SigningTtl,
    /// `response_url` use tracking, shared by all callbacks.
    pub response_urls: ResponseUrls,
    /// Tracks work that outlives the callback, so graceful shutdown waits for it.
    pub background: TaskTracker,
    /// Cancelled when the shutdown grace period is over: background work still running should
    /// then record that it was cut off (see [`Cx::interruption`]).
    pub interrupt: tokio_util::sync::CancellationToken,
}

impl Cx {
    /// A context for a callback on `route` with request id `request_id`. Contexts of all
    /// callbacks share one `parts`.
    pub fn new(
        parts: impl Into<Arc<CxParts>>,
        route: impl Into<String>,
        request_id: impl Into<String>,
    ) -> Self {
        Cx {
            parts: parts.into(),
            route: route.into(),
            request_id: request_id.into(),
            arrived: Instant::now(),
        }
    }

    /// The same context for another route (to hand a dialog or button to another handler).
    pub fn for_route(&self, route: impl Into<String>) -> Cx {
        Cx {
            parts: self.parts.clone(),
            route: route.into(),
            request_id: self.request_id.clone(),
            arrived: self.arrived,
        }
    }

    /// The Mattermost API client, authenticated as the bot.
    pub fn client(&self) -> &Client {
        &self.parts.client
    }

    /// Runs `work` after the callback has been answered, tracked so that graceful shutdown
    /// waits for it (within the grace period) instead of dropping it silently.
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.parts.background.spawn(work);
    }

    /// Cancelled when shutdown's grace period is over and work in the background is about to
    /// be dropped: a long job selects on it to leave a final word ("interrupted") behind.
    pub fn interruption(&self) -> tokio_util::sync::CancellationToken {
        self.parts.interrupt.clone()
    }

    /// The signer (for custom signed values; dialogs and buttons below use it already).
    pub fn signer(&self) -> &Signer {
        &self.parts.signer
    }

    /// The route this callback arrived on.
    pub fn route(&self) -> &str {
        &self.route
    }

    /// The request id of this callback (also in the logs and the `X-Request-ID` header).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    fn url(&self, kind: &str, route: &str) -> String {
        let route: String =
            percent_encoding::utf8_percent_encode(route, percent_encoding::NON_ALPHANUMERIC)
                .collect();
        format!(
            "{}/{kind}/{route}",
            self.parts.public_url.as_str().trim_end_matches('/')
        )
    }

    /// `<public_url>/commands/<route>`.
    pub fn command_url(&self, route: &str) -> String {
        self.url("commands", route)
    }

    /// `<public_url>/hooks/<route>`.
    pub fn hook_url(&self, route: &str) -> String {
        self.url("hooks", route)
    }

    /// `<public_url>/dialogs/<route>`.
    pub fn dialog_url(&self, route: &str) -> String {
        self.url("dialogs", route)
    }

    /// `<public_url>/dialogs/<route>/lookup?step=<step>`: where dynamic selects of dialog step
    /// `step` look their options up.
    pub fn lookup_url(&self, step: &str) -> String {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("step", step)
            .finish();
        format!("{}/lookup?{query}", self.dialog_url(&self.route))
    }

    /// `<public_url>/actions/<route>`.
    pub fn action_url(&self, route: &str) -> String {
        self.url("actions", route)
    }

    /// A signed dialog `state` for step `step` of this route, valid for `user_id` in
    /// `channel_id` until the dialog TTL runs out, carrying `data`. Single-use: the server
    /// records the first accepted submission and refuses the state after it.
    pub fn dialog_state(&self, step: &str, user_id: &str, channel_id: &str, data: Value) -> String {
        let expires = now_secs().saturating_add(secs(self.parts.ttl.dialog));
        self.parts.signer.sign(
            &Claims::new(Purpose::Dialog, &self.route, step, expires)
                .user(user_id)
                .channel(channel_id)
                .data(data)
                .unique(),
        )
    }

    /// Prepares `dialog` for this route: `callback_id` = `step`, `state` signed for `user_id`
    /// in `channel_id` with `data`.
    pub fn sign_dialog(
        &self,
        mut dialog: Dialog,
        step: &str,
        user_id: &str,
        channel_id: &str,
        data: Value,
    ) -> Dialog {
        dialog.callback_id = Some(step.to_owned());
        dialog.state = Some(self.dialog_state(step, user_id, channel_id, data));
        dialog
    }

    /// Opens `dialog` (signed as by [`Cx::sign_dialog`]) for the user of `trigger_id`;
    /// submissions come back to this route's `dialog_submission`. Call it before answering
    /// the callback that carried the trigger id: older servers let it live 3 s only.
    pub async fn open_dialog(
        &self,
        trigger_id: &str,
        user_id: &str,
        channel_id: &str,
        step: &str,
        data: Value,
        dialog: Dialog,
    ) -> Result<(), HandlerError> {
        let dialog = self.sign_dialog(dialog, step, user_id, channel_id, data);
        self.parts
            .client
            .dialogs()
            .open(trigger_id, &self.dialog_url(&self.route), &dialog)
            .await?;
        Ok(())
    }

    /// A signed action context for action `action` of this route, usable in `channel_id`
    /// (`""`: any channel) until the action TTL runs out.
    pub fn action_context(
        &self,
        action: &str,
        channel_id: &str,
        data: Value,
    ) -> Map<String, Value> {
        let expires = now_secs().saturating_add(secs(self.parts.ttl.action));
        let token = self.parts.signer.sign(
            &Claims::new(Purpose::Action, &self.route, action, expires)
                .channel(channel_id)
                .data(data),
        );
        let mut context = Map::new();
        context.insert(CONTEXT_KEY.to_owned(), Value::String(token));
        context
    }

    /// Like [`Cx::action_context`], but usable once: the first accepted click uses it up (on
    /// every replica sharing the store) and later ones are refused before the handler runs.
    pub fn single_use_action_context(
        &self,
        action: &str,
        channel_id: &str,
        data: Value,
    ) -> Map<String, Value> {
        let expires = now_secs().saturating_add(secs(self.parts.ttl.action));
        let token = self.parts.signer.sign(
            &Claims::new(Purpose::Action, &self.route, action, expires)
                .channel(channel_id)
                .data(data)
                .once(),
        );
        let mut context = Map::new();
        context.insert(CONTEXT_KEY.to_owned(), Value::String(token));
        context
    }

    /// A button whose clicks come back to this route's `action` as `action`, with `data`.
    /// Its id is left unset so Mattermost generates one.
    pub fn button(&self, label: &str, action: &str, channel_id: &str, data: Value) -> PostAction {
        PostAction {
            action_type: "button".to_owned(),
            name: label.to_owned(),
            integration: Some(ActionIntegration {
                context: Some(self.action_context(action, channel_id, data)),
                url: self.action_url(&self.route),
            }),
            ..PostAction::default()
        }
    }

    /// A static menu whose choices come back to this route's `action` as `action`.
    pub fn menu(
        &self,
        placeholder: &str,
        action: &str,
        channel_id: &str,
        data: Value,
        options: Vec<ActionOption>,
    ) -> PostAction {
        PostAction {
            action_type: "select".to_owned(),
            options,
            ..self.button(placeholder, action, channel_id, data)
        }
    }

    /// Posts `response` to a slash command's `response_url`, as JSON with the exact content
    /// type Mattermost requires, retrying transient failures with backoff (a reset, 5xx, 429
    /// after its `Retry-After`). Each URL takes at most 5 uses within 30 minutes of the
    /// command, retries included; a 6th, or a late one, is refused here without a request.
    pub async fn respond(
        &self,
        response_url: &str,
        response: &CommandResponse,
    ) -> Result<(), HandlerError> {
        self.parts
            .response_urls
            .deliver(response_url, self.arrived, response)
            .await?;
        Ok(())
    }

    /// Forgets `response_url`'s use count (see [`Handler::reuses_response_url`]).
    pub(crate) async fn forget_response_url(&self, response_url: &str) {
        self.parts.response_urls.forget(response_url).await;
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
