//! Replaying migrations into the schema model, statement by statement, in order.
//!
//! Each statement is parsed with sqlparser (PostgreSQL dialect) and its effect applied
//! to the [`Catalog`]. A statement sqlparser cannot parse is passed over when it cannot
//! change the shape the model tracks, and otherwise stops generation with an error that
//! names its file, line and column and the escape hatch: a `-- pgstrata:replay <SQL>`
//! (or `-- pgstrata:replay skip`) comment on the line before it.

use pgstrata_core::catalog::{
    Catalog, Check, Column, ColumnType, Composite, Domain, Enum, ForeignKey, Index, KeyConstraint,
    Policy, QualifiedName, Table, View,
};
use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, AlterTypeAddValuePosition, AlterTypeOperation,
    ColumnDef, ColumnOption, CommentObject, CreateTableLikeKind, DataType, Expr, GeneratedAs,
    ObjectName, ObjectType, ReferentialAction, RenameTableNameKind, SchemaName, Select, SelectItem,
    SetExpr, Statement, TableConstraint, TableFactor, UserDefinedTypeRepresentation,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::diag::{Diagnostic, Errors};
use crate::opaque;
use crate::pgtype::{fold, parts, written, Written};
use crate::source::{Source, SqlText};

/// Replays every up migration, in order.
///
/// # Errors
/// Every statement that cannot be modelled, and every reference to something that does
/// not exist (ALTER of an unknown table or column), each with file, line and column.
pub fn replay(sources: &[Source]) -> Result<Catalog, Errors> {
    let mut r = Replayer::default();
    for s in sources {
        r.file(&s.up);
    }
    let Replayer {
        catalog,
        mut errors,
        ..
    } = r;
    for t in catalog.tables.iter().filter(|t| t.unresolved.is_some()) {
        if let Some(at) = &t.unresolved {
            errors.push(Diagnostic::file(
                at.split(": ").next().unwrap_or(at),
                format!("the columns of table {}.{} are not known: {}", t.schema, t.name, at.split_once(": ").map_or("", |x| x.1)),
            ).help(
                "pgstrata cannot derive columns from this query; put `-- pgstrata:replay CREATE TABLE ... (columns)` \
                 on the line before the statement to declare them",
            ));
        }
    }
    errors.finish(catalog)
}

/// The replay state.
pub struct Replayer {
    /// The model so far.
    pub catalog: Catalog,
    /// Problems so far.
    pub errors: Errors,
    search_path: Vec<String>,
    /// `file:line:column` of the statement being replayed.
    here: String,
}

impl Default for Replayer {
    fn default() -> Replayer {
        Replayer {
            catalog: Catalog::default(),
            errors: Errors::default(),
            search_path: vec!["public".into()],
            here: String::new(),
        }
    }
}

/// Where the statement being replayed is, for messages.
struct At<'a> {
    sql: &'a SqlText,
    offset: usize,
}

impl At<'_> {
    fn error(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at(
            &self.sql.display,
            &self.sql.text,
            self.sql.first_line,
            self.offset,
            message,
        )
    }
}

type R<T> = Result<T, String>;

impl Replayer {
    /// Replays one file's statements.
    pub fn file(&mut self, sql: &SqlText) {
        let mut prev_end = 0usize;
        for stmt in &sql.split.statements {
            let start = stmt.span.start as usize;
            let text = &sql.text[stmt.span.range()];
            let at = At { sql, offset: start };
            let (line, col) = pgstrata_core::line_col(&sql.text, start);
            self.here = format!("{}:{}:{col}", sql.display, line + sql.first_line - 1);
            let directive = replay_directive(sql, prev_end, start);
            prev_end = stmt.span.end as usize;
            let effective = match &directive {
                Some(d) if d.eq_ignore_ascii_case("skip") => continue,
                Some(d) => d.as_str(),
                None => text,
            };
            match Parser::parse_sql(&PostgreSqlDialect {}, effective) {
                Ok(statements) => {
                    for s in statements {
                        if let Err(message) = self.statement(&s) {
                            self.errors.push(at.error(message).help(
                                "fix the statement, or if pgstrata models it wrongly, describe its effect with \
                                 `-- pgstrata:replay <SQL>` on the line before it",
                            ));
                        }
                    }
                }
                Err(e) if directive.is_some() => {
                    self.errors.push(at.error(format!(
                        "the SQL of `-- pgstrata:replay` does not parse: {e}"
                    )));
                }
                Err(e) => {
                    if let Some(moved) = opaque::set_schema(text) {
                        if let Err(message) = self.set_schema(moved) {
                            self.errors.push(at.error(message));
                        }
                        continue;
                    }
                    if let Some(problem) = opaque::may_change_schema(text) {
                        self.errors.push(
                            at.error(format!(
                                "cannot model this statement: sqlparser does not parse it ({e}) and it {problem}"
                            ))
                            .help(
                                "tell pgstrata its effect on the schema: put `-- pgstrata:replay skip` on the line \
                                 before it if it changes no table, column or type, or `-- pgstrata:replay <SQL>` with \
                                 equivalent SQL that pgstrata parses",
                            ),
                        );
                    }
                }
            }
        }
    }

    fn schema_of(&self, p: &[String]) -> (String, String) {
        match p {
            [s, n] => (s.clone(), n.clone()),
            [.., s, n] => (s.clone(), n.clone()),
            [n] => (
                self.search_path
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "public".into()),
                n.clone(),
            ),
            [] => ("public".into(), String::new()),
        }
    }

    /// The index of the table an (optionally qualified) name refers to.
    fn find_table(&self, name: &ObjectName) -> Option<usize> {
        let p = parts(name);
        match p.as_slice() {
            [n] => self.search_path.iter().find_map(|s| {
                self.catalog
                    .tables
                    .iter()
                    .position(|t| &t.schema == s && &t.name == n)
            }),
            [.., s, n] => self
                .catalog
                .tables
                .iter()
                .position(|t| &t.schema == s && &t.name == n),
            [] => None,
        }
    }

    fn find_view(&self, name: &ObjectName) -> bool {
        let p = parts(name);
        match p.as_slice() {
            [n] => self
                .catalog
                .views
                .iter()
                .any(|v| &v.name == n && self.search_path.contains(&v.schema)),
            [.., s, n] => self
                .catalog
                .views
                .iter()
                .any(|v| &v.schema == s && &v.name == n),
            [] => false,
        }
    }

    fn table_mut(&mut self, name: &ObjectName) -> R<&mut Table> {
        match self.find_table(name) {
            Some(i) => Ok(&mut self.catalog.tables[i]),
            None => Err(format!(
                "table {name} does not exist at this point of the migrations"
            )),
        }
    }

    /// Resolves a user type name to the schema that has it.
    fn resolve_type(&self, schema: &Option<String>, name: &str) -> Option<String> {
        let has = |s: &str| {
            self.catalog
                .enums
                .iter()
                .any(|e| e.schema == s && e.name == name)
                || self
                    .catalog
                    .domains
                    .iter()
                    .any(|d| d.schema == s && d.name == name)
                || self
                    .catalog
                    .composites
                    .iter()
                    .any(|c| c.schema == s && c.name == name)
                || self
                    .catalog
                    .tables
                    .iter()
                    .any(|t| t.schema == s && t.name == name)
        };
        match schema {
            Some(s) => has(s).then(|| s.clone()),
            None => self.search_path.iter().find(|s| has(s)).cloned(),
        }
    }

    fn column_type(&self, dt: &DataType) -> R<(ColumnType, bool)> {
        match written(dt)? {
            Written::Builtin(t, serial) => Ok((t, serial.is_some())),
            Written::Named {
                schema,
                name,
                array,
                modifier,
            } => {
                let schema = match self.resolve_type(&schema, &name) {
                    Some(s) => s,
                    // An extension's type (citext, hstore, geometry...): the model does not
                    // track extensions; such types live in the schema they were created in,
                    // `public` unless written.
                    None => schema.unwrap_or_else(|| "public".into()),
                };
                Ok((
                    ColumnType {
                        schema: Some(schema),
                        name,
                        modifier,
                        array,
                    },
                    false,
                ))
            }
        }
    }

    fn column(&self, table: &str, def: &ColumnDef, pk: &mut Vec<String>) -> R<Column> {
        let (ty, serial) = self.column_type(&def.data_type)?;
        let name = fold(&def.name);
        let mut col = Column {
            name: name.clone(),
            ty,
            nullable: !serial,
            default: serial.then(|| format!("nextval('{table}_{name}_seq'::regclass)")),
            identity: None,
            generated: None,
            comment: None,
        };
        for o in &def.options {
            match &o.option {
                ColumnOption::NotNull => col.nullable = false,
                ColumnOption::Null => col.nullable = true,
                ColumnOption::Default(e) => col.default = Some(e.to_string()),
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

    fn statement(&mut self, s: &Statement) -> R<()> {
        match s {
            Statement::CreateTable(ct) => self.create_table(ct),
            Statement::AlterTable(at) => {
                if self.find_table(&at.name).is_none() && at.if_exists {
                    return Ok(());
                }
                for op in &at.operations {
                    self.alter_table(&at.name, op)?;
                }
                Ok(())
            }
            Statement::CreateType {
                name,
                representation,
            } => self.create_type(name, representation.as_ref()),
            Statement::AlterType(at) => self.alter_type(&at.name, &at.operation),
            Statement::CreateDomain(d) => {
                let (schema, n) = self.schema_of(&parts(&d.name));
                let (ty, _) = self.column_type(&d.data_type)?;
                self.catalog.domains.push(Domain {
                    schema,
                    name: n,
                    ty,
                    not_null: false,
                    default: d.default.as_ref().map(Expr::to_string),
                    comment: None,
                });
                Ok(())
            }
            Statement::DropDomain(d) => {
                let p = parts(&d.name);
                let before = self.catalog.domains.len();
                self.catalog.domains.retain(|x| {
                    !(x.name == *p.last().unwrap_or(&String::new())
                        && (p.len() == 1 || x.schema == p[0]))
                });
                if before == self.catalog.domains.len() && !d.if_exists {
                    return Err(format!(
                        "domain {} does not exist at this point of the migrations",
                        d.name
                    ));
                }
                Ok(())
            }
            Statement::CreateSchema {
                schema_name,
                if_not_exists,
                ..
            } => {
                let name = match schema_name {
                    SchemaName::Simple(n) | SchemaName::NamedAuthorization(n, _) => {
                        parts(n).join(".")
                    }
                    SchemaName::UnnamedAuthorization(i) => fold(i),
                };
                if !self.catalog.schemas.contains(&name) && name != "public" {
                    self.catalog.schemas.push(name);
                } else if !if_not_exists && name != "public" {
                    return Err(format!("schema {name} already exists"));
                }
                Ok(())
            }
            Statement::Drop {
                object_type,
                if_exists,
                names,
                cascade,
                ..
            } => {
                for n in names {
                    self.drop(*object_type, n, *if_exists, *cascade)?;
                }
                Ok(())
            }
            Statement::CreateIndex(ci) => {
                if self.find_view(&ci.table_name) {
                    // Materialized views have indexes too; the model does not list them.
                    return Ok(());
                }
                let Some(i) = self.find_table(&ci.table_name) else {
                    return Err(format!(
                        "table {} does not exist at this point of the migrations",
                        ci.table_name
                    ));
                };
                let t = &mut self.catalog.tables[i];
                let name = ci
                    .name
                    .as_ref()
                    .map(|n| parts(n).pop().unwrap_or_default())
                    .unwrap_or_else(|| format!("{}_idx", t.name));
                if ci.if_not_exists && t.indexes.iter().any(|x| x.name == name) {
                    return Ok(());
                }
                t.indexes.push(Index {
                    name,
                    unique: ci.unique,
                    columns: ci
                        .columns
                        .iter()
                        .map(|c| c.column.expr.to_string())
                        .collect(),
                    method: ci
                        .using
                        .as_ref()
                        .map_or_else(|| "btree".to_string(), |u| u.to_string().to_lowercase()),
                });
                Ok(())
            }
            Statement::CreateView(v) => {
                let (schema, name) = self.schema_of(&parts(&v.name));
                let columns = self.view_columns(&v.query, &v.columns);
                self.catalog
                    .views
                    .retain(|x| !(x.schema == schema && x.name == name));
                self.catalog.views.push(View {
                    schema,
                    name,
                    materialized: v.materialized,
                    columns,
                    comment: None,
                });
                Ok(())
            }
            Statement::Comment {
                object_type,
                object_name,
                comment,
                ..
            } => {
                self.comment(object_type, object_name, comment.clone());
                Ok(())
            }
            Statement::CreatePolicy(p) => {
                let t = self.table_mut(&p.table_name)?;
                t.policies.push(Policy {
                    name: fold(&p.name),
                    command: p
                        .command
                        .as_ref()
                        .map_or_else(|| "ALL".to_string(), |c| c.to_string().to_uppercase()),
                    using: p.using.as_ref().map(Expr::to_string),
                    with_check: p.with_check.as_ref().map(Expr::to_string),
                });
                Ok(())
            }
            Statement::DropPolicy(p) => {
                let name = fold(&p.name);
                if let Some(i) = self.find_table(&p.table_name) {
                    self.catalog.tables[i].policies.retain(|x| x.name != name);
                }
                Ok(())
            }
            Statement::Set(set) => {
                self.set(set);
                Ok(())
            }
            // Everything else (DML, functions, triggers, grants, sequences, BEGIN/COMMIT)
            // leaves the modelled shape as it is.
            _ => Ok(()),
        }
    }

    fn set(&mut self, set: &sqlparser::ast::Set) {
        if let sqlparser::ast::Set::SingleAssignment {
            variable, values, ..
        } = set
        {
            if parts(variable).last().is_some_and(|v| v == "search_path") {
                let path: Vec<String> = values
                    .iter()
                    .map(|v| match v {
                        Expr::Identifier(i) => fold(i),
                        Expr::Value(v) => v.to_string().trim_matches('\'').to_string(),
                        other => other.to_string(),
                    })
                    .filter(|s| s != "\"$user\"" && s != "$user")
                    .collect();
                if !path.is_empty() {
                    self.search_path = path;
                }
            }
        }
    }

    fn create_table(&mut self, ct: &sqlparser::ast::CreateTable) -> R<()> {
        let (schema, name) = self.schema_of(&parts(&ct.name));
        if self.catalog.table(&schema, &name).is_some() {
            if ct.if_not_exists {
                return Ok(());
            }
            return Err(format!(
                "table {schema}.{name} already exists at this point of the migrations"
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
        for def in &ct.columns {
            let col = self.column(&name, def, &mut pk)?;
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

    fn column_constraints(&self, table: &mut Table, def: &ColumnDef) {
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

    fn qualified(&self, name: &ObjectName) -> QualifiedName {
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

    fn alter_table(&mut self, name: &ObjectName, op: &AlterTableOperation) -> R<()> {
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
        match op {
            AlterTableOperation::AddColumn {
                if_not_exists,
                column_def,
                ..
            } => {
                let tname = self.catalog.tables[ti].name.clone();
                let mut pk = Vec::new();
                let col = self.column(&tname, column_def, &mut pk)?;
                let t = &mut self.catalog.tables[ti];
                if t.column(&col.name).is_some() {
                    if *if_not_exists {
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
            }
            AlterTableOperation::DropColumn {
                column_names,
                if_exists,
                ..
            } => {
                let t = &mut self.catalog.tables[ti];
                for c in column_names {
                    let c = fold(c);
                    if t.column(&c).is_none() {
                        if *if_exists {
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
                    t.indexes
                        .retain(|i| !i.columns.iter().any(|x| x.trim_matches('"') == c));
                }
            }
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => {
                let t = &mut self.catalog.tables[ti];
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
            }
            AlterTableOperation::RenameTable { table_name } => {
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
            AlterTableOperation::AlterColumn { column_name, op } => {
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
                    return Err(format!("column {c} of table {tname} does not exist at this point of the migrations"));
                };
                match op {
                    AlterColumnOperation::SetNotNull => col.nullable = false,
                    AlterColumnOperation::DropNotNull => col.nullable = true,
                    AlterColumnOperation::SetDefault { value } => {
                        col.default = Some(value.to_string())
                    }
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
            }
            AlterTableOperation::AddConstraint { constraint, .. } => {
                add_constraint(&mut self.catalog.tables[ti], constraint)?
            }
            AlterTableOperation::DropConstraint {
                name, if_exists, ..
            } => {
                let n = fold(name);
                let t = &mut self.catalog.tables[ti];
                let mut found = false;
                if t.primary_key.as_ref().is_some_and(|pk| pk.name == n) {
                    t.primary_key = None;
                    found = true;
                }
                let before = t.uniques.len() + t.foreign_keys.len() + t.checks.len();
                t.uniques.retain(|u| u.name != n);
                t.foreign_keys.retain(|f| f.name != n);
                t.checks.retain(|c| c.name != n);
                found |= before != t.uniques.len() + t.foreign_keys.len() + t.checks.len();
                // Constraint names the model derived may differ from the server's for
                // unnamed constraints; an unknown name is not an error.
                let _ = (found, if_exists);
            }
            AlterTableOperation::RenameConstraint { old_name, new_name } => {
                let (old, new) = (fold(old_name), fold(new_name));
                let t = &mut self.catalog.tables[ti];
                if let Some(pk) = t.primary_key.as_mut().filter(|pk| pk.name == old) {
                    pk.name = new;
                }
            }
            AlterTableOperation::EnableRowLevelSecurity => {
                self.catalog.tables[ti].row_level_security = true
            }
            AlterTableOperation::DisableRowLevelSecurity => {
                self.catalog.tables[ti].row_level_security = false
            }
            AlterTableOperation::ForceRowLevelSecurity => {
                self.catalog.tables[ti].force_row_level_security = true
            }
            AlterTableOperation::NoForceRowLevelSecurity => {
                self.catalog.tables[ti].force_row_level_security = false
            }
            // Triggers, rules, ownership, storage, replica identity: no shape change.
            _ => {}
        }
        Ok(())
    }

    fn create_type(
        &mut self,
        name: &ObjectName,
        rep: Option<&UserDefinedTypeRepresentation>,
    ) -> R<()> {
        let (schema, n) = self.schema_of(&parts(name));
        match rep {
            Some(UserDefinedTypeRepresentation::Enum { labels }) => {
                self.catalog.enums.push(Enum {
                    schema,
                    name: n,
                    values: labels.iter().map(|l| l.value.clone()).collect(),
                    comment: None,
                });
            }
            Some(UserDefinedTypeRepresentation::Composite { attributes }) => {
                let mut attrs = Vec::new();
                for a in attributes {
                    let (ty, _) = self.column_type(&a.data_type)?;
                    attrs.push(Column {
                        name: fold(&a.name),
                        ty,
                        nullable: true,
                        default: None,
                        identity: None,
                        generated: None,
                        comment: None,
                    });
                }
                self.catalog.composites.push(Composite {
                    schema,
                    name: n,
                    attributes: attrs,
                    comment: None,
                });
            }
            // Range and base types: nothing the model maps.
            _ => {}
        }
        Ok(())
    }

    fn alter_type(&mut self, name: &ObjectName, op: &AlterTypeOperation) -> R<()> {
        let p = parts(name);
        let (schema, n) = match p.as_slice() {
            [n] => (
                self.resolve_type(&None, n)
                    .unwrap_or_else(|| "public".into()),
                n.clone(),
            ),
            _ => self.schema_of(&p),
        };
        match op {
            AlterTypeOperation::AddValue(add) => {
                let e = self.enum_mut(&schema, &n)?;
                let v = add.value.value.clone();
                if e.values.contains(&v) {
                    if add.if_not_exists {
                        return Ok(());
                    }
                    return Err(format!("enum {n} already has the label {v:?}"));
                }
                let pos = match &add.position {
                    Some(AlterTypeAddValuePosition::Before(b)) => {
                        e.values.iter().position(|x| *x == b.value)
                    }
                    Some(AlterTypeAddValuePosition::After(a)) => {
                        e.values.iter().position(|x| *x == a.value).map(|i| i + 1)
                    }
                    None => Some(e.values.len()),
                };
                let Some(pos) = pos else {
                    return Err(format!("enum {n} has no label to place {v:?} against"));
                };
                e.values.insert(pos, v);
            }
            AlterTypeOperation::RenameValue(r) => {
                let e = self.enum_mut(&schema, &n)?;
                match e.values.iter_mut().find(|x| **x == r.from.value) {
                    Some(x) => *x = r.to.value.clone(),
                    None => return Err(format!("enum {n} has no label {:?}", r.from.value)),
                }
            }
            AlterTypeOperation::Rename(r) => {
                let new = fold(&r.new_name);
                let mut found = false;
                if let Some(e) = self
                    .catalog
                    .enums
                    .iter_mut()
                    .find(|e| e.schema == schema && e.name == n)
                {
                    e.name = new.clone();
                    found = true;
                }
                if let Some(c) = self
                    .catalog
                    .composites
                    .iter_mut()
                    .find(|e| e.schema == schema && e.name == n)
                {
                    c.name = new.clone();
                    found = true;
                }
                if !found {
                    return Err(format!(
                        "type {n} does not exist at this point of the migrations"
                    ));
                }
                self.each_type_mut(|t| {
                    if t.schema.as_deref() == Some(schema.as_str()) && t.name == n {
                        t.name = new.clone();
                    }
                });
            }
        }
        Ok(())
    }

    /// `ALTER TABLE|TYPE name SET SCHEMA other`, which sqlparser does not parse.
    fn set_schema(&mut self, m: opaque::SetSchema) -> R<()> {
        let name = ObjectName(
            m.name
                .iter()
                .map(|p| {
                    sqlparser::ast::ObjectNamePart::Identifier(sqlparser::ast::Ident::new(
                        p.clone(),
                    ))
                })
                .collect(),
        );
        if m.table {
            let Some(i) = self.find_table(&name) else {
                if m.if_exists {
                    return Ok(());
                }
                return Err(format!(
                    "table {} does not exist at this point of the migrations",
                    m.name.join(".")
                ));
            };
            let old = QualifiedName {
                schema: self.catalog.tables[i].schema.clone(),
                name: self.catalog.tables[i].name.clone(),
            };
            self.catalog.tables[i].schema = m.schema.clone();
            for t in &mut self.catalog.tables {
                for fk in &mut t.foreign_keys {
                    if fk.references == old {
                        fk.references.schema = m.schema.clone();
                    }
                }
            }
            return Ok(());
        }
        let n = m.name.last().cloned().unwrap_or_default();
        let Some(schema) = self.resolve_type(&(m.name.len() > 1).then(|| m.name[0].clone()), &n)
        else {
            if m.if_exists {
                return Ok(());
            }
            return Err(format!(
                "type {} does not exist at this point of the migrations",
                m.name.join(".")
            ));
        };
        for e in self
            .catalog
            .enums
            .iter_mut()
            .filter(|e| e.schema == schema && e.name == n)
        {
            e.schema = m.schema.clone();
        }
        for c in self
            .catalog
            .composites
            .iter_mut()
            .filter(|c| c.schema == schema && c.name == n)
        {
            c.schema = m.schema.clone();
        }
        for d in self
            .catalog
            .domains
            .iter_mut()
            .filter(|d| d.schema == schema && d.name == n)
        {
            d.schema = m.schema.clone();
        }
        let to = m.schema.clone();
        self.each_type_mut(|t| {
            if t.schema.as_deref() == Some(schema.as_str()) && t.name == n {
                t.schema = Some(to.clone());
            }
        });
        Ok(())
    }

    fn each_type_mut(&mut self, mut f: impl FnMut(&mut ColumnType)) {
        for t in &mut self.catalog.tables {
            t.columns.iter_mut().for_each(|c| f(&mut c.ty));
        }
        for c in &mut self.catalog.composites {
            c.attributes.iter_mut().for_each(|a| f(&mut a.ty));
        }
        for d in &mut self.catalog.domains {
            f(&mut d.ty);
        }
    }

    fn enum_mut(&mut self, schema: &str, name: &str) -> R<&mut Enum> {
        self.catalog
            .enums
            .iter_mut()
            .find(|e| e.schema == schema && e.name == name)
            .ok_or_else(|| {
                format!("enum type {name} does not exist at this point of the migrations")
            })
    }

    fn drop(
        &mut self,
        kind: ObjectType,
        name: &ObjectName,
        if_exists: bool,
        cascade: bool,
    ) -> R<()> {
        let p = parts(name);
        let missing = |what: &str| {
            if if_exists {
                Ok(())
            } else {
                Err(format!(
                    "{what} {name} does not exist at this point of the migrations"
                ))
            }
        };
        match kind {
            ObjectType::Table => match self.find_table(name) {
                Some(i) => {
                    self.catalog.tables.remove(i);
                }
                None => return missing("table"),
            },
            ObjectType::View | ObjectType::MaterializedView => {
                let (schema, n) = self.schema_of(&p);
                self.catalog
                    .views
                    .retain(|v| !(v.name == n && (p.len() == 1 || v.schema == schema)));
            }
            ObjectType::Index => {
                let n = p.last().cloned().unwrap_or_default();
                for t in &mut self.catalog.tables {
                    t.indexes.retain(|i| i.name != n);
                    t.uniques.retain(|u| u.name != n);
                }
            }
            ObjectType::Type => {
                let Some(schema) = self.resolve_type(
                    &(p.len() > 1).then(|| p[0].clone()),
                    p.last().map_or("", |s| s),
                ) else {
                    return missing("type");
                };
                let n = p.last().cloned().unwrap_or_default();
                self.catalog
                    .enums
                    .retain(|e| !(e.schema == schema && e.name == n));
                self.catalog
                    .composites
                    .retain(|e| !(e.schema == schema && e.name == n));
                if cascade {
                    // PostgreSQL drops the columns of that type with it.
                    let uses = |t: &ColumnType| {
                        t.schema.as_deref() == Some(schema.as_str()) && t.name == n
                    };
                    for t in &mut self.catalog.tables {
                        t.columns.retain(|c| !uses(&c.ty));
                    }
                    self.catalog.domains.retain(|d| !uses(&d.ty));
                }
            }
            ObjectType::Schema => {
                let s = p.join(".");
                if !self.catalog.schemas.contains(&s) {
                    return missing("schema");
                }
                self.catalog.schemas.retain(|x| *x != s);
                self.catalog.tables.retain(|t| t.schema != s);
                self.catalog.enums.retain(|t| t.schema != s);
                self.catalog.domains.retain(|t| t.schema != s);
                self.catalog.composites.retain(|t| t.schema != s);
                self.catalog.views.retain(|t| t.schema != s);
            }
            _ => {}
        }
        Ok(())
    }

    fn comment(&mut self, kind: &CommentObject, name: &ObjectName, text: Option<String>) {
        let p = parts(name);
        match kind {
            CommentObject::Table => {
                if let Some(i) = self.find_table(name) {
                    self.catalog.tables[i].comment = text;
                }
            }
            CommentObject::Column if p.len() >= 2 => {
                let table = ObjectName(name.0[..name.0.len() - 1].to_vec());
                if let Some(i) = self.find_table(&table) {
                    let c = p.last().cloned().unwrap_or_default();
                    if let Some(col) = self.catalog.tables[i]
                        .columns
                        .iter_mut()
                        .find(|x| x.name == c)
                    {
                        col.comment = text;
                    }
                }
            }
            CommentObject::Type | CommentObject::Domain => {
                let n = p.last().cloned().unwrap_or_default();
                if let Some(e) = self.catalog.enums.iter_mut().find(|e| e.name == n) {
                    e.comment = text.clone();
                }
                if let Some(c) = self.catalog.composites.iter_mut().find(|e| e.name == n) {
                    c.comment = text.clone();
                }
                if let Some(d) = self.catalog.domains.iter_mut().find(|e| e.name == n) {
                    d.comment = text;
                }
            }
            CommentObject::View | CommentObject::MaterializedView => {
                let n = p.last().cloned().unwrap_or_default();
                if let Some(v) = self.catalog.views.iter_mut().find(|v| v.name == n) {
                    v.comment = text;
                }
            }
            _ => {}
        }
    }

    /// Columns of a view whose query is `SELECT <columns or *> FROM <one table>`.
    fn view_columns(
        &self,
        q: &sqlparser::ast::Query,
        names: &[sqlparser::ast::ViewColumnDef],
    ) -> Option<Vec<Column>> {
        let SetExpr::Select(select) = q.body.as_ref() else {
            return None;
        };
        let Select {
            projection, from, ..
        } = select.as_ref();
        if from.len() != 1 || !from[0].joins.is_empty() {
            return None;
        }
        let TableFactor::Table { name, .. } = &from[0].relation else {
            return None;
        };
        let source: Vec<Column> = match self.find_table(name) {
            Some(i) if self.catalog.tables[i].unresolved.is_none() => {
                self.catalog.tables[i].columns.clone()
            }
            Some(_) => return None,
            None => {
                let p = parts(name);
                let n = p.last()?;
                let v = self
                    .catalog
                    .views
                    .iter()
                    .find(|v| &v.name == n && (p.len() == 1 || v.schema == p[0]))?;
                v.columns.clone()?
            }
        };
        let find = |n: &str| source.iter().find(|c| c.name == n).cloned();
        let mut cols = Vec::new();
        for item in projection {
            match item {
                SelectItem::Wildcard(_) => cols.extend(source.iter().cloned()),
                SelectItem::UnnamedExpr(Expr::Identifier(i)) => cols.push(find(&fold(i))?),
                SelectItem::ExprWithAlias {
                    expr: Expr::Identifier(i),
                    alias,
                } => cols.push(Column {
                    name: fold(alias),
                    ..find(&fold(i))?
                }),
                _ => return None,
            }
        }
        for (c, n) in cols.iter_mut().zip(names) {
            c.name = fold(&n.name);
        }
        // A view's columns are nullable as far as the catalog says.
        for c in &mut cols {
            c.nullable = true;
            c.default = None;
            c.identity = None;
            c.generated = None;
        }
        Some(cols)
    }
}

fn action(a: Option<ReferentialAction>) -> Option<String> {
    a.filter(|a| !matches!(a, ReferentialAction::NoAction))
        .map(|a| a.to_string())
}

fn add_constraint(table: &mut Table, c: &TableConstraint) -> R<()> {
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
            let name = u
                .name
                .as_ref()
                .map_or_else(|| format!("{}_{}_key", table.name, columns.join("_")), fold);
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
                    || format!("{}_{}_fkey", table.name, columns.join("_")),
                    fold,
                ),
                columns,
                references,
                referenced_columns: fk.referred_columns.iter().map(fold).collect(),
                on_delete: action(fk.on_delete),
                on_update: action(fk.on_update),
            });
        }
        TableConstraint::Check(ch) => table.checks.push(Check {
            name: ch
                .name
                .as_ref()
                .map_or_else(|| format!("{}_check", table.name), fold),
            expression: ch.expr.to_string(),
        }),
        _ => {}
    }
    Ok(())
}

/// The SQL of a `-- pgstrata:replay ...` comment between `from` and `to` (the gap before
/// a statement); several such lines are joined.
fn replay_directive(sql: &SqlText, from: usize, to: usize) -> Option<String> {
    let mut out: Option<String> = None;
    for c in &sql.split.comments {
        let (s, e) = (c.text.start as usize, c.text.end as usize);
        if s < from || e > to {
            continue;
        }
        if let Some(rest) = sql.text[s..e].trim().strip_prefix("pgstrata:replay") {
            let rest = rest.trim();
            match &mut out {
                Some(o) => {
                    o.push(' ');
                    o.push_str(rest);
                }
                None => out = Some(rest.to_string()),
            }
        }
    }
    out
}
