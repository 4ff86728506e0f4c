//! Executing a slash command exactly as Mattermost does (`ExecuteCommand`,
//! `tryExecuteCustomCommand`, `HandleCommandResponse`; PROTOCOL.md §1.3–§1.6).
//!
//! Flow: the REST-level checks (`/` prefix, channel permission, archived channel), the split
//! into trigger and text, a fresh trigger id, then the custom command of the team (callback
//! over HTTP), else a built-in, else 404. The reply becomes posts by the §1.5 rules; the same
//! response handling serves `response_url` calls.

use serde_json::Value;

use super::app_error::AppError;
use super::builtin;
use super::command_response::CommandResponse;
use super::error::SimError;
use super::ids::{is_valid_id, new_id, now_millis};
use super::invoke::{FormValues, do_command_request};
use super::model::{SimCommand, SimPost};
use super::permissions::Permission;
use super::slack::{
    parse_attachment_links, parse_slack_links, process_attachments, process_slack_text,
};
use super::state::{CommandWebhook, SimEvent, Store, World, make_ephemeral};
use super::trigger_id;

/// `model.CommandArgs`: who ran the command where.
#[derive(Clone, Debug)]
pub(crate) struct CommandArgs {
    pub(crate) user_id: String,
    pub(crate) channel_id: String,
    pub(crate) team_id: String,
    pub(crate) root_id: String,
}

/// What a successful execution produced.
#[derive(Clone, Debug)]
pub(crate) struct Executed {
    pub(crate) response: CommandResponse,
    pub(crate) posts: Vec<SimPost>,
}

/// `POST /api/v4/commands/execute` as `user_id`: REST checks, then [`execute`].
pub(crate) async fn execute_as_user(
    world: &World,
    user_id: &str,
    channel_id: &str,
    root_id: &str,
    command: &str,
) -> Result<Executed, SimError> {
    if command.len() <= 1 || !command.starts_with('/') || !is_valid_id(channel_id) {
        return Err(AppError::new(
            "api.command.execute_command.start.app_error",
            400,
            "No command trigger found.",
        )
        .into());
    }
    let team_id = {
        let store = world.lock();
        if !store.has_channel_permission(user_id, channel_id, Permission::CreatePost) {
            return Err(AppError::permission(Permission::CreatePost.id()).into());
        }
        let Some(channel) = store.channel(channel_id) else {
            return Err(channel_missing().into());
        };
        if channel.delete_at != 0 {
            return Err(AppError::new(
                "api.command.execute_command.deleted.error",
                400,
                "Cannot run command in archived channel.",
            )
            .into());
        }
        // The team is always the channel's, so commands of other teams cannot be run here.
        channel.team_id.clone()
    };
    let args = CommandArgs {
        user_id: user_id.to_owned(),
        channel_id: channel_id.to_owned(),
        team_id,
        root_id: root_id.to_owned(),
    };
    execute(world, &args, command).await
}

fn channel_missing() -> AppError {
    AppError::new(
        "app.channel.get.existing.app_error",
        404,
        "Unable to find the existing channel.",
    )
}

/// Splits `/Trigger rest` at the first whitespace character: (`/trigger` lower-cased, `rest`).
pub(crate) fn split_command(command: &str) -> (String, String) {
    match command.char_indices().find(|(_, c)| c.is_whitespace()) {
        Some((i, c)) => (
            command[..i].to_lowercase(),
            command[i + c.len_utf8()..].to_owned(),
        ),
        None => (command.to_lowercase(), String::new()),
    }
}

/// `ExecuteCommand`.
async fn execute(world: &World, args: &CommandArgs, command: &str) -> Result<Executed, SimError> {
    let (trigger, message) = split_command(command);
    let Some(trigger) = trigger.strip_prefix('/') else {
        return Err(AppError::new(
            "api.command.execute_command.format.app_error",
            400,
            format!("Command trigger '{trigger}' is missing the leading slash character."),
        )
        .into());
    };
    let (client_trigger_id, long_trigger_id) =
        trigger_id::generate(&world.inner.trigger_key, &args.user_id);

    let prepared = {
        let mut store = world.lock();
        prepare_custom(&mut store, args, trigger, &message, &long_trigger_id)?
    };
    if let Some((cmd, params, deadline)) = prepared {
        let mut response = do_command_request(world, &cmd, &params, deadline).await?;
        response.trigger_id = client_trigger_id;
        return handle_command_response(world, Some(&cmd), args, response, false, command);
    }

    if let Some(result) = builtin::run(trigger, &message) {
        return handle_command_response(world, None, args, result?, true, command);
    }

    Err(AppError::new(
        "api.command.execute_command.not_found.app_error",
        404,
        format!("Command with a trigger of '{trigger}' not found."),
    )
    .into())
}

/// `tryExecuteCustomCommand` up to the HTTP call: finds the command and builds the payload.
#[allow(clippy::type_complexity)] // a one-off tuple read right at the call site
fn prepare_custom(
    store: &mut Store,
    args: &CommandArgs,
    trigger: &str,
    message: &str,
    trigger_id: &str,
) -> Result<Option<(SimCommand, FormValues, std::time::Duration)>, SimError> {
    if !store.settings.enable_commands {
        return Err(disabled().into());
    }
    let Some(team) = store.team(&args.team_id) else {
        return Err(AppError::new(
            "app.team.get.find.app_error",
            404,
            "Unable to find the existing team.",
        )
        .into());
    };
    let Some(user) = store.user(&args.user_id) else {
        return Err(AppError::new(
            "app.user.missing_account.const",
            404,
            "Unable to find the user.",
        )
        .into());
    };
    let Some(channel) = store.channel(&args.channel_id) else {
        return Err(channel_missing().into());
    };
    let Some(cmd) = store
        .commands
        .iter()
        .find(|c| c.team_id == args.team_id && c.delete_at == 0 && c.trigger == trigger)
        .cloned()
    else {
        return Ok(None);
    };

    let mut p = FormValues::default();
    p.set("token", &cmd.token);
    p.set("team_id", &cmd.team_id);
    p.set("team_domain", &team.name);
    p.set("channel_id", &args.channel_id);
    p.set("channel_name", &channel.name);
    p.set("user_id", &args.user_id);
    p.set("user_name", &user.username);
    p.set("command", &format!("/{trigger}"));
    p.set("text", message);
    p.set("trigger_id", trigger_id);
    p.set("root_id", &args.root_id);
    for (name, id) in mentions_to_team_members(store, message, &team.id) {
        p.add("user_mentions", &name);
        p.add("user_mentions_ids", &id);
    }
    for (name, id) in mentions_to_public_channels(store, message, &team.id) {
        p.add("channel_mentions", &name);
        p.add("channel_mentions_ids", &id);
    }

    let site_url = store.settings.site_url.trim_end_matches('/').to_owned();
    if site_url.is_empty() {
        return Err(AppError::new(
            "api.command.execute_command.site_url_required.app_error",
            400,
            "SiteURL must be configured to execute custom slash commands.",
        )
        .into());
    }
    let hook = CommandWebhook {
        id: new_id(),
        create_at: now_millis(),
        command_id: cmd.id.clone(),
        user_id: args.user_id.clone(),
        channel_id: args.channel_id.clone(),
        root_id: args.root_id.clone(),
        use_count: 0,
    };
    p.set(
        "response_url",
        &format!("{site_url}/hooks/commands/{}", hook.id),
    );
    store.command_webhooks.insert(hook.id.clone(), hook);
    let deadline = store.settings.outgoing_integration_requests_timeout;
    Ok(Some((cmd, p, deadline)))
}

/// 501 `api.command.disabled.app_error`.
pub(crate) fn disabled() -> AppError {
    AppError::new(
        "api.command.disabled.app_error",
        501,
        "Commands have been disabled by the system admin.",
    )
}

/// `MentionsToTeamMembers`: `@name` mentions of existing team members, sorted by name.
fn mentions_to_team_members(store: &Store, message: &str, team_id: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for mention in possible_at_mentions(message) {
        let mut candidate = mention.clone();
        loop {
            if let Some(user) = store.user_by_name(&candidate) {
                if store.team_member(team_id, &user.id).is_some() {
                    found.push((candidate, user.id.clone()));
                }
                break;
            }
            // Not found: retry without one trailing `.`, `-` or `_`.
            match candidate.pop() {
                Some('.' | '-' | '_') if !candidate.is_empty() => {}
                _ => break,
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Whether `c` is a regexp word character (for `\B`).
fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Substrings matching `\B<sigil><first><rest>*`, without the sigil.
fn sigil_matches(
    message: &str,
    sigil: char,
    first: impl Fn(char) -> bool,
    rest: impl Fn(char) -> bool,
) -> Vec<String> {
    let chars: Vec<char> = message.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let boundary_ok = i == 0 || !is_word(chars[i - 1]);
        if chars[i] == sigil && boundary_ok && chars.get(i + 1).is_some_and(|c| first(*c)) {
            let mut j = i + 2;
            while j < chars.len() && rest(chars[j]) {
                j += 1;
            }
            out.push(chars[i + 1..j].iter().collect());
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// `possibleAtMentions`: lower-cased, valid-looking usernames, each once.
fn possible_at_mentions(message: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let matches = sigil_matches(
        message,
        '@',
        |c| c.is_ascii_alphanumeric(),
        |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'),
    );
    for m in matches {
        let name = m.to_lowercase();
        let valid = name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && !matches!(
                name.as_str(),
                "all" | "channel" | "here" | "matterbot" | "system"
            );
        if valid && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// `MentionsToPublicChannels`: `~name` mentions of public channels of the team, sorted by name.
fn mentions_to_public_channels(
    store: &Store,
    message: &str,
    team_id: &str,
) -> Vec<(String, String)> {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut found: Vec<(String, String)> = sigil_matches(message, '~', is_name_char, is_name_char)
        .into_iter()
        .filter_map(|name| {
            let channel = store.channel_by_name(team_id, &name)?;
            (channel.is_open() && channel.delete_at == 0).then(|| (name, channel.id.clone()))
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// `HandleCommandResponse`: the response and each of its `extra_responses` become posts.
pub(crate) fn handle_command_response(
    world: &World,
    cmd: Option<&SimCommand>,
    args: &CommandArgs,
    mut response: CommandResponse,
    built_in: bool,
    command: &str,
) -> Result<Executed, SimError> {
    let mut posts = Vec::new();
    let mut last_error = None;
    match handle_command_response_post(world, cmd, args, &mut response, built_in) {
        Ok(post) => posts.extend(post),
        Err(e) => last_error = Some(e),
    }
    if let Some(extra) = response.extra_responses.as_mut() {
        for resp in extra.iter_mut() {
            match handle_command_response_post(world, cmd, args, resp, built_in) {
                Ok(post) => posts.extend(post),
                Err(e) => last_error = Some(e),
            }
        }
    }
    if let Some(cause) = last_error {
        let trigger = command
            .split(' ')
            .next()
            .unwrap_or("")
            .trim_start_matches('/')
            .to_lowercase();
        return Err(AppError::new(
            "api.command.execute_command.create_post_failed.app_error",
            500,
            format!("Command '{trigger}' failed to post response. Please contact your System Administrator."),
        )
        .detail(cause.to_string())
        .into());
    }
    Ok(Executed { response, posts })
}

/// `HandleCommandResponsePost` + `CreateCommandPost`: one response → at most one post.
fn handle_command_response_post(
    world: &World,
    cmd: Option<&SimCommand>,
    args: &CommandArgs,
    response: &mut CommandResponse,
    built_in: bool,
) -> Result<Option<SimPost>, AppError> {
    let mut store = world.lock();
    let settings = store.settings.clone();
    let mut post = SimPost::new(&args.channel_id, &args.user_id, &args.root_id, "");
    post.post_type.clone_from(&response.post_type);
    post.props = response.props.clone().unwrap_or_default();

    if !response.channel_id.is_empty() {
        if !store.is_channel_member(&response.channel_id, &args.user_id) {
            return Err(AppError::new(
                "api.command.command_post.forbidden.app_error",
                403,
                "Specified user is not a member of specified channel.",
            ));
        }
        post.channel_id.clone_from(&response.channel_id);
    }

    let mut is_bot_post = !built_in;
    let (cmd_username, cmd_icon) =
        cmd.map_or(("", ""), |c| (c.username.as_str(), c.icon_url.as_str()));
    if settings.enable_post_username_override {
        let name = if cmd_username.is_empty() {
            response.username.as_str()
        } else {
            cmd_username
        };
        if !name.is_empty() {
            post.props
                .insert("override_username".to_owned(), Value::from(name));
            is_bot_post = true;
        }
    }
    if settings.enable_post_icon_override {
        let icon = if cmd_icon.is_empty() {
            response.icon_url.as_str()
        } else {
            cmd_icon
        };
        if !icon.is_empty() {
            post.props
                .insert("override_icon_url".to_owned(), Value::from(icon));
            is_bot_post = true;
        }
    }
    if is_bot_post {
        post.props
            .insert("from_webhook".to_owned(), Value::from("true"));
    }

    if !response.skip_slack_parsing {
        response.text = process_slack_text(&store, &response.text);
        if let Some(attachments) = response.attachments.as_mut() {
            process_attachments(&store, attachments);
        }
    }

    // CreateCommandPost.
    post.message = if response.skip_slack_parsing {
        response.text.clone()
    } else {
        parse_slack_links(&response.text)
    };
    post.create_at = now_millis();
    if post.post_type.starts_with("system_") {
        return Err(AppError::invalid_app_param("post.type"));
    }
    if let Some(attachments) = &response.attachments {
        let mut attachments = attachments.clone();
        parse_attachment_links(&mut attachments);
        if post.post_type.is_empty() {
            "slack_attachment".clone_into(&mut post.post_type);
        }
        post.props
            .insert("attachments".to_owned(), Value::Array(attachments));
    }

    if response.response_type == "in_channel" {
        // Overrides placed directly in `props` are honoured only if the settings allow them.
        if !settings.enable_post_username_override {
            post.props.remove("override_username");
        }
        if !settings.enable_post_icon_override {
            post.props.remove("override_icon_url");
            post.props.remove("override_icon_emoji");
        }
        let saved = store.save_post(post)?;
        drop(store);
        world.publish(SimEvent::PostCreated(saved.clone()));
        super::outgoing::fire(world, &saved);
        return Ok(Some(saved));
    }

    let ephemeral_type = response.response_type.is_empty() || response.response_type == "ephemeral";
    if ephemeral_type && (!response.text.is_empty() || response.attachments.is_some()) {
        let post = make_ephemeral(post, &args.user_id);
        drop(store);
        world.publish(SimEvent::EphemeralPost(post.clone()));
        return Ok(Some(post));
    }
    Ok(None)
}

/// `HandleCommandWebhook`: a `response_url` call (PROTOCOL.md §1.6).
pub(crate) fn handle_command_webhook(
    world: &World,
    hook_id: &str,
    response: CommandResponse,
) -> Result<Executed, SimError> {
    let (cmd, args) = {
        let mut store = world.lock();
        let now = now_millis();
        let missing = || {
            AppError::new(
                "app.command_webhook.get.missing",
                404,
                "Unable to find the webhook.",
            )
        };
        let hook = store
            .command_webhooks
            .get(hook_id)
            .filter(|h| now - h.create_at <= super::state::COMMAND_WEBHOOK_LIFETIME_MS)
            .cloned()
            .ok_or_else(missing)?;
        let Some(cmd) = store.command(&hook.command_id).cloned() else {
            return Err(AppError::new(
                "web.command_webhook.command.app_error",
                400,
                "Couldn't find the command.",
            )
            .into());
        };
        let args = CommandArgs {
            user_id: hook.user_id.clone(),
            channel_id: hook.channel_id.clone(),
            team_id: cmd.team_id.clone(),
            root_id: hook.root_id.clone(),
        };
        // TryUse: the use counts even if posting then fails.
        let Some(stored) = store.command_webhooks.get_mut(hook_id) else {
            return Err(missing().into());
        };
        if stored.use_count >= super::state::COMMAND_WEBHOOK_MAX_USES {
            return Err(AppError::new(
                "app.command_webhook.try_use.invalid",
                400,
                "Unable to use the webhook.",
            )
            .into());
        }
        stored.use_count += 1;
        (cmd, args)
    };
    let command = format!("/{}", cmd.trigger);
    handle_command_response(world, Some(&cmd), &args, response, false, &command)
}

#[cfg(test)]
// Tests may unwrap: a panic is the failure report (see the lint comment in Cargo.toml).
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_first_whitespace_keeping_newlines() {
        assert_eq!(
            split_command("/Deploy  prod\nnow"),
            ("/deploy".to_owned(), " prod\nnow".to_owned())
        );
        assert_eq!(split_command("/X"), ("/x".to_owned(), String::new()));
        assert_eq!(split_command("/x\tb"), ("/x".to_owned(), "b".to_owned()));
    }

    #[test]
    fn finds_at_and_tilde_mentions() {
        assert_eq!(
            possible_at_mentions("hi @Alice, @bob. a@b @all @alice"),
            vec!["alice,".trim_end_matches(',').to_owned(), "bob.".to_owned()]
        );
        assert_eq!(
            sigil_matches(
                "~town-square and x~no ~off-topic.",
                '~',
                |c| c.is_ascii_alphanumeric(),
                |c| { c.is_ascii_alphanumeric() || c == '-' }
            ),
            vec!["town-square".to_owned(), "off-topic".to_owned()]
        );
    }
}
