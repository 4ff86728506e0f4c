//! Behaviour found by comparing the client with Mattermost's server code and the Python
//! driver: what the server really answers, what a logged-out client does, and the file part's
//! `Content-Type`.

use serde_json::json;
use switchboard::mattermost::{ChannelId, EmojiId, Error, PartReader, UserId};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::fixtures::{emoji, file_info, ok};
use crate::support::client_for;

fn reader(bytes: &'static [u8]) -> PartReader {
    Box::new(std::io::Cursor::new(bytes.to_vec()))
}

/// The headers of the multipart part named `name` in a recorded request body.
fn part_headers(body: &[u8], name: &str) -> String {
    let text = String::from_utf8_lossy(body);
    let marker = format!("name=\"{name}\"");
    let start = text
        .find(&marker)
        .unwrap_or_else(|| panic!("no part {name} in {text}"));
    let end = text[start..]
        .find("\r\n\r\n")
        .map_or(text.len(), |e| start + e);
    text[start..end].to_owned()
}

#[tokio::test]
async fn emoji_delete_accepts_the_servers_status_ok_answer() {
    let server = MockServer::start().await;
    // `deleteEmoji` in server/channels/api4/emoji.go ends with `ReturnStatusOK(w)`.
    Mock::given(method("DELETE"))
        .and(path("/api/v4/emoji/em1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok()))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);
    client
        .emoji()
        .delete(&EmojiId::new("em1"))
        .await
        .expect("a real server's answer must be accepted");
}

#[tokio::test]
async fn a_logged_out_client_refuses_calls_without_sending_the_revoked_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v4/users/logout"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/users/me"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "id": "api.context.session_expired.app_error",
            "message": "Invalid or expired session, please login again.",
            "status_code": 401
        })))
        .expect(0)
        .mount(&server)
        .await;
    let client = client_for(&server);
    let clone = client.clone();
    client.users().logout().await.unwrap();
    assert!(client.is_logged_out());

    for c in [&client, &clone] {
        let err = c.users().me().await.unwrap_err();
        assert!(err.is_logged_out(), "{err:?}");
        assert!(matches!(err, Error::LoggedOut { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("logged out"), "{message}");
        assert!(!message.contains(crate::support::TOKEN), "{message}");
    }
    // Logging out twice is refused the same way, not sent.
    assert!(client.users().logout().await.unwrap_err().is_logged_out());
    assert!(!format!("{client:?}").contains(crate::support::TOKEN));
    // `expect(0)` on /users/me and `expect(1)` on logout are verified when `server` drops.
}

#[tokio::test]
async fn a_failed_logout_leaves_the_client_usable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v4/users/logout"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let client = client_for(&server);
    assert!(client.users().logout().await.is_err());
    assert!(!client.is_logged_out());
}

async fn uploaded_part_headers(file_name: &'static str) -> String {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v4/files"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"file_infos": [file_info("file1")], "client_ids": []})),
        )
        .mount(&server)
        .await;
    let client = client_for(&server);
    client
        .files()
        .upload(
            &ChannelId::new("chan1"),
            file_name,
            reader(b"data"),
            Some(4),
        )
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    part_headers(&requests[0].body, "files")
}

#[tokio::test]
async fn file_uploads_send_a_content_type_guessed_from_the_file_name() {
    for (name, expected) in [
        ("report.pdf", "application/pdf"),
        ("shot.PNG", "image/png"),
        ("notes.txt", "text/plain"),
        ("archive.tar.gz", "application/gzip"),
        ("no-extension", "application/octet-stream"),
        ("weird.zzz-unknown", "application/octet-stream"),
    ] {
        let headers = uploaded_part_headers(name).await;
        let content_type = headers
            .lines()
            .find_map(|l| {
                l.strip_prefix("Content-Type: ")
                    .or(l.strip_prefix("content-type: "))
            })
            .unwrap_or_else(|| panic!("{name}: no Content-Type in part headers {headers:?}"));
        assert_eq!(content_type, expected, "{name}");
    }
}

#[tokio::test]
async fn emoji_creation_sends_the_images_content_type() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v4/emoji"))
        .respond_with(ResponseTemplate::new(201).set_body_json(emoji("em1")))
        .mount(&server)
        .await;
    let client = client_for(&server);
    client
        .emoji()
        .create(
            &UserId::new("user1"),
            "party",
            "party.gif",
            reader(b"GIF89a"),
        )
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let headers = part_headers(&requests[0].body, "image");
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("content-type: image/gif"),
        "{headers:?}"
    );
    // The JSON part stays a plain form field (no file name): `createEmoji` reads it from
    // `MultipartForm.Value` (server/channels/api4/emoji.go).
    let emoji_part = part_headers(&requests[0].body, "emoji");
    assert!(
        !emoji_part.to_ascii_lowercase().contains("content-type"),
        "{emoji_part:?}"
    );
}

/// A server (or a proxy in front of it) that answers 200 with a body that never ends: the
/// client stops at its limit with `TooLarge` instead of filling memory until the timeout.
#[tokio::test]
async fn an_endless_answer_stops_at_the_response_limit() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            if n == 0 {
                return;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                    transfer-encoding: chunked\r\n\r\n5\r\n[1,2,\r\n";
        if socket.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = format!("1000\r\n{}\r\n", "3,".repeat(2048));
        // Until the client hangs up.
        while socket.write_all(chunk.as_bytes()).await.is_ok() {}
    });
    let client = switchboard::mattermost::Client::builder(url)
        .token(crate::support::TOKEN)
        .timeout(std::time::Duration::from_secs(20))
        .max_response_bytes(1 << 20)
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.teams().for_user(None).await.unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { limit, .. } if limit == 1 << 20),
        "{err:?}"
    );
    assert!(err.to_string().contains("1048576 bytes"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

/// With a `Content-Length` above the limit, nothing of the body is read.
#[tokio::test]
async fn an_answer_declared_too_long_is_refused_before_reading_it() {
    let server = MockServer::start().await;
    let many: Vec<_> = (0..100).map(|i| emoji(&format!("em{i}"))).collect();
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!(many)))
        .mount(&server)
        .await;
    let client = switchboard::mattermost::Client::builder(server.uri())
        .token(crate::support::TOKEN)
        .max_response_bytes(4096)
        .build()
        .unwrap();
    let err = futures::TryStreamExt::try_next(&mut client.emoji().list())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { limit: 4096, .. }),
        "{err:?}"
    );
}

/// A URL with credentials would send them as a Basic `Authorization` header ahead of the
/// token's (so every call is a 401) and print the password in `Debug`; one with a query would
/// put `/api/v4/…` inside the query. Both are refused when the client is built, without
/// echoing the password.
#[test]
fn a_server_url_with_credentials_or_a_query_is_refused() {
    for url in [
        "https://bot:hunter2secret@chat.example.com",
        "https://bot@chat.example.com",
        "https://chat.example.com/?team=main",
        "https://chat.example.com/#main",
    ] {
        let err = switchboard::mattermost::Client::builder(url)
            .token(crate::support::TOKEN)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{url}: {err:?}");
        assert!(!err.to_string().contains("hunter2secret"), "{err}");
    }
    // A path prefix (Mattermost served below a sub-path) is fine.
    let client = switchboard::mattermost::Client::builder("https://example.com/chat/")
        .build()
        .unwrap();
    assert_eq!(client.server_url().path(), "/chat/");
}

/// `.` and `..` stay as they are under percent-encoding, and URL parsing resolves them: a
/// username `..` would ask `GET /api/v4/users/` instead of `/users/username/..`, and
/// `remove_member(channel, "..")` would send `DELETE /api/v4/channels/{id}/`. Refused before
/// sending, as is a raw path that climbs with `%2e%2e` or `\`.
#[tokio::test]
async fn dot_segments_in_names_and_raw_paths_are_refused_before_sending() {
    use switchboard::mattermost::endpoints::Verb;
    let server = MockServer::start().await;
    let client = client_for(&server);
    let err = client.users().by_username("..").await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    let err = client
        .channels()
        .remove_member(&ChannelId::new("chan1"), &UserId::new("."))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    for raw in ["/users/%2e%2e/%2e%2e/hooks/x", "/users/..\\..\\hooks/x"] {
        let err = client
            .raw::<serde_json::Value, ()>(Verb::Get, raw, None)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{raw}: {err:?}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// A slash command's or outgoing hook's verification token lets whoever holds it forge the
/// integration's callbacks; logging a listing with `{:?}` must not print it.
#[test]
fn command_and_outgoing_hook_debug_hide_their_verification_tokens() {
    use switchboard::mattermost::TeamId;
    use switchboard::mattermost::models::{Command, OutgoingWebhook};
    let mut command = Command::new(TeamId::new("team1"), "deploy", "https://sb/commands/deploy");
    command.token = "cmdtoken123secret".into();
    let shown = format!("{command:?}");
    assert!(!shown.contains("cmdtoken123secret"), "{shown}");
    assert!(
        shown.contains("\"deploy\"") && shown.contains("[redacted]"),
        "{shown}"
    );

    let mut hook = OutgoingWebhook::new(
        TeamId::new("team1"),
        "pager",
        vec!["oncall".into()],
        vec!["https://sb/hooks/pager".into()],
    );
    hook.token = Some("hooktoken456secret".into());
    let shown = format!("{hook:?}");
    assert!(!shown.contains("hooktoken456secret"), "{shown}");
    assert!(
        shown.contains("oncall") && shown.contains("[redacted]"),
        "{shown}"
    );
}
