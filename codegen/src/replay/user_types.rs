//! Replaying the user's types: CREATE TYPE (enums, composites), ALTER TYPE, and SET
//! SCHEMA of a table or type.

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
            // Range and base types: nothing the catalog maps.
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
    pub(super) fn set_schema(&mut self, m: unparsed::SetSchema) -> R<()> {
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
}
