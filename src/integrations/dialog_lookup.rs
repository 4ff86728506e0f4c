//! The `lookup` of a dynamic select: the options Switchboard answers Mattermost's lookup
//! requests with (`type: "dialog_lookup"`, see `crate::protocol::dialog`), from a template
//! (`options`) or from another service (`http`), and the check of a submitted value against
//! them.
//!
//! An `http` lookup reuses the `http` action's request (`http.rs`): URL template with values
//! percent-encoded for the part they land in, `allowed_hosts` (the route's and `[http]`'s),
//! secret headers from the environment, the same redirect policy. Its answer is mapped with
//! JSON Pointers. A failing service never becomes a 500 for Mattermost: the lookup answers no
//! items (logged), and a submission whose value cannot be checked gets an error on the field.

use serde_json::Value;

use super::context::Context;
use super::dialog::DeclarationProblem;
use super::http::{HttpError, HttpRequest, RequestFields};
use super::spec::{LookupHttpSpec, LookupSpec};
use super::template::{Template, TemplateError};

/// Most options one lookup answers with.
pub(super) const MOST_LOOKUP_ITEMS: usize = 100;

/// Most chosen values of one field an `http` lookup confirms one by one (those its answer to
/// an empty query does not list): each is a request to the service, so a hand-made
/// submission of hundreds of values must not become hundreds of requests.
pub(super) const MOST_CONFIRMATIONS: usize = 10;

/// What an `http` lookup needs from the runtime.
#[derive(Debug, Clone, Copy)]
pub struct LookupEnv<'a> {
    /// The outbound client (follows no redirect itself).
    pub http: &'a reqwest::Client,
    /// `[http] allowed_hosts` (empty: no global limit).
    pub global_hosts: &'a [String],
}

/// Why a lookup gave no options.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// A template failed (the route's mistake).
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The service failed (unreachable, slow, non-2xx, host not allowed …).
    #[error(transparent)]
    Http(HttpError),
    /// The service's answer is not in the declared shape.
    #[error("the lookup answer is not in the declared shape: {0}")]
    Shape(String),
    /// More chosen values than the 10 (`MOST_CONFIRMATIONS`) that may each take a request to
    /// confirm.
    #[error("{0} chosen values would each need a request to the service to be confirmed")]
    TooManyToConfirm(usize),
}

impl From<HttpError> for LookupError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::Template(t) => LookupError::Template(t),
            other => LookupError::Http(other),
        }
    }
}

/// A compiled `lookup`.
#[derive(Debug, Clone)]
pub(super) struct Lookup {
    source: Source,
    /// Accept any submitted value.
    pub(super) free_form: bool,
}

#[derive(Debug, Clone)]
enum Source {
    Options(Template),
    Http(Box<HttpLookup>),
}

#[derive(Debug, Clone)]
struct HttpLookup {
    request: HttpRequest,
    items: String,
    value: String,
    text: String,
}

impl Lookup {
    /// Compiles element `i`'s lookup; `name` prefixes template names.
    pub(super) fn compile(
        name: &str,
        i: usize,
        spec: &LookupSpec,
    ) -> Result<Self, Vec<DeclarationProblem>> {
        let problem = |message: String| vec![(Some(i), "lookup", message)];
        let source = match (&spec.options, &spec.http) {
            (Some(options), None) => Source::Options(
                Template::compile(&format!("{name}.lookup"), options)
                    .map_err(|e| problem(format!("template: {}", e.message)))?,
            ),
            (None, Some(http)) => {
                Source::Http(Box::new(compile_http(name, http).map_err(problem)?))
            }
            _ => {
                return Err(problem(
                    "a lookup needs exactly one of `options` and `http`".into(),
                ));
            }
        };
        Ok(Lookup {
            source,
            free_form: spec.free_form,
        })
    }

    /// Renders the templates with `context` (which holds `query`), for `check`.
    pub(super) fn render_check(&self, context: &Context) -> Result<(), TemplateError> {
        match &self.source {
            Source::Options(t) => t.render(context).map(|_| ()),
            Source::Http(h) => h.request.check(context),
        }
    }

    /// The options for `query` in `context` (which holds the values so far), as (value,
    /// text), at most [`MOST_LOOKUP_ITEMS`]. A template's lines are filtered by the query
    /// here; a service is trusted to have filtered its answer.
    pub(super) async fn candidates(
        &self,
        query: &str,
        context: &Context,
        env: LookupEnv<'_>,
    ) -> Result<Vec<(String, String)>, LookupError> {
        let context = with_query(context, query);
        let mut all = match &self.source {
            Source::Options(t) => {
                let needle = query.trim().to_lowercase();
                let mut all = lines(&t.render(&context)?);
                all.retain(|(value, text)| {
                    needle.is_empty()
                        || value.to_lowercase().contains(&needle)
                        || text.to_lowercase().contains(&needle)
                });
                all
            }
            Source::Http(h) => h.fetch(&context, env).await?,
        };
        all.truncate(MOST_LOOKUP_ITEMS);
        Ok(all)
    }

    /// The first of `chosen` the lookup does not offer, if any. A template is rendered with
    /// an empty query (it must list every acceptable value then); a service is asked with an
    /// empty query, then with each value not in that answer as the query (a service that
    /// lists only its first results for an empty query still confirms a chosen value).
    pub(super) async fn refused<'c>(
        &self,
        chosen: &[&'c str],
        context: &Context,
        env: LookupEnv<'_>,
    ) -> Result<Option<&'c str>, LookupError> {
        let offered = match &self.source {
            Source::Options(t) => lines(&t.render(&with_query(context, ""))?),
            Source::Http(h) => h.fetch(&with_query(context, ""), env).await?,
        };
        if let Source::Http(_) = &self.source {
            let unlisted = chosen
                .iter()
                .filter(|value| !offered.iter().any(|(v, _)| v == *value))
                .count();
            if unlisted > MOST_CONFIRMATIONS {
                return Err(LookupError::TooManyToConfirm(unlisted));
            }
        }
        for value in chosen {
            if offered.iter().any(|(v, _)| v == value) {
                continue;
            }
            let confirmed = match &self.source {
                Source::Options(_) => false,
                Source::Http(h) => h
                    .fetch(&with_query(context, value), env)
                    .await?
                    .iter()
                    .any(|(v, _)| v == value),
            };
            if !confirmed {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }
}

fn compile_http(name: &str, spec: &LookupHttpSpec) -> Result<HttpLookup, String> {
    let method = spec.method.to_ascii_uppercase();
    if !matches!(method.as_str(), "GET" | "POST") {
        return Err(format!(
            "`http.method` must be GET or POST, not `{}`",
            spec.method
        ));
    }
    for (key, pointer) in [
        ("items", &spec.items),
        ("value", &spec.value),
        ("text", &spec.text),
    ] {
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return Err(format!(
                "`http.{key}` is a JSON Pointer: empty or starting with `/` (`/data/items`), not `{pointer}`"
            ));
        }
    }
    let fields = RequestFields {
        method: &method,
        url: &spec.url,
        headers: &spec.headers,
        headers_from_env: &spec.headers_from_env,
        body: spec.body.as_deref(),
        timeout_secs: spec.timeout_secs,
        allowed_hosts: &spec.allowed_hosts,
        follow_redirects: spec.follow_redirects,
    };
    let request =
        HttpRequest::compile(&format!("{name}.lookup.http"), &fields).map_err(|e| match e {
            HttpError::Template(t) => format!("template: {}", t.message),
            other => other.to_string(),
        })?;
    Ok(HttpLookup {
        request,
        items: spec.items.clone(),
        value: spec.value.clone(),
        text: spec.text.clone(),
    })
}

impl HttpLookup {
    /// Asks the service and maps its answer to (value, text).
    async fn fetch(
        &self,
        context: &Context,
        env: LookupEnv<'_>,
    ) -> Result<Vec<(String, String)>, LookupError> {
        let answer = self
            .request
            .send(env.http, env.global_hosts, context)
            .await?;
        let json: Value = serde_json::from_str(&answer.text)
            .map_err(|e| LookupError::Shape(format!("not JSON ({e})")))?;
        let Some(items) = json.pointer(&self.items).and_then(Value::as_array) else {
            return Err(LookupError::Shape(format!(
                "no array at `{}`",
                if self.items.is_empty() {
                    ""
                } else {
                    &self.items
                }
            )));
        };
        Ok(items
            .iter()
            .filter_map(|item| {
                let value = scalar(item.pointer(&self.value)?)?;
                let text = item
                    .pointer(&self.text)
                    .and_then(scalar)
                    .unwrap_or_else(|| value.clone());
                (!value.is_empty()).then_some((value, text))
            })
            .collect())
    }
}

/// A string or number as text; anything else is not an option's value or text.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `context` with `query` set.
fn with_query(context: &Context, query: &str) -> Context {
    let mut context = context.clone();
    context
        .results
        .insert("query".into(), Value::String(query.to_owned()));
    context
}

/// A rendered `options` template as (value, text): a line each, `value` or `value | text`.
fn lines(rendered: &str) -> Vec<(String, String)> {
    rendered
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| match line.split_once('|') {
            Some((value, text)) => (value.trim().to_owned(), text.trim().to_owned()),
            None => (line.to_owned(), line.to_owned()),
        })
        .filter(|(value, _)| !value.is_empty())
        .collect()
}
