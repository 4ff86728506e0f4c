//! The slash-command callback (PROTOCOL.md §1.3): form-encoded for method `P`, a query string
//! for method `G`. Keys arrive in any order; `user_mentions`/`user_mentions_ids` and
//! `channel_mentions`/`channel_mentions_ids` are repeated keys that pair by position.

use serde::Serialize;

use super::PayloadError;

/// A mention in the command text, paired from the repeated form keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mention {
    /// The name as written (`alice`, `town-square`).
    pub name: String,
    /// The id Mattermost resolved it to.
    pub id: String,
}

/// What Mattermost sends when a user runs a custom slash command.
#[derive(Clone, PartialEq, Eq, Default, Serialize)]
pub struct SlashCommandRequest {
    /// Channel the command was typed in.
    pub channel_id: String,
    /// That channel's URL name.
    pub channel_name: String,
    /// `/` + trigger, lower-cased.
    pub command: String,
    /// Id of the thread root when typed in a reply box (newer servers), else empty.
    pub root_id: String,
    /// `<SiteURL>/hooks/commands/<id>`: up to 5 delayed replies within 30 minutes.
    pub response_url: String,
    /// The team the command is registered in.
    pub team_domain: String,
    /// The team's id.
    pub team_id: String,
    /// Everything after the trigger.
    pub text: String,
    /// The command's verification token. Never logged.
    #[serde(skip)]
    pub token: String,
    /// Signed id that allows opening a dialog for this user, for a short time.
    pub trigger_id: String,
    /// The invoking user's id.
    pub user_id: String,
    /// The invoking user's username.
    pub user_name: String,
    /// `@user` mentions in the text.
    pub user_mentions: Vec<Mention>,
    /// `~channel` mentions in the text.
    pub channel_mentions: Vec<Mention>,
}

impl std::fmt::Debug for SlashCommandRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlashCommandRequest")
            .field("command", &self.command)
            .field("team_id", &self.team_id)
            .field("channel_id", &self.channel_id)
            .field("user_id", &self.user_id)
            .field("text", &self.text)
            .finish_non_exhaustive()
    }
}

impl SlashCommandRequest {
    /// Parses a form-encoded body or a query string. Unknown keys are ignored (Mattermost adds
    /// fields over time); `command`, `user_id`, `channel_id` and `team_id` are required. A
    /// missing `token` parses as empty, so verification (not parsing) refuses it with 401.
    pub fn from_form(body: &[u8]) -> Result<Self, PayloadError> {
        let Ok(body) = std::str::from_utf8(body) else {
            return Err(PayloadError::Malformed("body is not UTF-8".into()));
        };
        let mut req = SlashCommandRequest::default();
        let (mut user_names, mut user_ids) = (Vec::new(), Vec::new());
        let (mut channel_names, mut channel_ids) = (Vec::new(), Vec::new());
        for (key, value) in super::form::pairs(
            body,
            &[
                "user_mentions",
                "user_mentions_ids",
                "channel_mentions",
                "channel_mentions_ids",
            ],
        )? {
            // Only the fields kept are copied out of the body.
            let keep = |value: std::borrow::Cow<'_, str>| value.into_owned();
            match key.as_ref() {
                "channel_id" => req.channel_id = keep(value),
                "channel_name" => req.channel_name = keep(value),
                "command" => req.command = keep(value),
                "root_id" => req.root_id = keep(value),
                "response_url" => req.response_url = keep(value),
                "team_domain" => req.team_domain = keep(value),
                "team_id" => req.team_id = keep(value),
                "text" => req.text = keep(value),
                "token" => req.token = keep(value),
                "trigger_id" => req.trigger_id = keep(value),
                "user_id" => req.user_id = keep(value),
                "user_name" => req.user_name = keep(value),
                "user_mentions" => user_names.push(keep(value)),
                "user_mentions_ids" => user_ids.push(keep(value)),
                "channel_mentions" => channel_names.push(keep(value)),
                "channel_mentions_ids" => channel_ids.push(keep(value)),
                _ => {}
            }
        }
        req.user_mentions = pair("user_mentions", user_names, user_ids)?;
        req.channel_mentions = pair("channel_mentions", channel_names, channel_ids)?;
        for (name, value) in [
            ("command", &req.command),
            ("user_id", &req.user_id),
            ("channel_id", &req.channel_id),
            ("team_id", &req.team_id),
        ] {
            if value.is_empty() {
                return Err(PayloadError::MissingField(name));
            }
        }
        Ok(req)
    }

    /// The trigger without `/`.
    pub fn trigger(&self) -> &str {
        self.command.trim_start_matches('/')
    }
}

fn pair(
    what: &'static str,
    names: Vec<String>,
    ids: Vec<String>,
) -> Result<Vec<Mention>, PayloadError> {
    if names.len() != ids.len() {
        return Err(PayloadError::Malformed(format!(
            "{what}: {} names but {} ids",
            names.len(),
            ids.len()
        )));
    }
    Ok(names
        .into_iter()
        .zip(ids)
        .map(|(name, id)| Mention { name, id })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "channel_id=c1&channel_mentions=town-square&channel_mentions_ids=c9\
        &channel_name=town-square&command=%2Fhello&response_url=http%3A%2F%2Fmm%2Fhooks%2Fcommands%2Fx\
        &root_id=&team_domain=main&team_id=t1&text=hi+%40bob+%40carol+~town-square\
        &token=tok&trigger_id=YWJj%2B%2F%3D&user_id=u1&user_mentions=bob&user_mentions=carol\
        &user_mentions_ids=u2&user_mentions_ids=u3&user_name=alice";

    #[test]
    fn every_field_is_read_and_mentions_pair_by_position() {
        let req = SlashCommandRequest::from_form(BODY.as_bytes()).unwrap();
        assert_eq!(req.command, "/hello");
        assert_eq!(req.trigger(), "hello");
        assert_eq!(req.text, "hi @bob @carol ~town-square");
        assert_eq!(req.trigger_id, "YWJj+/=");
        assert_eq!(req.response_url, "http://mm/hooks/commands/x");
        assert_eq!(
            req.user_mentions,
            vec![
                Mention {
                    name: "bob".into(),
                    id: "u2".into()
                },
                Mention {
                    name: "carol".into(),
                    id: "u3".into()
                },
            ]
        );
        assert_eq!(req.channel_mentions[0].id, "c9");
    }

    #[test]
    fn a_missing_token_parses_as_empty_for_verification_to_refuse() {
        let req = SlashCommandRequest::from_form(b"command=%2Fx&user_id=u&channel_id=c&team_id=t")
            .unwrap();
        assert_eq!(req.token, "");
    }

    #[test]
    fn a_missing_user_is_an_error() {
        let err = SlashCommandRequest::from_form(b"token=t&command=%2Fx&channel_id=c&team_id=t")
            .unwrap_err();
        assert_eq!(err, PayloadError::MissingField("user_id"));
    }

    #[test]
    fn unpaired_mentions_are_malformed() {
        let body = "token=t&command=%2Fx&user_id=u&channel_id=c&team_id=t&user_mentions=bob";
        assert!(matches!(
            SlashCommandRequest::from_form(body.as_bytes()),
            Err(PayloadError::Malformed(_))
        ));
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let req = SlashCommandRequest::from_form(BODY.as_bytes()).unwrap();
        assert!(!format!("{req:?}").contains("tok"));
    }
}
