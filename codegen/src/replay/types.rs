//! Replaying types and the rest: CREATE/ALTER TYPE, SET SCHEMA, DROP, COMMENT ON, and
//! the columns of simple views.

use super::*;

impl Replayer {
    pub(super) fn create_type(
        &mut self,
        name: &ObjectName,
        rep: Option<&UserDefinedTypeRepresentation>,
    ) -> R<()> {
        let (schema, n) = self.schema_of(&parts(name));
        if rep.is_some() {
            self.check_type_free(&schema, &n)?;
        }
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

    pub(super) fn alter_type(&mut self, name: &ObjectName, op: &AlterTypeOperation) -> R<()> {
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
                // Defaults naming the label name the new one, as in PostgreSQL, where
                // they refer to the label itself.
                let lit = |v: &str| format!("'{}'", v.replace('\'', "''"));
                let (from, to) = (lit(&r.from.value), lit(&r.to.value));
                for t in &mut self.catalog.tables {
                    for c in t.columns.iter_mut().filter(|c| {
                        !c.ty.array
                            && c.ty.schema.as_deref() == Some(schema.as_str())
                            && c.ty.name == n
                    }) {
                        if let Some(d) = c.default.as_mut() {
                            let rest = d.strip_prefix(&from).map(str::to_string);
                            if let Some(rest) = rest.filter(|r| r.is_empty() || r.starts_with("::"))
                            {
                                *d = format!("{to}{rest}");
                            }
                        }
                    }
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
    pub(super) fn set_schema(&mut self, m: opaque::SetSchema) -> R<()> {
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

    pub(super) fn each_type_mut(&mut self, mut f: impl FnMut(&mut ColumnType)) {
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

    pub(super) fn enum_mut(&mut self, schema: &str, name: &str) -> R<&mut Enum> {
        self.catalog
            .enums
            .iter_mut()
            .find(|e| e.schema == schema && e.name == name)
            .ok_or_else(|| {
                format!("enum type {name} does not exist at this point of the migrations")
            })
    }

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
