//! `switchboard test`: transcripts that test routes against the simulated Mattermost.
//!
//! A transcript is what `switchboard dev` prints, as the README's walkthrough shows it: a
//! line after a `~channel @user> ` prompt is typed as that user in that channel (the runner
//! switches with `!as`/`!in` when the prompt changes); every other line must be printed, in
//! order, after the line that caused it. `…` stands for any text (ids, times); a line that is
//! only `…` is skipped; lines starting with `#` are comments. Output of background work
//! (exec progress, hooks) may interleave, so a later expectation is searched from the
//! previous match on. A Markdown file (`README.md`) is read for its ```text blocks that
//! start with a prompt, each a session of its own.
//!
//! Each transcript runs in a fresh simulated Mattermost with the configured routes; a
//! mismatch prints the expected lines beside what was printed, and the run exits non-zero.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::Settings;

/// One typed line and what must follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    /// Line number in the file (1-based) of the prompt line.
    line: usize,
    channel: String,
    user: String,
    typed: String,
    /// The prompt line as written (and as `dev` echoes it).
    echo: String,
    expected: Vec<String>,
}

/// A transcript that could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TranscriptError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// An expected line came before any prompt.
    #[error("{path}:{line}: an expected line before the first `~channel @user> ` prompt")]
    NoPrompt { path: String, line: usize },
    /// Nothing to run.
    #[error("{path}: no `~channel @user> ` prompt lines")]
    Empty { path: String },
}

/// `~town-square @alice> /hello hi` → (`town-square`, `alice`, `/hello hi`).
fn prompt(line: &str) -> Option<(&str, &str, &str)> {
    let rest = line.strip_prefix('~')?;
    let (channel, rest) = rest.split_once(" @")?;
    let (user, typed) = rest.split_once("> ")?;
    (!user.contains(' ') && !channel.contains(' ')).then_some((channel, user, typed))
}

/// The sessions of a transcript file: one for a `.txt`, one per ```text block of a `.md`.
fn sessions(path: &str, text: &str) -> Result<Vec<Vec<Step>>, TranscriptError> {
    let mut sessions = Vec::new();
    if path.ends_with(".md") {
        let mut block: Option<(usize, String)> = None;
        for (i, line) in text.lines().enumerate() {
            match &mut block {
                None if line.trim_end() == "```text" => block = Some((i + 1, String::new())),
                None => {}
                Some((start, body)) if line.trim_end() == "```" => {
                    if let Some(included) = include_of(body) {
                        // The manual's pages show transcripts kept beside the routes.
                        let file = Path::new(path)
                            .parent()
                            .unwrap_or(Path::new(""))
                            .join(included);
                        let shown = file.display().to_string();
                        let text = std::fs::read_to_string(&file).map_err(|source| {
                            TranscriptError::Read {
                                path: shown.clone(),
                                source,
                            }
                        })?;
                        sessions.push(parse(&shown, &text, 0)?);
                    } else {
                        let first = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                        if prompt(first).is_some() {
                            sessions.push(parse(path, body, *start)?);
                        }
                    }
                    block = None;
                }
                Some((_, body)) => {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    } else {
        sessions.push(parse(path, text, 0)?);
    }
    if sessions.iter().all(Vec::is_empty) {
        return Err(TranscriptError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(sessions)
}

/// The file a block that is only mdBook's `{{#include path}}` shows (a transcript kept
/// elsewhere, e.g. `routes/tests/poll.txt` in the cookbook), relative to the page.
fn include_of(body: &str) -> Option<&str> {
    let mut lines = body.lines().filter(|l| !l.trim().is_empty());
    let only = lines.next()?.trim();
    if lines.next().is_some() {
        return None;
    }
    let path = only.strip_prefix("{{#include ")?.strip_suffix("}}")?.trim();
    (!path.is_empty() && !path.contains(':')).then_some(path)
}

/// Steps of one session; `first_line` is the number of lines before `text` in its file.
pub(crate) fn parse(
    path: &str,
    text: &str,
    first_line: usize,
) -> Result<Vec<Step>, TranscriptError> {
    let mut steps: Vec<Step> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let number = first_line + i + 1;
        if let Some((channel, user, typed)) = prompt(line) {
            steps.push(Step {
                line: number,
                channel: channel.to_owned(),
                user: user.to_owned(),
                typed: typed.to_owned(),
                echo: line.to_owned(),
                expected: Vec::new(),
            });
        } else if line.starts_with('#') || line.trim().is_empty() || line.trim() == "…" {
            continue;
        } else {
            let Some(step) = steps.last_mut() else {
                return Err(TranscriptError::NoPrompt {
                    path: path.to_owned(),
                    line: number,
                });
            };
            step.expected.push(line.to_owned());
        }
    }
    Ok(steps)
}

/// The input `dev` reads for `steps`: each typed line, preceded by `!as`/`!in` when its
/// prompt names another user or channel than the one before.
pub(crate) fn input(steps: &[Step]) -> String {
    let (mut user, mut channel) = (
        super::repl::FIRST_USER.to_owned(),
        super::repl::FIRST_CHANNEL.to_owned(),
    );
    let mut input = String::new();
    for step in steps {
        if step.user != user {
            let _ = writeln!(input, "!as @{}", step.user);
            user.clone_from(&step.user);
        }
        if step.channel != channel {
            let _ = writeln!(input, "!in ~{}", step.channel);
            channel.clone_from(&step.channel);
        }
        let _ = writeln!(input, "{}", step.typed);
        // A typed `!as`/`!in` moves the REPL too.
        if let Some(who) = step.typed.strip_prefix("!as ") {
            user = who.trim().trim_start_matches('@').to_lowercase();
        } else if let Some(place) = step.typed.strip_prefix("!in ") {
            place
                .trim()
                .trim_start_matches('~')
                .clone_into(&mut channel);
        }
    }
    input
}

/// Whether `actual` matches `pattern`, where `…` stands for any text.
pub(crate) fn matches(pattern: &str, actual: &str) -> bool {
    let parts: Vec<&str> = pattern.split('…').collect();
    if parts.len() == 1 {
        return pattern == actual;
    }
    let Some(mut rest) = actual.strip_prefix(parts[0]) else {
        return false;
    };
    for (i, part) in parts.iter().enumerate().skip(1) {
        if i == parts.len() - 1 {
            return rest.len() >= part.len() && rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Checks `steps` against what `dev` printed; on a mismatch, a readable diff.
pub(crate) fn check(path: &str, steps: &[Step], printed: &str) -> Result<(), String> {
    let lines: Vec<&str> = printed.lines().collect();
    let mut at = 0;
    for (n, step) in steps.iter().enumerate() {
        let Some(echo) = lines[at..].iter().position(|l| *l == step.echo) else {
            return Err(diff(
                path,
                step,
                &format!("the prompt line {:?} was never printed", step.echo),
                &[],
                &lines[at..],
            ));
        };
        at += echo + 1;
        let mut next = at;
        for (k, expected) in step.expected.iter().enumerate() {
            match lines[next..].iter().position(|l| matches(expected, l)) {
                Some(found) => next += found + 1,
                None => {
                    let end = steps.get(n + 1).and_then(|s| {
                        lines[at..]
                            .iter()
                            .position(|l| *l == s.echo)
                            .map(|p| at + p)
                    });
                    let shown = &lines[at..end.unwrap_or(lines.len())];
                    return Err(diff(
                        path,
                        step,
                        &format!("expected {expected:?} is missing"),
                        &step.expected[k..],
                        shown,
                    ));
                }
            }
        }
    }
    Ok(())
}

fn diff(path: &str, step: &Step, why: &str, missing: &[String], printed: &[&str]) -> String {
    let mut out = format!(
        "{path}:{}: after `{}`: {why}\n--- expected ({path})\n+++ printed by switchboard dev\n  {}\n",
        step.line, step.typed, step.echo
    );
    for line in &step.expected {
        let mark = if missing.contains(line) { '-' } else { ' ' };
        let _ = writeln!(out, "{mark} {line}");
    }
    for line in printed {
        let _ = writeln!(out, "+ {line}");
    }
    out
}

/// The transcript files to run: those named, else `tests/*.txt` in the routes directory.
fn files(settings: &Settings, named: Vec<PathBuf>) -> Vec<PathBuf> {
    if !named.is_empty() {
        return named;
    }
    let dir = settings.routes.dir.join("tests");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    found.sort();
    found
}

/// `switchboard test [FILES…]`: runs each transcript; prints `ok`/`FAIL` per file and a diff
/// for each mismatch; fails when any transcript fails or none was found.
pub async fn run(settings: Settings, named: Vec<PathBuf>) -> ExitCode {
    let files = files(&settings, named);
    if files.is_empty() {
        eprintln!(
            "error: no transcripts: name files, or put *.txt files in {}",
            settings.routes.dir.join("tests").display()
        );
        return ExitCode::FAILURE;
    }
    let mut failed = 0;
    for file in &files {
        match run_file(&settings, file).await {
            Ok(count) => println!(
                "ok   {} ({count} {} typed)",
                file.display(),
                if count == 1 { "line" } else { "lines" }
            ),
            Err(report) => {
                failed += 1;
                println!("FAIL {}\n{report}", file.display());
            }
        }
    }
    println!(
        "{} transcript(s): {} passed, {failed} failed",
        files.len(),
        files.len() - failed
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn run_file(settings: &Settings, file: &Path) -> Result<usize, String> {
    let path = file.display().to_string();
    let text = std::fs::read_to_string(file)
        .map_err(|source| TranscriptError::Read {
            path: path.clone(),
            source,
        })
        .map_err(|e| e.to_string())?;
    let sessions = sessions(&path, &text).map_err(|e| e.to_string())?;
    let mut typed = 0;
    for steps in sessions {
        let input = input(&steps);
        let mut printed = Vec::new();
        let code = super::run(settings.clone(), input.as_bytes(), &mut printed).await;
        let printed = String::from_utf8_lossy(&printed);
        if code != ExitCode::SUCCESS {
            return Err(format!("switchboard dev failed; it printed:\n{printed}"));
        }
        check(&path, &steps, &printed)?;
        typed += steps.len();
    }
    Ok(typed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_line_is_reported_with_a_diff() {
        let steps = parse(
            "t.txt",
            "# hello\n~town-square @alice> /hello hi\n(only visible to you) Hi …\n",
            0,
        )
        .unwrap();
        let report = check(
            "t.txt",
            &steps,
            "~town-square @alice> /hello hi\n(only visible to you) Hello\n",
        )
        .unwrap_err();
        assert!(report.contains("t.txt:2: after `/hello hi`"), "{report}");
        assert!(report.contains("- (only visible to you) Hi …"), "{report}");
        assert!(report.contains("+ (only visible to you) Hello"), "{report}");
        check(
            "t.txt",
            &steps,
            "~town-square @alice> /hello hi\n(edited) x\n(only visible to you) Hi there\n",
        )
        .unwrap();
    }

    #[test]
    fn a_prompt_for_another_user_or_channel_switches_first() {
        let steps = parse(
            "t.txt",
            "~town-square @alice> /poll x\n~leads @carol> hi\n~leads @carol> !as @bob\n~leads @bob> yo\n",
            0,
        )
        .unwrap();
        assert_eq!(
            input(&steps),
            "/poll x\n!as @carol\n!in ~leads\nhi\n!as @bob\nyo\n"
        );
    }

    #[test]
    fn markdown_files_give_their_prompt_blocks() {
        let md =
            "# T\n```text\nnot a transcript\n```\n```text\n~town-square @alice> /hello\nx\n```\n";
        let sessions = sessions("R.md", md).unwrap();
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0][0].line, 6);
        assert_eq!(sessions[0][0].expected, vec!["x".to_owned()]);
    }

    #[test]
    fn the_wildcard_matches_any_text_but_not_less() {
        assert!(matches("✅ exit 0 in … s", "✅ exit 0 in 0.8 s"));
        assert!(!matches("a…a", "a"));
        assert!(matches("…", ""));
        assert!(!matches("x", "xy"));
    }
}
