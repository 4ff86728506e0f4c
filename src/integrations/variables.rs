//! Which variables each template can reach, checked statically against what the triggers
//! that run it provide.
//!
//! Test-rendering a template only follows the branches the sample takes, so
//! `{% if text %}…{% else %}{{ usr }}{% endif %}` passed `check` and failed in chat. Here
//! minijinja's static analysis lists every variable (and attribute path, `user.nmae`) a
//! template can look up, across all branches, and each is checked against the context of the
//! triggers that reach its action:
//!
//! | trigger | provides |
//! |---|---|
//! | slash command (main action) | `args.<declared [[args]]>` |
//! | outgoing hook (main action) | `captures.<named groups of pattern>` |
//! | `[webhook]` (main action) | `body` (the JSON delivered, any shape) and `headers` |
//! | `[schedule]` (main action) | `tick` (`time`, `timestamp`, `local`) |
//! | `[message]` (main action) | `captures.<named groups of pattern>` |
//! | dialog submission (`on_submit`) | `submission.<fields>` of this step and every earlier step, plus the `args` and `context` of the action that opened it |
//! | dialog cancellation (`on_cancel`) | the `args`, `context` and earlier steps' `submission` of the action that opened it |
//! | a dialog's own `show_when`, `rules` and `lookup` | what reaches the dialog, plus its own fields in `submission` (a lookup also sees `query`) |
//! | button or menu click (`action`) | `context.<the button's context keys>` and `selected_option`, `post_props` |
//!
//! Every template also sees `route`, `user`/`channel`/`team` (`id`, `name`), `command`,
//! `text`, `root_id`, `post_id`, `user_mentions`, `channel_mentions`, `trigger_word` (empty
//! where the trigger has none); `[http.reply]` sees `response`, `[post] reply` sees `post`.
//! An action reached by several triggers may use what any of them provides.

use std::collections::{BTreeMap, BTreeSet};

use super::spec::{ActionSpec, ReplySpec, RouteFile};

/// A variable a template uses that its context never has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnknownVariable {
    /// The template's key, as problems name it (`actions.run.exec.args[0]`).
    pub key: String,
    /// The variable or attribute path (`user.nmae`).
    pub path: String,
    /// Why it is unknown, and what is there instead.
    pub message: String,
}

/// The variables templates see, by what provides them, as `switchboard check` knows them:
/// `(provider, variables)`, where `a.b` is the attribute `b` of `a`. The names under `args`,
/// `submission`, `context` and `captures` come from the route itself (its `[[args]]`, dialog
/// fields, button `context` keys and pattern groups). `switchboard check` checks every
/// template against this table, and the manual's template reference is tested against it
/// (`tests/docs.rs`), so the two cannot drift apart.
pub const TEMPLATE_VARIABLES: &[(&str, &[&str])] = &[
    (
        "every template",
        &[
            "route",
            "user",
            "user.id",
            "user.name",
            "channel",
            "channel.id",
            "channel.name",
            "team",
            "team.id",
            "team.name",
            "command",
            "text",
            "root_id",
            "post_id",
            "user_mentions",
            "channel_mentions",
            "trigger_word",
            "args",
            "submission",
            "captures",
            "context",
            "post_props",
        ],
    ),
    ("[command]", &["args"]),
    ("[hook]", &["captures", "trigger_word"]),
    ("[webhook]", &["body", "headers"]),
    (
        "[schedule]",
        &["tick", "tick.time", "tick.timestamp", "tick.local"],
    ),
    ("[message]", &["captures"]),
    ("on_submit", &["submission", "args", "context"]),
    ("on_cancel", &["submission", "args", "context"]),
    (
        "button or menu",
        &["context", "context.selected_option", "post_props"],
    ),
    (
        "[http.reply]",
        &[
            "response",
            "response.status",
            "response.ok",
            "response.json",
            "response.text",
        ],
    ),
    (
        "[post] reply",
        &["post", "post.id", "post.channel", "post.team"],
    ),
    ("dynamic select lookup", &["query"]),
];

/// The top-level names of `provider`'s row in [`TEMPLATE_VARIABLES`].
fn roots_of(provider: &str) -> Vec<&'static str> {
    TEMPLATE_VARIABLES
        .iter()
        .filter(|(p, _)| *p == provider)
        .flat_map(|(_, vars)| vars.iter().copied())
        .filter(|v| !v.contains('.'))
        .collect()
}

/// The attributes of `root` that [`TEMPLATE_VARIABLES`] lists (`tick` → `time`, …).
fn attributes_of(root: &str) -> Vec<&'static str> {
    TEMPLATE_VARIABLES
        .iter()
        .flat_map(|(_, vars)| vars.iter().copied())
        .filter_map(|v| v.strip_prefix(root)?.strip_prefix('.'))
        .collect()
}

/// `a`, `b` and `c` as "`a`, `b` and `c`".
fn and_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.join(""),
    }
}

/// Functions and globals (ours and minijinja's) that are not context variables.
const FUNCTIONS: &[&str] = &[
    "vote",
    "tally",
    "range",
    "dict",
    "namespace",
    "debug",
    "loop",
];

/// Methods of maps, which the static analysis sees as attributes (`args.items()`).
const MAP_METHODS: &[&str] = &["items", "keys", "values", "get"];

/// What the triggers reaching one action provide. An action no declared trigger reaches
/// (`reached == false`) has nothing nested checked: only unknown top-level names are reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Reach {
    reached: bool,
    args: BTreeSet<String>,
    submission: BTreeSet<String>,
    context: BTreeSet<String>,
    captures: BTreeSet<String>,
    /// A `[webhook]` runs it: `body` and `headers`.
    webhook: bool,
    /// A `[schedule]` runs it: `tick`.
    schedule: bool,
}

impl Reach {
    /// Adds `other`; whether anything changed.
    fn absorb(&mut self, other: &Reach) -> bool {
        let before = self.clone();
        self.reached |= other.reached;
        self.args.extend(other.args.iter().cloned());
        self.submission.extend(other.submission.iter().cloned());
        self.context.extend(other.context.iter().cloned());
        self.captures.extend(other.captures.iter().cloned());
        self.webhook |= other.webhook;
        self.schedule |= other.schedule;
        *self != before
    }
}

/// Every unknown variable of every template of `spec`; `captures` are the named groups of the
/// hook's and the `[message]`'s patterns.
pub(crate) fn unknown_variables(spec: &RouteFile, captures: &[String]) -> Vec<UnknownVariable> {
    let main = spec.main_action();
    let mut holders: Vec<(String, &ActionSpec)> = vec![(String::new(), &main)];
    holders.extend(
        spec.actions
            .iter()
            .map(|(name, a)| (format!("actions.{name}."), a)),
    );
    let reaches = reaches(spec, &main, captures);
    let mut found = Vec::new();
    let env = minijinja::Environment::new();
    for (prefix, action) in &holders {
        let name = prefix
            .strip_prefix("actions.")
            .map(|p| p.trim_end_matches('.'));
        let reach = match name {
            None => reaches.get(""),
            Some(name) => reaches.get(name),
        }
        .cloned()
        .unwrap_or_default();
        // A dialog's own templates (show_when, rules, lookups) also see its own fields.
        let mut own = reach.clone();
        if let Some(dialog) = &action.dialog {
            own.submission
                .extend(dialog.elements.iter().map(|e| e.name.clone()));
        }
        for (key, source, result) in templates(prefix, action) {
            let Ok(template) = env.template_from_str(source) else {
                continue; // compiling reports the syntax error
            };
            let mut paths: Vec<String> = template.undeclared_variables(true).into_iter().collect();
            paths.sort();
            let reach = if matches!(result, Sees::Form | Sees::Lookup) {
                &own
            } else {
                &reach
            };
            for path in paths {
                if let Some(message) = unknown(&path, reach, result) {
                    found.push(UnknownVariable {
                        key: key.clone(),
                        path,
                        message,
                    });
                }
            }
        }
    }
    found
}

/// What reaches each action: `""` is the main one, others by name.
fn reaches(spec: &RouteFile, main: &ActionSpec, captures: &[String]) -> BTreeMap<String, Reach> {
    let mut reaches: BTreeMap<String, Reach> = BTreeMap::new();
    let entry = Reach {
        reached: spec.command.is_some()
            || spec.hook.is_some()
            || spec.webhook.is_some()
            || spec.schedule.is_some()
            || spec.message.is_some(),
        args: if spec.command.is_some() {
            spec.args.iter().map(|a| a.name.clone()).collect()
        } else {
            BTreeSet::new()
        },
        captures: if spec.hook.is_some() || spec.message.is_some() {
            captures.iter().cloned().collect()
        } else {
            BTreeSet::new()
        },
        webhook: spec.webhook.is_some(),
        schedule: spec.schedule.is_some(),
        ..Reach::default()
    };
    reaches.insert(String::new(), entry);
    let holders: Vec<(String, &ActionSpec)> = std::iter::once((String::new(), main))
        .chain(spec.actions.iter().map(|(n, a)| (n.clone(), a)))
        .collect();
    // Follow dialogs and buttons until nothing new is learnt (each pass can only add).
    for _ in 0..=holders.len() {
        let mut changed = false;
        for (name, action) in &holders {
            let Some(from) = reaches.get(name).cloned().filter(|r| r.reached) else {
                continue;
            };
            if let Some(dialog) = &action.dialog {
                if let Some(next) = &dialog.on_submit {
                    // A later step of a multi-step dialog sees every earlier step's values.
                    let mut submission = from.submission.clone();
                    submission.extend(dialog.elements.iter().map(|e| e.name.clone()));
                    let submitted = Reach {
                        reached: true,
                        args: from.args.clone(),
                        context: from.context.clone(),
                        submission,
                        ..Reach::default()
                    };
                    changed |= reaches.entry(next.clone()).or_default().absorb(&submitted);
                }
                if let Some(next) = &dialog.on_cancel {
                    // A cancellation carries no values: only what opened the dialog.
                    let cancelled = Reach {
                        reached: true,
                        args: from.args.clone(),
                        context: from.context.clone(),
                        submission: from.submission.clone(),
                        ..Reach::default()
                    };
                    changed |= reaches.entry(next.clone()).or_default().absorb(&cancelled);
                }
            }
            let replies = action
                .reply
                .iter()
                .chain(action.http.as_ref().map(|h| &h.reply));
            for reply in replies {
                for button in reply.attachments.iter().flat_map(|a| &a.actions) {
                    let mut context: BTreeSet<String> = button.context.keys().cloned().collect();
                    // Every click carries it (empty for a plain button).
                    context.insert("selected_option".into());
                    let clicked = Reach {
                        reached: true,
                        context,
                        ..Reach::default()
                    };
                    changed |= reaches
                        .entry(button.action.clone())
                        .or_default()
                        .absorb(&clicked);
                }
            }
        }
        if !changed {
            break;
        }
    }
    reaches
}

/// Which step result a template also sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sees {
    None,
    /// `[http.reply]`: `response`.
    Response,
    /// `[post] reply`: `post`.
    Post,
    /// A dialog's `show_when` and `rules`: `submission` also holds this dialog's own fields.
    Form,
    /// A dialog's `lookup` (options or http request): its own fields and `query`.
    Lookup,
}

/// Every template of one action: (key, source, result it sees).
fn templates<'a>(prefix: &str, action: &'a ActionSpec) -> Vec<(String, &'a str, Sees)> {
    let mut out = Vec::new();
    if let Some(reply) = &action.reply {
        reply_templates(&format!("{prefix}reply"), reply, Sees::None, &mut out);
    }
    if let Some(dialog) = &action.dialog {
        let p = format!("{prefix}dialog");
        out.push((format!("{p}.title"), dialog.title.as_str(), Sees::None));
        out.push((
            format!("{p}.introduction"),
            dialog.introduction.as_str(),
            Sees::None,
        ));
        for (i, e) in dialog.elements.iter().enumerate() {
            let key = format!("{p}.elements[{i}]");
            if let Some(default) = &e.default {
                out.push((format!("{key}.default"), default.as_str(), Sees::None));
            }
            if let Some(show_when) = &e.show_when {
                out.push((format!("{key}.show_when"), show_when.as_str(), Sees::Form));
            }
            let Some(lookup) = &e.lookup else {
                continue;
            };
            if let Some(options) = &lookup.options {
                out.push((
                    format!("{key}.lookup.options"),
                    options.as_str(),
                    Sees::Lookup,
                ));
            }
            if let Some(http) = &lookup.http {
                let h = format!("{key}.lookup.http");
                out.push((format!("{h}.url"), http.url.as_str(), Sees::Lookup));
                for (k, v) in &http.headers {
                    out.push((format!("{h}.headers.{k}"), v.as_str(), Sees::Lookup));
                }
                if let Some(body) = &http.body {
                    out.push((format!("{h}.body"), body.as_str(), Sees::Lookup));
                }
            }
        }
        for (i, rule) in dialog.rules.iter().enumerate() {
            out.push((
                format!("{p}.rules[{i}].when"),
                rule.when.as_str(),
                Sees::Form,
            ));
            out.push((
                format!("{p}.rules[{i}].error"),
                rule.error.as_str(),
                Sees::Form,
            ));
        }
    }
    if let Some(exec) = &action.exec {
        let p = format!("{prefix}exec");
        for (i, a) in exec.args.iter().enumerate() {
            out.push((format!("{p}.args[{i}]"), a.as_str(), Sees::None));
        }
        for (k, v) in &exec.env {
            out.push((format!("{p}.env.{k}"), v.as_str(), Sees::None));
        }
        out.push((format!("{p}.started"), exec.started.as_str(), Sees::None));
    }
    if let Some(http) = &action.http {
        let p = format!("{prefix}http");
        out.push((format!("{p}.url"), http.url.as_str(), Sees::None));
        for (k, v) in &http.headers {
            out.push((format!("{p}.headers.{k}"), v.as_str(), Sees::None));
        }
        if let Some(body) = &http.body {
            out.push((format!("{p}.body"), body.as_str(), Sees::None));
        }
        reply_templates(&format!("{p}.reply"), &http.reply, Sees::Response, &mut out);
    }
    if let Some(post) = &action.post {
        let p = format!("{prefix}post");
        for (key, source) in [
            ("team", post.team.as_deref()),
            ("channel", Some(post.channel.as_str())),
            ("message", Some(post.message.as_str())),
            ("root_id", post.root_id.as_deref()),
        ] {
            if let Some(source) = source {
                out.push((format!("{p}.{key}"), source, Sees::None));
            }
        }
        out.push((format!("{p}.reply"), post.reply.as_str(), Sees::Post));
    }
    out
}

fn reply_templates<'a>(
    p: &str,
    reply: &'a ReplySpec,
    result: Sees,
    out: &mut Vec<(String, &'a str, Sees)>,
) {
    out.push((format!("{p}.text"), reply.text.as_str(), result));
    for (key, source) in [("username", &reply.username), ("icon_url", &reply.icon_url)] {
        if let Some(source) = source {
            out.push((format!("{p}.{key}"), source.as_str(), result));
        }
    }
    for (k, v) in &reply.props {
        out.push((format!("{p}.props.{k}"), v.as_str(), result));
    }
    for (i, a) in reply.attachments.iter().enumerate() {
        let a_key = format!("{p}.attachments[{i}]");
        for (key, source) in [
            ("title", &a.title),
            ("text", &a.text),
            ("pretext", &a.pretext),
        ] {
            out.push((format!("{a_key}.{key}"), source.as_str(), result));
        }
        for (j, f) in a.fields.iter().enumerate() {
            out.push((
                format!("{a_key}.fields[{j}].title"),
                f.title.as_str(),
                result,
            ));
            out.push((
                format!("{a_key}.fields[{j}].value"),
                f.value.as_str(),
                result,
            ));
        }
        for (j, b) in a.actions.iter().enumerate() {
            out.push((
                format!("{a_key}.actions[{j}].name"),
                b.name.as_str(),
                result,
            ));
            for (k, v) in &b.context {
                out.push((
                    format!("{a_key}.actions[{j}].context.{k}"),
                    v.as_str(),
                    result,
                ));
            }
        }
    }
}

/// Why `path` is unknown in a template of an action reached as `reach`, if it is.
fn unknown(path: &str, reach: &Reach, result: Sees) -> Option<String> {
    let mut parts = path.split('.');
    let root = parts.next()?;
    let attr = parts.next();
    let listed = |set: &BTreeSet<String>| -> String {
        if set.is_empty() {
            "none".to_owned()
        } else {
            set.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let in_map = |set: &BTreeSet<String>, what: &str| -> Option<String> {
        let attr = attr?;
        if !reach.reached || set.contains(attr) || MAP_METHODS.contains(&attr) {
            return None;
        }
        Some(format!("{what} (there: {})", listed(set)))
    };
    match root {
        _ if FUNCTIONS.contains(&root) => None,
        "user" | "channel" | "team" => match attr {
            Some(a) if !attributes_of(root).contains(&a) => Some(format!(
                "`{root}` has {}, not `{a}`",
                and_list(&attributes_of(root))
            )),
            _ => None,
        },
        "args" => in_map(
            &reach.args,
            "no such argument in `[[args]]` of a slash command that runs this action",
        ),
        "submission" => in_map(
            &reach.submission,
            "no such field in a dialog whose `on_submit` runs this action",
        ),
        "context" => in_map(
            &reach.context,
            "no button or menu that runs this action passes it in `context`",
        ),
        "captures" => in_map(
            &reach.captures,
            "no such named group in the `pattern` of the hook or `[message]`",
        ),
        // Whatever JSON the sender delivered: any attribute may be there.
        _ if reach.webhook && roots_of("[webhook]").contains(&root) => None,
        _ if (reach.schedule && roots_of("[schedule]").contains(&root))
            || (result == Sees::Response && roots_of("[http.reply]").contains(&root))
            || (result == Sees::Post && roots_of("[post] reply").contains(&root))
            || (result == Sees::Lookup && roots_of("dynamic select lookup").contains(&root)) =>
        {
            match attr {
                Some(a) if attributes_of(root).is_empty() => {
                    Some(format!("`{root}` is a value without attributes, not `{a}`"))
                }
                Some(a) if !attributes_of(root).contains(&a) => Some(format!(
                    "`{root}` has {}, not `{a}`",
                    and_list(&attributes_of(root))
                )),
                _ => None,
            }
        }
        _ if roots_of("every template").contains(&root) => None,
        _ => {
            let mut known: Vec<&str> = roots_of("every template");
            if reach.webhook {
                known.extend(roots_of("[webhook]"));
            }
            if reach.schedule {
                known.extend(roots_of("[schedule]"));
            }
            match result {
                Sees::Response => known.extend(roots_of("[http.reply]")),
                Sees::Post => known.extend(roots_of("[post] reply")),
                Sees::Lookup => known.extend(roots_of("dynamic select lookup")),
                Sees::None | Sees::Form => {}
            }
            Some(format!(
                "no such variable; templates here see {}",
                known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    }
}

/// The variables of `source` (attribute paths included) that are undefined in `context`: what
/// a run-time "undefined value" error was about.
pub(crate) fn undefined_in(source: &str, context: &minijinja::Value) -> Vec<String> {
    let env = minijinja::Environment::new();
    let Ok(template) = env.template_from_str(source) else {
        return Vec::new();
    };
    let mut paths: Vec<String> = template.undeclared_variables(true).into_iter().collect();
    paths.sort();
    let mut undefined = Vec::new();
    for path in paths {
        let mut value = context.clone();
        let mut walked = Vec::new();
        for part in path.split('.') {
            walked.push(part);
            if FUNCTIONS.contains(&part) && walked.len() == 1 {
                break;
            }
            value = value.get_attr(part).unwrap_or_default();
            if value.is_undefined() {
                let culprit = walked.join(".");
                if !undefined.contains(&culprit) {
                    undefined.push(culprit);
                }
                break;
            }
        }
    }
    undefined
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(source: &str) -> Vec<(String, String)> {
        let spec: RouteFile = toml::from_str(source).unwrap();
        unknown_variables(&spec, &["summary".to_owned()])
            .into_iter()
            .map(|u| (u.key, u.path))
            .collect()
    }

    #[test]
    fn every_branch_is_checked_against_the_triggers_shape() {
        let found = check(
            r#"
            [command]
            trigger = "t"
            [[args]]
            name = "env"
            [reply]
            text = "{% if text %}{{ args.env }}{% else %}{{ usr }} {{ user.nmae }} {{ args.unknown_arg }}{% endif %}{{ submission.x }}"
            "#,
        );
        let key = "reply.text".to_owned();
        assert_eq!(
            found,
            vec![
                (key.clone(), "args.unknown_arg".to_owned()),
                (key.clone(), "submission.x".to_owned()),
                (key.clone(), "user.nmae".to_owned()),
                (key, "usr".to_owned()),
            ]
        );
    }

    #[test]
    fn follow_ups_see_what_their_dialog_or_button_passes() {
        let found = check(
            r#"
            [command]
            trigger = "t"
            [[args]]
            name = "env"
            [dialog]
            title = "Deploy {{ args.env }}"
            on_submit = "run"
            [[dialog.elements]]
            name = "version"
            display_name = "V"
            type = "text"
            [actions.run.reply]
            text = "{{ submission.version }} {{ args.env }} {{ submission.verison }}"
            [[actions.run.reply.attachments]]
            actions = [{ id = "a", name = "A", action = "again", context = { v = "{{ submission.version }}" } }]
            [actions.again.http]
            url = "http://x/{{ context.v }}/{{ context.selected_option }}"
            [actions.again.http.reply]
            text = "{{ response.json.answer }} {{ response.body }} {{ args.env }} {{ post.id }}"
            "#,
        );
        assert_eq!(
            found,
            vec![
                (
                    "actions.again.http.reply.text".to_owned(),
                    "args.env".to_owned()
                ),
                (
                    "actions.again.http.reply.text".to_owned(),
                    "post.id".to_owned()
                ),
                (
                    "actions.again.http.reply.text".to_owned(),
                    "response.body".to_owned()
                ),
                (
                    "actions.run.reply.text".to_owned(),
                    "submission.verison".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn the_shipped_routes_use_only_what_they_are_given() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("routes");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let spec: RouteFile =
                    toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                let found = unknown_variables(&spec, &["summary".to_owned()]);
                assert!(found.is_empty(), "{}: {found:?}", path.display());
            }
        }
    }

    #[test]
    fn a_run_time_undefined_value_is_named() {
        let context = minijinja::Value::from_serialize(serde_json::json!({
            "user": {"name": "alice"}, "args": {}
        }));
        assert_eq!(
            undefined_in(
                "{% if user.name %}{{ user.nmae }}{% endif %}{{ args.x }}",
                &context
            ),
            vec!["args.x".to_owned(), "user.nmae".to_owned()]
        );
    }
}
