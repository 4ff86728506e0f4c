//! A dialog's steps: the context a submission runs with (names looked up only when a
//! template reads them), what the submission leads to, a field refresh, the next dialog.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Answer, DeclaredRoute, SORRY, who};
use crate::integrations::context::Context;
use crate::integrations::handler::{Cx, HandlerError, SubmittedDialog};
use crate::integrations::locate::template_location;
use crate::integrations::{Action, Route};
use crate::protocol::DialogResponse;

/// Which kind of id [`DeclaredRoute::name_of`] looks up.
#[derive(Debug, Clone, Copy)]
enum Kind {
    User,
    Channel,
    Team,
}

/// The map `key` of a dialog's signed route data (`args`, `context`, earlier steps'
/// `submission`); empty when absent.
pub(super) fn signed_map(data: &Value, key: &str) -> BTreeMap<String, Value> {
    data.get(key)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

impl DeclaredRoute {
    /// Runs `next`, the action a dialog submission leads to, once the submission was accepted
    /// (`values`: every step's values), and tells the user what it answered.
    pub(super) async fn run_submitted(
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
    pub(super) async fn dialog_context(
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
pub(super) fn dialog_at<'r>(
    route: &'r Route,
    step: &str,
) -> Option<&'r crate::integrations::DialogAction> {
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
pub(super) fn dialog_step(route: &Route, action: &Action) -> String {
    route
        .actions
        .iter()
        .find(|(_, a)| std::ptr::eq(*a, action))
        .map_or_else(|| "main".to_owned(), |(name, _)| name.clone())
}

/// A field refresh (`type: "refresh"`): the same step built again with the values so far
/// (`show_when` decides what is shown, entered values stay), under the same state, which a
/// refresh does not use up.
pub(super) fn refreshed(
    cx: &Cx,
    route: &Route,
    declared: &crate::integrations::DialogAction,
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
pub(super) fn next_step(
    cx: &Cx,
    route: &Route,
    next: &Action,
    step: &crate::integrations::DialogAction,
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
