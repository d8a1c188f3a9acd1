//! `pgstrata`: the schema the migrations build, and the Rust generated from it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

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
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
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
        format!("cannot connect to the database: {e}\n  help: check the URL in DATABASE_URL or --database-url")
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
        Command::Up {
            dir,
            db,
            to,
            dry_run,
            grouped,
        } => {
            let migrations = load(&dir)?;
            let mut client = connect(&db)?;
            let mut runner = migrations
                .runner()
                .history_table(db.history_table.clone())
                .dry_run(dry_run)
                .grouped(grouped);
            if let Some(v) = to {
                runner = runner.target(v);
            }
            let report = runner.run_blocking(&mut client).map_err(|e| {
                let applied: Vec<String> = e
                    .report()
                    .applied
                    .iter()
                    .map(|a| format!("V{}__{}", a.version, a.name))
                    .collect();
                if applied.is_empty() {
                    e.to_string()
                } else {
                    format!("{e}\n  applied before the error: {}", applied.join(", "))
                }
            })?;
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
