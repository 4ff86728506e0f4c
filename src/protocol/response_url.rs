//! Delayed slash-command replies through `response_url` (PROTOCOL.md §1.6).
//!
//! Mattermost accepts at most **5** uses of one `response_url`, within **30 minutes** of the
//! command; the body is parsed as JSON only when `Content-Type` is exactly
//! `application/json` (otherwise it is posted literally). [`ResponseUrls`] counts uses per URL
//! and refuses the 6th or a late one locally, so a bug in a handler cannot turn into a stream
//! of failing requests, and always sends JSON with that exact content type.
//!
//! Every command carries its own `response_url`, so the table would grow with traffic; entries
//! are dropped once their 30 minutes are over, oldest first from an insertion-ordered queue,
//! so noting a command costs amortised O(1) whatever the table's size, and at most
//! [`MAX_TRACKED`] URLs are kept (beyond that the oldest is forgotten early: the local check is
//! a courtesy, Mattermost enforces the limits itself).

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
    },
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
    /// One item per entry of `usage`, oldest first: `first_seen` never decreases along it,
    /// so the expired entries are always at the front.
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

    /// Adds `url`, first seen `now`, with `uses` uses (the caller checked it is absent).
    fn insert(&mut self, url: &str, now: Instant, uses: u32) {
        self.prune(now);
        let url: Arc<str> = Arc::from(url);
        self.order.push_back((now, Arc::clone(&url)));
        self.usage.insert(
            url,
            Usage {
                first_seen: now,
                uses,
            },
        );
    }

    /// Notes that a command carrying `url` arrived at `now`.
    fn seen(&mut self, url: &str, now: Instant) {
        if !self.usage.contains_key(url) {
            self.insert(url, now, 0);
        }
    }

    /// Reserves one use of `url` at `now`, or says why not.
    fn reserve(&mut self, url: &str, now: Instant) -> Result<(), ResponseUrlError> {
        let Some(entry) = self.usage.get_mut(url) else {
            // Never seen (or already forgotten): Mattermost has the last word.
            self.insert(url, now, 1);
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

    /// Notes that a command carrying `url` arrived now (starts its 30 minutes). Amortised
    /// O(1): entries older than 30 minutes are dropped as new ones come in.
    pub fn seen(&self, url: &str) {
        let mut table = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        table.seen(url, Instant::now());
    }

    /// Reserves one use of `url`, or says why not.
    fn reserve(&self, url: &str) -> Result<(), ResponseUrlError> {
        let mut table = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        table.reserve(url, Instant::now())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_entries_are_pruned_as_new_ones_arrive() {
        let mut table = Table::default();
        let start = Instant::now();
        for i in 0..10_000 {
            table.seen(&format!("http://mm/hooks/commands/{i}"), start);
        }
        assert_eq!(table.usage.len(), 10_000);
        // Still within 30 minutes: nothing goes.
        table.seen("http://mm/hooks/commands/young", start + LIFETIME / 2);
        assert_eq!(table.usage.len(), 10_001);
        // 30 minutes later the next command drops every expired entry, queue included.
        table.seen("http://mm/hooks/commands/late", start + LIFETIME);
        assert_eq!(table.usage.len(), 2);
        assert_eq!(table.order.len(), 2);
        assert!(table.usage.contains_key("http://mm/hooks/commands/young"));
        assert!(table.usage.contains_key("http://mm/hooks/commands/late"));
    }

    #[test]
    fn seeing_a_url_again_keeps_its_count_and_start() {
        let mut table = Table::default();
        let start = Instant::now();
        table.seen("http://mm/a", start);
        assert!(table.reserve("http://mm/a", start).is_ok());
        table.seen("http://mm/a", start + LIFETIME / 2);
        assert_eq!(table.usage.len(), 1);
        assert_eq!(table.order.len(), 1);
        assert_eq!(table.usage.get("http://mm/a").map(|u| u.uses), Some(1));
        assert!(matches!(
            table.reserve("http://mm/a", start + LIFETIME),
            Err(ResponseUrlError::Expired)
        ));
    }

    #[test]
    fn the_sixth_use_is_refused() {
        let mut table = Table::default();
        let now = Instant::now();
        table.seen("http://mm/a", now);
        for _ in 0..MAX_USES {
            assert!(table.reserve("http://mm/a", now).is_ok());
        }
        assert!(matches!(
            table.reserve("http://mm/a", now),
            Err(ResponseUrlError::Exhausted)
        ));
    }

    #[test]
    fn at_most_max_tracked_urls_are_kept() {
        let mut table = Table::default();
        let now = Instant::now();
        for i in 0..MAX_TRACKED + 10 {
            table.seen(&format!("http://mm/{i}"), now);
        }
        assert_eq!(table.usage.len(), MAX_TRACKED);
        assert_eq!(table.usage.len(), table.order.len());
        assert!(!table.usage.contains_key("http://mm/0"));
    }
}
