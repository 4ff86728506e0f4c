//! [`ApiRequest`]: a request built but not yet sent.
//!
//! Building is separate from sending so the exact shape of every call (method, path, query,
//! body) can be checked without a server, and so invalid input (an empty id, a body that does
//! not serialise) is refused before anything goes on the wire.

use std::fmt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use tokio::io::AsyncRead;

use super::endpoints::Endpoint;
use super::error::Error;

/// Characters left unescaped in a path segment: RFC 3986 unreserved characters only, so `/`,
/// `?`, `#` and `%` inside an id or a name can never change the path or add a query.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Whether a path segment is one URL parsing resolves (`.`, `..`, and their `%2e` spellings,
/// which the WHATWG URL rules used by the `url` crate treat the same).
fn is_dot_segment(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "." | ".." | "%2e" | ".%2e" | "%2e." | "%2e%2e"
    )
}

/// The body of a request.
///
/// `Debug` shows its kind and size, never its content: a JSON body may hold a password
/// (`POST /users/login`), a token or a webhook's secret.
///
/// API: <https://api.mattermost.com/> (introduction: paths, JSON bodies).
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum RequestBody {
    /// No body at all (not even `null`).
    #[default]
    Empty,
    /// A serialised JSON document, sent with `Content-Type: application/json`.
    Json(Bytes),
    /// A `multipart/form-data` body whose file parts stream from readers (sent once, never
    /// retried).
    Multipart(Multipart),
}

impl RequestBody {
    /// Whether the body can be sent only once (it streams from a reader).
    ///
    /// API: <https://api.mattermost.com/> (introduction: paths, JSON bodies).
    pub fn is_one_shot(&self) -> bool {
        matches!(self, RequestBody::Multipart(_))
    }
}

/// `Json { bytes: 52 }`, `Multipart { parts: ["channel_id", "files"] }`, `Empty`.
impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestBody::Empty => f.write_str("Empty"),
            RequestBody::Json(bytes) => {
                f.debug_struct("Json").field("bytes", &bytes.len()).finish()
            }
            // Part names only (see `Multipart`'s `Debug`).
            RequestBody::Multipart(multipart) => fmt::Debug::fmt(multipart, f),
        }
    }
}

/// A boxed reader a file part streams from.
///
/// API: <https://api.mattermost.com/> (introduction: paths, JSON bodies).
pub type PartReader = Box<dyn AsyncRead + Send + Unpin>;

/// The `Content-Type` of a file part, guessed from its name's extension as browsers do;
/// `application/octet-stream` when the extension is unknown or missing.
pub(crate) fn guess_mime(file_name: &str) -> Option<String> {
    Some(
        mime_guess::from_path(file_name)
            .first_or_octet_stream()
            .essence_str()
            .to_owned(),
    )
}

/// A `multipart/form-data` body: parts are sent in the order they were added, text fields
/// typically first (Mattermost streams uploads only when `channel_id` precedes the files).
///
/// API: <https://api.mattermost.com/> (introduction: paths, JSON bodies).
#[derive(Clone, Default)]
pub struct Multipart {
    parts: Vec<(String, PartValue)>,
}

#[derive(Clone)]
enum PartValue {
    Text(String),
    File {
        file_name: String,
        mime: Option<String>,
        length: Option<u64>,
        reader: Arc<Mutex<Option<PartReader>>>,
    },
}

impl fmt::Debug for Multipart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.parts.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Multipart").field("parts", &names).finish()
    }
}

impl Multipart {
    /// An empty body.
    ///
    /// API: <https://api.mattermost.com/> (introduction: paths, JSON bodies).
    pub fn new() -> Self {
        Multipart::default()
    }

    /// Adds a text field.
    ///
    /// API: <https://api.mattermost.com/> (introduction: paths, JSON bodies).
    pub fn text(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.parts
            .push((name.into(), PartValue::Text(value.into())));
        self
    }

    /// Adds a file part streamed from `reader` (`length`, when known, lets the part carry an
    /// exact size).
    ///
    /// API: <https://api.mattermost.com/> (introduction: paths, JSON bodies).
    pub fn file(
        mut self,
        name: impl Into<String>,
        file_name: impl Into<String>,
        mime: Option<String>,
        length: Option<u64>,
        reader: PartReader,
    ) -> Self {
        self.parts.push((
            name.into(),
            PartValue::File {
                file_name: file_name.into(),
                mime,
                length,
                reader: Arc::new(Mutex::new(Some(reader))),
            },
        ));
        self
    }

    /// The part names, in order.
    ///
    /// API: <https://api.mattermost.com/> (introduction: paths, JSON bodies).
    pub fn part_names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().map(|(name, _)| name.as_str())
    }

    /// Builds the reqwest form, taking the readers; `None` if a reader was already taken (the
    /// body was sent before).
    pub(crate) fn take_form(&self) -> Option<reqwest::multipart::Form> {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in &self.parts {
            match value {
                PartValue::Text(text) => form = form.text(name.clone(), text.clone()),
                PartValue::File {
                    file_name,
                    mime,
                    length,
                    reader,
                } => {
                    let reader = reader.lock().ok()?.take()?;
                    let body =
                        reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(reader));
                    let mut part = match length {
                        Some(len) => reqwest::multipart::Part::stream_with_length(body, *len),
                        None => reqwest::multipart::Part::stream(body),
                    }
                    .file_name(file_name.clone());
                    if let Some(mime) = mime {
                        part = part.mime_str(mime).ok()?;
                    }
                    form = form.part(name.clone(), part);
                }
            }
        }
        Some(form)
    }
}

/// A request to one [`Endpoint`], with its path filled in.
///
/// `Debug` shows the method, the path, the query's parameter names and the body's kind and
/// size: never the body itself (a login's password, a token, a hook's secret), nor the query's
/// values (a raw request may carry anything there), nor the id in the path of an endpoint
/// that its URL alone authorises (`POST /hooks/{hook_id}`: the id is the credential).
///
/// API: <https://api.mattermost.com/> (introduction: paths, JSON bodies).
#[derive(Clone)]
pub struct ApiRequest {
    endpoint: Endpoint,
    path: String,
    query: Vec<(String, String)>,
    body: RequestBody,
}

impl fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.endpoint.server_root {
            // The template: the filled-in id would let anyone who reads the log post.
            self.endpoint.path.to_owned()
        } else {
            format!("/api/v4{}", self.path)
        };
        let query: Vec<&str> = self.query.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("ApiRequest")
            .field("method", &self.endpoint.verb.as_str())
            .field("path", &path)
            .field("query", &query)
            .field("body", &self.body)
            .finish()
    }
}

impl ApiRequest {
    /// Fills the endpoint's `{placeholders}` in order with `params`, each percent-encoded as one
    /// path segment.
    ///
    /// Fails with [`Error::InvalidInput`] when a parameter is empty (Mattermost would otherwise
    /// see `/users//sessions`) or when the number of parameters does not match.
    ///
    /// API: <https://api.mattermost.com/> (introduction: paths, JSON bodies).
    pub fn new(endpoint: Endpoint, params: &[&str]) -> Result<Self, Error> {
        let mut path = String::with_capacity(endpoint.path.len() + 32);
        let mut rest = endpoint.path;
        let mut params = params.iter();
        while let Some(open) = rest.find('{') {
            let close = rest[open..]
                .find('}')
                .map(|i| open + i)
                .ok_or_else(|| Error::invalid(format!("malformed path template {rest}")))?;
            let name = &rest[open + 1..close];
            let value = params
                .next()
                .ok_or_else(|| Error::invalid(format!("{endpoint}: missing value for `{name}`")))?;
            if value.is_empty() {
                return Err(Error::invalid(format!(
                    "{endpoint}: `{name}` must not be empty"
                )));
            }
            // `.` and `..` are unreserved, so encoding leaves them as they are, and URL
            // parsing then resolves them as dot segments: `/users/username/..` would go to
            // `/users/`, another endpoint than the one named. No Mattermost id or name is one.
            if is_dot_segment(value) {
                return Err(Error::invalid(format!(
                    "{endpoint}: `{name}` must not be `{value}`"
                )));
            }
            path.push_str(&rest[..open]);
            path.extend(utf8_percent_encode(value, SEGMENT));
            rest = &rest[close + 1..];
        }
        path.push_str(rest);
        if params.next().is_some() {
            return Err(Error::invalid(format!(
                "{endpoint}: more parameters than placeholders"
            )));
        }
        Ok(ApiRequest {
            endpoint,
            path,
            query: Vec::new(),
            body: RequestBody::Empty,
        })
    }

    /// A request to a literal path (the raw escape hatch): `path_and_query` starts with `/`,
    /// is below `/api/v4`, and may carry a query string.
    ///
    /// API: <https://api.mattermost.com/> (introduction: paths, JSON bodies).
    pub fn raw(endpoint: Endpoint, path_and_query: &str) -> Result<Self, Error> {
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        // URL parsing treats `\\` as `/` in http(s) paths and `%2e` as `.`, so `..` spelt
        // either way would still climb out of `/api/v4`; both are refused with plain `..`.
        if !path.starts_with('/') || path.contains('\\') || path.split('/').any(is_dot_segment) {
            return Err(Error::invalid(format!(
                "raw path `{path_and_query}` must start with `/` and contain no `.`, `..` \
                 (or `%2e`) segment and no `\\`"
            )));
        }
        let query = query
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        Ok(ApiRequest {
            endpoint,
            path: path.to_owned(),
            query,
            body: RequestBody::Empty,
        })
    }

    /// Adds a query parameter (encoded when the URL is built).
    ///
    /// API: <https://api.mattermost.com/> (introduction: paths, JSON bodies).
    pub fn query(mut self, key: &str, value: &(impl ToString + ?Sized)) -> Self {
        self.query.push((key.to_owned(), value.to_string()));
        self
    }

    /// Adds a query parameter when `value` is `Some`.
    ///
    /// API: <https://api.mattermost.com/> (introduction: paths, JSON bodies).
    pub fn query_opt(self, key: &str, value: Option<&(impl ToString + ?Sized)>) -> Self {
        match value {
            Some(value) => self.query(key, value),
            None => self,
        }
    }

    /// Sets a JSON body.
    ///
    /// API: <https://api.mattermost.com/> (introduction: paths, JSON bodies).
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            Error::invalid(format!("{}: body does not serialise: {e}", self.endpoint))
        })?;
        self.body = RequestBody::Json(Bytes::from(bytes));
        Ok(self)
    }

    /// Sets a multipart body.
    ///
    /// API: <https://api.mattermost.com/> (introduction: paths, JSON bodies).
    pub fn multipart(mut self, body: Multipart) -> Self {
        self.body = RequestBody::Multipart(body);
        self
    }

    /// The endpoint this request goes to.
    ///
    /// API: <https://api.mattermost.com/> (introduction: paths, JSON bodies).
    pub fn endpoint(&self) -> Endpoint {
        self.endpoint
    }

    /// The encoded path below `/api/v4`.
    ///
    /// API: <https://api.mattermost.com/> (introduction: paths, JSON bodies).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query parameters, in the order they were added.
    ///
    /// API: <https://api.mattermost.com/> (introduction: paths, JSON bodies).
    pub fn query_pairs(&self) -> &[(String, String)] {
        &self.query
    }

    /// The body.
    ///
    /// API: <https://api.mattermost.com/> (introduction: paths, JSON bodies).
    pub fn body(&self) -> &RequestBody {
        &self.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mattermost::endpoints::{COMMANDS_GET, USERS_BY_USERNAME, USERS_ME};

    #[test]
    fn path_segments_are_percent_encoded_so_they_cannot_inject_a_query() {
        let req = ApiRequest::new(USERS_BY_USERNAME, &["weird/name?x=1"]).unwrap();
        assert_eq!(req.path(), "/users/username/weird%2Fname%3Fx%3D1");
    }

    #[test]
    fn dot_segments_are_refused_so_a_name_cannot_climb_the_path() {
        for name in [".", "..", "%2e%2E", ".%2e"] {
            let err = ApiRequest::new(USERS_BY_USERNAME, &[name]).unwrap_err();
            assert!(matches!(err, Error::InvalidInput(_)), "{name}: {err:?}");
        }
        // Dots inside a name are fine (usernames may hold them).
        let req = ApiRequest::new(USERS_BY_USERNAME, &["a..b"]).unwrap();
        assert_eq!(req.path(), "/users/username/a..b");
    }

    #[test]
    fn url_parsing_resolves_the_segments_refused_here() {
        // Why the refusals above exist: this is what the URL would become.
        let mut url = url::Url::parse("http://h/api/v4").unwrap();
        url.set_path("/api/v4/users/%2e%2E/..\\x");
        assert_eq!(url.path(), "/api/x");
    }

    #[test]
    fn raw_paths_that_would_climb_out_of_the_api_are_refused() {
        for raw in [
            "/users/../../hooks/x",
            "/users/%2e%2e/%2E%2e/hooks/x",
            "/users/..\\..\\hooks/x",
            "/./users/me",
        ] {
            let err = ApiRequest::raw(USERS_ME, raw).unwrap_err();
            assert!(matches!(err, Error::InvalidInput(_)), "{raw}: {err:?}");
        }
        // A `..` in the query string is a value, not a path segment.
        let req = ApiRequest::raw(USERS_ME, "/users/search?term=..").unwrap();
        assert_eq!(req.path(), "/users/search");
    }

    #[test]
    fn an_empty_id_is_refused_before_sending() {
        let err = ApiRequest::new(COMMANDS_GET, &[""]).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    }

    #[test]
    fn debug_shows_method_path_and_body_size_but_no_secret() {
        use crate::mattermost::endpoints::{HOOKS_INCOMING_EXECUTE, USERS_LOGIN};
        let login = ApiRequest::new(USERS_LOGIN, &[])
            .unwrap()
            .json(&serde_json::json!({"login_id": "alice", "password": "hunter2-secret"}))
            .unwrap();
        let size = match login.body() {
            RequestBody::Json(bytes) => bytes.len(),
            other => panic!("a JSON body, not {other:?}"),
        };
        let shown = format!("{login:?}");
        assert_eq!(
            shown,
            format!(
                r#"ApiRequest {{ method: "POST", path: "/api/v4/users/login", query: [], body: Json {{ bytes: {size} }} }}"#
            )
        );
        assert!(!format!("{login:#?}").contains("hunter2"), "{login:#?}");

        // Query values stay out (a raw request may carry anything there), names stay in.
        let search = ApiRequest::raw(USERS_ME, "/users/search?term=s3cr3t&page=0").unwrap();
        let shown = format!("{search:?}");
        assert!(shown.contains(r#"query: ["term", "page"]"#), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");

        // An incoming webhook's id is its credential: the template is shown instead.
        let hook = ApiRequest::new(HOOKS_INCOMING_EXECUTE, &["hookidthatisasecret0000000"])
            .unwrap()
            .json(&serde_json::json!({"text": "hi"}))
            .unwrap();
        let shown = format!("{hook:?}");
        assert!(shown.contains(r#"path: "/hooks/{hook_id}""#), "{shown}");
        assert!(!shown.contains("hookidthatisasecret"), "{shown}");

        let upload = ApiRequest::new(USERS_ME, &[])
            .unwrap()
            .multipart(Multipart::new().text("channel_id", "c0nfidential"));
        let shown = format!("{upload:?}");
        assert!(
            shown.contains(r#"Multipart { parts: ["channel_id"] }"#),
            "{shown}"
        );
        assert!(!shown.contains("c0nfidential"), "{shown}");
    }

    #[test]
    fn parameter_count_must_match_the_template() {
        assert!(ApiRequest::new(USERS_ME, &["x"]).is_err());
        assert!(ApiRequest::new(COMMANDS_GET, &[]).is_err());
    }
}
