//! Replaying one parsed statement: the dispatch, and the statements that are small
//! enough to replay here (domains, schemas, indexes, views, policies, `SET`).

use super::*;

impl Replayer {
    pub(super) fn statement(&mut self, s: &Statement) -> R<()> {
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
            Statement::CreateDomain(d) => self.create_domain(d),
            Statement::DropDomain(d) => self.drop_domain(d),
            Statement::CreateSchema {
                schema_name,
                if_not_exists,
                ..
            } => self.create_schema(schema_name, *if_not_exists),
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
            Statement::CreateIndex(ci) => self.create_index(ci),
            Statement::CreateView(v) => self.create_view(v),
            Statement::Comment {
                object_type,
                object_name,
                comment,
                ..
            } => {
                self.comment(object_type, object_name, comment.clone());
                Ok(())
            }
            Statement::CreatePolicy(p) => self.create_policy(p),
            Statement::DropPolicy(p) => {
                let name = fold(&p.name);
                if let Some(i) = self.find_table(&p.table_name) {
                    self.catalog.tables[i].policies.retain(|x| x.name != name);
                }
                Ok(())
            }
            Statement::AlterIndex {
                name,
                operation: sqlparser::ast::AlterIndexOperation::RenameIndex { index_name },
            } => {
                self.rename_index(name, index_name);
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

    fn create_domain(&mut self, d: &sqlparser::ast::CreateDomain) -> R<()> {
        let (schema, n) = self.schema_of(&parts(&d.name));
        self.check_type_free(&schema, &n)?;
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

    fn drop_domain(&mut self, d: &sqlparser::ast::DropDomain) -> R<()> {
        let p = parts(&d.name);
        let before = self.catalog.domains.len();
        self.catalog.domains.retain(|x| {
            !(x.name == *p.last().unwrap_or(&String::new()) && (p.len() == 1 || x.schema == p[0]))
        });
        if before == self.catalog.domains.len() && !d.if_exists {
            return Err(format!(
                "domain {} does not exist at this point of the migrations",
                d.name
            ));
        }
        Ok(())
    }

    fn create_schema(&mut self, schema_name: &SchemaName, if_not_exists: bool) -> R<()> {
        let name = match schema_name {
            SchemaName::Simple(n) | SchemaName::NamedAuthorization(n, _) => parts(n).join("."),
            SchemaName::UnnamedAuthorization(i) => fold(i),
        };
        if !self.catalog.schemas.contains(&name) && name != "public" {
            self.catalog.schemas.push(name);
        } else if !if_not_exists && name != "public" {
            return Err(format!("schema {name} already exists"));
        }
        Ok(())
    }

    fn create_index(&mut self, ci: &sqlparser::ast::CreateIndex) -> R<()> {
        if self.find_view(&ci.table_name) {
            // Materialized views have indexes too; the catalog does not list them.
            return Ok(());
        }
        let Some(i) = self.find_table(&ci.table_name) else {
            return Err(format!(
                "table {} does not exist at this point of the migrations",
                ci.table_name
            ));
        };
        let keys: Vec<String> = ci
            .columns
            .iter()
            .map(|c| c.column.expr.to_string())
            .collect();
        let name = match &ci.name {
            Some(n) => parts(n).pop().unwrap_or_default(),
            None => {
                let columns: Vec<String> = ci
                    .columns
                    .iter()
                    .map(|c| names::index_column_name(&c.column.expr))
                    .collect();
                let t = &self.catalog.tables[i];
                names::index_name(&t.name, &columns, |n| self.relation_taken(&t.schema, n))
            }
        };
        let t = &mut self.catalog.tables[i];
        if ci.if_not_exists && t.indexes.iter().any(|x| x.name == name) {
            return Ok(());
        }
        t.indexes.push(Index {
            name,
            unique: ci.unique,
            columns: keys,
            method: ci
                .using
                .as_ref()
                .map_or_else(|| "btree".to_string(), |u| u.to_string().to_lowercase()),
            valid: true,
        });
        Ok(())
    }

    fn create_view(&mut self, v: &sqlparser::ast::CreateView) -> R<()> {
        let (schema, name) = self.schema_of(&parts(&v.name));
        let columns = self.view_columns(&v.query, &v.columns).or_else(|| {
            let names: Vec<String> = v.columns.iter().map(|c| fold(&c.name)).collect();
            crate::query::view_columns(&self.catalog, &v.query.to_string(), &names)
        });
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

    fn create_policy(&mut self, p: &sqlparser::ast::CreatePolicy) -> R<()> {
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

    /// Whether `name` is taken among the relations of `schema` (tables, views, indexes
    /// and the indexes behind primary keys and unique constraints).
    fn relation_taken(&self, schema: &str, name: &str) -> bool {
        let c = &self.catalog;
        c.views.iter().any(|v| v.schema == schema && v.name == name)
            || c.tables.iter().filter(|t| t.schema == schema).any(|t| {
                t.name == name
                    || t.indexes.iter().any(|i| i.name == name)
                    || t.uniques.iter().any(|u| u.name == name)
                    || t.primary_key.as_ref().is_some_and(|k| k.name == name)
            })
    }

    fn rename_index(&mut self, name: &ObjectName, index_name: &ObjectName) {
        let (schema, old) = self.schema_of(&parts(name));
        let new = parts(index_name).pop().unwrap_or_default();
        for t in self
            .catalog
            .tables
            .iter_mut()
            .filter(|t| t.schema == schema)
        {
            for i in t.indexes.iter_mut().filter(|i| i.name == old) {
                i.name = new.clone();
            }
            for k in t.uniques.iter_mut().filter(|k| k.name == old) {
                k.name = new.clone();
            }
            if let Some(pk) = t.primary_key.as_mut().filter(|k| k.name == old) {
                pk.name = new.clone();
            }
        }
    }
}
