//! What a typed line is: a slash command, a message, or a REPL verb (`!submit …`) whose
//! arguments are split into words the way a shell would quote them.

/// One line typed in the REPL.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Line<'a> {
    /// Nothing to do.
    Empty,
    /// `/trigger text`: run as a slash command.
    Slash(&'a str),
    /// `!verb words…`: a REPL command; `rest` is everything after the verb, unsplit.
    Verb {
        /// The verb, lower-cased (`submit`, `click` …).
        verb: String,
        /// The text after the verb.
        rest: &'a str,
    },
    /// Anything else: posted as a message.
    Message(&'a str),
}

impl<'a> Line<'a> {
    /// Classifies a typed line (surrounding blanks ignored).
    pub(super) fn parse(line: &'a str) -> Self {
        let line = line.trim();
        if line.is_empty() {
            Line::Empty
        } else if line.starts_with('/') {
            Line::Slash(line)
        } else if let Some(command) = line.strip_prefix('!') {
            let (verb, rest) = command
                .split_once(char::is_whitespace)
                .unwrap_or((command, ""));
            Line::Verb {
                verb: verb.to_lowercase(),
                rest: rest.trim(),
            }
        } else {
            Line::Message(line)
        }
    }
}

/// Splits `text` into words: blanks separate words, `"…"` and `'…'` group (the quotes are
/// removed, also in the middle of a word: `notes="two words"` is one word), and a backslash
/// outside single quotes takes the next character literally.
pub(super) fn words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("a ' quote is not closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => word.push(c),
                            None => return Err("a \" quote is not closed".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("a \" quote is not closed".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_commands_verbs_or_messages() {
        assert_eq!(Line::parse("  "), Line::Empty);
        assert_eq!(Line::parse(" /hello hi "), Line::Slash("/hello hi"));
        assert_eq!(
            Line::parse("!Submit a=1  b=2"),
            Line::Verb {
                verb: "submit".into(),
                rest: "a=1  b=2"
            }
        );
        assert_eq!(
            Line::parse("!help"),
            Line::Verb {
                verb: "help".into(),
                rest: ""
            }
        );
        assert_eq!(Line::parse("oncall db"), Line::Message("oncall db"));
    }

    #[test]
    fn quoted_values_stay_one_word() {
        assert_eq!(
            words(r#"version=v1 notes="two words" who='@bob x' a\ b"#).unwrap(),
            ["version=v1", "notes=two words", "who=@bob x", "a b"]
        );
        assert_eq!(words(r#"say="a \"quote\"""#).unwrap(), [r#"say=a "quote""#]);
        assert_eq!(words(r#"empty="""#).unwrap(), ["empty="]);
        assert!(words("notes=\"open").is_err());
    }
}
