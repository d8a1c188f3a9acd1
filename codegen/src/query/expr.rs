//! Expressions: their type, whether they can be NULL, the name PostgreSQL gives a
//! result column computed from them, and the types they give the parameters in them.
//! Column references, literals, casts, CASE, arrays and subqueries are here; conditions
//! are in `predicates`, operators in `operators`, calls in `functions`.

use sqlparser::ast::{Expr, UnaryOperator, Value};

use super::coerce::{array_of, bare, element, from_data_type, pg_name, t};
use super::engine::{Ctx, Engine, E};
use super::scope::{Col, Scope, Ty};
use super::QueryError;
use crate::pgtype::fold;

impl Engine<'_> {
    /// The type and nullability of an expression.
    pub(super) fn expr(&mut self, e: &Expr, scope: &Scope) -> Result<E, QueryError> {
        let at = self.offset(e);
        self.expr_inner(e, scope).map_err(|err| err.at(at))
    }

    fn expr_inner(&mut self, e: &Expr, scope: &Scope) -> Result<E, QueryError> {
        if let Some(v) = self.predicate(e, scope)? {
            return Ok(v);
        }
        if let Some(v) = self.keyword_call(e, scope)? {
            return Ok(v);
        }
        Ok(match e {
            Expr::Identifier(i) => {
                let name = fold(i);
                let col = match scope.lookup(None, &name) {
                    Ok(c) => c,
                    Err(err) => match scope.outputs.iter().find(|c| c.name == name) {
                        Some(c) => c.clone(),
                        None => return Err(err),
                    },
                };
                column(col)
            }
            Expr::CompoundIdentifier(ids) => {
                let names: Vec<String> = ids.iter().map(fold).collect();
                let [.., q, c] = names.as_slice() else {
                    return Err(QueryError::new("an empty name"));
                };
                column(scope.lookup(Some(q), c)?)
            }
            Expr::Nested(inner) | Expr::Collate { expr: inner, .. } => self.expr(inner, scope)?,
            Expr::Value(v) => self.value(&v.value)?,
            Expr::TypedString(ts) => {
                let ty = from_data_type(self.catalog, &self.search_path, &ts.data_type)
                    .map_err(QueryError::new)?;
                let name = pg_name(self.catalog, &ty);
                E::known(ty, false, Some(&name))
            }
            Expr::Interval(_) => E::known(t("interval"), false, Some("interval")),
            Expr::Cast {
                expr, data_type, ..
            } => {
                let ty = from_data_type(self.catalog, &self.search_path, data_type)
                    .map_err(QueryError::new)?;
                let inner = self.expr(expr, scope)?;
                if let Ty::Param(n) = inner.ty {
                    self.bind(n, bare(&ty), false);
                }
                let name = inner
                    .name
                    .clone()
                    .unwrap_or_else(|| pg_name(self.catalog, &ty));
                E {
                    ty: Ty::Known(ty),
                    nullable: inner.nullable,
                    name: Some(name),
                    source: None,
                }
            }
            Expr::BinaryOp { left, op, right } => self.binary(e, left, op, right, scope)?,
            Expr::UnaryOp { op, expr } => {
                let v = self.expr(expr, scope)?;
                match op {
                    UnaryOperator::Not => {
                        self.expect(&v, &t("boolean"), Ctx::Exact, expr.as_ref())?;
                        E::known(t("boolean"), v.nullable, None)
                    }
                    _ => E {
                        name: None,
                        source: None,
                        ..v
                    },
                }
            }
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.case(
                operand.as_deref(),
                conditions,
                else_result.as_deref(),
                scope,
            )?,
            Expr::Exists { subquery, .. } => {
                self.query(subquery, Some(scope))?;
                E::known(t("boolean"), false, Some("exists"))
            }
            Expr::Subquery(q) => self.scalar_subquery(q, scope)?,
            Expr::Array(a) => self.array_constructor(&a.elem, scope)?,
            Expr::Function(f) => self.function(f, scope)?,
            Expr::CompoundFieldAccess { root, access_chain } => {
                let v = self.expr(root, scope)?;
                let ty = match (&v.ty, access_chain.first()) {
                    (Ty::Known(k), Some(sqlparser::ast::AccessExpr::Subscript(_))) if k.array => {
                        Ty::Known(element(k))
                    }
                    (ty, _) => ty.clone(),
                };
                // A subscript out of range, or a field of a NULL, is NULL.
                E {
                    ty,
                    nullable: true,
                    source: None,
                    ..v
                }
            }
            Expr::Tuple(items) => {
                for x in items {
                    self.expr(x, scope)?;
                }
                E::new(Ty::Unknown, false, Some("row"))
            }
            other => {
                return Err(QueryError::new(format!(
                    "pgstrata cannot type this expression: {other}"
                ))
                .help("cast it to say its type, or compute it in the application"))
            }
        })
    }

    /// `ARRAY[...]`: an array of its elements' common type.
    fn array_constructor(&mut self, elems: &[Expr], scope: &Scope) -> Result<E, QueryError> {
        let mut ty = Ty::Null;
        for x in elems {
            let v = self.expr(x, scope)?;
            ty = self.unite(&ty, &v.ty)?;
        }
        let ty = match ty {
            Ty::Known(k) => Ty::Known(array_of(&bare(&k))),
            Ty::Param(n) => match self.param_ty(n) {
                Some(k) => Ty::Known(array_of(&k)),
                None => Ty::Unknown,
            },
            _ => Ty::Known(array_of(&t("text"))),
        };
        Ok(E::new(ty, false, Some("array")))
    }

    fn case(
        &mut self,
        operand: Option<&Expr>,
        conditions: &[sqlparser::ast::CaseWhen],
        else_result: Option<&Expr>,
        scope: &Scope,
    ) -> Result<E, QueryError> {
        let op = match operand {
            Some(o) => Some(self.expr(o, scope)?),
            None => None,
        };
        let mut ty = Ty::Null;
        let mut nullable = else_result.is_none();
        for w in conditions {
            let c = self.expr(&w.condition, scope)?;
            match &op {
                Some(o) => self.meet(o, &c, Ctx::Compare, &w.condition)?,
                None => self.expect(&c, &t("boolean"), Ctx::Exact, &w.condition)?,
            }
            let r = self.expr(&w.result, scope)?;
            nullable |= r.nullable;
            ty = self.unite(&ty, &r.ty)?;
        }
        if let Some(el) = else_result {
            let r = self.expr(el, scope)?;
            nullable |= r.nullable;
            ty = self.unite(&ty, &r.ty)?;
        }
        Ok(E::new(ty, nullable, Some("case")))
    }

    /// `(SELECT ...)` used as a value.
    fn scalar_subquery(
        &mut self,
        q: &sqlparser::ast::Query,
        scope: &Scope,
    ) -> Result<E, QueryError> {
        let outer_grouped = std::mem::replace(&mut self.grouped, false);
        let cols = self.query(q, Some(scope));
        self.grouped = outer_grouped;
        let cols = cols?;
        let [c] = cols.as_slice() else {
            return Err(QueryError::new(format!(
                "a subquery used as a value must return one column, not {}",
                cols.len()
            )));
        };
        // An aggregate without GROUP BY always returns one row; any other subquery may
        // return none, which is NULL.
        Ok(E::new(
            c.ty.clone(),
            c.nullable || !one_row(q),
            Some(&c.name),
        ))
    }

    fn value(&mut self, v: &Value) -> Result<E, QueryError> {
        Ok(match v {
            Value::Number(n, _) => {
                let text = n.to_string();
                let ty = if text.contains(['.', 'e', 'E']) {
                    "numeric"
                } else if text.parse::<i32>().is_ok() {
                    "integer"
                } else if text.parse::<i64>().is_ok() {
                    "bigint"
                } else {
                    "numeric"
                };
                E::known(t(ty), false, None)
            }
            Value::Boolean(_) => E::known(t("boolean"), false, None),
            Value::Null => E::new(Ty::Null, true, None),
            Value::Placeholder(p) => {
                let n: usize = p
                    .strip_prefix('$')
                    .and_then(|d| d.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        QueryError::new(format!("{p} is not a parameter: write $1, $2, ..."))
                    })?;
                if self.params.len() < n {
                    self.params.resize(n, Default::default());
                }
                self.params[n - 1].used = true;
                E::new(Ty::Param(n - 1), false, None)
            }
            _ => E::new(Ty::Unknown, false, None),
        })
    }
}

/// A column read as an expression.
fn column(col: Col) -> E {
    E {
        ty: col.ty,
        nullable: col.nullable,
        name: Some(col.name),
        source: col.source,
    }
}

/// Whether a query returns exactly one row: a SELECT of aggregates only, with no GROUP
/// BY, HAVING, LIMIT or OFFSET.
fn one_row(q: &sqlparser::ast::Query) -> bool {
    use sqlparser::ast::{SelectItem, SetExpr};
    const AGGREGATES: &[&str] = &[
        "count",
        "sum",
        "avg",
        "min",
        "max",
        "array_agg",
        "json_agg",
        "jsonb_agg",
        "string_agg",
        "bool_and",
        "bool_or",
        "every",
    ];
    fn aggregate(e: &Expr) -> bool {
        match e {
            Expr::Function(f) if f.over.is_none() => {
                f.name.0.last().is_some_and(|p| {
                    AGGREGATES.contains(&p.to_string().to_ascii_lowercase().as_str())
                })
            }
            Expr::Nested(x) | Expr::Cast { expr: x, .. } => aggregate(x),
            _ => false,
        }
    }
    let SetExpr::Select(s) = q.body.as_ref() else {
        return false;
    };
    q.limit_clause.is_none()
        && q.fetch.is_none()
        && s.having.is_none()
        && matches!(&s.group_by, sqlparser::ast::GroupByExpr::Expressions(e, _) if e.is_empty())
        && !s.projection.is_empty()
        && s.projection.iter().all(|i| match i {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => aggregate(e),
            _ => false,
        })
}

/// An expression without its parentheses.
pub(super) fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => strip(inner),
        other => other,
    }
}
