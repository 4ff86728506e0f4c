//! [`Client`]: the one place requests are sent. Its builder is in `client/builder.rs`.

mod builder;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::header::{self, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
// tokio's clock (the system's unless a test pauses it), so the de-duplication window of
// `POST /posts` is measured on the same clock as the timeouts and back-off.
use tokio::time::Instant;
use tracing::Instrument;
use url::Url;

use super::endpoints::{Endpoint, Verb};
use super::error::Error;
use super::ids::UserId;
use super::request::{ApiRequest, RequestBody};
use super::retry::{Failure, RetryPolicy, server_requested_wait};
pub use builder::ClientBuilder;

/// Called after every HTTP exchange with the endpoint, the status (`None` when no response
/// came), the attempt number (1 = first try) and the exchange's duration; see
/// [`ClientBuilder::on_response`].
///
/// API: <https://api.mattermost.com/> (introduction, *Rate Limiting*: 429s are observed too).
pub type ResponseObserver =
    Arc<dyn Fn(&Endpoint, Option<reqwest::StatusCode>, u32, Duration) + Send + Sync>;

/// Largest error body read into memory; the rest is ignored.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// A Mattermost API v4 client.
///
/// Cheap to clone: clones share one connection pool, token and policy. Build one with
/// [`Client::builder`].
///
/// API: <https://api.mattermost.com/> (introduction, *Authentication*).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// `<server>/api/v4`, without a trailing slash.
    api_base: String,
    /// `api_base` parsed, and the server root it is below: each call's URL is one of these
    /// with its path set (parsing the whole URL, host included, was 8 % of the
    /// instructions of a callback making one API call).
    api_url: Url,
    root_url: Url,
    server_url: Url,
    auth: Option<HeaderValue>,
    retry: RetryPolicy,
    observer: Option<ResponseObserver>,
    /// Largest successful body read into memory.
    max_response_bytes: usize,
    /// Set once [`Users::logout`](super::api::Users::logout) succeeded: the token is revoked,
    /// so calls that would carry it are refused before sending.
    logged_out: AtomicBool,
    /// The id of the user the token belongs to, once asked ([`Client::own_user_id`]).
    own_user_id: tokio::sync::OnceCell<UserId>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("server_url", &self.inner.server_url.as_str())
            .field("token", &self.inner.auth.as_ref().map(|_| "[redacted]"))
            .field("retry", &self.inner.retry)
            .field("logged_out", &self.is_logged_out())
            .finish()
    }
}

impl Client {
    /// Starts a builder for the server at `server_url` (e.g. `https://chat.example.com`).
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Authentication*).
    pub fn builder(server_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(server_url.into())
    }

    /// The id of the user this client acts as: `GET /users/me` on the first call, then kept
    /// for this client and its clones (a token always belongs to the same user). A failed
    /// lookup is not kept; the next call asks again.
    pub async fn own_user_id(&self) -> Result<UserId, Error> {
        self.inner
            .own_user_id
            .get_or_try_init(|| async { Ok(self.users().me().await?.id) })
            .await
            .cloned()
    }

    /// The server's base URL, as configured.
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Authentication*).
    pub fn server_url(&self) -> &Url {
        &self.inner.server_url
    }

    /// Whether [`Users::logout`](super::api::Users::logout) ended this client's session. A
    /// logged-out client (and every clone of it) refuses authenticated calls with
    /// [`Error::LoggedOut`] instead of sending the revoked token; make a new one with
    /// [`with_token`](Self::with_token) after logging in again.
    ///
    /// API: <https://api.mattermost.com/#tag/users/operation/Logout>.
    pub fn is_logged_out(&self) -> bool {
        self.inner.logged_out.load(Ordering::Acquire)
    }

    /// Marks the session as ended (after a successful logout).
    pub(crate) fn mark_logged_out(&self) {
        self.inner.logged_out.store(true, Ordering::Release);
    }

    /// The full URL a request goes to.
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Authentication*).
    pub fn url_for(&self, request: &ApiRequest) -> Result<Url, Error> {
        let base = if request.endpoint().server_root {
            &self.inner.root_url
        } else {
            &self.inner.api_url
        };
        let mut url = base.clone();
        // The request's path is percent-encoded already (`ApiRequest`), so setting it gives the
        // URL that parsing `base + path` would.
        let (base_path, path) = (base.path().trim_end_matches('/'), request.path());
        let mut full = String::with_capacity(base_path.len() + path.len());
        full.push_str(base_path);
        full.push_str(path);
        url.set_path(&full);
        if !request.query_pairs().is_empty() {
            url.query_pairs_mut().extend_pairs(request.query_pairs());
        }
        Ok(url)
    }

    /// Sends a request, with auth, retries and a tracing span, and returns the successful
    /// response; any failure status becomes an [`Error`].
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Authentication*).
    pub async fn execute(&self, request: &ApiRequest) -> Result<reqwest::Response, Error> {
        let endpoint = request.endpoint();
        // Incoming webhooks (`server_root`) carry no token, so they still work.
        if self.is_logged_out() && !endpoint.server_root {
            return Err(Error::LoggedOut { endpoint });
        }
        let span = tracing::debug_span!(
            "mattermost.request",
            method = endpoint.verb.as_str(),
            path = endpoint.path,
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        self.execute_with_retries(request).instrument(span).await
    }

    async fn execute_with_retries(&self, request: &ApiRequest) -> Result<reqwest::Response, Error> {
        let endpoint = request.endpoint();
        let url = self.url_for(request)?;
        let started = Instant::now();
        let mut waited = Duration::ZERO;
        let mut attempt = 1;
        let one_shot = request.body().is_one_shot();
        loop {
            let sent = Instant::now();
            let outcome = self.attempt(request, url.clone()).await?;
            if let Some(observer) = &self.inner.observer {
                let status = outcome.as_ref().ok().map(reqwest::Response::status);
                observer(&endpoint, status, attempt, sent.elapsed());
            }
            let (failure, asked, error) = match outcome {
                Ok(response) if response.status().is_success() => {
                    record_done(&response, attempt, started);
                    return Ok(response);
                }
                Ok(response) => {
                    let status = response.status();
                    let asked = server_requested_wait(response.headers());
                    let body = read_capped(response, MAX_ERROR_BODY).await;
                    let error = Error::from_response(endpoint, status, asked, &body);
                    (Failure::Status(status), asked, error)
                }
                Err(source) => {
                    let error = Error::from_transport(endpoint, source);
                    let failure = match &error {
                        Error::Connect { .. } => Failure::Connect,
                        Error::Timeout { .. } => Failure::Timeout,
                        _ => return Err(error),
                    };
                    (failure, None, error)
                }
            };
            let wait = if one_shot {
                None
            } else {
                self.inner.retry.wait_before_retry(
                    attempt,
                    failure,
                    endpoint.idempotent,
                    asked,
                    waited,
                    endpoint
                        .dedup_window
                        .map(|window| window.saturating_sub(started.elapsed())),
                )
            };
            let Some(wait) = wait else {
                let span = tracing::Span::current();
                span.record("attempts", attempt);
                if let Some(status) = error.status() {
                    span.record("status", status.as_u16());
                }
                tracing::debug!(error = %error, "request failed");
                return Err(error);
            };
            tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, error = %error, "retrying");
            tokio::time::sleep(wait).await;
            waited += wait;
            attempt += 1;
        }
    }

    /// One attempt; the outer error is a body that cannot be sent again.
    async fn attempt(
        &self,
        request: &ApiRequest,
        url: Url,
    ) -> Result<Result<reqwest::Response, reqwest::Error>, Error> {
        let endpoint = request.endpoint();
        let mut builder = self
            .inner
            .http
            .request(endpoint.verb.as_method(), url)
            .header(header::ACCEPT, "application/json");
        // Incoming webhooks are authorised by their URL; the token is not sent there.
        if let (Some(auth), false) = (&self.inner.auth, endpoint.server_root) {
            builder = builder.header(header::AUTHORIZATION, auth.clone());
        }
        builder = match request.body() {
            RequestBody::Empty => builder,
            RequestBody::Json(bytes) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
            RequestBody::Multipart(multipart) => {
                let form = multipart.take_form().ok_or_else(|| {
                    Error::invalid(format!("{endpoint}: a streamed body can be sent only once"))
                })?;
                builder.multipart(form)
            }
        };
        Ok(builder.send().await)
    }

    /// Sends a request and decodes its JSON answer into `T`.
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Authentication*).
    pub async fn send_json<T: DeserializeOwned>(&self, request: &ApiRequest) -> Result<T, Error> {
        let endpoint = request.endpoint();
        let response = self.execute(request).await?;
        let bytes = self.read_body(endpoint, response).await?;
        decode(endpoint, &bytes)
    }

    /// Sends a request whose answer carries nothing we need (`{"status":"OK"}`).
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Authentication*).
    pub async fn send_unit(&self, request: &ApiRequest) -> Result<(), Error> {
        let endpoint = request.endpoint();
        let response = self.execute(request).await?;
        // Drain the body so the connection goes back to the pool.
        self.read_body(endpoint, response).await?;
        Ok(())
    }

    /// Sends a request and streams its body into `writer` chunk by chunk (nothing is held in
    /// memory beyond one chunk); returns the number of bytes written.
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Authentication*).
    pub async fn send_to_writer<W>(
        &self,
        request: &ApiRequest,
        writer: &mut W,
    ) -> Result<u64, Error>
    where
        W: tokio::io::AsyncWrite + Unpin + ?Sized,
    {
        use tokio::io::AsyncWriteExt;
        let endpoint = request.endpoint();
        let mut response = self.execute(request).await?;
        let mut written = 0u64;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| Error::from_transport(endpoint, e))?
        {
            writer.write_all(&chunk).await.map_err(|e| Error::Io {
                endpoint,
                source: e,
            })?;
            written += chunk.len() as u64;
        }
        writer.flush().await.map_err(|e| Error::Io {
            endpoint,
            source: e,
        })?;
        Ok(written)
    }

    /// Sends a request and returns its JSON answer together with the response headers.
    pub(crate) async fn send_json_with_headers<T: DeserializeOwned>(
        &self,
        request: &ApiRequest,
    ) -> Result<(T, reqwest::header::HeaderMap), Error> {
        let endpoint = request.endpoint();
        let response = self.execute(request).await?;
        let headers = response.headers().clone();
        let bytes = self.read_body(endpoint, response).await?;
        Ok((decode(endpoint, &bytes)?, headers))
    }

    /// Sends a request and returns the raw body bytes (used by pagination, which compares
    /// pages before decoding them).
    pub(crate) async fn send_bytes(&self, request: &ApiRequest) -> Result<bytes::Bytes, Error> {
        let endpoint = request.endpoint();
        let response = self.execute(request).await?;
        self.read_body(endpoint, response).await
    }

    /// Reads a successful body, refusing one longer than `max_response_bytes` as soon as that
    /// is known (from `Content-Length`, or while reading a chunked one). A body that arrives in
    /// one chunk is returned without a copy.
    async fn read_body(
        &self,
        endpoint: Endpoint,
        mut response: reqwest::Response,
    ) -> Result<bytes::Bytes, Error> {
        let limit = self.inner.max_response_bytes;
        let too_large = || Error::TooLarge { endpoint, limit };
        if response
            .content_length()
            .is_some_and(|length| length > limit as u64)
        {
            return Err(too_large());
        }
        let transport = |e| Error::from_transport(endpoint, e);
        let Some(first) = response.chunk().await.map_err(transport)? else {
            return Ok(bytes::Bytes::new());
        };
        if first.len() > limit {
            return Err(too_large());
        }
        let Some(second) = response.chunk().await.map_err(transport)? else {
            return Ok(first);
        };
        let mut body = bytes::BytesMut::from(&first[..]);
        let mut chunk = Some(second);
        while let Some(part) = chunk {
            if body.len() + part.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&part);
            chunk = response.chunk().await.map_err(transport)?;
        }
        Ok(body.freeze())
    }

    /// A client for the same server and settings that authenticates with another token
    /// (e.g. the session token [`Users::login`](super::api::Users::login) returns). Shares the
    /// connection pool.
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Authentication*).
    pub fn with_token(&self, token: &SecretString) -> Result<Client, Error> {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret().trim()))
            .map_err(|_| Error::invalid("the token contains characters not allowed in a header"))?;
        value.set_sensitive(true);
        Ok(Client {
            inner: Arc::new(Inner {
                http: self.inner.http.clone(),
                api_base: self.inner.api_base.clone(),
                api_url: self.inner.api_url.clone(),
                root_url: self.inner.root_url.clone(),
                server_url: self.inner.server_url.clone(),
                auth: Some(value),
                retry: self.inner.retry.clone(),
                observer: self.inner.observer.clone(),
                max_response_bytes: self.inner.max_response_bytes,
                logged_out: AtomicBool::new(false),
                own_user_id: tokio::sync::OnceCell::new(),
            }),
        })
    }

    /// The WebSocket URL (`ws(s)://…/api/v4/websocket`).
    pub(crate) fn websocket_url(&self) -> String {
        let base = &self.inner.api_base;
        let base = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            base.clone()
        };
        format!("{base}/websocket")
    }

    /// The `Authorization` header value, for the WebSocket handshake.
    /// `None` once logged out, so no socket is opened with a revoked token.
    pub(crate) fn auth_header(&self) -> Option<&HeaderValue> {
        if self.is_logged_out() {
            return None;
        }
        self.inner.auth.as_ref()
    }

    /// The raw escape hatch: any `/api/v4` path with any method, sharing auth, retries and
    /// tracing. `path` is below `/api/v4` and used as given (encode ids yourself, or build an
    /// [`ApiRequest`] from an [`Endpoint::custom`] instead).
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Authentication*).
    ///
    /// ```no_run
    /// # async fn demo(client: switchboard::mattermost::Client) -> Result<(), switchboard::mattermost::Error> {
    /// use switchboard::mattermost::endpoints::Verb;
    /// let config: serde_json::Value = client
    ///     .raw(Verb::Get, "/config/client?format=old", None::<&()>)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn raw<T: DeserializeOwned, B: serde::Serialize + ?Sized>(
        &self,
        verb: Verb,
        path_and_query: &str,
        body: Option<&B>,
    ) -> Result<T, Error> {
        let request = self.raw_request(verb, path_and_query, body)?;
        self.send_json(&request).await
    }

    /// Like [`raw`](Self::raw) but returns the response itself (status checked).
    ///
    /// API: <https://api.mattermost.com/> (introduction, *Authentication*).
    pub async fn raw_response<B: serde::Serialize + ?Sized>(
        &self,
        verb: Verb,
        path_and_query: &str,
        body: Option<&B>,
    ) -> Result<reqwest::Response, Error> {
        let request = self.raw_request(verb, path_and_query, body)?;
        self.execute(&request).await
    }

    fn raw_request<B: serde::Serialize + ?Sized>(
        &self,
        verb: Verb,
        path_and_query: &str,
        body: Option<&B>,
    ) -> Result<ApiRequest, Error> {
        let mut request = ApiRequest::raw(Endpoint::custom(verb, "{raw}"), path_and_query)?;
        if let Some(body) = body {
            request = request.json(body)?;
        }
        Ok(request)
    }
}

fn record_done(response: &reqwest::Response, attempts: u32, started: Instant) {
    let span = tracing::Span::current();
    span.record("status", response.status().as_u16());
    span.record("attempts", attempts);
    span.record("latency_ms", started.elapsed().as_millis() as u64);
    tracing::trace!("request succeeded");
}

/// Decodes JSON, naming the path that failed.
pub(crate) fn decode<T: DeserializeOwned>(endpoint: Endpoint, bytes: &[u8]) -> Result<T, Error> {
    // Fast path; only a failure pays for path tracking.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| Error::Decode {
        endpoint,
        path: e.path().to_string(),
        source: e.into_inner(),
    })
}

/// Reads at most `cap` bytes of a body; transport errors end the read early.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = cap.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= cap {
            break;
        }
    }
    body
}
