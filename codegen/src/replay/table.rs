//! Replaying tables: CREATE TABLE (with LIKE, INHERITS, PARTITION OF, AS SELECT) and
//! every ALTER TABLE operation the catalog tracks.

use super::*;

impl Replayer {
    pub(super) fn column(
        &self,
        (schema, table): (&str, &str),
        def: &ColumnDef,
        pk: &mut Vec<String>,
    ) -> R<Column> {
        let (ty, serial) = self.column_type(&def.data_type)?;
        let name = fold(&def.name);
        let mut col = Column {
            name: name.clone(),
            ty,
            nullable: !serial,
            default: serial.then(|| names::serial_default(schema, table, &name)),
            identity: None,
            generated: None,
            comment: None,
        };
        for o in &def.options {
            match &o.option {
                ColumnOption::NotNull => col.nullable = false,
                ColumnOption::Null => col.nullable = true,
                ColumnOption::Default(e) => col.default = default(e),
                ColumnOption::PrimaryKey(_) => {
                    col.nullable = false;
                    pk.push(name.clone());
                }
                ColumnOption::Generated {
                    generated_as,
                    generation_expr,
                    ..
                } => match (generated_as, generation_expr) {
                    (_, Some(e)) => col.generated = Some(e.to_string()),
                    (GeneratedAs::ByDefault, None) => {
                        col.identity = Some("by default".into());
                        col.nullable = false;
                    }
                    (_, None) => {
                        col.identity = Some("always".into());
                        col.nullable = false;
                    }
                },
                ColumnOption::Identity(_) => {
                    col.identity = Some("by default".into());
                    col.nullable = false;
                }
                _ => {}
            }
        }
        Ok(col)
    }

    pub(super) fn create_table(&mut self, ct: &sqlparser::ast::CreateTable) -> R<()> {
        let (schema, name) = self.schema_of(&parts(&ct.name));
        if self.catalog.table(&schema, &name).is_some() {
            if ct.if_not_exists {
                return Ok(());
            }
            return Err(format!(
                "table {schema}.{name} already exists at this point of the migrations"
            ));
        }
        if self.type_taken(&schema, &name) {
            return Err(format!(
                "type {schema}.{name} already exists at this point of the migrations, and a table's row type takes its name (PostgreSQL refuses this)"
            ));
        }
        let mut table = Table::new(&schema, &name);
        table.origin = Some(self.here.clone());
        if let Some(q) = &ct.query {
            match self.view_columns(q, &[]) {
                Some(cols) => table.columns = cols,
                None => {
                    table.unresolved = Some(format!(
                        "{}: created by CREATE TABLE ... AS SELECT",
                        self.here
                    ))
                }
            }
            self.catalog.tables.push(table);
            return Ok(());
        }
        let mut pk = Vec::new();
        // Columns that come from elsewhere go first, as in PostgreSQL.
        if let Some(parent) = &ct.partition_of {
            let i = self
                .find_table(parent)
                .ok_or_else(|| format!("partition parent {parent} does not exist"))?;
            table.columns = self.catalog.tables[i].columns.clone();
            table.primary_key = self.catalog.tables[i].primary_key.clone();
        }
        for parent in ct.inherits.iter().flatten() {
            let i = self
                .find_table(parent)
                .ok_or_else(|| format!("inherited table {parent} does not exist"))?;
            for c in self.catalog.tables[i].columns.clone() {
                if table.column(&c.name).is_none() {
                    table.columns.push(Column {
                        identity: None,
                        ..c
                    });
                }
            }
        }
        if let Some(like) = &ct.like {
            let like = match like {
                CreateTableLikeKind::Parenthesized(l) | CreateTableLikeKind::Plain(l) => l,
            };
            let i = self
                .find_table(&like.name)
                .ok_or_else(|| format!("LIKE source {} does not exist", like.name))?;
            let with_defaults = matches!(
                like.defaults,
                Some(sqlparser::ast::CreateTableLikeDefaults::Including)
            );
            for c in self.catalog.tables[i].columns.clone() {
                table.columns.push(Column {
                    default: if with_defaults { c.default } else { None },
                    identity: None,
                    generated: None,
                    comment: None,
                    ..c
                });
            }
        }
        let mut declared: Vec<String> = Vec::with_capacity(ct.columns.len());
        for def in &ct.columns {
            let col = self.column((&schema, &name), def, &mut pk)?;
            if declared.contains(&col.name) {
                return Err(format!(
                    "column {} is declared twice in table {schema}.{name} (PostgreSQL refuses this)",
                    col.name
                ));
            }
            declared.push(col.name.clone());
            match table.columns.iter_mut().find(|c| c.name == col.name) {
                // Redeclaring an inherited column merges it.
                Some(existing) => existing.nullable &= col.nullable,
                None => table.columns.push(col),
            }
        }
        if !pk.is_empty() {
            table.primary_key = Some(KeyConstraint {
                name: format!("{name}_pkey"),
                columns: pk,
            });
        }
        for def in &ct.columns {
            self.column_constraints(&mut table, def);
        }
        for c in &ct.constraints {
            add_constraint(&mut table, c)?;
        }
        self.catalog.tables.push(table);
        Ok(())
    }

    pub(super) fn column_constraints(&self, table: &mut Table, def: &ColumnDef) {
        let col = fold(&def.name);
        for o in &def.options {
            match &o.option {
                ColumnOption::Unique(_) => table.uniques.push(KeyConstraint {
                    name: o
                        .name
                        .as_ref()
                        .map_or_else(|| format!("{}_{col}_key", table.name), fold),
                    columns: vec![col.clone()],
                }),
                ColumnOption::ForeignKey(fk) => table.foreign_keys.push(ForeignKey {
                    name: o
                        .name
                        .as_ref()
                        .map_or_else(|| format!("{}_{col}_fkey", table.name), fold),
                    columns: vec![col.clone()],
                    references: self.qualified(&fk.foreign_table),
                    referenced_columns: fk.referred_columns.iter().map(fold).collect(),
                    on_delete: action(fk.on_delete),
                    on_update: action(fk.on_update),
                }),
                ColumnOption::Check(c) => table.checks.push(Check {
                    name: o
                        .name
                        .as_ref()
                        .map_or_else(|| format!("{}_{col}_check", table.name), fold),
                    expression: c.expr.to_string(),
                }),
                _ => {}
            }
        }
    }

    pub(super) fn qualified(&self, name: &ObjectName) -> QualifiedName {
        match self.find_table(name) {
            Some(i) => QualifiedName {
                schema: self.catalog.tables[i].schema.clone(),
                name: self.catalog.tables[i].name.clone(),
            },
            None => {
                let (schema, name) = self.schema_of(&parts(name));
                QualifiedName { schema, name }
            }
        }
    }
}

/// A default as PostgreSQL keeps it: `DEFAULT NULL` (cast or not) stores no default.
pub(super) fn default(e: &Expr) -> Option<String> {
    let mut inner = e;
    while let Expr::Cast { expr, .. } | Expr::Nested(expr) = inner {
        inner = expr;
    }
    match inner {
        Expr::Value(v) if v.value == sqlparser::ast::Value::Null => None,
        _ => Some(e.to_string()),
    }
}

pub(super) fn action(a: Option<ReferentialAction>) -> Option<String> {
    a.filter(|a| !matches!(a, ReferentialAction::NoAction))
        .map(|a| a.to_string())
}

pub(super) fn add_constraint(table: &mut Table, c: &TableConstraint) -> R<()> {
    let cols = |cs: &[sqlparser::ast::IndexColumn]| -> Vec<String> {
        cs.iter()
            .map(|c| match &c.column.expr {
                Expr::Identifier(i) => fold(i),
                other => other.to_string(),
            })
            .collect()
    };
    match c {
        TableConstraint::PrimaryKey(pk) => {
            let columns = cols(&pk.columns);
            for name in &columns {
                match table.columns.iter_mut().find(|x| x.name == *name) {
                    Some(col) => col.nullable = false,
                    None => {
                        return Err(format!(
                            "primary key column {name} does not exist in table {}",
                            table.name
                        ))
                    }
                }
            }
            let name = pk
                .name
                .as_ref()
                .map_or_else(|| format!("{}_pkey", table.name), fold);
            table.primary_key = Some(KeyConstraint { name, columns });
        }
        TableConstraint::Unique(u) => {
            let columns = cols(&u.columns);
            let name = u.name.as_ref().map_or_else(
                || names::object_name(&table.name, &columns.join("_"), "key"),
                fold,
            );
            table.uniques.push(KeyConstraint { name, columns });
        }
        TableConstraint::ForeignKey(fk) => {
            let columns: Vec<String> = fk.columns.iter().map(fold).collect();
            let p = parts(&fk.foreign_table);
            let references = match p.as_slice() {
                [.., s, n] => QualifiedName {
                    schema: s.clone(),
                    name: n.clone(),
                },
                [n] => QualifiedName {
                    schema: table.schema.clone(),
                    name: n.clone(),
                },
                [] => return Err("foreign key without a table".into()),
            };
            table.foreign_keys.push(ForeignKey {
                name: fk.name.as_ref().map_or_else(
                    || names::object_name(&table.name, &columns.join("_"), "fkey"),
                    fold,
                ),
                columns,
                references,
                referenced_columns: fk.referred_columns.iter().map(fold).collect(),
                on_delete: action(fk.on_delete),
                on_update: action(fk.on_update),
            });
        }
        TableConstraint::Check(ch) => {
            let columns: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
            table.checks.push(Check {
                name: ch
                    .name
                    .as_ref()
                    .map_or_else(|| names::check_name(&table.name, &ch.expr, &columns), fold),
                expression: ch.expr.to_string(),
            })
        }
        TableConstraint::PrimaryKeyUsingIndex(c) => {
            let key = using_index(table, c)?;
            for name in &key.columns {
                if let Some(col) = table.columns.iter_mut().find(|x| x.name == *name) {
                    col.nullable = false;
                }
            }
            table.primary_key = Some(key);
        }
        TableConstraint::UniqueUsingIndex(c) => {
            let key = using_index(table, c)?;
            table.uniques.push(key);
        }
        _ => {}
    }
    Ok(())
}

/// `ADD CONSTRAINT [name] PRIMARY KEY | UNIQUE USING INDEX index`: the index becomes the
/// constraint's (renamed to the constraint when it is named), and leaves the table's
/// plain indexes.
fn using_index(table: &mut Table, c: &sqlparser::ast::ConstraintUsingIndex) -> R<KeyConstraint> {
    let index = fold(&c.index_name);
    let Some(at) = table.indexes.iter().position(|i| i.name == index) else {
        return Err(format!(
            "index {index} of table {} does not exist at this point of the migrations",
            table.name
        ));
    };
    let found = table.indexes.remove(at);
    Ok(KeyConstraint {
        name: c.name.as_ref().map_or(found.name, fold),
        columns: found.columns,
    })
}
