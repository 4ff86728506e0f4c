//! The manual (`docs/`, an mdBook) checked against the code, so it cannot drift:
//!
//! - every key and enum value of `schema/route.schema.json` is documented in its section of
//!   the route-keys page, and every dialog element type has a row in the dialogs page's table;
//! - every metric `src/metrics.rs` registers is on the metrics page;
//! - every template variable `switchboard check` knows (per trigger kind) is in its section
//!   of the templates page, and every filter and function the template environment registers
//!   is there too (minijinja's built-ins the page lists really exist);
//! - every setting of the shipped `config.toml` is on the configuration page;
//! - every ```toml block of every page (and of the README) is a complete route that the built `switchboard check`
//!   accepts (run on a copy of the shipped `config.toml` and `routes/` with the snippet
//!   added), an `{{#include}}` of a shipped file, or marked ```toml,fragment (skipped);
//! - the getting-started walkthrough runs as written (`switchboard test`).
//!
//! Each checker is also run on a page with one documented item removed, and must report it:
//! a check that cannot fail is worth nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: impl AsRef<Path>) -> String {
    let path = root().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text after each `<!-- {marker}: NAME -->` up to the next such marker or `## ` heading
/// (`### ` subheadings stay inside), by NAME.
fn sections(page: &str, marker: &str) -> BTreeMap<String, String> {
    let open = format!("<!-- {marker}: ");
    let mut out = BTreeMap::new();
    let mut rest = page;
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        let Some(end) = after.find(" -->") else { break };
        let name = after[..end].to_owned();
        let body = &after[end..];
        let stop = [body.find(&open), body.find("\n## "), body.find("\n### ")]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(body.len());
        out.insert(name, body[..stop].to_owned());
        rest = &body[stop..];
    }
    out
}

/// `name` as the pages write a key or value: in backticks.
fn mentions(text: &str, name: &str) -> bool {
    text.contains(&format!("`{name}`"))
}

// ---------------------------------------------------------------------------------------------
// (a) The route schema: every property of every object, every enum value.

/// Every `(definition, key)` of the schema missing from its section of `keys_page`.
fn undocumented_schema_keys(schema: &Value, keys_page: &str) -> Vec<String> {
    let found = sections(keys_page, "schema");
    let mut missing = Vec::new();
    let mut objects: Vec<(String, &Value)> = vec![("#root".to_owned(), schema)];
    if let Some(defs) = schema["definitions"].as_object() {
        objects.extend(defs.iter().map(|(name, def)| (name.clone(), def)));
    }
    for (name, def) in objects {
        let Some(section) = found.get(&name) else {
            missing.push(format!("{name}: no `<!-- schema: {name} -->` section"));
            continue;
        };
        for key in def["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|p| p.0)
        {
            if !mentions(section, key) {
                missing.push(format!("{name}.{key}"));
            }
        }
        for value in def["oneOf"].as_array().into_iter().flatten() {
            let value = value["const"].as_str().unwrap_or_default();
            if !mentions(section, &format!("\"{value}\"")) {
                missing.push(format!("{name} = \"{value}\""));
            }
        }
    }
    missing
}

#[test]
fn every_key_and_value_of_the_route_schema_is_in_the_reference() {
    let schema: Value = serde_json::from_str(&read("schema/route.schema.json")).unwrap();
    let page = read("docs/src/reference/keys.md");
    let missing = undocumented_schema_keys(&schema, &page);
    assert!(
        missing.is_empty(),
        "not in docs/src/reference/keys.md (regenerate it: \
         python3 docs/gen_keys.py > docs/src/reference/keys.md): {missing:?}"
    );

    // Negative controls: a key row and an enum value removed are both reported.
    let without_key: String = page
        .lines()
        .filter(|l| !l.starts_with("| `token_env` |"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        undocumented_schema_keys(&schema, &without_key),
        vec!["CommandSpec.token_env".to_owned()]
    );
    let without_value = page.replacen("| `\"in_channel\"` |", "| in_channel |", 1);
    assert_eq!(
        undocumented_schema_keys(&schema, &without_value),
        vec!["Visibility = \"in_channel\"".to_owned()]
    );
}

/// Element types of the route schema with no row in the Elements table of `dialogs_page`.
fn element_types_missing_from_the_table(schema: &Value, dialogs_page: &str) -> Vec<String> {
    let table: Vec<&str> = dialogs_page
        .split("## Elements")
        .nth(1)
        .unwrap_or_default()
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .collect();
    schema["definitions"]["ElementType"]["oneOf"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["const"].as_str())
        .filter(|t| {
            !table
                .iter()
                .any(|row| row.starts_with(&format!("| `{t}` |")))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_dialog_element_type_has_a_row_in_the_elements_table() {
    let schema: Value = serde_json::from_str(&read("schema/route.schema.json")).unwrap();
    let page = read("docs/src/reference/dialogs.md");
    let missing = element_types_missing_from_the_table(&schema, &page);
    assert!(
        missing.is_empty(),
        "no row in the Elements table of docs/src/reference/dialogs.md: {missing:?}"
    );
    // Negative control: a row removed is reported.
    let without_file: String = page
        .lines()
        .filter(|l| !l.starts_with("| `file` |"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        element_types_missing_from_the_table(&schema, &without_file),
        vec!["file".to_owned()]
    );
}

// ---------------------------------------------------------------------------------------------
// (b) Metrics.

/// Every metric name declared in `src/metrics.rs`.
fn registered_metrics() -> Vec<String> {
    let source = read("src/metrics.rs");
    let name = Regex::new(r#"pub const [A-Z_]+: &str = "(switchboard_[a-z_]+)";"#).unwrap();
    let found: Vec<String> = name
        .captures_iter(&source)
        .map(|c| c[1].to_owned())
        .collect();
    // Every series the file emits goes through one of these constants.
    let literal = Regex::new(r#""(switchboard_[a-z_]+)""#).unwrap();
    for c in literal.captures_iter(&source) {
        assert!(
            found.contains(&c[1].to_owned()),
            "{} is not a pub const",
            &c[1]
        );
    }
    found
}

fn undocumented_metrics(page: &str) -> Vec<String> {
    registered_metrics()
        .into_iter()
        .filter(|m| !mentions(page, m))
        .collect()
}

#[test]
fn every_metric_is_on_the_operations_page() {
    let metrics = registered_metrics();
    assert!(metrics.len() >= 15, "found only {metrics:?}");
    let page = read("docs/src/operations/metrics.md");
    let missing = undocumented_metrics(&page);
    assert!(
        missing.is_empty(),
        "not in docs/src/operations/metrics.md: {missing:?}"
    );

    let without = page.replace("`switchboard_reloads_total`", "reloads");
    assert_eq!(
        undocumented_metrics(&without),
        vec!["switchboard_reloads_total".to_owned()]
    );
}

// ---------------------------------------------------------------------------------------------
// (c) Template variables per trigger kind, and (d) filters and functions.

fn undocumented_variables(page: &str) -> Vec<String> {
    let found = sections(page, "variables");
    let mut missing = Vec::new();
    for (provider, variables) in switchboard::integrations::TEMPLATE_VARIABLES {
        let Some(section) = found.get(*provider) else {
            missing.push(format!("no `<!-- variables: {provider} -->` section"));
            continue;
        };
        for variable in *variables {
            if !mentions(section, variable) {
                missing.push(format!("{provider}: {variable}"));
            }
        }
    }
    missing
}

#[test]
fn every_template_variable_of_every_trigger_is_in_the_reference() {
    let page = read("docs/src/reference/templates.md");
    let missing = undocumented_variables(&page);
    assert!(
        missing.is_empty(),
        "not in docs/src/reference/templates.md: {missing:?}"
    );

    let without = page.replace("`tick.timestamp`", "the timestamp");
    assert_eq!(
        undocumented_variables(&without),
        vec!["[schedule]: tick.timestamp".to_owned()]
    );
}

/// Every name passed to `add_filter`, `add_function`, `add_global` or `add_test` in `src/`.
fn registered_template_names() -> Vec<String> {
    let call = Regex::new(r#"\.add_(?:filter|function|global|test)\(\s*"([^"]+)""#).unwrap();
    let mut names = Vec::new();
    let mut dirs = vec![root().join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let source = std::fs::read_to_string(&path).unwrap();
                names.extend(call.captures_iter(&source).map(|c| c[1].to_owned()));
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

fn undocumented_template_names(page: &str) -> Vec<String> {
    let ours = sections(page, "template")
        .remove("ours")
        .unwrap_or_default();
    registered_template_names()
        .into_iter()
        .filter(|name| !mentions(&ours, name) && !ours.contains(&format!("`{name}(")))
        .collect()
}

/// Whether a template can call `name` as a filter: minijinja reports an unknown filter as
/// such, whatever the arguments.
fn is_filter(name: &str) -> bool {
    let template =
        switchboard::integrations::Template::compile("t", &format!("{{{{ x | {name} }}}}"));
    let error = match template {
        Err(e) => e.message,
        Ok(t) => match t.render(&serde_json::json!({"x": [1, 2]})) {
            Ok(_) => return true,
            Err(e) => e.message,
        },
    };
    !error.contains("unknown filter")
}

#[test]
fn every_filter_and_function_is_in_the_reference() {
    let registered = registered_template_names();
    for ours in ["urlencode", "mentions", "vote", "tally"] {
        assert!(registered.contains(&ours.to_owned()), "{registered:?}");
    }
    let page = read("docs/src/reference/templates.md");
    let missing = undocumented_template_names(&page);
    assert!(
        missing.is_empty(),
        "registered in the template environment but not in the \"ours\" section of \
         docs/src/reference/templates.md: {missing:?}"
    );
    let without = page.replace("`tally", "tally");
    assert_eq!(
        undocumented_template_names(&without),
        vec!["tally".to_owned()]
    );

    // minijinja's built-ins the page lists exist (a misspelt or removed one is caught).
    let listed = sections(&page, "template");
    let builtins = listed
        .get("minijinja filters")
        .expect("the built-in filters section");
    let name = Regex::new(r"`([a-z_]+)`").unwrap();
    let filters: Vec<&str> = name
        .captures_iter(builtins)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    assert!(filters.len() > 40, "{filters:?}");
    let unknown: Vec<&&str> = filters.iter().filter(|f| !is_filter(f)).collect();
    assert!(unknown.is_empty(), "listed but not filters: {unknown:?}");
    assert!(
        !is_filter("no_such_filter"),
        "the probe must be able to fail"
    );
}

// ---------------------------------------------------------------------------------------------
// Settings.

/// `(section, key)` of every setting in the shipped `config.toml`, commented-out examples
/// included.
fn shipped_settings() -> Vec<(String, String)> {
    let header = Regex::new(r"^\[([a-z_]+)\]$").unwrap();
    let setting = Regex::new(r"^#?\s?([a-z_]+) = ").unwrap();
    let mut section = String::new();
    let mut out = Vec::new();
    for line in read("config.toml").lines() {
        if let Some(c) = header.captures(line) {
            section = c[1].to_owned();
        } else if let Some(c) = setting.captures(line) {
            out.push((section.clone(), c[1].to_owned()));
        }
    }
    out
}

fn undocumented_settings(page: &str) -> Vec<String> {
    let mut missing = Vec::new();
    for (section, key) in shipped_settings() {
        let heading = format!("### `[{section}]`");
        let Some(at) = page.find(&heading) else {
            missing.push(format!("[{section}] (no section)"));
            continue;
        };
        let body = &page[at + heading.len()..];
        let body = &body[..body.find("\n#").unwrap_or(body.len())];
        if !body.contains(&format!("| `{key}` |")) {
            missing.push(format!("[{section}] {key}"));
        }
    }
    missing
}

#[test]
fn every_setting_of_config_toml_is_on_the_configuration_page() {
    let settings = shipped_settings();
    assert!(settings.len() >= 25, "{settings:?}");
    let page = read("docs/src/operations/configuration.md");
    let missing = undocumented_settings(&page);
    assert!(
        missing.is_empty(),
        "not in docs/src/operations/configuration.md: {missing:?}"
    );
    let without = page.replace("| `action_inline_ms` |", "| action_inline_ms |");
    assert_eq!(
        undocumented_settings(&without),
        vec!["[callbacks] action_inline_ms".to_owned()]
    );
}

/// Each built-in default (`switchboard::config::DEFAULTS`) whose row on the configuration page
/// gives another default, as `[section] key: documented, built in`.
fn wrong_defaults(page: &str) -> Vec<String> {
    let defaults: toml::Table = switchboard::config::DEFAULTS.parse().unwrap();
    let mut wrong = Vec::new();
    for (section, table) in &defaults {
        let heading = format!("### `[{section}]`");
        let at = page.find(&heading).unwrap_or(0);
        let body = &page[at..];
        let body = &body[heading.len().min(body.len())..];
        let body = &body[..body.find("\n#").unwrap_or(body.len())];
        for (key, value) in table.as_table().unwrap() {
            let built_in = match value {
                toml::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            let row = format!("| `{key}` | ");
            let documented = body
                .lines()
                .find_map(|line| line.strip_prefix(&row))
                .and_then(|rest| rest.split(" |").next())
                .unwrap_or("(no row)");
            if !documented.starts_with(&format!("`{built_in}`")) {
                wrong.push(format!(
                    "[{section}] {key}: {documented}, built in `{built_in}`"
                ));
            }
        }
    }
    wrong
}

#[test]
fn the_configuration_page_gives_the_built_in_defaults() {
    // The defaults are what an environment-only setup (no config.toml) gets.
    let page = read("docs/src/operations/configuration.md");
    let wrong = wrong_defaults(&page);
    assert!(
        wrong.is_empty(),
        "defaults in docs/src/operations/configuration.md differ from the code: {wrong:?}"
    );
    let changed = page.replace("| `budget_ms` | `2500` |", "| `budget_ms` | `3000` |");
    assert_eq!(
        wrong_defaults(&changed),
        vec!["[callbacks] budget_ms: `3000`, built in `2500`".to_owned()]
    );
}

// ---------------------------------------------------------------------------------------------
// (e) Every TOML example is a route `switchboard check` accepts.

/// A fenced code block of a page.
#[derive(Debug)]
struct Block {
    page: PathBuf,
    line: usize,
    info: String,
    body: String,
}

/// The manual's pages, and the README (its short path has route examples too).
fn pages() -> Vec<PathBuf> {
    let mut out = vec![root().join("README.md")];
    let mut dirs = vec![root().join("docs/src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn blocks(page: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(page).unwrap();
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start();
        match open.take() {
            None if fence.starts_with("```") => {
                open = Some(Block {
                    page: page.to_owned(),
                    line: i + 1,
                    info: fence.trim_start_matches('`').trim().to_owned(),
                    body: String::new(),
                });
            }
            None => {}
            Some(block) if fence == "```" => out.push(block),
            Some(mut block) => {
                block.body.push_str(line);
                block.body.push('\n');
                open = Some(block);
            }
        }
    }
    assert!(
        open.is_none(),
        "{}: a code block is not closed",
        page.display()
    );
    out
}

/// What a ```toml block is.
#[derive(Debug, PartialEq)]
enum TomlBlock {
    /// Marked ```toml,fragment: part of a file, not checked on its own.
    Fragment,
    /// `{{#include path}}` of a file (relative to the page).
    Include(PathBuf),
    /// A whole route file.
    Route,
}

fn classify(block: &Block) -> Option<TomlBlock> {
    let mut words = block.info.split(',').map(str::trim);
    if words.next() != Some("toml") {
        return None;
    }
    if words.any(|w| w == "fragment") {
        return Some(TomlBlock::Fragment);
    }
    let body = block.body.trim();
    if let Some(path) = body
        .strip_prefix("{{#include ")
        .and_then(|p| p.strip_suffix("}}"))
    {
        return Some(TomlBlock::Include(
            block.page.parent().unwrap().join(path.trim()),
        ));
    }
    Some(TomlBlock::Route)
}

/// Copies `from` into `to` recursively, keeping file modes (exec programs stay executable).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The slash-command trigger a route file declares, if any.
fn trigger_of(route: &str) -> Option<String> {
    let value: toml::Value = toml::from_str(route).ok()?;
    Some(value.get("command")?.get("trigger")?.as_str()?.to_owned())
}

/// Runs the built `switchboard check` on the shipped `config.toml` and `routes/` with `route`
/// added as `routes/<name>.toml`; `Err` holds what it printed when it refused. A shortened
/// copy of a shipped route (same slash command) takes that route's place instead.
fn check_with(name: &str, route: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("config.toml"), dir.path().join("config.toml")).unwrap();
    let routes = dir.path().join("routes");
    copy_dir(&root().join("routes"), &routes);
    let mut file = routes.join(format!("{name}.toml"));
    if let Some(trigger) = trigger_of(route) {
        for entry in std::fs::read_dir(&routes).unwrap() {
            let shipped = entry.unwrap().path();
            if shipped.extension().is_some_and(|e| e == "toml")
                && trigger_of(&std::fs::read_to_string(&shipped).unwrap()).as_ref()
                    == Some(&trigger)
            {
                file = shipped;
            }
        }
    }
    std::fs::write(file, route).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("check")
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

#[test]
fn every_toml_example_in_the_manual_is_a_route_check_accepts() {
    let mut routes = 0;
    let mut includes = 0;
    let mut fragments = 0;
    let mut failures = Vec::new();
    for page in pages() {
        for block in blocks(&page) {
            let at = format!(
                "{}:{}",
                block.page.strip_prefix(root()).unwrap().display(),
                block.line
            );
            match classify(&block) {
                None => {}
                Some(TomlBlock::Fragment) => fragments += 1,
                Some(TomlBlock::Include(path)) => {
                    includes += 1;
                    // A shipped file: loaded and exercised by the other tests.
                    if !path.is_file() {
                        failures.push(format!(
                            "{at}: includes {}, which is missing",
                            path.display()
                        ));
                    }
                }
                Some(TomlBlock::Route) => {
                    routes += 1;
                    if let Err(report) =
                        check_with(&format!("manual_example_{routes}"), &block.body)
                    {
                        failures.push(format!(
                            "{at}: `switchboard check` refuses it (mark a part of a file \
                             ```toml,fragment):\n{report}"
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The cookbook's recipes and the reference's examples; the shipped routes included.
    assert!(routes >= 8, "only {routes} complete routes");
    assert!(includes >= 8, "only {includes} includes");
    assert!(fragments >= 5, "only {fragments} fragments");

    // Negative control: the same check refuses a route with an unknown key.
    let broken = "[command]\ntrigger = \"broken\"\n[reply]\ntext = \"x\"\ncolour = \"red\"\n";
    let report = check_with("broken", broken).expect_err("an unknown key must be refused");
    assert!(report.contains("colour"), "{report}");
}

/// The channels of `dev`'s simulated Mattermost (src/sim/mod.rs), where a reader tries an
/// example first.
const DEV_CHANNELS: [&str; 3] = ["town-square", "off-topic", "leads"];

/// `page:line: channel` for every literal `channel = "…"` in `blocks` that `dev` does not
/// have (`here` and templates are fine).
fn channels_missing_in_dev(blocks: &[Block]) -> Vec<String> {
    let channel = Regex::new(r#"(?m)^\s*channel\s*=\s*"([^"]*)""#).unwrap();
    let mut missing = Vec::new();
    for block in blocks.iter().filter(|b| b.info.starts_with("toml")) {
        for found in channel.captures_iter(&block.body) {
            let name = &found[1];
            if name != "here" && !name.contains("{{") && !DEV_CHANNELS.contains(&name) {
                missing.push(format!("{}:{}: {name}", block.page.display(), block.line));
            }
        }
    }
    missing
}

#[test]
fn every_channel_an_example_posts_to_exists_in_dev() {
    let blocks: Vec<Block> = pages().iter().flat_map(|p| blocks(p)).collect();
    let missing = channels_missing_in_dev(&blocks);
    assert!(
        missing.is_empty(),
        "examples post to channels `switchboard dev` does not have ({DEV_CHANNELS:?}), so \
         trying them fails: {missing:?}"
    );
    // Negative control.
    let wrong = Block {
        page: PathBuf::from("x.md"),
        line: 3,
        info: "toml".into(),
        body: "[schedule]\nchannel = \"standup\"\n".into(),
    };
    assert_eq!(channels_missing_in_dev(&[wrong]), vec!["x.md:3: standup"]);
}

#[test]
fn the_manual_includes_only_files_that_exist() {
    let include = Regex::new(r"\{\{#include ([^}]+)\}\}").unwrap();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for c in include.captures_iter(&text) {
            let path = page.parent().unwrap().join(c[1].trim());
            assert!(path.is_file(), "{}: {}", page.display(), path.display());
        }
    }
}

/// GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces as `-`.
fn github_anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Relative links of the README (into the manual, mostly) that name no file, or a heading the
/// file does not have.
fn broken_readme_links(readme: &str) -> Vec<String> {
    let link = Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let mut broken = Vec::new();
    for c in link.captures_iter(readme) {
        let target = &c[1];
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
        if path.is_empty() {
            continue; // an anchor in the README itself: GitHub's concern, not the manual's
        }
        let Ok(text) = std::fs::read_to_string(root().join(path)) else {
            broken.push(format!("{target}: no such file"));
            continue;
        };
        if !anchor.is_empty()
            && !text
                .lines()
                .filter_map(|l| l.strip_prefix('#'))
                .any(|h| github_anchor(h.trim_start_matches('#')) == anchor)
        {
            broken.push(format!("{target}: no such heading"));
        }
    }
    broken
}

#[test]
fn the_readme_links_into_the_manual() {
    let readme = read("README.md");
    assert!(
        readme.matches("](docs/src/").count() >= 15,
        "the README links into the manual"
    );
    let broken = broken_readme_links(&readme);
    assert!(broken.is_empty(), "README.md: {broken:?}");
    let with_broken = readme.replacen(
        "getting-started.md#run-against-a-real-mattermost",
        "getting-started.md#run-against-mattermost",
        1,
    );
    assert_eq!(
        broken_readme_links(&with_broken),
        vec!["docs/src/getting-started.md#run-against-mattermost: no such heading".to_owned()]
    );
}

// ---------------------------------------------------------------------------------------------
// Sessions: the getting-started walkthrough and the cookbook's recipes, run as written.

/// The name a page gives the route of the code block starting at `line` (1-based): the last
/// `` `routes/<name>.toml` `` written before it.
fn route_name(page: &str, line: usize) -> Option<String> {
    let name = Regex::new(r"`routes/([a-z0-9_-]+)\.toml`").unwrap();
    let before: Vec<&str> = page.lines().take(line - 1).collect();
    before
        .iter()
        .rev()
        .find_map(|l| name.captures_iter(l).last().map(|c| c[1].to_owned()))
}

/// Runs `switchboard test <page>` in a copy of the shipped `config.toml` and `routes/` with the
/// page's own routes added under the names it gives them.
fn run_sessions(page: &Path) -> (bool, String) {
    let text = std::fs::read_to_string(page).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("config.toml"), dir.path().join("config.toml")).unwrap();
    let routes = dir.path().join("routes");
    copy_dir(&root().join("routes"), &routes);
    for block in blocks(page) {
        if classify(&block) == Some(TomlBlock::Route) {
            let name = route_name(&text, block.line).unwrap_or_else(|| {
                panic!(
                    "{}:{}: no `routes/<name>.toml` before the route",
                    page.display(),
                    block.line
                )
            });
            std::fs::write(routes.join(format!("{name}.toml")), &block.body).unwrap();
        }
    }
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("test")
        .arg(page)
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// Whether a page has a session of its own (a ```text block with a prompt, not an include).
fn has_session(page: &Path) -> bool {
    blocks(page).iter().any(|b| {
        b.info == "text" && !b.body.trim_start().starts_with("{{#include") && b.body.contains("> ")
    })
}

#[test]
fn the_cookbook_sessions_run_as_written() {
    let mut ran = Vec::new();
    for page in pages() {
        if !page.starts_with(root().join("docs/src/cookbook")) || !has_session(&page) {
            continue;
        }
        let (ok, output) = run_sessions(&page);
        assert!(ok, "{}:\n{output}", page.display());
        ran.push(page.file_name().unwrap().to_string_lossy().into_owned());
    }
    ran.sort();
    assert_eq!(ran, ["approval.md", "standup.md"]);

    // Negative control: a session whose expected line is wrong fails.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("standup.md");
    let text = std::fs::read_to_string(root().join("docs/src/cookbook/standup.md")).unwrap();
    std::fs::write(
        &page,
        text.replace("**Blockers:** none", "**Blockers:** many"),
    )
    .unwrap();
    let (ok, output) = run_sessions(&page);
    assert!(!ok, "{output}");
}

#[test]
fn the_getting_started_walkthrough_runs_as_written() {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["test", "docs/src/getting-started.md"])
        .current_dir(root())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("ok   docs/src/getting-started.md"),
        "{stdout}"
    );
}
