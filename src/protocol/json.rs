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
pub(crate) fn from_slice<T: serde::de::DeserializeOwned>(
    body: &[u8],
) -> Result<T, super::PayloadError> {
    match serde_json::from_slice(body) {
        Ok(value) => Ok(value),
        Err(_) => from_slice_with_path(body),
    }
}

/// [`from_slice`]'s error path: the same parse, tracking where it fails.
#[cold]
fn from_slice_with_path<T: serde::de::DeserializeOwned>(
    body: &[u8],
) -> Result<T, super::PayloadError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            super::PayloadError::Malformed(inner.to_string())
        } else {
            super::PayloadError::Malformed(format!("{path}: {inner}"))
        }
    })?;
    de.end()
        .map_err(|e| super::PayloadError::Malformed(e.to_string()))?;
    Ok(value)
}
