//! WebSocket against a local tokio-tungstenite server that plays Mattermost's part as
//! `server/channels/app/platform/web_conn.go` does: resume with `connection_id` and the next
//! expected `sequence_number`, no `hello` after a successful resume, a new `connection_id` when
//! it cannot resume. All under paused time: pings, timeouts and back-off cost no real time.
//! (Paused time advances to the next timer whenever the runtime parks, even while loopback
//! data is on its way, so a client ping may appear between any two frames; assertions allow it.)

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::json;
use switchboard::mattermost::{Client, EventStream, WebSocketOptions, WsEventKind, WsItem};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::support::TOKEN;

type ServerSocket = WebSocketStream<TcpStream>;

/// What the client sent on the upgrade request.
#[derive(Debug)]
struct Upgrade {
    uri: String,
    auth: Option<String>,
}

fn bearer() -> Option<String> {
    Some(format!("Bearer {TOKEN}"))
}

async fn listen() -> (TcpListener, Client) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = Client::builder(format!("http://{addr}"))
        .token(TOKEN)
        .build()
        .unwrap();
    (listener, client)
}

fn options() -> WebSocketOptions {
    WebSocketOptions {
        ping_interval: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(10),
        min_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
    }
}

/// Accepts one upgrade and reads the authentication challenge that must come first.
async fn accept(listener: &TcpListener) -> (ServerSocket, Upgrade) {
    let (tcp, _) = listener.accept().await.unwrap();
    let mut upgrade = None;
    let mut ws = tokio_tungstenite::accept_hdr_async(tcp, |req: &Request, res: Response| {
        upgrade = Some(Upgrade {
            uri: req.uri().to_string(),
            auth: req
                .headers()
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_owned()),
        });
        Ok(res)
    })
    .await
    .unwrap();
    let challenge: serde_json::Value = match ws.next().await.unwrap().unwrap() {
        Message::Text(t) => serde_json::from_str(&t).unwrap(),
        other => panic!("expected the auth challenge first, got {other:?}"),
    };
    assert_eq!(challenge["action"], "authentication_challenge");
    assert_eq!(challenge["seq"], 1);
    assert_eq!(challenge["data"]["token"], TOKEN);
    (ws, upgrade.unwrap())
}

fn hello(connection_id: &str) -> Message {
    Message::text(
        json!({"event": "hello", "seq": 0, "data": {"connection_id": connection_id, "server_version": "10.11.0"}, "broadcast": {"user_id": "bot1"}})
            .to_string(),
    )
}

fn event(seq: i64, name: &str) -> Message {
    Message::text(
        json!({"event": name, "seq": seq, "data": {"n": seq}, "broadcast": {"channel_id": "chan1"}})
            .to_string(),
    )
}

/// Reads until the client goes away, answering its pings and close frame; returns what came.
async fn drain(mut ws: ServerSocket) -> Vec<Message> {
    let mut frames = Vec::new();
    while let Some(Ok(frame)) = ws.next().await {
        frames.push(frame);
    }
    frames
}

/// The next item; a stuck stream fails the test (paused time makes the hour instant).
async fn next(events: &mut EventStream) -> WsItem {
    tokio::time::timeout(Duration::from_secs(3600), events.next())
        .await
        .expect("no item within an hour")
        .expect("the stream ended")
}

fn seq_of(item: &WsItem) -> Option<i64> {
    match item {
        WsItem::Event(e) => Some(e.seq),
        _ => None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_dropped_connection_resumes_from_the_next_expected_sequence_number() {
    // Arrange
    let (listener, client) = listen().await;
    let server = tokio::spawn(async move {
        let (mut ws, first) = accept(&listener).await;
        ws.send(hello("conn1")).await.unwrap();
        for seq in 1..=3 {
            ws.send(event(seq, "posted")).await.unwrap();
        }
        drop(ws); // the TCP connection dies mid-stream, without a close frame
        let (mut ws, second) = accept(&listener).await;
        // As writePump does on a resume: no hello; the dead queue is replayed from the entry
        // whose seq equals `sequence_number`.
        for seq in 4..=5 {
            ws.send(event(seq, "posted")).await.unwrap();
        }
        ws.send(event(6, "custom_plugin_event")).await.unwrap();
        drain(ws).await;
        (first, second)
    });

    // Act
    let mut events = client.events(options());
    let mut items = Vec::new();
    while items.iter().filter_map(seq_of).count() < 7 {
        items.push(next(&mut events).await);
    }
    events.close().await;
    let (first, second) = server.await.unwrap();

    // Assert
    let seqs: Vec<i64> = items.iter().filter_map(seq_of).collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4, 5, 6], "{items:?}");
    assert!(
        matches!(items[4], WsItem::Disconnected { .. }),
        "one disconnect, between 3 and 4: {items:?}"
    );
    assert_eq!(items.len(), 8, "no gap and no failed resume: {items:?}");
    assert_eq!(first.uri, "/api/v4/websocket");
    assert_eq!(
        second.uri,
        "/api/v4/websocket?connection_id=conn1&sequence_number=4"
    );
    // The server resumes only a session it knows at upgrade time: the header on every upgrade.
    assert_eq!(first.auth, bearer());
    assert_eq!(second.auth, bearer());
    match &items[7] {
        WsItem::Event(e) => {
            assert_eq!(e.kind(), WsEventKind::Unknown("custom_plugin_event".into()))
        }
        other => panic!("expected the plugin event, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_new_connection_id_in_hello_is_reported_as_a_failed_resume() {
    // Arrange: the server lost connection conn1 (restart, reaped) and starts conn2 at seq 0.
    let (listener, client) = listen().await;
    let server = tokio::spawn(async move {
        let (mut ws, _) = accept(&listener).await;
        ws.send(hello("conn1")).await.unwrap();
        ws.send(event(1, "posted")).await.unwrap();
        ws.send(event(2, "posted")).await.unwrap();
        drop(ws);
        let (mut ws, second) = accept(&listener).await;
        ws.send(hello("conn2")).await.unwrap();
        ws.send(event(1, "posted")).await.unwrap();
        drop(ws);
        let (mut ws, third) = accept(&listener).await;
        ws.send(event(2, "posted")).await.unwrap(); // conn2 resumed: seq 2 follows
        drain(ws).await;
        (second, third)
    });

    // Act
    let mut events = client.events(options());
    let mut items = Vec::new();
    while !matches!(items.last(), Some(WsItem::Disconnected { .. })) || items.len() < 4 {
        items.push(next(&mut events).await);
    }
    for _ in 0..5 {
        items.push(next(&mut events).await);
    }
    events.close().await;
    let (second, third) = server.await.unwrap();

    // Assert
    assert!(
        matches!(items[4], WsItem::ResumeFailed { expected: 3 }),
        "{items:?}"
    );
    match &items[5] {
        WsItem::Event(e) => {
            assert_eq!(e.kind(), WsEventKind::Hello);
            assert_eq!(e.connection_id(), Some("conn2"));
            assert_eq!(e.seq, 0);
        }
        other => panic!("expected the new hello, got {other:?}"),
    }
    assert_eq!(seq_of(&items[6]), Some(1), "{items:?}");
    assert!(matches!(items[7], WsItem::Disconnected { .. }), "{items:?}");
    assert_eq!(seq_of(&items[8]), Some(2), "{items:?}");
    assert_eq!(items.len(), 9, "{items:?}");
    assert_eq!(
        second.uri,
        "/api/v4/websocket?connection_id=conn1&sequence_number=3"
    );
    assert_eq!(
        third.uri, "/api/v4/websocket?connection_id=conn2&sequence_number=2",
        "resumes the new connection"
    );
}

#[tokio::test(start_paused = true)]
async fn a_jump_in_sequence_numbers_is_reported_as_a_gap() {
    let (listener, client) = listen().await;
    let server = tokio::spawn(async move {
        let (mut ws, _) = accept(&listener).await;
        ws.send(hello("conn1")).await.unwrap();
        ws.send(event(1, "posted")).await.unwrap();
        ws.send(event(4, "posted")).await.unwrap();
        drain(ws).await;
    });

    let mut events = client.events(options());
    let mut items = Vec::new();
    for _ in 0..4 {
        items.push(next(&mut events).await);
    }
    events.close().await;
    server.await.unwrap();

    assert!(
        matches!(
            items[2],
            WsItem::Gap {
                expected: 2,
                received: 4
            }
        ),
        "{items:?}"
    );
    assert_eq!(seq_of(&items[3]), Some(4));
}

#[tokio::test(start_paused = true)]
async fn server_pings_are_answered_with_pongs() {
    let (listener, client) = listen().await;
    let (answered, answer) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(async move {
        let (mut ws, _) = accept(&listener).await;
        ws.send(hello("conn1")).await.unwrap();
        ws.send(Message::Ping(b"mm".to_vec().into())).await.unwrap();
        loop {
            match ws.next().await.unwrap().unwrap() {
                Message::Ping(_) => continue, // the client's own liveness ping
                other => {
                    answered.send(other).unwrap();
                    break;
                }
            }
        }
        drain(ws).await;
    });

    let mut events = client.events(options());
    assert_eq!(seq_of(&next(&mut events).await), Some(0));
    let answer = tokio::time::timeout(Duration::from_secs(3600), answer)
        .await
        .unwrap()
        .unwrap();
    events.close().await;
    server.await.unwrap();

    assert_eq!(answer, Message::Pong(b"mm".to_vec().into()));
}

#[tokio::test(start_paused = true)]
async fn a_server_that_stops_answering_pings_is_dropped_and_the_client_reconnects() {
    // Arrange: after the hello the server reads nothing, so the client's ping goes unanswered.
    let (listener, client) = listen().await;
    let server = tokio::spawn(async move {
        let (mut stalled, _) = accept(&listener).await;
        stalled.send(hello("conn1")).await.unwrap();
        let (mut ws, second) = accept(&listener).await;
        let stalled_frames = drain(stalled).await;
        ws.send(event(1, "posted")).await.unwrap();
        drain(ws).await;
        (stalled_frames, second)
    });

    // Act
    let mut events = client.events(options());
    assert_eq!(seq_of(&next(&mut events).await), Some(0));
    let connected = Instant::now();
    let item = next(&mut events).await;
    let gave_up_after = connected.elapsed();
    assert_eq!(seq_of(&next(&mut events).await), Some(1), "resumed");
    events.close().await;
    let (stalled_frames, second) = server.await.unwrap();

    // Assert: a ping went unanswered for a whole interval (30 s), then a reconnect with resume.
    match item {
        WsItem::Disconnected { reason, .. } => {
            assert!(reason.contains("no answer to a ping"), "{reason}")
        }
        other => panic!("expected a disconnect, got {other:?}"),
    }
    assert!(
        gave_up_after >= Duration::from_secs(30) && gave_up_after <= Duration::from_secs(90),
        "{gave_up_after:?}"
    );
    assert!(
        matches!(stalled_frames.first(), Some(Message::Ping(_))),
        "the client pinged: {stalled_frames:?}"
    );
    assert_eq!(
        second.uri,
        "/api/v4/websocket?connection_id=conn1&sequence_number=1"
    );
}

#[tokio::test(start_paused = true)]
async fn a_handshake_that_never_completes_times_out_and_is_retried() {
    let (listener, client) = listen().await;
    let server = tokio::spawn(async move {
        let (silent, _) = listener.accept().await.unwrap(); // accepts TCP, never upgrades
        let (mut ws, upgrade) = accept(&listener).await;
        drop(silent);
        ws.send(hello("conn1")).await.unwrap();
        drain(ws).await;
        upgrade
    });

    let mut events = client.events(options());
    let started = Instant::now();
    let first = next(&mut events).await;
    let timed_out_after = started.elapsed();
    let second = next(&mut events).await;
    events.close().await;
    let upgrade = server.await.unwrap();

    match first {
        WsItem::Disconnected { reason, .. } => assert!(reason.contains("timed out"), "{reason}"),
        other => panic!("expected a disconnect, got {other:?}"),
    }
    assert_eq!(timed_out_after, Duration::from_secs(10));
    assert_eq!(seq_of(&second), Some(0));
    assert_eq!(upgrade.uri, "/api/v4/websocket");
}

#[tokio::test(start_paused = true)]
async fn a_close_from_the_server_is_answered_and_followed_by_a_resume() {
    let (listener, client) = listen().await;
    let server = tokio::spawn(async move {
        let (mut ws, _) = accept(&listener).await;
        ws.send(hello("conn1")).await.unwrap();
        ws.send(Message::Close(Some(CloseFrame {
            code: CloseCode::Away,
            reason: "restarting".into(),
        })))
        .await
        .unwrap();
        let after_close = drain(ws).await;
        let (mut ws, second) = accept(&listener).await;
        ws.send(event(1, "posted")).await.unwrap();
        drain(ws).await;
        (after_close, second)
    });

    let mut events = client.events(options());
    let mut items = Vec::new();
    for _ in 0..3 {
        items.push(next(&mut events).await);
    }
    events.close().await;
    let (after_close, second) = server.await.unwrap();

    match &items[1] {
        WsItem::Disconnected { reason, .. } => {
            assert!(reason.contains("closed by server"), "{reason}");
            assert!(reason.contains("restarting"), "{reason}");
        }
        other => panic!("expected a disconnect, got {other:?}"),
    }
    assert_eq!(seq_of(&items[2]), Some(1), "{items:?}");
    // The client answers the close frame, completing the closing handshake.
    assert_eq!(
        without_pings(&after_close),
        [Message::Close(Some(CloseFrame {
            code: CloseCode::Away,
            reason: "restarting".into()
        }))],
    );
    assert_eq!(
        second.uri,
        "/api/v4/websocket?connection_id=conn1&sequence_number=1"
    );
}

/// The server side of a clean close: the client's close frame, then the end of the stream.
async fn closed_by_client(listener: TcpListener) -> (Vec<Message>, TcpListener) {
    let (mut ws, _) = accept(&listener).await;
    ws.send(hello("conn1")).await.unwrap();
    (drain(ws).await, listener)
}

/// Frames other than the client's liveness pings.
fn without_pings(frames: &[Message]) -> Vec<Message> {
    frames
        .iter()
        .filter(|f| !matches!(f, Message::Ping(_)))
        .cloned()
        .collect()
}

fn assert_normal_close(frames: &[Message]) {
    match without_pings(frames).as_slice() {
        [Message::Close(Some(frame))] => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected exactly one normal close frame, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn close_sends_a_close_frame_and_nothing_reconnects() {
    let (listener, client) = listen().await;
    let server = tokio::spawn(closed_by_client(listener));

    let mut events = client.events(options());
    assert_eq!(seq_of(&next(&mut events).await), Some(0));
    events.close().await;
    let (frames, listener) = server.await.unwrap();

    assert_normal_close(&frames);
    let reconnect = tokio::time::timeout(Duration::from_secs(3600), listener.accept()).await;
    assert!(reconnect.is_err(), "nothing may reconnect after close");
}

#[tokio::test(start_paused = true)]
async fn dropping_the_stream_closes_the_connection_too() {
    let (listener, client) = listen().await;
    let server = tokio::spawn(closed_by_client(listener));

    let mut events = client.events(options());
    assert_eq!(seq_of(&next(&mut events).await), Some(0));
    drop(events);
    let (frames, listener) = server.await.unwrap();

    assert_normal_close(&frames);
    let reconnect = tokio::time::timeout(Duration::from_secs(3600), listener.accept()).await;
    assert!(reconnect.is_err(), "nothing may reconnect after drop");
}

#[tokio::test(start_paused = true)]
async fn without_a_token_the_stream_ends_instead_of_retrying_forever() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = Client::builder(format!("http://{}", listener.local_addr().unwrap()))
        .build()
        .unwrap();

    let mut events = client.events(options());
    let item = tokio::time::timeout(Duration::from_secs(3600), events.next())
        .await
        .unwrap();

    assert_eq!(item, None);
    let connection = tokio::time::timeout(Duration::from_secs(60), listener.accept()).await;
    assert!(connection.is_err(), "no connection without a token");
}

/// Mattermost closes the socket right after an `authentication_challenge` whose token names no
/// session (`ServeWebSocket` in `channels/app/platform/websocket_router.go`), before any
/// `hello`. The client then asks `GET /users/me`; on a 401 it says so and ends, instead of
/// reconnecting every few seconds forever with a token that cannot work.
#[tokio::test(start_paused = true)]
async fn a_refused_token_ends_the_stream_with_unauthorized() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (listener, client) = listen().await;
    let mut events = client.events(options());
    let (ws, _) = accept(&listener).await;
    drop(ws); // closed after the challenge, as the server does with a bad token

    // The next connection must be the REST check, not another upgrade.
    let (mut tcp, _) = listener.accept().await.unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tcp.read(&mut buf).await.unwrap();
        assert!(n > 0, "the client hung up");
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    assert!(head.starts_with("GET /api/v4/users/me "), "{head}");
    let body = json!({"id": "api.context.session_expired.app_error",
        "message": "Invalid or expired session, please login again.",
        "detailed_error": "", "request_id": "r1", "status_code": 401})
    .to_string();
    let answer = format!(
        "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(answer.as_bytes()).await.unwrap();

    match next(&mut events).await {
        WsItem::Unauthorized { reason } => {
            assert!(reason.contains("session_expired"), "{reason}");
            assert!(!reason.contains(TOKEN), "{reason}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(events.next().await.is_none(), "the stream must end");
}
