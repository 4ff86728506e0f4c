//! Declared `pattern`s (hook patterns, dialog field patterns) with the semantics of the web
//! client's JavaScript regular expressions.
//!
//! Mattermost's web app checks a dialog field's pattern with a JavaScript `RegExp` without the
//! `u` flag, where `\d`, `\w` and `\b` are ASCII-only; the regex crate's are Unicode-aware, so
//! `v\d+` would accept Arabic-Indic digits (`v١`) that then reach a script. Unless the route
//! opts into Unicode (`unicode = true` beside the pattern), those classes are rewritten to
//! their ASCII forms before compiling, and `\s` to JavaScript's own set (Unicode spaces even
//! without the `u` flag, with U+FEFF and without U+0085, unlike the regex crate's).

use regex::Regex;

/// JavaScript's `\s` (WhiteSpace and LineTerminator): Unicode spaces like the regex crate's,
/// but with U+FEFF and without U+0085.
const JS_SPACE: &str = r"\t\n\x0B\x0C\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}";
/// `\s` outside a class.
const JS_SPACE_CLASS: &str = r"[\t\n\x0B\x0C\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}]";
/// `\S`; a nested class, so it also works inside a class.
const JS_NOT_SPACE: &str = r"[^\t\n\x0B\x0C\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}]";

/// Compiles a declared pattern. `anchored` makes it match the whole value (dialog fields);
/// `unicode` keeps the regex crate's Unicode classes.
pub(crate) fn compile(pattern: &str, unicode: bool, anchored: bool) -> Result<Regex, regex::Error> {
    let body = if unicode {
        pattern.to_owned()
    } else {
        ascii_classes(pattern)
    };
    let compiled = if anchored {
        Regex::new(&format!("^(?:{body})$"))
    } else {
        Regex::new(&body)
    };
    // A syntax error quotes the pattern it was found in, with a caret under the spot: show the
    // author's own pattern, not the anchored, rewritten one they never wrote.
    compiled.map_err(|rewritten| Regex::new(pattern).err().unwrap_or(rewritten))
}

/// Rewrites `\d \D \w \W \b \B` to ASCII-only forms and `\s \S` to JavaScript's, inside and
/// outside character classes.
fn ascii_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut class_depth = 0usize;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(next) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let inside = class_depth > 0;
                let replacement = match (next, inside) {
                    ('d', false) => "[0-9]",
                    ('d', true) => "0-9",
                    ('D', false) => "[^0-9]",
                    ('D', true) => "[:^digit:]",
                    ('w', false) => "[0-9A-Za-z_]",
                    ('w', true) => "0-9A-Za-z_",
                    ('W', false) => "[^0-9A-Za-z_]",
                    ('W', true) => "[:^word:]",
                    ('s', false) => JS_SPACE_CLASS,
                    ('s', true) => JS_SPACE,
                    ('S', _) => JS_NOT_SPACE,
                    ('b', false) => "(?-u:\\b)",
                    ('B', false) => "(?-u:\\B)",
                    _ => {
                        out.push('\\');
                        out.push(next);
                        continue;
                    }
                };
                out.push_str(replacement);
            }
            '[' => {
                // `[:alpha:]` inside a class is a named class, not a nested one.
                if class_depth > 0 && chars.peek() == Some(&':') {
                    out.push('[');
                    for inner in chars.by_ref() {
                        out.push(inner);
                        if inner == ']' {
                            break;
                        }
                    }
                    continue;
                }
                class_depth += 1;
                out.push('[');
                // A `]` (or `^]`) right after the opening bracket is a literal.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push(']');
                    chars.next();
                }
            }
            ']' if class_depth > 0 => {
                class_depth -= 1;
                out.push(']');
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syntax_error_quotes_the_pattern_as_written() {
        for anchored in [true, false] {
            let error = compile(r"\d[a-z", false, anchored).unwrap_err().to_string();
            assert!(error.contains(r"\d[a-z"), "{error}");
            assert!(
                !error.contains("^(?:") && !error.contains("[0-9]"),
                "{error}"
            );
        }
    }

    #[test]
    fn classes_are_ascii_like_javascript_unless_unicode_is_asked_for() {
        let version = compile(r"v\d+\.\d+\.\d+", false, true).unwrap();
        assert!(version.is_match("v1.2.3"));
        assert!(!version.is_match("v١.٢.٣"), "Arabic-Indic digits");
        assert!(!version.is_match("v１.2.3"), "full-width digit");
        let unicode = compile(r"v\d+\.\d+\.\d+", true, true).unwrap();
        assert!(unicode.is_match("v١.٢.٣"));

        let word = compile(r"\w+", false, true).unwrap();
        assert!(word.is_match("deploy_2"));
        assert!(!word.is_match("café"));
        let classes = compile(r"[\d\-]+|[^\W]x|[\D]", false, true).unwrap();
        assert!(classes.is_match("1-2"));
        assert!(!classes.is_match("١-٢"));
        assert!(
            classes.is_match("é"),
            "\\D inside a class still takes non-digits"
        );
        let boundary = compile(r"\bok\b", false, false).unwrap();
        assert!(boundary.is_match("é ok"));
        assert!(
            boundary.is_match("éok"),
            "é is not a word character in JavaScript, so there is a boundary"
        );
        assert!(!compile(r"\bok\b", true, false).unwrap().is_match("éok"));
        // `\s` is JavaScript's: Unicode spaces, U+FEFF included, U+0085 not.
        let space = compile(r"a\sb", false, true).unwrap();
        assert!(space.is_match("a\u{a0}b"));
        assert!(space.is_match("a\u{feff}b"));
        assert!(!space.is_match("a\u{85}b"));
        assert!(compile(r"a\sb", true, true).unwrap().is_match("a\u{85}b"));
        let classes = compile(r"[\s,]+|x\S", false, true).unwrap();
        assert!(classes.is_match(" ,\u{3000}"));
        assert!(classes.is_match("xé") && !classes.is_match("x\u{feff}"));
        // Other escapes pass through.
        assert!(compile(r"\\d\.", false, true).unwrap().is_match("\\d."));
        assert!(
            compile(r"[[:alpha:]\d]+", false, true)
                .unwrap()
                .is_match("ab1")
        );
        assert!(compile(r"[]a]", false, true).is_ok());
    }
}
