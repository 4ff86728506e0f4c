//! Go-compatible JSON helpers: Mattermost decodes into Go structs, where `null` leaves a field
//! at its zero value. Our payload types accept the same.

use serde::{Deserialize, Deserializer};

/// `null` or absent → `T::default()`, as Go's `encoding/json` does.
pub(crate) fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Parses `body` as JSON into `T`, naming the path of the first failing field.
///
/// The path is worked out only for a body that fails: the body is parsed plainly first, and
/// only on failure again with `serde_path_to_error` (which tracks the path of every value,
/// 2.5 % of a dialog submission's cost on the bench's S3 when done for every body).
///
/// A body that is UTF-8 (every body Mattermost sends) is checked as a whole once and parsed
/// as text, so no string in it is checked again (parsing bytes checks each string it keeps:
/// 2 800 instructions of a dialog submission, #12). Anything else takes the error path,
/// which parses the bytes as before.
pub(crate) fn from_slice<T: serde::de::DeserializeOwned>(
    body: &[u8],
) -> Result<T, super::PayloadError> {
    let parsed = std::str::from_utf8(body)
        .ok()
        .and_then(|text| serde_json::from_str(text).ok());
    match parsed {
        Some(value) => Ok(value),
        None => from_slice_with_path(body),
    }
}

/// [`from_slice`]'s error path: the same parse, tracking where it fails.
#[cold]
fn from_slice_with_path<T: serde::de::DeserializeOwned>(
    body: &[u8],
) -> Result<T, super::PayloadError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    // The path holds the caller's object keys, and serde's message may quote a value: both
    // are shortened and escaped before they reach an answer or a log line.
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = super::printable(&e.into_inner().to_string(), 200);
        if path == "." || path.is_empty() {
            super::PayloadError::Malformed(inner)
        } else {
            super::PayloadError::Malformed(format!("{}: {inner}", super::printable(&path, 80)))
        }
    })?;
    de.end()
        .map_err(|e| super::PayloadError::Malformed(e.to_string()))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Payload {
        name: String,
        #[serde(default)]
        tags: Vec<String>,
    }

    /// Whatever serde_json makes of the bytes, as `from_slice` made it before it parsed text.
    fn as_bytes_parse(body: &[u8]) -> Option<Payload> {
        serde_json::from_slice(body).ok()
    }

    #[test]
    fn a_body_parses_as_text_exactly_as_it_parses_as_bytes() {
        let bodies: [&[u8]; 7] = [
            br#"{"name":"caf\u00e9","tags":["a","b"]}"#,
            "{\"name\":\"ünïcode ✓\"}".as_bytes(),
            b"{\"name\":\"bad \xff byte\"}",
            // An unknown field's string is skipped by the byte parser, unchecked.
            b"{\"name\":\"ok\",\"other\":\"\xc3\x28\"}",
            br#"{"name":"x","tags":[1]}"#,
            br#"{"name":"x"} trailing"#,
            b"",
        ];
        for body in bodies {
            let ours = from_slice::<Payload>(body).ok();
            assert_eq!(
                ours,
                as_bytes_parse(body),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let refused = from_slice::<Payload>(b"{\"name\":\"bad \xff byte\"}").unwrap_err();
        assert!(refused.to_string().contains("name"), "{refused}");
    }
}
