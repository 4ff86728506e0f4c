//! Editor support for route files: the committed JSON Schema is current, every shipped route
//! points at it with Taplo's `#:schema` directive, and the shipped routes are valid against it
//! (so an editor shows no false errors) while typos are flagged (so it catches real ones).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use switchboard::schema::{SCHEMA_DIRECTIVE, SCHEMA_FILE};

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn switchboard(args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn shipped_routes() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("routes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    files
}

fn committed_schema() -> Value {
    let text = std::fs::read_to_string(repo_root().join(SCHEMA_FILE)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft7::new(&committed_schema()).unwrap()
}

/// Schema errors for a TOML document, as `path: message` lines.
fn schema_errors(toml_text: &str) -> Vec<String> {
    let instance: Value = toml::from_str(toml_text).unwrap();
    validator()
        .iter_errors(&instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn schema_command_prints_the_committed_schema() {
    let output = switchboard(&["schema"], repo_root());
    assert!(output.status.success(), "{output:?}");
    let committed = std::fs::read_to_string(repo_root().join(SCHEMA_FILE)).unwrap();
    assert!(
        String::from_utf8_lossy(&output.stdout) == committed,
        "{SCHEMA_FILE} is stale: regenerate it with `cargo run -- schema > {SCHEMA_FILE}`"
    );
    // It is a valid draft 7 schema, with the doc comments as descriptions.
    let schema = committed_schema();
    assert!(jsonschema::meta::is_valid(&schema));
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(
        schema["definitions"]["ExecSpec"]["properties"]["timeout_secs"]["description"],
        "Seconds before the whole process group is killed."
    );
    assert_eq!(
        schema["definitions"]["ExecSpec"]["properties"]["timeout_secs"]["default"],
        300
    );
}

#[test]
fn schema_needs_no_configuration() {
    let empty = tempfile::tempdir().unwrap();
    let output = switchboard(&["schema"], empty.path());
    assert!(output.status.success(), "{output:?}");
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed, committed_schema());
}

#[test]
fn every_shipped_route_starts_with_the_schema_directive_and_still_checks() {
    for file in shipped_routes() {
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(
            text.lines().next(),
            Some(SCHEMA_DIRECTIVE),
            "{}: the first line must be Taplo's schema directive",
            file.display()
        );
        // The directive's relative path resolves, from the route file, to the schema.
        let target = file
            .parent()
            .unwrap()
            .join(SCHEMA_DIRECTIVE.trim_start_matches("#:schema "));
        assert!(target.is_file(), "{}", target.display());
    }
    let output = switchboard(&["check"], repo_root());
    assert!(
        output.status.success(),
        "check refused the shipped routes: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn shipped_routes_are_valid_against_the_schema() {
    for file in shipped_routes() {
        let errors = schema_errors(&std::fs::read_to_string(&file).unwrap());
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
    }
}

#[test]
fn the_schema_flags_what_the_loader_refuses() {
    for (route, expected) in [
        (
            "[command]\ntrigger = \"x\"\ntriger = \"y\"\n[reply]\ntext = \"hi\"\n",
            "triger",
        ),
        (
            "[command]\ntrigger = \"x\"\n[reply]\nvisibility = \"loud\"\n",
            "loud",
        ),
        (
            "[command]\ntrigger = \"x\"\n[exec]\nprogram = \"a\"\ntimeout_secs = \"soon\"\n",
            "soon",
        ),
        (
            "[command]\ntrigger = \"x\"\n[[args]]\nname = \"n\"\ntype = \"float\"\n[reply]\n",
            "float",
        ),
        (
            "[hook]\ntrigger_words = [\"x\"]\ntrigger_when = \"sometimes\"\n[reply]\n",
            "sometimes",
        ),
        ("[command]\n[reply]\n", "trigger"),
    ] {
        let errors = schema_errors(route);
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{route:?}: expected an error about {expected:?}, got {errors:#?}"
        );
    }
}
