//! Applying migrations: one message per transactional migration (pipelined), or one
//! for a group; statement by statement for the others.

use std::fmt::Write;
use std::time::Duration;

use pgstrata_core::{Migration, Span, Transaction};

use crate::conn::Conn;
use crate::error::{Error, ErrorKind, StatementInfo};
use crate::history::HistoryTable;
use crate::lock::{self, Lock};
use crate::report::{AppliedMigration, Progress, ProgressFn};
use pgstrata_core::sql::literal;

/// Timeouts the runner applies to every migration that has none of its own.
#[derive(Clone, Debug, Default)]
pub(crate) struct Timeouts {
    pub lock_timeout: Option<String>,
    pub statement_timeout: Option<String>,
}

/// A piece of a message: where a migration's SQL sits in the text sent.
struct Piece<'a> {
    migration: &'a Migration,
    /// Character offset (PostgreSQL's positions count characters) of the body in the
    /// message.
    char_start: usize,
    char_len: usize,
    /// Byte offset of the body within `migration.up()`.
    up_offset: usize,
}

/// The SQL of a migration's body inside a transaction: everything but its own
/// `BEGIN`/`COMMIT`.
fn body(m: &Migration) -> (&str, usize) {
    match m.transaction() {
        Transaction::OwnBeginCommit { body } => (
            m.up().get(body.range()).unwrap_or_default(),
            body.start as usize,
        ),
        _ => (m.up(), 0),
    }
}

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
/// server still runs the current one, which saves the round trip between them (7-9% of
/// applying 1000 small migrations). That is safe because the messages form a chain: a
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

/// The error for a failed transactional message (already rolled back by the server, or
/// by the caller): the session moved to another server session, a lock wait, a lost
/// connection, or a statement, located from the server's position (or, without one,
/// by replaying the statements in a transaction that is rolled back).
async fn failed<C: Conn>(
    conn: &mut C,
    e: tokio_postgres::Error,
    pieces: &[Piece<'_>],
    group: &[&Migration],
    timeouts: &Timeouts,
) -> Error {
    if lock::moved(&e) {
        return lock::not_held(&format!(
            "{} was not applied: the message carrying it ran on another server session than the lock",
            group[0]
        ));
    }
    if e.as_db_error().is_some_and(|d| d.code().code() == "55P03") {
        return blocked(conn, locate(e, pieces, group), group).await;
    }
    if connection_lost(&e) {
        let names: Vec<String> = group.iter().map(|m| m.to_string()).collect();
        return Error::new(
            ErrorKind::Migration,
            format!(
                "the connection was lost while applying {}: the server rolls the transaction back unless its \
                 COMMIT had already run, and the history row commits with it, so the next run sees which",
                names.join(", ")
            ),
        )
        .with_migration(group[0].version(), group[0].name())
        .with_source(e);
    }
    let err = locate(e, pieces, group);
    if err.statement().is_none()
        && err
            .as_db_error()
            .is_some_and(|d| about_a_statement(d.code().code()))
    {
        if let Some(found) = replay(conn, group, timeouts).await {
            return found;
        }
    }
    err
}

/// Whether the session is gone (closed socket, terminated backend, server shutting
/// down): what was sent may or may not have committed.
fn connection_lost(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.as_db_error() {
        Some(d) => {
            let code = d.code().code();
            code.starts_with("08")
                || code.starts_with("57P")
                || matches!(d.severity(), "FATAL" | "PANIC")
        }
        // An IO error or an unexpected message: the connection is not usable.
        None => true,
    }
}

/// Whether an error without a position still belongs to one statement (a constraint
/// violation, a division by zero), so that replaying finds it. Timeouts, lock waits,
/// deadlocks, lack of resources and lost connections do not: replaying would only wait
/// again.
fn about_a_statement(sqlstate: &str) -> bool {
    !(sqlstate.starts_with("57") // query canceled, admin shutdown
        || sqlstate.starts_with("40") // serialization failure, deadlock
        || sqlstate.starts_with("53") // insufficient resources
        || sqlstate.starts_with("08") // connection exception
        || sqlstate == "55P03") // lock not available
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

/// Finds the failing statement of an error PostgreSQL gave no position for (a constraint
/// violation, a division by zero): runs the statements one at a time in a transaction
/// that is always rolled back, and reports the first that fails. Only on failure, so
/// the normal path stays one round trip per migration.
async fn replay<C: Conn>(conn: &mut C, group: &[&Migration], timeouts: &Timeouts) -> Option<Error> {
    conn.batch("BEGIN").await.ok()?;
    let mut found = None;
    'outer: for m in group {
        let mut set = String::new();
        set_timeouts(&mut set, m, timeouts, true);
        if !set.is_empty() && conn.batch(&set).await.is_err() {
            break;
        }
        let (_, up_offset) = body(m);
        let (first, last) = match m.transaction() {
            Transaction::OwnBeginCommit { .. } => (1, m.statements().len().saturating_sub(1)),
            _ => (0, m.statements().len()),
        };
        for (i, span) in m.statements().iter().enumerate().take(last).skip(first) {
            let text = m.up().get(span.range()).unwrap_or_default();
            if let Err(e) = conn.batch(text).await {
                let mut err = statement_error(m, i, *span, e);
                err = Error::new(
                    ErrorKind::Migration,
                    format!(
                        "migration {m} ({}) failed and was rolled back; nothing of it was applied",
                        m.file()
                    ),
                )
                .with_migration(m.version(), m.name())
                .with_statement(
                    err.statement()
                        .cloned()
                        .unwrap_or_else(|| info(m, i, *span, up_offset)),
                )
                .with_source_of(err);
                found = Some(err);
                break 'outer;
            }
        }
    }
    let _ = conn.batch("ROLLBACK").await;
    found
}

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
    let mut set = String::new();
    set_timeouts(&mut set, m, timeouts, false);
    let started = std::time::Instant::now();
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

/// A migration that waited for a table lock longer than its `lock_timeout`: the error
/// names the sessions holding locks on the tables the migration mentions, so the reader
/// knows whom it waited for.
async fn blocked<C: Conn>(conn: &mut C, err: Error, group: &[&Migration]) -> Error {
    let mut names: Vec<String> = Vec::new();
    for m in group {
        for word in identifiers(m.up()) {
            if names.len() < 500 && !names.contains(&word) {
                names.push(word);
            }
        }
    }
    if names.is_empty() {
        return err;
    }
    let list: Vec<String> = names.iter().map(|n| literal(n)).collect();
    let sql = format!(
        "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, ''), coalesce(a.state, ''), \
           coalesce(a.xact_start::text, '-'), string_agg(DISTINCT l.mode || ' on ' || c.relname, ', '), \
           left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 200) \
         FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.granted AND l.pid <> pg_backend_pid() AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND c.relname = ANY(ARRAY[{}]::text[]) \
         GROUP BY 1, 2, 3, 4, 5, 7 ORDER BY 1",
        list.join(", ")
    );
    let Ok(messages) = conn.simple(&sql).await else {
        return err;
    };
    let sessions: Vec<String> = crate::conn::rows(messages)
        .iter()
        .map(|r| {
            let f = |i: usize| r.get(i).unwrap_or_default();
            format!(
                "pid {} (application_name {:?}, user {}, {}, transaction since {}) holds {}; last query: {}",
                f(0),
                f(1),
                f(2),
                f(3),
                f(4),
                f(5),
                f(6)
            )
        })
        .collect();
    if sessions.is_empty() {
        return err.with_note(
            "it waited for a lock held by a session that has finished since".to_string(),
        );
    }
    err.with_note(format!(
        "it waited for a lock held by:\n    {}\n  help: wait for those sessions to finish, or end them with SELECT pg_terminate_backend(pid); \
         then run again",
        sessions.join("\n    ")
    ))
}

/// The identifiers of `sql`, as PostgreSQL folds them (for finding the tables a
/// migration mentions): unquoted words lower-cased, quoted ones as written.
fn identifiers(sql: &str) -> impl Iterator<Item = String> + '_ {
    pgstrata_core::lex::significant(sql).filter_map(|t| t.identifier(sql).map(|i| i.into_owned()))
}

fn first_line(e: &Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} {}", db.code().code(), db.message()),
        None => e.to_string().lines().next().unwrap_or_default().to_string(),
    }
}

fn set_timeouts(sql: &mut String, m: &Migration, t: &Timeouts, local: bool) {
    let scope = if local { "SET LOCAL" } else { "SET" };
    let lock = m.lock_timeout().or(t.lock_timeout.as_deref());
    let stmt = m.statement_timeout().or(t.statement_timeout.as_deref());
    if let Some(v) = lock {
        let _ = writeln!(sql, "{scope} lock_timeout = {};", literal(v));
    }
    if let Some(v) = stmt {
        let _ = writeln!(sql, "{scope} statement_timeout = {};", literal(v));
    }
}

/// Turns a failed message into an error naming the migration and, from PostgreSQL's
/// position, the statement, line and column.
fn locate(e: tokio_postgres::Error, pieces: &[Piece<'_>], group: &[&Migration]) -> Error {
    let position = e.as_db_error().and_then(|d| match d.position() {
        Some(tokio_postgres::error::ErrorPosition::Original(p)) => Some(*p as usize),
        _ => None,
    });
    // PostgreSQL counts from 1.
    let at = position.map(|p| p.saturating_sub(1));
    let piece = at
        .and_then(|p| {
            pieces
                .iter()
                .find(|x| p >= x.char_start && p <= x.char_start + x.char_len)
        })
        .or(if group.len() == 1 {
            pieces.first()
        } else {
            None
        });
    let Some(piece) = piece else {
        let names: Vec<String> = group.iter().map(|m| m.to_string()).collect();
        return Error::new(
            ErrorKind::Migration,
            format!(
                "applying migrations {} in one transaction failed; none was applied",
                names.join(", ")
            ),
        )
        .with_source(e);
    };
    let m = piece.migration;
    let mut err = Error::new(
        ErrorKind::Migration,
        format!(
            "migration {m} ({}) failed and was rolled back; nothing of it was applied",
            m.file()
        ),
    )
    .with_migration(m.version(), m.name());
    if let Some(p) = at {
        let (text, _) = body(m);
        let chars = p.saturating_sub(piece.char_start);
        let byte = text
            .char_indices()
            .nth(chars)
            .map_or(text.len(), |(b, _)| b);
        let up_byte = piece.up_offset + byte;
        if let Some((i, span)) = m
            .statements()
            .iter()
            .enumerate()
            .find(|(_, s)| up_byte < s.end as usize + 1)
        {
            err = err.with_statement(info(m, i, *span, up_byte.max(span.start as usize)));
        }
    }
    err.with_source(e)
}

fn statement_error(m: &Migration, i: usize, span: Span, e: tokio_postgres::Error) -> Error {
    let offset = e
        .as_db_error()
        .and_then(|d| match d.position() {
            Some(tokio_postgres::error::ErrorPosition::Original(p)) => Some(*p as usize),
            _ => None,
        })
        .map_or(span.start as usize, |p| {
            let text = m.up().get(span.range()).unwrap_or_default();
            span.start as usize
                + text
                    .char_indices()
                    .nth(p.saturating_sub(1))
                    .map_or(0, |(b, _)| b)
        });
    Error::new(
        ErrorKind::Migration,
        format!(
            "migration {m} ({}) failed at statement {}; it runs outside a transaction, so the statements before it \
             stay applied",
            m.file(),
            i + 1
        ),
    )
    .with_migration(m.version(), m.name())
    .with_statement(info(m, i, span, offset))
    .with_source(e)
}

fn info(m: &Migration, index: usize, span: Span, offset: usize) -> StatementInfo {
    let (line, column) = m.up_position(offset);
    StatementInfo {
        index,
        file: m.file().to_string(),
        line,
        column,
        text: m.up().get(span.range()).unwrap_or_default().to_string(),
    }
}
