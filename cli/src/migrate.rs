//! The commands on a database's migrations: status, up, down, baseline, resolve, drift.

use std::io::Write;
use std::path::{Path, PathBuf};

use pgstrata_core::sql::literal;
use pgstrata_runtime::status::State;
use pgstrata_runtime::{Migrations, Progress};

use crate::db::{self, connect};
use crate::show::{out, status_text};
use crate::{Db, Format};

/// Loads the folder through the same resolver `embed_migrations!` uses.
pub fn load(dir: &Path) -> Result<Migrations, String> {
    let list = crate::files::open(dir)?
        .into_migrations()
        .map_err(|e| e.to_string())?;
    Migrations::new(list).map_err(|e| e.to_string())
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

/// Exit code 0: up to date; 3: pending; 4: something needs attention.
pub fn status(dir: &Path, db: &Db, format: Format, allow_out_of_order: bool) -> Result<u8, String> {
    let migrations = load(dir)?;
    let mut client = connect(db)?;
    let history = migrations
        .history_blocking(&mut client, &db.history_table)
        .map_err(|e| e.to_string())?;
    // With no history of pgstrata's, another tool's would make `up` apply everything
    // again: that needs attention, not "pending".
    let foreign: Vec<_> = if history.is_empty() {
        pgstrata_runtime::adopt::find_blocking(&mut client)
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|f| f.rows > 0)
            .collect()
    } else {
        Vec::new()
    };
    let rows = migrations.status(&history);
    let invalid =
        pgstrata_runtime::invalid::find_blocking(&mut client).map_err(|e| e.to_string())?;
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
    if !foreign.is_empty() {
        eprintln!("{}", pgstrata_runtime::adopt::refuse(&foreign));
    }
    for i in &invalid {
        eprintln!(
            "invalid index {i}: an interrupted CREATE INDEX CONCURRENTLY left it; PostgreSQL never uses it \
             (`pgstrata resolve --rolled-back VERSION` drops those of an interrupted migration)"
        );
    }
    // What `up` would refuse (a pending migration older than an applied one) is not
    // "pending": exit 3 would tell a deploy script to go ahead.
    let options = pgstrata_runtime::plan::PlanOptions {
        allow_out_of_order,
        ..Default::default()
    };
    let refused = pgstrata_runtime::plan::plan(&history, migrations.as_slice(), options)
        .err()
        .filter(|e| e.kind() == pgstrata_runtime::ErrorKind::OutOfOrder);
    if let Some(e) = &refused {
        eprintln!("{e}");
    }
    let attention = !foreign.is_empty() || !invalid.is_empty() || refused.is_some();
    Ok(if rows.iter().any(|r| r.state.is_wrong()) || attention {
        4
    } else if rows.iter().any(|r| r.state == State::Pending) {
        3
    } else {
        0
    })
}

/// Prints a line as a run goes; a closed pipe is not worth failing the run for.
fn progress(p: Progress<'_>) {
    let mut o = std::io::stdout().lock();
    let _ = match p {
        Progress::Applying {
            migration,
            transactional: false,
        } => {
            let n = migration.statements().len();
            let s = if n == 1 { "" } else { "s" };
            writeln!(
                o,
                "applying {migration} outside a transaction ({n} statement{s})"
            )
        }
        Progress::Statement {
            index, count, text, ..
        } => {
            let first: String = text
                .lines()
                .next()
                .unwrap_or_default()
                .chars()
                .take(80)
                .collect();
            writeln!(o, "  statement {}/{count}: {first}", index + 1)
        }
        Progress::Applied {
            migration,
            duration,
        } => writeln!(o, "applied {migration} ({} ms)", duration.as_millis()),
        _ => Ok(()),
    };
}

/// Options of `pgstrata up`.
pub struct Up {
    pub to: Option<i64>,
    pub dry_run: bool,
    pub grouped: bool,
    pub backup: Option<PathBuf>,
    pub allow_out_of_order: bool,
    pub lock_timeout: Option<String>,
    pub statement_timeout: Option<String>,
}

/// Applies on tokio-postgres rather than the blocking client the other commands use: the
/// async client's runs pipeline the migrations (the next one's message is sent while the
/// server runs the current one), with the same guarantees.
pub fn up(dir: &Path, db: &Db, opts: Up) -> Result<u8, String> {
    let migrations = load(dir)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let (config, timeout) = db::config(db)?;
    let mut client = rt.block_on(async {
        let connecting = tokio::time::timeout(timeout, config.connect(tokio_postgres::NoTls));
        let (client, connection) = connecting
            .await
            .map_err(|_| db::no_answer(timeout))?
            .map_err(|e| db::cannot_connect(&e))?;
        tokio::spawn(connection);
        Ok::<_, String>(client)
    })?;
    if let (Some(file), false) = (&opts.backup, opts.dry_run) {
        db::backup_to(db, file)?;
        out(&format!("backed up to {}\n", file.display()))?;
    }
    let mut runner = migrations
        .runner()
        .history_table(db.history_table.clone())
        .dry_run(opts.dry_run)
        .grouped(opts.grouped)
        .allow_out_of_order(opts.allow_out_of_order)
        .on_progress(progress);
    if let Some(t) = opts.lock_timeout {
        runner = runner.migration_lock_timeout(t);
    }
    if let Some(t) = opts.statement_timeout {
        runner = runner.migration_statement_timeout(t);
    }
    if let Some(v) = opts.to {
        runner = runner.target(v);
    }
    let report = rt
        .block_on(runner.run(&mut client))
        .map_err(|e| partial(&e, &e.report().applied, "applied"))?;
    let mut text = String::new();
    if opts.dry_run {
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

pub fn down(dir: &Path, db: &Db, to: i64) -> Result<u8, String> {
    let migrations = load(dir)?;
    let mut client = connect(db)?;
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

/// `pgstrata baseline [VERSION] [DIR] [--from TOOL] [--accept DIFF]...`.
pub fn baseline_command(
    args: &[String],
    from: Option<&str>,
    mut accept: Vec<String>,
    accept_file: Option<PathBuf>,
    db: &Db,
) -> Result<u8, String> {
    let (version, dir) = match (args, from) {
        ([v, d], None) => (Some(v.as_str()), d.as_str()),
        ([v], None) if v.parse::<i64>().is_ok() => (Some(v.as_str()), "migrations"),
        ([d], Some(_)) => (None, d.as_str()),
        ([], Some(_)) => (None, "migrations"),
        (_, Some(_)) => return Err("with --from, give only the migrations folder: the tool's history says which migrations are applied".into()),
        _ => return Err("say which migration the database has reached: `pgstrata baseline VERSION [DIR]`, or adopt another tool's history with `--from TOOL`".into()),
    };
    let dir = Path::new(dir);
    if let Some(tool) = from {
        let tool = pgstrata_runtime::Tool::from_name(tool).ok_or_else(|| {
            let names: Vec<&str> = pgstrata_runtime::Tool::ALL
                .iter()
                .map(|t| t.name())
                .collect();
            format!("unknown tool {tool:?}: --from takes {}", names.join(", "))
        })?;
        return adopt(dir, db, tool);
    }
    let version = version
        .unwrap_or_default()
        .parse::<i64>()
        .map_err(|_| format!("{:?} is not a version", version.unwrap_or_default()))?;
    if let Some(file) = accept_file {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        accept.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    baseline(dir, db, version, &accept)
}

/// `baseline --from TOOL`: records what the tool recorded as applied.
fn adopt(dir: &Path, db: &Db, tool: pgstrata_runtime::Tool) -> Result<u8, String> {
    let migrations = load(dir)?;
    let mut client = connect(db)?;
    let report = migrations
        .runner()
        .history_table(db.history_table.clone())
        .adopt_only_blocking(&mut client, tool)
        .map_err(|e| e.to_string())?;
    let mut text = String::new();
    for (version, name) in &report.adopted {
        let label = migrations
            .get(*version)
            .map_or_else(|| format!("V{version}__{name}"), |m| m.to_string());
        text.push_str(&format!("adopted {label}\n"));
    }
    text.push_str(&format!(
        "recorded {} {tool} applied; its history table is left as it was\n",
        count(report.adopted.len(), "migration")
    ));
    out(&text)?;
    Ok(0)
}

pub fn baseline(dir: &Path, db: &Db, version: i64, accept: &[String]) -> Result<u8, String> {
    let migrations = load(dir)?;
    if migrations.get(version).is_none() {
        return Err(format!(
            "no migration in {} has version {version}",
            dir.display()
        ));
    }
    let mut client = connect(db)?;
    let history = migrations
        .history_blocking(&mut client, &db.history_table)
        .map_err(|e| e.to_string())?;
    if !history.is_empty() {
        return Err(format!(
            "the history table already has {}: this database is managed already (see `pgstrata status`)",
            count(history.len(), "row")
        ));
    }
    let model = crate::files::open(dir)?
        .catalog_until(version)
        .map_err(|e| e.to_string())?;
    let diffs = db::live_differences(db, &mut client, &model)?;
    let unknown: Vec<&String> = accept
        .iter()
        .filter(|a| !diffs.iter().any(|d| d.message == **a))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "--accept names differences there are not (nothing was recorded): {}",
            unknown
                .iter()
                .map(|a| format!("{a:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let open: Vec<_> = diffs
        .into_iter()
        .filter(|d| !accept.contains(&d.message))
        .collect();
    if !open.is_empty() {
        return Err(format!(
            "the database does not match the migrations up to {version} ({} differences); nothing was recorded:\n{}\n  help: fix the database, or after checking a difference, record through it with --accept \"<difference>\"",
            open.len(),
            listed(&open, 20)
        ));
    }
    let table = db::history_table(db)?;
    let mut sql = format!("BEGIN;\n{};\n", table.create_sql());
    let upto = migrations
        .iter()
        .position(|m| m.version() == version)
        .map_or(0, |i| i + 1);
    let adopted: Vec<_> = migrations.iter().take(upto).collect();
    for m in &adopted {
        sql.push_str(&format!(
            "INSERT INTO {} (version, name, checksum) VALUES ({}, {}, {});\n",
            table.sql(),
            m.version(),
            literal(m.name()),
            literal(m.checksum())
        ));
    }
    sql.push_str("COMMIT;");
    client
        .batch_execute(&sql)
        .map_err(|e| format!("cannot record the baseline: {}", db::chain(&e)))?;
    out(&format!(
        "the schema matches; recorded {} up to {version} as applied\n",
        count(adopted.len(), "migration")
    ))?;
    Ok(0)
}

/// The first `n` differences, one per line.
fn listed(diffs: &[pgstrata_core::catalog::Difference], n: usize) -> String {
    let mut shown: Vec<String> = diffs.iter().take(n).map(|d| format!("  - {d}")).collect();
    if diffs.len() > n {
        shown.push(format!(
            "  ... and {} more (see `pgstrata drift`)",
            diffs.len() - n
        ));
    }
    shown.join("\n")
}

pub fn resolve(dir: &Path, db: &Db, version: i64, mark_applied: bool) -> Result<u8, String> {
    let migrations = load(dir)?;
    let mut client = connect(db)?;
    let history = migrations
        .history_blocking(&mut client, &db.history_table)
        .map_err(|e| e.to_string())?;
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
    if !mark_applied {
        drop_invalid_indexes(&migrations, version, &mut client)?;
    }
    let table = db::history_table(db)?;
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
        .map_err(|e| format!("cannot update the history: {}", db::chain(&e)))?;
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

/// Before forgetting an interrupted migration, drops the invalid indexes its
/// `CREATE INDEX CONCURRENTLY` left (a rerun with `IF NOT EXISTS` would keep them),
/// saying which.
fn drop_invalid_indexes(
    migrations: &Migrations,
    version: i64,
    client: &mut postgres::Client,
) -> Result<(), String> {
    let Some(m) = migrations.get(version) else {
        return Ok(());
    };
    let invalid = pgstrata_runtime::invalid::find_blocking(client).map_err(|e| e.to_string())?;
    for i in pgstrata_runtime::invalid::created_by(m, &invalid) {
        out(&format!(
            "dropping invalid index {i}, left by the interrupted CREATE INDEX CONCURRENTLY of {m}\n"
        ))?;
        let sql = format!(
            "DROP INDEX CONCURRENTLY IF EXISTS {}.{}",
            pgstrata_core::sql::delimited(&i.schema),
            pgstrata_core::sql::delimited(&i.name)
        );
        client.batch_execute(&sql).map_err(|e| {
            format!(
                "cannot drop the invalid index {}: {}",
                i.name,
                db::chain(&e)
            )
        })?;
    }
    Ok(())
}

/// Exit code 0: the database matches; 5: it differs.
pub fn drift(dir: &Path, db: &Db) -> Result<u8, String> {
    let model = crate::files::catalog(dir)?;
    let mut client = connect(db)?;
    let diffs = db::live_differences(db, &mut client, &model)?;
    if diffs.is_empty() {
        out("the database matches the migrations\n")?;
        return Ok(0);
    }
    out(&format!(
        "{} differences between the migrations and the database:\n{}\n",
        diffs.len(),
        listed(&diffs, usize::MAX)
    ))?;
    Ok(5)
}

/// `1 migration`, `2 migrations`.
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}
