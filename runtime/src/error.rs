//! The runtime's error: an opaque struct with a kind, the migration it concerns, the
//! PostgreSQL error behind it, and the partial report of what was done before it.

use std::fmt;

use tokio_postgres::error::DbError;

use crate::report::Report;

/// What went wrong. Each variant says when it happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A migration's SQL failed. [`Error::migration`] and [`Error::statement`] say which,
    /// [`Error::as_db_error`] has PostgreSQL's SQLSTATE, message and position. A
    /// transactional migration left no trace; a non-transactional one is recorded as
    /// `failed` and blocks later runs until resolved.
    Migration,
    /// A migration recorded as `failed` (or left `running` by a process that died) blocks
    /// every run until it is resolved.
    FailedMigration,
    /// An applied migration's file changed since it was applied (checksums differ).
    ChecksumMismatch,
    /// A migration not yet applied has a lower version than one already applied, and
    /// out-of-order migrations are not allowed.
    OutOfOrder,
    /// The database has migrations this binary does not know, and that is not tolerated
    /// (see `Runner::allow_ahead`).
    DatabaseAhead,
    /// Another session held the migration lock longer than the lock timeout.
    LockTimeout,
    /// `pg_try_advisory_lock` said yes but the lock is not held by this session: the
    /// connection goes through a pooler in transaction mode.
    LockNotHeld,
    /// With `Runner::verify_schema(true)`: after migrating, the live schema differs from
    /// the one compiled into the binary (a table, column, type or enum label its
    /// generated types rely on).
    SchemaMismatch,
    /// The database is migrated by another tool (its history table has rows) and
    /// pgstrata has no history of its own yet, so a run would apply everything again; or
    /// adopting that tool's history found a failed, dirty or unknown row, or a changed
    /// file. The message names the table and the command that adopts it.
    ForeignHistory,
    /// The runner was configured with something unusable (history table name, target).
    Config,
    /// A query of the runner's own (history, lock) failed, or the connection broke.
    Database,
    /// PostgreSQL answered something the runner did not expect.
    Protocol,
}

/// An error from applying migrations.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    migration: Option<(i64, String)>,
    statement: Option<StatementInfo>,
    source: Option<tokio_postgres::Error>,
    report: Report,
    /// More to say after PostgreSQL's error: who blocked a migration, what state it
    /// was left in.
    notes: Vec<String>,
}

/// Where in a migration's SQL an error happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementInfo {
    /// 0-based index of the statement in the migration.
    pub index: usize,
    /// The file.
    pub file: String,
    /// 1-based line in the file.
    pub line: u32,
    /// 1-based column in characters.
    pub column: u32,
    /// The statement's text.
    pub text: String,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                migration: None,
                statement: None,
                source: None,
                report: Report::default(),
                notes: Vec::new(),
            }),
        }
    }

    pub(crate) fn db(context: impl Into<String>, e: tokio_postgres::Error) -> Error {
        let kind = ErrorKind::Database;
        Error::new(kind, context).with_source(e)
    }

    pub(crate) fn with_source(mut self, e: tokio_postgres::Error) -> Error {
        self.inner.source = Some(e);
        self
    }

    /// Moves the PostgreSQL error of `other` into `self`.
    pub(crate) fn with_source_of(mut self, mut other: Error) -> Error {
        self.inner.source = other.inner.source.take();
        self
    }

    pub(crate) fn with_migration(mut self, version: i64, name: &str) -> Error {
        self.inner.migration = Some((version, name.to_string()));
        self
    }

    pub(crate) fn with_statement(mut self, s: StatementInfo) -> Error {
        self.inner.statement = Some(s);
        self
    }

    pub(crate) fn with_note(mut self, note: String) -> Error {
        self.inner.notes.push(note);
        self
    }

    pub(crate) fn with_report(mut self, report: Report) -> Error {
        self.inner.report = report;
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The version and name of the migration concerned, if any.
    pub fn migration(&self) -> Option<(i64, &str)> {
        self.inner.migration.as_ref().map(|(v, n)| (*v, n.as_str()))
    }

    /// The statement that failed, with its file, line and column.
    pub fn statement(&self) -> Option<&StatementInfo> {
        self.inner.statement.as_ref()
    }

    /// PostgreSQL's error (SQLSTATE, message, detail, hint, position), if the server
    /// reported one.
    pub fn as_db_error(&self) -> Option<&DbError> {
        self.inner.source.as_ref().and_then(|e| e.as_db_error())
    }

    /// What was done before the error: migrations applied by this run stay applied.
    pub fn report(&self) -> &Report {
        &self.inner.report
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        if let Some(s) = &self.inner.statement {
            write!(
                f,
                "\n  at {}:{}:{} (statement {})",
                s.file,
                s.line,
                s.column,
                s.index + 1
            )?;
            let text: String = s.text.chars().take(400).collect();
            let ellipsis = if text.len() < s.text.len() {
                " ..."
            } else {
                ""
            };
            write!(
                f,
                "\n  statement: {}{ellipsis}",
                text.replace('\n', "\n             ")
            )?;
        }
        if let Some(e) = &self.inner.source {
            match e.as_db_error() {
                Some(db) => {
                    write!(
                        f,
                        "\n  {} {}: {}",
                        db.severity(),
                        db.code().code(),
                        db.message()
                    )?;
                    if let Some(d) = db.detail() {
                        write!(f, "\n  detail: {d}")?;
                    }
                    if let Some(h) = db.hint() {
                        write!(f, "\n  hint: {h}")?;
                    }
                }
                None => write!(f, "\n  cause: {e}")?,
            }
        }
        for note in &self.inner.notes {
            write!(f, "\n  {note}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message)
            .field("migration", &self.inner.migration)
            .field("statement", &self.inner.statement)
            .field("source", &self.inner.source)
            .field("notes", &self.inner.notes)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source.as_ref().map(|e| e as _)
    }
}
