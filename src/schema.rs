//! The JSON Schema of the route language (`routes/*.toml`), generated from the same types that
//! parse it ([`crate::integrations::RouteFile`] and the types it holds) so it cannot drift from the loader. Field doc comments
//! become the schema's descriptions, which editors show on hover.
//!
//! The schema is committed as [`SCHEMA_FILE`]; route files point at it with Taplo's header
//! directive `#:schema ../schema/route.schema.json`, which Taplo and the VS Code extension
//! *Even Better TOML* read for completion, hover docs and inline errors. `switchboard schema`
//! prints it, and a test fails when the committed file is stale.
//!
//! Draft 7 is emitted: it is the draft TOML language servers validate best (SchemaStore's
//! schemas for Cargo.toml and friends are draft 7 too).
//!
//! The schema says what each key may hold; rules that span keys (exactly one main action, an
//! `on_submit` naming a key of `[actions]`, a valid `pattern`) are `switchboard check`'s job.

use schemars::generate::SchemaSettings;
use schemars::{Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::integrations::RouteFile;

/// Where the schema is committed, relative to the repository root.
pub const SCHEMA_FILE: &str = "schema/route.schema.json";

/// The directive that makes Taplo (and Even Better TOML) validate a file in `routes/` against
/// the committed schema. It must come before any key: Taplo reads it only as a header.
pub const SCHEMA_DIRECTIVE: &str = "#:schema ../schema/route.schema.json";

/// The route language's JSON Schema, as a JSON value.
pub fn route_schema() -> Value {
    let generator = SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<RouteFile>().to_value();
    if let Value::Object(root) = &mut schema {
        root.insert("title".into(), json!("Switchboard route file"));
        root.insert(
            "description".into(),
            json!(
                "One route in routes/*.toml: a trigger ([command] and/or [hook]), optional \
                 [[args]] and [access], exactly one main action ([reply], [dialog], [exec], \
                 [http] or [post]) and follow-up [actions.<name>]. Generated from Switchboard's \
                 route types by `switchboard schema`."
            ),
        );
    }
    drop_null_types(&mut schema);
    schema
}

/// The schema as the committed file holds it: pretty-printed, with a final newline.
pub fn route_schema_json() -> String {
    let mut text = serde_json::to_string_pretty(&route_schema())
        .unwrap_or_else(|e| format!("{{\"error\": \"schema does not serialise: {e}\"}}"));
    text.push('\n');
    text
}

/// Schema of `[[args]] default`: a TOML string, integer or boolean (matching the argument's
/// type, which `check` enforces). Used by `#[schemars(schema_with)]` in the spec.
pub(crate) fn arg_default(_: &mut SchemaGenerator) -> Schema {
    let mut schema = Map::new();
    schema.insert("type".into(), json!(["string", "integer", "boolean"]));
    schema.insert(
        "description".into(),
        json!("Value when not given (a string, integer or boolean matching the type)."),
    );
    Schema::from(schema)
}

/// TOML has no null, so `Option` fields are simply optional: drop the `null` alternatives
/// schemars adds (`"type": ["string", "null"]`, `anyOf: [.., {"type": "null"}]`), which editors
/// would otherwise offer and show in hover text.
fn drop_null_types(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            let is_null = |v: &Value| v.get("type").is_some_and(|t| t == "null");
            for key in ["anyOf", "oneOf"] {
                if let Some(Value::Array(options)) = map.get_mut(key) {
                    options.retain(|o| !is_null(o));
                    if options.len() == 1 {
                        let only = options.remove(0);
                        map.remove(key);
                        match only {
                            // Draft 7 ignores keys beside `$ref`: wrap it as schemars does.
                            Value::Object(inner) if inner.contains_key("$ref") => {
                                map.insert("allOf".into(), json!([inner]));
                            }
                            Value::Object(inner) => {
                                for (k, v) in inner {
                                    map.entry(k).or_insert(v);
                                }
                            }
                            other => {
                                map.insert("allOf".into(), json!([other]));
                            }
                        }
                    }
                }
            }
            if map.get("default").is_some_and(Value::is_null) {
                map.remove("default");
            }
            map.values_mut().for_each(drop_null_types);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null_types),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_has_no_null_alternatives() {
        let text = route_schema_json();
        assert!(!text.contains("\"null\""), "{text}");
    }
}
