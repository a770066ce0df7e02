//! The allocator's settings for the long-running service.
//!
//! mimalloc keeps memory a thread freed for reuse and returns it to the system only after
//! `MIMALLOC_PURGE_DELAY` milliseconds (1,000 by default in mimalloc 3). A service parses
//! events on its HTTP threads and frees them on the engine's, so a busy `serve` held much more
//! than its live heap: on the bench's replay of 128 MiB through the whole endpoint library,
//! 230 to 234 MiB at its peak against 204 to 206 MiB with a 10 ms delay, at a throughput within
//! the machine's spread (ARCHITECTURE.md, "Memory of the service").
//!
//! Key design decision: mimalloc reads its options from the environment as the process starts,
//! and setting one from inside the program needs `unsafe` code, which this workspace forbids;
//! so `serve` executes itself once more with the variable set, before it does anything else.
//! An operator who sets the variable (to any value) keeps theirs. `hunt` keeps mimalloc's
//! default: there the shorter delay cost 3 to 6% of the time for less gain.

use std::io;

/// mimalloc's environment variable for the purge delay, in milliseconds.
pub const PURGE_DELAY_VAR: &str = "MIMALLOC_PURGE_DELAY";

/// The delay `serve` runs with unless told otherwise.
pub const SERVE_PURGE_DELAY_MS: &str = "10";

/// Replaces this process with the same program and arguments, with `MIMALLOC_PURGE_DELAY` set
/// to [`SERVE_PURGE_DELAY_MS`], unless the environment already sets it. Returns only when it
/// did not: `None` when the variable was set, the error when executing failed (the caller goes
/// on with mimalloc's default).
#[cfg(unix)]
pub fn serve_with_short_purge_delay() -> Option<io::Error> {
    use std::ffi::OsString;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    if std::env::var_os(PURGE_DELAY_VAR).is_some() {
        return None;
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return Some(e),
    };
    let mut args = std::env::args_os();
    let arg0: OsString = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    // `exec` returns only if it failed.
    Some(
        Command::new(&exe)
            .arg0(arg0)
            .args(args)
            .env(PURGE_DELAY_VAR, SERVE_PURGE_DELAY_MS)
            .exec(),
    )
}

/// Elsewhere the service runs with mimalloc's default.
#[cfg(not(unix))]
pub fn serve_with_short_purge_delay() -> Option<io::Error> {
    None
}
