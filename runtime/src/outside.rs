//! Applying a migration that cannot run in a transaction (`CREATE INDEX CONCURRENTLY`
//! and the like), statement by statement, with its history row `running`, then
//! `applied` or `failed`.

use pgstrata_core::sql::literal;
use pgstrata_core::Migration;

use crate::conn::Conn;
use crate::error::Error;
use crate::history::HistoryTable;
use crate::locate::{blocked, first_line, statement_error};
use crate::lock::{self, Lock};
use crate::message::{set_timeouts, Timeouts};
use crate::report::{AppliedMigration, Progress, ProgressFn};

/// Applies a migration that cannot run in a transaction, statement by statement.
///
/// Its history row is written as `running` first, then `applied`, or `failed` with the
/// error. A process that dies in between leaves `running`, which blocks later runs
/// until someone checks what was done: the one case where the database cannot tell.
/// The `running` row is also this migration's claim: its primary key lets only one run
/// insert it, so the statements after it need no guard of the lock.
pub(crate) async fn non_transactional<C: Conn>(
    conn: &mut C,
    table: &HistoryTable,
    lock: &Lock,
    m: &Migration,
    timeouts: &Timeouts,
    progress: &ProgressFn,
) -> Result<AppliedMigration, Error> {
    crate::fault::point(|| format!("before:{}", m.version()));
    progress.emit(Progress::Applying {
        migration: m,
        transactional: false,
    });
    let insert = format!(
        "{}INSERT INTO {} (version, name, checksum, state) VALUES ({}, {}, {}, 'running')",
        lock.guard(),
        table.sql(),
        m.version(),
        literal(m.name()),
        literal(m.checksum())
    );
    conn.batch(&insert).await.map_err(|e| {
        if lock::moved(&e) {
            lock::not_held(&format!("{m} was not started"))
        } else {
            Error::db("cannot record the migration as running", e)
        }
        .with_migration(m.version(), m.name())
    })?;
    crate::fault::point(|| format!("running:{}", m.version()));
    let started = std::time::Instant::now();
    let result = run_statements(conn, m, timeouts, progress).await;
    let elapsed = started.elapsed();
    match result {
        Ok(()) => {
            crate::fault::point(|| format!("before-applied:{}", m.version()));
            let done = format!(
                "UPDATE {} SET state = 'applied', applied_at = now(), execution_ms = {} WHERE version = {} AND state = 'running'",
                table.sql(),
                elapsed.as_millis(),
                m.version()
            );
            conn.batch(&done).await.map_err(|e| {
                Error::db(
                    format!(
                        "{m} ({}) ran to its end, but recording it as applied failed; it stays marked running\n  \
                         help: check the database, then `pgstrata resolve --applied {v}`",
                        m.file(),
                        v = m.version()
                    ),
                    e,
                )
                .with_migration(m.version(), m.name())
            })?;
            crate::fault::point(|| format!("after:{}", m.version()));
            progress.emit(Progress::Applied {
                migration: m,
                duration: elapsed,
            });
            Ok(AppliedMigration {
                version: m.version(),
                name: m.name().to_string(),
                duration: elapsed,
            })
        }
        Err(err) => {
            let fail = format!(
                "UPDATE {} SET state = 'failed', error = {} WHERE version = {}",
                table.sql(),
                literal(&first_line(&err)),
                m.version()
            );
            match conn.batch(&fail).await {
                Ok(()) => Err(err.with_note(format!(
                    "it is recorded as failed: later runs refuse until it is resolved with \
                     `pgstrata resolve --applied {v}` or `pgstrata resolve --rolled-back {v}`",
                    v = m.version()
                ))),
                // The connection is gone: the row says `running`, not `failed`.
                Err(_) => Err(err.with_note(format!(
                    "recording the failure failed too (the connection is lost?): {m} stays marked running, \
                     and later runs refuse until it is resolved with `pgstrata resolve --applied {v}` or \
                     `pgstrata resolve --rolled-back {v}`",
                    v = m.version()
                ))),
            }
        }
    }
}

/// Runs the statements one by one, with the migration's timeouts set for the session
/// and reset after.
async fn run_statements<C: Conn>(
    conn: &mut C,
    m: &Migration,
    timeouts: &Timeouts,
    progress: &ProgressFn,
) -> Result<(), Error> {
    let mut set = String::new();
    set_timeouts(&mut set, m, timeouts, false);
    let mut result = Ok(());
    if !set.is_empty() {
        result = conn
            .batch(&set)
            .await
            .map_err(|e| Error::db("cannot set the migration's timeouts", e));
    }
    if result.is_ok() {
        let count = m.statements().len();
        for (i, span) in m.statements().iter().enumerate() {
            let text = m.up().get(span.range()).unwrap_or_default();
            progress.emit(Progress::Statement {
                migration: m,
                index: i,
                count,
                text,
            });
            if let Err(e) = conn.batch(text).await {
                let lock_wait = e.as_db_error().is_some_and(|d| d.code().code() == "55P03");
                let err = statement_error(m, i, *span, e);
                result = Err(if lock_wait {
                    blocked(conn, err, &[m]).await
                } else {
                    err
                });
                // A file with transaction blocks of its own may have failed inside one,
                // leaving the session in an aborted transaction where recording the
                // failure would fail too. Outside a transaction this is only a warning.
                let _ = conn.batch("ROLLBACK").await;
                break;
            }
            crate::fault::point(|| format!("statement:{}:{}", m.version(), i + 1));
        }
    }
    if !set.is_empty() {
        let _ = conn
            .batch("RESET lock_timeout; RESET statement_timeout")
            .await;
    }
    result
}
