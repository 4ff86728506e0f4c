//! The `http` action: forward the request to another HTTP service and render its answer.
//!
//! URL, header values and body are templates. Secret headers come from environment variables
//! named in `headers_from_env`, read at request time; they never enter a template context or a
//! log line. The answer is offered to the reply template as `response.status`,
//! `response.ok`, `response.json` (null unless the body is JSON) and `response.text`. A timeout,
//! a connection failure or a non-2xx status answers the user with what went wrong instead of
//! the template.

use std::time::Duration;

use serde_json::{Value, json};

use super::context::Context;
use super::reply::{ButtonLinks, Rendered, ReplyAction};
use super::spec::HttpSpec;
use super::template::{Template, TemplateError};

/// A compiled `[http]`.
#[derive(Debug, Clone)]
pub struct HttpAction {
    method: reqwest::Method,
    url: Template,
    headers: Vec<(String, Template)>,
    headers_from_env: Vec<(String, String)>,
    body: Option<Template>,
    timeout: Duration,
    /// The reply rendered from the answer.
    pub reply: ReplyAction,
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
}

impl HttpAction {
    /// Compiles the spec.
    pub fn compile(route: &str, name: &str, spec: &HttpSpec) -> Result<Self, HttpError> {
        let t = |key: &str, source: &str| Template::compile(&format!("{name}.{key}"), source);
        let method = reqwest::Method::from_bytes(spec.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| HttpError::Method(spec.method.clone()))?;
        Ok(HttpAction {
            method,
            url: t("url", &spec.url)?,
            headers: spec
                .headers
                .iter()
                .map(|(k, v)| Ok((k.clone(), t(&format!("headers.{k}"), v)?)))
                .collect::<Result<_, TemplateError>>()?,
            headers_from_env: spec
                .headers_from_env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            body: spec.body.as_deref().map(|b| t("body", b)).transpose()?,
            timeout: Duration::from_secs(spec.timeout_secs),
            reply: ReplyAction::compile(route, &format!("{name}.reply"), &spec.reply)?,
        })
    }

    /// Test-renders the request templates (the reply depends on the answer, so only compiles).
    pub fn check(&self, context: &Context) -> Result<(), TemplateError> {
        self.url.render(context)?;
        for (_, t) in &self.headers {
            t.render(context)?;
        }
        if let Some(body) = &self.body {
            body.render(context)?;
        }
        Ok(())
    }

    /// Sends the request and renders the reply from the answer.
    pub async fn run(
        &self,
        http: &reqwest::Client,
        context: Context,
        links: &dyn ButtonLinks,
    ) -> Result<Rendered, HttpError> {
        let url = self.url.render(&context)?;
        let mut request = http
            .request(self.method.clone(), &url)
            .timeout(self.timeout);
        for (name, template) in &self.headers {
            request = request.header(name, template.render(&context)?);
        }
        for (name, var) in &self.headers_from_env {
            let value = std::env::var(var).map_err(|_| HttpError::MissingEnv(var.clone()))?;
            request = request.header(name, value);
        }
        if let Some(body) = &self.body {
            let body = body.render(&context)?;
            let content_type = if serde_json::from_str::<Value>(&body).is_ok() {
                "application/json"
            } else {
                "text/plain; charset=utf-8"
            };
            request = request.header("content-type", content_type).body(body);
        }
        let timeout_secs = self.timeout.as_secs();
        // Errors name the URL so the route's author sees what could not be reached; the
        // query string and credentials are left out, as they may carry secrets.
        let shown = shown_url(&url);
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
        let response = request.send().await.map_err(classify)?;
        let status = response.status();
        let text = response.text().await.map_err(classify)?;
        if !status.is_success() {
            return Err(HttpError::Status {
                url: shown,
                status: status.as_u16(),
            });
        }
        let json = serde_json::from_str::<Value>(&text).unwrap_or(Value::Null);
        let context = context.with_result(
            "response",
            json!({ "status": status.as_u16(), "ok": true, "json": json, "text": text }),
        );
        Ok(self.reply.render(context, links)?)
    }
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
