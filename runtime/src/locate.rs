//! Locating and explaining a failure: which statement of which migration failed (from
//! PostgreSQL's position, or without one by running the statements again in a
//! transaction that is rolled back), the sessions a lock wait was behind, a session
//! that moved under a pooler, a lost connection.

use pgstrata_core::sql::literal;
use pgstrata_core::{Migration, Span, Transaction};

use crate::conn::Conn;
use crate::error::{Error, ErrorKind, StatementInfo};
use crate::lock;
use crate::message::{body, set_timeouts, Piece, Timeouts};

/// The error for a failed transactional message (already rolled back by the server, or
/// by the caller): the session moved to another server session, a lock wait, a lost
/// connection, or a statement, located from the server's position (or, without one,
/// by running the statements again in a transaction that is rolled back).
pub(crate) async fn failed<C: Conn>(
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
        if let Some(found) = rerun_to_locate(conn, group, timeouts).await {
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
/// violation, a division by zero), so that running it again finds it. Timeouts, lock waits,
/// deadlocks, lack of resources and lost connections do not: running again would only wait
/// again.
fn about_a_statement(sqlstate: &str) -> bool {
    !(sqlstate.starts_with("57") // query canceled, admin shutdown
        || sqlstate.starts_with("40") // serialization failure, deadlock
        || sqlstate.starts_with("53") // insufficient resources
        || sqlstate.starts_with("08") // connection exception
        || sqlstate == "55P03") // lock not available
}

/// Finds the failing statement of an error PostgreSQL gave no position for (a constraint
/// violation, a division by zero): runs the statements one at a time in a transaction
/// that is always rolled back, and reports the first that fails. Only on failure, so
/// the normal path stays one round trip per migration.
async fn rerun_to_locate<C: Conn>(
    conn: &mut C,
    group: &[&Migration],
    timeouts: &Timeouts,
) -> Option<Error> {
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

/// A migration that waited for a table lock longer than its `lock_timeout`: the error
/// names the sessions holding locks on the tables the migration mentions, so the reader
/// knows whom it waited for.
pub(crate) async fn blocked<C: Conn>(conn: &mut C, err: Error, group: &[&Migration]) -> Error {
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

pub(crate) fn first_line(e: &Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} {}", db.code().code(), db.message()),
        None => e.to_string().lines().next().unwrap_or_default().to_string(),
    }
}

/// Turns a failed message into an error naming the migration and, from PostgreSQL's
/// position, the statement, line and column.
pub(crate) fn locate(
    e: tokio_postgres::Error,
    pieces: &[Piece<'_>],
    group: &[&Migration],
) -> Error {
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

pub(crate) fn statement_error(
    m: &Migration,
    i: usize,
    span: Span,
    e: tokio_postgres::Error,
) -> Error {
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
