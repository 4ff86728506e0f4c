//! Issue 16: webhook replays. A delivery id (GitHub's `X-GitHub-Delivery`) runs once across
//! replicas sharing the store; a generic HMAC route with a signed timestamp refuses a stale
//! time with 401 and a message saying why.

use crate::helpers::spawn_sim;
use crate::triggers::{github_signature, routes_dir};

const DELIVERY_ROUTE: &str = r#"
[webhook]
hmac_secret_env = "CARGO_MANIFEST_DIR"
delivery_id_header = "X-GitHub-Delivery"
channel = "off-topic"
sample = "n.json"

[reply]
visibility = "in_channel"
text = "delivered {{ body.n }}"
"#;

const TIMESTAMP_ROUTE: &str = r#"
[webhook]
hmac_secret_env = "CARGO_MANIFEST_DIR"
signature_header = "X-Signature"
signature_prefix = "v1="
timestamp_header = "X-Timestamp"
timestamp_tolerance_secs = 120
channel = "off-topic"
sample = "n.json"

[reply]
visibility = "in_channel"
text = "stamped {{ body.n }}"
"#;

/// Two replicas sharing one redis-server: a GitHub-style delivery replayed to the other
/// replica runs once; a generic signed request with a stale timestamp is refused with 401 and
/// a message saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_delivery_runs_once_across_replicas_and_a_stale_signed_time_is_refused() {
    let Some(redis) = crate::redis_server::RedisServer::start("triggers::webhook_replay") else {
        return;
    };
    // The secret is read from the environment at each request; this in-process test uses a
    // variable `cargo test` sets for every test process, rather than changing the environment
    // of a multi-threaded process.
    let secret = std::env::var("CARGO_MANIFEST_DIR").expect("run through cargo test");
    let secret = secret.as_str();
    let sim = spawn_sim().await;
    let dir = routes_dir(&[
        ("gh.toml", DELIVERY_ROUTE),
        ("stamped.toml", TIMESTAMP_ROUTE),
    ]);
    std::fs::write(dir.path().join("n.json"), r#"{"n": 0}"#).unwrap();
    let mut settings =
        crate::helpers::settings(sim.url().as_str(), &sim.bot_token(), &["main"], dir.path());
    settings.store.url = Some(secrecy::SecretString::from(redis.url()));
    let a = crate::helpers::spawn_app(settings.clone()).await;
    let b = crate::helpers::spawn_replica(settings.clone(), &a.url("")).await;
    let http = reqwest::Client::new();
    let delivered = |text: &str| {
        sim.world()
            .posts_in("main", "off-topic")
            .iter()
            .filter(|p| p.message == text)
            .count()
    };

    let send = |app: &crate::helpers::TestApp, delivery: &str, body: &[u8]| {
        http.post(app.url("/webhooks/gh"))
            .header("x-github-delivery", delivery)
            .header("x-hub-signature-256", github_signature(secret, body))
            .body(body.to_vec())
            .send()
    };
    let first = send(&a, "d-1", br#"{"n": 1}"#).await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(
        first.json::<serde_json::Value>().await.unwrap()["outcome"],
        "posted"
    );
    // The same id again (a replay, or GitHub's redelivery), and the same signed body under
    // new ids (GitHub does not sign the id header): handled already.
    for (app, delivery) in [
        (&a, "d-1"),
        (&b, "d-1"),
        (&b, "d-1"),
        (&a, "d-2"),
        (&b, "d-3"),
    ] {
        let again = send(app, delivery, br#"{"n": 1}"#).await.unwrap();
        assert_eq!(again.status(), 200);
        let again: serde_json::Value = again.json().await.unwrap();
        assert_eq!(again["outcome"], "already handled", "{delivery}: {again}");
    }
    assert_eq!(delivered("delivered 1"), 1);
    // A new event (a new body, a new id) runs.
    assert_eq!(send(&b, "d-4", br#"{"n": 5}"#).await.unwrap().status(), 200);
    assert_eq!(delivered("delivered 5"), 1);

    // Signed timestamps: fresh runs, stale is refused (and says why), moved is refused.
    let stamped = |at: i64, body: &[u8]| {
        let mut signed = format!("{at}.").into_bytes();
        signed.extend_from_slice(body);
        let signature = github_signature(secret, &signed).replace("sha256=", "v1=");
        http.post(a.url("/webhooks/stamped"))
            .header("x-timestamp", at.to_string())
            .header("x-signature", signature)
            .body(body.to_vec())
    };
    let now = chrono::Utc::now().timestamp();
    let fresh = stamped(now, br#"{"n": 2}"#).send().await.unwrap();
    assert_eq!(fresh.status(), 200);
    let stale = stamped(now - 3600, br#"{"n": 3}"#).send().await.unwrap();
    assert_eq!(stale.status(), 401);
    let why = stale.text().await.unwrap();
    assert!(
        why.contains("more than the 120 s allowed") && why.contains("replayed"),
        "{why}"
    );
    let moved = stamped(now - 3600, br#"{"n": 4}"#)
        .header("x-timestamp", now.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 401);
    assert_eq!(delivered("stamped 2"), 1);
    assert_eq!(delivered("stamped 3") + delivered("stamped 4"), 0);
    a.stop().await;
    b.stop().await;
}
