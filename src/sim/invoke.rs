//! Calling integrations the way Mattermost's outbound HTTP client does (PROTOCOL.md §0, §1.3, §1.4).
//!
//! One `reqwest::Client` per world: `User-Agent: Mattermost-Bot/1.1`, 3 s connect timeout,
//! 30 s overall cap; each call additionally gets the `OutgoingIntegrationRequestsTimeout`
//! deadline. Replies are read through a 1 MiB limit (the rest is silently dropped, like Go's
//! `io.LimitReader`). Parameters are encoded exactly like Go's `url.Values.Encode`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::app_error::AppError;
use super::command_response::CommandResponse;
use super::error::SimError;
use super::model::SimCommand;

/// `MaxIntegrationResponseSize`.
pub(crate) const MAX_INTEGRATION_RESPONSE_SIZE: usize = 1024 * 1024;
/// The User-Agent of every integration call.
pub(crate) const USER_AGENT: &str = "Mattermost-Bot/1.1";

/// Builds the outbound client.
pub(crate) fn http_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(30))
        .build()
}

/// Go's `url.Values`: keys sorted on encoding, repeated keys keep their order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FormValues(BTreeMap<String, Vec<String>>);

impl FormValues {
    /// `Set`: replaces any values of `key`.
    pub(crate) fn set(&mut self, key: &str, value: &str) {
        self.0.insert(key.to_owned(), vec![value.to_owned()]);
    }

    /// `Add`: appends a value to `key`.
    pub(crate) fn add(&mut self, key: &str, value: &str) {
        self.0
            .entry(key.to_owned())
            .or_default()
            .push(value.to_owned());
    }

    /// `Encode`: `k=v&…` sorted by key, `QueryEscape`d.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        for (key, values) in &self.0 {
            for value in values {
                if !out.is_empty() {
                    out.push('&');
                }
                out.push_str(&query_escape(key));
                out.push('=');
                out.push_str(&query_escape(value));
            }
        }
        out
    }
}

/// Go's `url.QueryEscape`: unreserved `A-Za-z0-9-_.~` kept, space as `+`, the rest `%XX`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
                out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
            }
        }
    }
    out
}

fn failed(trigger: &str, detail: impl Into<String>) -> SimError {
    SimError::IntegrationError(
        AppError::new(
            "api.command.execute_command.failed.app_error",
            500,
            format!("Command with a trigger of '{trigger}' failed."),
        )
        .detail(detail),
    )
}

/// `DoCommandRequest`: sends the callback and parses the reply into a [`CommandResponse`].
pub(crate) async fn do_command_request(
    world: &super::state::World,
    cmd: &SimCommand,
    params: &FormValues,
    deadline: Duration,
) -> Result<CommandResponse, SimError> {
    let http = &world.inner.http;
    let encoded = params.encode();
    let request = if cmd.method == "G" {
        let mut url =
            reqwest::Url::parse(&cmd.url).map_err(|e| failed(&cmd.trigger, e.to_string()))?;
        let query = match url.query() {
            Some(existing) if !existing.is_empty() => format!("{existing}&{encoded}"),
            _ => encoded,
        };
        url.set_query(Some(&query));
        http.get(url)
    } else {
        http.post(&cmd.url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(encoded)
    };
    let mut request = request
        .header("Accept", "application/json")
        .timeout(deadline);
    if !cmd.token.is_empty() {
        request = request.header("Authorization", format!("Token {}", cmd.token));
    }
    let answer = super::exchange::send(world, "slash command", request)
        .await
        .map_err(|e| failed(&cmd.trigger, e))?;
    let (status, content_type, body) = (answer.status, answer.content_type, answer.body);

    if status != reqwest::StatusCode::OK {
        let body = String::from_utf8_lossy(&body).into_owned();
        let error = AppError::new(
            "api.command.execute_command.failed_resp.app_error",
            500,
            format!(
                "Command with a trigger of '{}' returned response {status}.",
                cmd.trigger
            ),
        )
        .detail(body.clone());
        return Err(SimError::IntegrationFailed {
            status: status.as_u16(),
            body,
            error,
        });
    }

    CommandResponse::from_http_body(&content_type, &body).map_err(|e| failed(&cmd.trigger, e))
}

#[cfg(test)]
// Tests may unwrap: a panic is the failure report (see the lint comment in Cargo.toml).
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_go_url_values() {
        let mut v = FormValues::default();
        v.set("text", "a b+c/d=e*~");
        v.set("command", "/deploy");
        v.add("user_mentions", "alice");
        v.add("user_mentions", "bob");
        assert_eq!(
            v.encode(),
            "command=%2Fdeploy&text=a+b%2Bc%2Fd%3De%2A~&user_mentions=alice&user_mentions=bob"
        );
        assert_eq!(query_escape("é\n"), "%C3%A9%0A");
    }
}
