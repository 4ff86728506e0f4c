//! What Mattermost requires of a reply's buttons and menus, checked at load time.
//!
//! Mattermost finds a clicked button by its `id` among *all* the attachments of the post
//! (`Post.GetAction` returns the first match), and calls that button's integration. Two
//! buttons with one id in a post therefore both run the first one's action — a click on
//! "Reject" approving. Nothing Switchboard does at click time can tell them apart, because
//! Mattermost, not Switchboard, chose the integration; so `check` refuses the duplicate instead
//! of silently renaming ids the author wrote.

use std::collections::HashMap;

use super::spec::ReplySpec;

/// Styles Mattermost accepts on a button besides `#rrggbb` (`PostAction.IsValid`).
const STYLES: [&str; 6] = ["default", "primary", "success", "good", "warning", "danger"];

/// Every problem with the buttons of one reply (one post), as (full key, message); `reply_key`
/// is where the reply sits (`reply`, `actions.vote.http.reply`).
pub(super) fn button_problems(reply_key: &str, reply: &ReplySpec) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    // The first button with each id, by its key: a later one is the duplicate.
    let mut first: HashMap<&str, String> = HashMap::new();
    for (a, attachment) in reply.attachments.iter().enumerate() {
        for (b, button) in attachment.actions.iter().enumerate() {
            let key = format!("{reply_key}.attachments[{a}].actions[{b}]");
            let id = button.id.as_str();
            if !is_button_id(id) {
                // Older servers route a click with `/actions/{id:[A-Za-z0-9]+}`: a `-` or `_`
                // gives the user a 404 (MM-49350).
                problems.push((
                    format!("{key}.id"),
                    format!(
                        "`{id}` is not a button id: use letters and digits only (Mattermost \
                         cannot route a click on other characters)"
                    ),
                ));
            } else if let Some(earlier) = first.get(id) {
                problems.push((
                    format!("{key}.id"),
                    format!(
                        "`{id}` is already the id of `{earlier}` in this post; Mattermost finds \
                         a clicked button by its id, so a click here would run that button's \
                         action. Give each button its own id"
                    ),
                ));
            } else {
                first.insert(id, key.clone());
            }
            if let Some(style) = &button.style {
                if !is_style(style) {
                    let styles: Vec<String> = STYLES.iter().map(|s| format!("`{s}`")).collect();
                    problems.push((
                        format!("{key}.style"),
                        format!(
                            "`{style}` is not a button style: use one of {} or a colour as `#rrggbb`",
                            styles.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    problems
}

/// Letters and digits, at least one: what every Mattermost version routes a click to.
fn is_button_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// A named style, or `#` and six hex digits (Mattermost's `hexColorRegex`).
fn is_style(style: &str) -> bool {
    if STYLES.contains(&style) {
        return true;
    }
    style
        .strip_prefix('#')
        .is_some_and(|hex| hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(actions: &str) -> Vec<(String, String)> {
        let spec: ReplySpec = toml::from_str(&format!(
            "text = \"x\"\n[[attachments]]\nactions = [{actions}]\n"
        ))
        .unwrap();
        button_problems("reply", &spec)
    }

    #[test]
    fn a_valid_set_of_buttons_has_no_problems() {
        let all = problems(
            r##"{ id = "yes", name = "Y", action = "a", style = "primary" },
                { id = "No2", name = "N", action = "b", style = "#A1b2C3" }"##,
        );
        assert!(all.is_empty(), "{all:?}");
    }

    #[test]
    fn a_duplicate_id_names_the_first_button_with_it() {
        let all = problems(
            r#"{ id = "go", name = "Approve", action = "approve" },
               { id = "go", name = "Reject", action = "reject" }"#,
        );
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0].0, "reply.attachments[0].actions[1].id");
        assert!(
            all[0]
                .1
                .starts_with("`go` is already the id of `reply.attachments[0].actions[0]`"),
            "{all:?}"
        );
    }

    #[test]
    fn ids_are_compared_across_the_attachments_of_one_post() {
        let spec: ReplySpec = toml::from_str(
            "text = \"x\"\n[[attachments]]\nactions = [{ id = \"a\", name = \"A\", action = \"x\" }]\n\
             [[attachments]]\nactions = [{ id = \"a\", name = \"B\", action = \"y\" }]\n",
        )
        .unwrap();
        let all = button_problems("reply", &spec);
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0].0, "reply.attachments[1].actions[0].id");
    }

    #[test]
    fn an_id_that_is_not_letters_and_digits_and_an_unknown_style_are_refused() {
        let all = problems(
            r##"{ id = "go-now", name = "A", action = "a", style = "blue" },
                { id = "", name = "B", action = "b", style = "#12345" }"##,
        );
        let keys: Vec<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "reply.attachments[0].actions[0].id",
                "reply.attachments[0].actions[0].style",
                "reply.attachments[0].actions[1].id",
                "reply.attachments[0].actions[1].style",
            ],
            "{all:?}"
        );
        assert!(all[1].1.contains("`blue` is not a button style"), "{all:?}");
    }
}
