//! Form-encoded bodies (`application/x-www-form-urlencoded`), as Mattermost sends slash
//! commands and outgoing webhooks: `key=value` pairs joined by `&`, `+` for a space, `%XX`
//! for any other escaped byte.
//!
//! Decodes exactly as the `form_urlencoded` crate does (a test holds it to that), but takes
//! the body as already-checked UTF-8 and borrows every part with nothing to decode, which is
//! most of them (ids, names, tokens): one pass per part, no copy, no second UTF-8 check. A
//! slash command's dozen fields were a quarter of the instructions Switchboard spent on it.
//!
//! Unlike that crate it is strict where leniency would let two readers see different values:
//! percent-encoded bytes that are not UTF-8 are refused (not replaced by U+FFFD), and a key
//! sent twice is refused unless the caller names it as repeatable (Mattermost repeats only the
//! mention keys). A proxy or a check that reads the first `token` while we read the last
//! could otherwise disagree about one request.

use std::borrow::Cow;
use std::collections::HashSet;

use super::PayloadError;

/// Up to this many pairs, a repeated key is found by comparing (see [`pairs`]).
const LINEAR_UP_TO: usize = 32;

/// One decoded `key=value` pair.
pub(crate) type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// The `(key, value)` pairs of `body`, in order, empty pairs skipped; refused when a part
/// decodes to bytes that are not UTF-8, or when a key other than those in `repeatable`
/// appears twice.
pub(crate) fn pairs<'a>(body: &'a str, repeatable: &[&str]) -> Result<Vec<Pair<'a>>, PayloadError> {
    // Duplicates are looked for in the pairs so far while they are few (a slash command has
    // about 12: comparing beats hashing each key, which was 6 % of a command's instructions),
    // then in a hash set, so a hostile body with thousands of keys stays linear.
    let mut seen: Option<HashSet<Cow<'a, str>>> = None;
    // A slash command has about 12 pairs: no growing on the way there.
    let mut out: Vec<Pair<'a>> = Vec::with_capacity(16);
    let bytes = body.as_bytes();
    let mut next = 0;
    while next < bytes.len() {
        // One pass over the pair finds its end, its first `=`, and whether its key or its
        // value has anything to decode (splitting on `&`, then on `=`, then looking for `+`
        // and `%` in each part went over every byte three times).
        let start = next;
        let mut end = start;
        let mut equals = None;
        let (mut key_encoded, mut value_encoded) = (false, false);
        while let Some(&byte) = bytes.get(end) {
            match byte {
                b'&' => break,
                b'=' if equals.is_none() => equals = Some(end),
                b'+' | b'%' if equals.is_none() => key_encoded = true,
                b'+' | b'%' => value_encoded = true,
                _ => {}
            }
            end += 1;
        }
        next = end + 1;
        if end == start {
            continue;
        }
        // `&` and `=` are ASCII: the slices fall on character boundaries.
        let (key, value) = match equals {
            Some(at) => (&body[start..at], &body[at + 1..end]),
            None => (&body[start..end], ""),
        };
        let key = if key_encoded {
            decode(key).ok_or_else(|| not_utf8(None))?
        } else {
            Cow::Borrowed(key)
        };
        let value = if value_encoded {
            decode(value).ok_or_else(|| not_utf8(Some(&key)))?
        } else {
            Cow::Borrowed(value)
        };
        // Repeated first, then repeatable: most keys are new, so the second test rarely runs.
        let again = match &mut seen {
            None if out.len() < LINEAR_UP_TO => out.iter().any(|(k, _)| *k == key),
            None => {
                let mut set: HashSet<Cow<'a, str>> = out.iter().map(|(k, _)| k.clone()).collect();
                let again = !set.insert(key.clone());
                seen = Some(set);
                again
            }
            Some(set) => !set.insert(key.clone()),
        } && !repeatable.contains(&key.as_ref());
        if again {
            return Err(PayloadError::Malformed(format!(
                "field `{}` is sent more than once",
                printable(&key)
            )));
        }
        out.push((key, value));
    }
    Ok(out)
}

fn not_utf8(key: Option<&str>) -> PayloadError {
    PayloadError::Malformed(match key {
        Some(key) => format!(
            "field `{}`: percent-encoded bytes are not UTF-8",
            printable(key)
        ),
        None => "a field name's percent-encoded bytes are not UTF-8".to_owned(),
    })
}

/// A key as it may appear in an error: at most 40 characters, control characters escaped.
fn printable(key: &str) -> String {
    super::printable(key, 40)
}

/// `part` with `+` and `%XX` decoded; borrowed when it has neither. A `%` not followed by two
/// hex digits stands for itself; `None` when the decoded bytes are not UTF-8.
fn decode(part: &str) -> Option<Cow<'_, str>> {
    let bytes = part.as_bytes();
    let special = |b: &u8| *b == b'+' || *b == b'%';
    let Some(first) = bytes.iter().position(special) else {
        return Some(Cow::Borrowed(part));
    };
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    let mut next = Some(first);
    // Copies the plain run before each `+` or `%` in one go, then decodes that byte.
    while let Some(at) = next {
        out.extend_from_slice(&rest[..at]);
        rest = &rest[at..];
        match rest {
            [b'+', tail @ ..] => {
                out.push(b' ');
                rest = tail;
            }
            [b'%', high, low, tail @ ..] if hex(*high).is_some() && hex(*low).is_some() => {
                out.push(hex(*high).unwrap_or(0) << 4 | hex(*low).unwrap_or(0));
                rest = tail;
            }
            [other, tail @ ..] => {
                out.push(*other);
                rest = tail;
            }
            [] => break,
        }
        next = rest.iter().position(special);
    }
    out.extend_from_slice(rest);
    String::from_utf8(out).ok().map(Cow::Owned)
}

fn hex(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(body: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(body.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    fn ours(body: &str) -> Vec<(String, String)> {
        pairs(body, &["a"])
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn decodes_as_the_form_urlencoded_crate_does() {
        for body in [
            "",
            "&",
            "&&a=1&&",
            "a",
            "a=",
            "=b",
            "a=b=c",
            "text=hi+there+%40bob",
            "text=%E2%9C%85+done",
            "text=%e2%9c%85",
            "text=100%",
            "text=%4",
            "text=%zz%41",
            "k%20ey=v%2Bal+ue",
            "response_url=http%3A%2F%2Fmm%2Fhooks%2Fcommands%2Fx&token=abc",
            "text=caf\u{e9}+%C3%A9",
            "a=1&a=2&b=%26%3D",
            "a&&b=1&",
            "=&b=&&c=x",
            "%&%2&%%41&++=+",
            "k+1=v&k%2B2=w=x+y&plain=%3D&%3D=eq",
            "caf\u{e9}=\u{2705}%E2%9C%85&\u{e9}+=\u{e9}",
        ] {
            assert_eq!(ours(body), reference(body), "{body:?}");
        }
    }

    #[test]
    fn parts_with_nothing_to_decode_are_borrowed() {
        let decoded = pairs("user_id=abc&text=a+b", &[]).unwrap();
        assert!(matches!(decoded[0].1, Cow::Borrowed("abc")));
        assert!(matches!(&decoded[1].1, Cow::Owned(s) if s == "a b"));
    }

    #[test]
    fn a_key_sent_twice_is_refused_unless_repeatable() {
        let err = pairs("token=good&text=x&token=evil", &[]).unwrap_err();
        assert!(
            err.to_string().contains("`token` is sent more than once"),
            "{err}"
        );
        // The same key spelled with an escape is the same key.
        assert!(pairs("token=a&%74oken=b", &[]).is_err());
        assert_eq!(pairs("m=1&m=2", &["m"]).unwrap().len(), 2);
    }

    #[test]
    fn repeats_are_found_among_many_keys_too() {
        // Past the pairs compared one by one, a hash set takes over: a repeat of an early key,
        // of a key after the switch, and of the key at the switch are all found.
        let many: Vec<String> = (0..2 * LINEAR_UP_TO).map(|i| format!("k{i}=v")).collect();
        let body = many.join("&");
        assert_eq!(pairs(&body, &[]).unwrap().len(), 2 * LINEAR_UP_TO);
        for again in ["k3", "k40", &format!("k{LINEAR_UP_TO}")] {
            let err = pairs(&format!("{body}&{again}=x"), &[]).unwrap_err();
            assert!(err.to_string().contains(&format!("`{again}`")), "{err}");
        }
        assert_eq!(
            pairs(&format!("m=1&{body}&m=2"), &["m"]).unwrap().len(),
            2 * LINEAR_UP_TO + 2
        );
    }

    #[test]
    fn percent_encoded_bytes_that_are_not_utf8_are_refused() {
        for body in ["text=%FF%FE", "text=%C3", "a=1&%C3=2", "text=ok%E2%9C"] {
            assert!(pairs(body, &[]).is_err(), "{body:?}");
        }
        assert_eq!(pairs("text=%E2%9C%85", &[]).unwrap()[0].1, "\u{2705}");
    }
}
