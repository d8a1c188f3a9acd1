//! Status of every migration, from the history and the migrations, with no IO.

use pgstrata_core::Migration;

use crate::plan::HistoryRow;

/// Where a migration stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Applied, and its file is unchanged.
    Applied,
    /// Not applied yet.
    Pending,
    /// Failed outside a transaction; blocks later runs until resolved.
    Failed,
    /// Started outside a transaction and never finished (the process died).
    Running,
    /// Applied, but its file changed since (checksums differ).
    Changed,
    /// In the database, but not among the migrations (a newer binary applied it).
    Unknown,
}

impl State {
    /// The word shown for it.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Pending => "pending",
            State::Failed => "failed",
            State::Running => "running",
            State::Changed => "changed",
            State::Unknown => "unknown",
        }
    }

    /// Whether it needs someone's attention (`pgstrata status` exits non-zero).
    pub fn is_wrong(self) -> bool {
        matches!(self, State::Failed | State::Running | State::Changed)
    }
}

/// One line of a status report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRow {
    /// The version.
    pub version: i64,
    /// The name (from the file, or from the history for unknown ones).
    pub name: String,
    /// Where it stands.
    pub state: State,
    /// When it was applied (or started), as PostgreSQL prints it.
    pub applied_at: Option<String>,
    /// How long it took, in milliseconds.
    pub execution_ms: Option<i64>,
    /// The error recorded for a failed migration.
    pub error: Option<String>,
}

/// Every migration, in the order they apply, then the history rows this folder does not
/// have, by version.
pub fn status(history: &[HistoryRow], migrations: &[Migration]) -> Vec<StatusRow> {
    let mut out: Vec<StatusRow> = Vec::with_capacity(migrations.len());
    for m in migrations {
        let row = history.iter().find(|r| r.version == m.version());
        let state = match row {
            None => State::Pending,
            Some(r) if r.state == "failed" => State::Failed,
            Some(r) if r.state == "running" => State::Running,
            Some(r) if r.checksum != m.checksum() => State::Changed,
            Some(_) => State::Applied,
        };
        out.push(StatusRow {
            version: m.version(),
            name: m.name().to_string(),
            state,
            applied_at: row.map(|r| r.applied_at.clone()),
            execution_ms: row.map(|r| r.execution_ms),
            error: row.and_then(|r| r.error.clone()),
        });
    }
    let mut unknown: Vec<&HistoryRow> = history
        .iter()
        .filter(|r| !migrations.iter().any(|m| m.version() == r.version))
        .collect();
    unknown.sort_by_key(|r| r.version);
    for r in unknown {
        {
            out.push(StatusRow {
                version: r.version,
                name: r.name.clone(),
                state: State::Unknown,
                applied_at: Some(r.applied_at.clone()),
                execution_ms: Some(r.execution_ms),
                error: r.error.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{migration as m, row};

    #[test]
    fn every_state() {
        let migrations = [m(1, "a"), m(2, "b"), m(3, "c"), m(4, "d"), m(5, "e")];
        let history = [
            row(1, "a", "applied"),
            row(2, "changed", "applied"),
            row(3, "c", "failed"),
            row(4, "d", "running"),
            row(9, "z", "applied"),
        ];
        let s: Vec<(i64, State)> = status(&history, &migrations)
            .iter()
            .map(|r| (r.version, r.state))
            .collect();
        assert_eq!(
            s,
            [
                (1, State::Applied),
                (2, State::Changed),
                (3, State::Failed),
                (4, State::Running),
                (5, State::Pending),
                (9, State::Unknown)
            ]
        );
        assert!(
            State::Changed.is_wrong() && !State::Pending.is_wrong() && !State::Unknown.is_wrong()
        );
    }
}
