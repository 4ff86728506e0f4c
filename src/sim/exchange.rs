//! Every HTTP call the simulator makes to an integration, recorded as sent and as answered,
//! so `switchboard dev`'s inspector can show an author exactly what went over the wire.
//!
//! One function sends them all ([`send`]): it builds the request first (so the recorded
//! headers are the ones sent), reads the answer through Mattermost's 1 MiB limit, and
//! publishes a [`SimEvent::IntegrationCalled`] whatever happened.

use serde::Serialize;

use super::invoke::{MAX_INTEGRATION_RESPONSE_SIZE, USER_AGENT};
use super::state::{RecordedRequest, SimEvent, World};

/// One `/api/v4` call a client (Switchboard) made, with the simulator's answer.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct ApiCall {
    /// Method, path, query, status and request body.
    #[serde(flatten)]
    pub request: RecordedRequest,
    /// The answer's body as text (at most 64 KiB; empty when nobody listened for events).
    pub response_body: String,
}

/// How much of an API answer an [`ApiCall`] keeps.
pub(crate) const API_ANSWER_SHOWN: usize = 64 * 1024;

/// One call to an integration and its answer.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct IntegrationCall {
    /// What Mattermost was doing: `slash command`, `outgoing webhook`, `dialog submission`,
    /// `action`.
    pub kind: &'static str,
    /// HTTP method.
    pub method: String,
    /// The URL called (query string included, as sent).
    pub url: String,
    /// Request headers as sent (the client's User-Agent included).
    pub request_headers: Vec<(String, String)>,
    /// Request body as text.
    pub request_body: String,
    /// The answer's status; `None` when no answer came (refused, timed out).
    pub status: Option<u16>,
    /// The answer's headers.
    pub response_headers: Vec<(String, String)>,
    /// The answer's body as text (what Mattermost read of it, at most 1 MiB).
    pub response_body: String,
    /// Why the call failed, when it did.
    pub error: Option<String>,
}

/// What an integration answered.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: reqwest::StatusCode,
    pub(crate) content_type: String,
    pub(crate) body: Vec<u8>,
}

fn header_list(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Sends `request`, reads the answer through the 1 MiB limit, and publishes the exchange.
pub(crate) async fn send(
    world: &World,
    kind: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<Answer, String> {
    let request = request.build().map_err(|e| e.to_string())?;
    let mut call = IntegrationCall {
        kind,
        method: request.method().to_string(),
        url: request.url().to_string(),
        request_headers: header_list(request.headers()),
        request_body: request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default(),
        status: None,
        response_headers: Vec::new(),
        response_body: String::new(),
        error: None,
    };
    call.request_headers
        .push(("user-agent".to_owned(), USER_AGENT.to_owned()));
    let result = answer(world, request, &mut call).await;
    if let Err(e) = &result {
        call.error = Some(e.clone());
    }
    world.publish(SimEvent::IntegrationCalled(Box::new(call)));
    result
}

async fn answer(
    world: &World,
    request: reqwest::Request,
    call: &mut IntegrationCall,
) -> Result<Answer, String> {
    let mut response = world
        .inner
        .http
        .execute(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    call.status = Some(status.as_u16());
    call.response_headers = header_list(response.headers());
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let mut body = Vec::new();
    while body.len() < MAX_INTEGRATION_RESPONSE_SIZE {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_INTEGRATION_RESPONSE_SIZE - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) => break,
            Err(e) => {
                call.response_body = String::from_utf8_lossy(&body).into_owned();
                return Err(e.to_string());
            }
        }
    }
    call.response_body = String::from_utf8_lossy(&body).into_owned();
    Ok(Answer {
        status,
        content_type,
        body,
    })
}
