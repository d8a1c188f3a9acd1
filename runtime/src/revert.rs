//! Reverting migrations with their down SQL, newest first.

use std::time::Instant;

use pgstrata_core::{Migration, Transaction};

use crate::conn::Conn;
use crate::error::{Error, ErrorKind, StatementInfo};
use crate::history::HistoryTable;
use crate::lock::{self, Lock};
use crate::plan::HistoryRow;
use crate::report::AppliedMigration;

/// Which applied migrations to revert to get back to `target`, newest first.
///
/// # Errors
/// Before anything is done: a failed or interrupted migration (resolve it first); an
/// applied migration this folder does not have; migrations without down SQL (all named).
pub(crate) fn plan<'m>(
    history: &[HistoryRow],
    migrations: &'m [Migration],
    target: i64,
) -> Result<Vec<&'m Migration>, Error> {
    if let Some(r) = history.iter().find(|r| r.state != "applied") {
        return Err(Error::new(
            ErrorKind::FailedMigration,
            format!(
                "V{}__{} is recorded as {}: resolve it first (`pgstrata resolve --applied {v}` or `--rolled-back {v}`)",
                r.version,
                r.name,
                r.state,
                v = r.version
            ),
        ));
    }
    // Everything after the target in the folder's order (0: everything); applied versions
    // the folder does not have cannot be placed, so any above the target is refused.
    let keep = match migrations.iter().position(|m| m.version() == target) {
        Some(i) => i + 1,
        None if target == 0 => 0,
        None => {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                "version {target} is not one of the migrations of this folder (0 reverts them all)"
            ),
            ))
        }
    };
    let applied = |m: &&Migration| history.iter().any(|r| r.version == m.version());
    let mut out = Vec::new();
    let mut no_down = Vec::new();
    for m in migrations[keep..].iter().filter(applied).rev() {
        match m.down() {
            None => no_down.push(format!("{m} ({})", m.file())),
            Some(_) => out.push(m),
        }
    }
    let unknown: Vec<String> = history
        .iter()
        .filter(|r| r.version > target && !migrations.iter().any(|m| m.version() == r.version))
        .map(|r| format!("V{}__{}", r.version, r.name))
        .collect();
    if !unknown.is_empty() {
        return Err(Error::new(
            ErrorKind::DatabaseAhead,
            format!(
                "cannot revert migrations this folder does not have: {}",
                unknown.join(", ")
            ),
        ));
    }
    if !no_down.is_empty() {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "nothing was reverted: these migrations have no down SQL: {}\n  help: write their down files, or revert to a later version",
                no_down.join(", ")
            ),
        ));
    }
    Ok(out)
}

/// Runs one migration's down SQL and removes its history row: in one transaction when
/// the down SQL allows it, statement by statement otherwise.
pub(crate) async fn revert<C: Conn>(
    conn: &mut C,
    table: &HistoryTable,
    lock: &Lock,
    m: &Migration,
) -> Result<AppliedMigration, Error> {
    let down = m.down().unwrap_or_default();
    let delete = format!(
        "DELETE FROM {} WHERE version = {}",
        table.sql(),
        m.version()
    );
    let started = Instant::now();
    let body = match m.down_transaction() {
        Transaction::Wrapped => Some(down),
        Transaction::OwnBeginCommit { body } => Some(down.get(body.range()).unwrap_or_default()),
        Transaction::None { .. } => None,
    };
    match body {
        Some(body) => {
            let sql = format!("BEGIN;\n{}{body}\n;\n{delete};\nCOMMIT;", lock.guard());
            if let Err(e) = conn.batch(&sql).await {
                let _ = conn.batch("ROLLBACK").await;
                if lock::moved(&e) {
                    return Err(lock::not_held(&format!("{m} was not reverted")));
                }
                return Err(failed(m, e, "was rolled back; the migration stays applied"));
            }
        }
        None => {
            conn.batch(&lock.guard()).await.map_err(|e| {
                if lock::moved(&e) {
                    lock::not_held(&format!("{m} was not reverted"))
                } else {
                    Error::db("cannot check the migration lock", e)
                }
            })?;
            for (i, span) in m.down_statements().iter().enumerate() {
                let text = down.get(span.range()).unwrap_or_default();
                if let Err(e) = conn.batch(text).await {
                    return Err(failed(m, e, "runs outside a transaction: the statements before it stay done, and the migration stays recorded as applied")
                        .with_statement(StatementInfo {
                            index: i,
                            file: format!("down SQL of {}", m.file()),
                            line: pgstrata_core::line_col(down, span.start as usize).0,
                            column: 1,
                            text: text.to_string(),
                        }));
                }
            }
            conn.batch(&delete).await.map_err(|e| {
                Error::db("the down SQL ran but removing the history row failed", e)
            })?;
        }
    }
    Ok(AppliedMigration {
        version: m.version(),
        name: m.name().to_string(),
        duration: started.elapsed(),
    })
}

fn failed(m: &Migration, e: tokio_postgres::Error, what: &str) -> Error {
    Error::new(
        ErrorKind::Migration,
        format!("the down SQL of {m} ({}) failed and {what}", m.file()),
    )
    .with_migration(m.version(), m.name())
    .with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{migration_with_down, row};

    fn with_down(version: i64, down: Option<&'static str>) -> Migration {
        migration_with_down(version, "c", down)
    }

    #[test]
    fn newest_first_and_only_above_the_target() {
        let ms = [
            with_down(1, Some("x")),
            with_down(2, Some("y")),
            with_down(3, Some("z")),
        ];
        let h = [
            row(1, "c", "applied"),
            row(2, "c", "applied"),
            row(3, "c", "applied"),
        ];
        let p: Vec<i64> = plan(&h, &ms, 1)
            .unwrap()
            .iter()
            .map(|m| m.version())
            .collect();
        assert_eq!(p, [3, 2]);
        assert!(plan(&h, &ms, 3).unwrap().is_empty());
    }

    #[test]
    fn refuses_before_doing_anything() {
        let ms = [
            with_down(1, None),
            with_down(2, Some("y")),
            with_down(3, None),
        ];
        let h = [
            row(1, "c", "applied"),
            row(2, "c", "applied"),
            row(3, "c", "applied"),
        ];
        let e = plan(&h, &ms, 0).unwrap_err().to_string();
        assert!(
            e.contains("V3__m") && e.contains("V1__m") && e.contains("no down SQL"),
            "{e}"
        );
        let failed = [row(1, "c", "applied"), row(2, "c", "failed")];
        assert_eq!(
            plan(&failed, &ms, 0).unwrap_err().kind(),
            ErrorKind::FailedMigration
        );
        let ahead = [row(1, "c", "applied"), row(9, "c", "applied")];
        assert_eq!(
            plan(&ahead, &ms, 0).unwrap_err().kind(),
            ErrorKind::DatabaseAhead
        );
    }
}
