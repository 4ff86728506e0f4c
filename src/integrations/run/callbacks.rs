//! The callbacks of a declared route: [`DeclaredRoute`] as a [`Handler`] for slash commands,
//! outgoing webhooks, dialog submissions and lookups, and button clicks.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};

use super::dialog_steps::{dialog_at, next_step, refreshed, signed_map};
use super::{Answer, DeclaredRoute, click_choices, verbatim, who};
use crate::integrations::args::Parsed;
use crate::integrations::context::Context;
use crate::integrations::handler::{
    ActionClick, BoxFuture, Cx, DialogLookup, Handler, HandlerError, SubmittedDialog,
};
use crate::integrations::locate::template_location;
use crate::integrations::{Action, TriggerWhen};
use crate::mattermost::PostId;
use crate::mattermost::models::CommandResponse;
use crate::protocol::{
    ActionResponse, DialogResponse, LookupItem, LookupResponse, OutgoingWebhookRequest,
    OutgoingWebhookResponse, PostUpdate, SlashCommandRequest,
};

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
                return Err(HandlerError::Unsupported(
                    crate::integrations::CallbackKind::SlashCommand,
                ));
            };
            // Boxed: it moves through `run`, `reply` and `render` (552 bytes a move, #12).
            let mut context = Box::new(Context::from_request(request));
            context.route.clone_from(&route.name);
            // A NUL or other control character would reach templates, argv and environment
            // variables (`SWITCHBOARD_TEXT`): refused before anything runs. With declared
            // arguments the parser refuses it naming the argument; without, here.
            if route.args.is_empty() {
                if let Some(problem) =
                    crate::integrations::dialog::control_character(&request.text, true)
                {
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
                return Err(HandlerError::Unsupported(
                    crate::integrations::CallbackKind::OutgoingHook,
                ));
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
            if let Some(problem) =
                crate::integrations::dialog::control_character(&request.text, true)
            {
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
                    match Box::pin(crate::integrations::dialog_files::verify(
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
                    let env = crate::integrations::LookupEnv {
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
            let env = crate::integrations::LookupEnv {
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
                Some(Err(crate::integrations::LookupError::Template(e))) => {
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
