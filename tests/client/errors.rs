//! Error decoding, retries under paused time, and secrets kept out of errors, logs and Debug.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use switchboard::mattermost::models::IncomingWebhook;
use switchboard::mattermost::{ChannelId, Client, Error, RetryPolicy, UserId};
use wiremock::matchers::{any, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{TOKEN, client_for};

fn app_error(id: &str, status: u16) -> serde_json::Value {
    json!({"id": id, "message": "Something went wrong.", "detailed_error": "", "request_id": "req123", "status_code": status})
}

#[tokio::test]
async fn app_error_bodies_decode_for_400_401_403_404() {
    let server = MockServer::start().await;
    let client = client_for(&server);
    for (status, id) in [
        (400, "api.context.invalid_body_param.app_error"),
        (401, "api.context.session_expired.app_error"),
        (403, "api.context.permissions.app_error"),
        (404, "app.user.missing_account.const"),
    ] {
        server.reset().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(status).set_body_json(app_error(id, status)))
            .mount(&server)
            .await;
        let err = client.users().get(&UserId::new("user1")).await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(err.app_error_id(), Some(id));
        assert!(matches!(err, Error::Api { .. }));
        assert_eq!(err.is_not_found(), status == 404);
        assert_eq!(err.is_unauthorized(), status == 401);
        assert_eq!(err.is_forbidden(), status == 403);
        assert!(!err.to_string().contains(TOKEN));
    }
}

#[tokio::test]
async fn a_plain_text_429_is_rate_limited_with_its_retry_after() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("content-type", "text/plain")
                .insert_header("retry-after", "3")
                .set_body_string("limit exceeded\n"),
        )
        .mount(&server)
        .await;
    let err = client_for(&server).users().me().await.unwrap_err();
    match err {
        Error::RateLimited { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(3)))
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn an_html_502_keeps_status_and_excerpt() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(502)
                .insert_header("content-type", "text/html")
                .set_body_string(
                    "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
                ),
        )
        .mount(&server)
        .await;
    let err = client_for(&server).users().me().await.unwrap_err();
    assert!(err.is_unreachable());
    match err {
        Error::Http {
            status, excerpt, ..
        } => {
            assert_eq!(status.as_u16(), 502);
            assert!(excerpt.contains("502 Bad Gateway"));
        }
        other => panic!("expected Http, got {other:?}"),
    }
}

#[tokio::test]
async fn a_body_that_is_not_the_expected_json_names_the_failing_path() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": "t1", "name": 5}])))
        .mount(&server)
        .await;
    let err = client_for(&server)
        .teams()
        .for_user(None)
        .await
        .unwrap_err();
    match err {
        Error::Decode { path, .. } => assert_eq!(path, "[0].name"),
        other => panic!("expected Decode, got {other:?}"),
    }
}

fn retrying_client(server: &MockServer) -> Client {
    Client::builder(server.uri())
        .token(TOKEN)
        .without_timeouts()
        .retry_policy(RetryPolicy::default())
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn idempotent_calls_retry_on_503_then_succeed() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(crate::fixtures::user("user1")))
        .mount(&server)
        .await;
    let me = retrying_client(&server).users().me().await.unwrap();
    assert_eq!(me.id, *"user1");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn retry_after_and_x_ratelimit_reset_are_honoured() {
    for header in ["retry-after", "x-ratelimit-reset"] {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header(header, "7")
                    .set_body_string("limit exceeded\n"),
            )
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200).set_body_json(crate::fixtures::user("user1")))
            .mount(&server)
            .await;
        let started = tokio::time::Instant::now();
        retrying_client(&server).users().me().await.unwrap();
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(7),
            "{header}: waited {waited:?}"
        );
        assert!(
            waited < Duration::from_secs(8),
            "{header}: waited {waited:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_non_idempotent_post_is_not_retried_on_503() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let err = retrying_client(&server)
        .hooks()
        .create_incoming(&IncomingWebhook::new(ChannelId::new("chan1")))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn create_post_is_retried_with_the_same_pending_post_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(crate::fixtures::post("post1")))
        .mount(&server)
        .await;
    retrying_client(&server)
        .posts()
        .create(&ChannelId::new("chan1"), "hi")
        .send()
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let ids: Vec<String> = requests
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["pending_post_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids[0], ids[1]);
    assert!(ids[0].contains(':'), "{}", ids[0]);
}

#[tokio::test(start_paused = true)]
async fn retries_stop_at_the_attempt_cap() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .mount(&server)
        .await;
    let err = retrying_client(&server).users().me().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502));
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

/// Everything written by the capturing subscriber.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Runs `test` on a current-thread runtime with a TRACE subscriber that is the default on this
/// thread only, so parallel tests neither write into the capture nor read from it.
///
/// tracing caches each callsite's interest process-wide. While exactly one dispatcher is
/// registered, a callsite first reached by *another* thread is asked of that thread's default
/// (none: `Interest::never`), which would silence it here too (tracing-core 0.1.36,
/// `Rebuilder::JustOne`; tokio-rs/tracing#3611). A second registered dispatcher (`_anchor`,
/// interested in everything, default nowhere) makes tracing combine all live dispatchers
/// instead, so the capture cannot lose events to a sibling test.
fn with_captured_logs<F: std::future::Future<Output = ()>>(test: impl FnOnce() -> F) -> String {
    let capture = Capture::default();
    let writer = capture.clone();
    let _anchor = tracing::Dispatch::new(tracing_subscriber::registry());
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || runtime.block_on(test()));
    capture.text()
}

#[test]
fn the_token_never_appears_in_logs_errors_or_debug_output() {
    let mut texts = Vec::new();
    let out = &mut texts;
    let logs = with_captured_logs(|| async move {
        // Arrange: one success, one 401, one refused connection, one WebSocket session.
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(wiremock::matchers::path("/api/v4/users/me"))
            .respond_with(ResponseTemplate::new(200).set_body_json(crate::fixtures::user("user1")))
            .mount(&server)
            .await;
        Mock::given(any())
            .respond_with(
                ResponseTemplate::new(401)
                    .set_body_json(app_error("api.context.session_expired.app_error", 401)),
            )
            .mount(&server)
            .await;
        let client = client_for(&server);
        let dead = Client::builder("http://127.0.0.1:9") // nothing listens on port 9
            .token(TOKEN)
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();

        // Act
        client.users().me().await.unwrap();
        let unauthorized = client.users().get(&UserId::new("user1")).await.unwrap_err();
        let refused = dead.users().me().await.unwrap_err();
        let ws_item = websocket_session_with_token().await;

        out.extend([
            format!("{unauthorized}"),
            format!("{unauthorized:?}"),
            format!("{refused}"),
            format!("{refused:?}"),
            format!("{client:?}"),
            format!("{:?}", Client::builder(server.uri()).token(TOKEN)),
            format!("{ws_item:?}"),
        ]);
    });

    // Assert: the calls were logged (span with method and templated path, outcome events) …
    for expected in [
        r#"mattermost.request{method="GET" path="/users/me"}"#,
        "request succeeded",
        r#"mattermost.request{method="GET" path="/users/{user_id}"}"#,
        "request failed",
        "mattermost websocket disconnected",
    ] {
        assert!(
            logs.contains(expected),
            "no {expected:?} in the logs:\n{logs}"
        );
    }
    // … and the token is nowhere.
    for text in texts.iter().chain([&logs]) {
        assert!(!text.contains(TOKEN), "token leaked in: {text}");
    }
}

/// A WebSocket session that sends the token (header and challenge) and then loses the server;
/// returns the `Disconnected` item.
async fn websocket_session_with_token() -> switchboard::mattermost::WsItem {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let _challenge = ws.next().await;
        ws.send(Message::text(
            r#"{"event":"hello","seq":0,"data":{"connection_id":"conn1"},"broadcast":{}}"#,
        ))
        .await
        .unwrap();
        // Dropped here without a close frame: the client logs the disconnect.
    });
    let client = Client::builder(format!("http://{addr}"))
        .token(TOKEN)
        .build()
        .unwrap();
    let mut events = client.events(Default::default());
    let hello = events.next().await.unwrap();
    assert!(matches!(hello, switchboard::mattermost::WsItem::Event(_)));
    server.await.unwrap();
    let disconnected = events.next().await.unwrap();
    events.close().await;
    disconnected
}

/// A 429 asking for longer than the policy's longest wait fails at once with that wait:
/// retrying after `max_delay` (10 s) would be refused again, three times, for 30 s.
#[tokio::test(start_paused = true)]
async fn a_rate_limit_longer_than_the_longest_wait_fails_at_once_with_the_wait() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "60")
                .set_body_string("limit exceeded\n"),
        )
        .mount(&server)
        .await;
    let started = tokio::time::Instant::now();
    let err = retrying_client(&server).users().me().await.unwrap_err();
    match err {
        Error::RateLimited { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(60)));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

/// Mattermost recognises a repeated `pending_post_id` for 30 s from the first attempt
/// (`pendingPostIDsCacheTTL`, `server/channels/app/post.go`); a repeat after that is a second
/// post. A create that timed out after 30 s is therefore not sent again, while other calls
/// that time out are.
#[tokio::test(start_paused = true)]
async fn a_post_that_timed_out_is_not_sent_again_once_the_server_would_not_recognise_it() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        // Accepts and never answers: every attempt times out.
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    let client = Client::builder(url)
        .token(TOKEN)
        .timeout(Duration::from_secs(30))
        .retry_policy(RetryPolicy::default())
        .build()
        .unwrap();

    let err = client
        .posts()
        .create(&ChannelId::new("chan1"), "deployed")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "the post was sent again"
    );

    // A GET that times out is still retried (4 attempts in all).
    let err = client.users().me().await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 5);
}

/// `Retry-After` may be an HTTP date (RFC 9110; what some proxies send): it is read as the time
/// until then, not ignored (which made the client retry after a second into certain refusals).
#[tokio::test(start_paused = true)]
async fn a_retry_after_date_is_read_as_the_time_until_then() {
    let server = MockServer::start().await;
    let at = chrono::Utc::now() + chrono::Duration::seconds(90);
    Mock::given(any())
        .respond_with(ResponseTemplate::new(429).insert_header(
            "retry-after",
            at.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        ))
        .mount(&server)
        .await;
    let err = retrying_client(&server).users().me().await.unwrap_err();
    match err {
        Error::RateLimited {
            retry_after: Some(wait),
            ..
        } => assert!(
            wait > Duration::from_secs(80) && wait <= Duration::from_secs(90),
            "{wait:?}"
        ),
        other => panic!("expected RateLimited with a wait, got {other:?}"),
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
