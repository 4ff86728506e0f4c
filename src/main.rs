//! The `switchboard` binary: everything lives in the library; see `switchboard::cli`.

/// mimalloc instead of the system allocator: callbacks are answered on whichever worker
/// thread polls them, so memory is often freed on another thread than the one that
/// allocated it, and glibc's malloc then takes the other arena's lock (futex waits under
/// load). mimalloc frees such blocks without a lock; the reply-throughput bench gains
/// about a tenth (see `benches/reply_throughput.rs`).
///
/// mimalloc keeps a page freed by the program for `MIMALLOC_PURGE_DELAY` ms (default 1000)
/// and returns it only when the thread allocates again after that: worker threads that go
/// quiet after a peak of connections (about 18 KiB of buffers each) keep the peak's memory.
/// Measured on `switchboard dev`: 400 connections opened, half of them closed, 400 more
/// opened, then all closed left the process 9.3 MiB larger than before them; with
/// `MIMALLOC_PURGE_DELAY=0`, 4.6 MiB, and the soak's RSS stayed flat (issue #13). The
/// option is read from the environment when the process starts, before `main` (setting it in
/// code would need `unsafe`, which this crate forbids), so the shipped Dockerfile and systemd
/// unit set it, and `bench/soak` runs the binary with it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    switchboard::cli::main()
}
