//! `http` lookups of dynamic selects against a local upstream on 127.0.0.1: the typed text and
//! the dialog's values reach the service (percent-encoded), its JSON answer is mapped to
//! options through the declared pointers, a failing service gives an empty lookup answer (never
//! a 500 to Mattermost) and a field error on submit, and a value the service does not return is
//! refused.

use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::helpers::*;

type Seen = Arc<Mutex<Vec<Map<String, Value>>>>;

/// The upstream: `/search` lists the services whose name contains `q` (at most 2: an empty
/// query does not list them all), `/broken` answers 500, `/shape` answers an object.
async fn upstream() -> (String, Seen) {
    let seen: Seen = Arc::default();
    async fn search(
        State(seen): State<Seen>,
        Query(q): Query<Map<String, Value>>,
    ) -> axum::Json<Value> {
        let needle = q
            .get("q")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase();
        seen.lock().unwrap().push(q);
        let all = [(1, "API gateway"), (2, "Web front end"), (3, "Database")];
        let found: Vec<Value> = all
            .iter()
            .filter(|(id, name)| name.to_lowercase().contains(&needle) || id.to_string() == needle)
            .take(2)
            .map(|(id, name)| json!({"id": id, "name": name}))
            .collect();
        axum::Json(json!({"data": {"results": found}}))
    }
    async fn by_body(
        State(seen): State<Seen>,
        axum::Json(body): axum::Json<Value>,
    ) -> axum::Json<Value> {
        let q = body["q"].as_str().unwrap_or_default().to_owned();
        if let Value::Object(map) = body {
            seen.lock().unwrap().push(map);
        }
        axum::Json(json!([{"value": format!("echo:{q}")}]))
    }
    let app = axum::Router::new()
        .route("/search", get(search))
        .route("/echo", axum::routing::post(by_body))
        .route(
            "/broken",
            get(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "down") }),
        )
        .route(
            "/shape",
            get(|| async { axum::Json(json!({"data": {"results": "nope"}})) }),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr.to_string(), seen)
}

fn route(host: &str) -> String {
    format!(
        r#"
[command]
trigger = "svc"
[dialog]
title = "Service"
on_submit = "done"
[[dialog.elements]]
name = "env"
display_name = "Env"
type = "select"
options = [{{ text = "Prod", value = "prod" }}, {{ text = "Staging", value = "staging" }}]
[[dialog.elements]]
name = "service"
display_name = "Service"
type = "select"
data_source = "dynamic"
[dialog.elements.lookup.http]
url = "http://{host}/search?q={{{{ query }}}}&env={{{{ submission.env }}}}"
allowed_hosts = ["{host}"]
items = "/data/results"
value = "/id"
text = "/name"
[[dialog.elements]]
name = "broken"
display_name = "Broken"
type = "select"
data_source = "dynamic"
required = false
[dialog.elements.lookup.http]
url = "http://{host}/broken?q={{{{ query }}}}"
[[dialog.elements]]
name = "shape"
display_name = "Shape"
type = "select"
data_source = "dynamic"
required = false
[dialog.elements.lookup.http]
url = "http://{host}/shape"
items = "/data/results"
[[dialog.elements]]
name = "echo"
display_name = "Echo"
type = "select"
data_source = "dynamic"
required = false
[dialog.elements.lookup.http]
method = "POST"
url = "http://{host}/echo"
body = '{{{{ {{"q": query, "env": submission.env}} | tojson }}}}'
[[dialog.elements]]
name = "elsewhere"
display_name = "Elsewhere"
type = "select"
data_source = "dynamic"
required = false
[dialog.elements.lookup.http]
url = "http://{host}/search?q={{{{ query }}}}"
allowed_hosts = ["inventory.internal"]
[actions.done.reply]
visibility = "in_channel"
text = "Picked service {{{{ submission.service }}}} in {{{{ submission.env }}}}"
"#
    )
}

#[tokio::test]
async fn http_lookups_map_the_services_answer_and_check_submissions_against_it() {
    let (host, seen) = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("svc.toml"), route(&host)).unwrap();
    let (sim, app) = start(dir.path()).await;
    let world = sim.world();
    world
        .execute_command("alice", "main", "town-square", "/svc")
        .await
        .unwrap();
    let dialog = world.opened_dialogs().pop().unwrap();
    let lookup = |field: &'static str, query: &'static str| {
        let world = world.clone();
        let dialog = dialog.clone();
        async move {
            let mut values = Map::new();
            values.insert("env".into(), json!("prod & co"));
            world
                .lookup_dialog(
                    "alice",
                    "main",
                    "town-square",
                    &dialog,
                    field,
                    query,
                    values,
                )
                .await
                .unwrap_or_else(|e| panic!("{field}: the lookup failed for Mattermost: {e:?}"))
        }
    };

    // Mapped through the pointers; numbers become their text.
    let found = lookup("service", "data").await;
    assert_eq!(
        found,
        json!({"items": [{"text": "Database", "value": "3"}]}),
        "{found}"
    );
    // The typed text and the dialog's values arrive as single, decoded query values.
    let found = lookup("service", "a&q=web").await;
    assert_eq!(found, json!({"items": []}), "{found}");
    let asked = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(asked["q"], "a&q=web");
    assert_eq!(asked["env"], "prod & co");

    // POST with a JSON body built by `tojson`: quotes in the typed text stay data.
    let found = lookup("echo", "say \"hi\"").await;
    assert_eq!(
        found,
        json!({"items": [{"text": "echo:say \"hi\"", "value": "echo:say \"hi\""}]}),
        "{found}"
    );
    let asked = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(asked["env"], "prod & co");

    // A failing service, an answer of another shape, a host not allowed: no options, no 500.
    for field in ["broken", "shape", "elsewhere"] {
        assert_eq!(lookup(field, "x").await, json!({"items": []}), "{field}");
    }

    let submit = |values: Value| {
        let world = world.clone();
        let dialog = dialog.clone();
        async move {
            let Value::Object(map) = values else { panic!() };
            world
                .submit_dialog("alice", "main", "town-square", &dialog, map, false)
                .await
                .unwrap()
        }
    };
    // Not returned by the service: refused on the field.
    let answer = submit(json!({"env": "prod", "service": "99"})).await;
    assert_eq!(
        answer["errors"]["service"], "`99` is not one of the options offered.",
        "{answer}"
    );
    // A service that cannot confirm a value: the field says so.
    let answer = submit(json!({"env": "prod", "service": "1", "broken": "x"})).await;
    assert!(
        answer["errors"]["broken"]
            .as_str()
            .is_some_and(|m| m.contains("could not be checked")),
        "{answer}"
    );
    // "3" is not in the empty query's (first two) results: confirmed by asking for it.
    let answer = submit(json!({"env": "prod", "service": "3"})).await;
    assert_eq!(answer, json!({}), "{answer}");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while !world
        .posts_in("main", "town-square")
        .iter()
        .any(|p| p.message == "Picked service 3 in prod")
    {
        assert!(tokio::time::Instant::now() < deadline, "no reply posted");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    app.stop().await;
}

#[test]
fn a_lookup_takes_exactly_one_source_and_json_pointers() {
    let dir = tempfile::tempdir().unwrap();
    let routes = dir.path().join("routes");
    std::fs::create_dir(&routes).unwrap();
    let bad = route("127.0.0.1:9").replace(
        "items = \"/data/results\"\nvalue",
        "items = \"data.results\"\nvalue",
    );
    std::fs::write(routes.join("svc.toml"), bad).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("check")
        .current_dir(repo_root())
        .env("SWITCHBOARD_ROUTES__DIR", &routes)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("JSON Pointer"), "{stderr}");
}

/// A JSON array of `n` options, each about 40 bytes.
fn many_options(n: usize) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| format!("{{\"value\":\"v{i}\",\"text\":\"option number {i}\"}}"))
        .collect();
    format!("[{}]", items.join(","))
}

/// A lookup service answering megabytes (with a length, or streamed without one) is refused
/// after 1 MiB rather than buffered whole: the lookup lists nothing (logged) and a submitted
/// value gets the field's "could not be checked" — while an answer under the limit, with far
/// more options than are kept, still works.
#[tokio::test]
async fn a_lookup_answer_larger_than_the_limit_is_refused_not_buffered() {
    let big = many_options(40_000); // ~1.6 MB
    assert!(big.len() > 1024 * 1024);
    let streamed = big.clone();
    let app = axum::Router::new()
        .route("/huge", get(move || async move { big }))
        .route(
            "/endless",
            get(move || async move {
                let chunks: Vec<Result<Vec<u8>, std::io::Error>> = streamed
                    .into_bytes()
                    .chunks(16 * 1024)
                    .map(|c| Ok(c.to_vec()))
                    .collect();
                axum::body::Body::from_stream(futures::stream::iter(chunks))
            }),
        )
        .route("/fine", get(|| async { many_options(5_000) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let element = |name: &str| {
        format!(
            "[[dialog.elements]]\nname = \"{name}\"\ndisplay_name = \"{name}\"\ntype = \"select\"\n\
             data_source = \"dynamic\"\nrequired = false\n[dialog.elements.lookup.http]\n\
             url = \"http://{host}/{name}\"\n"
        )
    };
    let route = format!(
        "[command]\ntrigger = \"pick\"\n[dialog]\ntitle = \"Pick\"\n{}{}{}",
        element("huge"),
        element("endless"),
        element("fine")
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pick.toml"), route).unwrap();
    let (sim, app) = start(dir.path()).await;
    let world = sim.world();
    world
        .execute_command("alice", "main", "town-square", "/pick")
        .await
        .unwrap();
    let dialog = world.opened_dialogs().pop().unwrap();
    let lookup = |field: &'static str| {
        let world = world.clone();
        let dialog = dialog.clone();
        async move {
            world
                .lookup_dialog(
                    "alice",
                    "main",
                    "town-square",
                    &dialog,
                    field,
                    "",
                    Map::new(),
                )
                .await
                .unwrap_or_else(|e| panic!("{field}: the lookup failed for Mattermost: {e:?}"))
        }
    };
    for field in ["huge", "endless"] {
        assert_eq!(lookup(field).await, json!({"items": []}), "{field}");
    }
    let fine = lookup("fine").await;
    assert_eq!(fine["items"].as_array().unwrap().len(), 100, "{fine}");

    let mut values = Map::new();
    values.insert("endless".into(), json!("v1"));
    let answer = world
        .submit_dialog("alice", "main", "town-square", &dialog, values, false)
        .await
        .unwrap();
    assert!(
        answer["errors"]["endless"]
            .as_str()
            .is_some_and(|m| m.contains("could not be checked")),
        "{answer}"
    );
    app.stop().await;
}

/// A multiselect checked against a service confirms each chosen value its first answer does
/// not list with one request: a hand-made submission of hundreds of valid values (the service
/// here knows any `id-N`, listing two for an empty query) is refused after one request, not
/// turned into hundreds.
#[tokio::test]
async fn a_submission_cannot_make_a_lookup_ask_the_service_once_per_value() {
    let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = asked.clone();
    let ids = axum::Router::new().route(
        "/ids",
        get(move |Query(q): Query<Map<String, Value>>| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let q = q
                    .get("q")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let found = if q.is_empty() {
                    vec![json!({"value": "id-0"}), json!({"value": "id-1"})]
                } else if q.starts_with("id-") {
                    vec![json!({"value": q})]
                } else {
                    Vec::new()
                };
                axum::Json(Value::Array(found))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, ids).await.unwrap() });
    let route = format!(
        "[command]\ntrigger = \"many\"\n[dialog]\ntitle = \"Many\"\non_submit = \"done\"\n\
         [[dialog.elements]]\nname = \"services\"\ndisplay_name = \"Services\"\ntype = \"select\"\n\
         data_source = \"dynamic\"\nmultiselect = true\n[dialog.elements.lookup.http]\n\
         url = \"http://{host}/ids?q={{{{ query }}}}\"\n\
         [actions.done.reply]\nvisibility = \"in_channel\"\ntext = \"Got {{{{ submission.services | length }}}}\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("many.toml"), route).unwrap();
    let (sim, app) = start(dir.path()).await;
    let world = sim.world();
    world
        .execute_command("alice", "main", "town-square", "/many")
        .await
        .unwrap();
    let dialog = world.opened_dialogs().pop().unwrap();
    let submit = |values: Value| {
        let world = world.clone();
        let dialog = dialog.clone();
        async move {
            let Value::Object(map) = values else { panic!() };
            world
                .submit_dialog("alice", "main", "town-square", &dialog, map, false)
                .await
                .unwrap()
        }
    };
    let hostile: Vec<String> = (0..400).map(|i| format!("id-{i}")).collect();
    let answer = submit(json!({ "services": hostile })).await;
    assert!(
        answer["errors"]["services"]
            .as_str()
            .is_some_and(|m| m.starts_with("Too many values to check")),
        "{answer}"
    );
    let count = asked.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(count, 1, "only the empty query was asked, not {count}");
    // A few values outside the first answer are still confirmed one by one.
    let answer = submit(json!({ "services": ["id-0", "id-7", "id-9"] })).await;
    assert_eq!(answer, json!({}), "{answer}");
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1 + 3);
    app.stop().await;
}
