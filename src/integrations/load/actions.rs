//! Compiling a route's action (`[reply]`, `[dialog]`, `[exec]`, `[http]`, `[post]`, or a named
//! one under `[actions.<name>]`), and whether an exec program can start on this machine.

use std::path::Path;

use super::FileChecker;
use crate::integrations::Action;
use crate::integrations::context::{Context, SampleShape};
use crate::integrations::dialog::DialogAction;
use crate::integrations::exec::ExecAction;
use crate::integrations::http::{HttpAction, HttpError};
use crate::integrations::post::PostAction;
use crate::integrations::reply::{NoLinks, ReplyAction};
use crate::integrations::shebang;
use crate::integrations::spec::ActionSpec;

impl FileChecker<'_> {
    /// Compiles one action (`prefix` is `""` for the main one or `actions.<name>.`).
    pub(super) fn compile_action(
        &mut self,
        prefix: &str,
        spec: &ActionSpec,
        shape: &SampleShape,
        main: bool,
    ) -> Option<Action> {
        let kinds = spec.kinds();
        match kinds.len() {
            0 => {
                let section = prefix.trim_end_matches('.');
                self.problem(
                    section,
                    None,
                    if main { "reply" } else { "" },
                    "needs an action: one of `reply`, `dialog`, `exec`, `http`, `post`".into(),
                );
                return None;
            }
            1 => {}
            _ => {
                self.problem(
                    &format!("{prefix}{}", kinds[1]),
                    None,
                    "",
                    format!(
                        "only one action per route or named action, found {}",
                        kinds.join(", ")
                    ),
                );
                return None;
            }
        }
        let trigger = self.name.clone();
        let sample = Context::sample(&trigger, shape);
        let name = format!("{}.{prefix}", self.name);
        if let Some(reply) = &spec.reply {
            let compiled = ReplyAction::compile(&self.name, &format!("{name}reply"), reply)
                .and_then(|r| r.render(Box::new(sample.clone()), &NoLinks).map(|_| r));
            return match compiled {
                Ok(r) => Some(Action::Reply(r)),
                Err(e) => {
                    self.template_problem(&format!("{prefix}reply.text"), &e);
                    None
                }
            };
        }
        if let Some(dialog) = &spec.dialog {
            return match DialogAction::compile(&format!("{name}dialog"), dialog) {
                Ok(d) => match d
                    .build(&sample, "x", String::new())
                    .and_then(|_| d.render_checks(&sample))
                {
                    Ok(_) => Some(Action::Dialog(d)),
                    Err(e) => {
                        self.template_problem(&format!("{prefix}dialog.title"), &e);
                        None
                    }
                },
                Err(problems) => {
                    for (index, key, message) in problems {
                        let section = match index {
                            Some(_) => format!("{prefix}dialog.elements"),
                            None => format!("{prefix}dialog"),
                        };
                        self.problem(&section, index, key, message);
                    }
                    None
                }
            };
        }
        if let Some(exec) = &spec.exec {
            let section = format!("{prefix}exec");
            let compiled = match ExecAction::compile(&format!("{name}exec"), exec, self.base) {
                Ok(e) => e,
                Err(e) => {
                    self.template_problem(&format!("{section}.args"), &e);
                    return None;
                }
            };
            if let Err(e) = compiled.check(&sample) {
                self.template_problem(&format!("{section}.args"), &e);
                return None;
            }
            if let Some(message) = program_problem(&compiled.program) {
                self.problem(&section, None, "program", message);
                return None;
            }
            if exec.max_concurrent == 0 {
                self.problem(&section, None, "max_concurrent", "at least 1".into());
                return None;
            }
            return Some(Action::Exec(compiled));
        }
        if let Some(http) = &spec.http {
            let section = format!("{prefix}http");
            return match HttpAction::compile(&self.name, &format!("{name}http"), http) {
                Ok(h) => match h.check(&sample) {
                    Ok(()) => Some(Action::Http(h)),
                    Err(e) => {
                        self.template_problem(&format!("{section}.url"), &e);
                        None
                    }
                },
                Err(HttpError::Template(e)) => {
                    self.template_problem(&format!("{section}.url"), &e);
                    None
                }
                Err(e) => {
                    self.problem(&section, None, "method", e.to_string());
                    None
                }
            };
        }
        if let Some(post) = &spec.post {
            let section = format!("{prefix}post");
            return match PostAction::compile(&format!("{name}post"), post)
                .and_then(|p| p.check(&sample).map(|()| p))
            {
                Ok(p) => Some(Action::Post(p)),
                Err(e) => {
                    self.template_problem(&format!("{section}.message"), &e);
                    None
                }
            };
        }
        None
    }
}

/// Why an exec program cannot run, if it cannot: missing, not executable, or its `#!` line
/// names an interpreter that is not there.
fn program_problem(program: &Path) -> Option<String> {
    let metadata = match std::fs::metadata(program) {
        Ok(m) => m,
        Err(e) => return Some(format!("`{}` cannot be used: {e}", program.display())),
    };
    if !metadata.is_file() {
        return Some(format!("`{}` is not a file", program.display()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o111 == 0 {
            return Some(format!("`{}` is not executable", program.display()));
        }
    }
    // Checked with this machine's PATH, the one `dev` and `serve` run the program with.
    shebang::interpreter_problem(program, std::env::var_os("PATH").as_deref())
        .map(|problem| format!("`{}` cannot start: {problem}", program.display()))
}
