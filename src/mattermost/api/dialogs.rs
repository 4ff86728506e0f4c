//! Interactive dialogs: <https://api.mattermost.com/#tag/integration_actions>.

use super::handle;
use crate::mattermost::endpoints as ep;
use crate::mattermost::models::{Dialog, DialogSubmission, DialogSubmissionResponse};
use crate::mattermost::{ApiRequest, Error, Result};

handle! {
    /// Handle for dialog calls; see [`Client::dialogs`](crate::mattermost::Client::dialogs).
    Dialogs
}

impl<'c> Dialogs<'c> {
    /// Opens `dialog` for the user a `trigger_id` belongs to (valid for 3 s); submissions go
    /// to `url`. `POST /actions/dialogs/open`
    /// (<https://api.mattermost.com/#tag/integration_actions/operation/OpenInteractiveDialog>).
    pub async fn open(&self, trigger_id: &str, url: &str, dialog: &Dialog) -> Result<()> {
        if trigger_id.is_empty() || url.is_empty() {
            return Err(Error::invalid("trigger_id and url must not be empty"));
        }
        let body = serde_json::json!({ "trigger_id": trigger_id, "url": url, "dialog": dialog });
        let request = ApiRequest::new(ep::DIALOGS_OPEN, &[])?.json(&body)?;
        self.client.send_unit(&request).await
    }

    /// Submits a dialog as the web client does; returns what the integration answered.
    /// `POST /actions/dialogs/submit`
    /// (<https://api.mattermost.com/#tag/integration_actions/operation/SubmitInteractiveDialog>).
    pub async fn submit(&self, submission: &DialogSubmission) -> Result<DialogSubmissionResponse> {
        let request = ApiRequest::new(ep::DIALOGS_SUBMIT, &[])?.json(submission)?;
        self.client.send_json(&request).await
    }
}
