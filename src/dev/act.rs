//! What a person does in the simulated Mattermost, shared by the REPL and the page: type a
//! line (a slash command, or a message that may fire outgoing hooks), in a channel or a
//! thread, as a given user. One code path, so both show the same behaviour.

use crate::sim::{SimError, World};

/// Who acts, and where.
#[derive(Clone, Copy, Debug)]
pub(super) struct Place<'a> {
    /// The team's name.
    pub(super) team: &'a str,
    /// The acting user's username.
    pub(super) user: &'a str,
    /// The channel's name.
    pub(super) channel: &'a str,
    /// The thread typed in (its root post id), empty for the channel.
    pub(super) root_id: &'a str,
}

/// Types `text` at `place`: a line starting with `/` runs as a slash command, exactly as
/// Mattermost runs it; anything else is posted. Returns a notice for the person when the
/// command does not exist ("did you mean …?").
pub(super) async fn type_line(
    world: &World,
    place: Place<'_>,
    text: &str,
) -> Result<Option<String>, SimError> {
    if text.starts_with('/') {
        let ran = world
            .execute_command_in_thread(place.user, place.team, place.channel, place.root_id, text)
            .await;
        return match ran {
            Err(SimError::CommandNotFound(_)) => {
                // The word typed, less the one `/` that makes it a command: `//hello` names
                // `/hello`, `/ hello` names nothing.
                let word = text.split_whitespace().next().unwrap_or("");
                let trigger = word.strip_prefix('/').unwrap_or(word);
                Ok(Some(not_found(world, place.team, trigger)))
            }
            other => other.map(|_| None),
        };
    }
    world
        .create_post_in_thread(place.user, place.team, place.channel, place.root_id, text)
        .await
        .map(|_| None)
}

/// "no command /helo; did you mean /hello?"
pub(super) fn not_found(world: &World, team: &str, trigger: &str) -> String {
    let mut triggers: Vec<String> = world
        .commands(team)
        .into_iter()
        .map(|c| c.trigger)
        .collect();
    triggers.sort();
    let closest = triggers
        .iter()
        .map(|t| (strsim::damerau_levenshtein(trigger, t), t))
        .filter(|(distance, t)| *distance <= (t.chars().count() / 3).max(1))
        .min();
    match closest {
        Some((_, t)) => format!("no command /{trigger}; did you mean /{t}?"),
        None => format!(
            "no command /{trigger}; the commands are /{} (!help describes them)",
            triggers.join(", /")
        ),
    }
}
