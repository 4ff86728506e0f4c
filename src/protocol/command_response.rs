//! Shaping a `CommandResponse` the way Mattermost can post it.
//!
//! Mattermost does not split slash-command replies: text over the post limit (16,383
//! characters, PROTOCOL.md §5.7) makes the reply fail. [`split_long_text`] moves the excess
//! into `extra_responses`, each at most the limit, cutting on line boundaries (and inside a
//! line only when one line alone is too long).

use crate::mattermost::models::CommandResponse;

/// Longest post message, in Unicode scalar values (`PostMessageMaxRunesV2`).
pub const POST_MESSAGE_MAX_CHARS: usize = 16_383;

/// Splits `text` into chunks of at most `max` characters, on line boundaries where possible.
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut current_len = 0usize;
    for line in text.split_inclusive('\n') {
        let line_len = line.chars().count();
        if current_len + line_len <= max {
            current.push_str(line);
            current_len += line_len;
            continue;
        }
        if !current.is_empty() {
            chunks.push(std::mem::take(&mut current));
        }
        if line_len <= max {
            current.push_str(line);
            current_len = line_len;
            continue;
        }
        // One line longer than a post: cut it by characters.
        let mut piece = String::new();
        let mut piece_len = 0;
        for c in line.chars() {
            if piece_len == max {
                chunks.push(std::mem::take(&mut piece));
                piece_len = 0;
            }
            piece.push(c);
            piece_len += 1;
        }
        current = piece;
        current_len = piece_len;
    }
    if !current.is_empty() || chunks.is_empty() {
        chunks.push(current);
    }
    // A chunk ending in the newline that separated it from the next loses it: Mattermost
    // would trim it anyway, and the split point is the line break.
    for chunk in &mut chunks {
        if chunk.ends_with('\n') && chunk.len() > 1 {
            chunk.pop();
        }
    }
    chunks
}

/// Moves text beyond the post limit into `extra_responses` (after any already there), each
/// with the same `response_type`, `channel_id`, `username` and `icon_url`.
pub fn split_long_text(mut response: CommandResponse) -> CommandResponse {
    if response.text.chars().count() <= POST_MESSAGE_MAX_CHARS {
        return response;
    }
    let mut chunks = split_text(&response.text, POST_MESSAGE_MAX_CHARS).into_iter();
    response.text = chunks.next().unwrap_or_default();
    let mut extra: Vec<CommandResponse> = chunks
        .map(|text| {
            let mut part = CommandResponse::ephemeral(text);
            part.response_type = response.response_type.clone();
            part.channel_id = response.channel_id.clone();
            part.username = response.username.clone();
            part.icon_url = response.icon_url.clone();
            part.skip_slack_parsing = response.skip_slack_parsing;
            part
        })
        .collect();
    if let Some(existing) = response.extra_responses.take() {
        extra.extend(existing);
    }
    response.extra_responses = Some(extra);
    response
}

/// What ends a message cut by [`clip_to_post_limit`].
const CUT_NOTE: &str = "…\n_(cut: the message was longer than a Mattermost post)_";

/// `message`, or when it is longer than a post (`POST_MESSAGE_MAX_CHARS`), its start with
/// a note that it was cut. A cut inside a mention drops the mention from its `@`: the start of
/// `@alice-bob` would otherwise be kept as a mention of `@alice`, who did not ask.
pub fn clip_to_post_limit(message: String) -> String {
    if message.chars().count() <= POST_MESSAGE_MAX_CHARS {
        return message;
    }
    let keep = POST_MESSAGE_MAX_CHARS - CUT_NOTE.chars().count();
    let end = message
        .char_indices()
        .nth(keep)
        .map_or(message.len(), |(i, _)| i);
    let mut clipped = message;
    clipped.truncate(end);
    let word_start = clipped
        .trim_end_matches(|c: char| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
        .len();
    if let Some(at) = clipped[word_start..].rfind('@') {
        clipped.truncate(word_start + at);
    }
    clipped.push_str(CUT_NOTE);
    clipped
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_message_over_the_post_limit_is_cut_before_the_word_it_falls_in() {
        let short = "x".repeat(POST_MESSAGE_MAX_CHARS);
        assert_eq!(clip_to_post_limit(short.clone()), short);

        // The cut falls inside `@alice-bob`: no `@alice` may be left behind.
        let keep = POST_MESSAGE_MAX_CHARS - CUT_NOTE.chars().count();
        let long = format!("{} @alice-bob {}", "é".repeat(keep - 4), "x".repeat(100));
        let clipped = clip_to_post_limit(long);
        assert!(
            clipped.chars().count() <= POST_MESSAGE_MAX_CHARS,
            "{}",
            clipped.chars().count()
        );
        assert!(clipped.ends_with(CUT_NOTE), "{clipped}");
        assert!(!clipped.contains('@'), "{}", &clipped[clipped.len() - 80..]);
    }

    #[test]
    fn short_text_is_left_alone() {
        let r = split_long_text(CommandResponse::in_channel("hi"));
        assert_eq!(r.text, "hi");
        assert!(r.extra_responses.is_none());
    }

    #[test]
    fn long_text_splits_on_lines_and_loses_nothing() {
        let line = "x".repeat(99);
        let text = vec![line.as_str(); 400].join("\n"); // 400 × 100 − 1 characters
        let r = split_long_text(CommandResponse::in_channel(text.clone()));
        let extra = r.extra_responses.clone().unwrap();
        let all: Vec<&str> = std::iter::once(r.text.as_str())
            .chain(extra.iter().map(|e| e.text.as_str()))
            .collect();
        assert!(
            all.iter()
                .all(|t| t.chars().count() <= POST_MESSAGE_MAX_CHARS)
        );
        assert!(
            all.iter().all(|t| t.split('\n').all(|l| l == line)),
            "cut inside a line"
        );
        assert_eq!(all.join("\n"), text);
        assert!(extra.iter().all(|e| e.response_type == r.response_type));
    }

    #[test]
    fn a_single_overlong_line_is_cut_by_characters() {
        let text = "é".repeat(POST_MESSAGE_MAX_CHARS * 2 + 5);
        let chunks = split_text(&text, POST_MESSAGE_MAX_CHARS);
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks.concat(), text);
    }
}
