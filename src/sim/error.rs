//! [`SimError`], what the simulator's Rust API returns when Mattermost would answer with an error.
//!
//! Every variant except [`SimError::NoSuch`] carries the [`AppError`] Mattermost would have sent,
//! so callers can assert on the exact error id; [`SimError::NoSuch`] is for names that do not
//! exist in the simulated world (a test-setup mistake, not a Mattermost answer).

use super::app_error::AppError;

/// An error from the simulator's Rust API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The world has no user/team/channel with that name.
    #[error("the simulated world has no {kind} named {name:?}")]
    NoSuch {
        /// `"user"`, `"team"` or `"channel"`.
        kind: &'static str,
        /// The name asked for.
        name: String,
    },
    /// No custom or built-in command has the trigger
    /// (404 `api.command.execute_command.not_found.app_error`).
    #[error("command not found: {0}")]
    CommandNotFound(AppError),
    /// The integration answered with a status other than 200
    /// (500 `api.command.execute_command.failed_resp.app_error`, its body in `detailed_error`).
    #[error("the integration answered HTTP {status}: {error}")]
    IntegrationFailed {
        /// The integration's HTTP status.
        status: u16,
        /// The integration's body (read through the 1 MiB limit).
        body: String,
        /// The error Mattermost reports.
        error: AppError,
    },
    /// The integration could not be reached, timed out, or answered malformed JSON
    /// (500 `api.command.execute_command.failed.app_error`).
    #[error("the integration call failed: {0}")]
    IntegrationError(AppError),
    /// Any other Mattermost error (validation, permissions, disabled features …).
    #[error("{0}")]
    App(AppError),
}

impl SimError {
    /// The Mattermost error, if this is one.
    pub fn app_error(&self) -> Option<&AppError> {
        match self {
            Self::NoSuch { .. } => None,
            Self::CommandNotFound(e) | Self::IntegrationError(e) | Self::App(e) => Some(e),
            Self::IntegrationFailed { error, .. } => Some(error),
        }
    }

    /// Mattermost's error id (`sim.world.no_such` for [`SimError::NoSuch`]).
    pub fn id(&self) -> &str {
        self.app_error()
            .map_or("sim.world.no_such", |e| e.id.as_str())
    }

    /// The HTTP status Mattermost would answer with (404 for [`SimError::NoSuch`]).
    pub fn status_code(&self) -> u16 {
        self.app_error().map_or(404, |e| e.status_code)
    }

    /// The error as Mattermost's REST API would send it.
    pub fn into_app_error(self) -> AppError {
        match self {
            Self::NoSuch { kind, name } => AppError::new(
                "sim.world.no_such",
                404,
                format!("No {kind} named {name:?}."),
            ),
            Self::CommandNotFound(e) | Self::IntegrationError(e) | Self::App(e) => e,
            Self::IntegrationFailed { error, .. } => error,
        }
    }
}

impl From<AppError> for SimError {
    fn from(error: AppError) -> Self {
        match error.id.as_str() {
            "api.command.execute_command.not_found.app_error" => Self::CommandNotFound(error),
            "api.command.execute_command.failed.app_error" => Self::IntegrationError(error),
            _ => Self::App(error),
        }
    }
}
