//! The `http` action: forward the request to another HTTP service and render its answer.
//!
//! URL, header values and body are templates. Secret headers come from environment variables
//! named in `headers_from_env`, read at request time; they never enter a template context or a
//! log line. The answer is offered to the reply template as `response.status`,
//! `response.ok`, `response.json` (null unless the body is JSON) and `response.text`. A timeout,
//! a connection failure or a non-2xx status answers the user with what went wrong instead of
//! the template.
//!
//! The URL is a URL template (`escape.rs`): a value is percent-encoded for the part it lands
//! in, so `../../x` stays one path segment and `x?admin=1` one query value. The final URL must
//! be `http(s)` and, when the route lists `allowed_hosts`, on one of them. Redirects are not
//! followed unless the route sets `follow_redirects`, and then only to the same scheme, host
//! and port (at most [`MAX_REDIRECTS`]); the request client itself never follows one.

use std::time::Duration;

use serde_json::{Value, json};

use super::context::Context;
use super::reply::{ButtonLinks, Rendered, ReplyAction};
use super::spec::HttpSpec;
use super::template::{Template, TemplateError};

/// Most redirects followed for one request, when the route allows them.
pub(crate) const MAX_REDIRECTS: usize = 5;

/// Most bytes of an answer read (a lookup keeps 100 options, a reply is one post): a service
/// answering more is refused rather than buffered, so a huge or endless body cannot exhaust
/// memory within the timeout.
pub(crate) const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// A compiled `[http]`.
#[derive(Debug, Clone)]
pub struct HttpAction {
    request: HttpRequest,
    /// The reply rendered from the answer.
    pub reply: ReplyAction,
}

/// The request part of an `http` action or an `http` lookup: URL, headers and body templates,
/// the host allow-list and the redirect policy, sent by [`HttpRequest::send`].
#[derive(Debug, Clone)]
pub(crate) struct HttpRequest {
    method: reqwest::Method,
    url: Template,
    headers: Vec<(String, Template)>,
    headers_from_env: Vec<(String, String)>,
    body: Option<Template>,
    timeout: Duration,
    allowed_hosts: Vec<String>,
    follow_redirects: bool,
}

/// The declared fields an [`HttpRequest`] is compiled from.
pub(crate) struct RequestFields<'a> {
    pub(crate) method: &'a str,
    pub(crate) url: &'a str,
    pub(crate) headers: &'a std::collections::BTreeMap<String, String>,
    pub(crate) headers_from_env: &'a std::collections::BTreeMap<String, String>,
    pub(crate) body: Option<&'a str>,
    pub(crate) timeout_secs: u64,
    pub(crate) allowed_hosts: &'a [String],
    pub(crate) follow_redirects: bool,
}

/// A 2xx answer.
#[derive(Debug, Clone)]
pub(crate) struct HttpAnswer {
    pub(crate) status: u16,
    pub(crate) text: String,
}

/// Why forwarding failed, as the user is told.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// A template failed.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The method is not valid.
    #[error("`{0}` is not an HTTP method")]
    Method(String),
    /// A secret's variable is not set.
    #[error("the environment variable `{0}` for a header is not set")]
    MissingEnv(String),
    /// The service did not answer in time.
    #[error("{url} did not answer within {secs} s")]
    Timeout {
        /// The URL called, without query string or credentials.
        url: String,
        /// The timeout.
        secs: u64,
    },
    /// The service could not be reached or the answer could not be read.
    #[error("could not reach {url}: {reason}")]
    Transport {
        /// The URL called, without query string or credentials.
        url: String,
        /// The innermost cause, e.g. "Connection refused (os error 111)".
        reason: String,
    },
    /// A non-2xx answer.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL called, without query string or credentials.
        url: String,
        /// The status code.
        status: u16,
    },
    /// A header name or rendered value that HTTP cannot carry.
    #[error("{0}")]
    Header(String),
    /// The rendered URL is not an `http(s)` URL.
    #[error("the address built from your input is not a valid http(s) URL")]
    BadUrl,
    /// The URL's host is not in the route's `allowed_hosts`.
    #[error("the host `{0}` is not one this command may reach")]
    HostNotAllowed(String),
    /// A redirect the route does not allow (or to another host).
    #[error("the service redirected (HTTP {status}) and redirects are not followed here")]
    Redirect {
        /// The redirect status.
        status: u16,
    },
    /// The answer is longer than 1 MiB (`MAX_ANSWER_BYTES`).
    #[error("{url} answered more than {limit} bytes")]
    TooLarge {
        /// The URL called, without query string or credentials.
        url: String,
        /// The limit.
        limit: usize,
    },
}

impl HttpAction {
    /// Compiles the spec.
    pub fn compile(route: &str, name: &str, spec: &HttpSpec) -> Result<Self, HttpError> {
        let fields = RequestFields {
            method: &spec.method,
            url: &spec.url,
            headers: &spec.headers,
            headers_from_env: &spec.headers_from_env,
            body: spec.body.as_deref(),
            timeout_secs: spec.timeout_secs,
            allowed_hosts: &spec.allowed_hosts,
            follow_redirects: spec.follow_redirects,
        };
        Ok(HttpAction {
            request: HttpRequest::compile(name, &fields)?,
            reply: ReplyAction::compile(route, &format!("{name}.reply"), &spec.reply)?,
        })
    }

    /// Test-renders the request templates (the reply depends on the answer, so only compiles).
    pub fn check(&self, context: &Context) -> Result<(), TemplateError> {
        self.request.check(context)
    }

    /// Sends the request and renders the reply from the answer. `http` must not follow
    /// redirects itself (redirects are decided here, per route).
    /// `global_hosts` is `[http] allowed_hosts` (empty: no global limit).
    pub async fn run(
        &self,
        http: &reqwest::Client,
        global_hosts: &[String],
        context: Context,
        links: &dyn ButtonLinks,
    ) -> Result<Rendered, HttpError> {
        let answer = self.request.send(http, global_hosts, &context).await?;
        let json = serde_json::from_str::<Value>(&answer.text).unwrap_or(Value::Null);
        let context = context.with_result(
            "response",
            json!({ "status": answer.status, "ok": true, "json": json, "text": answer.text }),
        );
        Ok(self.reply.render(Box::new(context), links)?)
    }
}

impl HttpRequest {
    /// Compiles the templates of `fields`; `name` prefixes template names.
    pub(crate) fn compile(name: &str, fields: &RequestFields<'_>) -> Result<Self, HttpError> {
        let t = |key: &str, source: &str| Template::compile(&format!("{name}.{key}"), source);
        let method = reqwest::Method::from_bytes(fields.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| HttpError::Method(fields.method.to_owned()))?;
        Ok(HttpRequest {
            method,
            url: Template::compile_url(&format!("{name}.url"), fields.url)?,
            headers: fields
                .headers
                .iter()
                .map(|(k, v)| Ok((k.clone(), t(&format!("headers.{k}"), v)?)))
                .collect::<Result<_, TemplateError>>()?,
            headers_from_env: fields
                .headers_from_env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            body: fields.body.map(|b| t("body", b)).transpose()?,
            timeout: Duration::from_secs(fields.timeout_secs),
            allowed_hosts: fields
                .allowed_hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            follow_redirects: fields.follow_redirects,
        })
    }

    /// Test-renders the request templates.
    pub(crate) fn check(&self, context: &Context) -> Result<(), TemplateError> {
        self.url.render(context)?;
        for (_, t) in &self.headers {
            t.render(context)?;
        }
        if let Some(body) = &self.body {
            body.render(context)?;
        }
        Ok(())
    }

    /// Sends the request (following redirects as declared; `http` must not follow any
    /// itself) and returns a 2xx answer; anything else is an error.
    /// `global_hosts` is `[http] allowed_hosts` (empty: no global limit).
    pub(crate) async fn send(
        &self,
        http: &reqwest::Client,
        global_hosts: &[String],
        context: &Context,
    ) -> Result<HttpAnswer, HttpError> {
        let context = context.clone();
        let mut url = self.checked_url(&self.url.render(&context)?, global_hosts)?;
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, template) in &self.headers {
            headers.insert(
                header_name(name)?,
                header_value(&template.render(&context)?)?,
            );
        }
        for (name, var) in &self.headers_from_env {
            let value = std::env::var(var).map_err(|_| HttpError::MissingEnv(var.clone()))?;
            headers.insert(header_name(name)?, header_value(&value)?);
        }
        let body = match &self.body {
            Some(body) => Some(body.render(&context)?),
            None => None,
        };
        let timeout_secs = self.timeout.as_secs();
        // Errors name the URL so the route's author sees what could not be reached; the
        // query string and credentials are left out, as they may carry secrets.
        let shown = shown_url(url.as_str());
        let classify = |e: reqwest::Error| {
            if e.is_timeout() {
                HttpError::Timeout {
                    url: shown.clone(),
                    secs: timeout_secs,
                }
            } else {
                HttpError::Transport {
                    url: shown.clone(),
                    reason: root_cause(e),
                }
            }
        };
        let mut method = self.method.clone();
        let mut body = body;
        let mut redirects = 0;
        let response = loop {
            let mut request = http
                .request(method.clone(), url.clone())
                .timeout(self.timeout)
                .headers(headers.clone());
            if let Some(body) = &body {
                let content_type = if serde_json::from_str::<Value>(body).is_ok() {
                    "application/json"
                } else {
                    "text/plain; charset=utf-8"
                };
                request = request
                    .header("content-type", content_type)
                    .body(body.clone());
            }
            let response = request.send().await.map_err(classify)?;
            let status = response.status();
            if !status.is_redirection() || status == reqwest::StatusCode::NOT_MODIFIED {
                break response;
            }
            let refused = HttpError::Redirect {
                status: status.as_u16(),
            };
            if !self.follow_redirects || redirects >= MAX_REDIRECTS {
                return Err(refused);
            }
            let next = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .ok_or(HttpError::BadUrl)?;
            let same_origin = next.scheme() == url.scheme()
                && next.host_str() == url.host_str()
                && next.port_or_known_default() == url.port_or_known_default();
            if !same_origin {
                tracing::warn!(status = status.as_u16(), "redirect to another host refused");
                return Err(refused);
            }
            // As browsers do: 303 (and 301/302 after a POST) become a GET without a body.
            if status == reqwest::StatusCode::SEE_OTHER
                || (matches!(status.as_u16(), 301 | 302) && method == reqwest::Method::POST)
            {
                method = reqwest::Method::GET;
                body = None;
            }
            url = next;
            redirects += 1;
        };
        let status = response.status();
        let too_large = || HttpError::TooLarge {
            url: shown.clone(),
            limit: MAX_ANSWER_BYTES,
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
        {
            return Err(too_large());
        }
        // Read chunk by chunk up to the limit (`text()` would buffer whatever arrives); UTF-8
        // decoded as `text()` does without a charset.
        let mut response = response;
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if !status.is_success() {
            return Err(HttpError::Status {
                url: shown,
                status: status.as_u16(),
            });
        }
        Ok(HttpAnswer {
            status: status.as_u16(),
            text,
        })
    }

    /// Parses the rendered URL and checks its scheme, and its host against the route's and
    /// the configuration's allow-lists (each applies when not empty).
    fn checked_url(&self, rendered: &str, global_hosts: &[String]) -> Result<url::Url, HttpError> {
        let url = url::Url::parse(rendered).map_err(|_| HttpError::BadUrl)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(HttpError::BadUrl);
        }
        let Some(host) = url.host_str() else {
            return Err(HttpError::BadUrl);
        };
        let host = host.to_ascii_lowercase();
        let with_port = url
            .port_or_known_default()
            .map(|p| format!("{host}:{p}"))
            .unwrap_or_else(|| host.clone());
        for list in [self.allowed_hosts.as_slice(), global_hosts] {
            if !list.is_empty()
                && !list
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(&host) || a.eq_ignore_ascii_case(&with_port))
            {
                return Err(HttpError::HostNotAllowed(host));
            }
        }
        Ok(url)
    }
}

fn header_name(name: &str) -> Result<reqwest::header::HeaderName, HttpError> {
    reqwest::header::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| HttpError::Header(format!("`{name}` is not a valid header name")))
}

/// A header value; a rendered value with a line break or NUL is refused, not sent.
fn header_value(value: &str) -> Result<reqwest::header::HeaderValue, HttpError> {
    reqwest::header::HeaderValue::from_str(value).map_err(|_| {
        HttpError::Header(
            "a header value built from your input has characters headers cannot carry".into(),
        )
    })
}

/// `url` as shown in errors: scheme, host, port and path; no query string, fragment or
/// credentials.
fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.set_query(None);
            parsed.set_fragment(None);
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Err(_) => url.split(['?', '#']).next().unwrap_or("").to_owned(),
    }
}

/// The innermost cause of `error` ("Connection refused (os error 111)" rather than reqwest's
/// "error sending request"); never contains the URL.
fn root_cause(error: reqwest::Error) -> String {
    use std::error::Error as _;
    let mut innermost = error.source();
    while let Some(source) = innermost.and_then(|cause| cause.source()) {
        innermost = Some(source);
    }
    match innermost {
        Some(cause) => cause.to_string(),
        None => error.without_url().to_string(),
    }
}
