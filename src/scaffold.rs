//! `switchboard new <name> --kind …`: writes a commented, working route file to start from.
//!
//! Each kind is a small template of the route language with the name filled in. The written
//! file starts with the `#:schema` directive (editor completion), is loaded by the same loader
//! as `check` right after writing, and is removed again if that load reports any problem that
//! was not there before (a trigger another route already uses is reported on whichever file
//! sorts second), so what stays on disk is a route `check` accepts. Nothing is ever
//! overwritten.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::Settings;
use crate::integrations::{self, BUILT_IN_TRIGGERS};
use crate::schema::SCHEMA_DIRECTIVE;

/// Arguments of `switchboard new`.
#[derive(Debug, Clone, clap::Args)]
pub struct NewArgs {
    /// The route's name: the file `routes/<name>.toml`, its callback paths and (for command
    /// kinds) its slash command `/<name>`. Lower-case letters, digits, `-` and `_`.
    pub name: String,
    /// What the route does.
    #[arg(long, value_enum, default_value_t = Kind::Command)]
    pub kind: Kind,
}

/// The kinds of route `switchboard new` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// A slash command answered with a template.
    Command,
    /// A slash command that opens a dialog; the submission runs a follow-up action.
    Dialog,
    /// A message with buttons; a click updates the message.
    Buttons,
    /// A slash command that runs a local program (a script written beside the route) and
    /// streams its output into a thread.
    Exec,
    /// A slash command that forwards to another HTTP service and renders its answer.
    Http,
    /// An outgoing-webhook trigger word in ordinary messages.
    Hook,
    /// A slash command that posts a message to another channel.
    Post,
}

impl Kind {
    /// Every kind, for tests and help.
    pub const ALL: [Kind; 7] = [
        Kind::Command,
        Kind::Dialog,
        Kind::Buttons,
        Kind::Exec,
        Kind::Http,
        Kind::Hook,
        Kind::Post,
    ];
}

/// Why a route could not be written.
#[derive(Debug, thiserror::Error)]
pub enum NewError {
    /// The name cannot name a route.
    #[error(
        "`{0}` cannot name a route: use 1 to 64 lower-case letters, digits, `-` or `_`, starting with a letter or digit"
    )]
    InvalidName(String),
    /// The name is a Mattermost built-in command.
    #[error("`/{0}` is a Mattermost built-in command; choose another name")]
    BuiltIn(String),
    /// A file is in the way.
    #[error("{} already exists; not overwriting it (choose another name or remove it)", .0.display())]
    Exists(PathBuf),
    /// Writing failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The loader refused the new route (it was removed again).
    #[error("the new route was not kept because `check` would refuse it:\n{0}")]
    Refused(String),
}

/// What `new` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The route file.
    pub route: PathBuf,
    /// A script written for it (exec routes).
    pub script: Option<PathBuf>,
    /// What to try in `switchboard dev`.
    pub try_in_dev: Vec<String>,
}

/// Runs `switchboard new` against the configured routes directory.
pub fn run(settings: &Settings, args: &NewArgs) -> ExitCode {
    match write_route(&settings.routes.dir, &args.name, args.kind) {
        Ok(written) => {
            println!("wrote {}", written.route.display());
            if let Some(script) = &written.script {
                println!("wrote {}", script.display());
            }
            println!("\nTry it: run `switchboard dev`, then type:");
            for line in &written.try_in_dev {
                println!("  {line}");
            }
            println!(
                "\nEdit the file (editors that read `#:schema` complete and check its keys); \
                 `switchboard check` validates it."
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Checks that `name` can name a route and a slash command.
pub fn validate_name(name: &str) -> Result<(), NewError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid {
        return Err(NewError::InvalidName(name.to_owned()));
    }
    if BUILT_IN_TRIGGERS.contains(&name) {
        return Err(NewError::BuiltIn(name.to_owned()));
    }
    Ok(())
}

/// Writes `<dir>/<name>.toml` (and, for exec, `<dir>/scripts/<name>.sh`), then loads the
/// directory as `check` does; a refused route is removed again.
pub fn write_route(dir: &Path, name: &str, kind: Kind) -> Result<Written, NewError> {
    validate_name(name)?;
    let route = dir.join(format!("{name}.toml"));
    let script = (kind == Kind::Exec).then(|| dir.join("scripts").join(format!("{name}.sh")));
    for path in std::iter::once(&route).chain(script.as_ref()) {
        if path.exists() {
            return Err(NewError::Exists(path.clone()));
        }
    }
    if !dir.is_dir() {
        return Err(NewError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the routes directory does not exist (set [routes] dir)",
            ),
        });
    }
    // Problems already there are not the new route's fault; only new ones refuse it (a
    // clash is reported on whichever file sorts second, which may be an existing one).
    let before = problem_lines(dir);
    if let Some(script) = &script {
        write_new(script, &script_text(name), true)?;
    }
    if let Err(e) = write_new(&route, &route_text(name, kind), false) {
        remove(script.as_deref());
        return Err(e);
    }
    let added: Vec<String> = problem_lines(dir)
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    if !added.is_empty() {
        remove(Some(&route));
        remove(script.as_deref());
        return Err(NewError::Refused(added.join("\n")));
    }
    Ok(Written {
        route,
        script,
        try_in_dev: try_in_dev(name, kind),
    })
}

/// Every problem `check` reports for the directory, as printed.
fn problem_lines(dir: &Path) -> Vec<String> {
    match integrations::load_dir(dir) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.iter().map(ToString::to_string).collect(),
    }
}

fn remove(path: Option<&Path>) {
    if let Some(path) = path {
        let _ = std::fs::remove_file(path);
    }
}

/// Creates `path` (never replacing a file: `create_new`), executable when asked.
fn write_new(path: &Path, text: &str, executable: bool) -> Result<(), NewError> {
    let io = |source| NewError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if executable { 0o755 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = executable;
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            NewError::Exists(path.to_path_buf())
        } else {
            io(e)
        }
    })?;
    file.write_all(text.as_bytes()).map_err(io)
}

/// The lines to type in `switchboard dev`.
fn try_in_dev(name: &str, kind: Kind) -> Vec<String> {
    match kind {
        Kind::Command => vec![format!("/{name} hello")],
        Kind::Dialog => vec![
            format!("/{name}"),
            "!submit summary=\"Printer on fire\" priority=high".to_owned(),
        ],
        Kind::Buttons => vec![format!("/{name} Ship it?"), "!click Approve".to_owned()],
        Kind::Exec => vec![format!("/{name} world")],
        Kind::Http => vec![
            format!("/{name} anything"),
            "(without a service on 127.0.0.1:9090 you see how an unreachable service is reported)"
                .to_owned(),
        ],
        Kind::Hook => vec![format!("{name} the build is red")],
        Kind::Post => vec![format!("/{name} lunch is ready")],
    }
}

/// The route file for `kind`, named `name`.
pub fn route_text(name: &str, kind: Kind) -> String {
    let mut text = format!("{SCHEMA_DIRECTIVE}\n");
    let body = match kind {
        Kind::Command => COMMAND,
        Kind::Dialog => DIALOG,
        Kind::Buttons => BUTTONS,
        Kind::Exec => EXEC,
        Kind::Http => HTTP,
        Kind::Hook => HOOK,
        Kind::Post => POST,
    };
    let _ = write!(text, "{}", body.replace("%NAME%", name));
    text
}

fn script_text(name: &str) -> String {
    SCRIPT.replace("%NAME%", name)
}

const COMMAND: &str = r#"# /%NAME% — a slash command answered with a template (written by `switchboard new`).
#
# The route's name is the file name: Mattermost calls <public_url>/commands/%NAME%.
# Templates (minijinja) see `user`, `channel`, `team` (each with `id` and `name`), `text`,
# `args.<name>`, `command`, `root_id`. What the user types is data, never template code.
description = "Answers /%NAME% with a greeting."

[command]
trigger = "%NAME%"                 # typed as /%NAME%; lower case, no spaces
display_name = "%NAME%"
description = "Says hello"       # shown in autocomplete
# The autocomplete hint is generated from [[args]]: `[text]`.

[[args]]
name = "text"                    # `args.text` in templates
rest = true                      # takes the rest of the line, spaces and all
help = "what to repeat"

[reply]
visibility = "ephemeral"         # only the user sees it; "in_channel" shows everyone
text = """
Hello, @{{ user.name }}!{% if args.text %} You said: {{ args.text }}{% endif %}"""
"#;

const DIALOG: &str = r#"# /%NAME% — opens a dialog; the validated submission runs a follow-up action
# (written by `switchboard new`).
#
# Each element is validated on submission (required, lengths, pattern, options); a bad value
# gets an error beside its field and the dialog stays open. The `on_submit` action sees the
# values as `submission.<name>`.
description = "Files a report through a dialog."

[command]
trigger = "%NAME%"
display_name = "%NAME%"
description = "File a report (opens a dialog)"

[dialog]
title = "New report"
introduction = "Reporting as @{{ user.name }}."
submit_label = "File it"
on_submit = "filed"              # a key of [actions] below

[[dialog.elements]]
name = "summary"
display_name = "Summary"
type = "text"
required = true
max_length = 100
placeholder = "What happened?"

[[dialog.elements]]
name = "priority"
display_name = "Priority"
type = "select"
default = "normal"
options = [
  { text = "Normal", value = "normal" },
  { text = "High", value = "high" },
]

[[dialog.elements]]
name = "details"
display_name = "Details"
type = "textarea"
max_length = 1000

[actions.filed.reply]
visibility = "in_channel"
text = "📝 @{{ user.name }} filed **{{ submission.summary }}** ({{ submission.priority }})."
"#;

const BUTTONS: &str = r#"# /%NAME% — posts a question with buttons; a click replaces the post (written by
# `switchboard new`).
#
# Each button names a follow-up action under [actions]. Its `context` values are rendered
# when the post is made, signed, and given to the action as `context.<key>`: a client cannot
# change them.
description = "Asks for approval with buttons."

[command]
trigger = "%NAME%"
display_name = "%NAME%"
description = "Ask the channel to approve something"

[[args]]
name = "question"
rest = true
required = true
help = "what to approve"

[reply]
visibility = "in_channel"
text = "🙋 @{{ user.name }} asks: **{{ args.question }}**"

[[reply.attachments]]
text = "Waiting for a decision."
actions = [
  { id = "approve", name = "Approve", action = "decide", style = "good", context = { decision = "approved", question = "{{ args.question }}" } },
  { id = "reject", name = "Reject", action = "decide", style = "danger", context = { decision = "rejected", question = "{{ args.question }}" } },
]

[actions.decide.reply]
update = true                    # replace the clicked post instead of answering the clicker
text = "🙋 **{{ context.question }}** — {{ context.decision }} by @{{ user.name }}."
"#;

const EXEC: &str = r#"# /%NAME% — runs a local program and streams its output into a thread (written by
# `switchboard new`).
#
# The program is never run through a shell: each `args` entry is one template rendered into
# exactly one argument. The request also arrives as SWITCHBOARD_* environment variables.
# Output is edited into a thread as it arrives, ending with the exit code and duration.
description = "Runs scripts/%NAME%.sh."

[command]
trigger = "%NAME%"
display_name = "%NAME%"
description = "Run the %NAME% script"

[[args]]
name = "who"
default = "world"
help = "who to greet"

[exec]
program = "scripts/%NAME%.sh"      # relative to the routes directory; must be executable
args = ["{{ args.who }}"]
timeout_secs = 60                # then the whole process group is killed
max_concurrent = 1               # runs at once…
queue = 2                        # …and how many may wait; beyond that: "busy, try later"
started = "Running %NAME%; follow it in the thread."
"#;

const SCRIPT: &str = r#"#!/bin/sh
# The program the `%NAME%` route runs (written by `switchboard new`). Arguments come from
# [exec] args; the request arrives as SWITCHBOARD_* environment variables.
set -eu
echo "Hello, $1, from ${SWITCHBOARD_USER_NAME:-someone}"
for step in one two three; do
    echo "step $step"
    sleep 0.2
done
echo "done"
"#;

const HTTP: &str = r#"# /%NAME% — forwards to another HTTP service and renders its answer (written by
# `switchboard new`).
#
# The URL, headers and body are templates; a body that parses as JSON is sent as JSON
# (`tojson` quotes user text safely). Secret headers come from the environment via
# `headers_from_env`, never from this file. A timeout, an unreachable service or a non-2xx
# answer is reported to the user.
description = "Asks the service at 127.0.0.1:9090."

[command]
trigger = "%NAME%"
display_name = "%NAME%"
description = "Ask the internal service"

[[args]]
name = "query"
rest = true
help = "what to ask"

[http]
method = "POST"
url = "http://127.0.0.1:9090/%NAME%"
headers = { "X-Asked-By" = "{{ user.name }}" }
# headers_from_env = { Authorization = "SERVICE_TOKEN" }   # secret from the environment
body = '{"user": {{ user.name | tojson }}, "query": {{ args.query | tojson }}}'
timeout_secs = 5

[http.reply]
visibility = "ephemeral"
# `response.json` is the answer parsed as JSON (when it is), `response.text` the raw text.
text = """
{% if response.json is mapping and "answer" in response.json %}{{ response.json.answer }}{% else %}The service answered {{ response.status }}: {{ response.text }}{% endif %}"""
"#;

const HOOK: &str = r#"# %NAME% — an outgoing-webhook trigger word in ordinary messages (written by
# `switchboard new`).
#
# A message whose first word is `%NAME%` is matched against `pattern`; its named captures
# become `captures.<name>`. A message that does not match is ignored. The answer goes into
# the thread of the triggering message.
description = "Answers messages that start with %NAME%."

[hook]
trigger_words = ["%NAME%"]
trigger_when = "first_word"      # or "starts_with"; "anywhere" needs `channel`
pattern = '^%NAME%\s+(?P<rest>.+)$'
display_name = "%NAME%"
description = "Answers %NAME% messages"

[reply]
text = "👀 @{{ user.name }} said {{ captures.rest }}"
"#;

const POST: &str = r#"# /%NAME% — posts a message to another channel (written by `switchboard new`).
#
# `channel` (and `team`, which defaults to the request's team) are channel and team names;
# the message and the answer to the user are templates.
description = "Announces something in ~town-square."

[command]
trigger = "%NAME%"
display_name = "%NAME%"
description = "Announce in ~town-square"

[[args]]
name = "message"
rest = true
required = true
help = "what to announce"

[post]
channel = "town-square"
message = "📣 @{{ user.name }}: {{ args.message }}"
reply = "Announced in ~{{ post.channel }}."
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_cannot_be_routes_are_refused() {
        for bad in [
            "",
            "Hello",
            "a b",
            "../x",
            "-x",
            "x.toml",
            "é",
            &"a".repeat(65),
        ] {
            assert!(
                matches!(validate_name(bad), Err(NewError::InvalidName(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(validate_name("join"), Err(NewError::BuiltIn(_))));
        for good in ["x", "standup", "on-call_2"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn every_kind_starts_with_the_schema_directive_and_uses_the_name() {
        for kind in Kind::ALL {
            let text = route_text("zzz", kind);
            assert!(text.starts_with(SCHEMA_DIRECTIVE), "{kind:?}");
            assert!(text.contains("zzz"), "{kind:?}");
            assert!(!text.contains("%NAME%"), "{kind:?}");
        }
        assert!(script_text("zzz").contains("SWITCHBOARD_USER_NAME"));
    }
}
