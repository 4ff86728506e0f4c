//! `CommandResponse`: what an integration answers to a slash command or `response_url` call,
//! decoded the way Mattermost's Go code decodes it.
//!
//! Go's `encoding/json` differs from serde's defaults in ways integrations can observe: keys
//! match case-insensitively, `null` leaves a field at its zero value, unknown keys are ignored,
//! a wrong JSON type fails the whole decode, and a top-level `null` is an empty response. So we
//! decode from a `serde_json::Value` by hand. Encoding always writes every key, as Go does for a
//! struct without `omitempty`.

use serde_json::{Map, Value, json};

/// A parsed `CommandResponse` (`model.CommandResponse`).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct CommandResponse {
    pub(crate) response_type: String,
    pub(crate) text: String,
    pub(crate) username: String,
    pub(crate) channel_id: String,
    pub(crate) icon_url: String,
    pub(crate) post_type: String,
    pub(crate) props: Option<Map<String, Value>>,
    pub(crate) goto_location: String,
    pub(crate) trigger_id: String,
    pub(crate) skip_slack_parsing: bool,
    /// `None` is Go's nil slice: "no attachments" (an empty list also ends up as `None`).
    pub(crate) attachments: Option<Vec<Value>>,
    pub(crate) extra_responses: Option<Vec<CommandResponse>>,
}

impl CommandResponse {
    /// A plain-text response (`CommandResponseFromPlainText`).
    pub(crate) fn from_text(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            ..Self::default()
        }
    }

    /// `CommandResponseFromHTTPBody`: JSON only if the Content-Type, cut at `;` and trimmed,
    /// is exactly `application/json`; otherwise the whole body is the text.
    pub(crate) fn from_http_body(content_type: &str, body: &[u8]) -> Result<Self, String> {
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        if media_type == "application/json" {
            Self::from_json(body)
        } else {
            Ok(Self::from_text(&String::from_utf8_lossy(body)))
        }
    }

    /// `CommandResponseFromJSON`, including `StringifySlackFieldValue` on attachments.
    pub(crate) fn from_json(body: &[u8]) -> Result<Self, String> {
        let value: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        Self::from_value(&value)
    }

    fn from_value(value: &Value) -> Result<Self, String> {
        let mut out = Self::default();
        let object = match value {
            Value::Null => return Ok(out),
            Value::Object(object) => object,
            other => {
                return Err(format!(
                    "json: cannot unmarshal {} into Go value of type model.CommandResponse",
                    go_type_name(other)
                ));
            }
        };
        for (key, value) in object {
            let key = key.to_ascii_lowercase();
            match key.as_str() {
                "response_type" => set_string(&mut out.response_type, &key, value)?,
                "text" => set_string(&mut out.text, &key, value)?,
                "username" => set_string(&mut out.username, &key, value)?,
                "channel_id" => set_string(&mut out.channel_id, &key, value)?,
                "icon_url" => set_string(&mut out.icon_url, &key, value)?,
                "type" => set_string(&mut out.post_type, &key, value)?,
                "goto_location" => set_string(&mut out.goto_location, &key, value)?,
                "trigger_id" => set_string(&mut out.trigger_id, &key, value)?,
                "skip_slack_parsing" => match value {
                    Value::Null => {}
                    Value::Bool(b) => out.skip_slack_parsing = *b,
                    other => return Err(type_error(&key, other, "bool")),
                },
                "props" => match value {
                    Value::Null => out.props = None,
                    Value::Object(map) => out.props = Some(map.clone()),
                    other => return Err(type_error(&key, other, "model.StringInterface")),
                },
                "attachments" => out.attachments = decode_attachments(value)?,
                "extra_responses" => match value {
                    Value::Null => out.extra_responses = None,
                    Value::Array(items) => {
                        let mut extra = Vec::with_capacity(items.len());
                        for item in items {
                            // A `null` element would be a nil pointer in Go; skip it.
                            if !item.is_null() {
                                extra.push(Self::from_value(item)?);
                            }
                        }
                        out.extra_responses = Some(extra);
                    }
                    other => return Err(type_error(&key, other, "[]*model.CommandResponse")),
                },
                _ => {}
            }
        }
        Ok(out)
    }

    /// The JSON Mattermost returns to the client (every key, `null` for nil slices and maps).
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "response_type": self.response_type,
            "text": self.text,
            "username": self.username,
            "channel_id": self.channel_id,
            "icon_url": self.icon_url,
            "type": self.post_type,
            "props": self.props,
            "goto_location": self.goto_location,
            "trigger_id": self.trigger_id,
            "skip_slack_parsing": self.skip_slack_parsing,
            "attachments": self.attachments,
            "extra_responses": self
                .extra_responses
                .as_ref()
                .map(|extra| extra.iter().map(Self::to_json).collect::<Vec<_>>()),
        })
    }
}

fn set_string(slot: &mut String, key: &str, value: &Value) -> Result<(), String> {
    match value {
        Value::Null => Ok(()),
        Value::String(s) => {
            s.clone_into(slot);
            Ok(())
        }
        other => Err(type_error(key, other, "string")),
    }
}

/// Attachments: objects kept as JSON, `null` elements dropped, field values stringified
/// (`StringifySlackFieldValue`); an empty result is Go's nil.
fn decode_attachments(value: &Value) -> Result<Option<Vec<Value>>, String> {
    let items = match value {
        Value::Null => return Ok(None),
        Value::Array(items) => items,
        other => return Err(type_error("attachments", other, "[]*model.SlackAttachment")),
    };
    let mut out = Vec::new();
    for item in items {
        let mut attachment = match item {
            Value::Null => continue,
            Value::Object(map) => map.clone(),
            other => return Err(type_error("attachments", other, "model.SlackAttachment")),
        };
        if let Some(Value::Array(fields)) = attachment.get_mut("fields") {
            fields.retain(|f| !f.is_null());
            for field in fields.iter_mut() {
                if let Some(v) = field.get_mut("value") {
                    stringify(v);
                }
            }
        }
        out.push(Value::Object(attachment));
    }
    Ok(if out.is_empty() { None } else { Some(out) })
}

/// `fmt.Sprintf("%v", v)` for the JSON scalars integrations put in field values.
fn stringify(value: &mut Value) {
    let text = match &*value {
        Value::Null | Value::String(_) => return,
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), go_float),
        other => other.to_string(),
    };
    *value = Value::String(text);
}

/// Go prints a float64 from JSON with `%v`: integers without a fraction, large values in `e`
/// notation. Close enough for the values integrations send.
fn go_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{f:.0}")
    } else {
        f.to_string()
    }
}

fn go_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_error(key: &str, value: &Value, go_type: &str) -> String {
    format!(
        "json: cannot unmarshal {} into Go struct field CommandResponse.{key} of type {go_type}",
        go_type_name(value)
    )
}

#[cfg(test)]
// Tests may unwrap: a panic is the failure report (see the lint comment in Cargo.toml).
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn content_type_rule_is_exact_after_cutting_parameters() {
        let json = br#"{"text":"hi"}"#;
        let r = CommandResponse::from_http_body("application/json; charset=utf-8", json).unwrap();
        assert_eq!(r.text, "hi");
        let r = CommandResponse::from_http_body(" application/json ", json).unwrap();
        assert_eq!(r.text, "hi");
        // Case-sensitive: anything else is plain text, body and all.
        let r = CommandResponse::from_http_body("Application/JSON", json).unwrap();
        assert_eq!(r.text, r#"{"text":"hi"}"#);
        let r = CommandResponse::from_http_body("", b"").unwrap();
        assert_eq!(r, CommandResponse::default());
    }

    #[test]
    fn empty_or_malformed_json_fails() {
        assert!(CommandResponse::from_http_body("application/json", b"").is_err());
        assert!(CommandResponse::from_http_body("application/json", b"{").is_err());
        assert!(CommandResponse::from_json(br#"{"text": 5}"#).is_err());
        assert!(CommandResponse::from_json(b"[]").is_err());
    }

    #[test]
    fn go_decoding_quirks() {
        assert_eq!(
            CommandResponse::from_json(b"null").unwrap(),
            CommandResponse::default()
        );
        let r = CommandResponse::from_json(
            br#"{"Text":"x","text":null,"unknown":1,"attachments":[],
                "extra_responses":[{"text":"y","attachments":[{"fields":[{"value":5},null]}]}]}"#,
        )
        .unwrap();
        assert_eq!(r.text, "x");
        assert_eq!(r.attachments, None);
        let extra = &r.extra_responses.unwrap()[0];
        assert_eq!(extra.text, "y");
        assert_eq!(
            extra.attachments.as_ref().unwrap()[0]["fields"],
            json!([{"value": "5"}])
        );
    }
}
