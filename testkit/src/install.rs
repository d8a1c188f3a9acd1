//! Getting the system programs the tests and the example need (PostgreSQL's server and
//! client, PgBouncer) onto a fresh Debian machine: found when installed, installed with
//! apt-get when this process is root and apt-get exists (saying what it installs), and
//! otherwise an error with the exact command to run.

use std::fs::File;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// One install at a time in this process; a lock file serializes processes (apt-get
/// refuses to run twice at once).
static INSTALLING: Mutex<()> = Mutex::new(());

/// Makes sure `found()` holds, installing the Debian `packages` when it does not and
/// this process may; `what` says what is missing, for messages.
///
/// # Errors
/// Still missing: the message names the command that installs it.
pub(crate) fn ensure(
    what: &str,
    packages: &[&str],
    found: impl Fn() -> bool,
) -> Result<(), String> {
    if found() {
        return Ok(());
    }
    let command = format!("apt-get install -y {}", packages.join(" "));
    let _guard = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    if found() {
        return Ok(());
    }
    if !crate::is_root() || !on_path("apt-get") {
        return Err(format!(
            "{what} is not installed; install it with `sudo {command}` (Debian, Ubuntu)"
        ));
    }
    let _file_lock = FileLock::take("/tmp/pgstrata-testkit-apt.lock");
    if found() {
        return Ok(());
    }
    say(&format!(
        "pgstrata-testkit: {what} is not installed: running `apt-get update` and `{command}`"
    ));
    let quiet = |c: &mut Command| {
        c.env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
    };
    let mut update = Command::new("apt-get");
    update.args(["update", "-qq"]);
    quiet(&mut update);
    run(update, "apt-get update")?;
    let mut install = Command::new("apt-get");
    install.args(["install", "-y", "-qq"]).args(packages);
    quiet(&mut install);
    run(install, &command)?;
    if found() {
        say(&format!(
            "pgstrata-testkit: installed {}",
            packages.join(", ")
        ));
        Ok(())
    } else {
        Err(format!("`{command}` ran, but {what} is still not found"))
    }
}

/// Writes to stderr past the test harness's capture (which takes only the `print!`
/// macros): an install is news whether the test passes or not.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn run(mut cmd: Command, shown: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run `{shown}`: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "`{shown}` failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

/// Whether `program` is a file in a folder of `PATH`.
pub(crate) fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// An exclusive `flock` on a file, released when dropped (or when the process dies).
struct FileLock(Option<File>);

impl FileLock {
    fn take(path: &str) -> FileLock {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .ok();
        if let Some(f) = &file {
            use std::os::unix::io::AsRawFd;
            // SAFETY: flock on a descriptor this struct owns; no memory is shared.
            #[allow(unsafe_code)]
            unsafe {
                libc::flock(f.as_raw_fd(), libc::LOCK_EX);
            }
            let _ = writeln!(&*f, "{}", std::process::id());
        }
        FileLock(file)
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        if let Some(f) = &self.0 {
            use std::os::unix::io::AsRawFd;
            // SAFETY: as in `take`.
            #[allow(unsafe_code)]
            unsafe {
                libc::flock(f.as_raw_fd(), libc::LOCK_UN);
            }
        }
    }
}
