//! `switchboard new`: for every kind, the built binary writes a route into a copy of the
//! shipped setup (config.toml + routes/), `switchboard check` accepts the result, and `dev`
//! runs what `new` says to try.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use std::io::{BufRead, BufReader, Write as _};
use std::time::Duration;

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn switchboard(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// A temporary copy of the repository's `config.toml` and `routes/` (scripts included).
fn copy_of_the_shipped_setup() -> tempfile::TempDir {
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).unwrap(); // keeps the mode bits
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo_root().join("config.toml"),
        dir.path().join("config.toml"),
    )
    .unwrap();
    copy_dir(&repo_root().join("routes"), &dir.path().join("routes"));
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const KINDS: [&str; 7] = [
    "command", "dialog", "buttons", "exec", "http", "hook", "post",
];

#[test]
fn new_writes_a_route_check_accepts_for_every_kind() {
    let setup = copy_of_the_shipped_setup();
    for kind in KINDS {
        let name = format!("my-{kind}");
        let output = switchboard(&["new", &name, "--kind", kind], setup.path());
        assert!(
            output.status.success(),
            "new --kind {kind}: {}",
            text(&output.stderr)
        );
        let stdout = text(&output.stdout);
        let file = setup.path().join("routes").join(format!("{name}.toml"));
        assert!(
            stdout.contains(&format!("wrote routes/{name}.toml")),
            "{stdout}"
        );
        assert!(stdout.contains("switchboard dev"), "{stdout}");
        let written = std::fs::read_to_string(&file).unwrap();
        assert!(written.starts_with("#:schema ../schema/route.schema.json\n"));
        assert!(
            written
                .lines()
                .filter(|l| l.trim_start().starts_with('#'))
                .count()
                >= 4,
            "{kind}: the file should explain itself:\n{written}"
        );
        if kind == "hook" {
            assert!(
                stdout.contains(&format!("{name} the build is red")),
                "{stdout}"
            );
        } else {
            assert!(stdout.contains(&format!("/{name}")), "{stdout}");
        }
        // `check` accepts the whole directory after each addition.
        let check = switchboard(&["check"], setup.path());
        assert!(
            check.status.success(),
            "check after new --kind {kind}:\n{}\n{written}",
            text(&check.stderr)
        );
    }
    assert!(
        setup.path().join("routes/scripts/my-exec.sh").is_file(),
        "the exec kind writes its script"
    );
}

#[test]
fn new_refuses_to_overwrite_and_refuses_bad_names() {
    let setup = copy_of_the_shipped_setup();
    let hello = setup.path().join("routes/hello.toml");
    let before = std::fs::read_to_string(&hello).unwrap();
    let output = switchboard(&["new", "hello", "--kind", "command"], setup.path());
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("already exists"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(std::fs::read_to_string(&hello).unwrap(), before);

    for bad in ["Hello", "../escape", "a b", "x.toml", "_hidden"] {
        let output = switchboard(&["new", bad, "--kind", "command"], setup.path());
        assert!(!output.status.success(), "{bad}");
        assert!(
            text(&output.stderr).contains("cannot name a route"),
            "{bad}: {}",
            text(&output.stderr)
        );
    }
    assert!(!setup.path().join("escape.toml").exists());

    let output = switchboard(&["new", "join"], setup.path());
    assert!(
        text(&output.stderr).contains("built-in"),
        "{}",
        text(&output.stderr)
    );

    // `/ask` belongs to the shipped forward.toml: the clash is reported on forward.toml (it
    // sorts after ask.toml), yet the new file is the one refused and removed.
    let output = switchboard(&["new", "ask", "--kind", "http"], setup.path());
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("`/ask` is already used"), "{stderr}");
    assert!(!setup.path().join("routes/ask.toml").exists());
    assert!(switchboard(&["check"], setup.path()).status.success());

    // A second hook on a trigger word already used would not pass `check`: nothing is kept.
    let output = switchboard(&["new", "oncall2", "--kind", "hook"], setup.path());
    assert!(output.status.success(), "{}", text(&output.stderr));
    std::fs::write(
        setup.path().join("routes/oncall2.toml"),
        std::fs::read_to_string(setup.path().join("routes/oncall2.toml"))
            .unwrap()
            .replace("[\"oncall2\"]", "[\"oncall\"]"),
    )
    .unwrap();
    let check = switchboard(&["check"], setup.path());
    assert!(!check.status.success(), "a clash must fail check");
    std::fs::remove_file(setup.path().join("routes/oncall2.toml")).unwrap();
    // An exec route whose script exists already is refused before anything is written.
    std::fs::write(setup.path().join("routes/scripts/taken.sh"), "#!/bin/sh\n").unwrap();
    let output = switchboard(&["new", "taken", "--kind", "exec"], setup.path());
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("already exists"));
    assert!(!setup.path().join("routes/taken.toml").exists());
}

#[test]
fn what_new_says_to_try_works_in_dev() {
    let setup = copy_of_the_shipped_setup();
    let cases = [
        ("greet", "command", "Hello, @alice! You said: hello"),
        ("report", "dialog", "filed **Printer on fire** (high)"),
        ("approve", "buttons", "approved by @alice"),
        ("greeter", "exec", "Hello, world, from alice"),
        ("ping", "hook", "said the build is red"),
        ("announce", "post", "📣 @alice: lunch is ready"),
        ("lookup", "http", "(only visible to you) 42"),
    ];
    // What each `new` prints to type in dev is what is typed.
    let mut inputs = Vec::new();
    for (name, kind, _) in cases {
        let output = switchboard(&["new", name, "--kind", kind], setup.path());
        assert!(output.status.success(), "{}", text(&output.stderr));
        let printed = text(&output.stdout);
        let input: String = printed
            .lines()
            .skip_while(|l| !l.contains("then type:"))
            .skip(1)
            .map_while(|l| l.strip_prefix("  "))
            .filter(|l| !l.starts_with('('))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(!input.is_empty(), "{name}: nothing to type in:\n{printed}");
        inputs.push(input);
    }
    // The http route's service, on an OS-picked port instead of the template's 9090.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let service = runtime.block_on(async {
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .and(wiremock::matchers::path("/lookup"))
            .and(wiremock::matchers::body_json(
                serde_json::json!({"user": "alice", "query": "anything"}),
            ))
            .respond_with(
                wiremock::ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"answer": "42"})),
            )
            .mount(&server)
            .await;
        server
    });
    let lookup = setup.path().join("routes/lookup.toml");
    let route = std::fs::read_to_string(&lookup).unwrap();
    assert!(route.contains("http://127.0.0.1:9090/lookup"), "{route}");
    std::fs::write(
        &lookup,
        route.replace("http://127.0.0.1:9090", &service.uri()),
    )
    .unwrap();
    for ((name, kind, expected), input) in cases.into_iter().zip(inputs) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("dev")
            .current_dir(setup.path())
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
        // Input stays open until the answer shows (hooks answer asynchronously), at most 20 s.
        let (seen_tx, seen_rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                all.push_str(&line);
                all.push('\n');
                if all.contains(expected) {
                    let _ = seen_tx.send(());
                }
            }
            all
        });
        let _ = seen_rx.recv_timeout(Duration::from_secs(20));
        drop(stdin);
        let status = child.wait().unwrap();
        let stdout = reader.join().unwrap();
        assert!(status.success(), "{name}: dev exited with {status}");
        assert!(
            stdout.contains(expected),
            "{name} ({kind}): expected {expected:?} in:\n{stdout}"
        );
    }
}
