//! [`ClientBuilder`]: a [`Client`]'s settings, checked once when it is built.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{Client, Inner, ResponseObserver};
use crate::mattermost::error::Error;
use crate::mattermost::retry::RetryPolicy;

/// Default largest successful body read into memory (see
/// [`ClientBuilder::max_response_bytes`]): far above any answer Mattermost gives (a page of
/// 200 posts with metadata is a few MB; `since` returns at most 1000 posts), far below what
/// would take a process down.
const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Builds a [`Client`].
///
/// API: <https://api.mattermost.com/> (introduction, *Authentication*).
pub struct ClientBuilder {
    server_url: String,
    token: Option<SecretString>,
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    user_agent: String,
    retry: RetryPolicy,
    observer: Option<ResponseObserver>,
    max_response_bytes: usize,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("server_url", &self.server_url)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

impl ClientBuilder {
    /// The defaults for the server at `server_url`; see [`Client::builder`].
    pub(super) fn new(server_url: String) -> Self {
        ClientBuilder {
            server_url,
            token: None,
            connect_timeout: Some(Duration::from_secs(5)),
            timeout: Some(Duration::from_secs(30)),
            user_agent: concat!("switchboard/", env!("CARGO_PKG_VERSION")).to_owned(),
            retry: RetryPolicy::default(),
            observer: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// The bot or personal access token sent as `Authorization: Bearer <token>`.
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Authentication*).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(SecretString::from(token.into()));
        self
    }

    /// Same as [`token`](Self::token), for a token already held as a secret.
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Authentication*).
    pub fn secret_token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    /// Time allowed to open a connection (default 5 s).
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Authentication*).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Time allowed for one whole attempt, body included (default 30 s).
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Authentication*).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Removes both timeouts (and the idle-connection reaper's timer): calls wait as long as
    /// the server takes. Meant for tests under paused tokio time, where any pending timer fires
    /// as soon as the runtime idles, and for very large uploads.
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Authentication*).
    pub fn without_timeouts(mut self) -> Self {
        self.timeout = None;
        self.connect_timeout = None;
        self
    }

    /// The `User-Agent` header (default `switchboard/<version>`).
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Authentication*).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]).
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Authentication*).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Calls `observer` after every HTTP exchange, retries included (Switchboard counts API
    /// calls, retries and 429s for `/metrics` this way).
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Rate Limiting*).
    pub fn on_response(mut self, observer: ResponseObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The largest successful answer read into memory, in bytes (default 64 MiB); a longer one
    /// (a huge or endless body from a misbehaving server or proxy) fails with
    /// [`Error::TooLarge`] as soon as the limit is passed. Downloads written to a writer
    /// ([`Files::download`](crate::mattermost::api::Files::download)) and [`Client::raw_response`] are not
    /// limited.
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Authentication*).
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Builds the client.
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Authentication*).
    pub fn build(self) -> Result<Client, Error> {
        let server_url = Url::parse(&self.server_url).map_err(|e| {
            Error::invalid(format!(
                "Mattermost URL `{}` is not a URL: {e}",
                self.server_url
            ))
        })?;
        // Checked before anything prints the URL: it may hold a password.
        if !server_url.username().is_empty() || server_url.password().is_some() {
            // reqwest would turn them into a Basic `Authorization` header sent before the
            // token's, so Mattermost would see no token; and `Debug` would print the password.
            return Err(Error::invalid(
                "the Mattermost URL must not carry a user name or password (the token is the \
                 credential)",
            ));
        }
        if !matches!(server_url.scheme(), "http" | "https") || server_url.host().is_none() {
            return Err(Error::invalid(format!(
                "Mattermost URL `{server_url}` must be http(s)://host"
            )));
        }
        if server_url.query().is_some() || server_url.fragment().is_some() {
            // `/api/v4/…` is appended to the URL as text: it would land inside the query.
            return Err(Error::invalid(format!(
                "Mattermost URL `{server_url}` must not carry a query or fragment"
            )));
        }
        let auth = self
            .token
            .map(|token| {
                let mut value =
                    HeaderValue::from_str(&format!("Bearer {}", token.expose_secret().trim()))
                        .map_err(|_| {
                            Error::invalid("the token contains characters not allowed in a header")
                        })?;
                value.set_sensitive(true);
                Ok::<_, Error>(value)
            })
            .transpose()?;
        let idle = self.timeout.map(|_| Duration::from_secs(90));
        let mut http = reqwest::Client::builder()
            .user_agent(self.user_agent)
            .pool_idle_timeout(idle);
        if let Some(timeout) = self.connect_timeout {
            http = http.connect_timeout(timeout);
        }
        if let Some(timeout) = self.timeout {
            http = http.timeout(timeout);
        }
        let http = http
            .build()
            .map_err(|e| Error::invalid(format!("cannot build the HTTP client: {e}")))?;
        let api_base = format!("{}/api/v4", server_url.as_str().trim_end_matches('/'));
        let (api_url, root_url) = base_urls(&api_base)?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                api_base,
                api_url,
                root_url,
                server_url,
                auth,
                retry: self.retry,
                observer: self.observer,
                max_response_bytes: self.max_response_bytes,
                logged_out: AtomicBool::new(false),
                own_user_id: tokio::sync::OnceCell::new(),
            }),
        })
    }
}

/// `<server>/api/v4` and `<server>` parsed.
fn base_urls(api_base: &str) -> Result<(Url, Url), Error> {
    let parse = |text: &str| {
        Url::parse(text)
            .map_err(|e| Error::invalid(format!("Mattermost URL `{text}` is not a URL: {e}")))
    };
    Ok((
        parse(api_base)?,
        parse(api_base.trim_end_matches("/api/v4"))?,
    ))
}
