//! Where the REPL's lines come from.
//!
//! - **A terminal**: `rustyline` reads each line on its own thread (line editing, history
//!   with the arrow keys, Ctrl-D to quit). The session asks for one line at a time, after it
//!   has printed what the previous one did, so the prompt comes back under the output; events
//!   arriving while the prompt waits are printed above it through rustyline's external
//!   printer ([`PromptOut`]).
//! - **A pipe or file**: lines are read as they come, and the session echoes each one after
//!   the prompt, so the output reads like a chat transcript.

use std::io::Write;

use rustyline::ExternalPrinter;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tokio::sync::mpsc;

/// A piped line that is not UTF-8 text: skipped, the session goes on.
#[derive(Debug, thiserror::Error)]
#[error("skipped a line that is not UTF-8 text: {0}")]
pub(super) struct NotText(String);

/// A source of typed lines.
#[derive(Debug)]
pub(super) enum Lines<R> {
    /// Piped input (lines as bytes, which may not be text): echoed by the session.
    Piped(tokio::io::Split<R>),
    /// A terminal, read by rustyline.
    Terminal(Terminal),
    /// No lines: only the page is used; input ends on Ctrl-C (SIGINT). The listener is
    /// registered when this source is made, before the banner tells the person to press
    /// Ctrl-C, so an early one is never taken by the default handler (which would kill the
    /// process without shutting down).
    Interrupt(tokio::signal::unix::Signal),
}

impl<R: AsyncBufRead + Unpin> Lines<R> {
    /// No lines, ending on Ctrl-C.
    pub(super) fn interrupt() -> std::io::Result<Self> {
        let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        Ok(Lines::Interrupt(signal))
    }

    /// Lines read from `input`.
    pub(super) fn piped(input: R) -> Self {
        Lines::Piped(input.split(b'\n'))
    }

    /// Whether the session must echo each line (the person did not type it on a terminal).
    pub(super) fn echoes(&self) -> bool {
        matches!(self, Lines::Piped(_))
    }

    /// Whether lines are read at all (not only the page).
    pub(super) fn reads(&self) -> bool {
        !matches!(self, Lines::Interrupt(_))
    }

    /// The next line (an error for a piped line that is not text), or `None` at end of input.
    /// Cancel-safe: dropping the future before it completes loses no line (a terminal keeps
    /// waiting at the prompt already shown).
    pub(super) async fn next(&mut self, prompt: &str) -> Option<Result<String, NotText>> {
        match self {
            // A read error ends the input like end of file would.
            Lines::Piped(lines) => {
                let mut line = lines.next_segment().await.ok().flatten()?;
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                Some(
                    String::from_utf8(line)
                        .map_err(|e| NotText(String::from_utf8_lossy(e.as_bytes()).into_owned())),
                )
            }
            Lines::Terminal(terminal) => terminal.next(prompt).await.map(Ok),
            Lines::Interrupt(signal) => {
                signal.recv().await;
                None
            }
        }
    }
}

/// rustyline on its own thread: it blocks reading the terminal.
#[derive(Debug)]
pub(super) struct Terminal {
    /// Asks the thread for a line with this prompt.
    prompts: std::sync::mpsc::Sender<String>,
    /// Lines typed; `None` at Ctrl-D.
    lines: mpsc::UnboundedReceiver<Option<String>>,
    /// A prompt is shown and its line not yet received.
    waiting: bool,
}

impl Terminal {
    /// Starts the reader thread; the writer prints above the prompt.
    pub(super) fn start() -> rustyline::Result<(Terminal, PromptOut)> {
        let mut editor = rustyline::DefaultEditor::new()?;
        let printer = editor.create_external_printer()?;
        let (prompts, asked) = std::sync::mpsc::channel::<String>();
        let (typed, lines) = mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("dev-readline".into())
            .spawn(move || {
                // Ends when the session drops its sender (after end of input).
                while let Ok(prompt) = asked.recv() {
                    let line = match editor.readline(&prompt) {
                        Ok(line) => {
                            if !line.trim().is_empty() {
                                let _ = editor.add_history_entry(line.as_str());
                            }
                            Some(line)
                        }
                        // Ctrl-C drops the line being typed, as in a shell.
                        Err(rustyline::error::ReadlineError::Interrupted) => Some(String::new()),
                        Err(_) => None,
                    };
                    let end = line.is_none();
                    if typed.send(line).is_err() || end {
                        break;
                    }
                }
            })
            .map_err(rustyline::error::ReadlineError::Io)?;
        let terminal = Terminal {
            prompts,
            lines,
            waiting: false,
        };
        Ok((
            terminal,
            PromptOut {
                printer: Box::new(printer),
                pending: Vec::new(),
            },
        ))
    }

    async fn next(&mut self, prompt: &str) -> Option<String> {
        if !self.waiting {
            self.prompts.send(prompt.to_owned()).ok()?;
            self.waiting = true;
        }
        let line = self.lines.recv().await.flatten();
        self.waiting = false;
        line
    }
}

/// Standard output while rustyline may be showing a prompt: whole text is handed to its
/// external printer on `flush`, which prints it above the line being edited.
pub(super) struct PromptOut {
    printer: Box<dyn ExternalPrinter + Send>,
    pending: Vec<u8>,
}

impl std::fmt::Debug for PromptOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptOut")
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl Write for PromptOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&std::mem::take(&mut self.pending)).into_owned();
        self.printer.print(text).map_err(std::io::Error::other)
    }
}
