//! Fault injection: what a flaky network or an overloaded Mattermost does to requests, per
//! path, for tests and for trying integrations against bad days (`switchboard dev`).
//!
//! A [`Fault`] applies to requests whose path starts with its prefix (and method, when given),
//! for its next `times` matches or until [`World::clear_faults`]. The first matching fault
//! applies. Kinds:
//!
//! | kind | the client sees |
//! |---|---|
//! | [`FaultKind::Status`] | that status, body `upstream unavailable` (a proxy's answer) |
//! | [`FaultKind::RateLimited`] | 429 with `Retry-After` and `X-RateLimit-Remaining: 0` |
//! | [`FaultKind::Reset`] | the connection closed with no answer (after the request was read) |
//! | [`FaultKind::Latency`] | the normal answer, late |
//!
//! [`World::set_outage`] resets every request until turned off: the server is gone.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::state::World;

/// What a fault does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultKind {
    /// Answer with this status.
    Status(u16),
    /// Answer 429 with `Retry-After: retry_after_secs`.
    RateLimited {
        /// The `Retry-After` value, in seconds.
        retry_after_secs: u64,
    },
    /// Close the connection without answering.
    Reset,
    /// Answer normally after this delay.
    Latency(Duration),
}

/// One injected fault.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Requests whose path starts with this (e.g. `/hooks/commands/`, `/api/v4/posts`).
    pub path_prefix: String,
    /// Only requests with this method (`PUT`, …); `None`: any.
    pub method: Option<String>,
    /// What happens.
    pub kind: FaultKind,
    /// How many more matching requests it applies to; `None`: until cleared.
    pub times: Option<u32>,
}

impl Fault {
    /// A fault on every request under `path_prefix`, until cleared.
    pub fn on(path_prefix: &str, kind: FaultKind) -> Fault {
        Fault {
            path_prefix: path_prefix.to_owned(),
            method: None,
            kind,
            times: None,
        }
    }

    /// Only for requests with `method`.
    pub fn method(mut self, method: &str) -> Fault {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Only for the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Fault {
        self.times = Some(n);
        self
    }
}

/// The faults in force.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    list: Vec<Fault>,
    outage: bool,
}

impl Faults {
    /// The fault for this request, if any (and one use of it is spent).
    fn take(&mut self, method: &str, path: &str) -> Option<FaultKind> {
        if self.outage {
            return Some(FaultKind::Reset);
        }
        let index = self.list.iter().position(|f| {
            path.starts_with(&f.path_prefix)
                && f.method.as_deref().is_none_or(|m| m == method)
                && f.times != Some(0)
        })?;
        let fault = &mut self.list[index];
        let kind = fault.kind.clone();
        if let Some(n) = fault.times.as_mut() {
            *n -= 1;
            if *n == 0 {
                self.list.remove(index);
            }
        }
        Some(kind)
    }
}

impl World {
    /// Injects `fault` (after those already in force).
    pub fn inject(&self, fault: Fault) {
        self.lock().faults.list.push(fault);
    }

    /// Removes every injected fault and ends an outage.
    pub fn clear_faults(&self) {
        let mut store = self.lock();
        store.faults = Faults::default();
    }

    /// While on, every connection is closed without an answer.
    pub fn set_outage(&self, on: bool) {
        self.lock().faults.outage = on;
    }

    /// How many injected faults are still pending (a fault with `times` left, or unlimited).
    pub fn pending_faults(&self) -> usize {
        self.lock().faults.list.len()
    }

    pub(crate) fn take_fault(&self, method: &str, path: &str) -> Option<FaultKind> {
        self.lock().faults.take(method, path)
    }
}

/// The answer for a fault that answers (`Status`, `RateLimited`).
pub(crate) fn answer(kind: &FaultKind) -> Option<Response> {
    match kind {
        FaultKind::Status(status) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            Some((status, "upstream unavailable\n").into_response())
        }
        FaultKind::RateLimited { retry_after_secs } => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("Retry-After", retry_after_secs.to_string()),
                    ("X-RateLimit-Remaining", "0".to_owned()),
                ],
                "limit exceeded\n",
            )
                .into_response(),
        ),
        FaultKind::Reset | FaultKind::Latency(_) => None,
    }
}
