//! What pgstrata's code generator and runtime share.
//!
//! The code generator (`pgstrata-codegen`) reads migration files at build time and
//! produces [`Migration`] values; the runtime (`pgstrata-runtime`) applies them. This
//! crate holds the record they pass between them, so the runtime never compiles the
//! SQL parser or `syn`.
//!
//! A [`Migration`] is usually embedded (decoded from the texts `embed_migrations!`
//! compiles into a binary, see [`embedded`], borrowing them), but the same type also
//! holds migrations loaded at run time (the CLI, tests), through [`Cow`].
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod catalog;
pub mod embedded;
pub mod lex;
pub mod split;
pub mod sql;
mod text;

pub use text::DecodeError;

use std::borrow::Cow;
use std::fmt;

/// A byte range into a migration's SQL text.
///
/// Offsets are `u32` so that embedded span tables stay small; the code generator refuses
/// files of 4 GiB or more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// The range as `usize`, for slicing.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// How the runtime wraps a migration in a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transaction {
    /// The runtime opens a transaction, runs the whole file in it and records the
    /// migration in the history table before committing: all or nothing.
    Wrapped,
    /// The file starts with `BEGIN` and ends with `COMMIT` itself. The runtime runs only
    /// `body` (what lies between them) inside its own transaction, so that the history
    /// row still commits together with the migration.
    OwnBeginCommit {
        /// The text between the file's `BEGIN` and `COMMIT`.
        body: Span,
    },
    /// The migration runs statement by statement outside a transaction.
    None {
        /// Why it cannot run in a transaction.
        reason: NoTransactionReason,
    },
}

/// Why a migration runs outside a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoTransactionReason {
    /// A `-- pgstrata:no-transaction` (or compatible) directive asked for it.
    Directive,
    /// Statement `index` (0-based) is one PostgreSQL refuses inside a transaction block,
    /// such as `CREATE INDEX CONCURRENTLY`.
    RefusedInTransaction {
        /// Index into [`Migration::statements`].
        index: u32,
    },
    /// Statement `index` controls transactions itself (`COMMIT` in the middle of a file).
    TransactionControl {
        /// Index into [`Migration::statements`].
        index: u32,
    },
}

/// One migration: its version, name, SQL, checksum and how it is to be run.
#[derive(Clone, Debug)]
pub struct Migration {
    version: i64,
    name: Cow<'static, str>,
    file: Cow<'static, str>,
    up: Cow<'static, str>,
    up_line: u32,
    down: Option<Cow<'static, str>>,
    down_statements: Cow<'static, [Span]>,
    down_transaction: Transaction,
    checksum: Cow<'static, str>,
    statements: Cow<'static, [Span]>,
    transaction: Transaction,
    lock_timeout: Option<Cow<'static, str>>,
    statement_timeout: Option<Cow<'static, str>>,
}

/// Every field of a [`Migration`], for the code generator to fill in.
///
/// Not part of the stable API: construct migrations with `embed_migrations!` or
/// `pgstrata_codegen::load`.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct MigrationParts {
    pub version: i64,
    pub name: Cow<'static, str>,
    pub file: Cow<'static, str>,
    pub up: Cow<'static, str>,
    pub up_line: u32,
    pub down: Option<Cow<'static, str>>,
    pub down_statements: Cow<'static, [Span]>,
    pub down_transaction: Transaction,
    pub checksum: Cow<'static, str>,
    pub statements: Cow<'static, [Span]>,
    pub transaction: Transaction,
    pub lock_timeout: Option<Cow<'static, str>>,
    pub statement_timeout: Option<Cow<'static, str>>,
}

impl Migration {
    /// Builds a migration from its parts (loaded at run time).
    #[doc(hidden)]
    pub fn from_parts(p: MigrationParts) -> Migration {
        let MigrationParts {
            version,
            name,
            file,
            up,
            up_line,
            down,
            down_statements,
            down_transaction,
            checksum,
            statements,
            transaction,
            lock_timeout,
            statement_timeout,
        } = p;
        Migration {
            version,
            name,
            file,
            up,
            up_line,
            down,
            down_statements,
            down_transaction,
            checksum,
            statements,
            transaction,
            lock_timeout,
            statement_timeout,
        }
    }

    /// The version: the number the file name starts with, dashes removed.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The name: what follows the version in the file name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file the up SQL came from, relative to the migrations folder's parent
    /// (as written in the `embed_migrations!` call), for messages.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The SQL that applies the migration.
    pub fn up(&self) -> &str {
        &self.up
    }

    /// The 1-based line of [`Migration::file`] on which [`Migration::up`] starts
    /// (not 1 for `-- migrate:up` sections).
    pub fn up_line(&self) -> u32 {
        self.up_line
    }

    /// The SQL that reverts the migration, when the folder has one.
    pub fn down(&self) -> Option<&str> {
        self.down.as_deref()
    }

    /// Byte spans of the statements of [`Migration::down`].
    pub fn down_statements(&self) -> &[Span] {
        &self.down_statements
    }

    /// How [`Migration::down`] is wrapped in a transaction.
    pub fn down_transaction(&self) -> &Transaction {
        &self.down_transaction
    }

    /// SHA-256 (hex) of the up SQL with CRLF line endings read as LF.
    pub fn checksum(&self) -> &str {
        &self.checksum
    }

    /// Byte spans of the statements of [`Migration::up`], in order.
    pub fn statements(&self) -> &[Span] {
        &self.statements
    }

    /// The text of statement `index`.
    pub fn statement(&self, index: usize) -> Option<&str> {
        let span = self.statements.get(index)?;
        self.up.get(span.range())
    }

    /// How the migration is wrapped in a transaction.
    pub fn transaction(&self) -> &Transaction {
        &self.transaction
    }

    /// The `lock_timeout` the migration asked for with a directive.
    pub fn lock_timeout(&self) -> Option<&str> {
        self.lock_timeout.as_deref()
    }

    /// The `statement_timeout` the migration asked for with a directive.
    pub fn statement_timeout(&self) -> Option<&str> {
        self.statement_timeout.as_deref()
    }

    /// The 1-based line and column (in characters) of byte `offset` of [`Migration::up`]
    /// within [`Migration::file`].
    pub fn up_position(&self, offset: usize) -> (u32, u32) {
        let (line, col) = line_col(&self.up, offset);
        (line + self.up_line - 1, col)
    }
}

impl Migration {
    /// The name its tool knows it by, from its file: the folder of a folder layout
    /// (`2019-02-26-002946_create_user` for diesel, Prisma's folder), the file without
    /// `.sql` (and `.up`) otherwise (`V1__init`, `20250101_users`); `V{version}__{name}`
    /// when the file says nothing.
    pub fn label(&self) -> Cow<'_, str> {
        let mut parts = self.file.rsplit(['/', '\\']);
        let file = parts.next().unwrap_or_default();
        let label = match file {
            "up.sql" | "migration.sql" => parts.next().unwrap_or_default(),
            _ => {
                let stem = file.strip_suffix(".sql").unwrap_or_default();
                stem.strip_suffix(".up").unwrap_or(stem)
            }
        };
        if label.is_empty() {
            Cow::Owned(format!("V{}__{}", self.version, self.name))
        } else {
            Cow::Borrowed(label)
        }
    }
}

impl fmt::Display for Migration {
    /// [`Migration::label`]: the migration as its folder names it, in every message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// The 1-based line and column (counted in characters) of byte `offset` in `text`.
///
/// An offset past the end, or inside a character, is clamped to the nearest character
/// boundary before it.
pub fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

/// Where each line of a text starts, for turning many byte offsets into lines and
/// columns without reading the text from its start each time (a file of 100,000
/// statements would otherwise take quadratic time).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    /// The 1-based line and column (in characters) of byte `offset` of `text`, as
    /// [`line_col`] computes them.
    pub fn line_col(&self, text: &str, offset: usize) -> (u32, u32) {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let col = text.get(start..offset).map_or(0, |t| t.chars().count()) + 1;
        (
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(col).unwrap_or(u32::MAX),
        )
    }

    /// Line `line` (1-based) of `text`, without its line ending.
    pub fn line<'t>(&self, text: &'t str, line: u32) -> Option<&'t str> {
        let i = (line as usize).checked_sub(1)?;
        let start = *self.starts.get(i)?;
        let end = self.starts.get(i + 1).map_or(text.len(), |&e| e - 1);
        text.get(start..end).map(|l| l.trim_end_matches('\r'))
    }
}

/// SHA-256 (lowercase hex) of `sql`, reading CRLF as LF.
///
/// Line endings are the one difference ignored: a checkout with `core.autocrlf` must not
/// make every applied migration look changed, but any other edit must.
#[cfg(feature = "checksum")]
pub fn checksum(sql: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let mut rest = sql.as_bytes();
    while let Some(i) = rest.windows(2).position(|w| w == b"\r\n") {
        hasher.update(&rest[..i]);
        rest = &rest[i + 1..];
    }
    hasher.update(rest);
    hex(&hasher.finalize())
}

#[cfg(feature = "checksum")]
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_and_lines() {
        let text = "ab\nçd\nx";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        // 'd' is after the two-byte 'ç'
        assert_eq!(line_col(text, 5), (2, 2));
        assert_eq!(line_col(text, 4), (2, 1)); // inside 'ç': clamped back
        assert_eq!(line_col(text, 100), (3, 2));
    }

    #[test]
    fn line_index_agrees_with_line_col() {
        let text = "ab\nçd\r\n\nx";
        let index = LineIndex::new(text);
        for offset in 0..=text.len() + 2 {
            assert_eq!(
                index.line_col(text, offset),
                line_col(text, offset),
                "{offset}"
            );
        }
        assert_eq!(index.line(text, 1), Some("ab"));
        assert_eq!(index.line(text, 2), Some("çd"));
        assert_eq!(index.line(text, 3), Some(""));
        assert_eq!(index.line(text, 4), Some("x"));
        assert_eq!(index.line(text, 5), None);
        assert_eq!(index.line(text, 0), None);
    }

    #[cfg(feature = "checksum")]
    #[test]
    fn checksum_ignores_crlf_only() {
        let lf = checksum("CREATE TABLE a (id int);\nSELECT 1;\n");
        let crlf = checksum("CREATE TABLE a (id int);\r\nSELECT 1;\r\n");
        assert_eq!(lf, crlf);
        assert_ne!(lf, checksum("CREATE TABLE a (id int);\nSELECT 2;\n"));
        assert_ne!(lf, checksum("CREATE TABLE a (id int);\n\nSELECT 1;\n"));
        // a lone CR is content, not a line ending
        assert_ne!(checksum("a\rb"), checksum("a\nb"));
        // known vector: sha256("abc")
        assert_eq!(
            checksum("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
