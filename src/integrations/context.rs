//! The values templates can use. One shape for every trigger (slash command, outgoing hook,
//! dialog submission, button click) and for the sample that `switchboard check` renders every
//! template against, so a misspelt variable is a load-time error.
//!
//! What users type only ever appears here as data; no template is ever built from it.

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr};
use serde::Serialize;
use serde_json::Value;

use crate::protocol::{Mention, SlashCommandRequest};

/// `{{ user.id }}`, `{{ user.name }}`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Who {
    /// Id.
    pub id: String,
    /// URL name (username, channel name, team name).
    pub name: String,
}

impl Who {
    fn sample(id: &str, name: &str) -> Who {
        Who {
            id: id.to_owned(),
            name: name.to_owned(),
        }
    }
}

/// Everything a template can see.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Context {
    /// The route's name (its file stem).
    pub route: String,
    /// The user who acted.
    pub user: Who,
    /// The channel it happened in.
    pub channel: Who,
    /// The team.
    pub team: Who,
    /// `/trigger` for slash commands; empty otherwise.
    pub command: String,
    /// The text after the trigger, or the hook's whole message.
    pub text: String,
    /// The thread root, if any.
    pub root_id: String,
    /// The post a button was clicked on, or the hook's post.
    pub post_id: String,
    /// `trigger_id` for opening a dialog, when the trigger has one.
    #[serde(skip)]
    pub trigger_id: String,
    /// `response_url` of a slash command.
    #[serde(skip)]
    pub response_url: String,
    /// `@user` mentions.
    pub user_mentions: Vec<Mention>,
    /// `~channel` mentions.
    pub channel_mentions: Vec<Mention>,
    /// Parsed slash-command arguments.
    pub args: BTreeMap<String, Value>,
    /// Ids of the `user` and `channel` arguments, checked against Mattermost, by argument
    /// name: `{{ args.who }}` renders the name, `{{ args.who.id }}` the id.
    #[serde(skip)]
    pub arg_ids: BTreeMap<String, String>,
    /// A validated dialog submission.
    pub submission: BTreeMap<String, Value>,
    /// Named captures of a hook's `pattern`.
    pub captures: BTreeMap<String, String>,
    /// The trigger word of an outgoing hook.
    pub trigger_word: String,
    /// A button's signed context, plus `selected_option` for menus.
    pub context: BTreeMap<String, Value>,
    /// The props of the post a button was clicked on (e.g. poll votes).
    pub post_props: BTreeMap<String, Value>,
    /// Results of earlier steps: `exec`, `response` (http), `post`.
    #[serde(flatten)]
    pub results: BTreeMap<String, Value>,
}

/// The old name, kept for callers of the skeleton's API.
pub type CommandContext = Context;

impl Context {
    /// The context of a slash command (arguments are filled in by the route).
    pub fn from_request(req: &SlashCommandRequest) -> Self {
        Context {
            route: String::new(),
            user: Who {
                id: req.user_id.clone(),
                name: req.user_name.clone(),
            },
            channel: Who {
                id: req.channel_id.clone(),
                name: req.channel_name.clone(),
            },
            team: Who {
                id: req.team_id.clone(),
                name: req.team_domain.clone(),
            },
            command: req.command.clone(),
            text: req.text.clone(),
            root_id: req.root_id.clone(),
            trigger_id: req.trigger_id.clone(),
            response_url: req.response_url.clone(),
            user_mentions: req.user_mentions.clone(),
            channel_mentions: req.channel_mentions.clone(),
            ..Context::default()
        }
    }

    /// A plausible context for test-rendering templates at load time. `shape` names the keys
    /// the route declares (arguments, dialog fields, captures, button context, results), so a
    /// template that uses an undeclared one fails at load time.
    pub fn sample(trigger: &str, shape: &SampleShape) -> Self {
        let text = |keys: &[String]| -> BTreeMap<String, Value> {
            keys.iter()
                .map(|k| (k.clone(), Value::String("sample".into())))
                .collect()
        };
        Context {
            route: trigger.to_owned(),
            user: Who::sample("sampleuserid00000000000000", "alice"),
            channel: Who::sample("samplechannelid00000000000", "town-square"),
            team: Who::sample("sampleteamid00000000000000", "main"),
            command: format!("/{trigger}"),
            text: "some text".to_owned(),
            root_id: String::new(),
            post_id: "samplepostid00000000000000".to_owned(),
            trigger_id: String::new(),
            response_url: String::new(),
            user_mentions: Vec::new(),
            channel_mentions: Vec::new(),
            args: {
                let mut args = text(&shape.args);
                args.extend(shape.typed_args.clone());
                args
            },
            arg_ids: shape
                .mentions
                .iter()
                .map(|k| (k.clone(), "sampleid000000000000000000".to_owned()))
                .collect(),
            submission: text(&shape.submission),
            captures: shape
                .captures
                .iter()
                .map(|k| (k.clone(), "sample".to_owned()))
                .collect(),
            trigger_word: "sample".to_owned(),
            context: {
                let mut context = text(&shape.context);
                context.insert("selected_option".into(), Value::String("sample".into()));
                context
            },
            post_props: BTreeMap::new(),
            results: shape.results.clone(),
        }
    }

    /// Adds a step's result under `name` (`exec`, `response`, `post`).
    pub fn with_result(mut self, name: &str, value: Value) -> Self {
        self.results.insert(name.to_owned(), value);
        self
    }
}

/// The keys templates see (besides `results`' keys).
const KEYS: &[&str] = &[
    "route",
    "user",
    "channel",
    "team",
    "command",
    "text",
    "root_id",
    "post_id",
    "user_mentions",
    "channel_mentions",
    "args",
    "submission",
    "captures",
    "trigger_word",
    "context",
    "post_props",
];

impl Context {
    /// The context as a template value that converts a key only when a template reads it
    /// (a template typically reads two or three of the twenty), instead of serialising the
    /// whole context for every render. Templates see the same keys and values as they would
    /// through `Serialize`.
    pub fn to_template_value(&self) -> minijinja::Value {
        self.clone().into_template_value()
    }

    /// [`Context::to_template_value`] without the copy.
    pub fn into_template_value(self) -> minijinja::Value {
        minijinja::Value::from_object(self)
    }
}

impl Context {
    /// The string the template value at `path` is, for the context's own strings (`text`,
    /// `user.name`, `captures.x` …), without making the value: what [`Object::get_value`]
    /// would give, read in place. `None` for any other path (the value is then looked up).
    pub(crate) fn str_at(&self, path: &[Box<str>]) -> Option<&str> {
        let text = match path {
            [key] => match key.as_ref() {
                "route" => &self.route,
                "command" => &self.command,
                "text" => &self.text,
                "root_id" => &self.root_id,
                "post_id" => &self.post_id,
                "trigger_word" => &self.trigger_word,
                _ => return None,
            },
            [part, key] => {
                let who = match part.as_ref() {
                    "user" => &self.user,
                    "channel" => &self.channel,
                    "team" => &self.team,
                    "captures" => return self.captures.get(key.as_ref()).map(String::as_str),
                    _ => return None,
                };
                match key.as_ref() {
                    "id" => &who.id,
                    "name" => &who.name,
                    _ => return None,
                }
            }
            _ => return None,
        };
        Some(text)
    }
}

impl Object for Context {
    fn get_value(self: &Arc<Self>, key: &minijinja::Value) -> Option<minijinja::Value> {
        use minijinja::Value as V;
        let view = |part| {
            V::from_object(View {
                context: Arc::clone(self),
                part,
            })
        };
        Some(match key.as_str()? {
            "route" => V::from(self.route.as_str()),
            "user" => view(Part::User),
            "channel" => view(Part::Channel),
            "team" => view(Part::Team),
            "command" => V::from(self.command.as_str()),
            "text" => V::from(self.text.as_str()),
            "root_id" => V::from(self.root_id.as_str()),
            "post_id" => V::from(self.post_id.as_str()),
            "user_mentions" => V::from_serialize(&self.user_mentions),
            "channel_mentions" => V::from_serialize(&self.channel_mentions),
            "args" => view(Part::Args),
            "submission" => view(Part::Submission),
            "captures" => view(Part::Captures),
            "trigger_word" => V::from(self.trigger_word.as_str()),
            "context" => view(Part::Context),
            "post_props" => view(Part::PostProps),
            other => return self.results.get(other).map(json_value),
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        // Sorted, as a serialised map iterates.
        let mut keys: Vec<&str> = KEYS.to_vec();
        keys.extend(self.results.keys().map(String::as_str));
        keys.sort_unstable();
        keys.dedup();
        Enumerator::Values(keys.into_iter().map(minijinja::Value::from).collect())
    }
}

/// A map inside the context (`user`, `args` …) seen in place: a template reading `user.name`
/// or `args.text` gets that one value, without the map being copied into a template map first.
#[derive(Debug)]
struct View {
    context: Arc<Context>,
    part: Part,
}

#[derive(Debug, Clone, Copy)]
enum Part {
    User,
    Channel,
    Team,
    Args,
    Submission,
    Captures,
    Context,
    PostProps,
}

impl View {
    fn who(&self) -> Option<&Who> {
        match self.part {
            Part::User => Some(&self.context.user),
            Part::Channel => Some(&self.context.channel),
            Part::Team => Some(&self.context.team),
            _ => None,
        }
    }

    fn json_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self.part {
            Part::Args => Some(&self.context.args),
            Part::Submission => Some(&self.context.submission),
            Part::Context => Some(&self.context.context),
            Part::PostProps => Some(&self.context.post_props),
            _ => None,
        }
    }
}

impl Object for View {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &minijinja::Value) -> Option<minijinja::Value> {
        let key = key.as_str()?;
        if let Some(who) = self.who() {
            return match key {
                "id" => Some(minijinja::Value::from(who.id.as_str())),
                "name" => Some(minijinja::Value::from(who.name.as_str())),
                _ => None,
            };
        }
        if let Some(map) = self.json_map() {
            let value = map.get(key)?;
            if let (Part::Args, Some(id), Value::String(name)) =
                (self.part, self.context.arg_ids.get(key), value)
            {
                return Some(minijinja::Value::from_object(CheckedArg {
                    id: id.clone(),
                    name: name.clone(),
                }));
            }
            return Some(json_value(value));
        }
        self.context
            .captures
            .get(key)
            .map(|v| minijinja::Value::from(v.as_str()))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        if self.who().is_some() {
            return Enumerator::Str(&["id", "name"]);
        }
        let keys: Vec<minijinja::Value> = match self.json_map() {
            Some(map) => map
                .keys()
                .map(|k| minijinja::Value::from(k.as_str()))
                .collect(),
            None => self
                .context
                .captures
                .keys()
                .map(|k| minijinja::Value::from(k.as_str()))
                .collect(),
        };
        Enumerator::Values(keys)
    }
}

/// A checked `user` or `channel` argument: renders as its name, with `.id` and `.name`.
#[derive(Debug)]
struct CheckedArg {
    id: String,
    name: String,
}

impl Object for CheckedArg {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &minijinja::Value) -> Option<minijinja::Value> {
        match key.as_str()? {
            "id" => Some(minijinja::Value::from(self.id.as_str())),
            "name" => Some(minijinja::Value::from(self.name.as_str())),
            _ => None,
        }
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

/// A JSON value as a template value; strings and booleans directly, the rest serialised.
fn json_value(value: &Value) -> minijinja::Value {
    match value {
        Value::String(s) => minijinja::Value::from(s.as_str()),
        Value::Bool(b) => minijinja::Value::from(*b),
        other => minijinja::Value::from_serialize(other),
    }
}

/// The keys a route declares, for [`Context::sample`].
#[derive(Debug, Clone, Default)]
pub struct SampleShape {
    /// `[[args]]` names.
    pub args: Vec<String>,
    /// The `user` and `channel` arguments among them (they get an `.id`).
    pub mentions: Vec<String>,
    /// Arguments whose values are not text (integers, booleans), with a sample of their type,
    /// so `{{ args.n + 1 }}` renders as it will at run time.
    pub typed_args: BTreeMap<String, Value>,
    /// Dialog element names.
    pub submission: Vec<String>,
    /// Named captures of the hook pattern.
    pub captures: Vec<String>,
    /// Button context keys.
    pub context: Vec<String>,
    /// Results available to the template.
    pub results: BTreeMap<String, Value>,
}

/// The keys of `args`, `captures` and `context` that some trigger of a route provides. A
/// route's actions may read what any of its triggers provides (a `[command]`'s arguments, a
/// hook's captures, each button's context); when another trigger runs it, those keys are
/// empty text rather than undefined, as the templates reference says.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeclaredKeys {
    args: Vec<String>,
    captures: Vec<String>,
    context: Vec<String>,
}

impl DeclaredKeys {
    /// The keys of `shape`'s arguments, captures and button contexts.
    pub(crate) fn of(shape: &SampleShape) -> Self {
        DeclaredKeys {
            args: shape.args.clone(),
            captures: shape.captures.clone(),
            context: shape.context.clone(),
        }
    }

    /// Adds every declared key `context` lacks, as empty text.
    pub(crate) fn fill(&self, context: &mut Context) {
        let empty = || Value::String(String::new());
        for key in &self.args {
            if !context.args.contains_key(key) {
                context.args.insert(key.clone(), empty());
            }
        }
        for key in &self.captures {
            if !context.captures.contains_key(key) {
                context.captures.insert(key.clone(), String::new());
            }
        }
        for key in &self.context {
            if !context.context.contains_key(key) {
                context.context.insert(key.clone(), empty());
            }
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_string_read_in_place_is_the_value_a_template_reads() {
        let mut context = Context::sample("hello", &SampleShape::default());
        context.captures.insert("x".into(), "captured".into());
        let value = context.to_template_value();
        let paths = [
            "route",
            "command",
            "text",
            "root_id",
            "post_id",
            "trigger_word",
            "user.id",
            "user.name",
            "channel.id",
            "channel.name",
            "team.id",
            "team.name",
            "captures.x",
        ];
        for path in paths {
            let segments: Vec<Box<str>> = path.split('.').map(Box::from).collect();
            let in_place = context.str_at(&segments);
            let mut looked_up = value.clone();
            for segment in &segments {
                looked_up = looked_up.get_attr(segment).unwrap();
            }
            assert_eq!(in_place, looked_up.as_str(), "{path}");
            assert!(in_place.is_some(), "{path}");
        }
        for path in [
            "args.x",
            "captures.missing",
            "user.email",
            "results",
            "user",
        ] {
            let segments: Vec<Box<str>> = path.split('.').map(Box::from).collect();
            assert_eq!(context.str_at(&segments), None, "{path}");
        }
    }
    use super::*;

    /// The lazy template value shows templates exactly what serialising the context does.
    #[test]
    fn the_template_value_matches_the_serialised_context() {
        let shape = SampleShape {
            args: vec!["text".into()],
            results: BTreeMap::from([("exec".to_owned(), serde_json::json!({"code": 0}))]),
            ..SampleShape::default()
        };
        let context = Context::sample("hello", &shape);
        let serialised = minijinja::Value::from_serialize(&context);
        let lazy = context.to_template_value();
        let keys: Vec<String> = serialised
            .try_iter()
            .into_iter()
            .flatten()
            .map(|k| k.to_string())
            .collect();
        assert_eq!(keys.len(), KEYS.len() + 1);
        let lazy_keys: Vec<String> = lazy
            .try_iter()
            .into_iter()
            .flatten()
            .map(|k| k.to_string())
            .collect();
        assert_eq!(lazy_keys, keys);
        for key in &keys {
            let a = serialised.get_attr(key).map(|v| v.to_string()).ok();
            let b = lazy.get_attr(key).map(|v| v.to_string()).ok();
            assert_eq!(a, b, "{key}");
        }
        // Expressions over the nested maps (seen in place) render as over serialised ones.
        let mut sample = context.clone();
        sample.submission.insert("n".into(), serde_json::json!(3));
        sample
            .submission
            .insert("ok".into(), serde_json::json!(true));
        sample
            .submission
            .insert("none".into(), serde_json::Value::Null);
        sample.captures.insert("word".into(), "deploy".into());
        sample
            .post_props
            .insert("votes".into(), serde_json::json!({"a": ["u1"]}));
        let env = minijinja::Environment::new();
        for expression in [
            "{{ user }}",
            "{{ user.name }}|{{ user['id'] }}|{{ user.missing is undefined }}",
            "{{ args|length }}|{{ 'text' in args }}|{{ args|tojson }}",
            "{% for k, v in submission|items %}{{ k }}={{ v }};{% endfor %}",
            "{{ submission.n + 1 }}|{{ submission.ok }}|{{ submission.none is none }}",
            "{{ captures.word }}|{{ captures|list }}|{{ post_props.votes.a[0] }}",
            "{{ team|dictsort }}|{{ channel.name|upper }}",
        ] {
            let serialised = env
                .render_str(expression, minijinja::Value::from_serialize(&sample))
                .unwrap();
            let lazy = env
                .render_str(expression, sample.to_template_value())
                .unwrap();
            assert_eq!(lazy, serialised, "{expression}");
        }
        assert!(lazy.get_attr("trigger_id").is_ok_and(|v| v.is_undefined()));
        assert!(
            lazy.get_attr("response_url")
                .is_ok_and(|v| v.is_undefined())
        );
    }
}
