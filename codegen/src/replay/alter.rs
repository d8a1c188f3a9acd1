//! Replaying `ALTER TABLE`: each subcommand the catalog tracks.

use pgstrata_core::catalog::{KeyConstraint, QualifiedName, Table};
use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnDef, GeneratedAs, Ident, ObjectName,
    RenameTableNameKind,
};

use super::table::{add_constraint, default};
use super::{names, Replayer, R};
use crate::pgtype::{fold, parts};

impl Replayer {
    pub(super) fn alter_table(&mut self, name: &ObjectName, op: &AlterTableOperation) -> R<()> {
        let Some(ti) = self.find_table(name) else {
            return Err(format!(
                "ALTER TABLE of table {name}, which does not exist at this point of the migrations"
            ));
        };
        if self.catalog.tables[ti].unresolved.is_some() {
            // Its columns are unknown: changes to them cannot be checked. Whether the
            // table survives decides if that is an error (see `replay`).
            if let AlterTableOperation::RenameTable {
                table_name: RenameTableNameKind::As(n) | RenameTableNameKind::To(n),
            } = op
            {
                self.catalog.tables[ti].name = parts(n).pop().unwrap_or_default();
            }
            return Ok(());
        }
        let t = &mut self.catalog.tables[ti];
        match op {
            AlterTableOperation::AddColumn {
                if_not_exists,
                column_def,
                ..
            } => return self.add_column(ti, *if_not_exists, column_def),
            AlterTableOperation::DropColumn {
                column_names,
                if_exists,
                ..
            } => return drop_columns(t, column_names, *if_exists),
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => return rename_column(t, old_column_name, new_column_name),
            AlterTableOperation::RenameTable { table_name } => self.rename_table(ti, table_name),
            AlterTableOperation::AlterColumn { column_name, op } => {
                return self.alter_column(ti, column_name, op)
            }
            AlterTableOperation::AddConstraint { constraint, .. } => add_constraint(t, constraint)?,
            AlterTableOperation::DropConstraint { name, .. } => drop_constraint(t, name),
            AlterTableOperation::RenameConstraint { old_name, new_name } => {
                let (old, new) = (fold(old_name), fold(new_name));
                if let Some(pk) = t.primary_key.as_mut().filter(|pk| pk.name == old) {
                    pk.name = new;
                }
            }
            AlterTableOperation::EnableRowLevelSecurity => t.row_level_security = true,
            AlterTableOperation::DisableRowLevelSecurity => t.row_level_security = false,
            AlterTableOperation::ForceRowLevelSecurity => t.force_row_level_security = true,
            AlterTableOperation::NoForceRowLevelSecurity => t.force_row_level_security = false,
            // Triggers, rules, ownership, storage, replica identity: no shape change.
            _ => {}
        }
        Ok(())
    }

    fn add_column(&mut self, ti: usize, if_not_exists: bool, column_def: &ColumnDef) -> R<()> {
        let (tschema, tname) = (
            self.catalog.tables[ti].schema.clone(),
            self.catalog.tables[ti].name.clone(),
        );
        let mut pk = Vec::new();
        let col = self.column((&tschema, &tname), column_def, &mut pk)?;
        let t = &mut self.catalog.tables[ti];
        if t.column(&col.name).is_some() {
            if if_not_exists {
                return Ok(());
            }
            return Err(format!(
                "column {} of table {} already exists",
                col.name, t.name
            ));
        }
        t.columns.push(col);
        if !pk.is_empty() {
            t.primary_key = Some(KeyConstraint {
                name: format!("{}_pkey", t.name),
                columns: pk,
            });
        }
        let mut table = std::mem::replace(&mut self.catalog.tables[ti], Table::new("", ""));
        self.column_constraints(&mut table, column_def);
        self.catalog.tables[ti] = table;
        Ok(())
    }

    fn rename_table(&mut self, ti: usize, table_name: &RenameTableNameKind) {
        let n = match table_name {
            RenameTableNameKind::As(n) | RenameTableNameKind::To(n) => n,
        };
        let new = parts(n).pop().unwrap_or_default();
        let t = &mut self.catalog.tables[ti];
        let old = QualifiedName {
            schema: t.schema.clone(),
            name: t.name.clone(),
        };
        t.name = new.clone();
        for t in &mut self.catalog.tables {
            for fk in &mut t.foreign_keys {
                if fk.references == old {
                    fk.references.name = new.clone();
                }
            }
        }
    }

    fn alter_column(&mut self, ti: usize, column_name: &Ident, op: &AlterColumnOperation) -> R<()> {
        let c = fold(column_name);
        let new_type = match op {
            AlterColumnOperation::SetDataType { data_type, .. } => {
                Some(self.column_type(data_type)?.0)
            }
            _ => None,
        };
        let t = &mut self.catalog.tables[ti];
        let tname = t.name.clone();
        let Some(col) = t.columns.iter_mut().find(|x| x.name == c) else {
            return Err(format!(
                "column {c} of table {tname} does not exist at this point of the migrations"
            ));
        };
        match op {
            AlterColumnOperation::SetNotNull => col.nullable = false,
            AlterColumnOperation::DropNotNull => col.nullable = true,
            AlterColumnOperation::SetDefault { value } => col.default = default(value),
            AlterColumnOperation::DropDefault => col.default = None,
            AlterColumnOperation::SetDataType { .. } => {
                if let Some(t) = new_type {
                    col.ty = t;
                }
            }
            AlterColumnOperation::AddGenerated { generated_as, .. } => {
                col.identity = Some(
                    if matches!(generated_as, Some(GeneratedAs::ByDefault)) {
                        "by default"
                    } else {
                        "always"
                    }
                    .into(),
                );
                col.nullable = false;
            }
        }
        Ok(())
    }
}

fn drop_columns(t: &mut Table, column_names: &[Ident], if_exists: bool) -> R<()> {
    for c in column_names {
        let c = fold(c);
        if t.column(&c).is_none() {
            if if_exists {
                continue;
            }
            return Err(format!(
                "column {c} of table {} does not exist at this point of the migrations",
                t.name
            ));
        }
        t.columns.retain(|x| x.name != c);
        if t.primary_key
            .as_ref()
            .is_some_and(|pk| pk.columns.contains(&c))
        {
            t.primary_key = None;
        }
        t.uniques.retain(|u| !u.columns.contains(&c));
        t.foreign_keys.retain(|f| !f.columns.contains(&c));
        // Indexes on the column go with it, expression indexes too.
        t.indexes
            .retain(|i| !i.columns.iter().any(|x| names::mentions(x, &c)));
    }
    Ok(())
}

fn rename_column(t: &mut Table, old_column_name: &Ident, new_column_name: &Ident) -> R<()> {
    let (old, new) = (fold(old_column_name), fold(new_column_name));
    let Some(col) = t.columns.iter_mut().find(|c| c.name == old) else {
        return Err(format!(
            "column {old} of table {} does not exist at this point of the migrations",
            t.name
        ));
    };
    col.name = new.clone();
    let rename = |cols: &mut Vec<String>| {
        cols.iter_mut()
            .filter(|c| **c == old)
            .for_each(|c| *c = new.clone())
    };
    if let Some(pk) = &mut t.primary_key {
        rename(&mut pk.columns);
    }
    t.uniques.iter_mut().for_each(|u| rename(&mut u.columns));
    t.foreign_keys
        .iter_mut()
        .for_each(|f| rename(&mut f.columns));
    for i in &mut t.indexes {
        for k in &mut i.columns {
            *k = names::rename(k, &old, &new);
        }
    }
    Ok(())
}

/// Drops the constraint `name`. Constraint names the catalog derived may differ from the
/// server's for unnamed constraints, so an unknown name is not an error.
fn drop_constraint(t: &mut Table, name: &Ident) {
    let n = fold(name);
    if t.primary_key.as_ref().is_some_and(|pk| pk.name == n) {
        t.primary_key = None;
    }
    t.uniques.retain(|u| u.name != n);
    t.foreign_keys.retain(|f| f.name != n);
    t.checks.retain(|c| c.name != n);
}
