//! Refreshing a dialog before `!submit`, as the web client does while the user fills it in.
//!
//! A field declared `refresh = true` (Mattermost 11) makes the web client send the form's
//! values, with `type: "refresh"`, to the dialog's `source_url` whenever the user changes it;
//! the integration answers `{"type": "form", "form": …}` and the client replaces the dialog
//! with that form. Switchboard uses it for `show_when`: a field hidden by one choice appears
//! after another. At the REPL the whole form is typed on one `!submit` line, so a field shown
//! only after a refresh could never be filled. So before submitting, every refresh field the
//! line changes is sent as the web client would, and the line is then checked against, and
//! submitted with, the form as it is after the refreshes.

use std::io::Write;

use serde_json::{Map, Value};

use super::dialog;
use crate::sim::{OpenedDialog, SimError, World};

/// At most this many refreshes for one `!submit` line: each may bring new refresh fields
/// (`show_when` on a field that itself refreshes), but a form that never settles stops here.
const MAX_REFRESHES: usize = 5;

/// Who refreshes where, as for the submission that follows.
pub(super) struct Filler<'a> {
    pub(super) world: &'a World,
    pub(super) user: &'a str,
    pub(super) team: &'a str,
    pub(super) channel: &'a str,
}

impl Filler<'_> {
    /// `opened` after the refreshes `words` ask for, with the ids of the dialogs each
    /// refresh opened (the simulator announces them as opened; the REPL shows them here, as
    /// the form the dialog became, and not again when their events arrive). A typed value
    /// the form cannot take is left for the submission to report, against the final form.
    pub(super) async fn refreshed(
        &self,
        mut opened: OpenedDialog,
        words: &[String],
        out: &mut dyn Write,
    ) -> Result<(OpenedDialog, Vec<String>), SimError> {
        let mut sent: Vec<(String, Value)> = Vec::new();
        let mut ids = Vec::new();
        for _ in 0..MAX_REFRESHES {
            let Ok(values) = dialog::filled_in(self.world, self.team, &opened.dialog, words) else {
                break;
            };
            let Some(changed) = changed_refresh_field(&opened.dialog, &values, &sent) else {
                break;
            };
            let answer = self
                .world
                .refresh_dialog(self.user, self.team, self.channel, &opened, values)
                .await?;
            sent.push(changed);
            if answer.get("type").and_then(Value::as_str) != Some("form") {
                continue;
            }
            let user_id = self.world.user_id(self.user).unwrap_or_default();
            let Some(next) = self.world.last_dialog_opened_for(&user_id) else {
                break;
            };
            dialog::show_refreshed(out, &next.dialog);
            ids.push(next.id.clone());
            opened = next;
        }
        Ok((opened, ids))
    }
}

/// The first refresh field of `dialog` whose value in `values` differs from what the form
/// holds (its default), unless that very value was already sent.
fn changed_refresh_field(
    dialog: &Value,
    values: &Map<String, Value>,
    sent: &[(String, Value)],
) -> Option<(String, Value)> {
    let elements = dialog::elements(dialog);
    let held = dialog::defaults(&elements);
    elements
        .iter()
        .filter(|e| e.get("refresh").and_then(Value::as_bool) == Some(true))
        .filter_map(|e| e.get("name").and_then(Value::as_str))
        .find_map(|name| {
            let value = values.get(name)?;
            let change = (name.to_owned(), value.clone());
            (held.get(name) != Some(value) && !sent.contains(&change)).then_some(change)
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::changed_refresh_field;

    #[test]
    fn only_a_changed_refresh_field_asks_for_a_refresh() {
        let form = json!({"elements": [
            {"name": "severity", "type": "radio", "refresh": true, "default": "sev3"},
            {"name": "note", "type": "text", "default": "x"},
        ]});
        let values = |v: serde_json::Value| v.as_object().cloned().unwrap();
        // The held value, or only a plain field changed: no refresh.
        assert_eq!(
            changed_refresh_field(
                &form,
                &values(json!({"severity": "sev3", "note": "y"})),
                &[]
            ),
            None
        );
        let change = ("severity".to_owned(), json!("sev1"));
        assert_eq!(
            changed_refresh_field(&form, &values(json!({"severity": "sev1"})), &[]),
            Some(change.clone())
        );
        // Sent once already (the answer kept another default): not again.
        assert_eq!(
            changed_refresh_field(&form, &values(json!({"severity": "sev1"})), &[change]),
            None
        );
    }
}
