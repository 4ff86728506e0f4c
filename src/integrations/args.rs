//! Slash-command arguments: the declared `[[args]]` turned into a parser, a usage text and an
//! autocomplete hint.
//!
//! The text after the trigger is split into words like a shell would, but without any
//! expansion: `"two words"` and `'two words'` are one word, `\"` escapes inside double quotes.
//! `--name value`, `--name=value` and `--flag` are options; every other word fills the next
//! positional argument. A `rest` argument takes the remaining text verbatim.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::spec::{ArgSpec, ArgType};

/// Why the text does not fit the declared arguments. Shown to the user with the usage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    /// A quote was opened and never closed.
    #[error("a {0} quote is not closed")]
    UnclosedQuote(char),
    /// `--name` that is not declared.
    #[error("unknown option `--{0}`")]
    UnknownOption(String),
    /// `--name` with no value after it.
    #[error("option `--{0}` needs a value")]
    MissingValue(String),
    /// More positional words than declared.
    #[error("unexpected argument `{0}`")]
    Unexpected(String),
    /// A required argument is missing.
    #[error("missing required argument `{0}`")]
    Missing(String),
    /// A value of the wrong type.
    #[error("`{name}`: {message}")]
    Invalid {
        /// The argument.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The same option twice.
    #[error("option `--{0}` given twice")]
    Repeated(String),
}

/// The outcome of parsing a command's text.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// `help` was asked for.
    Help,
    /// The values, by argument name (`args.<name>` in templates).
    Args(BTreeMap<String, Value>),
}

/// A command's declared arguments.
#[derive(Debug, Clone, Default)]
pub struct ArgParser {
    args: Vec<ArgSpec>,
}

impl ArgParser {
    /// A parser for `args`, which [`ArgParser::check`] has accepted.
    pub fn new(args: Vec<ArgSpec>) -> Self {
        ArgParser { args }
    }

    /// The `user` and `channel` arguments: their names and types (their values are checked
    /// against Mattermost before the route runs).
    pub fn mentions(&self) -> impl Iterator<Item = (&str, ArgType)> {
        self.args
            .iter()
            .filter(|a| matches!(a.kind, ArgType::User | ArgType::Channel))
            .map(|a| (a.name.as_str(), a.kind))
    }

    /// Whether no arguments are declared (then the text is passed through untouched and
    /// `help` is not special).
    pub fn is_empty(&self) -> bool {
        self.args.is_empty()
    }

    /// Problems with the declaration itself, as `(index, key, message)`.
    pub fn check(args: &[ArgSpec]) -> Vec<(usize, &'static str, String)> {
        let mut problems = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut after_rest = false;
        for (i, arg) in args.iter().enumerate() {
            let valid_name = !arg.name.is_empty()
                && arg
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
                && arg.name != "help";
            if !valid_name {
                problems.push((
                    i,
                    "name",
                    format!(
                        "`{}`: names are lower-case letters, digits, `_` or `-`, and not `help`",
                        arg.name
                    ),
                ));
            }
            if !seen.insert(arg.name.as_str()) {
                problems.push((i, "name", format!("`{}` is declared twice", arg.name)));
            }
            if arg.kind == ArgType::Choice && arg.choices.is_empty() {
                problems.push((i, "choices", "a choice needs `choices`".into()));
            }
            if arg.kind != ArgType::Choice && !arg.choices.is_empty() {
                problems.push((i, "choices", "only `type = \"choice\"` has choices".into()));
            }
            if arg.rest && (arg.option || arg.kind != ArgType::String) {
                problems.push((
                    i,
                    "rest",
                    "only a positional string can take the rest".into(),
                ));
            }
            if is_positional(arg) && after_rest {
                problems.push((
                    i,
                    "rest",
                    "no positional argument may follow a `rest` argument".into(),
                ));
            }
            after_rest |= arg.rest;
            if arg.required && arg.default.is_some() {
                problems.push((i, "default", "a required argument has no default".into()));
            }
            if let Some(default) = &arg.default {
                let text = match default {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if let Err(e) = convert(arg, &text) {
                    problems.push((i, "default", e.to_string()));
                }
            }
        }
        problems
    }

    /// Parses the text after the trigger.
    pub fn parse(&self, text: &str) -> Result<Parsed, ArgError> {
        let text = text.trim();
        if text == "help" || text == "--help" {
            return Ok(Parsed::Help);
        }
        let mut values = BTreeMap::new();
        let positional: Vec<&ArgSpec> = self.args.iter().filter(|a| is_positional(a)).collect();
        let mut next_positional = 0;
        let mut rest = text;
        while let Some((word, quoted, remaining)) = next_word(rest)? {
            if let (Some(name), false) = (word.strip_prefix("--"), quoted) {
                let (name, inline) = match name.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_owned())),
                    None => (name, None),
                };
                let arg = self
                    .args
                    .iter()
                    .find(|a| a.name == name && !is_positional(a))
                    .ok_or_else(|| ArgError::UnknownOption(name.to_owned()))?;
                if values.contains_key(&arg.name) {
                    return Err(ArgError::Repeated(arg.name.clone()));
                }
                let value = if arg.kind == ArgType::Boolean && inline.is_none() {
                    Value::Bool(true)
                } else {
                    let raw = match inline {
                        Some(v) => v,
                        None => {
                            let (v, _, after) = next_word(remaining)?
                                .ok_or_else(|| ArgError::MissingValue(arg.name.clone()))?;
                            rest = after;
                            values.insert(arg.name.clone(), convert(arg, &v)?);
                            continue;
                        }
                    };
                    convert(arg, &raw)?
                };
                values.insert(arg.name.clone(), value);
                rest = remaining;
                continue;
            }
            let Some(arg) = positional.get(next_positional) else {
                return Err(ArgError::Unexpected(word));
            };
            next_positional += 1;
            if arg.rest {
                // The rest of the text, verbatim, from where this word starts.
                let verbatim = rest.trim_start();
                let value = if quoted && next_word(remaining)?.is_none() {
                    word
                } else {
                    verbatim.to_owned()
                };
                values.insert(arg.name.clone(), convert(arg, &value)?);
                break;
            }
            values.insert(arg.name.clone(), convert(arg, &word)?);
            rest = remaining;
        }
        for arg in &self.args {
            // A blank value (`"   "`) does not fill a required argument.
            let blank = values
                .get(&arg.name)
                .and_then(Value::as_str)
                .is_some_and(|v| v.trim().is_empty());
            if values.contains_key(&arg.name) && !(blank && arg.required) {
                continue;
            }
            if arg.required {
                return Err(ArgError::Missing(arg.name.clone()));
            }
            let value = match &arg.default {
                Some(toml::Value::String(s)) => convert(arg, s)?,
                Some(other) => convert(arg, &other.to_string())?,
                None if arg.kind == ArgType::Boolean => Value::Bool(false),
                None => Value::Null,
            };
            values.insert(arg.name.clone(), value);
        }
        Ok(Parsed::Args(values))
    }

    /// The autocomplete hint, e.g. `<env> [--force] [--tag value]`.
    pub fn hint(&self) -> String {
        let mut parts = Vec::new();
        for arg in self.args.iter().filter(|a| is_positional(a)) {
            let mut shown = match arg.kind {
                ArgType::Choice => arg.choices.join("|"),
                ArgType::User => format!("@{}", arg.name),
                ArgType::Channel => format!("~{}", arg.name),
                _ => arg.name.clone(),
            };
            if arg.rest {
                shown.push_str("...");
            }
            parts.push(if arg.required {
                format!("<{shown}>")
            } else {
                format!("[{shown}]")
            });
        }
        for arg in self.args.iter().filter(|a| !is_positional(a)) {
            let option = if arg.kind == ArgType::Boolean {
                format!("--{}", arg.name)
            } else {
                format!("--{} {}", arg.name, placeholder(arg))
            };
            parts.push(if arg.required {
                option
            } else {
                format!("[{option}]")
            });
        }
        parts.join(" ")
    }

    /// The usage text for `/<trigger> help` and usage errors.
    pub fn usage(&self, trigger: &str, description: &str) -> String {
        let mut out = format!("Usage: `/{trigger} {}`", self.hint());
        if !description.is_empty() {
            let _ = write!(out, "\n{description}");
        }
        if !self.args.is_empty() {
            out.push('\n');
        }
        for arg in &self.args {
            let name = if is_positional(arg) {
                arg.name.clone()
            } else {
                format!("--{}", arg.name)
            };
            let _ = write!(out, "\n- `{name}` ({}", type_name(arg));
            if arg.required {
                out.push_str(", required");
            }
            if let Some(default) = &arg.default {
                let _ = write!(out, ", default {default}");
            }
            out.push(')');
            if !arg.help.is_empty() {
                let _ = write!(out, ": {}", arg.help);
            }
        }
        out
    }
}

fn is_positional(arg: &ArgSpec) -> bool {
    !arg.option && arg.kind != ArgType::Boolean
}

fn placeholder(arg: &ArgSpec) -> String {
    match arg.kind {
        ArgType::Choice => arg.choices.join("|"),
        ArgType::User => "@user".into(),
        ArgType::Channel => "~channel".into(),
        ArgType::Integer => "number".into(),
        _ => "value".into(),
    }
}

fn type_name(arg: &ArgSpec) -> String {
    match arg.kind {
        ArgType::String => "text".into(),
        ArgType::Integer => "whole number".into(),
        ArgType::Boolean => "flag".into(),
        ArgType::Choice => format!("one of {}", arg.choices.join(", ")),
        ArgType::User => "@user".into(),
        ArgType::Channel => "~channel".into(),
    }
}

/// Converts one word to the argument's type.
fn convert(arg: &ArgSpec, word: &str) -> Result<Value, ArgError> {
    let invalid = |message: String| ArgError::Invalid {
        name: arg.name.clone(),
        message,
    };
    if let Some(problem) = super::dialog::control_character(word, true) {
        return Err(invalid(problem));
    }
    match arg.kind {
        ArgType::String => Ok(Value::String(word.to_owned())),
        ArgType::Integer => word.parse::<i64>().map(Value::from).map_err(|e| {
            // A whole number out of range is still a whole number: say what is wrong with it.
            invalid(match e.kind() {
                std::num::IntErrorKind::PosOverflow => {
                    format!("`{word}` is too large (at most {})", i64::MAX)
                }
                std::num::IntErrorKind::NegOverflow => {
                    format!("`{word}` is too small (at least {})", i64::MIN)
                }
                _ => format!("`{word}` is not a whole number"),
            })
        }),
        ArgType::Boolean => match word.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(Value::Bool(true)),
            "false" | "no" | "off" | "0" => Ok(Value::Bool(false)),
            _ => Err(invalid(format!("`{word}` is not true or false"))),
        },
        ArgType::Choice => {
            if arg.choices.iter().any(|c| c == word) {
                Ok(Value::String(word.to_owned()))
            } else {
                Err(invalid(format!(
                    "`{word}` is not one of {}",
                    arg.choices.join(", ")
                )))
            }
        }
        ArgType::User => name_after(word, '@')
            .map(Value::String)
            .ok_or_else(|| invalid(format!("`{word}` is not a @username"))),
        ArgType::Channel => name_after(word, '~')
            .map(Value::String)
            .ok_or_else(|| invalid(format!("`{word}` is not a ~channel"))),
    }
}

/// `@alice` → `alice`; the sigil is required, the name must be a plausible Mattermost name.
fn name_after(word: &str, sigil: char) -> Option<String> {
    let name = word.strip_prefix(sigil)?;
    let plausible = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    plausible.then(|| name.to_owned())
}

/// The next word of `text`: (word, whether it starts with a quote, the text after it). A word
/// that starts with a quote is never an option, so `"--force"` is a value.
fn next_word(text: &str) -> Result<Option<(String, bool, &str)>, ArgError> {
    let text = text.trim_start();
    if text.is_empty() {
        return Ok(None);
    }
    let mut word = String::new();
    let quoted = text.starts_with(['"', '\'', '“', '”']);
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            return Ok(Some((word, quoted, &text[i..])));
        }
        chars.next();
        match c {
            '"' | '\'' | '“' | '”' => {
                let close = match c {
                    '“' => '”',
                    other => other,
                };
                let mut closed = false;
                while let Some((_, inner)) = chars.next() {
                    if inner == close || (c == '”' && inner == '“') {
                        closed = true;
                        break;
                    }
                    if inner == '\\' && close == '"' {
                        if let Some(&(_, escaped)) = chars.peek() {
                            if escaped == '"' || escaped == '\\' {
                                word.push(escaped);
                                chars.next();
                                continue;
                            }
                        }
                    }
                    word.push(inner);
                }
                if !closed {
                    return Err(ArgError::UnclosedQuote(c));
                }
            }
            other => word.push(other),
        }
    }
    Ok(Some((word, quoted, "")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn arg(toml_src: &str) -> ArgSpec {
        toml::from_str(toml_src).unwrap()
    }

    fn deploy() -> ArgParser {
        ArgParser::new(vec![
            arg(
                "name = \"env\"\ntype = \"choice\"\nchoices = [\"staging\", \"prod\"]\nrequired = true",
            ),
            arg("name = \"count\"\ntype = \"integer\"\ndefault = 1"),
            arg("name = \"force\"\ntype = \"boolean\""),
            arg("name = \"owner\"\ntype = \"user\"\noption = true"),
            arg("name = \"note\"\noption = true"),
        ])
    }

    fn args(parsed: Parsed) -> BTreeMap<String, Value> {
        match parsed {
            Parsed::Args(a) => a,
            Parsed::Help => panic!("help"),
        }
    }

    #[test]
    fn positionals_options_flags_and_defaults() {
        let a = args(
            deploy()
                .parse("prod --force --owner @bob --note \"two words\"")
                .unwrap(),
        );
        assert_eq!(a["env"], json!("prod"));
        assert_eq!(a["count"], json!(1));
        assert_eq!(a["force"], json!(true));
        assert_eq!(a["owner"], json!("bob"));
        assert_eq!(a["note"], json!("two words"));
    }

    #[test]
    fn option_equals_form_and_single_quotes() {
        let a = args(deploy().parse("staging 3 --note='it''s ok'").unwrap());
        assert_eq!(a["count"], json!(3));
        assert_eq!(a["note"], json!("its ok"));
        assert_eq!(a["force"], json!(false));
        assert_eq!(a["owner"], Value::Null);
    }

    #[test]
    fn a_whole_number_out_of_range_is_called_too_large_not_a_non_number() {
        let p = deploy();
        let message = |line: &str| match p.parse(line) {
            Err(ArgError::Invalid { message, .. }) => message,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            message("prod 99999999999999999999"),
            "`99999999999999999999` is too large (at most 9223372036854775807)"
        );
        assert_eq!(
            message("prod -99999999999999999999"),
            "`-99999999999999999999` is too small (at least -9223372036854775808)"
        );
        assert_eq!(message("prod many"), "`many` is not a whole number");
    }

    #[test]
    fn errors_name_the_argument() {
        let p = deploy();
        assert_eq!(p.parse(""), Err(ArgError::Missing("env".into())));
        assert!(matches!(p.parse("dev"), Err(ArgError::Invalid { name, .. }) if name == "env"));
        assert!(
            matches!(p.parse("prod many"), Err(ArgError::Invalid { name, .. }) if name == "count")
        );
        assert_eq!(
            p.parse("prod 1 extra"),
            Err(ArgError::Unexpected("extra".into()))
        );
        assert_eq!(
            p.parse("prod --nope"),
            Err(ArgError::UnknownOption("nope".into()))
        );
        assert_eq!(
            p.parse("prod --note"),
            Err(ArgError::MissingValue("note".into()))
        );
        assert_eq!(
            p.parse("prod --note \"open"),
            Err(ArgError::UnclosedQuote('"'))
        );
        assert!(matches!(
            p.parse("prod --owner bob"),
            Err(ArgError::Invalid { .. })
        ));
        assert_eq!(
            p.parse("prod --force --force"),
            Err(ArgError::Repeated("force".into()))
        );
    }

    #[test]
    fn a_control_character_is_refused_naming_the_argument() {
        let p = ArgParser::new(vec![
            arg("name = \"env\""),
            arg("name = \"message\"\nrest = true"),
        ]);
        assert!(
            matches!(p.parse("prod\u{0}x"), Err(ArgError::Invalid { name, message })
                if name == "env" && message.contains("NUL"))
        );
        assert!(
            matches!(p.parse("prod the \u{1b}[2J end"), Err(ArgError::Invalid { name, .. }) if name == "message")
        );
        let Parsed::Args(a) = p.parse("prod two\nlines\tok").unwrap() else {
            panic!("help")
        };
        assert_eq!(a["message"], json!("two\nlines\tok"));
    }

    #[test]
    fn a_blank_required_argument_is_missing() {
        let p = ArgParser::new(vec![arg(
            "name = \"question\"\nrest = true\nrequired = true",
        )]);
        for text in ["\"   \"", "'  '", "\"\""] {
            assert_eq!(
                p.parse(text),
                Err(ArgError::Missing("question".into())),
                "{text}"
            );
        }
    }

    #[test]
    fn a_quoted_double_dash_is_a_value_not_an_option() {
        let p = ArgParser::new(vec![arg("name = \"word\"")]);
        assert_eq!(
            args(p.parse("\"--force\"").unwrap())["word"],
            json!("--force")
        );
    }

    #[test]
    fn rest_takes_the_remaining_text_verbatim() {
        let p = ArgParser::new(vec![
            arg("name = \"who\"\ntype = \"user\"\nrequired = true"),
            arg("name = \"message\"\nrest = true"),
        ]);
        let a = args(p.parse("@alice  the  build is \"red\"").unwrap());
        assert_eq!(a["who"], json!("alice"));
        assert_eq!(a["message"], json!("the  build is \"red\""));
    }

    #[test]
    fn help_and_usage_are_generated_from_the_declaration() {
        let p = deploy();
        assert_eq!(p.parse(" help ").unwrap(), Parsed::Help);
        assert_eq!(
            p.hint(),
            "<staging|prod> [count] [--force] [--owner @user] [--note value]"
        );
        let usage = p.usage("deploy", "Deploy the app");
        assert!(
            usage.starts_with("Usage: `/deploy <staging|prod>"),
            "{usage}"
        );
        assert!(
            usage.contains("- `env` (one of staging, prod, required)"),
            "{usage}"
        );
        assert!(
            usage.contains("- `count` (whole number, default 1)"),
            "{usage}"
        );
    }

    #[test]
    fn bad_declarations_are_reported() {
        let problems = ArgParser::check(&[
            arg("name = \"Env\""),
            arg("name = \"c\"\ntype = \"choice\""),
            arg("name = \"n\"\ntype = \"integer\"\ndefault = \"x\""),
            arg("name = \"n\""),
        ]);
        let keys: Vec<_> = problems.iter().map(|(i, k, _)| (*i, *k)).collect();
        assert_eq!(
            keys,
            vec![(0, "name"), (1, "choices"), (2, "default"), (3, "name")]
        );
    }
}
