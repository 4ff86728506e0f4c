//! The simulator's server settings: the subset of Mattermost's `ServiceSettings` that changes
//! how integrations behave, with Mattermost's defaults where they exist.

use std::time::Duration;

/// Settings of the simulated server (`ServiceSettings` and friends).
///
/// Change them at run time with [`super::World::update_settings`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimSettings {
    /// `SiteURL`. Filled with the simulator's own URL by [`super::Simulator::start`] when empty;
    /// `response_url`s are built from it and commands fail without it (newest Mattermost).
    pub site_url: String,
    /// `EnableCommands` (default true): custom-command CRUD and execution, else 501.
    pub enable_commands: bool,
    /// `EnableOutgoingWebhooks` (default true).
    pub enable_outgoing_webhooks: bool,
    /// `EnablePostUsernameOverride` (default **false**).
    pub enable_post_username_override: bool,
    /// `EnablePostIconOverride` (default **false**).
    pub enable_post_icon_override: bool,
    /// `OutgoingIntegrationRequestsTimeout` (default 30 s): deadline of every integration call
    /// and lifetime of trigger ids.
    pub outgoing_integration_requests_timeout: Duration,
    /// `EnableDeveloper` (default false): when off, `detailed_error` is blanked on the wire.
    pub enable_developer: bool,
    /// `TeamSettings.EnableCustomUserStatuses` (default true): hides the built-in `/status`.
    pub enable_custom_user_statuses: bool,
    /// The server version reported in `X-Version-ID`.
    pub server_version: String,
    /// The seeded bot's access token; random when `None`. A fixed token lets a client be
    /// configured before the simulator starts (tests of an unreachable Mattermost).
    pub bot_token: Option<String>,
}

impl Default for SimSettings {
    fn default() -> Self {
        Self {
            site_url: String::new(),
            enable_commands: true,
            enable_outgoing_webhooks: true,
            enable_post_username_override: false,
            enable_post_icon_override: false,
            outgoing_integration_requests_timeout: Duration::from_secs(30),
            enable_developer: false,
            enable_custom_user_statuses: true,
            // The newest dialog feature the simulator implements (file elements and the
            // submission's `file_ids`) arrived in 11.10.
            server_version: "11.10.0".to_owned(),
            bot_token: None,
        }
    }
}

impl SimSettings {
    /// The `X-Version-ID` header: version, build number, config hash, licensed flag.
    pub fn version_id(&self) -> String {
        format!("{}.0.sim.false", self.server_version)
    }
}
