//! Planning, with no IO: (history, embedded migrations, options) -> what to apply, or why
//! not.

use std::collections::BTreeMap;

use pgstrata_core::Migration;

use crate::error::{Error, ErrorKind};
use crate::report::UnknownMigration;

/// A row of the history table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryRow {
    /// The version.
    pub version: i64,
    /// The name recorded.
    pub name: String,
    /// The checksum recorded.
    pub checksum: String,
    /// `applied`, `failed` or `running`.
    pub state: String,
    /// When it was applied (text, as PostgreSQL prints it).
    pub applied_at: String,
    /// How long it took, in milliseconds.
    pub execution_ms: i64,
    /// The error recorded for a failed migration.
    pub error: Option<String>,
}

/// Options that change the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanOptions {
    /// Apply only migrations up to this version.
    pub target: Option<i64>,
    /// Allow a pending migration older than the newest applied one.
    pub allow_out_of_order: bool,
    /// Tolerate applied migrations this binary does not know.
    pub allow_ahead: bool,
}

impl Default for PlanOptions {
    fn default() -> PlanOptions {
        PlanOptions {
            target: None,
            allow_out_of_order: false,
            allow_ahead: true,
        }
    }
}

/// What to do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Indices into the migrations, in order, to apply.
    pub apply: Vec<usize>,
    /// Indices of migrations beyond the target, left pending.
    pub later: Vec<usize>,
    /// How many migrations are already applied.
    pub already_applied: usize,
    /// Applied versions this binary does not know.
    pub unknown: Vec<UnknownMigration>,
}

/// Decides what to apply.
///
/// # Errors
/// - [`ErrorKind::FailedMigration`]: a history row is `failed` or `running`.
/// - [`ErrorKind::ChecksumMismatch`]: an applied migration's file changed.
/// - [`ErrorKind::DatabaseAhead`]: unknown applied versions and `allow_ahead` is off.
/// - [`ErrorKind::OutOfOrder`]: a pending migration is older than an applied one.
/// - [`ErrorKind::Config`]: the target is not a known version.
pub fn plan(
    history: &[HistoryRow],
    migrations: &[Migration],
    opts: PlanOptions,
) -> Result<Plan, Error> {
    if let Some(row) = history.iter().find(|r| r.state != "applied") {
        return Err(failed(row, migrations));
    }
    if let Some(t) = opts.target {
        if !migrations.iter().any(|m| m.version() == t) {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "target version {t} is not one of the {} migrations of this binary",
                    migrations.len()
                ),
            ));
        }
    }
    let by_version: BTreeMap<i64, &HistoryRow> = history.iter().map(|r| (r.version, r)).collect();
    let target = opts
        .target
        .and_then(|t| migrations.iter().position(|m| m.version() == t));
    let mut out = Plan::default();
    for (i, m) in migrations.iter().enumerate() {
        match by_version.get(&m.version()) {
            Some(row) if row.checksum != m.checksum() => {
                return Err(Error::new(
                    ErrorKind::ChecksumMismatch,
                    format!(
                        "migration {m} ({}) was changed after it was applied on {}: \
                         applied checksum {}, file checksum {}\n  \
                         help: restore the file as it was applied and put the change in a new migration",
                        m.file(),
                        row.applied_at,
                        row.checksum,
                        m.checksum()
                    ),
                )
                .with_migration(m.version(), m.name()));
            }
            Some(_) => out.already_applied += 1,
            None if target.is_some_and(|t| i > t) => out.later.push(i),
            None => out.apply.push(i),
        }
    }
    let known: std::collections::BTreeSet<i64> =
        migrations.iter().map(Migration::version).collect();
    out.unknown = history
        .iter()
        .filter(|r| !known.contains(&r.version))
        .map(|r| UnknownMigration {
            version: r.version,
            name: r.name.clone(),
        })
        .collect();
    if !opts.allow_ahead && !out.unknown.is_empty() {
        let list: Vec<String> = out
            .unknown
            .iter()
            .map(|u| format!("V{}__{}", u.version, u.name))
            .collect();
        return Err(Error::new(
            ErrorKind::DatabaseAhead,
            format!(
                "the database has migrations this binary does not know: {}\n  \
                 help: deploy the binary that has them, or allow this with Runner::allow_ahead(true)",
                list.join(", ")
            ),
        ));
    }
    if !opts.allow_out_of_order {
        if let Some(e) = out_of_order(&out, history, migrations, &by_version) {
            return Err(e);
        }
    }
    Ok(out)
}

/// A pending migration that comes before an applied one: in the folder's order, or, for
/// applied versions this binary does not know, by number when the folder's order is
/// numeric (a binary cannot place a version it does not have in any other order).
fn out_of_order(
    plan: &Plan,
    history: &[HistoryRow],
    migrations: &[Migration],
    applied: &BTreeMap<i64, &HistoryRow>,
) -> Option<Error> {
    let first = *plan.apply.first()?;
    let m = &migrations[first];
    let newest_known = migrations
        .iter()
        .enumerate()
        .filter(|(_, k)| applied.contains_key(&k.version()))
        .map(|(i, _)| i)
        .max()
        .filter(|&i| i > first)
        .map(|i| migrations[i].to_string());
    let numeric = migrations
        .windows(2)
        .all(|w| w[0].version() < w[1].version());
    let newest_unknown = history
        .iter()
        .filter(|r| numeric && r.version > m.version())
        .filter(|r| !migrations.iter().any(|k| k.version() == r.version))
        .map(|r| r.version)
        .max()
        .map(|v| format!("version {v}"));
    let newer = newest_known.or(newest_unknown)?;
    Some(
        Error::new(
            ErrorKind::OutOfOrder,
            format!(
                "migration {m} ({}) is not applied but comes before {newer}, which is applied\n  \
                 help: give it a version after the newest applied migration, or allow this with \
                 Runner::allow_out_of_order(true) (`pgstrata up --allow-out-of-order`)",
                m.file()
            ),
        )
        .with_migration(m.version(), m.name()),
    )
}

fn failed(row: &HistoryRow, migrations: &[Migration]) -> Error {
    let file = migrations
        .iter()
        .find(|m| m.version() == row.version)
        .map_or_else(String::new, |m| format!(" ({})", m.file()));
    let what = if row.state == "running" {
        "was interrupted while it ran outside a transaction (the process or connection died)"
            .to_string()
    } else {
        format!(
            "failed{}",
            row.error
                .as_deref()
                .map_or_else(String::new, |e| format!(": {e}"))
        )
    };
    Error::new(
        ErrorKind::FailedMigration,
        format!(
            "migration V{}__{}{file} {what}; it ran outside a transaction, so part of it may be applied\n  \
             help: check the database, finish or undo the migration by hand, then mark it with \
             `pgstrata resolve --applied {v}` or `pgstrata resolve --rolled-back {v}`",
            row.version,
            row.name,
            v = row.version
        ),
    )
    .with_migration(row.version, &row.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{migration as m, row};

    #[test]
    fn empty_history_applies_everything() {
        let p = plan(&[], &[m(1, "a"), m(2, "b")], PlanOptions::default()).unwrap();
        assert_eq!(p.apply, [0, 1]);
        assert_eq!(p.already_applied, 0);
    }

    #[test]
    fn applied_migrations_are_skipped() {
        let p = plan(
            &[row(1, "a", "applied")],
            &[m(1, "a"), m(2, "b")],
            PlanOptions::default(),
        )
        .unwrap();
        assert_eq!(p.apply, [1]);
        assert_eq!(p.already_applied, 1);
    }

    #[test]
    fn changed_checksum_is_refused_with_both() {
        let e = plan(
            &[row(1, "old", "applied")],
            &[m(1, "new")],
            PlanOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ChecksumMismatch);
        let s = e.to_string();
        assert!(
            s.contains("old") && s.contains("new") && s.contains("migrations/V1__m.sql"),
            "{s}"
        );
    }

    #[test]
    fn out_of_order_is_refused_unless_allowed() {
        let history = [row(2, "b", "applied")];
        let e = plan(&history, &[m(1, "a"), m(2, "b")], PlanOptions::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OutOfOrder);
        assert_eq!(e.migration(), Some((1, "m")));
        let opts = PlanOptions {
            allow_out_of_order: true,
            ..PlanOptions::default()
        };
        assert_eq!(
            plan(&history, &[m(1, "a"), m(2, "b")], opts).unwrap().apply,
            [0]
        );
    }

    #[test]
    fn database_ahead_is_tolerated_by_default_and_reported() {
        let history = [row(1, "a", "applied"), row(3, "c", "applied")];
        let p = plan(&history, &[m(1, "a")], PlanOptions::default()).unwrap();
        assert!(p.apply.is_empty());
        assert_eq!(
            p.unknown,
            [UnknownMigration {
                version: 3,
                name: "m".into()
            }]
        );
        let strict = PlanOptions {
            allow_ahead: false,
            ..PlanOptions::default()
        };
        assert_eq!(
            plan(&history, &[m(1, "a")], strict).unwrap_err().kind(),
            ErrorKind::DatabaseAhead
        );
    }

    #[test]
    fn failed_or_interrupted_migrations_block() {
        for state in ["failed", "running"] {
            let e = plan(
                &[row(1, "a", state)],
                &[m(1, "a"), m(2, "b")],
                PlanOptions::default(),
            )
            .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::FailedMigration);
            assert!(e.to_string().contains("pgstrata resolve"), "{e}");
        }
    }

    #[test]
    fn target_stops_early_and_must_exist() {
        let opts = PlanOptions {
            target: Some(2),
            ..PlanOptions::default()
        };
        let p = plan(&[], &[m(1, "a"), m(2, "b"), m(3, "c")], opts).unwrap();
        assert_eq!(p.apply, [0, 1]);
        assert_eq!(p.later, [2]);
        let bad = PlanOptions {
            target: Some(5),
            ..PlanOptions::default()
        };
        assert_eq!(
            plan(&[], &[m(1, "a")], bad).unwrap_err().kind(),
            ErrorKind::Config
        );
    }
}
