//! `pgstrata`: the schema the migrations build, and the Rust generated from it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod secrets;

#[derive(Parser)]
#[command(
    name = "pgstrata",
    version,
    about = "PostgreSQL migrations compiled into Rust"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where to connect, for commands that need a database.
#[derive(clap::Args)]
struct Db {
    /// The database URL (default: the DATABASE_URL environment variable).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// The history table, `table` or `schema.table`.
    #[arg(long, default_value = pgstrata_runtime::DEFAULT_TABLE)]
    history_table: String,
}

#[derive(Subcommand)]
enum Command {
    /// Show every migration: applied (when, how long), pending, failed, changed since
    /// applied, or applied but unknown to this folder. Exit code 0: up to date;
    /// 3: migrations are pending; 4: something needs attention (failed, interrupted or
    /// changed migrations).
    Status {
        /// The migrations folder.
        #[arg(default_value = "migrations")]
        dir: PathBuf,
        #[command(flatten)]
        db: Db,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Apply pending migrations.
    Up {
        /// The migrations folder.
        #[arg(default_value = "migrations")]
        dir: PathBuf,
        #[command(flatten)]
        db: Db,
        /// Stop after this version.
        #[arg(long)]
        to: Option<i64>,
        /// Print what would be applied, and its SQL, without applying it.
        #[arg(long)]
        dry_run: bool,
        /// Apply all pending transactional migrations in one transaction.
        #[arg(long)]
        grouped: bool,
        /// Dump the database with `pg_dump -Fc` to this file first; nothing is applied
        /// if the dump fails.
        #[arg(long, value_name = "FILE")]
        backup: Option<PathBuf>,
    },
    /// Revert applied migrations newer than a version with their down SQL, newest first;
    /// refuses before doing anything when one has no down SQL.
    Down {
        /// The migrations folder.
        #[arg(default_value = "migrations")]
        dir: PathBuf,
        #[command(flatten)]
        db: Db,
        /// Keep migrations up to and including this version (0: revert all).
        #[arg(long)]
        to: i64,
    },
    /// Compare the live database with the schema the migrations build: tables, columns
    /// (type, nullability), primary keys and enum labels. Exit code 0: they match;
    /// 5: they differ.
    Drift {
        /// The migrations folder.
        #[arg(default_value = "migrations")]
        dir: PathBuf,
        #[command(flatten)]
        db: Db,
    },
    /// Adopt a database whose schema was built before pgstrata managed it: record every
    /// migration up to VERSION as applied without running it, after checking that the
    /// live schema equals the one those migrations build.
    Baseline {
        /// The last migration the database already has.
        version: i64,
        /// The migrations folder.
        #[arg(default_value = "migrations")]
        dir: PathBuf,
        #[command(flatten)]
        db: Db,
    },
    /// Clear a migration recorded as failed or interrupted, after checking the database
    /// by hand: --applied V marks it applied, --rolled-back V removes it from the history
    /// so the next run applies it again.
    Resolve {
        /// The migrations folder.
        #[arg(default_value = "migrations")]
        dir: PathBuf,
        #[command(flatten)]
        db: Db,
        /// The migration was completed by hand: record it as applied.
        #[arg(
            long,
            value_name = "VERSION",
            conflicts_with = "rolled_back",
            required_unless_present = "rolled_back"
        )]
        applied: Option<i64>,
        /// What it did was undone by hand: forget it, so it runs again.
        #[arg(long, value_name = "VERSION")]
        rolled_back: Option<i64>,
    },
    /// Create a new migration in the folder's layout, versioned by the current UTC time.
    New {
        /// The migration's name (words become snake_case).
        name: String,
        /// The migrations folder.
        #[arg(long, default_value = "migrations")]
        dir: PathBuf,
    },
    /// Print the schema the migrations build (replayed from the files; no database).
    Schema {
        /// The migrations folder.
        #[arg(default_value = "migrations")]
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print the Rust code embed_migrations! generates for the folder.
    Generate {
        /// The migrations folder.
        #[arg(default_value = "migrations")]
        dir: PathBuf,
        /// The folder holding pgstrata.toml (default: the migrations folder's parent).
        #[arg(long)]
        config_dir: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        // `pgstrata generate | head` closes the pipe early: not an error.
        Err(message) if message == BROKEN_PIPE => ExitCode::SUCCESS,
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("error: {}", secrets::Scrub::from_env().clean(&message));
            ExitCode::FAILURE
        }
    }
}

/// An error with its causes, which the top-level message of a library's error often
/// leaves out ("error connecting to server" without "Connection refused").
fn chain(e: &dyn std::error::Error) -> String {
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

const BROKEN_PIPE: &str = "broken pipe";

/// Writes to stdout, turning a closed pipe into an error instead of a panic.
fn out(text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::BrokenPipe => BROKEN_PIPE.to_string(),
            _ => e.to_string(),
        })
}

/// Loads the folder through the same resolver `embed_migrations!` uses.
fn load(dir: &Path) -> Result<pgstrata_runtime::Migrations, String> {
    let list = pgstrata_codegen::load(dir).map_err(|e| e.to_string())?;
    pgstrata_runtime::Migrations::new(list).map_err(|e| e.to_string())
}

/// Connects. The URL is never printed: it may hold a password.
fn connect(db: &Db) -> Result<postgres::Client, String> {
    let url = db
        .database_url
        .as_deref()
        .filter(|u| !u.is_empty())
        .ok_or("no database given: set DATABASE_URL or pass --database-url")?;
    postgres::Client::connect(url, postgres::NoTls).map_err(|e| {
        format!(
            "cannot connect to the database: {}\n  help: check the URL in DATABASE_URL or --database-url",
            chain(&e)
        )
    })
}

fn run(command: Command) -> Result<u8, String> {
    match command {
        Command::Status { dir, db, format } => {
            let migrations = load(&dir)?;
            let mut client = connect(&db)?;
            let history = migrations
                .history_blocking(&mut client, &db.history_table)
                .map_err(|e| e.to_string())?;
            let rows = migrations.status(&history);
            match format {
                Format::Json => {
                    let json: Vec<serde_json::Value> = rows
                        .iter()
                        .map(|r| {
                            serde_json::json!({
                                "version": r.version,
                                "name": r.name,
                                "state": r.state.as_str(),
                                "applied_at": r.applied_at,
                                "execution_ms": r.execution_ms,
                                "error": r.error,
                            })
                        })
                        .collect();
                    out(&format!(
                        "{}\n",
                        serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?
                    ))?;
                }
                Format::Text => out(&status_text(&rows))?,
            }
            Ok(if rows.iter().any(|r| r.state.is_wrong()) {
                4
            } else if rows
                .iter()
                .any(|r| r.state == pgstrata_runtime::status::State::Pending)
            {
                3
            } else {
                0
            })
        }
        Command::Resolve {
            dir,
            db,
            applied,
            rolled_back,
        } => {
            let migrations = load(&dir)?;
            let mut client = connect(&db)?;
            let history = migrations
                .history_blocking(&mut client, &db.history_table)
                .map_err(|e| e.to_string())?;
            let (version, mark_applied) = match (applied, rolled_back) {
                (Some(v), _) => (v, true),
                (None, Some(v)) => (v, false),
                (None, None) => return Err("say --applied VERSION or --rolled-back VERSION".into()),
            };
            let Some(row) = history.iter().find(|r| r.version == version) else {
                return Err(format!(
                    "version {version} is not in the history table: nothing to resolve"
                ));
            };
            if row.state != "failed" && row.state != "running" {
                return Err(format!(
                    "V{version}__{} is {}: resolve is for migrations recorded as failed or interrupted",
                    row.name, row.state
                ));
            }
            let table = pgstrata_runtime::history::HistoryTable::parse(&db.history_table)
                .map_err(|e| e.to_string())?;
            let sql = if mark_applied {
                format!(
                    "UPDATE {} SET state = 'applied', error = NULL WHERE version = {version}",
                    table.sql()
                )
            } else {
                format!("DELETE FROM {} WHERE version = {version}", table.sql())
            };
            client
                .batch_execute(&sql)
                .map_err(|e| format!("cannot update the history: {e}"))?;
            out(&format!(
                "V{version}__{} {}\n",
                row.name,
                if mark_applied {
                    "marked as applied"
                } else {
                    "removed from the history; the next run applies it again"
                }
            ))?;
            Ok(0)
        }
        Command::New { name, dir } => {
            let created = new_migration(&dir, &name)?;
            let mut text = String::new();
            for p in created {
                text.push_str(&format!("created {}\n", p.display()));
            }
            out(&text)?;
            Ok(0)
        }
        Command::Down { dir, db, to } => {
            let migrations = load(&dir)?;
            let mut client = connect(&db)?;
            let report = migrations
                .runner()
                .history_table(db.history_table.clone())
                .revert_to_blocking(&mut client, to)
                .map_err(|e| partial(&e, &e.report().reverted, "reverted"))?;
            let mut text = String::new();
            for r in &report.reverted {
                text.push_str(&format!(
                    "reverted V{}__{} ({} ms)\n",
                    r.version,
                    r.name,
                    r.duration.as_millis()
                ));
            }
            text.push_str(&format!("{} reverted\n", report.reverted.len()));
            out(&text)?;
            Ok(0)
        }
        Command::Baseline { version, dir, db } => {
            let migrations = load(&dir)?;
            if migrations.get(version).is_none() {
                return Err(format!(
                    "no migration in {} has version {version}",
                    dir.display()
                ));
            }
            let mut client = connect(&db)?;
            let history = migrations
                .history_blocking(&mut client, &db.history_table)
                .map_err(|e| e.to_string())?;
            if !history.is_empty() {
                return Err(format!(
                    "the history table already has {} rows: this database is managed already (see `pgstrata status`)",
                    history.len()
                ));
            }
            let model =
                pgstrata_codegen::catalog_until(&dir, version).map_err(|e| e.to_string())?;
            let diffs = live_differences(&db, &mut client, &model)?;
            if !diffs.is_empty() {
                let shown: Vec<String> =
                    diffs.iter().take(20).map(|d| format!("  - {d}")).collect();
                return Err(format!(
                    "the database does not match the migrations up to {version} ({} differences); nothing was recorded:\n{}{}",
                    diffs.len(),
                    shown.join("\n"),
                    if diffs.len() > 20 { "\n  ..." } else { "" }
                ));
            }
            let table = pgstrata_runtime::history::HistoryTable::parse(&db.history_table)
                .map_err(|e| e.to_string())?;
            let mut sql = format!("BEGIN;\n{};\n", table.create_sql());
            let adopted: Vec<_> = migrations
                .iter()
                .filter(|m| m.version() <= version)
                .collect();
            for m in &adopted {
                sql.push_str(&format!(
                    "INSERT INTO {} (version, name, checksum) VALUES ({}, {}, {});\n",
                    table.sql(),
                    m.version(),
                    pgstrata_runtime::history::quote_literal(m.name()),
                    pgstrata_runtime::history::quote_literal(m.checksum())
                ));
            }
            sql.push_str("COMMIT;");
            client
                .batch_execute(&sql)
                .map_err(|e| format!("cannot record the baseline: {e}"))?;
            out(&format!(
                "the schema matches; recorded {} migrations up to {version} as applied\n",
                adopted.len()
            ))?;
            Ok(0)
        }
        Command::Drift { dir, db } => {
            let model = pgstrata_codegen::catalog(&dir).map_err(|e| e.to_string())?;
            let mut client = connect(&db)?;
            let diffs = live_differences(&db, &mut client, &model)?;
            if diffs.is_empty() {
                out("the database matches the migrations\n")?;
                return Ok(0);
            }
            let mut text = format!(
                "{} differences between the migrations and the database:\n",
                diffs.len()
            );
            for d in &diffs {
                text.push_str(&format!("  - {d}\n"));
            }
            out(&text)?;
            Ok(5)
        }
        Command::Up {
            dir,
            db,
            to,
            dry_run,
            grouped,
            backup,
        } => {
            let migrations = load(&dir)?;
            let mut client = connect(&db)?;
            if let (Some(file), false) = (&backup, dry_run) {
                backup_to(&db, file)?;
                out(&format!("backed up to {}\n", file.display()))?;
            }
            let mut runner = migrations
                .runner()
                .history_table(db.history_table.clone())
                .dry_run(dry_run)
                .grouped(grouped);
            if let Some(v) = to {
                runner = runner.target(v);
            }
            let report = runner
                .run_blocking(&mut client)
                .map_err(|e| partial(&e, &e.report().applied, "applied"))?;
            let mut text = String::new();
            if dry_run {
                text.push_str(&format!(
                    "dry run: {} to apply, {} already applied\n",
                    report.pending.len(),
                    report.already_applied
                ));
                for (version, name) in &report.pending {
                    text.push_str(&format!("\n-- V{version}__{name}\n"));
                    if let Some(m) = migrations.get(*version) {
                        text.push_str(m.up().trim_end());
                        text.push('\n');
                    }
                }
            } else {
                for a in &report.applied {
                    text.push_str(&format!(
                        "applied V{}__{} ({} ms)\n",
                        a.version,
                        a.name,
                        a.duration.as_millis()
                    ));
                }
                text.push_str(&format!(
                    "{} applied, {} already applied, {} pending\n",
                    report.applied.len(),
                    report.already_applied,
                    report.pending.len()
                ));
            }
            for u in &report.unknown {
                text.push_str(&format!(
                    "note: V{}__{} is applied but not in {}\n",
                    u.version,
                    u.name,
                    dir.display()
                ));
            }
            out(&text)?;
            Ok(0)
        }
        Command::Schema { dir, format } => {
            let catalog = pgstrata_codegen::catalog(&dir).map_err(|e| e.to_string())?;
            match format {
                Format::Json => {
                    let json = serde_json::to_string_pretty(&catalog).map_err(|e| e.to_string())?;
                    out(&format!("{json}\n"))?;
                }
                Format::Text => out(&text(&catalog))?,
            }
            Ok(0)
        }
        Command::Generate { dir, config_dir } => {
            // Paths in the output are relative to the folder holding pgstrata.toml, as in a
            // crate, so the output does not depend on where it was generated.
            let absolute =
                std::fs::canonicalize(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let base = match config_dir {
                Some(c) => {
                    std::fs::canonicalize(&c).map_err(|e| format!("{}: {e}", c.display()))?
                }
                None => absolute
                    .parent()
                    .map_or_else(|| PathBuf::from("/"), Path::to_path_buf),
            };
            let shown = absolute.strip_prefix(&base).map_or_else(
                |_| absolute.display().to_string(),
                |p| p.display().to_string(),
            );
            let code = pgstrata_codegen::generate(&shown, &base, Default::default())
                .map_err(|e| e.to_string())?;
            out(&code)?;
            Ok(0)
        }
    }
}

/// Runs `pg_dump -Fc` into `file`. The connection's parts go in as options and the
/// password through PGPASSWORD, so it never shows in the process list or in messages.
fn backup_to(db: &Db, file: &Path) -> Result<(), String> {
    let url = db.database_url.as_deref().unwrap_or_default();
    let config: postgres::Config = url
        .parse()
        .map_err(|e| format!("cannot read the database URL: {e}"))?;
    let mut cmd = std::process::Command::new("pg_dump");
    cmd.arg("--format=custom")
        .arg("--file")
        .arg(file)
        .arg("--no-password");
    if let Some(host) = config.get_hosts().first() {
        match host {
            postgres::config::Host::Tcp(h) => cmd.arg("--host").arg(h),
            postgres::config::Host::Unix(p) => cmd.arg("--host").arg(p),
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

/// An error, followed by the migrations done before it (`what`: applied or reverted).
fn partial(
    e: &pgstrata_runtime::Error,
    done: &[pgstrata_runtime::AppliedMigration],
    what: &str,
) -> String {
    if done.is_empty() {
        return e.to_string();
    }
    let names: Vec<String> = done
        .iter()
        .map(|a| format!("V{}__{}", a.version, a.name))
        .collect();
    format!("{e}\n  {what} before the error: {}", names.join(", "))
}

/// How the live database differs from `model`, leaving out the history table.
fn live_differences(
    db: &Db,
    client: &mut postgres::Client,
    model: &pgstrata_core::catalog::Catalog,
) -> Result<Vec<pgstrata_core::catalog::Difference>, String> {
    let live = pgstrata_runtime::introspect::catalog_blocking(client).map_err(|e| e.to_string())?;
    let history = db.history_table.rsplit('.').next().unwrap_or_default();
    Ok(pgstrata_core::catalog::differences(
        model,
        &live,
        &[history],
    ))
}

/// Creates the files of a new migration in the layout the folder already uses (folders
/// with up.sql and down.sql when it has none yet).
fn new_migration(dir: &Path, name: &str) -> Result<Vec<PathBuf>, String> {
    use pgstrata_codegen::source::Layout;
    let name: String = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("_");
    if name.is_empty() {
        return Err("the name needs at least one letter or digit".into());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let shown = dir.display().to_string();
    let existing = pgstrata_codegen::source::discover(dir, &shown).map_err(|e| e.to_string())?;
    let version = utc_timestamp();
    if let Some(last) = existing.last() {
        if last.version >= version {
            return Err(format!(
                "the newest migration has version {}, not below the current time {version}: number the new one by hand",
                last.version
            ));
        }
    }
    let has_down = existing.iter().any(|s| s.down.is_some());
    let header = format!("-- {name}\n");
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    match existing.first().map(|s| s.layout) {
        Some(Layout::Versioned) => {
            files.push((dir.join(format!("V{version}__{name}.sql")), header.clone()));
            if has_down {
                files.push((dir.join(format!("U{version}__{name}.sql")), header));
            }
        }
        Some(Layout::UpDownFiles) => {
            files.push((dir.join(format!("{version}_{name}.up.sql")), header.clone()));
            files.push((dir.join(format!("{version}_{name}.down.sql")), header));
        }
        Some(Layout::PlainFiles) => {
            files.push((dir.join(format!("{version}_{name}.sql")), header.clone()));
            if has_down {
                files.push((dir.join(format!("{version}_{name}_down.sql")), header));
            }
        }
        Some(Layout::Folders) | None => {
            let folder = dir.join(format!("{version}_{name}"));
            std::fs::create_dir_all(&folder)
                .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
            let prisma = existing
                .first()
                .is_some_and(|s| s.up.path.ends_with("migration.sql"));
            files.push((
                folder.join(if prisma { "migration.sql" } else { "up.sql" }),
                header.clone(),
            ));
            if !prisma || has_down {
                files.push((folder.join("down.sql"), header));
            }
        }
    }
    for (path, text) in &files {
        if path.exists() {
            return Err(format!("{} exists already", path.display()));
        }
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}

/// The current UTC time as YYYYMMDDHHMMSS.
fn utc_timestamp() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (
        (rem / 3600) as i64,
        (rem % 3600 / 60) as i64,
        (rem % 60) as i64,
    );
    ((((year * 100 + month) * 100 + day) * 100 + h) * 100 + m) * 100 + s
}

fn status_text(rows: &[pgstrata_runtime::status::StatusRow]) -> String {
    use std::fmt::Write;
    let mut s = format!(
        "{:<20} {:<40} {:<8} {:<32} {:>8}\n",
        "VERSION", "NAME", "STATE", "APPLIED AT", "MS"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{:<20} {:<40} {:<8} {:<32} {:>8}",
            r.version,
            r.name,
            r.state.as_str(),
            r.applied_at.as_deref().unwrap_or("-"),
            r.execution_ms
                .map_or_else(|| "-".to_string(), |m| m.to_string())
        );
        if let Some(e) = &r.error {
            let _ = writeln!(s, "{:<20} error: {e}", "");
        }
    }
    let count = |st: pgstrata_runtime::status::State| rows.iter().filter(|r| r.state == st).count();
    use pgstrata_runtime::status::State;
    let _ = writeln!(
        s,
        "{} applied, {} pending, {} failed, {} interrupted, {} changed, {} unknown",
        count(State::Applied),
        count(State::Pending),
        count(State::Failed),
        count(State::Running),
        count(State::Changed),
        count(State::Unknown)
    );
    s
}

fn text(c: &pgstrata_core::catalog::Catalog) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for e in &c.enums {
        let _ = writeln!(s, "enum {}.{} ({})", e.schema, e.name, e.values.join(", "));
    }
    for t in &c.tables {
        let _ = writeln!(s, "table {}.{}", t.schema, t.name);
        for col in &t.columns {
            let pk = t
                .primary_key
                .as_ref()
                .is_some_and(|pk| pk.columns.contains(&col.name));
            let _ = writeln!(
                s,
                "  {:<24} {}{}{}",
                col.name,
                col.ty.format(),
                if col.nullable { "" } else { " not null" },
                if pk { " primary key" } else { "" }
            );
        }
    }
    s
}
