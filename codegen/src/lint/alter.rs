//! The rules of `ALTER TABLE`: foreign keys, tenant columns and `CHECK (col IS NOT
//! NULL)` on any table; on a table that existed before the migration, the locks and
//! rewrites of each subcommand.

use pgstrata_core::catalog::{ColumnType, Table};
use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnDef, ColumnOption, DataType, TableConstraint,
};

use super::columns::{not_null_check, rewrites};
use super::linter::{qualified, Linter};
use super::statements::Here;
use super::Rule;
use crate::pgtype::{fold, written, Written};

impl Linter<'_> {
    pub(super) fn alter(
        &mut self,
        here: Here<'_>,
        t: &Table,
        existed: bool,
        op: &AlterTableOperation,
    ) {
        self.alter_any(here, t, op);
        if !existed {
            return;
        }
        if !matches!(op, AlterTableOperation::ValidateConstraint { .. }) {
            self.blocks(here.i, here.at, t);
        }
        let name = format!("{}.{}", t.schema, t.name);
        let (i, at) = (here.i, here.at);
        match op {
            AlterTableOperation::AddColumn { column_def, .. } => self.add_column_to_existing(here, t, column_def),
            AlterTableOperation::DropColumn { column_names, .. } => {
                for c in column_names {
                    self.push(
                        Rule::DropColumn,
                        i,
                        at,
                        format!(
                            "dropping {name}.{} deletes its data for good, and the release still running may read or write it",
                            fold(c)
                        ),
                        "stop using the column in a release first (generated structs: remove its field), back it up, \
                         then drop it in a later migration"
                            .into(),
                    );
                }
            }
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => self.push(
                Rule::RenameColumn,
                i,
                at,
                format!(
                    "renaming {name}.{} to {} breaks every query of the release still running during the deploy",
                    fold(old_column_name),
                    fold(new_column_name)
                ),
                "add the new column, write both, backfill, switch reads, then drop the old one in later migrations"
                    .into(),
            ),
            AlterTableOperation::RenameTable { .. } => self.push(
                Rule::RenameTable,
                i,
                at,
                format!("renaming {name} breaks every query of the release still running during the deploy"),
                "create a view with the old name in the same migration, and drop it once no release uses it".into(),
            ),
            AlterTableOperation::AlterColumn { column_name, op } => {
                let col = fold(column_name);
                match op {
                    AlterColumnOperation::SetNotNull => self.set_not_null(here, t, &col),
                    AlterColumnOperation::SetDataType { data_type, .. } => {
                        self.set_data_type(here, t, &col, data_type)
                    }
                    _ => {}
                }
            }
            AlterTableOperation::AddConstraint {
                constraint,
                not_valid,
            } => match constraint {
                TableConstraint::ForeignKey(_) | TableConstraint::Check(_) if !not_valid => self.push(
                    Rule::ConstraintNotValid,
                    i,
                    at,
                    format!(
                        "adding this constraint to {name} checks every row while holding a lock that blocks writes"
                    ),
                    "add it NOT VALID (checks new rows only, at once), then VALIDATE CONSTRAINT in a later migration, \
                     which does not block writes"
                        .into(),
                ),
                TableConstraint::Unique(u) if u.index_name.is_none() => self.unique_constraint(i, at, &name),
                TableConstraint::PrimaryKey(p) if p.index_name.is_none() => self.unique_constraint(i, at, &name),
                _ => {}
            },
            _ => {}
        }
    }

    /// What matters on new tables too: foreign keys, tenant columns, row-level security
    /// turned off, and the `CHECK (col IS NOT NULL)` constraints a later `SET NOT NULL`
    /// can rely on.
    fn alter_any(&mut self, here: Here<'_>, t: &Table, op: &AlterTableOperation) {
        let q = qualified(t);
        match op {
            AlterTableOperation::AddConstraint {
                constraint: TableConstraint::ForeignKey(fk),
                ..
            } => {
                self.foreign_key(here, &q, fk, fk.columns.iter().map(fold).collect());
            }
            AlterTableOperation::AddColumn { column_def, .. } => {
                self.column(here, &q, column_def);
            }
            AlterTableOperation::DisableRowLevelSecurity => {
                self.tenants.push((q.clone(), here.i, here.at));
            }
            AlterTableOperation::AddConstraint {
                constraint: TableConstraint::Check(c),
                not_valid,
            } => {
                if let Some(col) = not_null_check(&c.expr) {
                    let cname = c
                        .name
                        .as_ref()
                        .map_or_else(|| format!("{}_{col}_check", t.name), fold);
                    self.state.checks.push((q.clone(), col, cname, !not_valid));
                }
            }
            AlterTableOperation::ValidateConstraint { name: n } => {
                let n = fold(n);
                for c in self
                    .state
                    .checks
                    .iter_mut()
                    .filter(|c| c.0 == q && c.2 == n)
                {
                    c.3 = true;
                }
            }
            _ => {}
        }
    }

    fn add_column_to_existing(&mut self, here: Here<'_>, t: &Table, column_def: &ColumnDef) {
        let (i, at) = (here.i, here.at);
        let name = format!("{}.{}", t.schema, t.name);
        self.add_column(i, at, t, column_def);
        for o in &column_def.options {
            match &o.option {
                ColumnOption::ForeignKey(_) => self.push(
                    Rule::ConstraintNotValid,
                    i,
                    at,
                    format!(
                        "a column added with REFERENCES validates the new foreign key at once: every row of {name} \
                         is checked while writes to it and to the referenced table are blocked"
                    ),
                    "add the column without REFERENCES, then ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID, and \
                     VALIDATE CONSTRAINT in a later migration"
                        .into(),
                ),
                ColumnOption::Unique(_) | ColumnOption::PrimaryKey(_) => self.unique_constraint(i, at, &name),
                _ => {}
            }
        }
    }

    fn set_not_null(&mut self, here: Here<'_>, t: &Table, col: &str) {
        let q = qualified(t);
        let validated = self
            .state
            .checks
            .iter()
            .any(|c| c.0 == q && c.1 == col && c.3);
        if validated {
            return;
        }
        self.push(
            Rule::SetNotNull,
            here.i,
            here.at,
            format!(
                "SET NOT NULL on {}.{}.{col} scans the whole table under an ACCESS EXCLUSIVE lock",
                t.schema, t.name
            ),
            format!(
                "first ADD CONSTRAINT {col}_not_null CHECK ({col} IS NOT NULL) NOT VALID, then VALIDATE \
                 CONSTRAINT in a later migration; SET NOT NULL then skips the scan"
            ),
        );
    }

    fn set_data_type(&mut self, here: Here<'_>, t: &Table, col: &str, data_type: &DataType) {
        let Some(old) = t.column(col).map(|c| c.ty.clone()) else {
            return;
        };
        let new = match written(data_type) {
            Ok(Written::Builtin(ty, _)) => ty,
            Ok(Written::Named {
                schema,
                name,
                modifier,
                array,
            }) => ColumnType {
                schema: Some(
                    schema.unwrap_or_else(|| old.schema.clone().unwrap_or_else(|| "public".into())),
                ),
                name,
                modifier,
                array,
            },
            Err(_) => return,
        };
        if !rewrites(&old, &new, self.utc) {
            return;
        }
        self.push(
            Rule::ColumnTypeRewrite,
            here.i,
            here.at,
            format!(
                "changing {}.{}.{col} from {} to {} rewrites the table (and its indexes) under an \
                 ACCESS EXCLUSIVE lock",
                t.schema,
                t.name,
                old.format(),
                new.format()
            ),
            "add a column of the new type, backfill it in batches, switch the code, then drop the old \
             column"
                .into(),
        );
    }
}
