//! The templates most routes write, rendered without minijinja's machinery: text,
//! `{{ name }}` / `{{ name.attr.attr }}`, and `{% if name %}…{% else %}…{% endif %}` on such a
//! name. A reply like `Hello, @{{ user.name }}! {% if text %}…{% endif %}` spent 12 000
//! instructions a callback in minijinja (compiling nothing, but setting up a render state,
//! evaluating instructions, and going through the formatter's trait objects) against a few
//! hundred here: a sixth of a slash command's cost (#12).
//!
//! Only a template whose whole source is in that subset gets a [`Program`]; any other tag,
//! whitespace control (`{{-`), comment or literal makes [`Program::parse`] give up and the
//! template renders through minijinja as before. A render that meets anything but a defined
//! value (an undefined name or attribute, which minijinja's strict mode refuses) gives up too,
//! and minijinja renders it again and reports the error in its words. So both paths print the
//! same text for every template and context (a test renders both and compares).

use minijinja::Value;

use crate::integrations::context::Context;
use crate::integrations::escape::{self, Kind};

/// A template in the subset, parsed.
#[derive(Debug)]
pub(super) struct Program {
    pieces: Vec<Piece>,
    /// Bytes of literal text: the output is at least this long.
    literal_len: usize,
}

#[derive(Debug)]
enum Piece {
    Text(Box<str>),
    /// `{{ path }}`.
    Value(Path),
    /// `{% if test %}then{% else %}otherwise{% endif %}`.
    If {
        test: Path,
        then: Vec<Piece>,
        otherwise: Vec<Piece>,
    },
}

/// `name.attr.attr`: a context key, then attributes.
#[derive(Debug)]
struct Path(Box<[Box<str>]>);

/// Where a run of pieces stopped.
enum Stop {
    Source,
    Else,
    EndIf,
}

impl Program {
    /// The program of `source`, when it is all in the subset (see the module docs). `source`
    /// has compiled with minijinja already.
    pub(super) fn parse(source: &str) -> Option<Program> {
        let mut rest = source;
        let (pieces, end) = block(&mut rest)?;
        let literal_len = literal_len(&pieces);
        matches!(end, Stop::Source).then_some(Program {
            pieces,
            literal_len,
        })
    }

    /// The rendered text before [`escape::finish`], or `None` when minijinja must render it
    /// (a name or attribute is undefined).
    pub(super) fn render(&self, root: &Value, kind: Kind) -> Option<String> {
        let mut out = String::with_capacity(self.literal_len + 32);
        render(&self.pieces, root, kind, &mut out)?;
        Some(out)
    }
}

fn literal_len(pieces: &[Piece]) -> usize {
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Text(text) => text.len(),
            Piece::Value(_) => 0,
            Piece::If {
                then, otherwise, ..
            } => literal_len(then).min(literal_len(otherwise)),
        })
        .sum()
}

/// Pieces up to the end of `rest` or to an `{% else %}` / `{% endif %}`, which is consumed.
fn block(rest: &mut &str) -> Option<(Vec<Piece>, Stop)> {
    let mut pieces = Vec::new();
    loop {
        let Some(at) = tag_start(rest) else {
            if !rest.is_empty() {
                pieces.push(Piece::Text((*rest).into()));
            }
            *rest = "";
            return Some((pieces, Stop::Source));
        };
        if at > 0 {
            pieces.push(Piece::Text(rest[..at].into()));
        }
        let tag = &rest[at..];
        if let Some(expression) = tag.strip_prefix("{{") {
            let (inner, after) = expression.split_once("}}")?;
            pieces.push(Piece::Value(path(inner)?));
            *rest = after;
        } else {
            // `{%` (a `{#` comment is not in the subset).
            let statement = tag.strip_prefix("{%")?;
            let (inner, after) = statement.split_once("%}")?;
            *rest = after;
            let inner = inner.trim_matches(char::is_whitespace);
            match inner {
                "else" => return Some((pieces, Stop::Else)),
                "endif" => return Some((pieces, Stop::EndIf)),
                _ => {}
            }
            let test = inner.strip_prefix("if")?;
            if !test.starts_with(char::is_whitespace) {
                return None;
            }
            let test = path(test)?;
            let (then, end) = block(rest)?;
            let otherwise = match end {
                Stop::EndIf => Vec::new(),
                Stop::Else => match block(rest)? {
                    (otherwise, Stop::EndIf) => otherwise,
                    _ => return None,
                },
                Stop::Source => return None,
            };
            pieces.push(Piece::If {
                test,
                then,
                otherwise,
            });
        }
    }
}

/// Where the next `{{`, `{%` or `{#` starts.
fn tag_start(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = bytes[from..].iter().position(|b| *b == b'{') {
        let at = from + i;
        if matches!(bytes.get(at + 1), Some(b'{' | b'%' | b'#')) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// `name.attr…` between a tag's delimiters, with whitespace around it; `None` for anything
/// else (filters, operators, literals, whitespace control).
fn path(inner: &str) -> Option<Path> {
    let inner = inner.trim_matches(char::is_whitespace);
    let segments: Vec<Box<str>> = inner.split('.').map(Box::from).collect();
    let identifier = |s: &str| {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
            && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
    };
    let literal = matches!(
        segments.first().map(AsRef::as_ref),
        Some("true" | "false" | "none" | "True" | "False" | "None")
    );
    (!literal && segments.iter().all(|s| identifier(s))).then(|| Path(segments.into()))
}

fn render(pieces: &[Piece], root: &Value, kind: Kind, out: &mut String) -> Option<()> {
    // A route's context is read in place where it can be (its strings, its known names);
    // any other context through minijinja's values.
    let context = root.downcast_object_ref::<Context>();
    let lookup = |name: &str| root.get_attr(name).ok().filter(|v| !v.is_undefined());
    let known = match context {
        Some(context) => escape::KnownNames::Context(context),
        None => escape::KnownNames::Lookup(&lookup),
    };
    render_with(pieces, root, context, kind, &known, out)
}

fn render_with(
    pieces: &[Piece],
    root: &Value,
    context: Option<&Context>,
    kind: Kind,
    known: &escape::KnownNames<'_>,
    out: &mut String,
) -> Option<()> {
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Value(path) => match context.and_then(|c| c.str_at(&path.0)) {
                Some(text) => escape::write_text(out, kind, text, known).ok()?,
                None => {
                    let value = lookup(root, path)?;
                    escape::write_value(out, kind, &value, known).ok()?;
                }
            },
            Piece::If {
                test,
                then,
                otherwise,
            } => {
                let truthy = match context.and_then(|c| c.str_at(&test.0)) {
                    Some(text) => !text.is_empty(),
                    None => lookup(root, test)?.is_true(),
                };
                let branch = if truthy { then } else { otherwise };
                render_with(branch, root, context, kind, known, out)?;
            }
        }
    }
    Some(())
}

/// The value at `path`; `None` when any step is undefined.
fn lookup(root: &Value, path: &Path) -> Option<Value> {
    let mut value = root.clone();
    for segment in &path.0 {
        value = value.get_attr(segment).ok()?;
        if value.is_undefined() {
            return None;
        }
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subset_is_text_names_attributes_and_if_else() {
        for source in [
            "plain text",
            "Hello, @{{ user.name }}!",
            "{{text}}",
            "{% if text %}said {{ text }}{% else %}nothing{% endif %}",
            "{% if a %}{% if b %}x{% endif %}{% endif %}",
            "braces { and } and }} stay",
        ] {
            assert!(Program::parse(source).is_some(), "{source}");
        }
        for source in [
            "{{ text | upper }}",
            "{{- text }}",
            "{{ text -}}",
            "{% if not text %}x{% endif %}",
            "{% if text %}x{% elif y %}y{% endif %}",
            "{% for x in y %}{% endfor %}",
            "{# note #}",
            "{{ true }}",
            "{{ 'a' }}",
            "{{ a['b'] }}",
            "{% if text %}unclosed",
            "{% raw %}{{ x }}{% endraw %}",
            "{% iftext %}x{% endif %}",
        ] {
            assert!(Program::parse(source).is_none(), "{source}");
        }
    }
}
