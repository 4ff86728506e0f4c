//! [`Runtime`]: what running a route needs (API client, HTTP client, role cache, button links)
//! and the one `match` that dispatches a route's action.
//!
//! Order for a slash command: parse the arguments (usage errors and `help` answer with the
//! generated usage), check access (a refusal answers ephemerally and nothing runs), then run
//! the action. Every failure the user can act on becomes an ephemeral reply; our own failures
//! are logged and answered with a short apology.

use std::sync::Arc;

use super::access::RoleCache;
use super::args::Parsed;
use super::context::Context;
use super::reply::{ButtonLinks, NoLinks};
use super::{Action, Route};
use crate::mattermost::Client;
use crate::mattermost::models::CommandResponse;
use crate::protocol::SlashCommandRequest;

/// Shared by every route run.
#[derive(Clone)]
pub struct Runtime {
    /// The Mattermost API client (as the bot).
    pub client: Client,
    /// For `http` actions.
    pub http: reqwest::Client,
    /// Cached system roles for `[access] roles`.
    pub roles: Arc<RoleCache>,
    /// Builds button integrations (URL and signed context).
    pub links: Arc<dyn ButtonLinks>,
    /// Where Mattermost posts dialog submissions: `<public_url>/dialogs/<route>`.
    pub dialog_url: Arc<dyn Fn(&str) -> String + Send + Sync>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

const SORRY: &str = "Sorry, Switchboard could not answer this command; the error is in its log.";

impl Runtime {
    /// A runtime with unsigned button links (for tools and tests that do not serve clicks).
    pub fn new(client: Client, public_url: &url::Url) -> Self {
        let base = public_url.as_str().trim_end_matches('/').to_owned();
        Runtime {
            client,
            http: reqwest::Client::new(),
            roles: Arc::new(RoleCache::default()),
            links: Arc::new(NoLinks),
            dialog_url: Arc::new(move |route| format!("{base}/dialogs/{route}")),
        }
    }

    /// Answers a slash command for `route`.
    pub async fn slash_command(
        &self,
        route: &Route,
        request: &SlashCommandRequest,
    ) -> CommandResponse {
        let mut context = Context::from_request(request);
        context.route.clone_from(&route.name);
        let trigger = request.trigger();
        let description = route
            .command
            .as_ref()
            .map_or("", |c| c.description.as_str());
        if !route.args.is_empty() {
            match route.args.parse(&request.text) {
                Ok(Parsed::Help) => {
                    return CommandResponse::ephemeral(route.args.usage(trigger, description));
                }
                Ok(Parsed::Args(args)) => context.args = args,
                Err(e) => {
                    return CommandResponse::ephemeral(format!(
                        "⚠️ {e}\n\n{}",
                        route.args.usage(trigger, description)
                    ));
                }
            }
        }
        if let Err(reason) = route
            .access
            .check(&context, &self.roles, &self.client)
            .await
        {
            tracing::info!(route = %route.name, user = %context.user.name, %reason, "access refused");
            return CommandResponse::ephemeral(format!(
                "🚫 You cannot use `/{trigger}`: {reason}."
            ));
        }
        self.run(route, &route.action, context).await
    }

    /// Runs `action` of `route` with `context`, answering as a slash-command response.
    pub async fn run(&self, route: &Route, action: &Action, context: Context) -> CommandResponse {
        match action {
            Action::Reply(reply) => {
                reply
                    .respond(&context, self.links.as_ref())
                    .unwrap_or_else(|e| {
                        tracing::error!(route = %route.name, error = %e, "reply template failed");
                        CommandResponse::ephemeral(SORRY)
                    })
            }
            Action::Dialog(dialog) => {
                let state = serde_json::to_string(&context.args).unwrap_or_default();
                let built = match dialog.build(&context, &route.name, state) {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::error!(route = %route.name, error = %e, "dialog template failed");
                        return CommandResponse::ephemeral(SORRY);
                    }
                };
                let url = (self.dialog_url)(&route.name);
                match self
                    .client
                    .dialogs()
                    .open(&context.trigger_id, &url, &built)
                    .await
                {
                    Ok(()) => CommandResponse::ephemeral(""),
                    Err(e) => {
                        tracing::error!(route = %route.name, error = %e, "opening the dialog failed");
                        CommandResponse::ephemeral(
                            "⚠️ The dialog could not be opened; please try again.",
                        )
                    }
                }
            }
            Action::Exec(exec) => {
                let Some(ticket) = exec.admit() else {
                    return CommandResponse::ephemeral(format!(
                        "⏳ `{}` is busy (every slot and queue place is taken); try later.",
                        route.name
                    ));
                };
                let text = match exec.started_text(&context, &ticket) {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::error!(route = %route.name, error = %e, "exec template failed");
                        return CommandResponse::ephemeral(SORRY);
                    }
                };
                exec.spawn_live(self.client.clone(), context, ticket);
                CommandResponse::ephemeral(text)
            }
            Action::Http(http) => match http.run(&self.http, context, self.links.as_ref()).await {
                Ok(rendered) => rendered.into_command_response(),
                Err(e) => {
                    tracing::warn!(route = %route.name, error = %e, "http forward failed");
                    CommandResponse::ephemeral(format!("⚠️ `{}`: {e}.", route.name))
                }
            },
            Action::Post(post) => match post.run(&self.client, context).await {
                Ok(text) => CommandResponse::ephemeral(text),
                Err(e) => {
                    tracing::warn!(route = %route.name, error = %e, "post action failed");
                    CommandResponse::ephemeral(format!("⚠️ `{}`: {e}", route.name))
                }
            },
        }
    }
}
