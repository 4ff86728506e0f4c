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
//! all of them, cost nothing here. Entries are dropped once their 30 minutes are over, from an
//! insertion-ordered queue, so noting a URL costs amortised O(1) whatever the table's size, and
//! at most [`MAX_TRACKED`] URLs are kept (beyond that the oldest is forgotten early: the local
//! check is a courtesy, Mattermost enforces the limits itself).
//!
//! # Retries, and what counts as a use
//!
//! [`ResponseUrls::deliver`] retries a post that met a transient failure — a connection
//! reset or timeout, 500, 502, 503, 504, or 429 (after its `Retry-After`) — with doubling
//! backoff, within the URL's 30 minutes and 5 uses, and gives up at once on any other answer
//! (404: unknown or expired; 400 `try_use.invalid`: used up).
//!
//! Mattermost's `HandleCommandWebhook` (server/channels/app/command.go) marks a use
//! (`CommandWebhook().TryUse(id, 5)`, an UPDATE of `UseCount`) *before* it creates the post,
//! so a use is spent whenever the request reached that point, whether the post then failed
//! (500) or the answer was lost on the way back (a reset after the request was sent). We
//! cannot tell those apart from a proxy's 502/503 or a reset before Mattermost saw anything,
//! so every attempt that may have reached Mattermost counts as a use here; only a failure to
//! connect (nothing was sent) gives its use back. The price of a reset after a successful
//! post is a duplicate answer (at least once, never silently lost).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::mattermost::models::CommandResponse;

/// Uses allowed per `response_url`.
pub const MAX_USES: u32 = 5;
/// How long a `response_url` lives.
pub const LIFETIME: Duration = Duration::from_secs(30 * 60);
/// Most `response_url`s tracked at once (about 55 commands a second for 30 minutes).
pub const MAX_TRACKED: usize = 100_000;

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
        /// The `Retry-After` of a 429 or 503, when given in seconds.
        retry_after: Option<Duration>,
    },
}

impl ResponseUrlError {
    /// Whether trying again later may succeed: a reset, timeout or refused connection, a
    /// 5xx from a proxy or an overloaded server, or a 429.
    pub fn is_transient(&self) -> bool {
        match self {
            ResponseUrlError::Http(e) => e.is_connect() || e.is_timeout() || e.is_request(),
            ResponseUrlError::Refused { status, .. } => {
                matches!(status, 429 | 500 | 502 | 503 | 504)
            }
            _ => false,
        }
    }
}

/// How [`ResponseUrls::deliver`] spaces its attempts.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Wait before the first retry; doubled for each next one.
    pub first_backoff: Duration,
    /// Longest wait between two attempts (also caps a `Retry-After`).
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 0.5 s, 1 s, 2 s, 4 s: five attempts within about 8 s, a `Retry-After` honoured up to
    /// 5 minutes.
    fn default() -> Self {
        RetryPolicy {
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Usage {
    first_seen: Instant,
    uses: u32,
}

/// Use counts by URL, and the URLs in the order they were first seen.
#[derive(Debug, Default)]
struct Table {
    usage: HashMap<Arc<str>, Usage>,
    /// One item per entry of `usage`, in the order they were noted. A URL is noted at its first
    /// use, so `first_seen` is nearly, not strictly, increasing along it: an expired entry
    /// behind a younger one waits for it (still refused by `reserve`, which checks its own
    /// time).
    order: VecDeque<(Instant, Arc<str>)>,
}

impl Table {
    /// Drops entries older than [`LIFETIME`], and the oldest while there is no room for one
    /// more under [`MAX_TRACKED`]. Each
    /// entry is dropped once, so over many calls this costs O(1) per inserted entry.
    fn prune(&mut self, now: Instant) {
        while let Some((first_seen, _)) = self.order.front() {
            let expired = now.saturating_duration_since(*first_seen) >= LIFETIME;
            if !expired && self.order.len() < MAX_TRACKED {
                break;
            }
            if let Some((first_seen, url)) = self.order.pop_front()
                && self
                    .usage
                    .get(&url)
                    .is_some_and(|u| u.first_seen == first_seen)
            {
                self.usage.remove(&url);
            }
        }
    }

    /// Reserves one use at `now` of `url`, whose command arrived at `first_seen`, or says
    /// why not.
    fn reserve(
        &mut self,
        url: &str,
        first_seen: Instant,
        now: Instant,
    ) -> Result<(), ResponseUrlError> {
        if !self.usage.contains_key(url) {
            self.prune(now);
            let url: Arc<str> = Arc::from(url);
            self.order.push_back((first_seen, Arc::clone(&url)));
            self.usage.insert(
                url,
                Usage {
                    first_seen,
                    uses: 0,
                },
            );
        }
        let Some(entry) = self.usage.get_mut(url) else {
            return Ok(());
        };
        if now.saturating_duration_since(entry.first_seen) >= LIFETIME {
            return Err(ResponseUrlError::Expired);
        }
        if entry.uses >= MAX_USES {
            return Err(ResponseUrlError::Exhausted);
        }
        entry.uses += 1;
        Ok(())
    }
}

/// Use counts of every `response_url` seen in the last 30 minutes, and the HTTP client that
/// posts to them.
#[derive(Debug, Clone)]
pub struct ResponseUrls {
    http: reqwest::Client,
    usage: Arc<Mutex<Table>>,
    retry: RetryPolicy,
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
            retry: RetryPolicy::default(),
        }
    }

    /// The same tracker spacing retries by `retry`.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Posts `response` like [`ResponseUrls::post`], retrying transient failures (see the
    /// module docs) while uses and time remain. Returns how many attempts it took, or the last
    /// error.
    pub async fn deliver(
        &self,
        url: &str,
        command_arrived: Instant,
        response: &CommandResponse,
    ) -> Result<u32, ResponseUrlError> {
        let mut backoff = self.retry.first_backoff;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let error = match self.post(url, command_arrived, response).await {
                Ok(()) => return Ok(attempts),
                Err(e) => e,
            };
            if !error.is_transient() {
                return Err(error);
            }
            let retry_after = match &error {
                ResponseUrlError::Refused { retry_after, .. } => *retry_after,
                _ => None,
            };
            let wait = retry_after.unwrap_or(backoff).min(self.retry.max_backoff);
            let ends = command_arrived + LIFETIME;
            if Instant::now() + wait >= ends || self.uses(url) >= MAX_USES {
                return Err(error);
            }
            tracing::warn!(
                attempt = attempts,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "late answer not delivered; trying again"
            );
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(self.retry.max_backoff);
        }
    }

    /// Reserves one use of `url`, whose command arrived at `first_seen`, or says why not.
    fn reserve(&self, url: &str, first_seen: Instant) -> Result<(), ResponseUrlError> {
        let mut table = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        table.reserve(url, first_seen, Instant::now())
    }

    fn release(&self, url: &str) {
        let mut table = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = table.usage.get_mut(url) {
            entry.uses = entry.uses.saturating_sub(1);
        }
    }

    /// Uses of `url` so far.
    pub fn uses(&self, url: &str) -> u32 {
        let table = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        table.usage.get(url).map_or(0, |u| u.uses)
    }

    /// Posts `response` to `url`, the `response_url` of a command that arrived at
    /// `command_arrived`, as `application/json`, once. Every attempt that may have reached
    /// Mattermost counts as a use (see the module docs); a failure to connect does not.
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
        self.reserve(url, command_arrived)?;
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
                if e.is_connect() {
                    // Nothing was sent: Mattermost cannot have counted it.
                    self.release(url);
                }
                return Err(e.into());
            }
        };
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.text().await.unwrap_or_default();
        Err(ResponseUrlError::Refused {
            status: status.as_u16(),
            body: body.chars().take(500).collect(),
            retry_after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_entries_are_pruned_as_new_ones_arrive() {
        let mut table = Table::default();
        let start = Instant::now();
        for i in 0..10_000 {
            let url = format!("http://mm/hooks/commands/{i}");
            assert!(table.reserve(&url, start, start).is_ok());
        }
        assert_eq!(table.usage.len(), 10_000);
        // Still within 30 minutes: nothing goes.
        let young = start + LIFETIME / 2;
        assert!(table.reserve("http://mm/young", young, young).is_ok());
        assert_eq!(table.usage.len(), 10_001);
        // 30 minutes later the next new URL drops every expired entry, queue included.
        let late = start + LIFETIME;
        assert!(table.reserve("http://mm/late", late, late).is_ok());
        assert_eq!(table.usage.len(), 2);
        assert_eq!(table.order.len(), 2);
        assert!(table.usage.contains_key("http://mm/young"));
        assert!(table.usage.contains_key("http://mm/late"));
    }

    #[test]
    fn the_thirty_minutes_count_from_the_command_not_the_first_use() {
        let mut table = Table::default();
        let arrived = Instant::now();
        // First used 20 minutes after its command: allowed, and again until minute 30.
        let first_use = arrived + Duration::from_secs(20 * 60);
        assert!(table.reserve("http://mm/a", arrived, first_use).is_ok());
        let before_end = arrived + LIFETIME - Duration::from_secs(1);
        assert!(table.reserve("http://mm/a", arrived, before_end).is_ok());
        assert_eq!(table.usage.get("http://mm/a").map(|u| u.uses), Some(2));
        assert!(matches!(
            table.reserve("http://mm/a", arrived, arrived + LIFETIME),
            Err(ResponseUrlError::Expired)
        ));
        // A URL whose first use comes after its 30 minutes is refused at once.
        assert!(matches!(
            table.reserve("http://mm/b", arrived, arrived + LIFETIME),
            Err(ResponseUrlError::Expired)
        ));
    }

    #[test]
    fn the_sixth_use_is_refused() {
        let mut table = Table::default();
        let now = Instant::now();
        for _ in 0..MAX_USES {
            assert!(table.reserve("http://mm/a", now, now).is_ok());
        }
        assert!(matches!(
            table.reserve("http://mm/a", now, now),
            Err(ResponseUrlError::Exhausted)
        ));
    }

    #[test]
    fn at_most_max_tracked_urls_are_kept() {
        let mut table = Table::default();
        let now = Instant::now();
        for i in 0..MAX_TRACKED + 10 {
            assert!(table.reserve(&format!("http://mm/{i}"), now, now).is_ok());
        }
        assert_eq!(table.usage.len(), MAX_TRACKED);
        assert_eq!(table.usage.len(), table.order.len());
        assert!(!table.usage.contains_key("http://mm/0"));
    }

    /// A server that reads each request and closes the connection without answering.
    async fn swallowing_server() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = tokio::io::AsyncReadExt::read(&mut stream, &mut buf).await;
                drop(stream);
            }
        });
        format!("http://{addr}/hooks/commands/x")
    }

    #[tokio::test]
    async fn an_attempt_that_may_have_reached_mattermost_counts_as_a_use() {
        let urls = ResponseUrls::default();
        let url = swallowing_server().await;
        let err = urls
            .post(&url, Instant::now(), &CommandResponse::ephemeral("hi"))
            .await
            .unwrap_err();
        assert!(err.is_transient(), "{err}");
        assert_eq!(
            urls.uses(&url),
            1,
            "sent, then reset: Mattermost may have counted it"
        );

        // Nobody listening: nothing was sent, the use is given back.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}/hooks/commands/y", l.local_addr().unwrap())
        };
        assert!(
            urls.post(&closed, Instant::now(), &CommandResponse::ephemeral("hi"))
                .await
                .is_err()
        );
        assert_eq!(urls.uses(&closed), 0);
    }

    #[tokio::test]
    async fn delivery_stops_retrying_after_five_uses() {
        let urls = ResponseUrls::default().with_retry(RetryPolicy {
            first_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
        });
        let url = swallowing_server().await;
        let err = urls
            .deliver(&url, Instant::now(), &CommandResponse::ephemeral("hi"))
            .await
            .unwrap_err();
        assert!(err.is_transient(), "{err}");
        assert_eq!(urls.uses(&url), MAX_USES);
    }
}
