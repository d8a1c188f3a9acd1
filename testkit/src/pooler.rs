//! PgBouncer in front of the test server, for the tests of what a connection pooler does
//! to migrations (session advisory locks do not survive transaction pooling).

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{as_user, connect_blocking, free_port, server, server_user};

/// How PgBouncer hands server connections to clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolMode {
    /// A client keeps its server connection until it disconnects.
    Session,
    /// A client gets a server connection for one transaction at a time.
    Transaction,
}

/// A running PgBouncer, stopped when dropped.
#[derive(Debug)]
pub struct Pooler {
    port: u16,
    child: Child,
    dir: PathBuf,
}

/// What to install when PgBouncer is missing.
pub const POOLER_HOW_TO: &str =
    "install PgBouncer (`sudo apt-get install -y pgbouncer`; run as root, the tests install it themselves)";

impl Pooler {
    /// Starts PgBouncer in `mode` with at most `pool_size` server connections per
    /// database, in front of the test [`server`].
    ///
    /// # Panics
    /// When PgBouncer is not installed or does not start; the message says what to do.
    pub fn start(mode: PoolMode, pool_size: u32) -> Pooler {
        Pooler::try_start(mode, pool_size)
            .unwrap_or_else(|e| panic!("cannot start PgBouncer: {e}\nTo fix: {POOLER_HOW_TO}"))
    }

    fn try_start(mode: PoolMode, pool_size: u32) -> Result<Pooler, String> {
        let find = || {
            ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
                .into_iter()
                .map(PathBuf::from)
                .find(|p| p.is_file())
        };
        crate::install::ensure("PgBouncer", &["pgbouncer"], || find().is_some())?;
        let bin = find().ok_or("no pgbouncer binary in /usr/sbin or /usr/bin")?;
        let config: postgres::Config = server()
            .admin_url
            .parse()
            .map_err(|e| format!("cannot read the server's URL: {e}"))?;
        let host = match config.get_hosts().first() {
            Some(postgres::config::Host::Tcp(h)) => h.clone(),
            Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "127.0.0.1".to_string(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or("postgres").to_string();
        let password = config
            .get_password()
            .map(|p| format!(" password={}", String::from_utf8_lossy(p)))
            .unwrap_or_default();
        let listen = free_port()?;
        let dir = std::env::temp_dir().join(format!(
            "pgstrata-test-{}-pooler-{listen}",
            std::process::id()
        ));
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let owner = server_user();
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
        }
        let mode = match mode {
            PoolMode::Session => "session",
            PoolMode::Transaction => "transaction",
        };
        let ini = format!(
            "[databases]\n* = host={host} port={port} user={user}{password}\n\n\
             [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {listen}\nunix_socket_dir =\n\
             auth_type = any\npool_mode = {mode}\ndefault_pool_size = {pool_size}\nmax_client_conn = 500\n\
             ignore_startup_parameters = extra_float_digits,options\n\
             logfile = {log}\npidfile = {pid}\nserver_lifetime = 3600\n",
            log = dir.join("pgbouncer.log").display(),
            pid = dir.join("pgbouncer.pid").display(),
        );
        let ini_path = dir.join("pgbouncer.ini");
        fs::write(&ini_path, ini).map_err(|e| e.to_string())?;
        if let Some((uid, gid)) = owner {
            let _ = std::os::unix::fs::chown(&ini_path, Some(uid), Some(gid));
        }
        let mut cmd = Command::new(bin);
        cmd.arg(&ini_path)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        as_user(&mut cmd, owner);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot run pgbouncer: {e}"))?;
        let pooler = Pooler {
            port: listen,
            child,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match connect_blocking(&pooler.url("postgres")) {
                Ok(_) => return Ok(pooler),
                Err(e) if Instant::now() > deadline => {
                    return Err(format!(
                        "pgbouncer did not accept connections on port {listen}: {e}\n{}",
                        fs::read_to_string(pooler.dir.join("pgbouncer.log")).unwrap_or_default()
                    ))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// A URL to database `db` through the pooler.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for Pooler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}
