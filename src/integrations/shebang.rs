//! A script's `#!` line, read to say why it cannot start.
//!
//! When a script's interpreter is missing, the system's answer is the same "No such file or
//! directory" as for a missing script, which sends authors looking for a file that is there.
//! The usual cause is a script saved with Windows line endings: the kernel reads
//! `#!/bin/sh\r` and looks for an interpreter named `/bin/sh\r`. `check` reads the line and
//! names the interpreter; a start that fails the same way at run time says so too.

use std::io::Read;
use std::path::Path;

/// How much of a `#!` line Linux reads (`BINPRM_BUF_SIZE`).
const LINE_LIMIT: usize = 256;

/// The interpreter a script's `#!` line names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shebang {
    /// The path up to the first space or tab (a `\r` belongs to it, as the kernel sees it).
    interpreter: String,
    /// The rest of the line, trimmed: one argument for the interpreter.
    argument: Option<String>,
    /// The line ends in `\r`: the file has Windows line endings.
    carriage_return: bool,
}

impl Shebang {
    /// The `#!` line at the start of `head`, if there is one.
    fn parse(head: &[u8]) -> Option<Shebang> {
        let rest = head.strip_prefix(b"#!")?;
        let line = rest.split(|b| *b == b'\n').next().unwrap_or_default();
        let line = String::from_utf8_lossy(line);
        let carriage_return = line.ends_with('\r');
        let line = line.trim_start_matches([' ', '\t']);
        let (interpreter, argument) = match line.split_once([' ', '\t']) {
            Some((interpreter, argument)) => {
                (interpreter, Some(argument.trim_matches([' ', '\t'])))
            }
            None => (line, None),
        };
        Some(Shebang {
            interpreter: interpreter.to_owned(),
            argument: argument.filter(|a| !a.is_empty()).map(str::to_owned),
            carriage_return,
        })
    }
}

/// Why the interpreter on `program`'s `#!` line cannot run it, if it cannot; `None` for a
/// program without one (a binary) or one that cannot be read (reported elsewhere). `path` is
/// the `PATH` a `#!/usr/bin/env NAME` line searches.
pub(super) fn interpreter_problem(
    program: &Path,
    path: Option<&std::ffi::OsStr>,
) -> Option<String> {
    let mut head = Vec::with_capacity(LINE_LIMIT);
    std::fs::File::open(program)
        .ok()?
        .take(LINE_LIMIT as u64)
        .read_to_end(&mut head)
        .ok()?;
    let shebang = Shebang::parse(&head)?;
    if shebang.carriage_return {
        return Some(format!(
            "its `#!` line ends in a carriage return (the file has Windows line endings), so \
             the system looks for an interpreter named `{}`; save it with Unix line endings \
             (`dos2unix`)",
            shebang.interpreter.escape_debug()
        ));
    }
    if shebang.interpreter.is_empty() {
        return Some("its `#!` line names no interpreter".to_owned());
    }
    let interpreter = Path::new(&shebang.interpreter);
    // A relative interpreter is looked up from the run's working directory: not checked.
    if !interpreter.is_absolute() {
        return None;
    }
    if let Some(problem) = not_runnable(interpreter) {
        return Some(format!(
            "the interpreter `{}` on its `#!` line {problem}",
            shebang.interpreter
        ));
    }
    // `#!/usr/bin/env NAME` runs NAME from the PATH; a NAME that is not there fails the same
    // way, only later.
    let name = shebang.argument.filter(|a| {
        interpreter.file_name().is_some_and(|f| f == "env")
            && !a.starts_with('-')
            && !a.contains([' ', '\t', '/'])
    })?;
    let found = path.is_some_and(|path| {
        std::env::split_paths(path).any(|dir| not_runnable(&dir.join(&name)).is_none())
    });
    (!found).then(|| {
        format!(
            "`{name}`, run by `{}` on its `#!` line, is not on the PATH",
            shebang.interpreter
        )
    })
}

/// Why `file` cannot be run (`does not exist`, `is not executable`), if it cannot.
fn not_runnable(file: &Path) -> Option<&'static str> {
    let Ok(metadata) = std::fs::metadata(file) else {
        return Some("does not exist");
    };
    if !metadata.is_file() {
        return Some("is not a file");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o111 == 0 {
            return Some("is not executable");
        }
    }
    None
}

/// Why `program` could not start, for the user: the interpreter when the system said "not
/// found" about a program that exists, else the system's own words.
pub(super) fn start_error(program: &Path, error: &std::io::Error) -> String {
    if error.kind() == std::io::ErrorKind::NotFound && program.is_file() {
        if let Some(problem) = interpreter_problem(program, std::env::var_os("PATH").as_deref()) {
            return problem;
        }
    }
    error.to_string()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn script(body: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.sh");
        std::fs::write(&file, body).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        (dir, file)
    }

    #[test]
    fn the_line_is_split_as_the_kernel_splits_it() {
        assert_eq!(
            Shebang::parse(b"#! /usr/bin/env  python3 \nprint()"),
            Some(Shebang {
                interpreter: "/usr/bin/env".into(),
                argument: Some("python3".into()),
                carriage_return: false,
            })
        );
        assert_eq!(
            Shebang::parse(b"#!/bin/sh\r\necho").map(|s| s.interpreter),
            Some("/bin/sh\r".into())
        );
        assert_eq!(Shebang::parse(b"\x7fELF"), None);
    }

    #[test]
    fn windows_line_endings_are_named_with_the_interpreter_the_system_looks_for() {
        let (_dir, file) = script("#!/bin/sh\r\necho hi\r\n");
        let problem = interpreter_problem(&file, None).unwrap();
        assert!(problem.contains("carriage return"), "{problem}");
        assert!(problem.contains("`/bin/sh\\r`"), "{problem}");
    }

    #[test]
    fn a_missing_interpreter_or_env_program_is_named() {
        let (_dir, file) = script("#!/nonexistent/bash\necho hi\n");
        assert_eq!(
            interpreter_problem(&file, None).as_deref(),
            Some("the interpreter `/nonexistent/bash` on its `#!` line does not exist")
        );
        let (dir, file) = script("#!/usr/bin/env nosuchthing\n");
        assert!(
            interpreter_problem(&file, Some(dir.path().as_os_str()))
                .is_some_and(|p| p.contains("`nosuchthing`, run by `/usr/bin/env`")),
        );
        // Found on the PATH given: no problem.
        let (dir, file) = script("#!/usr/bin/env s.sh\n");
        assert_eq!(
            interpreter_problem(&file, Some(dir.path().as_os_str())),
            None
        );
    }

    #[test]
    fn a_working_script_or_a_binary_has_no_problem() {
        let (_dir, file) = script("#!/bin/sh\necho hi\n");
        assert_eq!(interpreter_problem(&file, None), None);
        let (_dir, file) = script("\x7fELF...");
        assert_eq!(interpreter_problem(&file, None), None);
    }

    #[test]
    fn a_start_that_fails_on_the_interpreter_says_so() {
        let (_dir, file) = script("#!/bin/sh\r\necho hi\r\n");
        let error = std::process::Command::new(&file).spawn().unwrap_err();
        let shown = start_error(&file, &error);
        assert!(shown.contains("carriage return"), "{shown}");
        let missing = Path::new("/nonexistent/deploy");
        let error = std::process::Command::new(missing).spawn().unwrap_err();
        assert!(
            start_error(missing, &error).contains("No such file"),
            "a missing program keeps the system's words"
        );
    }
}
