//! What a value becomes where a template puts it: URL templates encode values for the part of
//! the URL they land in, message templates keep values from paging people.
//!
//! Both work the same way. The template's formatter wraps every interpolated value (what
//! `{{ … }}` prints, unless marked safe) between two private-use sentinels; after rendering,
//! one pass over the output knows from the author's literal text around each value where it
//! landed, and rewrites it for that place. The author's own text is never touched: its
//! mentions stay mentions, its `?` and `&` stay URL syntax. Values have the sentinels removed
//! before they are wrapped, so user text cannot forge one.
//!
//! # URLs
//!
//! Every byte of a value other than the unreserved `A–Z a–z 0–9 - . _ ~` is percent-encoded,
//! which is right for a path segment (a `/` cannot add a segment) and for a query value (`&`,
//! `=`, `#` cannot add a parameter) alike. A value that would be a whole `.` or `..` path
//! segment is refused: URL parsers resolve those (also when written `%2e%2e`), so no encoding
//! keeps them inert. `{{ x | urlencode }}` encodes the same way and `{{ x | safe }}` inserts a
//! value as it is (the author vouches for it).
//!
//! # Messages
//!
//! Mattermost notifies on `@all`, `@channel` and `@here` (any case, trailing `.`/`-`/`_`
//! allowed) and on `@group` names, and converts Slack's `<!channel>` forms into them. Where
//! an `@` starts a mention follows the server's word rules ([`MentionStart`]): not only after
//! a space but also after `.`, `-` or `:` (`x.@channel`) and after a word's leading `_`
//! (`_@here_`), never within `alice@example.com`. In a
//! value, a word joiner (U+2060, invisible, no line break) goes after such an `@` (and between
//! `<` and `!`), so the text reads the same and pages no one. The same holds when the author
//! writes `@{{ args.who }}` and the value is `all`. A mention of the invoking user or of a user
//! Mattermost resolved in the command (`user_mentions`) stays a mention; any other `@name` in a
//! value is neutralised too, because Switchboard cannot tell a user from a group without asking
//! the server. `{{ x | mentions }}` (or `| safe`) lets a value's mentions through.

use minijinja::{Error, Output, State, Value};

/// Opens a value whose leading word must not become a mention after a literal `@`.
const OPEN: char = '\u{E000}';
/// Opens a value whose leading word is a known user: a literal `@` before it may mention it.
const OPEN_KNOWN: char = '\u{E002}';
/// Closes a value.
const CLOSE: char = '\u{E001}';
/// Inserted after an `@` (or a `<` before `!`) that must not page anyone.
const WORD_JOINER: char = '\u{2060}';

/// Where a template's output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Data for a program, a header, a body: values as they are.
    Plain,
    /// A URL: values encoded for the part they land in.
    Url,
    /// A post or reply: values' mentions neutralised.
    Message,
}

/// Why a rendered URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlValueError {
    /// A value would form a `.` or `..` path segment.
    #[error("the value `{0}` cannot be a path segment of the URL")]
    DotSegment(String),
}

/// The formatter of URL and message templates.
pub(crate) fn formatter(
    kind: Kind,
) -> impl Fn(&mut Output<'_>, &State<'_, '_>, &Value) -> Result<(), Error> + Send + Sync + 'static {
    move |out, state, value| {
        let lookup = |name: &str| state.lookup(name);
        write_value(out, kind, value, &KnownNames::Lookup(&lookup)).map_err(Error::from)
    }
}

/// Writes what `{{ value }}` prints in a template of `kind`: the value as it is when it is
/// safe or the template plain, otherwise between sentinels (see the module docs). `known`
/// tells the names a message value may mention.
pub(crate) fn write_value(
    out: &mut impl std::fmt::Write,
    kind: Kind,
    value: &Value,
    known: &KnownNames<'_>,
) -> std::fmt::Result {
    if value.is_safe() || kind == Kind::Plain {
        return write!(out, "{value}");
    }
    match value.as_str() {
        Some(text) => write_text(out, kind, text, known),
        None => write_text(out, kind, &value.to_string(), known),
    }
}

/// [`write_value`] for a value that is a string and not safe.
pub(crate) fn write_text(
    out: &mut impl std::fmt::Write,
    kind: Kind,
    text: &str,
    known: &KnownNames<'_>,
) -> std::fmt::Result {
    if kind == Kind::Plain {
        return out.write_str(text);
    }
    let sentinel = |c: char| matches!(c, OPEN | OPEN_KNOWN | CLOSE);
    let cleaned: String;
    let text = if text.contains(sentinel) {
        cleaned = text.chars().filter(|c| !sentinel(*c)).collect();
        &cleaned
    } else {
        text
    };
    match kind {
        Kind::Message => {
            let lead = leading_name(text);
            let open = if !lead.is_empty() && known.allows(lead) {
                OPEN_KNOWN
            } else {
                OPEN
            };
            out.write_char(open)?;
            neutralise(out, text, known)?;
            out.write_char(CLOSE)
        }
        _ => {
            out.write_char(OPEN)?;
            out.write_str(text)?;
            out.write_char(CLOSE)
        }
    }
}

/// `{{ x | urlencode }}`: every byte but the unreserved ones percent-encoded; a map becomes
/// `k=v&…` pairs. Safe, so a URL template does not encode it twice.
pub(crate) fn urlencode(value: &Value) -> Result<Value, Error> {
    if let Ok(items) = value.try_iter()
        && value.kind() == minijinja::value::ValueKind::Map
    {
        let mut pairs = Vec::new();
        for key in items {
            let item = value.get_item(&key)?;
            if item.is_none() || item.is_undefined() {
                continue;
            }
            pairs.push(format!(
                "{}={}",
                encode(&key.to_string()),
                encode(&item.to_string())
            ));
        }
        return Ok(Value::from_safe_string(pairs.join("&")));
    }
    Ok(Value::from_safe_string(encode(&value.to_string())))
}

/// `{{ x | escape_markdown }}`: the value shown as written, never as Markdown. Text from
/// elsewhere (a pull request's title, a commit's author, an alert's summary) otherwise adds
/// links, images, emphasis or code to a post: `Fix](https://evil.example) ![x](…)` inside
/// the author's `[#42 {{ title }}](…)` would point the link elsewhere and load an image.
/// Markdown's inline syntax characters are backslash-escaped everywhere, and what starts a
/// block (a list item, a heading's underline, a numbered item) where a line starts; Mattermost
/// renders each escape as the character. Not for values inside a code span (backslashes show
/// there); mentions are neutralised as for any value.
pub(crate) fn escape_markdown(value: &Value) -> Value {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut line_start = true;
    let mut digits_at_start = false;
    for c in text.chars() {
        let inline = matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '!' | '<' | '>' | '|' | '~'
        );
        let block = (line_start && matches!(c, '-' | '+' | '=')) || (digits_at_start && c == '.');
        if inline || block {
            out.push('\\');
        }
        out.push(c);
        digits_at_start = (line_start || digits_at_start) && c.is_ascii_digit();
        line_start = c == '\n' || (line_start && (c == ' ' || c == '\t'));
    }
    Value::from(out)
}

/// `{{ x | mentions }}`: the value with its mentions left active.
pub(crate) fn mentions(value: &Value) -> Value {
    if value.is_safe() {
        return value.clone();
    }
    Value::from_safe_string(value.to_string())
}

/// Resolves the sentinels of a rendered template of `kind`.
pub(crate) fn finish(kind: Kind, rendered: String) -> Result<String, UrlValueError> {
    if next_sentinel(&rendered).is_none() {
        return Ok(rendered);
    }
    match kind {
        Kind::Plain => Ok(rendered),
        Kind::Url => finish_url(&rendered),
        Kind::Message => Ok(finish_message(&rendered)),
    }
}

/// The first sentinel in `text`: where it starts, and which it is.
///
/// Found by its first byte, which is the same for all three (U+E000 to U+E002 are
/// `EE 80 80` to `EE 80 82` in UTF-8) and rare in text. Looking at bytes instead of decoding
/// every character, copying the text between sentinels whole, and reading the mention state
/// only where a value follows an `@` ([`MentionStart::after`]) took finishing S1's reply from
/// about 1 900 instructions to 840 (#12, `bench/instructions.sh 2000`: S1 46 450 → 45 527).
fn next_sentinel(text: &str) -> Option<(usize, char)> {
    let mut from = 0;
    loop {
        let at = from
            + text
                .as_bytes()
                .get(from..)?
                .iter()
                .position(|&byte| byte == 0xEE)?;
        // 0xEE starts a character: `at` is on a character boundary.
        match text.get(at..)?.chars().next() {
            Some(c @ (OPEN | OPEN_KNOWN | CLOSE)) => return Some((at, c)),
            _ => from = at + 1,
        }
    }
}

fn finish_message(rendered: &str) -> String {
    let mut out = String::with_capacity(rendered.len() + 8);
    let mut rest = rendered;
    loop {
        let next = next_sentinel(rest);
        out.push_str(next.map_or(rest, |(at, _)| rest.get(..at).unwrap_or_default()));
        let Some((at, sentinel)) = next else {
            return out;
        };
        rest = rest.get(at + sentinel.len_utf8()..).unwrap_or_default();
        // Only a value after a literal `@` that starts a mention needs the joiner.
        if sentinel == OPEN
            && let Some(before) = out.strip_suffix('@')
            && MentionStart::after(before).at_mention()
        {
            out.push(WORD_JOINER);
        }
    }
}

/// Where in a URL the literal text so far has brought us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UrlPart {
    SchemeAndAuthority,
    Path,
    Query,
    Fragment,
}

fn finish_url(rendered: &str) -> Result<String, UrlValueError> {
    let mut out = String::with_capacity(rendered.len() + 16);
    let mut part = UrlPart::SchemeAndAuthority;
    let mut slashes_seen = 0usize;
    let mut chars = rendered.chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, OPEN | OPEN_KNOWN) {
            let mut value = String::new();
            for v in chars.by_ref() {
                if v == CLOSE {
                    break;
                }
                value.push(v);
            }
            if part == UrlPart::Path && (value == "." || value == "..") {
                let starts_segment = out.ends_with('/');
                let ends_segment = chars.peek().is_none_or(|n| matches!(n, '/' | '?' | '#'));
                if starts_segment && ends_segment {
                    return Err(UrlValueError::DotSegment(value));
                }
            }
            out.push_str(&encode(&value));
            continue;
        }
        match (part, c) {
            (UrlPart::SchemeAndAuthority, '/') => {
                slashes_seen += 1;
                // `scheme://authority/`: the third slash starts the path.
                if slashes_seen == 3 {
                    part = UrlPart::Path;
                }
            }
            (UrlPart::SchemeAndAuthority | UrlPart::Path, '?') => part = UrlPart::Query,
            (UrlPart::SchemeAndAuthority | UrlPart::Path | UrlPart::Query, '#') => {
                part = UrlPart::Fragment;
            }
            _ => {}
        }
        out.push(c);
    }
    Ok(out)
}

/// Percent-encodes every byte but `A–Z a–z 0–9 - . _ ~`.
fn encode(text: &str) -> String {
    const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(text, COMPONENT).to_string()
}

/// Names a value may mention: the invoking user and the users Mattermost resolved, read
/// only when a value holds a mention.
pub(crate) enum KnownNames<'a> {
    /// Looked up in the template context (`user.name`, `user_mentions[].name`).
    Lookup(&'a dyn Fn(&str) -> Option<Value>),
    /// Read from the route's context in place.
    Context(&'a super::context::Context),
}

impl KnownNames<'_> {
    /// Whether `name` (after an `@`) is the invoking user or one Mattermost resolved, and no
    /// special mention; compared as Mattermost does, ignoring case and a trailing `.`, `-`,
    /// `_` or `:`.
    fn allows(&self, name: &str) -> bool {
        let name = lowercase(name);
        let trimmed = name.trim_end_matches(['.', '-', '_', ':']);
        if trimmed.is_empty() || matches!(trimmed, "all" | "channel" | "here") {
            return false;
        }
        let is = |known: &str| {
            let known = lowercase(known);
            *known == *name || *known == *trimmed
        };
        let value_is = |known: &Value| {
            known
                .get_attr("name")
                .ok()
                .is_some_and(|known| known.as_str().is_some_and(is))
        };
        match self {
            KnownNames::Context(context) => {
                // The invoking user first: `@{{ user.name }}` is the usual case.
                is(&context.user.name) || context.user_mentions.iter().any(|m| is(&m.name))
            }
            KnownNames::Lookup(lookup) => {
                lookup("user").is_some_and(|user| value_is(&user))
                    || lookup("user_mentions")
                        .and_then(|list| list.try_iter().ok())
                        .is_some_and(|mut items| items.any(|item| value_is(&item)))
            }
        }
    }
}

/// `text` in lower case, copied only when it has an upper-case or non-ASCII character.
fn lowercase(text: &str) -> std::borrow::Cow<'_, str> {
    if text
        .bytes()
        .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
    {
        std::borrow::Cow::Owned(text.to_lowercase())
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':') || c.is_alphanumeric()
}

/// The name at the start of `text`, as a mention after `@` would read it.
fn leading_name(text: &str) -> &str {
    let end = text
        .char_indices()
        .find(|(_, c)| !is_name_char(*c))
        .map_or(text.len(), |(i, _)| i);
    &text[..end]
}

/// Whether an `@` at this point of a text would start a mention, fed the text character by
/// character.
///
/// Mattermost's server (`server/channels/app/mention_parser_standard.go`, `ProcessText`)
/// splits a post into words of letters, digits and `: . - _ @`, trims each word's leading
/// `: . - _`, checks the rest for `@here`, `@channel`, `@all`, a user or a group (also with
/// trailing `. - : _` cut off), and otherwise splits the word again at `.`, `-` and `:` and
/// checks each piece. So an `@` starts a mention when all that precedes it in its word is
/// `: . - _` (or nothing: `_@here_`), or when it follows a `.`, `-` or `:` (`x.@channel`);
/// not after a letter, digit, `@` or a `_` within a word (`alice@example.com`,
/// `first_last@host`). Characters outside ASCII count as word separators here: Go's letter
/// classes and Rust's differ at the edges, and a separator too many only adds a joiner.
#[derive(Debug, Clone, Copy)]
struct MentionStart {
    /// The last character seen.
    last: Option<char>,
    /// Whether the current word so far is only characters Mattermost trims from its start.
    only_trimmed: bool,
}

impl MentionStart {
    /// At the start of a text.
    const START: MentionStart = MentionStart {
        last: None,
        only_trimmed: true,
    };

    /// After `text`: only its last word counts, so only that is read.
    fn after(text: &str) -> MentionStart {
        let word = text
            .rfind(|c| !MentionStart::in_word(c))
            .and_then(|at| text.get(at..))
            .unwrap_or(text);
        let mut state = MentionStart::START;
        for c in word.chars() {
            state.push(c);
        }
        state
    }

    /// Whether `c` belongs to a word Mattermost checks.
    fn in_word(c: char) -> bool {
        c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '-' | '_' | '@')
    }

    fn push(&mut self, c: char) {
        let in_word = MentionStart::in_word(c);
        if !in_word {
            self.only_trimmed = true;
        } else if !matches!(c, ':' | '.' | '-' | '_') {
            self.only_trimmed = false;
        }
        self.last = Some(c);
    }

    /// Whether an `@` here starts a word Mattermost checks for mentions.
    fn at_mention(self) -> bool {
        self.only_trimmed || matches!(self.last, Some('.' | '-' | ':'))
    }
}

/// Writes `text` with every mention that is not a known user, and Slack's `<!…>`,
/// neutralised.
fn neutralise(
    out: &mut impl std::fmt::Write,
    text: &str,
    known: &KnownNames<'_>,
) -> std::fmt::Result {
    // What was written so far: whether an `@` starts a mention depends on it. A value's
    // start counts as a word's start, whatever the template put before it.
    let mut so_far = MentionStart::START;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        out.write_char(c)?;
        let before = so_far;
        so_far.push(c);
        let joiner = match c {
            '@' if before.at_mention() => {
                let name = leading_name(rest);
                !name.is_empty() && !known.allows(name)
            }
            '<' => rest.starts_with('!'),
            _ => false,
        };
        if joiner {
            out.write_char(WORD_JOINER)?;
            so_far.push(WORD_JOINER);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` neutralised in a context whose user is `alice`.
    fn neutralised(text: &str) -> String {
        let context = minijinja::context! { user => minijinja::context! { name => "Alice" } };
        let lookup = |name: &str| context.get_attr(name).ok();
        let mut out = String::new();
        neutralise(&mut out, text, &KnownNames::Lookup(&lookup)).unwrap();
        out
    }

    #[test]
    fn special_and_unknown_mentions_are_neutralised() {
        assert_eq!(
            neutralised("@all @Channel. (@here) @alice @team-leads"),
            "@\u{2060}all @\u{2060}Channel. (@\u{2060}here) @alice @\u{2060}team-leads"
        );
        assert_eq!(
            neutralised("mail alice@example.com"),
            "mail alice@example.com"
        );
        // Mattermost's word rules (see `MentionStart`): each of these pages the channel.
        for (text, expected) in [
            ("_@here_", "_@\u{2060}here_"),
            (".@channel", ".@\u{2060}channel"),
            ("-@all", "-@\u{2060}all"),
            ("x.@channel", "x.@\u{2060}channel"),
            ("a-@here", "a-@\u{2060}here"),
            ("a:@here", "a:@\u{2060}here"),
            ("ping (:_@Here.", "ping (:_@\u{2060}Here."),
            ("日本@here", "日本@\u{2060}here"),
        ] {
            assert_eq!(neutralised(text), expected, "{text}");
        }
        // Within a word they are not mentions, and stay as written.
        for text in ["first_last@example.com", "x_@here", "me@here.example"] {
            assert_eq!(neutralised(text), text);
        }
        assert_eq!(
            neutralised("<!channel> <!here>"),
            "<\u{2060}!channel> <\u{2060}!here>"
        );
    }

    #[test]
    fn escaped_markdown_shows_as_written_and_pages_no_one() {
        let template = crate::integrations::template::Template::compile_message(
            "t",
            "[#42 {{ title | escape_markdown }}](https://example.com/42)",
        )
        .unwrap();
        let title =
            "Fix](https://evil.example) ![x](https://evil.example/t.png) `code` *b* [@channel";
        let out = template
            .render(&minijinja::context! { title => title })
            .unwrap();
        assert_eq!(
            out,
            "[#42 Fix\\]\\(https://evil.example\\) \\!\\[x\\]\\(https://evil.example/t.png\\) \\`code\\` \\*b\\* \\[@\u{2060}channel](https://example.com/42)"
        );
        let value = |text: &str| escape_markdown(&Value::from(text)).to_string();
        // Blocks where a line starts; the same characters elsewhere as they are.
        assert_eq!(
            value("- a\n  + b\n12. c\n==="),
            "\\- a\n  \\+ b\n12\\. c\n\\==="
        );
        assert_eq!(
            value("v1.2 a-b c+d x=y snake_case"),
            "v1.2 a-b c+d x=y snake\\_case"
        );
    }

    #[test]
    fn a_value_after_a_literal_at_sign_is_neutralised_when_it_names_no_known_user() {
        let out = format!("@{OPEN}all{CLOSE} and @{OPEN_KNOWN}alice{CLOSE}");
        assert_eq!(finish_message(&out), "@\u{2060}all and @alice");
        let out = format!("x.@{OPEN}here{CLOSE}, _@{OPEN}all{CLOSE}, mail me@{OPEN}here{CLOSE}");
        assert_eq!(
            finish_message(&out),
            "x.@\u{2060}here, _@\u{2060}all, mail me@here"
        );
        // Other characters whose UTF-8 starts with the sentinels' first byte (U+E003,
        // U+E100, U+EFFF) are text; text around and between values is kept as it is.
        let out =
            format!("\u{e003}@{OPEN}all{CLOSE}\u{e100}é @{OPEN}x{CLOSE}{OPEN}y{CLOSE}\u{efff}");
        assert_eq!(
            finish_message(&out),
            "\u{e003}@\u{2060}all\u{e100}é @\u{2060}xy\u{efff}"
        );
        assert_eq!(next_sentinel("plain text \u{e003}"), None);
        // Reading only the last word gives what reading the whole text gives.
        for text in [
            "",
            "x",
            "x.",
            "x-",
            "x:",
            "_",
            "__",
            "a_",
            "_a",
            ":._-",
            "mail me",
            "a b.",
            "é",
            "é.",
            "@",
            "a@",
            "x.@",
            "one\u{2060}",
            "(",
            "a\tb_",
            "ü_:",
        ] {
            let mut forward = MentionStart::START;
            for c in text.chars() {
                forward.push(c);
            }
            assert_eq!(
                MentionStart::after(text).at_mention(),
                forward.at_mention(),
                "{text:?}"
            );
        }
        assert_eq!(
            finish(Kind::Message, "no values".into()).as_deref(),
            Ok("no values")
        );
    }

    #[test]
    fn url_values_are_encoded_and_dot_segments_refused() {
        let u = |v: &str, template: &str| {
            finish_url(&template.replace("X", &format!("{OPEN}{v}{CLOSE}")))
        };
        assert_eq!(
            u("../../internal-secret", "http://svc/echo/X").unwrap(),
            "http://svc/echo/..%2F..%2Finternal-secret"
        );
        assert_eq!(
            u("x?admin=1&token=t", "http://svc/q?a=X&b=1").unwrap(),
            "http://svc/q?a=x%3Fadmin%3D1%26token%3Dt&b=1"
        );
        assert!(u("..", "http://svc/echo/X").is_err());
        assert!(u(".", "http://svc/echo/X/more").is_err());
        assert_eq!(
            u("..", "http://svc/echo/vX").unwrap(),
            "http://svc/echo/v.."
        );
        assert_eq!(
            u("..", "http://svc/echo?q=X").unwrap(),
            "http://svc/echo?q=.."
        );
    }
}
