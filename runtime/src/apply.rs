//! Applying transactional migrations: one message per migration (pipelined), or one
//! for a group, each carrying its history row. Those that cannot run in a transaction
//! are in `outside`; how a failure is located and explained is in `locate`.

use std::fmt::Write;
use std::time::Duration;

use pgstrata_core::Migration;

use crate::conn::Conn;
use crate::error::{Error, ErrorKind};
use crate::history::HistoryTable;
use crate::locate::failed;
use crate::lock::{self, Lock};
use crate::message::{body, set_timeouts, Piece, Timeouts};
use crate::report::{AppliedMigration, Progress, ProgressFn};
use pgstrata_core::sql::literal;

/// One migration's message, in its own transaction, and where its body sits in it:
/// `SET LOCAL ...; <sql>; EXECUTE <history insert>`, which PostgreSQL runs as one
/// transaction (a simple query of several statements is an implicit transaction block:
/// all commit at its end, or none). The history row commits with the migration, so a
/// crash at any point leaves either both or neither; the server measures the duration
/// (`statement_timestamp()` is when it began the message). No `BEGIN`/`COMMIT` of its
/// own: two statements fewer per migration. The body never holds transaction control
/// (a file that does is non-transactional, or has its own `BEGIN`/`COMMIT` left out).
///
/// `after` is the migration whose message went just before this one in the same
/// pipeline, if any: the history insert refuses to record this one (a NULL version)
/// unless that one's row is there, so if it failed, this one rolls back too.
fn lone_message<'m>(
    m: &'m Migration,
    lock: &Lock,
    after: Option<&Migration>,
    timeouts: &Timeouts,
) -> (String, Piece<'m>) {
    let mut sql = String::new();
    set_timeouts(&mut sql, m, timeouts, true);
    let (text, up_offset) = body(m);
    let piece = Piece {
        migration: m,
        char_start: sql.chars().count(),
        char_len: text.chars().count(),
        up_offset,
    };
    sql.push_str(text);
    // A trailing `--` comment without a newline would swallow what follows.
    let after = after.map_or_else(|| "NULL".to_string(), |p| p.version().to_string());
    let _ = writeln!(
        sql,
        "\n;\nEXECUTE {}({}, {}, {}, {after});",
        lock.record(),
        m.version(),
        literal(m.name()),
        literal(m.checksum()),
    );
    (sql, piece)
}

/// Applies a run of transactional migrations, each in its own transaction with its
/// history row ([`lone_message`]), pushing each onto `applied` as it commits.
///
/// Pipelined ([`Conn::pipeline`]): the next migration's message is sent while the
/// server still runs the current one, which saves a round trip per migration (it shows
/// when many small migrations apply, as on a fresh database). That is safe because the messages form a chain: a
/// migration's history insert fails unless the one before it is recorded, so when one
/// fails (at any statement, at parsing, or at its commit), the one already sent behind
/// it rolls back as well; nothing after a failure is sent.
pub(crate) async fn lone_run<C: Conn>(
    conn: &mut C,
    table: &HistoryTable,
    lock: &Lock,
    run: &[&Migration],
    timeouts: &Timeouts,
    progress: &ProgressFn,
    applied: &mut Vec<AppliedMigration>,
) -> Result<(), Error> {
    let mut sent = 0;
    let mut answered = 0;
    let mut failure = None;
    conn.pipeline(
        || {
            let m = *run.get(sent)?;
            crate::fault::point(|| format!("before:{}", m.version()));
            progress.emit(Progress::Applying {
                migration: m,
                transactional: true,
            });
            let after = sent.checked_sub(1).and_then(|i| run.get(i).copied());
            sent += 1;
            Some(lone_message(m, lock, after, timeouts).0)
        },
        |answer| {
            let Some(&m) = run.get(answered) else {
                return false;
            };
            answered += 1;
            match answer {
                Ok(messages) => {
                    let duration = reported_ms(messages, "pgstrata_ms");
                    crate::fault::point(|| format!("after:{}", m.version()));
                    applied_event(m, duration);
                    progress.emit(Progress::Applied {
                        migration: m,
                        duration,
                    });
                    applied.push(AppliedMigration {
                        version: m.version(),
                        name: m.name().to_string(),
                        duration,
                    });
                    true
                }
                Err(e) => {
                    failure = Some((m, e));
                    false
                }
            }
        },
    )
    .await;
    let Some((m, e)) = failure else {
        return Ok(());
    };
    let chain_broken = e.as_db_error().is_some_and(|d| {
        d.code().code() == "23502"
            && d.column() == Some("version")
            && d.table() == Some(table.name())
            && table.schema().is_none_or(|s| d.schema() == Some(s))
    });
    if chain_broken {
        // Not reached in practice: a failure of the migration before is reported first.
        return Err(Error::new(
            ErrorKind::Migration,
            format!(
                "{m} was not applied: the migration sent before it on this connection is not recorded as applied"
            ),
        )
        .with_migration(m.version(), m.name())
        .with_source(e));
    }
    let (_, piece) = lone_message(m, lock, None, timeouts);
    Err(failed(conn, e, &[piece], &[m], timeouts).await)
}

/// Applies transactional migrations all in one transaction (`grouped`): one message
/// with every migration and, at its end, the time the message took; then one
/// multi-row `INSERT` and `COMMIT`: two round trips for the whole group.
pub(crate) async fn grouped<C: Conn>(
    conn: &mut C,
    table: &HistoryTable,
    lock: &Lock,
    group: &[&Migration],
    timeouts: &Timeouts,
    progress: &ProgressFn,
) -> Result<Vec<AppliedMigration>, Error> {
    // The history insert comes in a second message, so the transaction must outlive
    // this one; and check the session first.
    let mut sql = String::from("BEGIN;\n");
    sql.push_str(&lock.guard());
    for m in group {
        crate::fault::point(|| format!("before:{}", m.version()));
        progress.emit(Progress::Applying {
            migration: m,
            transactional: true,
        });
    }
    let mut pieces = Vec::with_capacity(group.len());
    // Characters of `sql` already counted, and up to which byte: positions are counted
    // once, not over the whole message for every migration of a group.
    let (mut counted_chars, mut counted_bytes) = (0usize, 0usize);
    for m in group {
        set_timeouts(&mut sql, m, timeouts, true);
        let (text, up_offset) = body(m);
        counted_chars += sql[counted_bytes..].chars().count();
        let char_len = text.chars().count();
        sql.push_str(text);
        pieces.push(Piece {
            migration: m,
            char_start: counted_chars,
            char_len,
            up_offset,
        });
        counted_chars += char_len;
        counted_bytes = sql.len();
        // A trailing `--` comment without a newline would swallow what follows.
        sql.push_str("\n;\n");
    }
    sql.push_str(GROUP_MS);
    let messages = match conn.simple(&sql).await {
        Ok(m) => m,
        Err(e) => {
            // The transaction is aborted (or the connection is gone): roll it back.
            let _ = conn.batch("ROLLBACK").await;
            return Err(failed(conn, e, &pieces, group, timeouts).await);
        }
    };
    // Every migration of the group records the group's time: they ran as one.
    let duration = reported_ms(messages, "pgstrata_group_ms");
    let mut out = Vec::with_capacity(group.len());
    let mut insert = format!(
        "INSERT INTO {} (version, name, checksum, execution_ms) VALUES ",
        table.sql()
    );
    for (i, m) in group.iter().enumerate() {
        if i > 0 {
            insert.push_str(", ");
        }
        let _ = write!(
            insert,
            "({}, {}, {}, {})",
            m.version(),
            literal(m.name()),
            literal(m.checksum()),
            duration.as_millis()
        );
        out.push(AppliedMigration {
            version: m.version(),
            name: m.name().to_string(),
            duration,
        });
    }
    insert.push_str(";\nCOMMIT;");
    crate::fault::point(|| format!("grouped-before-commit:{}", group[0].version()));
    if let Err(e) = conn.batch(&insert).await {
        let _ = conn.batch("ROLLBACK").await;
        return Err(Error::db(
            "recording the grouped migrations failed; none was applied",
            e,
        ));
    }
    for (m, done) in group.iter().zip(&out) {
        crate::fault::point(|| format!("after:{}", m.version()));
        applied_event(m, done.duration);
        progress.emit(Progress::Applied {
            migration: m,
            duration: done.duration,
        });
    }
    Ok(out)
}

/// The `tracing` event for a transactional migration that committed, as it commits.
fn applied_event(m: &Migration, duration: Duration) {
    tracing::info!(
        version = m.version(),
        name = m.name(),
        ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        "pgstrata: applied"
    );
}

/// Prepares the run's history insert ([`Lock::record`]) on the locked session: planned
/// once per run, not once per migration, and, being prepared there only, a guard too.
///
/// Its fourth parameter is the version that must already be recorded (the migration
/// sent just before, see [`lone_run`]), or NULL: when that row is missing, the version
/// inserted is NULL, which the primary key refuses, and the message rolls back.
pub(crate) async fn prepare_record<C: Conn>(
    conn: &mut C,
    table: &HistoryTable,
    lock: &Lock,
) -> Result<(), Error> {
    let sql = format!(
        "{}PREPARE {}(bigint, text, text, bigint) AS INSERT INTO {t} (version, name, checksum, execution_ms) \
         VALUES (CASE WHEN $4 IS NULL OR EXISTS (SELECT FROM {t} WHERE version = $4) THEN $1 END, $2, $3, \
         (extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::bigint) \
         RETURNING execution_ms::text AS pgstrata_ms",
        lock.guard(),
        lock.record(),
        t = table.sql()
    );
    conn.batch(&sql).await.map_err(|e| {
        if lock::moved(&e) {
            lock::not_held("the history insert could not be prepared on the locked session")
        } else {
            Error::db("cannot prepare the history insert", e)
        }
    })
}

/// How long a group's message has run, in milliseconds (`statement_timestamp()` is
/// when it arrived). One figure for the whole group: a timestamp statement between
/// every two migrations cost grouped mode about 8% of its time for 1000 small ones.
const GROUP_MS: &str = "SELECT (extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::bigint::text AS pgstrata_group_ms;\n";

/// The duration the server reported in the runner's own row, the one whose single column
/// is named `tag` (a migration's statements may return rows of their own); zero if
/// there is none.
fn reported_ms(messages: Vec<tokio_postgres::SimpleQueryMessage>, tag: &str) -> Duration {
    let ms = messages.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r)
            if r.columns().len() == 1 && r.columns()[0].name() == tag =>
        {
            r.get(0).and_then(|v| v.parse::<u64>().ok())
        }
        _ => None,
    });
    Duration::from_millis(ms.unwrap_or(0))
}
