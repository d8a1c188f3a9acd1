//! Applying migrations: one message per transactional migration, statement by statement
//! for the others.

use std::fmt::Write;
use std::time::Duration;

use pgstrata_core::{Migration, Span, Transaction};

use crate::conn::Conn;
use crate::error::{Error, ErrorKind, StatementInfo};
use crate::history::{quote_literal, HistoryTable};
use crate::report::AppliedMigration;

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

/// Applies transactional migrations: one message per migration, or, with `grouped`,
/// all of them in one transaction.
///
/// Alone: `BEGIN; SET LOCAL ...; <sql>; INSERT INTO history ... RETURNING; COMMIT` in one
/// message, one round trip. The history row commits with the migration, so a crash at
/// any point leaves either both or neither; the server measures the duration
/// (`statement_timestamp()` is when the message arrived).
///
/// Grouped: one message with every migration between `clock_timestamp()` marks, then
/// one multi-row `INSERT` and `COMMIT`: two round trips for the whole group.
pub(crate) async fn transactional<C: Conn>(
    conn: &mut C,
    table: &HistoryTable,
    group: &[&Migration],
    timeouts: &Timeouts,
) -> Result<Vec<AppliedMigration>, Error> {
    let grouped = group.len() > 1;
    let mut sql = String::from("BEGIN;\n");
    let mut pieces = Vec::with_capacity(group.len());
    // Characters of `sql` already counted, and up to which byte: positions are counted
    // once, not over the whole message for every migration of a group.
    let (mut counted_chars, mut counted_bytes) = (0usize, 0usize);
    for m in group {
        set_timeouts(&mut sql, m, timeouts, true);
        if grouped {
            sql.push_str(MARK);
        }
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
    if grouped {
        sql.push_str(MARK);
    } else {
        let m = group[0];
        let _ = writeln!(
            sql,
            "EXECUTE {RECORD}({}, {}, {});\nCOMMIT;",
            m.version(),
            quote_literal(m.name()),
            quote_literal(m.checksum()),
        );
    }
    let messages = match conn.simple(&sql).await {
        Ok(m) => m,
        Err(e) => {
            // The transaction is aborted (or the connection is gone): roll back whatever
            // is left, and report the statement from the server's position.
            let _ = conn.batch("ROLLBACK").await;
            let err = locate(e, &pieces, group);
            if err.statement().is_none()
                && err
                    .as_db_error()
                    .is_some_and(|d| about_a_statement(d.code().code()))
            {
                if let Some(found) = replay(conn, group, timeouts).await {
                    return Err(found);
                }
            }
            return Err(err);
        }
    };
    let values = tagged(
        messages,
        if grouped {
            "pgstrata_mark"
        } else {
            "pgstrata_ms"
        },
    );
    if !grouped {
        let ms = values
            .first()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let m = group[0];
        return Ok(vec![AppliedMigration {
            version: m.version(),
            name: m.name().to_string(),
            duration: Duration::from_millis(ms),
        }]);
    }
    let marks: Vec<f64> = values.iter().filter_map(|v| v.parse().ok()).collect();
    let mut out = Vec::with_capacity(group.len());
    let mut insert = format!(
        "INSERT INTO {} (version, name, checksum, execution_ms) VALUES ",
        table.sql()
    );
    for (i, m) in group.iter().enumerate() {
        let secs = match (marks.get(i), marks.get(i + 1)) {
            (Some(a), Some(b)) if b >= a => b - a,
            _ => 0.0,
        };
        let duration = Duration::from_secs_f64(secs);
        if i > 0 {
            insert.push_str(", ");
        }
        let _ = write!(
            insert,
            "({}, {}, {}, {})",
            m.version(),
            quote_literal(m.name()),
            quote_literal(m.checksum()),
            duration.as_millis()
        );
        out.push(AppliedMigration {
            version: m.version(),
            name: m.name().to_string(),
            duration,
        });
    }
    insert.push_str(";\nCOMMIT;");
    if let Err(e) = conn.batch(&insert).await {
        let _ = conn.batch("ROLLBACK").await;
        return Err(Error::db(
            "recording the grouped migrations failed; none was applied",
            e,
        ));
    }
    Ok(out)
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

/// The session's prepared history insert: planned once per run, not once per migration.
const RECORD: &str = "pgstrata_record";

/// Prepares [`RECORD`] on this session (replacing one left by an earlier run that died
/// before deallocating it).
pub(crate) async fn prepare_record<C: Conn>(
    conn: &mut C,
    table: &HistoryTable,
) -> Result<(), Error> {
    let sql = format!(
        "PREPARE {RECORD}(bigint, text, text) AS INSERT INTO {} (version, name, checksum, execution_ms) \
         VALUES ($1, $2, $3, (extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::bigint) \
         RETURNING execution_ms::text AS pgstrata_ms",
        table.sql()
    );
    match conn.batch(&sql).await {
        Err(e) if e.as_db_error().is_some_and(|d| d.code().code() == "42P05") => {
            let _ = conn.batch(&format!("DEALLOCATE {RECORD}")).await;
            conn.batch(&sql)
                .await
                .map_err(|e| Error::db("cannot prepare the history insert", e))
        }
        other => other.map_err(|e| Error::db("cannot prepare the history insert", e)),
    }
}

/// Drops [`RECORD`].
pub(crate) async fn deallocate_record<C: Conn>(conn: &mut C) {
    let _ = conn.batch(&format!("DEALLOCATE {RECORD}")).await;
}

/// A timestamp mark between grouped migrations, as seconds since the epoch.
const MARK: &str = "SELECT extract(epoch FROM clock_timestamp())::text AS pgstrata_mark;\n";

/// The values of the rows whose single column is named `tag`, in order: the runner's
/// own rows among any a migration's statements return.
fn tagged(messages: Vec<tokio_postgres::SimpleQueryMessage>, tag: &str) -> Vec<String> {
    messages
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r)
                if r.columns().len() == 1 && r.columns()[0].name() == tag =>
            {
                r.get(0).map(str::to_string)
            }
            _ => None,
        })
        .collect()
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
pub(crate) async fn non_transactional<C: Conn>(
    conn: &mut C,
    table: &HistoryTable,
    m: &Migration,
    timeouts: &Timeouts,
) -> Result<AppliedMigration, Error> {
    let insert = format!(
        "INSERT INTO {} (version, name, checksum, state) VALUES ({}, {}, {}, 'running')",
        table.sql(),
        m.version(),
        quote_literal(m.name()),
        quote_literal(m.checksum())
    );
    conn.batch(&insert).await.map_err(|e| {
        Error::db("cannot record the migration as running", e).with_migration(m.version(), m.name())
    })?;
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
        for (i, span) in m.statements().iter().enumerate() {
            let text = m.up().get(span.range()).unwrap_or_default();
            if let Err(e) = conn.batch(text).await {
                result = Err(statement_error(m, i, *span, e));
                break;
            }
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
            let done = format!(
                "UPDATE {} SET state = 'applied', applied_at = now(), execution_ms = {} WHERE version = {}",
                table.sql(),
                elapsed.as_millis(),
                m.version()
            );
            conn.batch(&done).await.map_err(|e| {
                Error::db(
                    "the migration was applied but recording it failed; it stays marked running",
                    e,
                )
                .with_migration(m.version(), m.name())
            })?;
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
                quote_literal(&first_line(&err)),
                m.version()
            );
            let _ = conn.batch(&fail).await;
            Err(err)
        }
    }
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
        let _ = writeln!(sql, "{scope} lock_timeout = {};", quote_literal(v));
    }
    if let Some(v) = stmt {
        let _ = writeln!(sql, "{scope} statement_timeout = {};", quote_literal(v));
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
             stay applied and it is recorded as failed",
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
