//! What a run did.

use std::time::Duration;

/// One migration applied by this run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedMigration {
    /// Its version.
    pub version: i64,
    /// Its name.
    pub name: String,
    /// How long it took, measured by the server.
    pub duration: Duration,
}

/// A migration recorded in the database that this binary does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownMigration {
    /// Its version.
    pub version: i64,
    /// Its name, as recorded.
    pub name: String,
}

/// What a run did, or (dry run) would do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Migrations applied by this run, in order.
    pub applied: Vec<AppliedMigration>,
    /// Migrations that were already applied.
    pub already_applied: usize,
    /// Migrations that are pending: with `dry_run`, what a run would apply; otherwise
    /// those left for later by `target`.
    pub pending: Vec<(i64, String)>,
    /// Migrations in the database unknown to this binary (an older binary during a
    /// rolling deploy sees the newer ones here).
    pub unknown: Vec<UnknownMigration>,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Whether this run took the migration lock (it does only when there is work).
    pub locked: bool,
    /// Migrations reverted by [`Runner::revert_to`](crate::Runner::revert_to), newest
    /// first.
    pub reverted: Vec<AppliedMigration>,
}

impl Report {
    /// Whether the run changed nothing.
    pub fn is_noop(&self) -> bool {
        self.applied.is_empty()
    }
}
