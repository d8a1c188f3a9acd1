//! Replaying DROP, COMMENT ON, and the columns of simple views.

use super::*;

impl Replayer {
    pub(super) fn drop(
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

    pub(super) fn comment(
        &mut self,
        kind: &CommentObject,
        name: &ObjectName,
        text: Option<String>,
    ) {
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
    pub(super) fn view_columns(
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
