//! Builders for unit tests of the pure parts (planning, status).

use std::borrow::Cow;

use pgstrata_core::{Migration, MigrationParts, Transaction};

use crate::plan::HistoryRow;

/// A migration `V{version}__m` with this checksum.
pub(crate) fn migration(version: i64, checksum: &'static str) -> Migration {
    migration_with_down(version, checksum, None)
}

/// [`migration`] with down SQL.
pub(crate) fn migration_with_down(
    version: i64,
    checksum: &'static str,
    down: Option<&'static str>,
) -> Migration {
    Migration::from_parts(MigrationParts {
        version,
        name: Cow::Borrowed("m"),
        file: Cow::Owned(format!("migrations/V{version}__m.sql")),
        up: Cow::Borrowed("SELECT 1"),
        up_line: 1,
        down: down.map(Cow::Borrowed),
        down_statements: Cow::Borrowed(&[]),
        down_transaction: Transaction::Wrapped,
        checksum: Cow::Borrowed(checksum),
        statements: Cow::Borrowed(&[]),
        transaction: Transaction::Wrapped,
        lock_timeout: None,
        statement_timeout: None,
    })
}

/// A history row for version `version`.
pub(crate) fn row(version: i64, checksum: &str, state: &str) -> HistoryRow {
    HistoryRow {
        version,
        name: "m".into(),
        checksum: checksum.into(),
        state: state.into(),
        applied_at: "2026-01-01".into(),
        execution_ms: 0,
        error: None,
    }
}
