//! SELECT: CTEs, set operations, VALUES, the select list, WHERE (and the columns it
//! makes non-NULL), GROUP BY, HAVING, ORDER BY, LIMIT.

use sqlparser::ast::{Cte, OrderBy, OrderByKind, Query, Select, SelectItem, SetExpr};

use super::coerce::{bare, base, t};
use super::engine::{Ctx, Engine};
use super::scope::{Col, Scope, Ty};
use super::QueryError;
use crate::pgtype::{fold, parts};

impl Engine<'_> {
    pub(super) fn query(
        &mut self,
        q: &Query,
        parent: Option<&Scope>,
    ) -> Result<Vec<Col>, QueryError> {
        let depth = self.ctes.len();
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                let name = fold(&cte.alias.name);
                if with.recursive {
                    // The non-recursive part decides the columns the recursive part sees.
                    if let SetExpr::SetOperation { left, .. } = cte.query.body.as_ref() {
                        let mut seed = self.set_expr(left, parent, None)?;
                        for (c, n) in seed.iter_mut().zip(&cte.alias.columns) {
                            c.name = fold(&n.name);
                        }
                        self.ctes.push((name.clone(), seed));
                    }
                }
                let cols = self.cte(cte, parent)?;
                self.ctes.push((name, cols));
            }
        }
        let cols = self.set_expr(&q.body, parent, q.order_by.as_ref());
        self.ctes.truncate(depth.max(self.ctes.len().min(depth)));
        let cols = cols?;
        if let Some(limit) = &q.limit_clause {
            let empty = Scope::default();
            let scope = parent.unwrap_or(&empty);
            let (limit, offset) = match limit {
                sqlparser::ast::LimitClause::LimitOffset { limit, offset, .. } => {
                    (limit.as_ref(), offset.as_ref().map(|o| &o.value))
                }
                sqlparser::ast::LimitClause::OffsetCommaLimit { offset, limit } => {
                    (Some(limit), Some(offset))
                }
            };
            for e in limit.into_iter().chain(offset) {
                let v = self.expr(e, scope)?;
                self.expect(&v, &t("bigint"), Ctx::Exact, e)?;
            }
        }
        self.ctes.truncate(depth);
        Ok(cols)
    }

    fn cte(&mut self, cte: &Cte, parent: Option<&Scope>) -> Result<Vec<Col>, QueryError> {
        let mut cols = match cte.query.body.as_ref() {
            SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) => {
                self.statement(s, parent)?.0
            }
            _ => self.query(&cte.query, parent)?,
        };
        for (c, name) in cols.iter_mut().zip(&cte.alias.columns) {
            c.name = fold(&name.name);
        }
        Ok(cols)
    }

    fn set_expr(
        &mut self,
        body: &SetExpr,
        parent: Option<&Scope>,
        order_by: Option<&OrderBy>,
    ) -> Result<Vec<Col>, QueryError> {
        match body {
            SetExpr::Select(s) => self.select(s, parent, order_by),
            SetExpr::Query(q) => self.query(q, parent),
            SetExpr::SetOperation { left, right, .. } => {
                let l = self.set_expr(left, parent, None)?;
                let r = self.set_expr(right, parent, None)?;
                if l.len() != r.len() {
                    return Err(QueryError::new(format!(
                        "each side of a set operation must have the same number of columns: {} and {}",
                        l.len(),
                        r.len()
                    ))
                    .at(self.offset(body)));
                }
                let mut out = Vec::with_capacity(l.len());
                for (a, b) in l.into_iter().zip(r) {
                    let ty = self
                        .unite(&a.ty, &b.ty)
                        .map_err(|e| e.at(self.offset(body)))?;
                    out.push(Col {
                        ty,
                        nullable: a.nullable || b.nullable,
                        source: None,
                        ..a
                    });
                }
                if let Some(ob) = order_by {
                    let scope = Scope {
                        outputs: out.clone(),
                        parent,
                        ..Scope::default()
                    };
                    self.order_by(ob, &scope)?;
                }
                Ok(out)
            }
            SetExpr::Values(v) => {
                let empty = Scope::default();
                let scope = parent.unwrap_or(&empty);
                let mut out: Vec<Col> = Vec::new();
                for row in &v.rows {
                    for (i, e) in row.iter().enumerate() {
                        let v = self.expr(e, scope)?;
                        match out.get_mut(i) {
                            Some(c) => {
                                c.ty = self.unite(&c.ty, &v.ty)?;
                                c.nullable |= v.nullable;
                            }
                            None => out.push(Col {
                                name: format!("column{}", i + 1),
                                ty: v.ty,
                                nullable: v.nullable,
                                source: None,
                            }),
                        }
                    }
                }
                Ok(out)
            }
            SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) => {
                Ok(self.statement(s, parent)?.0)
            }
            other => Err(
                QueryError::new(format!("cannot check this kind of query: {other}"))
                    .at(self.offset(other)),
            ),
        }
    }

    /// The common type of two branches (UNION, VALUES rows, CASE).
    pub(super) fn unite(&mut self, a: &Ty, b: &Ty) -> Result<Ty, QueryError> {
        Ok(match (a, b) {
            (Ty::Known(x), Ty::Known(y)) => {
                let (x, y) = (base(self.catalog, x), base(self.catalog, y));
                match super::coerce::common(&x, &y) {
                    Some(c) => Ty::Known(c),
                    None => {
                        return Err(QueryError::new(format!(
                            "types {} and {} cannot be matched",
                            x.format(),
                            y.format()
                        ))
                        .help("cast one side to the other's type"))
                    }
                }
            }
            (Ty::Known(k), Ty::Param(n)) | (Ty::Param(n), Ty::Known(k)) => {
                self.bind(*n, bare(&base(self.catalog, k)), false);
                Ty::Known(k.clone())
            }
            (Ty::Known(k), _) | (_, Ty::Known(k)) => Ty::Known(k.clone()),
            (Ty::Param(n), _) | (_, Ty::Param(n)) => Ty::Param(*n),
            (Ty::Unknown, _) | (_, Ty::Unknown) => Ty::Unknown,
            (Ty::Null, Ty::Null) => Ty::Null,
        })
    }

    fn select(
        &mut self,
        s: &Select,
        parent: Option<&Scope>,
        order_by: Option<&OrderBy>,
    ) -> Result<Vec<Col>, QueryError> {
        let mut scope = Scope {
            parent,
            ..Scope::default()
        };
        for twj in &s.from {
            self.join_item(twj, &mut scope)?;
        }
        if let Some(w) = &s.selection {
            self.condition(w, &scope)?;
            // A column the WHERE clause compares (with an operator that yields NULL on
            // NULL) or tests IS NOT NULL is never NULL in the rows it lets through.
            let mut facts = Vec::new();
            not_null_facts(w, &mut facts);
            for (q, c) in facts {
                let hits: Vec<usize> = scope
                    .rels
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| {
                        q.as_ref().is_none_or(|q| &r.name == q)
                            && r.cols.iter().any(|x| x.name == c)
                    })
                    .map(|(i, _)| i)
                    .collect();
                if let [i] = hits.as_slice() {
                    for col in scope.rels[*i].cols.iter_mut().filter(|x| x.name == c) {
                        col.nullable = false;
                    }
                }
            }
        }
        let grouped =
            !matches!(&s.group_by, sqlparser::ast::GroupByExpr::Expressions(e, _) if e.is_empty());
        let outer_grouped = std::mem::replace(&mut self.grouped, grouped);
        let out = self.projection(&s.projection, &scope);
        self.grouped = outer_grouped;
        let out = out?;
        scope.outputs = out.clone();
        if let sqlparser::ast::GroupByExpr::Expressions(exprs, _) = &s.group_by {
            for e in exprs {
                self.expr(e, &scope)?;
            }
        }
        if let Some(h) = &s.having {
            let outer_grouped = std::mem::replace(&mut self.grouped, true);
            let r = self.condition(h, &scope);
            self.grouped = outer_grouped;
            r?;
        }
        if let Some(sqlparser::ast::Distinct::On(exprs)) = &s.distinct {
            for e in exprs {
                self.expr(e, &scope)?;
            }
        }
        if let Some(ob) = order_by {
            self.order_by(ob, &scope)?;
        }
        Ok(out)
    }

    fn order_by(&mut self, ob: &OrderBy, scope: &Scope) -> Result<(), QueryError> {
        if let OrderByKind::Expressions(list) = &ob.kind {
            for o in list {
                self.expr(&o.expr, scope)?;
            }
        }
        Ok(())
    }

    /// A WHERE / ON / HAVING condition.
    pub(super) fn condition(
        &mut self,
        e: &sqlparser::ast::Expr,
        scope: &Scope,
    ) -> Result<(), QueryError> {
        let v = self.expr(e, scope)?;
        self.expect(&v, &t("boolean"), Ctx::Exact, e)
    }

    pub(super) fn projection(
        &mut self,
        items: &[SelectItem],
        scope: &Scope,
    ) -> Result<Vec<Col>, QueryError> {
        let mut out = Vec::new();
        for item in items {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    let v = self.expr(e, scope)?;
                    out.push(Col {
                        name: v.name.unwrap_or_else(|| "?column?".to_string()),
                        ty: v.ty,
                        nullable: v.nullable,
                        source: v.source,
                    });
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let v = self.expr(expr, scope)?;
                    out.push(Col {
                        name: fold(alias),
                        ty: v.ty,
                        nullable: v.nullable,
                        source: v.source,
                    });
                }
                SelectItem::Wildcard(_) => {
                    if scope.rels.is_empty() {
                        return Err(QueryError::new("* with no FROM clause").at(self.offset(item)));
                    }
                    for r in &scope.rels {
                        out.extend(r.cols.iter().cloned());
                    }
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    let sqlparser::ast::SelectItemQualifiedWildcardKind::ObjectName(name) = kind
                    else {
                        return Err(
                            QueryError::new(format!("cannot check {item}")).at(self.offset(item))
                        );
                    };
                    let q = parts(name).pop().unwrap_or_default();
                    match scope.rels.iter().find(|r| r.name == q) {
                        Some(r) => out.extend(r.cols.iter().cloned()),
                        None => {
                            return Err(QueryError::new(format!(
                                "missing FROM-clause entry for table {q}"
                            ))
                            .at(self.offset(item)))
                        }
                    }
                }
                other => {
                    return Err(
                        QueryError::new(format!("cannot check this select item: {other}"))
                            .at(self.offset(other)),
                    )
                }
            }
        }
        Ok(out)
    }
}

/// Columns that a WHERE clause makes non-NULL in the rows it keeps: those tested IS NOT
/// NULL, or compared by an operator that yields NULL (so: false) on NULL, in its
/// top-level AND conjuncts. Each is (qualifier, column).
fn not_null_facts(e: &sqlparser::ast::Expr, out: &mut Vec<(Option<String>, String)>) {
    use sqlparser::ast::{BinaryOperator as B, Expr};
    fn column(e: &Expr) -> Option<(Option<String>, String)> {
        match e {
            Expr::Identifier(i) => Some((None, fold(i))),
            Expr::CompoundIdentifier(ids) => match ids.as_slice() {
                [.., q, c] => Some((Some(fold(q)), fold(c))),
                _ => None,
            },
            Expr::Nested(inner) => column(inner),
            Expr::Cast { expr, .. } => column(expr),
            _ => None,
        }
    }
    match e {
        Expr::Nested(inner) => not_null_facts(inner, out),
        Expr::BinaryOp {
            left,
            op: B::And,
            right,
        } => {
            not_null_facts(left, out);
            not_null_facts(right, out);
        }
        Expr::IsNotNull(x) => out.extend(column(x)),
        Expr::BinaryOp {
            left,
            op:
                B::Eq
                | B::NotEq
                | B::Lt
                | B::Gt
                | B::LtEq
                | B::GtEq
                | B::AtArrow
                | B::ArrowAt
                | B::Question
                | B::QuestionAnd
                | B::QuestionPipe
                | B::AtAt
                | B::PGRegexMatch
                | B::PGRegexIMatch
                | B::PGLikeMatch
                | B::PGILikeMatch,
            right,
        } => {
            out.extend(column(left));
            out.extend(column(right));
        }
        Expr::Like {
            expr,
            negated: false,
            ..
        }
        | Expr::ILike {
            expr,
            negated: false,
            ..
        } => out.extend(column(expr)),
        Expr::InList {
            expr,
            negated: false,
            ..
        }
        | Expr::InSubquery {
            expr,
            negated: false,
            ..
        } => out.extend(column(expr)),
        Expr::Between {
            expr,
            negated: false,
            ..
        } => out.extend(column(expr)),
        Expr::AnyOp { left, .. } => out.extend(column(left)),
        Expr::IsTrue(x) => out.extend(column(x)),
        _ => {}
    }
}
