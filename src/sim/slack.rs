//! Mattermost's Slack-compatibility text handling for command responses.
//!
//! `ProcessSlackText` turns `<!channel>`/`<!here>`/`<!all>` into `@channel`/`@here`/`@all` and
//! `<@USERID>` into `@username`; `ParseSlackLinksToMarkdown` turns `<url|label>` into
//! `[label](url)`. Both are skipped when the response sets `skip_slack_parsing`.

use serde_json::Value;

use super::state::Store;

/// `ProcessSlackText`: announcements and user-id mentions.
pub(crate) fn process_slack_text(store: &Store, text: &str) -> String {
    let mut text = text
        .replace("<!channel>", "@channel")
        .replace("<!here>", "@here")
        .replace("<!all>", "@all");
    for id in user_id_mentions(&text) {
        if let Some(user) = store.user(&id) {
            text = text.replace(&format!("<@{id}>"), &format!("@{}", user.username));
        }
    }
    text
}

/// The `X` of every `<@X>` where `X` is `[a-zA-Z0-9]+`.
fn user_id_mentions(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("<@") {
        let after = &rest[start + 2..];
        let len = after
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(after.len());
        if len > 0 && after[len..].starts_with('>') {
            ids.push(after[..len].to_owned());
        }
        rest = after;
    }
    ids
}

/// `ProcessMessageAttachments`: `ProcessSlackText` over attachment pretext, text and field values.
pub(crate) fn process_attachments(store: &Store, attachments: &mut [Value]) {
    map_attachment_texts(attachments, |s| process_slack_text(store, s));
}

/// `ParseSlackLinksToMarkdown`: `<url|label>` → `[label](url)` (regexp `<([^\n<|>]+)\|([^\n>]+)>`).
pub(crate) fn parse_slack_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let candidate = &rest[open + 1..];
        if let Some((url, label, consumed)) = match_link(candidate) {
            out.push('[');
            out.push_str(label);
            out.push_str("](");
            out.push_str(url);
            out.push(')');
            rest = &candidate[consumed..];
        } else {
            out.push('<');
            rest = candidate;
        }
    }
    out.push_str(rest);
    out
}

/// Matches `url|label>` at the start of `s`; returns url, label and bytes consumed.
fn match_link(s: &str) -> Option<(&str, &str, usize)> {
    let url_len = s.find(['\n', '<', '|', '>'])?;
    if url_len == 0 || !s[url_len..].starts_with('|') {
        return None;
    }
    let after = &s[url_len + 1..];
    let label_len = after.find(['\n', '>'])?;
    if label_len == 0 || !after[label_len..].starts_with('>') {
        return None;
    }
    Some((
        &s[..url_len],
        &after[..label_len],
        url_len + 1 + label_len + 1,
    ))
}

/// `ParseMessageAttachment` text handling: links in pretext, text and string field values.
pub(crate) fn parse_attachment_links(attachments: &mut [Value]) {
    map_attachment_texts(attachments, parse_slack_links);
}

fn map_attachment_texts(attachments: &mut [Value], f: impl Fn(&str) -> String) {
    for attachment in attachments.iter_mut() {
        for key in ["pretext", "text"] {
            if let Some(Value::String(s)) = attachment.get_mut(key) {
                *s = f(s);
            }
        }
        if let Some(Value::Array(fields)) = attachment.get_mut("fields") {
            for field in fields {
                if let Some(Value::String(s)) = field.get_mut("value") {
                    *s = f(s);
                }
            }
        }
    }
}

#[cfg(test)]
// Tests may unwrap: a panic is the failure report (see the lint comment in Cargo.toml).
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn links_become_markdown() {
        assert_eq!(
            parse_slack_links("see <https://x.io/a|the docs> or <b>"),
            "see [the docs](https://x.io/a) or <b>"
        );
        assert_eq!(parse_slack_links("a < b | c > d"), "a [ c ]( b ) d");
    }
}
