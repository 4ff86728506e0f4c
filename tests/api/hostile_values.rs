//! Hostile values in declared routes: user text in an `http` URL stays in its part of the URL,
//! redirects and hosts are the route's decision, and user text cannot page a channel.

use std::time::Duration;

use switchboard::sim::{SimPost, Simulator};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::*;

fn routes_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in files {
        std::fs::write(dir.path().join(name), body).unwrap();
    }
    dir
}

async fn run(sim: &Simulator, user: &str, command: &str) -> SimPost {
    let outcome = sim
        .world()
        .execute_command(user, "main", "town-square", command)
        .await
        .unwrap_or_else(|e| panic!("{command}: {e:?}"));
    assert_eq!(outcome.posts.len(), 1, "{command}: {:?}", outcome.posts);
    outcome.posts[0].clone()
}

/// A `/fetch <q>` route whose URL template is `url`, with `extra` lines in `[http]`.
fn fetch_route(trigger: &str, url: &str, extra: &str) -> String {
    format!(
        r#"
[command]
trigger = "{trigger}"

[[args]]
name = "q"
rest = true
required = true

[http]
method = "GET"
url = "{url}"
{extra}

[http.reply]
text = "{{{{ response.text }}}}"
"#
    )
}

/// An echo service: answers with the path and query it was asked for, so the test sees
/// exactly which request user text produced.
async fn echo_service() -> MockServer {
    let service = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(|req: &Request| {
            let query = req.url.query().map(|q| format!("?{q}")).unwrap_or_default();
            ResponseTemplate::new(200).set_body_string(format!("{}{query}", req.url.path()))
        })
        .mount(&service)
        .await;
    service
}

#[tokio::test]
async fn user_text_in_an_http_url_stays_in_its_path_segment_or_query_value() {
    let service = echo_service().await;
    let base = service.uri();
    let dir = routes_dir(&[
        (
            "fetch.toml",
            &fetch_route("fetch", &format!("{base}/echo/{{{{ args.q }}}}"), ""),
        ),
        (
            "find.toml",
            &fetch_route(
                "find",
                &format!("{base}/search?q={{{{ args.q }}}}&limit=5"),
                "",
            ),
        ),
        (
            "enc.toml",
            &fetch_route(
                "enc",
                &format!("{base}/search?q={{{{ args.q | urlencode }}}}"),
                "",
            ),
        ),
    ]);
    let (sim, _app) = start(dir.path()).await;

    // Traversal stays one encoded segment under /echo/.
    assert_eq!(
        run(&sim, "alice", "/fetch ../../internal-secret")
            .await
            .message,
        "/echo/..%2F..%2Finternal-secret"
    );
    // A bare `..` cannot be made inert by encoding (parsers resolve %2e%2e): refused.
    let dotdot = run(&sim, "alice", "/fetch ..").await.message;
    assert!(dotdot.contains("cannot be a path segment"), "{dotdot}");
    // No extra query parameters, no fragment.
    assert_eq!(
        run(&sim, "alice", "/find x?admin=1&token=t#frag")
            .await
            .message,
        "/search?q=x%3Fadmin%3D1%26token%3Dt%23frag&limit=5"
    );
    // `urlencode` encodes once, not twice.
    assert_eq!(
        run(&sim, "alice", "/enc a b&c").await.message,
        "/search?q=a%20b%26c"
    );
    let asked: Vec<String> = service
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert!(
        asked
            .iter()
            .all(|p| p.starts_with("/echo/") || p == "/search"),
        "{asked:?}"
    );
}

#[tokio::test]
async fn redirects_are_not_followed_unless_allowed_and_then_only_to_the_same_host() {
    let service = echo_service().await;
    let elsewhere = echo_service().await;
    Mock::given(path("/away"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/stolen", elsewhere.uri())),
        )
        .with_priority(1)
        .mount(&service)
        .await;
    Mock::given(path("/moved"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "/echo/here"))
        .with_priority(1)
        .mount(&service)
        .await;
    let base = service.uri();
    let dir = routes_dir(&[
        (
            "plain.toml",
            &fetch_route("plain", &format!("{base}/{{{{ args.q }}}}"), ""),
        ),
        (
            "follow.toml",
            &fetch_route(
                "follow",
                &format!("{base}/{{{{ args.q }}}}"),
                "follow_redirects = true",
            ),
        ),
    ]);
    let (sim, _app) = start(dir.path()).await;

    let refused = run(&sim, "alice", "/plain moved").await.message;
    assert!(refused.contains("redirected (HTTP 301)"), "{refused}");
    assert_eq!(
        run(&sim, "alice", "/follow moved").await.message,
        "/echo/here"
    );
    let away = run(&sim, "alice", "/follow away").await.message;
    assert!(away.contains("redirected (HTTP 302)"), "{away}");
    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "the other host was reached"
    );
}

#[tokio::test]
async fn a_route_restricted_to_hosts_reaches_no_other() {
    let service = echo_service().await;
    let port = service.address().port();
    let dir = routes_dir(&[
        (
            "hosts.toml",
            &fetch_route(
                "hosts",
                &format!("http://{{{{ args.q }}}}:{port}/x"),
                &format!("allowed_hosts = [\"127.0.0.1:{port}\"]"),
            ),
        ),
        (
            "other.toml",
            &fetch_route(
                "other",
                &format!("{}/x", service.uri()),
                "allowed_hosts = [\"svc.internal\"]",
            ),
        ),
    ]);
    let (sim, _app) = start(dir.path()).await;

    assert_eq!(run(&sim, "alice", "/hosts 127.0.0.1").await.message, "/x");
    let other = run(&sim, "alice", "/hosts localhost").await.message;
    assert!(other.contains("not one this command may reach"), "{other}");
    let refused = run(&sim, "alice", "/other q").await.message;
    assert!(
        refused.contains("not one this command may reach"),
        "{refused}"
    );
    assert_eq!(service.received_requests().await.unwrap().len(), 1);
}

const SHOUT: &str = r#"
[command]
trigger = "shout"

[[args]]
name = "who"
type = "user"

[[args]]
name = "what"
rest = true

[reply]
visibility = "in_channel"
text = "@channel from @{{ user.name }} to @{{ args.who }}: {{ args.what }} | raw: {{ args.what | mentions }}"
"#;

#[tokio::test]
async fn user_values_cannot_page_a_channel_but_the_route_text_can() {
    let dir = routes_dir(&[("shout.toml", SHOUT)]);
    let (sim, _app) = start(dir.path()).await;

    let post = run(
        &sim,
        "alice",
        "/shout @bob wake @all @Here. <!channel> @bob",
    )
    .await;
    // The route's own `@channel` is kept; so are `@alice` (who ran it) and `@bob` (a user
    // Mattermost resolved); `<!channel>` is Slack markup Mattermost turns into `@channel`.
    let wj = '\u{2060}';
    assert_eq!(
        post.message,
        format!(
            "@channel from @alice to @bob: wake @{wj}all @{wj}Here. <{wj}!channel> @bob \
             | raw: wake @all @Here. @channel @bob"
        )
    );
    // `all` typed as the user argument: not a user, so a usage error (shown as code), no page.
    let post = run(&sim, "alice", "/shout @all hi").await;
    assert!(
        post.message.starts_with("⚠️ There is no user `@all`."),
        "{}",
        post.message
    );
}

#[tokio::test]
async fn the_oncall_hook_does_not_repost_channel_wide_mentions() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo_root().join("routes/oncall.toml"),
        dir.path().join("oncall.toml"),
    )
    .unwrap();
    let (sim, _app) = start(dir.path()).await;
    sim.world()
        .create_post(
            "alice",
            "main",
            "town-square",
            "oncall @all @channel wake up",
        )
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let page = loop {
        if let Some(p) = sim
            .world()
            .posts_in("main", "leads")
            .into_iter()
            .find(|p| p.message.contains("paged on-call"))
        {
            break p;
        }
        assert!(tokio::time::Instant::now() < deadline, "no page");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(
        page.message,
        "🚨 @alice paged on-call from ~town-square: @\u{2060}all @\u{2060}channel wake up"
    );

    // A control character (ESC, NUL) in the post is refused in the thread; nothing is paged.
    sim.world()
        .create_post(
            "alice",
            "main",
            "town-square",
            "oncall db \u{1b}[31mdown\u{0}",
        )
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let refused = sim
            .world()
            .posts_in("main", "town-square")
            .into_iter()
            .any(|p| p.message.contains("control character (U+001B)"));
        if refused {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no refusal");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let pages = sim.world().posts_in("main", "leads");
    assert_eq!(pages.len(), 1, "{pages:?}");
}

#[tokio::test]
async fn the_configuration_limits_every_route_s_hosts() {
    let service = echo_service().await;
    let dir = routes_dir(&[(
        "peek.toml",
        &fetch_route("peek", &format!("{}/x", service.uri()), ""),
    )]);
    let answer = |allowed: String| {
        let dir = dir.path().to_owned();
        async move {
            let sim = spawn_sim().await;
            let mut config = settings(sim.url().as_str(), &sim.bot_token(), &["main"], &dir);
            config.http.allowed_hosts = vec![allowed];
            let app = spawn_app(config).await;
            app.wait_ready().await;
            let message = run(&sim, "alice", "/peek q").await.message;
            app.stop().await;
            message
        }
    };
    let refused = answer("answers.internal".to_owned()).await;
    assert!(
        refused.contains("not one this command may reach"),
        "{refused}"
    );
    assert!(service.received_requests().await.unwrap().is_empty());
    // Allowed by the configuration (with its port): reached.
    let port = service.address().port();
    assert_eq!(answer(format!("127.0.0.1:{port}")).await, "/x");
}
