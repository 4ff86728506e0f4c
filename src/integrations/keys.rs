//! Every unknown key of a route file, in one pass.
//!
//! The typed parse (`deny_unknown_fields`) stops at the first unknown key, so a file with four
//! typos would take four runs of `check`. Before giving up on a file, [`unknown_keys`] walks
//! its TOML table against the key sets of the spec types, collects every unknown key and
//! removes it, so the typed parse can then go on and the file's other problems are reported
//! in the same run. The key sets come from the serde derives themselves (see [`fields_of`]),
//! so they cannot drift from the spec; only which key holds which nested type is listed here.

use serde::Deserialize;
use serde::de::{self, Visitor};

use super::spec::{
    AccessSpec, ActionSpec, ArgSpec, AttachmentSpec, ButtonSpec, CommandSpec, DialogSpec,
    ElementSpec, ExecSpec, FieldSpec, HookSpec, HttpSpec, OptionSpec, PostSpec, ReplySpec,
    RouteFile,
};

/// One unknown key: where it is and what would have been accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnknownKey {
    /// The table holding it, as the TOML header names it (`command`, `actions.run.exec`).
    pub section: String,
    /// Its element, for an array of tables (`[[args]]`).
    pub index: Option<usize>,
    /// The key itself.
    pub key: String,
    /// Where it sits inside an inline table (`actions[1]` of an attachment), for the message.
    pub inline: Option<String>,
    /// For a key inside an inline table: the header section, element and key that hold the
    /// inline table, whose line is the best one to show.
    pub anchor: Option<(String, Option<usize>, String)>,
    /// The keys that table accepts.
    pub expected: &'static [&'static str],
}

/// Removes every unknown key from `table` (a whole route file) and returns them, in file
/// order of sections.
pub(crate) fn unknown_keys(table: &mut toml::Table) -> Vec<UnknownKey> {
    let mut found = Vec::new();
    walk(
        table,
        Schema::Route,
        &Place {
            section: String::new(),
            index: None,
            inline: None,
            anchor: None,
        },
        &mut found,
    );
    found
}

/// Where a table sits.
struct Place {
    section: String,
    index: Option<usize>,
    /// Set once inside an inline table: the path from the enclosing header's key.
    inline: Option<String>,
    /// Set once inside an inline table: the header section, element and key holding it.
    anchor: Option<(String, Option<usize>, String)>,
}

impl Place {
    fn child(&self, key: &str, index: Option<usize>) -> Place {
        let section = if self.section.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.section)
        };
        Place {
            section,
            index,
            inline: self.inline.as_ref().map(|path| {
                let mut path = format!("{path}.{key}");
                if let Some(i) = index {
                    path.push_str(&format!("[{i}]"));
                }
                path
            }),
            anchor: self.anchor.clone(),
        }
    }
}

fn walk(table: &mut toml::Table, schema: Schema, place: &Place, found: &mut Vec<UnknownKey>) {
    let expected = schema.fields();
    let unknown: Vec<String> = table
        .keys()
        .filter(|k| !expected.contains(&k.as_str()))
        .cloned()
        .collect();
    for key in unknown {
        table.remove(&key);
        found.push(UnknownKey {
            section: place.section.clone(),
            index: place.index,
            key,
            inline: place.inline.clone(),
            anchor: place.anchor.clone(),
            expected,
        });
    }
    for (key, value) in table.iter_mut() {
        let Some(child) = schema.child(key) else {
            continue;
        };
        match (child, value) {
            (Child::One(s), toml::Value::Table(t)) => walk(t, s, &place.child(key, None), found),
            (Child::Many(s), toml::Value::Array(items)) => {
                for (i, item) in items.iter_mut().enumerate() {
                    if let toml::Value::Table(t) = item {
                        // An inline table in an array: no header of its own.
                        let mut inner = place.child(key, Some(i));
                        if inner.inline.is_none() && !is_array_of_tables(schema, key) {
                            inner.inline = Some(format!("{key}[{i}]"));
                            inner.anchor = Some((place.section.clone(), place.index, key.clone()));
                        }
                        walk(t, s, &inner, found);
                    }
                }
            }
            (Child::MapOf(s), toml::Value::Table(entries)) => {
                for (name, entry) in entries.iter_mut() {
                    if let toml::Value::Table(t) = entry {
                        let named = place.child(key, None);
                        walk(t, s, &named.child(name, None), found);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Arrays usually written as `[[header]]` (their elements have lines of their own).
fn is_array_of_tables(schema: Schema, key: &str) -> bool {
    matches!(
        (schema, key),
        (Schema::Route, "args")
            | (Schema::Reply, "attachments")
            | (Schema::Dialog, "elements")
            | (Schema::Attachment, "fields")
    )
}

/// The spec types that hold tables.
#[derive(Debug, Clone, Copy)]
enum Schema {
    Route,
    Action,
    Command,
    Hook,
    Arg,
    Access,
    Reply,
    Attachment,
    Field,
    Button,
    MenuOption,
    Dialog,
    Element,
    Exec,
    Http,
    Post,
}

#[derive(Debug, Clone, Copy)]
enum Child {
    One(Schema),
    Many(Schema),
    MapOf(Schema),
}

impl Schema {
    fn fields(self) -> &'static [&'static str] {
        match self {
            Schema::Route => fields_of::<RouteFile>(),
            Schema::Action => fields_of::<ActionSpec>(),
            Schema::Command => fields_of::<CommandSpec>(),
            Schema::Hook => fields_of::<HookSpec>(),
            Schema::Arg => fields_of::<ArgSpec>(),
            Schema::Access => fields_of::<AccessSpec>(),
            Schema::Reply => fields_of::<ReplySpec>(),
            Schema::Attachment => fields_of::<AttachmentSpec>(),
            Schema::Field => fields_of::<FieldSpec>(),
            Schema::Button => fields_of::<ButtonSpec>(),
            Schema::MenuOption => fields_of::<OptionSpec>(),
            Schema::Dialog => fields_of::<DialogSpec>(),
            Schema::Element => fields_of::<ElementSpec>(),
            Schema::Exec => fields_of::<ExecSpec>(),
            Schema::Http => fields_of::<HttpSpec>(),
            Schema::Post => fields_of::<PostSpec>(),
        }
    }

    fn child(self, key: &str) -> Option<Child> {
        use Child::{Many, MapOf, One};
        let action = |key: &str| match key {
            "reply" => Some(One(Schema::Reply)),
            "dialog" => Some(One(Schema::Dialog)),
            "exec" => Some(One(Schema::Exec)),
            "http" => Some(One(Schema::Http)),
            "post" => Some(One(Schema::Post)),
            _ => None,
        };
        match (self, key) {
            (Schema::Route, "command") => Some(One(Schema::Command)),
            (Schema::Route, "hook") => Some(One(Schema::Hook)),
            (Schema::Route, "args") => Some(Many(Schema::Arg)),
            (Schema::Route, "access") => Some(One(Schema::Access)),
            (Schema::Route, "actions") => Some(MapOf(Schema::Action)),
            (Schema::Route | Schema::Action, key) => action(key),
            (Schema::Reply, "attachments") => Some(Many(Schema::Attachment)),
            (Schema::Attachment, "fields") => Some(Many(Schema::Field)),
            (Schema::Attachment, "actions") => Some(Many(Schema::Button)),
            (Schema::Button | Schema::Element, "options") => Some(Many(Schema::MenuOption)),
            (Schema::Dialog, "elements") => Some(Many(Schema::Element)),
            (Schema::Http, "reply") => Some(One(Schema::Reply)),
            _ => None,
        }
    }
}

/// The field names serde's derive accepts for `T` (renames applied), read by asking `T` to
/// deserialise from a deserializer that only records what `deserialize_struct` is given.
fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames {
        fields: &mut fields,
    });
    fields
}

struct FieldNames<'a> {
    fields: &'a mut &'static [&'static str],
}

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names recorded")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl<'de> de::Deserializer<'de> for FieldNames<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        *self.fields = fields;
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_sets_come_from_the_spec_types() {
        assert!(fields_of::<CommandSpec>().contains(&"trigger"));
        assert!(fields_of::<ArgSpec>().contains(&"type"), "renames apply");
        assert!(fields_of::<RouteFile>().contains(&"actions"));
    }

    #[test]
    fn every_unknown_key_is_found_and_removed() {
        let mut table: toml::Table = toml::from_str(
            r#"
            descripton = "x"
            [command]
            trigger = "t"
            trigerr = 1
            [[args]]
            name = "a"
            [[args]]
            name = "b"
            requird = true
            [reply]
            text = "hi"
            [[reply.attachments]]
            actions = [{ id = "a", name = "A", action = "x", colour = "red" }]
            [actions.next.exec]
            program = "p"
            timeout = 3
            "#,
        )
        .unwrap();
        let found: Vec<(String, Option<usize>, String, Option<String>)> = unknown_keys(&mut table)
            .into_iter()
            .map(|u| (u.section, u.index, u.key, u.inline))
            .collect();
        let expected = [
            (String::new(), None, "descripton".to_owned(), None),
            ("command".into(), None, "trigerr".into(), None),
            ("args".into(), Some(1), "requird".into(), None),
            (
                "reply.attachments.actions".into(),
                Some(0),
                "colour".into(),
                Some("actions[0]".into()),
            ),
            ("actions.next.exec".into(), None, "timeout".into(), None),
        ];
        for e in &expected {
            assert!(found.contains(e), "{e:?} not in {found:?}");
        }
        assert_eq!(found.len(), expected.len(), "{found:?}");
        let spec: RouteFile = toml::Value::Table(table).try_into().unwrap();
        assert_eq!(spec.args.len(), 2);
    }
}
