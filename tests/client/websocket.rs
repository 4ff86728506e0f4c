//! WebSocket: auth challenge, resume after a dropped connection, no event lost or duplicated.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::json;
use switchboard::mattermost::{Client, WebSocketOptions, WsItem};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

use crate::support::TOKEN;

fn event(seq: i64, name: &str) -> Message {
    Message::text(json!({"event": name, "seq": seq, "data": {"n": seq}, "broadcast": {"channel_id": "chan1"}}).to_string())
}

#[tokio::test]
async fn reconnects_and_resumes_without_losing_or_duplicating_events() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let uris = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = uris.clone();
    let server = tokio::spawn(async move {
        for round in 0..2 {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut uri = String::new();
            let mut auth = None;
            let mut ws =
                tokio_tungstenite::accept_hdr_async(tcp, |req: &Request, res: Response| {
                    uri = req.uri().to_string();
                    auth = req
                        .headers()
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_owned());
                    Ok(res)
                })
                .await
                .unwrap();
            assert_eq!(auth.as_deref(), Some(&*format!("Bearer {TOKEN}")));
            let challenge: serde_json::Value = match ws.next().await.unwrap().unwrap() {
                Message::Text(t) => serde_json::from_str(&t).unwrap(),
                other => panic!("expected the auth challenge, got {other:?}"),
            };
            assert_eq!(challenge["action"], "authentication_challenge");
            assert_eq!(challenge["seq"], 1);
            assert_eq!(challenge["data"]["token"], TOKEN);
            seen.lock().unwrap().push(uri);
            if round == 0 {
                ws.send(Message::text(json!({"event": "hello", "seq": 0, "data": {"connection_id": "conn1", "server_version": "10.11.0"}, "broadcast": {}}).to_string())).await.unwrap();
                for seq in 1..=3 {
                    ws.send(event(seq, "posted")).await.unwrap();
                }
                // Drop the TCP connection mid-stream, without a close frame.
                drop(ws);
            } else {
                // The server replays from its dead queue; one already-delivered event repeats.
                for seq in 3..=5 {
                    ws.send(event(
                        seq,
                        if seq == 5 {
                            "custom_plugin_event"
                        } else {
                            "posted"
                        },
                    ))
                    .await
                    .unwrap();
                }
                // Keep the connection open until the client has read everything.
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    });

    let client = Client::builder(format!("http://{addr}"))
        .token(TOKEN)
        .build()
        .unwrap();
    let options = WebSocketOptions {
        ping_interval: Duration::from_secs(30),
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
    };
    let mut events = client.events(options);
    let mut seqs = Vec::new();
    let mut disconnects = 0;
    let mut last = None;
    while seqs.len() < 6 {
        match tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .unwrap()
            .unwrap()
        {
            WsItem::Event(e) => {
                seqs.push(e.seq);
                last = Some(e);
            }
            WsItem::Disconnected { .. } => disconnects += 1,
            WsItem::Gap { expected, received } => panic!("unexpected gap {expected} -> {received}"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seqs, [0, 1, 2, 3, 4, 5]);
    assert_eq!(disconnects, 1);
    let uris = uris.lock().unwrap().clone();
    assert_eq!(uris[0], "/api/v4/websocket");
    assert_eq!(
        uris[1],
        "/api/v4/websocket?connection_id=conn1&sequence_number=4"
    );
    let last = last.unwrap();
    assert_eq!(
        last.kind(),
        switchboard::mattermost::WsEventKind::Unknown("custom_plugin_event".into())
    );
    drop(events);
    server.abort();
}

#[tokio::test]
async fn a_jump_in_sequence_numbers_is_reported_as_a_gap() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let _challenge = ws.next().await;
        ws.send(Message::text(
            json!({"event": "hello", "seq": 0, "data": {"connection_id": "c"}}).to_string(),
        ))
        .await
        .unwrap();
        ws.send(event(1, "posted")).await.unwrap();
        ws.send(event(4, "posted")).await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let client = Client::builder(format!("http://{addr}"))
        .token(TOKEN)
        .build()
        .unwrap();
    let mut events = client.events(WebSocketOptions::default());
    let mut items = Vec::new();
    for _ in 0..4 {
        items.push(
            tokio::time::timeout(Duration::from_secs(5), events.next())
                .await
                .unwrap()
                .unwrap(),
        );
    }
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
    assert!(matches!(&items[3], WsItem::Event(e) if e.seq == 4));
    server.abort();
}
