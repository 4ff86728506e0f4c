//! The request context: what every line logged while answering a request carries.
//!
//! Each request's method, path, request id, callback kind and route, the caller's team,
//! channel and user ids once the handler has parsed them ([`record_caller`]), and what the
//! callback is about (a dialog's step, a button's action and post: [`record_detail`]) are held in a
//! task-local value for the time the request's future runs (the server's middleware sets it,
//! [`scope`]). The log formats ([`super::line::FullLine`], [`super::json::JsonLine`]) write
//! it as the outermost span of every line logged meanwhile, exactly as a `request{…}` tracing
//! span would read, followed by the tracing spans entered below it (an API call's
//! `mattermost.request`, …).
//!
//! Why not a tracing span (issue #12): a span made for every request, given the caller's ids
//! later, entered on every poll and closed, went through the subscriber's registry, its
//! extensions and two rounds of field formatting: 9 000 instructions of S1's 64 000, more
//! than the whole rest of the middleware. Here the values are kept as they are (reference
//! counted, not copied) and formatted only when a line is written; a request that logs one
//! access line formats them once. The cost: a filter directive naming the span
//! (`[request{route=…}]=debug`) does not see it, as it is not a span.
//!
//! Work a handler hands to another task keeps the context only when moved with it
//! ([`current`], [`scope`]), as a tracing span kept only when the task was instrumented.

use std::cell::RefCell;
use std::future::Future;
use std::sync::OnceLock;

use axum::http::{HeaderValue, Method, Uri};
use tokio::task::futures::TaskLocalFuture;
use tracing::field::{Field, FieldSet, Value};
use tracing::metadata::Kind;
use tracing::span::Record;
use tracing::{Level, Metadata};
use tracing_core::callsite::Callsite;
use tracing_core::subscriber::Interest;

tokio::task_local! {
    static REQUEST: RequestContext;
}

/// The context's fields, in the order a line shows them.
const NAMES: [&str; 12] = [
    "method",
    "path",
    "request_id",
    "kind",
    "route",
    "team_id",
    "channel_id",
    "user_id",
    // Details of a callback kind ([`Detail`]).
    "step",
    "cancelled",
    "action",
    "post_id",
];

/// Where the [`Detail`]s start in [`NAMES`], in their order (a test holds them to it).
#[cfg(test)]
const FIRST_DETAIL: usize = 8;

/// What a callback's handler adds to its context once its payload is verified. The request
/// context stands for the span per callback kind there was too: a
/// `dialog_submission{step cancelled}`, `action{action post_id}` or `outgoing_hook{post_id}`
/// span, made, formatted, entered and closed through the registry, cost a validated dialog
/// submission 2 100 instructions more than recording here (S3 84 899 → 82 767,
/// `bench/instructions.sh`). The details are strings (`cancelled="false"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detail {
    /// A dialog submission's step (its `callback_id`).
    Step,
    /// Whether a dialog was cancelled (`true` or `false`).
    Cancelled,
    /// A button's or menu's action name.
    Action,
    /// The post a button was clicked on, or an outgoing webhook's post.
    PostId,
}

/// The context's metadata, as a `request` span's would be: its fields identify the values
/// handed to the field formatters.
static REQUEST_SPAN: Metadata<'static> = Metadata::new(
    "request",
    "switchboard::server",
    Level::INFO,
    None,
    None,
    None,
    FieldSet::new(&NAMES, tracing_core::identify_callsite!(&CALLSITE)),
    Kind::SPAN,
);

/// The callsite of [`REQUEST_SPAN`]; never registered (nothing is ever enabled or recorded
/// through it), it only gives the fields an identity.
struct RequestCallsite;

static CALLSITE: RequestCallsite = RequestCallsite;

impl Callsite for RequestCallsite {
    fn set_interest(&self, _: Interest) {}

    fn metadata(&self) -> &Metadata<'_> {
        &REQUEST_SPAN
    }
}

/// The fields of [`REQUEST_SPAN`], looked up once.
fn fields() -> &'static [Option<Field>; 12] {
    static FIELDS: OnceLock<[Option<Field>; 12]> = OnceLock::new();
    FIELDS.get_or_init(|| NAMES.map(|name| REQUEST_SPAN.fields().field(name)))
}

/// The values of the [`Detail`]s, by position.
type Details = [Option<Box<str>>; 4];

/// One request's context (see the module docs).
#[derive(Debug, Clone)]
pub struct RequestContext {
    method: Method,
    uri: Uri,
    request_id: HeaderValue,
    /// The callback kind when the path is `/<kind>/<route>` for one of them.
    kind: Option<&'static str>,
    caller: RefCell<Option<Caller>>,
    /// The [`Detail`]s recorded, by position; boxed, as most requests record none.
    details: RefCell<Option<Box<Details>>>,
}

/// The caller's team, channel and user ids, in one buffer.
#[derive(Debug, Clone)]
struct Caller {
    ids: String,
    team_end: usize,
    channel_end: usize,
}

impl RequestContext {
    /// The context of a request; `kind` is its callback kind when its path is
    /// `/<kind>/<route>`, which makes the second segment its route.
    pub fn new(
        method: Method,
        uri: Uri,
        request_id: Option<HeaderValue>,
        kind: Option<&'static str>,
    ) -> Self {
        RequestContext {
            method,
            uri,
            request_id: request_id.unwrap_or(HeaderValue::from_static("")),
            kind,
            caller: RefCell::new(None),
            details: RefCell::new(None),
        }
    }

    /// The request id: the caller's `X-Request-ID` when it is text, else the one made for
    /// the request ("" if none).
    pub(crate) fn request_id(&self) -> &str {
        self.request_id.to_str().unwrap_or("")
    }

    /// The span name lines show the context under.
    pub(crate) fn name(&self) -> &'static str {
        REQUEST_SPAN.name()
    }

    fn route(&self) -> Option<&str> {
        self.uri
            .path()
            .strip_prefix('/')?
            .strip_prefix(self.kind?)?
            .strip_prefix('/')
    }

    /// Calls `f` with the context's values, in the order of [`NAMES`] (`None` for one not
    /// known).
    fn with_values<R>(&self, f: impl FnOnce(&[Option<&str>; 12]) -> R) -> R {
        // Never borrowed mutably while a line is written; if it were, the ids are left out
        // rather than the line lost.
        let caller = self.caller.try_borrow().ok();
        let details = self.details.try_borrow().ok();
        let detail = |i: usize| {
            details
                .as_deref()
                .and_then(Option::as_deref)
                .and_then(|d| d[i].as_deref())
        };
        let (team, channel, user) = match caller.as_deref().and_then(Option::as_ref) {
            Some(c) => (
                Some(&c.ids[..c.team_end]),
                Some(&c.ids[c.team_end..c.channel_end]),
                Some(&c.ids[c.channel_end..]),
            ),
            None => (None, None, None),
        };
        f(&[
            Some(self.method.as_str()),
            Some(self.uri.path()),
            // Ids we make are ASCII; one a caller sent is kept only when it is text.
            Some(self.request_id.to_str().unwrap_or("")),
            self.kind,
            self.route(),
            team,
            channel,
            user,
            detail(0),
            detail(1),
            detail(2),
            detail(3),
        ])
    }

    /// Calls `f` with the context's fields as a `request` span would record them (`method`,
    /// `path`, `request_id`, `kind`, `route`, `team_id`, `channel_id`, `user_id`; each absent
    /// one left out), for a field formatter.
    pub(crate) fn with_fields<R>(&self, f: impl FnOnce(Record<'_>) -> R) -> Option<R> {
        let [
            Some(method),
            Some(path),
            Some(request_id),
            Some(kind),
            Some(route),
            Some(team),
            Some(channel),
            Some(user),
            Some(step),
            Some(cancelled),
            Some(action),
            Some(post_id),
        ] = fields()
        else {
            return None;
        };
        self.with_values(|values| {
            let value = |i: usize| values[i].as_ref().map(|v| v as &dyn Value);
            let values: [(&Field, Option<&dyn Value>); 12] = [
                (method, value(0)),
                (path, value(1)),
                (request_id, value(2)),
                (kind, value(3)),
                (route, value(4)),
                (team, value(5)),
                (channel, value(6)),
                (user, value(7)),
                (step, value(8)),
                (cancelled, value(9)),
                (action, value(10)),
                (post_id, value(11)),
            ];
            let set = REQUEST_SPAN.fields().value_set(&values);
            Some(f(Record::new(&set)))
        })
    }

    /// Calls `f` with the context's fields as names and values, each absent one left out.
    pub(crate) fn with_strs<R>(&self, f: impl FnOnce(&[(&str, &str)]) -> R) -> R {
        self.with_values(|values| {
            let mut present = [("", ""); NAMES.len()];
            let mut count = 0;
            for (name, value) in NAMES.iter().zip(values) {
                if let Some(value) = value {
                    present[count] = (name, value);
                    count += 1;
                }
            }
            f(&present[..count])
        })
    }
}

/// Runs `future` with `context` as its request context.
pub(crate) fn scope<F: Future>(
    context: RequestContext,
    future: F,
) -> TaskLocalFuture<RequestContext, F> {
    REQUEST.scope(context, future)
}

/// Runs `f` with `context` as its request context, for code that does not await.
#[cfg(test)]
pub(crate) fn sync_scope<R>(context: RequestContext, f: impl FnOnce() -> R) -> R {
    REQUEST.sync_scope(context, f)
}

/// The current request's context, to move with work handed to another task.
pub(crate) fn current() -> Option<RequestContext> {
    REQUEST.try_with(RequestContext::clone).ok()
}

/// Calls `f` with the current request's context, if the caller runs within one.
pub(crate) fn with_current<R>(f: impl FnOnce(&RequestContext) -> R) -> Option<R> {
    REQUEST.try_with(f).ok()
}

/// Records the caller's ids on the current request's context; handlers call it once the
/// payload is parsed and verified enough to trust its shape.
pub fn record_caller(team_id: &str, channel_id: &str, user_id: &str) {
    let _ = REQUEST.try_with(|context| {
        let mut ids = String::with_capacity(team_id.len() + channel_id.len() + user_id.len());
        ids.push_str(team_id);
        ids.push_str(channel_id);
        ids.push_str(user_id);
        if let Ok(mut caller) = context.caller.try_borrow_mut() {
            *caller = Some(Caller {
                ids,
                team_end: team_id.len(),
                channel_end: team_id.len() + channel_id.len(),
            });
        }
    });
}

/// Records `detail` on the current request's context (shown after the caller's ids); handlers
/// call it once the payload is verified.
pub(crate) fn record_detail(detail: Detail, value: &str) {
    let _ = REQUEST.try_with(|context| {
        if let Ok(mut details) = context.details.try_borrow_mut() {
            details.get_or_insert_default()[detail as usize] = Some(value.into());
        }
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use tracing_subscriber::fmt::format::JsonFields;
    use tracing_subscriber::prelude::*;

    use super::*;
    use crate::telemetry::fields::PlainFields;
    use crate::telemetry::json::JsonLine;
    use crate::telemetry::line::FullLine;
    use crate::telemetry::{Captured, FixedTime, plain_lines};

    /// A request id and caller ids: as we and Mattermost make them, or as hostile as a
    /// caller could send them.
    #[derive(Clone, Copy)]
    struct Ids {
        request: &'static str,
        team: &'static str,
        channel: &'static str,
        user: &'static str,
        /// A detail: the post a button was clicked on.
        post: &'static str,
    }

    const PLAIN: Ids = Ids {
        request: "0a1b2c3d-1f",
        team: "benchteamid000000000000000",
        channel: "benchchannelid000000000000",
        user: "benchuserid000000000000000",
        post: "benchpostid000000000000000",
    };

    const HOSTILE: Ids = Ids {
        request: r#"from "the" caller \ id"#,
        team: "t\"eam\n\u{1b}[31m",
        channel: "channel id",
        user: "ünïcode",
        post: "p\\ost\r",
    };

    /// What a callback logs: a line before the caller's ids are known, the ids and a detail
    /// (`record`), a line after, and a line within an API call's span.
    fn log_a_callback(ids: Ids, record: impl Fn(&str, &str, &str, &str)) {
        tracing::warn!("before the ids");
        record(ids.team, ids.channel, ids.user, ids.post);
        tracing::info!(status = 200u16, latency_ms = 3u64, "callback answered");
        let call = tracing::info_span!("mattermost.request", method = "GET", path = "/users/me");
        let _entered = call.enter();
        tracing::info!(attempt = 1u64, "retrying");
    }

    /// [`log_a_callback`] within a real `request` span, in tracing-subscriber's own formats.
    fn with_a_span(ids: Ids, json: bool, ansi: bool) -> String {
        let sink = Captured::default();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(sink.clone())
            .with_ansi(ansi)
            .with_timer(FixedTime);
        let subscriber: Box<dyn tracing::Subscriber + Send + Sync> = if json {
            Box::new(tracing_subscriber::registry().with(layer.json()))
        } else {
            Box::new(tracing_subscriber::registry().with(layer))
        };
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "request",
                method = "POST",
                path = "/commands/hello",
                request_id = ids.request,
                kind = "commands",
                route = "hello",
                team_id = tracing::field::Empty,
                channel_id = tracing::field::Empty,
                user_id = tracing::field::Empty,
                step = tracing::field::Empty,
                cancelled = tracing::field::Empty,
                action = tracing::field::Empty,
                post_id = tracing::field::Empty,
            );
            let _entered = span.enter();
            log_a_callback(ids, |team, channel, user, post| {
                span.record("team_id", team);
                span.record("channel_id", channel);
                span.record("user_id", user);
                span.record("action", "approve");
                span.record("post_id", post);
            });
        });
        sink.text()
    }

    /// [`log_a_callback`] within a request context, in our formats.
    fn with_a_context(ids: Ids, json: bool, ansi: bool) -> String {
        let sink = Captured::default();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(sink.clone())
            .with_ansi(ansi);
        let subscriber: Box<dyn tracing::Subscriber + Send + Sync> = if json {
            Box::new(
                tracing_subscriber::registry().with(
                    layer
                        .fmt_fields(JsonFields::new())
                        .event_format(JsonLine::new(FixedTime)),
                ),
            )
        } else {
            Box::new(
                tracing_subscriber::registry().with(
                    layer
                        .fmt_fields(PlainFields)
                        .event_format(FullLine::new(FixedTime)),
                ),
            )
        };
        let context = RequestContext::new(
            Method::POST,
            Uri::from_static("/commands/hello"),
            Some(HeaderValue::from_static(ids.request)),
            Some("commands"),
        );
        tracing::subscriber::with_default(subscriber, || {
            REQUEST.sync_scope(context, || {
                log_a_callback(ids, |team, channel, user, post| {
                    record_caller(team, channel, user);
                    record_detail(Detail::Action, "approve");
                    record_detail(Detail::PostId, post);
                });
            });
        });
        sink.text()
    }

    #[test]
    fn text_lines_read_as_within_a_request_span_byte_for_byte() {
        for ids in [PLAIN, HOSTILE] {
            for ansi in [false, true] {
                let ours = with_a_context(ids, false, ansi);
                assert_eq!(ours, with_a_span(ids, false, ansi), "ansi: {ansi}");
                assert_eq!(ours.lines().count(), 3, "{ours}");
            }
        }
        let plain = with_a_context(PLAIN, false, false);
        assert!(
            plain.contains(
                r#"request{method="POST" path="/commands/hello" request_id="0a1b2c3d-1f" kind="commands" route="hello" team_id="benchteamid000000000000000" channel_id="benchchannelid000000000000" user_id="benchuserid000000000000000" action="approve" post_id="benchpostid000000000000000"}:mattermost.request{method="GET" path="/users/me"}: "#
            ),
            "{plain}"
        );
        let hostile = with_a_context(HOSTILE, false, false);
        assert!(
            hostile.contains(
                r#"request{method="POST" path="/commands/hello" request_id="from \"the\" caller \\ id" kind="commands" route="hello" team_id="t\"eam\n\u{1b}[31m" channel_id="channel id" user_id="ünïcode" action="approve" post_id="p\\ost\r"}: "#
            ),
            "{hostile}"
        );
    }

    #[test]
    fn json_lines_hold_what_the_default_json_lines_hold() {
        let parse = |text: String| -> Vec<serde_json::Value> {
            text.lines()
                .map(|line| serde_json::from_str(line).unwrap())
                .collect()
        };
        for ids in [PLAIN, HOSTILE] {
            let ours = parse(with_a_context(ids, true, false));
            assert_eq!(ours, parse(with_a_span(ids, true, false)));
            assert_eq!(ours.len(), 3);
            assert_eq!(ours[0]["span"]["request_id"], ids.request);
            assert_eq!(ours[1]["span"]["team_id"], ids.team);
            assert_eq!(ours[2]["span"]["name"], "mattermost.request");
            assert_eq!(ours[2]["spans"][0]["route"], "hello");
            assert_eq!(ours[2]["spans"][0]["post_id"], ids.post);
        }
    }

    #[test]
    fn details_are_named_in_their_order() {
        for (detail, name) in [
            (Detail::Step, "step"),
            (Detail::Cancelled, "cancelled"),
            (Detail::Action, "action"),
            (Detail::PostId, "post_id"),
        ] {
            assert_eq!(NAMES[FIRST_DETAIL + detail as usize], name);
        }
    }

    #[test]
    fn outside_a_request_lines_carry_only_their_spans() {
        let sink = Captured::default();
        tracing::subscriber::with_default(plain_lines(sink.clone()), || {
            record_caller("t", "c", "u");
            tracing::info!("alone");
        });
        assert_eq!(
            sink.text(),
            "2026-01-31T12:34:56.123456Z  INFO switchboard::telemetry::request::tests: alone\n"
        );
    }
}
