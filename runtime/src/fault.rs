//! Kill points for the crash tests: places in a run where a test harness kills the
//! process with SIGKILL, to show that no point leaves a migration half-applied.
//!
//! Compiled in only with the `fault-injection` feature (enabled by pgstrata's own test
//! crate), and inert unless `PGSTRATA_KILL_AT` is set:
//! - `PGSTRATA_KILL_AT=list`: every point reached prints `pgstrata-killpoint-seen NAME`
//!   on stderr, so a harness can enumerate them from a clean run;
//! - `PGSTRATA_KILL_AT=NAME`: on reaching that point the process prints
//!   `pgstrata-killpoint NAME` and stops there, for the harness to kill it. The process
//!   is killed from outside, for real, rather than exiting on its own: an exit would
//!   run destructors and close the connection politely.

/// Marks a kill point. `name` is only built when the feature is on and the variable set.
#[cfg(feature = "fault-injection")]
pub(crate) fn point(name: impl FnOnce() -> String) {
    use std::io::Write;
    let Some(want) = std::env::var_os("PGSTRATA_KILL_AT") else {
        return;
    };
    let name = name();
    let mut err = std::io::stderr().lock();
    if want == "list" {
        let _ = writeln!(err, "pgstrata-killpoint-seen {name}");
    } else if want == name.as_str() {
        let _ = writeln!(err, "pgstrata-killpoint {name}");
        let _ = err.flush();
        drop(err);
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

/// Marks a kill point (compiled to nothing without the `fault-injection` feature).
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn point(_name: impl FnOnce() -> String) {}
