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
//! logged. A caller that will not use a URL again forgets its count
//! ([`ResponseUrls::forget`]: a declared route after its one late answer) rather than leave it
//! for the rest of the 30 minutes.
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

/// Use counts of every `response_url` seen in the last 30 minutes, and the HTTP client that
/// posts to them.
#[derive(Debug, Clone)]
pub struct ResponseUrls {
    http: reqwest::Client,
    usage: Store,
    retry: RetryPolicy,
}

impl Default for ResponseUrls {
    fn default() -> Self {
        Self::new(Self::client())
    }
}

/// How long connecting to a `response_url`'s host may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one post to a `response_url` may take, answer included.
const POST_TIMEOUT: Duration = Duration::from_secs(30);

impl ResponseUrls {
    /// The HTTP client for `response_url`s: a post that hangs ends after 30 s
    /// (then it is retried, or answered through the API), and redirects are not followed
    /// (Mattermost's `/hooks/commands/…` never redirects; following one would resend the
    /// answer, and the URL's secret id as the `Referer`, to another host).
    pub fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(POST_TIMEOUT)
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            // Only a broken TLS backend fails to build; a plain client still posts.
            .unwrap_or_default()
    }

    /// A tracker posting with `http`.
    pub fn new(http: reqwest::Client) -> Self {
        ResponseUrls::with_store(http, Store::in_process())
    }

    /// A tracker posting with `http`, counting uses in `store` (shared by replicas).
    pub fn with_store(http: reqwest::Client, store: Store) -> Self {
        ResponseUrls {
            http,
            usage: store,
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
            if Instant::now() + wait >= ends || self.uses(url).await >= MAX_USES {
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

    /// Forgets `url`'s use count, for a caller that will not use the URL again (a declared
    /// route's one late answer, delivered or given up): nothing is kept for the rest of its
    /// 30 minutes. Mattermost still enforces its 5 uses.
    pub async fn forget(&self, url: &str) {
        if let Err(e) = self.usage.forget(&self.key(url)).await {
            tracing::warn!(error = %e, "a response_url use count could not be forgotten");
        }
    }

    /// Uses of `url` so far (0 when the store cannot tell).
    pub async fn uses(&self, url: &str) -> u32 {
        self.usage.uses(&self.key(url)).await.unwrap_or(0)
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
                if e.is_connect() {
                    // Nothing was sent: Mattermost cannot have counted it.
                    self.release(url).await;
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
            urls.uses(&url).await,
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
        assert_eq!(urls.uses(&closed).await, 0);
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
        assert_eq!(urls.uses(&url).await, MAX_USES);
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed_to_another_host() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        // One server redirects; the other counts what reaches it.
        let reached = Arc::new(AtomicUsize::new(0));
        let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target_addr = target.local_addr().unwrap();
        let counter = Arc::clone(&reached);
        let target_app = axum::Router::new().fallback(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { "ok" }
        });
        tokio::spawn(async move { axum::serve(target, target_app).await });
        let redirector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let redirector_addr = redirector.local_addr().unwrap();
        let location = format!("http://{target_addr}/stolen");
        let redirect_app = axum::Router::new().fallback(move || {
            let location = location.clone();
            async move {
                (
                    axum::http::StatusCode::TEMPORARY_REDIRECT,
                    [(axum::http::header::LOCATION, location)],
                )
            }
        });
        tokio::spawn(async move { axum::serve(redirector, redirect_app).await });

        let urls = ResponseUrls::default();
        let answer = CommandResponse::ephemeral("late");
        let url = format!("http://{redirector_addr}/hooks/commands/secretid");
        let sent = urls.post(&url, Instant::now(), &answer).await;
        assert!(
            matches!(sent, Err(ResponseUrlError::Refused { status: 307, .. })),
            "{sent:?}"
        );
        assert_eq!(
            reached.load(Ordering::SeqCst),
            0,
            "the redirect was followed"
        );
    }
}
