//! The rollback check: after a migration's up SQL is replayed, replay its down SQL on a
//! copy and compare with the catalog from before the up.

use pgstrata_core::catalog::{differences_with, Catalog, Compare};

use super::{Finding, Options, Rule, Severity};
use crate::replay::Replayer;
use crate::source::Source;

/// The `rollback-mismatch` finding of `source` (whose up SQL `after_up` has just
/// replayed on `before`), or with `reversible` its `missing-down`.
pub(super) fn check(
    source: &Source,
    before: &Catalog,
    after_up: &Replayer,
    options: Options,
) -> Option<Finding> {
    let Some(down) = &source.down else {
        return options.reversible.then(|| Finding {
            rule: Rule::MissingDown,
            severity: Severity::Error,
            file: source.up.display.clone(),
            line: 0,
            column: 0,
            end_line: 0,
            statement: String::new(),
            why: format!(
                "V{}__{} has no down SQL, so it cannot be rolled back",
                source.version, source.name
            ),
            fix: "write its down migration beside it (the layout's down file), undoing what the up does"
                .into(),
        });
    };
    let mut reverted = after_up.clone();
    reverted.errors = crate::diag::Errors::default();
    reverted.file(down);
    let mut problems: Vec<String> = reverted.errors.iter().map(|d| d.to_string()).collect();
    problems.extend(
        differences_with(before, &reverted.catalog, &[], Compare::all())
            .iter()
            .map(|d| d.between("before the up", "after the down")),
    );
    if problems.is_empty() {
        return None;
    }
    Some(Finding {
        rule: Rule::RollbackMismatch,
        severity: Severity::Warning,
        file: down.display.clone(),
        line: 0,
        column: 0,
        end_line: 0,
        statement: String::new(),
        why: format!(
            "the down SQL of V{}__{} does not give back the schema from before its up: {}",
            source.version,
            source.name,
            problems.join("; ")
        ),
        fix: "make the down SQL undo exactly what the up does (drop what it creates, recreate what it drops)"
            .into(),
    })
}
