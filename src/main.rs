//! The `switchboard` binary: everything lives in the library; see `switchboard::cli`.

/// mimalloc instead of the system allocator: callbacks are answered on whichever worker
/// thread polls them, so memory is often freed on another thread than the one that
/// allocated it, and glibc's malloc then takes the other arena's lock (futex waits under
/// load). mimalloc frees such blocks without a lock; the reply-throughput bench gains
/// about a tenth (see `benches/reply_throughput.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    switchboard::cli::main()
}
