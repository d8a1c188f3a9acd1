//! The rollback check: for every migration with down SQL, replay the up and then the
//! down on the model, and compare with the model from before the up.

use pgstrata_core::catalog::{differences_with, Compare};

use super::{Finding, Options, Severity};
use crate::replay::Replayer;
use crate::source::Source;

/// Findings of `rollback-mismatch` (every migration with down SQL) and, with
/// `reversible`, `missing-down`.
pub(super) fn check(sources: &[Source], options: Options) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut replayer = Replayer::default();
    for s in sources {
        let before = replayer.catalog.clone();
        replayer.file(&s.up);
        let Some(down) = &s.down else {
            if options.reversible {
                out.push(Finding {
                    rule: "missing-down",
                    severity: Severity::Error,
                    file: s.up.display.clone(),
                    line: 0,
                    column: 0,
                    end_line: 0,
                    statement: String::new(),
                    why: format!("V{}__{} has no down SQL, so it cannot be rolled back", s.version, s.name),
                    fix: "write its down migration beside it (the layout's down file), undoing what the up does"
                        .into(),
                });
            }
            continue;
        };
        let mut reverted = replayer.clone();
        reverted.errors = crate::diag::Errors::default();
        reverted.file(down);
        let mut problems: Vec<String> = reverted.errors.iter().map(|d| d.to_string()).collect();
        problems.extend(
            differences_with(&before, &reverted.catalog, &[], Compare::all())
                .iter()
                .map(|d| {
                    d.message
                        .replace("is missing from the database", "is missing after the down")
                        .replace("is in the database only", "is left behind by the down")
                        .replace(" in the migrations but ", " before the up but ")
                        .replace(" in the database", " after the down")
                }),
        );
        if !problems.is_empty() {
            out.push(Finding {
                rule: "rollback-mismatch",
                severity: Severity::Warning,
                file: down.display.clone(),
                line: 0,
                column: 0,
                end_line: 0,
                statement: String::new(),
                why: format!(
                    "the down SQL of V{}__{} does not give back the schema from before its up: {}",
                    s.version,
                    s.name,
                    problems.join("; ")
                ),
                fix: "make the down SQL undo exactly what the up does (drop what it creates, recreate what it drops)"
                    .into(),
            });
        }
    }
    out
}
