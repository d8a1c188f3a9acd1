//! What a run did, and what it is doing.

use std::sync::Arc;
use std::time::Duration;

use pgstrata_core::Migration;

/// What a run is doing, reported as it goes (see
/// [`Runner::on_progress`](crate::Runner::on_progress)): a deploy log or a CLI can show
/// which migration, and for one that runs outside a transaction which statement, a
/// long run is at.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// About to apply `migration`: in a transaction with its history row, or statement
    /// by statement outside one. On the async client a transactional migration is sent
    /// while the one before it still runs (the runner pipelines them), so its `Applying`
    /// can come before the previous one's `Applied`.
    Applying {
        /// The migration.
        migration: &'a Migration,
        /// Whether it runs in a transaction (as one message, so its statements are not
        /// reported one by one).
        transactional: bool,
    },
    /// Outside a transaction: about to run statement `index` (0-based) of `count`.
    Statement {
        /// The migration.
        migration: &'a Migration,
        /// The statement's index.
        index: usize,
        /// How many statements the migration has.
        count: usize,
        /// The statement's text.
        text: &'a str,
    },
    /// `migration` is applied and recorded.
    Applied {
        /// The migration.
        migration: &'a Migration,
        /// How long it took.
        duration: Duration,
    },
}

/// A progress callback.
pub(crate) type Callback = Arc<dyn Fn(Progress<'_>) + Send + Sync>;

/// The progress callback of a run, if any.
#[derive(Clone, Default)]
pub(crate) struct ProgressFn(pub(crate) Option<Callback>);

impl ProgressFn {
    pub(crate) fn emit(&self, p: Progress<'_>) {
        if let Some(f) = &self.0 {
            f(p);
        }
    }
}

impl std::fmt::Debug for ProgressFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Some(..)" } else { "None" })
    }
}

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
    /// Migrations recorded as applied from another tool's history, without running them
    /// (see [`Runner::adopt`](crate::Runner::adopt)).
    pub adopted: Vec<(i64, String)>,
}

impl Report {
    /// Whether the run changed nothing.
    pub fn is_noop(&self) -> bool {
        self.applied.is_empty()
    }
}
