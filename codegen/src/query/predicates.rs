//! Conditions SQL spells with keywords: `IS [NOT] NULL/TRUE/FALSE/UNKNOWN`,
//! `IS [NOT] DISTINCT FROM`, `IN (...)`, `IN (SELECT ...)`, `BETWEEN`,
//! `LIKE`/`ILIKE`/`SIMILAR TO`, and `op ANY/ALL (...)`.

use sqlparser::ast::Expr;

use super::coerce::{array_of, element, t};
use super::engine::{Ctx, Engine, E};
use super::scope::{Scope, Ty};
use super::QueryError;

impl Engine<'_> {
    /// The boolean a condition is, or `None` when `e` is not one of these.
    pub(super) fn predicate(&mut self, e: &Expr, scope: &Scope) -> Result<Option<E>, QueryError> {
        let boolean = |nullable| Some(E::known(t("boolean"), nullable, None));
        Ok(match e {
            Expr::IsNull(x)
            | Expr::IsNotNull(x)
            | Expr::IsTrue(x)
            | Expr::IsNotTrue(x)
            | Expr::IsFalse(x)
            | Expr::IsNotFalse(x)
            | Expr::IsUnknown(x)
            | Expr::IsNotUnknown(x) => {
                let v = self.expr(x, scope)?;
                if matches!(
                    e,
                    Expr::IsTrue(_) | Expr::IsNotTrue(_) | Expr::IsFalse(_) | Expr::IsNotFalse(_)
                ) {
                    self.expect(&v, &t("boolean"), Ctx::Exact, x.as_ref())?;
                }
                boolean(false)
            }
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
                let (x, y) = (self.expr(a, scope)?, self.expr(b, scope)?);
                self.meet(&x, &y, Ctx::Compare, e)?;
                for v in [&x, &y] {
                    if let Ty::Param(n) = v.ty {
                        self.bind(n, t("text"), true);
                    }
                }
                boolean(false)
            }
            Expr::InList { expr, list, .. } => {
                let v = self.expr(expr, scope)?;
                let mut items = Vec::new();
                for item in list {
                    items.push(self.expr(item, scope)?);
                }
                for item in &items {
                    self.meet(&v, item, Ctx::Common, e)?;
                }
                boolean(v.nullable || items.iter().any(|i| i.nullable))
            }
            Expr::InSubquery { expr, subquery, .. } => {
                Some(self.in_subquery(expr, subquery, scope, e, "IN")?)
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                let v = self.expr(expr, scope)?;
                let lo = self.expr(low, scope)?;
                let hi = self.expr(high, scope)?;
                self.meet(&v, &lo, Ctx::Compare, e)?;
                self.meet(&v, &hi, Ctx::Compare, e)?;
                boolean(v.nullable || lo.nullable || hi.nullable)
            }
            Expr::Like { expr, pattern, .. }
            | Expr::ILike { expr, pattern, .. }
            | Expr::SimilarTo { expr, pattern, .. } => {
                let v = self.expr(expr, scope)?;
                let p = self.expr(pattern, scope)?;
                self.expect(&v, &t("text"), Ctx::Compare, expr.as_ref())?;
                self.expect(&p, &t("text"), Ctx::Compare, pattern.as_ref())?;
                boolean(v.nullable || p.nullable)
            }
            Expr::AnyOp {
                left,
                compare_op,
                right,
                ..
            }
            | Expr::AllOp {
                left,
                compare_op,
                right,
            } => Some(self.any_all(e, left, compare_op, right, scope)?),
            _ => None,
        })
    }

    /// `x op ANY (array)` (or `ALL`), and `x = ANY (SELECT ...)`, which is `IN`.
    fn any_all(
        &mut self,
        e: &Expr,
        left: &Expr,
        compare_op: &sqlparser::ast::BinaryOperator,
        right: &Expr,
        scope: &Scope,
    ) -> Result<E, QueryError> {
        if let Expr::Subquery(q) = right {
            return self.in_subquery(left, q, scope, e, "ANY");
        }
        let l = self.expr(left, scope)?;
        let r = self.expr(right, scope)?;
        match (&l.ty, &r.ty) {
            (Ty::Known(k), Ty::Param(n)) => {
                let elem = self.for_param(k, Ctx::Common);
                self.bind(*n, array_of(&elem), false);
            }
            (Ty::Param(n), Ty::Known(k)) => {
                let elem = self.for_param(&element(k), Ctx::Compare);
                self.bind(*n, elem, false);
            }
            (Ty::Known(a), Ty::Known(b)) if !b.array => {
                return Err(QueryError::new(format!(
                    "the right side of {compare_op} ANY must be an array, not {}",
                    b.format()
                ))
                .help(format!("compare with an array: {}[]", a.format())));
            }
            _ => {}
        }
        Ok(E::known(t("boolean"), l.nullable || r.nullable, None))
    }

    /// `x IN (SELECT ...)` and `x = ANY (SELECT ...)`: `x` meets the subquery's column.
    fn in_subquery(
        &mut self,
        left: &Expr,
        q: &sqlparser::ast::Query,
        scope: &Scope,
        e: &Expr,
        what: &str,
    ) -> Result<E, QueryError> {
        let v = self.expr(left, scope)?;
        let cols = self.query(q, Some(scope))?;
        let Some(c) = cols.first() else {
            return Err(QueryError::new(format!(
                "the subquery of {what} returns no column"
            )));
        };
        let other = E::new(c.ty.clone(), c.nullable, None);
        self.meet(&v, &other, Ctx::Compare, e)?;
        Ok(E::known(t("boolean"), v.nullable || c.nullable, None))
    }
}
