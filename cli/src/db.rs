//! Connecting, and what the commands that connect share: the history table's name, the
//! production mark, the backup, and the comparison of a live schema with the catalog.

use std::path::Path;
use std::time::Duration;

use pgstrata_core::sql::literal;
use pgstrata_runtime::history::HistoryTable;

use crate::Db;
use postgres::config::Host;

/// An error with its causes, which the top-level message of a library's error often
/// leaves out ("error connecting to server" without "Connection refused").
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(c) = source {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = c.source();
    }
    s
}

/// A PostgreSQL error with its SQLSTATE, detail and hint; other errors with their
/// causes.
pub fn pg_error(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => {
            let mut s = format!("{} {}: {}", d.severity(), d.code().code(), d.message());
            if let Some(detail) = d.detail() {
                s.push_str(&format!("\n  detail: {detail}"));
            }
            if let Some(hint) = d.hint() {
                s.push_str(&format!("\n  hint: {hint}"));
            }
            s
        }
        None => chain(e),
    }
}

/// The database URL given; without one, an empty string when libpq's variables
/// (`PGHOST`, `PGDATABASE`...) say where to connect, as they do for `psql`.
pub fn url(db: &Db) -> Result<&str, String> {
    match db.database_url.as_deref().filter(|u| !u.is_empty()) {
        Some(url) => Ok(url),
        None if ["PGHOST", "PGPORT", "PGDATABASE", "PGUSER"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty())) =>
        {
            Ok("")
        }
        None => Err(
            "no database given: set DATABASE_URL (in the environment or a .env file), pass \
             --database-url, or set libpq's PGHOST, PGDATABASE, PGUSER..."
                .to_string(),
        ),
    }
}

/// How long the CLI waits for a connection when neither `--connect-timeout` nor the
/// connection string says: a deploy step must not hang on a server or pooler that
/// accepts and never answers (libpq waits forever; a person at a terminal would not).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The connection settings: the URL or `key=value` string with libpq's variables, and
/// the connect timeout (`--connect-timeout`, else the string's, else 10 s).
pub fn config(db: &Db) -> Result<(tokio_postgres::Config, Duration), String> {
    let config = pgstrata_runtime::config(url(db)?).map_err(|e| cannot_connect(&e))?;
    let timeout = db
        .connect_timeout
        .map(Duration::from_secs)
        .or(config.get_connect_timeout().copied())
        .unwrap_or(CONNECT_TIMEOUT);
    Ok((config, timeout))
}

/// Connects, giving up after the connect timeout: the blocking client's own
/// `connect_timeout` bounds only the socket, not a server that accepts and never
/// answers, so the connection is made on a thread of its own and waited for. The URL is
/// never printed: it may hold a password.
pub fn connect(db: &Db) -> Result<postgres::Client, String> {
    let (config, timeout) = config(db)?;
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(postgres::Config::from(config).connect(postgres::NoTls));
    });
    match result.recv_timeout(timeout) {
        Ok(connected) => connected.map_err(|e| cannot_connect(&e)),
        Err(_) => Err(no_answer(timeout)),
    }
}

/// The message for a server that did not answer within `timeout`.
pub fn no_answer(timeout: Duration) -> String {
    format!(
        "cannot connect to the database: no answer within {} s\n  help: check the host and port (a server \
         or pooler that accepts connections but never answers looks like this); --connect-timeout or \
         connect_timeout in the URL waits longer",
        timeout.as_secs_f64()
    )
}

/// The message for a failed connection. The URL is never printed: it may hold a
/// password.
pub fn cannot_connect(e: &dyn std::error::Error) -> String {
    format!(
        "cannot connect to the database: {}\n  help: check the URL in DATABASE_URL or --database-url",
        chain(e)
    )
}

/// The history table named by `--history-table`.
pub fn history_table(db: &Db) -> Result<HistoryTable, String> {
    HistoryTable::parse(&db.history_table).map_err(|e| e.to_string())
}

/// The table where `pgstrata mark` keeps the database's environment, beside the
/// history table.
fn settings(db: &Db) -> Result<HistoryTable, String> {
    Ok(history_table(db)?.sibling("pgstrata_settings"))
}

/// The environment the database is marked as (`production`, `development`), if any.
pub fn environment(db: &Db, client: &mut postgres::Client) -> Result<Option<String>, String> {
    let sql = format!(
        "SELECT value FROM {} WHERE key = 'environment'",
        settings(db)?.sql()
    );
    match client.query_opt(sql.as_str(), &[]) {
        Ok(row) => Ok(row.map(|r| r.get(0))),
        Err(e)
            if e.as_db_error()
                .is_some_and(|d| matches!(d.code().code(), "42P01" | "3F000")) =>
        {
            Ok(None)
        }
        Err(e) => Err(format!("cannot read the database's mark: {}", chain(&e))),
    }
}

/// Marks the database as `environment`.
pub fn mark(db: &Db, client: &mut postgres::Client, environment: &str) -> Result<(), String> {
    let table = settings(db)?;
    let schema = table
        .schema()
        .map(|s| {
            format!(
                "CREATE SCHEMA IF NOT EXISTS {};\n",
                pgstrata_core::sql::delimited(s)
            )
        })
        .unwrap_or_default();
    let sql = format!(
        "{schema}CREATE TABLE IF NOT EXISTS {t} (key text PRIMARY KEY, value text NOT NULL);\n\
         INSERT INTO {t} (key, value) VALUES ('environment', {v}) \
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        t = table.sql(),
        v = literal(environment)
    );
    client
        .batch_execute(&sql)
        .map_err(|e| format!("cannot mark the database: {}", chain(&e)))
}

/// Refuses a database marked production.
pub fn refuse_production(
    db: &Db,
    client: &mut postgres::Client,
    what: &str,
    force: Option<&str>,
) -> Result<(), String> {
    if environment(db, client)?.as_deref() == Some("production") {
        let way_out = match force {
            Some(flag) => format!("pass {flag} if you really mean it, or "),
            None => String::new(),
        };
        return Err(format!(
            "this database is marked production: {what} refuses it\n  help: {way_out}run against a development database \
             (`pgstrata mark development` changes the mark, if it is wrong)"
        ));
    }
    Ok(())
}

/// Runs `pg_dump -Fc` into `file`. The connection's parts go in as options and the
/// password through PGPASSWORD, so it never shows in the process list or in messages.
pub fn backup_to(db: &Db, file: &Path) -> Result<(), String> {
    let config = pgstrata_runtime::config(url(db)?)
        .map_err(|e| format!("cannot read the database URL: {e}"))?;
    let mut cmd = std::process::Command::new("pg_dump");
    cmd.arg("--format=custom")
        .arg("--file")
        .arg(file)
        .arg("--no-password");
    if let Some(host) = config.get_hosts().first() {
        match host {
            Host::Tcp(h) => cmd.arg("--host").arg(h),
            Host::Unix(p) => cmd.arg("--host").arg(p),
        };
    }
    if let Some(port) = config.get_ports().first() {
        cmd.arg("--port").arg(port.to_string());
    }
    if let Some(user) = config.get_user() {
        cmd.arg("--username").arg(user);
    }
    if let Some(db) = config.get_dbname() {
        cmd.arg("--dbname").arg(db);
    }
    if let Some(pw) = config.get_password() {
        cmd.env("PGPASSWORD", String::from_utf8_lossy(pw).into_owned());
    }
    let output = cmd.output().map_err(|e| {
        format!("cannot run pg_dump: {e}\n  help: install the PostgreSQL client tools (apt-get install postgresql-client)")
    })?;
    if !output.status.success() {
        return Err(format!(
            "the backup failed, so nothing was applied: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(())
}

/// How the live database differs from `model` (defaults and indexes included), leaving
/// out pgstrata's own tables.
pub fn live_differences(
    db: &Db,
    client: &mut postgres::Client,
    model: &pgstrata_core::catalog::Catalog,
) -> Result<Vec<pgstrata_core::catalog::Difference>, String> {
    let live = pgstrata_runtime::introspect::catalog_blocking(client).map_err(|e| e.to_string())?;
    // pgstrata's own tables, and the history tables of the tools it adopted from, are not
    // the schema the migrations build.
    let history = db.history_table.rsplit('.').next().unwrap_or_default();
    let mut ignore = vec![history, "pgstrata_settings", "pgstrata_seeds"];
    ignore.extend(pgstrata_runtime::Tool::ALL.iter().map(|t| t.table()));
    Ok(pgstrata_core::catalog::differences_with(
        model,
        &live,
        &ignore,
        pgstrata_core::catalog::Compare::all(),
    ))
}
