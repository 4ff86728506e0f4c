//! Built-in slash commands: the triggers custom commands may not take, their listing entries,
//! and the few simple ones the simulator actually runs.
//!
//! Only `/me` and `/shrug` are simulated (they just post text); any other built-in answers 501
//! `sim.command.built_in_not_simulated.app_error`, so a test never mistakes an unsimulated
//! built-in for a working one.

use super::app_error::AppError;
use super::command_response::CommandResponse;
use super::model::SimCommand;

use crate::protocol::BUILT_IN_TRIGGERS;

/// Whether `trigger` (lower case) is built in.
pub(crate) fn is_built_in(trigger: &str) -> bool {
    BUILT_IN_TRIGGERS.contains(&trigger)
}

/// The listing entries of the built-ins (already sanitized, as Mattermost lists them).
/// `/status` is hidden when custom statuses are disabled.
pub(crate) fn listing(custom_statuses: bool) -> Vec<SimCommand> {
    BUILT_IN_TRIGGERS
        .iter()
        .filter(|t| custom_statuses || **t != "status")
        .map(|trigger| SimCommand {
            trigger: (*trigger).to_owned(),
            auto_complete: true,
            auto_complete_desc: format!("Built-in /{trigger} command"),
            display_name: (*trigger).to_owned(),
            ..SimCommand::default()
        })
        .collect()
}

/// Runs a built-in, or `None` if `trigger` is not one.
pub(crate) fn run(trigger: &str, message: &str) -> Option<Result<CommandResponse, AppError>> {
    if !is_built_in(trigger) {
        return None;
    }
    Some(match trigger {
        "me" => Ok(CommandResponse {
            response_type: "in_channel".to_owned(),
            post_type: "me".to_owned(),
            text: format!("*{message}*"),
            ..CommandResponse::default()
        }),
        "shrug" => {
            let shrug = r"¯\\\_(ツ)\_/¯";
            let text = if message.is_empty() {
                shrug.to_owned()
            } else {
                format!("{message} {shrug}")
            };
            Ok(CommandResponse {
                response_type: "in_channel".to_owned(),
                text,
                ..CommandResponse::default()
            })
        }
        _ => Err(AppError::new(
            "sim.command.built_in_not_simulated.app_error",
            501,
            format!("The built-in command /{trigger} is not simulated."),
        )),
    })
}
