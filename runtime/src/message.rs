//! What a migration's message is made of: its body inside the runner's transaction, the
//! timeouts set for it, and where each migration's text sits in a message sent (to
//! turn the server's position back into a file, line and column).

use std::fmt::Write;

use pgstrata_core::sql::literal;
use pgstrata_core::{Migration, Transaction};

/// Timeouts the runner applies to every migration that has none of its own.
#[derive(Clone, Debug, Default)]
pub(crate) struct Timeouts {
    pub lock_timeout: Option<String>,
    pub statement_timeout: Option<String>,
}

/// A piece of a message: where a migration's SQL sits in the text sent.
pub(crate) struct Piece<'a> {
    pub migration: &'a Migration,
    /// Character offset (PostgreSQL's positions count characters) of the body in the
    /// message.
    pub char_start: usize,
    pub char_len: usize,
    /// Byte offset of the body within `migration.up()`.
    pub up_offset: usize,
}

/// The SQL of a migration's body inside a transaction: everything but its own
/// `BEGIN`/`COMMIT`.
pub(crate) fn body(m: &Migration) -> (&str, usize) {
    match m.transaction() {
        Transaction::OwnBeginCommit { body } => (
            m.up().get(body.range()).unwrap_or_default(),
            body.start as usize,
        ),
        _ => (m.up(), 0),
    }
}

/// Appends the `SET` (or `SET LOCAL`) statements of the migration's timeouts, its own
/// directives first, else the runner's.
pub(crate) fn set_timeouts(sql: &mut String, m: &Migration, t: &Timeouts, local: bool) {
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
