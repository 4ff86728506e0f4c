//! Delayed slash-command replies through `response_url` (PROTOCOL.md §1.6).
//!
//! Mattermost accepts at most **5** uses of one `response_url`, within **30 minutes** of the
//! command; the body is parsed as JSON only when `Content-Type` is exactly
//! `application/json` (otherwise it is posted literally). [`ResponseUrls`] counts uses per URL
//! and refuses the 6th or a late one locally, so a bug in a handler cannot turn into a stream
//! of failing requests, and always sends JSON with that exact content type.
//!
//! A URL is noted on its first use, with the time its command arrived (so its 30 minutes count
//! from the command, as Mattermost counts them): commands answered in their callback, nearly
//! all of them, cost nothing here. The use counts live in the [`Store`]: in-process for one
//! replica, shared (Redis) for several, each count expiring when its URL does; the key is a
//! digest of the URL, which holds a token. The local check is a courtesy (Mattermost enforces
//! the limits itself), so when the store cannot answer, the use is allowed and the failure
//! logged.

use std::time::{Duration, Instant};

use crate::mattermost::models::CommandResponse;
use crate::store::Store;

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

/// Use counts of every `response_url` seen in the last 30 minutes, and the HTTP client that
/// posts to them.
#[derive(Debug, Clone)]
pub struct ResponseUrls {
    http: reqwest::Client,
    usage: Store,
}

impl Default for ResponseUrls {
    fn default() -> Self {
        Self::new(reqwest::Client::new())
    }
}

impl ResponseUrls {
    /// A tracker posting with `http`.
    pub fn new(http: reqwest::Client) -> Self {
        ResponseUrls::with_store(http, Store::in_process())
    }

    /// A tracker posting with `http`, counting uses in `store` (shared by replicas).
    pub fn with_store(http: reqwest::Client, store: Store) -> Self {
        ResponseUrls { http, usage: store }
    }

    fn key(&self, url: &str) -> String {
        self.usage.key("response_url", &crate::store::digest(url))
    }

    /// Reserves one use of `url`, whose command arrived at `first_seen`, or says why not.
    async fn reserve(&self, url: &str, first_seen: Instant) -> Result<(), ResponseUrlError> {
        let age = first_seen.elapsed();
        if age >= LIFETIME {
            return Err(ResponseUrlError::Expired);
        }
        match self
            .usage
            .take_use(&self.key(url), MAX_USES, LIFETIME - age)
            .await
        {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(ResponseUrlError::Exhausted),
            Err(e) => {
                tracing::warn!(error = %e, "response_url uses could not be counted; sending anyway");
                Ok(())
            }
        }
    }

    async fn release(&self, url: &str) {
        if let Err(e) = self.usage.give_back_use(&self.key(url)).await {
            tracing::warn!(error = %e, "a failed response_url use could not be given back");
        }
    }

    /// Uses of `url` so far (0 when the store cannot tell).
    pub async fn uses(&self, url: &str) -> u32 {
        self.usage.uses(&self.key(url)).await.unwrap_or(0)
    }

    /// Posts `response` to `url`, the `response_url` of a command that arrived at
    /// `command_arrived`, as `application/json`. A failed request does not count as a use
    /// (Mattermost counts only successful ones).
    pub async fn post(
        &self,
        url: &str,
        command_arrived: Instant,
        response: &CommandResponse,
    ) -> Result<(), ResponseUrlError> {
        let parsed = url::Url::parse(url).map_err(|_| ResponseUrlError::Invalid)?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(ResponseUrlError::Invalid);
        }
        self.reserve(url, command_arrived).await?;
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
                self.release(url).await;
                return Err(e.into());
            }
        };
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        self.release(url).await;
        let body = response.text().await.unwrap_or_default();
        Err(ResponseUrlError::Refused {
            status: status.as_u16(),
            body: body.chars().take(500).collect(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_thirty_minutes_count_from_the_command_not_the_first_use() {
        let urls = ResponseUrls::default();
        let now = Instant::now();
        // Used 20 minutes after its command: allowed.
        let Some(arrived) = now.checked_sub(Duration::from_secs(20 * 60)) else {
            return; // a machine up for less than 20 minutes cannot express this instant
        };
        assert!(urls.reserve("http://mm/a", arrived).await.is_ok());
        assert_eq!(urls.uses("http://mm/a").await, 1);
        let Some(arrived) = now.checked_sub(LIFETIME) else {
            return;
        };
        assert!(matches!(
            urls.reserve("http://mm/b", arrived).await,
            Err(ResponseUrlError::Expired)
        ));
    }

    #[tokio::test]
    async fn the_sixth_use_is_refused_and_a_failed_use_is_given_back() {
        let urls = ResponseUrls::default();
        let now = Instant::now();
        for _ in 0..MAX_USES {
            assert!(urls.reserve("http://mm/a", now).await.is_ok());
        }
        assert!(matches!(
            urls.reserve("http://mm/a", now).await,
            Err(ResponseUrlError::Exhausted)
        ));
        urls.release("http://mm/a").await;
        assert!(urls.reserve("http://mm/a", now).await.is_ok());
        assert!(urls.reserve("http://mm/other", now).await.is_ok());
    }

    #[tokio::test]
    async fn replicas_sharing_a_store_share_the_five_uses() {
        let store = Store::in_process();
        let a = ResponseUrls::with_store(reqwest::Client::new(), store.clone());
        let b = ResponseUrls::with_store(reqwest::Client::new(), store);
        let now = Instant::now();
        for _ in 0..3 {
            assert!(a.reserve("http://mm/x", now).await.is_ok());
        }
        for _ in 0..2 {
            assert!(b.reserve("http://mm/x", now).await.is_ok());
        }
        assert!(matches!(
            a.reserve("http://mm/x", now).await,
            Err(ResponseUrlError::Exhausted)
        ));
    }
}
