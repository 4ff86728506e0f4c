//! Delayed slash-command replies through `response_url` (PROTOCOL.md §1.6).
//!
//! Mattermost accepts at most **5** uses of one `response_url`, within **30 minutes** of the
//! command; the body is parsed as JSON only when `Content-Type` is exactly
//! `application/json` (otherwise it is posted literally). [`ResponseUrls`] counts uses per URL
//! and refuses the 6th or a late one locally, so a bug in a handler cannot turn into a stream
//! of failing requests, and always sends JSON with that exact content type.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::mattermost::models::CommandResponse;

/// Uses allowed per `response_url`.
pub const MAX_USES: u32 = 5;
/// How long a `response_url` lives.
pub const LIFETIME: Duration = Duration::from_secs(30 * 60);

/// Why a delayed reply was not delivered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseUrlError {
    /// Not an `http(s)://` URL.
    #[error("response_url is not an http(s) URL")]
    Invalid,
    /// Already used 5 times.
    #[error("response_url already used {MAX_USES} times")]
    Exhausted,
    /// Older than 30 minutes.
    #[error("response_url expired (older than 30 minutes)")]
    Expired,
    /// The request failed.
    #[error("response_url request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// Mattermost refused it.
    #[error("response_url answered {status}: {body}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Response body (an AppError JSON).
        body: String,
    },
}

#[derive(Debug, Clone, Copy)]
struct Usage {
    first_seen: Instant,
    uses: u32,
}

/// Use counts of every `response_url` seen, and the HTTP client that posts to them.
#[derive(Debug, Clone)]
pub struct ResponseUrls {
    http: reqwest::Client,
    usage: Arc<Mutex<HashMap<String, Usage>>>,
}

impl Default for ResponseUrls {
    fn default() -> Self {
        Self::new(reqwest::Client::new())
    }
}

impl ResponseUrls {
    /// A tracker posting with `http`.
    pub fn new(http: reqwest::Client) -> Self {
        ResponseUrls {
            http,
            usage: Arc::default(),
        }
    }

    /// Notes that a command carrying `url` arrived now (starts its 30 minutes).
    pub fn seen(&self, url: &str) {
        let mut usage = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        usage.retain(|_, u| now.duration_since(u.first_seen) < LIFETIME);
        usage.entry(url.to_owned()).or_insert(Usage {
            first_seen: now,
            uses: 0,
        });
    }

    /// Reserves one use of `url`, or says why not.
    fn reserve(&self, url: &str) -> Result<(), ResponseUrlError> {
        let mut usage = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = usage.entry(url.to_owned()).or_insert(Usage {
            first_seen: Instant::now(),
            uses: 0,
        });
        if entry.first_seen.elapsed() >= LIFETIME {
            return Err(ResponseUrlError::Expired);
        }
        if entry.uses >= MAX_USES {
            return Err(ResponseUrlError::Exhausted);
        }
        entry.uses += 1;
        Ok(())
    }

    fn release(&self, url: &str) {
        let mut usage = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = usage.get_mut(url) {
            entry.uses = entry.uses.saturating_sub(1);
        }
    }

    /// Uses of `url` so far.
    pub fn uses(&self, url: &str) -> u32 {
        let usage = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        usage.get(url).map_or(0, |u| u.uses)
    }

    /// Posts `response` to `url` as `application/json`. A failed request does not count as
    /// a use (Mattermost counts only successful ones).
    pub async fn post(
        &self,
        url: &str,
        response: &CommandResponse,
    ) -> Result<(), ResponseUrlError> {
        let parsed = url::Url::parse(url).map_err(|_| ResponseUrlError::Invalid)?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(ResponseUrlError::Invalid);
        }
        self.reserve(url)?;
        let body = serde_json::to_vec(response).unwrap_or_default();
        let sent = self
            .http
            .post(parsed)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                self.release(url);
                return Err(e.into());
            }
        };
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        self.release(url);
        let body = response.text().await.unwrap_or_default();
        Err(ResponseUrlError::Refused {
            status: status.as_u16(),
            body: body.chars().take(500).collect(),
        })
    }
}
