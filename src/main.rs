//! The `switchboard` binary: everything lives in the library; see `switchboard::cli`.

fn main() -> std::process::ExitCode {
    switchboard::cli::main()
}
