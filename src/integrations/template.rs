//! Templates, compiled once at load time with minijinja. The common subset (text, names and
//! `if`/`else` on a name) also gets a direct renderer (`simple.rs`) that prints the same text
//! without minijinja's machinery; anything outside it renders through minijinja.
//!
//! User-supplied text only ever enters as a *value* in the render context, so `{{ 7*7 }}` typed
//! by a user stays those characters. Undefined variables are errors, and every template is
//! test-rendered at load time against a context of the same shape, so a misspelt variable is
//! reported by `switchboard check`, not discovered in chat.

use std::sync::Arc;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use super::escape::{self, Kind};

mod simple;

/// A compiled template.
#[derive(Clone)]
pub struct Template {
    env: Arc<Environment<'static>>,
    name: String,
    kind: Kind,
    /// The same template for the renderer of the common subset, when it is in it.
    simple: Option<Arc<simple::Program>>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("name", &self.name)
            .finish()
    }
}

/// A template that does not compile or render.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    /// minijinja's explanation, with the template line when it has one.
    pub message: String,
    /// Line within the template source, from 1.
    pub line: Option<usize>,
    /// The template's name (`<route>.<key>`), when known.
    pub name: Option<String>,
}

impl From<minijinja::Error> for TemplateError {
    fn from(e: minijinja::Error) -> Self {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        TemplateError {
            message,
            line: e.line(),
            name: e.name().map(str::to_owned),
        }
    }
}

impl Template {
    /// Compiles `source`; `name` identifies it in errors (e.g. `hello.reply.text`). Values are
    /// printed as they are: for program arguments, headers, bodies.
    pub fn compile(name: &str, source: &str) -> Result<Template, TemplateError> {
        Self::compile_as(name, source, Kind::Plain)
    }

    /// Compiles a URL template: each value is encoded for the part of the URL it lands in
    /// (see `escape.rs`).
    pub fn compile_url(name: &str, source: &str) -> Result<Template, TemplateError> {
        Self::compile_as(name, source, Kind::Url)
    }

    /// Compiles the text of a post or reply: values cannot mention `@all`, `@channel`,
    /// `@here` or groups unless passed through `| mentions` (see `escape.rs`).
    pub fn compile_message(name: &str, source: &str) -> Result<Template, TemplateError> {
        Self::compile_as(name, source, Kind::Message)
    }

    fn compile_as(name: &str, source: &str, kind: Kind) -> Result<Template, TemplateError> {
        let mut env = Environment::new();
        if kind != Kind::Plain {
            env.set_formatter(escape::formatter(kind));
        }
        env.add_filter("urlencode", escape::urlencode);
        env.add_filter("mentions", escape::mentions);
        env.add_filter("escape_markdown", escape::escape_markdown);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.add_function("vote", vote);
        env.add_function("tally", tally);
        env.add_template_owned(name.to_owned(), source.to_owned())
            .map_err(|e| {
                let mut e = TemplateError::from(e);
                e.name.get_or_insert_with(|| name.to_owned());
                e
            })?;
        // Minijinja escapes the values of a plain template named `….json` or `….html`
        // itself; only a template printing values as they are may skip it.
        let as_is = kind != Kind::Plain
            || minijinja::default_auto_escape_callback(name) == minijinja::AutoEscape::None;
        let simple = as_is
            .then(|| simple::Program::parse(source))
            .flatten()
            .map(Arc::new);
        Ok(Template {
            env: Arc::new(env),
            name: name.to_owned(),
            kind,
            simple,
        })
    }

    /// The variables the template reads, dotted as far as written (`submission.severity`).
    pub fn variables(&self) -> std::collections::HashSet<String> {
        self.env
            .get_template(&self.name)
            .map(|t| t.undeclared_variables(true))
            .unwrap_or_default()
    }

    /// Renders with `context`.
    pub fn render(&self, context: &impl Serialize) -> Result<String, TemplateError> {
        let named = |e: minijinja::Error| {
            let undefined = e.kind() == minijinja::ErrorKind::UndefinedError;
            let mut e = TemplateError::from(e);
            e.name.get_or_insert_with(|| self.name.clone());
            if undefined {
                self.name_the_undefined(&mut e, context);
            }
            e
        };
        // Converted once for both renderers (minijinja converts a context it is given the
        // same way, and a value converts to itself).
        let context = minijinja::Value::from_serialize(context);
        let simple = self.simple.as_ref();
        let rendered = match simple.and_then(|program| program.render(&context, self.kind)) {
            Some(rendered) => rendered,
            None => {
                let template = self.env.get_template(&self.name).map_err(named)?;
                template.render(&context).map_err(named)?
            }
        };
        escape::finish(self.kind, rendered).map_err(|e| TemplateError {
            message: e.to_string(),
            line: None,
            name: Some(self.name.clone()),
        })
    }

    /// minijinja says "undefined value" without saying which: name the variables of this
    /// template that are undefined in `context`.
    fn name_the_undefined(&self, e: &mut TemplateError, context: &impl Serialize) {
        let Ok(template) = self.env.get_template(&self.name) else {
            return;
        };
        let context = minijinja::Value::from_serialize(context);
        let undefined = super::variables::undefined_in(template.source(), &context);
        if !undefined.is_empty() {
            let verb = if undefined.len() == 1 { "is" } else { "are" };
            e.message = format!(
                "`{}` {verb} undefined: {}",
                undefined.join("`, `"),
                e.message
            );
        }
    }
}

/// `vote(props, "votes", option, user)`: the map `props[key]` (option → list of users) with
/// `user` moved to `option`, or removed when they had already chosen it (a second click takes
/// the vote back). Keeps poll state in a post's props, so no database is needed.
fn vote(props: &minijinja::Value, key: &str, option: &str, user: &str) -> minijinja::Value {
    let mut votes = votes_of(props, key);
    let had = votes
        .get(option)
        .is_some_and(|users| users.iter().any(|u| u == user));
    for users in votes.values_mut() {
        users.retain(|u| u != user);
    }
    if !had {
        votes
            .entry(option.to_owned())
            .or_default()
            .push(user.to_owned());
    }
    votes.retain(|_, users| !users.is_empty());
    minijinja::Value::from_serialize(&votes)
}

/// `tally(props, "votes", option)`: how many users chose `option`.
fn tally(props: &minijinja::Value, key: &str, option: &str) -> usize {
    votes_of(props, key).get(option).map_or(0, Vec::len)
}

fn votes_of(
    props: &minijinja::Value,
    key: &str,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let json = serde_json::to_value(props).unwrap_or_default();
    json.get(key)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn votes_move_between_options_and_a_second_click_takes_a_vote_back() {
        let t = Template::compile(
            "t",
            "{% set v = vote(props, 'votes', option, user) %}{{ v | tojson }} {{ tally({'votes': v}, 'votes', 'yes') }}",
        )
        .unwrap();
        let render = |props: serde_json::Value, option: &str, user: &str| {
            t.render(&serde_json::json!({"props": props, "option": option, "user": user}))
                .unwrap()
        };
        assert_eq!(
            render(serde_json::json!({}), "yes", "alice"),
            r#"{"yes":["alice"]} 1"#
        );
        assert_eq!(
            render(
                serde_json::json!({"votes": {"yes": ["alice"]}}),
                "no",
                "alice"
            ),
            r#"{"no":["alice"]} 0"#
        );
        assert_eq!(
            render(
                serde_json::json!({"votes": {"yes": ["alice", "bob"]}}),
                "yes",
                "alice"
            ),
            r#"{"yes":["bob"]} 1"#
        );
    }

    use super::*;

    #[test]
    fn the_simple_renderer_prints_what_minijinja_prints() {
        let templates = [
            "Hello, @{{ user.name }}! {% if text %}You said: {{ text }}{% else %}Add some.{% endif %}",
            "{{ text }}",
            "@{{ text }} and {{ n }} {{ flag }} {{ nothing }} {{ list }} {{ user }} {{ mentions }}",
            "{% if n %}{{ n }}{% endif %}{% if empty %}x{% else %}y{% endif %}{% if nothing %}a{% endif %}",
            "{% if list %}{% if flag %}{{ user.name }}{% else %}-{% endif %}{% endif %}",
            "http://svc/{{ text }}?q={{ user.name }}#{{ n }}",
            "{{ missing }}",
            "{{ user.missing }}",
            "{% if missing %}x{% endif %}",
            "{{ text.name }}",
            "{{ nothing.name }}",
        ];
        let texts = [
            "",
            "plain",
            "@all hi @here. @Alice @bob",
            "<!channel> alice@example.com @@all",
            "\u{E000}forged\u{E001} @\u{E002}all",
            "..",
            "ünïcode @hére @ALICE: x",
        ];
        for kind in [Kind::Plain, Kind::Message, Kind::Url] {
            for source in templates {
                let fast = Template::compile_as("t", source, kind).unwrap();
                assert!(fast.simple.is_some(), "{source}");
                let mut slow = fast.clone();
                slow.simple = None;
                for text in texts {
                    let context = serde_json::json!({
                        "user": {"name": "alice"},
                        "mentions": [{"name": "bob"}],
                        "user_mentions": [{"name": "bob"}],
                        "text": text, "n": 42, "flag": false, "nothing": null,
                        "empty": "", "list": [1, "two"],
                    });
                    let render = |t: &Template| t.render(&context).map_err(|e| e.message);
                    assert_eq!(render(&fast), render(&slow), "{kind:?} {source:?} {text:?}");
                }
            }
        }
    }

    #[test]
    fn the_simple_renderer_reads_a_route_context_as_minijinja_does() {
        use crate::integrations::context::{Context, Who};
        use crate::protocol::Mention;
        let source = "@{{ user.name }} {{ text }} {{ route }} {{ channel.id }}/{{ team.name }} \
            {{ captures.x }} {{ args.n }} {{ user_mentions }} {% if root_id %}thread{% else %}-{% endif %}";
        for text in [
            "",
            "@all hi @Bob @alice. @carol",
            "<!here> \u{E001}x",
            "ünï @BOB",
        ] {
            let context = Context {
                route: "r".into(),
                user: Who {
                    id: "u1".into(),
                    name: "Alice".into(),
                },
                channel: Who {
                    id: "c1".into(),
                    name: "town".into(),
                },
                team: Who {
                    id: "t1".into(),
                    name: "main".into(),
                },
                text: text.into(),
                user_mentions: vec![Mention {
                    name: "bob".into(),
                    id: "b1".into(),
                }],
                captures: [("x".to_owned(), "@here".to_owned())].into(),
                args: [("n".to_owned(), serde_json::json!(3))].into(),
                ..Context::default()
            };
            for kind in [Kind::Plain, Kind::Message, Kind::Url] {
                let fast = Template::compile_as("t", source, kind).unwrap();
                let mut slow = fast.clone();
                slow.simple = None;
                let value = context.to_template_value();
                let render = |t: &Template| t.render(&value).map_err(|e| e.message);
                assert_eq!(render(&fast), render(&slow), "{kind:?} {text:?}");
            }
        }
    }

    #[test]
    fn a_plain_template_minijinja_escapes_by_its_name_is_left_to_minijinja() {
        let t = Template::compile("r.body.json", "{{ text }}").unwrap();
        assert!(t.simple.is_none());
        assert_eq!(
            t.render(&serde_json::json!({"text": "a\"b"})).unwrap(),
            r#""a\"b""#
        );
    }

    #[test]
    fn user_text_with_template_syntax_is_data_not_code() {
        let t = Template::compile("t", "You said: {{ text }}").unwrap();
        let out = t
            .render(&serde_json::json!({"text": "{{ 7*7 }} {% raw %}"}))
            .unwrap();
        assert_eq!(out, "You said: {{ 7*7 }} {% raw %}");
    }

    #[test]
    fn an_undefined_variable_is_an_error() {
        let t = Template::compile("t", "{{ usr.name }}").unwrap();
        assert!(
            t.render(&serde_json::json!({"user": {"name": "a"}}))
                .is_err()
        );
    }

    #[test]
    fn a_run_time_undefined_value_names_the_variable() {
        let t = Template::compile("t", "{% if user.name %}{{ usr.name }}{% endif %}").unwrap();
        let err = t
            .render(&serde_json::json!({"user": {"name": "a"}}))
            .unwrap_err();
        assert!(err.message.starts_with("`usr` is undefined: "), "{err}");
        assert_eq!(err.name.as_deref(), Some("t"));
    }

    #[test]
    fn several_undefined_values_are_named_in_the_plural() {
        let t = Template::compile("t", "{{ body.a.c }} {{ body.x }}").unwrap();
        let err = t
            .render(&serde_json::json!({"body": {"a": {}}}))
            .unwrap_err();
        assert!(
            err.message
                .starts_with("`body.a.c`, `body.x` are undefined: "),
            "{err}"
        );
    }

    #[test]
    fn a_syntax_error_is_reported_at_compile_time_with_its_line() {
        let err = Template::compile("t", "line one\n{{ text ").unwrap_err();
        assert_eq!(err.line, Some(2));
    }
}
