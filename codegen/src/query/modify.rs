//! INSERT (VALUES or SELECT, ON CONFLICT), UPDATE (SET, FROM), DELETE (USING), and
//! RETURNING.

use sqlparser::ast::{
    AssignmentTarget, Delete, FromTable, Insert, ObjectName, OnConflictAction, OnInsert,
    SelectItem, SetExpr, TableFactor, TableObject, Update, UpdateTableFromKind,
};

use super::engine::Engine;
use super::scope::{Col, Rel, Scope};
use super::QueryError;
use crate::pgtype::{fold, parts};

impl Engine<'_> {
    pub(super) fn returning(
        &mut self,
        items: Option<&Vec<SelectItem>>,
        scope: &Scope,
    ) -> Result<(Vec<Col>, bool), QueryError> {
        match items {
            Some(items) => Ok((self.projection(items, scope)?, true)),
            None => Ok((Vec::new(), false)),
        }
    }

    /// A set-returning function in FROM: `unnest($1::int[])`, `generate_series(1, 10)`.
    /// Its relation is named after the function, as its one column is when the function
    /// returns a plain value (see [`aliased`]).
    pub(super) fn insert(
        &mut self,
        i: &Insert,
        parent: Option<&Scope>,
    ) -> Result<(Vec<Col>, bool), QueryError> {
        let TableObject::TableName(name) = &i.table else {
            return Err(QueryError::new(
                "INSERT into a table function cannot be checked",
            ));
        };
        let (mut rel, _) = self.target(name)?;
        if let Some(a) = &i.table_alias {
            rel.name = fold(&a.alias);
        }
        let targets: Vec<Col> = if i.columns.is_empty() {
            rel.cols.clone()
        } else {
            let mut out = Vec::new();
            for c in &i.columns {
                let n = parts(c).pop().unwrap_or_default();
                match rel.cols.iter().find(|x| x.name == n) {
                    Some(col) => out.push(col.clone()),
                    None => {
                        let mut e = QueryError::new(format!(
                            "column {n} of relation {} does not exist",
                            rel.name
                        ))
                        .at(self.offset(c));
                        if let Some(near) =
                            super::nearest(&n, rel.cols.iter().map(|c| c.name.as_str()))
                        {
                            e = e.help(format!("did you mean {near}?"));
                        }
                        return Err(e);
                    }
                }
            }
            out
        };
        let empty = Scope::default();
        let outer = parent.unwrap_or(&empty);
        if let Some(source) = &i.source {
            match source.body.as_ref() {
                SetExpr::Values(values) => {
                    for row in &values.rows {
                        if row.len() > targets.len() {
                            return Err(QueryError::new(
                                "INSERT has more expressions than target columns",
                            )
                            .at(self.offset(&row[targets.len()])));
                        }
                        for (e, col) in row.iter().zip(&targets) {
                            if matches!(e, sqlparser::ast::Expr::Identifier(id) if id.value.eq_ignore_ascii_case("default"))
                            {
                                continue;
                            }
                            let v = self.expr(e, outer)?;
                            self.assign(&v, col, e)?;
                        }
                    }
                }
                _ => {
                    let cols = self.query(source, parent)?;
                    if cols.len() > targets.len() {
                        return Err(QueryError::new(
                            "INSERT has more expressions than target columns",
                        ));
                    }
                    for (c, col) in cols.iter().zip(&targets) {
                        let v = super::engine::E {
                            ty: c.ty.clone(),
                            nullable: c.nullable,
                            name: None,
                            source: None,
                        };
                        self.assign(&v, col, source.as_ref())?;
                    }
                }
            }
        }
        let mut scope = Scope {
            rels: vec![rel.clone()],
            parent,
            outputs: Vec::new(),
        };
        if let Some(OnInsert::OnConflict(oc)) = &i.on {
            if let OnConflictAction::DoUpdate(du) = &oc.action {
                let mut excluded = rel.clone();
                excluded.name = "excluded".into();
                let mut conflict_scope = scope.clone();
                conflict_scope.rels.push(excluded);
                for a in &du.assignments {
                    self.assignment(a, &rel, &conflict_scope)?;
                }
                if let Some(w) = &du.selection {
                    self.condition(w, &conflict_scope)?;
                }
            }
        }
        scope.outputs.clear();
        self.returning(i.returning.as_ref(), &scope)
    }

    fn assignment(
        &mut self,
        a: &sqlparser::ast::Assignment,
        rel: &Rel,
        scope: &Scope,
    ) -> Result<(), QueryError> {
        let names: Vec<&ObjectName> = match &a.target {
            AssignmentTarget::ColumnName(n) => vec![n],
            AssignmentTarget::Tuple(ns) => ns.iter().collect(),
        };
        for n in names {
            let c = parts(n).pop().unwrap_or_default();
            let Some(col) = rel.cols.iter().find(|x| x.name == c) else {
                let mut e = QueryError::new(format!(
                    "column {c} of relation {} does not exist",
                    rel.name
                ))
                .at(self.offset(n));
                if let Some(near) = super::nearest(&c, rel.cols.iter().map(|c| c.name.as_str())) {
                    e = e.help(format!("did you mean {near}?"));
                }
                return Err(e);
            };
            let col = col.clone();
            if matches!(&a.value, sqlparser::ast::Expr::Identifier(id) if id.value.eq_ignore_ascii_case("default"))
            {
                continue;
            }
            let v = self.expr(&a.value, scope)?;
            self.assign(&v, &col, &a.value)?;
        }
        Ok(())
    }

    pub(super) fn update(
        &mut self,
        u: &Update,
        parent: Option<&Scope>,
    ) -> Result<(Vec<Col>, bool), QueryError> {
        let TableFactor::Table { name, alias, .. } = &u.table.relation else {
            return Err(QueryError::new("UPDATE of this target cannot be checked"));
        };
        let (mut rel, _) = self.target(name)?;
        if let Some(a) = alias {
            rel.name = fold(&a.name);
        }
        let mut scope = Scope {
            rels: vec![rel.clone()],
            parent,
            outputs: Vec::new(),
        };
        if let Some(UpdateTableFromKind::AfterSet(from) | UpdateTableFromKind::BeforeSet(from)) =
            &u.from
        {
            for twj in from {
                self.join_item(twj, &mut scope)?;
            }
        }
        for a in &u.assignments {
            self.assignment(a, &rel, &scope)?;
        }
        if let Some(w) = &u.selection {
            self.condition(w, &scope)?;
        }
        self.returning(u.returning.as_ref(), &scope)
    }

    pub(super) fn delete(
        &mut self,
        d: &Delete,
        parent: Option<&Scope>,
    ) -> Result<(Vec<Col>, bool), QueryError> {
        let from = match &d.from {
            FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
        };
        let Some(first) = from.first() else {
            return Err(QueryError::new("DELETE without a table"));
        };
        let TableFactor::Table { name, alias, .. } = &first.relation else {
            return Err(QueryError::new("DELETE from this target cannot be checked"));
        };
        let (mut rel, _) = self.target(name)?;
        if let Some(a) = alias {
            rel.name = fold(&a.name);
        }
        let mut scope = Scope {
            rels: vec![rel],
            parent,
            outputs: Vec::new(),
        };
        for twj in d.using.iter().flatten() {
            self.join_item(twj, &mut scope)?;
        }
        if let Some(w) = &d.selection {
            self.condition(w, &scope)?;
        }
        self.returning(d.returning.as_ref(), &scope)
    }
}
