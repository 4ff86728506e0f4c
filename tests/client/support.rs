//! The strict request harness: every case states the exact request the client must send and a
//! realistic answer (shapes from openapi-v4.yaml); `run` checks method, path, query, headers
//! and body of the one request that arrived.

use futures::future::BoxFuture;
use serde_json::{Value, json};
use switchboard::mattermost::{Client, Endpoint, Error, RetryPolicy};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const TOKEN: &str = "test-token-abc123";
/// In an expected JSON body, matches any string (generated values like `pending_post_id`).
pub const ANY: &str = "{{any}}";

pub type Call = Box<dyn Fn(Client) -> BoxFuture<'static, Result<(), Error>> + Send + Sync>;

#[derive(Debug, Clone)]
pub enum Body {
    None,
    Json(Value),
    /// Multipart: the part names in order, and a string each part must contain.
    Multipart(Vec<(&'static str, &'static str)>),
}

pub struct Case {
    pub endpoint: Endpoint,
    pub method: &'static str,
    pub path: &'static str,
    pub query: Vec<(&'static str, &'static str)>,
    pub body: Body,
    pub auth: bool,
    pub status: u16,
    pub response: Option<Value>,
    pub raw_response: Option<&'static [u8]>,
    pub headers: Vec<(&'static str, &'static str)>,
    pub call: Call,
}

/// Starts a case: the endpoint it covers and the exact method and path expected.
pub fn case(endpoint: Endpoint, method: &'static str, path: &'static str) -> Case {
    Case {
        endpoint,
        method,
        path,
        query: Vec::new(),
        body: Body::None,
        auth: true,
        status: 200,
        response: Some(json!({"status": "OK"})),
        raw_response: None,
        headers: Vec::new(),
        call: Box::new(|_| Box::pin(async { Ok(()) })),
    }
}

impl Case {
    pub fn query(mut self, query: &[(&'static str, &'static str)]) -> Self {
        self.query = query.to_vec();
        self
    }
    pub fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }
    pub fn multipart(mut self, parts: &[(&'static str, &'static str)]) -> Self {
        self.body = Body::Multipart(parts.to_vec());
        self
    }
    pub fn response_header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }
    pub fn no_auth(mut self) -> Self {
        self.auth = false;
        self
    }
    pub fn respond(mut self, status: u16, body: Value) -> Self {
        self.status = status;
        self.response = Some(body);
        self
    }
    pub fn respond_raw(mut self, status: u16, body: &'static [u8]) -> Self {
        self.status = status;
        self.response = None;
        self.raw_response = Some(body);
        self
    }
    pub fn call<F>(mut self, f: F) -> Self
    where
        F: Fn(Client) -> BoxFuture<'static, Result<(), Error>> + Send + Sync + 'static,
    {
        self.call = Box::new(f);
        self
    }
}

/// `call!(|c| { ... })`: an async case body returning `Result<(), Error>`.
#[macro_export]
macro_rules! call {
    (|$c:ident| $body:block) => {
        |$c: switchboard::mattermost::Client| -> futures::future::BoxFuture<'static, Result<(), switchboard::mattermost::Error>> {
            Box::pin(async move { $body Ok(()) })
        }
    };
}

pub fn client_for(server: &MockServer) -> Client {
    Client::builder(server.uri())
        .token(TOKEN)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

fn json_matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::String(e), Value::String(_)) if e == ANY => true,
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len()
                && e.iter()
                    .all(|(k, v)| a.get(k).is_some_and(|av| json_matches(v, av)))
        }
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(e, a)| json_matches(e, a))
        }
        _ => expected == actual,
    }
}

/// Runs every case against a fresh strict server and checks the request that arrived.
pub async fn run(cases: Vec<Case>) {
    let server = MockServer::start().await;
    for case in cases {
        server.reset().await;
        let mut template = ResponseTemplate::new(case.status);
        if let Some(body) = &case.response {
            template = template.set_body_json(body);
        } else if let Some(raw) = case.raw_response {
            template = template.set_body_bytes(raw);
        }
        for (k, v) in &case.headers {
            template = template.insert_header(*k, *v);
        }
        Mock::given(any())
            .respond_with(template)
            .mount(&server)
            .await;
        let name = format!("{} ({})", case.endpoint, case.path);
        let client = client_for(&server);
        if let Err(e) = (case.call)(client).await {
            panic!("{name}: call failed: {e:?}");
        }
        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 1, "{name}: expected exactly one request");
        let req = &requests[0];
        assert_eq!(req.method.as_str(), case.method, "{name}: method");
        assert_eq!(req.url.path(), case.path, "{name}: path");
        let mut query: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
        query.sort();
        let mut expected: Vec<(String, String)> = case
            .query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        expected.sort();
        assert_eq!(query, expected, "{name}: query");
        let auth = req
            .headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned());
        if case.auth {
            assert_eq!(
                auth.as_deref(),
                Some(&*format!("Bearer {TOKEN}")),
                "{name}: auth"
            );
        } else {
            assert_eq!(auth, None, "{name}: no token may be sent here");
        }
        let content_type = req
            .headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        match &case.body {
            Body::None => {
                assert_eq!(content_type, None, "{name}: no content type without a body");
                assert!(
                    req.body.is_empty(),
                    "{name}: body must be empty, got {:?}",
                    String::from_utf8_lossy(&req.body)
                );
            }
            Body::Json(expected) => {
                assert_eq!(
                    content_type.as_deref(),
                    Some("application/json"),
                    "{name}: content type"
                );
                let actual: Value = serde_json::from_slice(&req.body)
                    .unwrap_or_else(|e| panic!("{name}: body is not JSON: {e}"));
                assert!(
                    json_matches(expected, &actual),
                    "{name}: body\n expected {expected}\n   actual {actual}"
                );
            }
            Body::Multipart(parts) => {
                let ct = content_type.unwrap_or_default();
                assert!(
                    ct.starts_with("multipart/form-data; boundary="),
                    "{name}: {ct}"
                );
                let text = String::from_utf8_lossy(&req.body);
                let mut at = 0;
                for (part, contains) in parts {
                    let marker = format!("name=\"{part}\"");
                    let pos = text[at..].find(&marker).unwrap_or_else(|| {
                        panic!("{name}: part {part} missing or out of order in {text}")
                    });
                    at += pos + marker.len();
                    let end = text[at..].find("--").map_or(text.len(), |e| at + e);
                    assert!(
                        text[at..end].contains(contains),
                        "{name}: part {part} lacks {contains:?}"
                    );
                }
            }
        }
    }
}
