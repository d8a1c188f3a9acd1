//! A real PostgreSQL for tests and examples, with no setup.
//!
//! When `DATABASE_URL` is set, that server is used. Otherwise a throwaway cluster is
//! started from the system's PostgreSQL binaries (found through `pg_config --bindir`,
//! `/usr/lib/postgresql/*/bin` or `PATH`) in a temporary folder, on a free loopback
//! port, once per process, and stopped when the process exits. As root (CI), the
//! server runs as the `postgres` user (or `nobody`), since `initdb` refuses root.
//!
//! Each test asks for a [`fresh_db`]: a new, empty database on that server.
//!
//! On a machine without the server (or PgBouncer), the programs are installed with
//! apt-get when the process is root, saying so; otherwise the message names the command.
//! Nothing here skips: when no server can be had, [`fresh_db`] panics with a message
//! saying how to provide one, so the test fails.
#![deny(missing_docs)]

mod install;
mod pooler;
mod tools;

pub use pooler::{PoolMode, Pooler, POOLER_HOW_TO};
pub use tools::{tool_fixture, ToolFixture, TOOLS};

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How to get a server when none can be started.
pub const HOW_TO: &str =
    "set DATABASE_URL to a PostgreSQL server where this user may CREATE DATABASE \
(e.g. postgres://postgres@127.0.0.1:5432/postgres), or install the server binaries \
(`sudo apt-get install -y postgresql`; run as root, the tests install them themselves) \
so a throwaway one can be started";

/// A corpus's migrations folder (`tests/corpus/<name>/migrations`), shared by the
/// tests of every crate.
///
/// # Panics
/// When the folder is missing from the checkout.
pub fn corpus(name: &str) -> PathBuf {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/corpus")
        .join(name)
        .join("migrations");
    assert!(
        p.is_dir(),
        "corpus folder {} is missing from the checkout",
        p.display()
    );
    p
}

/// The `psql` program (installed with the PostgreSQL client when missing and this
/// process may), for tests that apply SQL the way a user's shell would.
///
/// # Panics
/// When it is missing and cannot be installed: the message names the command.
pub fn psql() -> PathBuf {
    let find = || {
        bin_dir()
            .ok()
            .map(|d| d.join("psql"))
            .filter(|p| p.is_file())
            .or_else(|| install::on_path("psql").then(|| PathBuf::from("psql")))
    };
    if let Err(e) = install::ensure(
        "psql (the PostgreSQL client)",
        &["postgresql-client"],
        || find().is_some(),
    ) {
        panic!("{e}");
    }
    find().unwrap_or_else(|| PathBuf::from("psql"))
}

/// The server tests run against.
#[derive(Debug)]
pub struct Server {
    /// A URL to the server's maintenance database, with full rights.
    pub admin_url: String,
    /// Whether this process started the server (and it goes away with the process).
    pub throwaway: bool,
    /// The folder of the throwaway cluster.
    pub dir: Option<PathBuf>,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The server, started on first use.
///
/// # Panics
/// When `DATABASE_URL` is unset and no server can be started: the message says why and
/// how to provide one.
pub fn server() -> &'static Server {
    // Started on its own thread: the blocking client used to wait for the server must not
    // run inside a caller's async runtime.
    let started = SERVER.get_or_init(|| {
        std::thread::spawn(start)
            .join()
            .unwrap_or_else(|_| Err("the thread starting the server panicked".to_string()))
    });
    match started {
        Ok(s) => s,
        Err(e) => panic!("no PostgreSQL server for this test: {e}\nTo fix: {HOW_TO}"),
    }
}

/// A new, empty database.
#[derive(Debug)]
pub struct TestDb {
    /// Its name.
    pub name: String,
    url: String,
    drop_on_exit: bool,
}

impl TestDb {
    /// A connection URL for it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A blocking client. Do not call from inside a tokio runtime; use
    /// [`TestDb::async_client`] there.
    ///
    /// # Panics
    /// When the connection fails.
    pub fn client(&self) -> postgres::Client {
        connect_blocking(&self.url)
            .unwrap_or_else(|e| panic!("cannot connect to test database {}: {e}", self.name))
    }

    /// An async client whose connection task runs on the current tokio runtime.
    ///
    /// # Panics
    /// When the connection fails.
    pub async fn async_client(&self) -> tokio_postgres::Client {
        connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to test database {}: {e}", self.name))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.drop_on_exit {
            let admin = server().admin_url.clone();
            let name = self.name.clone();
            // Off any async runtime: the blocking client starts its own.
            let _ = std::thread::spawn(move || {
                if let Ok(mut c) = connect_blocking(&admin) {
                    let _ = c
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
                }
            })
            .join();
        }
    }
}

/// Connects an async client and spawns its connection on the current tokio runtime.
///
/// # Errors
/// The connection fails.
pub async fn connect(url: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Connects a blocking client.
///
/// # Errors
/// The connection fails.
pub fn connect_blocking(url: &str) -> Result<postgres::Client, postgres::Error> {
    postgres::Client::connect(url, postgres::NoTls)
}

/// Creates a new, empty database on the [`server`].
///
/// # Panics
/// When there is no server or the database cannot be created; the message says how to
/// fix it.
pub fn fresh_db() -> TestDb {
    let s = server();
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() % 1_000_000_000);
    let name = format!("pgstrata_t{}_{stamp}_{n}", std::process::id());
    let admin = s.admin_url.clone();
    let create = format!("CREATE DATABASE \"{name}\"");
    // Off any async runtime: the blocking client starts its own.
    let result = std::thread::spawn(move || -> Result<(), String> {
        let mut c = connect_blocking(&admin).map_err(|e| e.to_string())?;
        c.batch_execute(&create).map_err(|e| e.to_string())
    })
    .join()
    .unwrap_or_else(|_| Err("the thread creating the database panicked".to_string()));
    if let Err(e) = result {
        panic!("cannot create test database {name}: {e}\nTo fix: {HOW_TO}");
    }
    TestDb {
        url: with_database(&s.admin_url, &name),
        name,
        drop_on_exit: !s.throwaway,
    }
}

/// `url` with its database replaced by `db`. Works for `postgres://` URLs and for
/// `key=value` connection strings.
pub fn with_database(url: &str, db: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let (authority, tail) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => match rest.find('?') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            },
        };
        let query = tail.find('?').map_or("", |i| &tail[i..]);
        format!("{}://{authority}/{db}{query}", &url[..scheme_end])
    } else {
        let kept: Vec<&str> = url
            .split_whitespace()
            .filter(|kv| !kv.starts_with("dbname="))
            .collect();
        format!("{} dbname={db}", kept.join(" "))
    }
}

fn start() -> Result<Server, String> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        if !url.is_empty() {
            return Ok(Server {
                admin_url: url,
                throwaway: false,
                dir: None,
            });
        }
    }
    start_throwaway()
}

fn bin_dir() -> Result<PathBuf, String> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").is_file() && dir.join("postgres").is_file() {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("postgres").is_file() {
                return Ok(dir);
            }
        }
    }
    Err(
        "DATABASE_URL is unset and no PostgreSQL server binaries (initdb, postgres) were found"
            .to_string(),
    )
}

/// The unprivileged account to run the server as, when we are root.
fn server_user() -> Option<(u32, u32)> {
    if !is_root() {
        return None;
    }
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let find = |name: &str| {
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 3 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
        })
    };
    find("postgres")
        .or_else(|| find("nobody"))
        .or(Some((65534, 65534)))
}

pub(crate) fn is_root() -> bool {
    // No libc call needed: /proc/self is owned by the process's effective user.
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

fn start_throwaway() -> Result<Server, String> {
    install::ensure(
        "the PostgreSQL server (initdb, postgres)",
        &["postgresql"],
        || bin_dir().is_ok(),
    )?;
    let bin = bin_dir()?;
    clean_stale();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("pgstrata-test-{}-{stamp}", std::process::id()));
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let user = server_user();
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .map_err(|e| format!("cannot chown {}: {e}", dir.display()))?;
    }
    let data = dir.join("data");
    let mut initdb = Command::new(bin.join("initdb"));
    initdb
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ])
        .current_dir(&dir)
        .stdin(Stdio::null());
    as_user(&mut initdb, user);
    let out = initdb
        .output()
        .map_err(|e| format!("cannot run initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut last_err = String::new();
    for _ in 0..5 {
        let port = free_port()?;
        match launch(&bin, &dir, &data, port, user) {
            Ok(()) => {
                return Ok(Server {
                    admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
                    throwaway: true,
                    dir: Some(dir),
                })
            }
            Err(e) => last_err = e,
        }
    }
    Err(last_err)
}

fn launch(
    bin: &Path,
    dir: &Path,
    data: &Path,
    port: u16,
    user: Option<(u32, u32)>,
) -> Result<(), String> {
    let log = dir.join(format!("server-{port}.log"));
    let log_file =
        fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    if let Some((uid, gid)) = user {
        let _ = std::os::unix::fs::chown(&log, Some(uid), Some(gid));
    }
    let mut cmd = Command::new(bin.join("postgres"));
    cmd.arg("-D")
        .arg(data)
        .arg("-p")
        .arg(port.to_string())
        .args(["-c", "listen_addresses=127.0.0.1"])
        .arg("-c")
        .arg(format!("unix_socket_directories={}", dir.display()))
        .args([
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ])
        .args([
            "-c",
            "max_connections=400",
            "-c",
            "shared_buffers=128MB",
            "-c",
            "max_locks_per_transaction=256",
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file);
    as_user(&mut cmd, user);
    die_with_parent(&mut cmd);
    // The server must outlive the test thread that started it: spawn it from a thread
    // that lives as long as the process (the parent-death signal follows the thread).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("pgstrata-testkit-server".into())
        .spawn(move || {
            match cmd.spawn() {
                Ok(mut child) => {
                    let _ = tx.send(Ok(child.id()));
                    // Reap it if it exits (a failed start), so its pid disappears.
                    let _ = child.wait();
                    loop {
                        std::thread::park();
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                }
            }
        })
        .map_err(|e| e.to_string())?;
    let pid = rx
        .recv()
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot start postgres: {e}"))?;
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match connect_blocking(&url) {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => {
                return Err(format!(
                    "postgres did not accept connections on port {port}: {e}\n{}",
                    fs::read_to_string(&log).unwrap_or_default()
                ))
            }
            Err(_) => {
                // Exited (port taken, bad setting): no point waiting.
                if !Path::new("/proc").join(pid.to_string()).exists() {
                    let log_text = fs::read_to_string(&log).unwrap_or_default();
                    return Err(format!(
                        "postgres failed to start on port {port}:\n{log_text}"
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn as_user(cmd: &mut Command, user: Option<(u32, u32)>) {
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = user {
        cmd.uid(uid).gid(gid).env("HOME", std::env::temp_dir());
    }
}

/// The server gets SIGQUIT (immediate shutdown) when the thread that started it ends,
/// which is when the test process exits, however it exits.
#[allow(unsafe_code)]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe, and the closure touches no memory of the
    // parent; it runs after the uid change (which would clear the setting).
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free loopback port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// Removes the folders of throwaway clusters whose process is gone.
fn clean_stale() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("pgstrata-test-") else {
            continue;
        };
        let Some(pid) = rest.split('-').next() else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_in_urls() {
        assert_eq!(
            with_database("postgres://u:p@h:5/db?sslmode=disable", "x"),
            "postgres://u:p@h:5/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(
            with_database("postgresql://h:5?x=1", "y"),
            "postgresql://h:5/y?x=1"
        );
        assert_eq!(
            with_database("host=h port=5 dbname=a user=u", "b"),
            "host=h port=5 user=u dbname=b"
        );
    }

    #[test]
    fn fresh_databases_are_empty_and_distinct() {
        let a = fresh_db();
        let b = fresh_db();
        assert_ne!(a.name, b.name);
        let mut c = a.client();
        let row = c.query_one("SELECT current_database(), count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace", &[]).unwrap();
        assert_eq!(row.get::<_, String>(0), a.name);
        assert_eq!(row.get::<_, i64>(1), 0);
    }
}
