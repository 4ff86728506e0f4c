//! When and how long to wait before sending a request again.
//!
//! Rules: a 429 is always safe to repeat (Mattermost's rate limiter refuses before the handler
//! runs), and so is a request that never connected. Timeouts and 502/503/504 are repeated only
//! for idempotent endpoints. Waits grow exponentially with full jitter, honour `Retry-After`
//! and then `X-RateLimit-Reset` (seconds until the window resets, as Mattermost writes it), and
//! stop at a cap on attempts and on total time. A server that asks for a longer wait than
//! [`RetryPolicy::max_delay`] (or than the total left) gets no retry at all: the call fails at
//! once with the wait it asked for, instead of retrying early into certain refusals.

use std::time::Duration;

use rand::RngExt;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// The retry policy of a [`Client`](super::Client).
///
/// API: <https://api.mattermost.com/> (introduction, *Rate Limiting*).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; `1` disables retries.
    pub max_attempts: u32,
    /// Base of the exponential back-off.
    pub base_delay: Duration,
    /// Longest single wait.
    pub max_delay: Duration,
    /// Longest total time spent waiting across retries of one call.
    pub max_total_wait: Duration,
    /// Shortest wait after a 429 that carries no timing headers.
    pub min_rate_limit_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_total_wait: Duration::from_secs(30),
            min_rate_limit_wait: Duration::from_secs(1),
        }
    }
}

/// Why an attempt failed, as far as retrying is concerned.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Failure {
    /// The connection could not be opened: nothing was sent.
    Connect,
    /// Sent, but no answer in time.
    Timeout,
    /// Answered with this status.
    Status(StatusCode),
}

impl RetryPolicy {
    /// A policy that never retries.
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Rate Limiting*).
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// How long to wait before attempt `attempt + 1` (attempts count from 1), or `None` to give up.
    /// `repeat_recognised_for` is, for an endpoint that is retry-safe only while the server
    /// de-duplicates it, how much longer the server will recognise a repeat.
    pub(crate) fn wait_before_retry(
        &self,
        attempt: u32,
        failure: Failure,
        idempotent: bool,
        server_asked: Option<Duration>,
        waited_so_far: Duration,
        repeat_recognised_for: Option<Duration>,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let retryable = match failure {
            Failure::Connect => true,
            Failure::Status(StatusCode::TOO_MANY_REQUESTS) => true,
            Failure::Timeout => idempotent,
            Failure::Status(s) => {
                idempotent
                    && matches!(
                        s,
                        StatusCode::BAD_GATEWAY
                            | StatusCode::SERVICE_UNAVAILABLE
                            | StatusCode::GATEWAY_TIMEOUT
                    )
            }
        };
        if !retryable {
            return None;
        }
        let wait = match (failure, server_asked) {
            // A retry before the time the server named is refused again (Mattermost's limiter
            // answers 429 until the window resets): rather than spend the attempts on certain
            // refusals, give up now and hand the wait to the caller (`Error::RateLimited`).
            (_, Some(asked)) if asked > self.max_delay => return None,
            (_, Some(asked)) => asked,
            (Failure::Status(StatusCode::TOO_MANY_REQUESTS), None) => {
                self.backoff(attempt).max(self.min_rate_limit_wait)
            }
            _ => self.backoff(attempt),
        };
        let wait = wait.min(self.max_delay);
        // The request may have been carried out (a timeout, a 5xx): repeat it only while the
        // server would still recognise the repeat. (A 429 was refused before the handler ran,
        // and a connect failure sent nothing.)
        let may_have_run = matches!(failure, Failure::Timeout)
            || matches!(failure, Failure::Status(s) if s != StatusCode::TOO_MANY_REQUESTS);
        if may_have_run && repeat_recognised_for.is_some_and(|left| wait >= left) {
            return None;
        }
        (waited_so_far + wait <= self.max_total_wait).then_some(wait)
    }

    /// Full-jitter exponential back-off: a random wait in `[0, base * 2^(attempt-1)]`.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

/// The wait a response asks for: `Retry-After` (seconds, or an HTTP date as RFC 9110 also
/// allows and proxies send), else `X-RateLimit-Reset` (seconds until the window resets).
pub(crate) fn server_requested_wait(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let seconds = |value: &str| value.parse::<u64>().ok().map(Duration::from_secs);
    let retry_after =
        header("retry-after").and_then(|value| seconds(value).or_else(|| until_http_date(value)));
    retry_after.or_else(|| header("x-ratelimit-reset").and_then(seconds))
}

/// The time from now until an HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`, RFC 2822 compatible);
/// zero for a date already past.
fn until_http_date(value: &str) -> Option<Duration> {
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let left = when.signed_duration_since(chrono::Utc::now());
    Some(left.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_idempotent_calls_are_not_retried_on_5xx_or_timeout() {
        let p = RetryPolicy::default();
        let s503 = Failure::Status(StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            p.wait_before_retry(1, s503, false, None, Duration::ZERO, None)
                .is_none()
        );
        assert!(
            p.wait_before_retry(1, Failure::Timeout, false, None, Duration::ZERO, None)
                .is_none()
        );
        assert!(
            p.wait_before_retry(1, s503, true, None, Duration::ZERO, None)
                .is_some()
        );
    }

    #[test]
    fn retry_after_is_honoured_and_attempts_are_capped() {
        let p = RetryPolicy::default();
        let s429 = Failure::Status(StatusCode::TOO_MANY_REQUESTS);
        let asked = Some(Duration::from_secs(3));
        assert_eq!(
            p.wait_before_retry(1, s429, false, asked, Duration::ZERO, None),
            Some(Duration::from_secs(3))
        );
        assert!(
            p.wait_before_retry(4, s429, true, asked, Duration::ZERO, None)
                .is_none()
        );
    }

    #[test]
    fn a_wait_longer_than_max_delay_is_not_cut_short_but_not_retried() {
        let p = RetryPolicy::default();
        let s429 = Failure::Status(StatusCode::TOO_MANY_REQUESTS);
        let asked = Some(Duration::from_secs(60));
        assert_eq!(
            p.wait_before_retry(1, s429, true, asked, Duration::ZERO, None),
            None
        );
    }

    #[test]
    fn a_deduplicated_post_is_not_retried_after_its_window_but_a_429_is() {
        let p = RetryPolicy::default();
        let s503 = Failure::Status(StatusCode::SERVICE_UNAVAILABLE);
        let s429 = Failure::Status(StatusCode::TOO_MANY_REQUESTS);
        let gone = Some(Duration::ZERO);
        let plenty = Some(Duration::from_secs(20));
        for failure in [s503, Failure::Timeout] {
            assert!(
                p.wait_before_retry(1, failure, true, None, Duration::ZERO, gone)
                    .is_none()
            );
            assert!(
                p.wait_before_retry(1, failure, true, None, Duration::ZERO, plenty)
                    .is_some()
            );
        }
        assert!(
            p.wait_before_retry(1, s429, true, None, Duration::ZERO, gone)
                .is_some()
        );
        assert!(
            p.wait_before_retry(1, Failure::Connect, true, None, Duration::ZERO, gone)
                .is_some()
        );
    }

    #[test]
    fn total_wait_is_capped() {
        let p = RetryPolicy::default();
        let s429 = Failure::Status(StatusCode::TOO_MANY_REQUESTS);
        let asked = Some(Duration::from_secs(5));
        assert!(
            p.wait_before_retry(2, s429, true, asked, Duration::from_secs(28), None)
                .is_none()
        );
    }

    #[test]
    fn retry_after_may_be_an_http_date() {
        let mut headers = HeaderMap::new();
        let at = chrono::Utc::now() + chrono::Duration::seconds(120);
        let date = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        headers.insert("retry-after", date.parse().unwrap());
        let wait = server_requested_wait(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(115) && wait <= Duration::from_secs(120),
            "{date}: {wait:?}"
        );
        headers.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(server_requested_wait(&headers), Some(Duration::ZERO));
    }

    #[test]
    fn a_400_is_never_retried() {
        let p = RetryPolicy::default();
        let f = Failure::Status(StatusCode::BAD_REQUEST);
        assert!(
            p.wait_before_retry(1, f, true, None, Duration::ZERO, None)
                .is_none()
        );
    }
}
