//! Expressions: their type, whether they can be NULL, the name PostgreSQL gives a
//! result column computed from them, and the types they give the parameters in them.

use pgstrata_core::catalog::{ColumnType, QualifiedName};
use sqlparser::ast::{
    BinaryOperator, CastKind, DateTimeField, Expr, Function, FunctionArg, FunctionArgExpr,
    FunctionArguments, Spanned, UnaryOperator, Value,
};

use super::coerce::{
    array_of, bare, base, common, element, from_data_type, is_numeric, is_string, pg_name, t,
};
use super::infer::Engine;
use super::scope::{Col, Scope, Ty};
use super::QueryError;
use crate::pgtype::fold;

/// A typed expression.
#[derive(Clone, Debug)]
pub(super) struct E {
    pub ty: Ty,
    pub nullable: bool,
    /// The result column name PostgreSQL would give it (`None`: `?column?`).
    pub name: Option<String>,
    /// The table column it is.
    pub source: Option<(QualifiedName, String)>,
}

impl E {
    fn new(ty: Ty, nullable: bool, name: Option<&str>) -> E {
        E {
            ty,
            nullable,
            name: name.map(str::to_string),
            source: None,
        }
    }

    fn known(ty: ColumnType, nullable: bool, name: Option<&str>) -> E {
        E::new(Ty::Known(ty), nullable, name)
    }
}

/// How a parameter meets a type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ctx {
    /// Compared with it: PostgreSQL resolves the operator, so a `varchar` (or a domain
    /// over one) makes the parameter `text`.
    Compare,
    /// Among the values of `IN (...)`, `COALESCE`: the common type, domains as their base.
    Common,
    /// Exactly this type (casts, `LIMIT`, function arguments).
    Exact,
}

impl Engine<'_> {
    pub(super) fn bind(&mut self, n: usize, ty: ColumnType, nullable: bool) {
        if self.params.len() <= n {
            self.params.resize(n + 1, Default::default());
        }
        let slot = &mut self.params[n];
        slot.used = true;
        if slot.ty.is_none() {
            slot.ty = Some(ty);
        }
        slot.nullable |= nullable;
    }

    fn param_ty(&self, n: usize) -> Option<ColumnType> {
        self.params.get(n).and_then(|s| s.ty.clone())
    }

    /// The type a parameter takes from `ty` in context `ctx`.
    fn for_param(&self, ty: &ColumnType, ctx: Ctx) -> ColumnType {
        let b = bare(&base(self.catalog, ty));
        match ctx {
            Ctx::Compare
                if b.schema.is_none()
                    && !b.array
                    && matches!(b.name.as_str(), "character varying") =>
            {
                t("text")
            }
            Ctx::Compare | Ctx::Common => b,
            Ctx::Exact => bare(ty),
        }
    }

    /// Makes `v` meet type `ty`: binds a parameter, or checks the types meet.
    pub(super) fn expect(
        &mut self,
        v: &E,
        ty: &ColumnType,
        ctx: Ctx,
        at: &impl Spanned,
    ) -> Result<(), QueryError> {
        match &v.ty {
            Ty::Param(n) => {
                let p = self.for_param(ty, ctx);
                self.bind(*n, p, false);
                Ok(())
            }
            Ty::Known(k) if !self.comparable(k, ty) => Err(QueryError::new(format!(
                "{} is {}, where {} is expected",
                v.name.as_deref().unwrap_or("the expression"),
                k.format(),
                ty.format()
            ))
            .help(format!("cast it: ...::{}", ty.format()))
            .at(self.offset(at))),
            _ => Ok(()),
        }
    }

    /// Assigning `v` to a column (INSERT, UPDATE SET): a parameter takes the column's type,
    /// domain included, and may be NULL when the column may.
    pub(super) fn assign(&mut self, v: &E, col: &Col, at: &impl Spanned) -> Result<(), QueryError> {
        let Ty::Known(target) = &col.ty else {
            return Ok(());
        };
        match &v.ty {
            Ty::Param(n) => {
                self.bind(*n, bare(target), col.nullable);
                Ok(())
            }
            Ty::Known(k) if !self.assignable(k, target) => Err(QueryError::new(format!(
                "column {} is of type {} but the value is of type {}",
                col.name,
                target.format(),
                k.format()
            ))
            .help(format!("cast the value: ...::{}", target.format()))
            .at(self.offset(at))),
            _ => Ok(()),
        }
    }

    fn comparable(&self, a: &ColumnType, b: &ColumnType) -> bool {
        let (a, b) = (bare(&base(self.catalog, a)), bare(&base(self.catalog, b)));
        if a == b || common(&a, &b).is_some() {
            return true;
        }
        let json = |x: &ColumnType| {
            !x.array && x.schema.is_none() && matches!(x.name.as_str(), "json" | "jsonb")
        };
        json(&a) && json(&b)
    }

    fn assignable(&self, value: &ColumnType, target: &ColumnType) -> bool {
        let target_base = bare(&base(self.catalog, target));
        // Anything converts to a string type on assignment (PostgreSQL's I/O casts).
        self.comparable(value, target) || (is_string(&target_base) && !value.array)
    }

    /// The type and nullability of an expression.
    pub(super) fn expr(&mut self, e: &Expr, scope: &Scope) -> Result<E, QueryError> {
        let at = self.offset(e);
        self.expr_inner(e, scope).map_err(|err| err.at(at))
    }

    fn expr_inner(&mut self, e: &Expr, scope: &Scope) -> Result<E, QueryError> {
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
                E {
                    ty: col.ty,
                    nullable: col.nullable,
                    name: Some(col.name),
                    source: col.source,
                }
            }
            Expr::CompoundIdentifier(ids) => {
                let names: Vec<String> = ids.iter().map(fold).collect();
                let (q, c) = match names.as_slice() {
                    [.., q, c] => (q.clone(), c.clone()),
                    _ => return Err(QueryError::new("an empty name")),
                };
                let col = scope.lookup(Some(&q), &c)?;
                E {
                    ty: col.ty,
                    nullable: col.nullable,
                    name: Some(col.name),
                    source: col.source,
                }
            }
            Expr::Nested(inner) => self.expr(inner, scope)?,
            Expr::Value(v) => self.value(&v.value)?,
            Expr::TypedString(ts) => {
                let ty = from_data_type(self.catalog, &self.search_path, &ts.data_type)
                    .map_err(QueryError::new)?;
                let name = pg_name(self.catalog, &ty);
                E::known(ty, false, Some(&name))
            }
            Expr::Interval(_) => E::known(t("interval"), false, Some("interval")),
            Expr::Cast {
                kind,
                expr,
                data_type,
                ..
            } => {
                let ty = from_data_type(self.catalog, &self.search_path, data_type)
                    .map_err(QueryError::new)?;
                let inner = self.expr(expr, scope)?;
                if let Ty::Param(n) = inner.ty {
                    self.bind(n, bare(&ty), false);
                }
                let _ = kind == &CastKind::Cast;
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
                E::known(t("boolean"), false, None)
            }
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
                let (x, y) = (self.expr(a, scope)?, self.expr(b, scope)?);
                self.meet(&x, &y, Ctx::Compare, e)?;
                for v in [&x, &y] {
                    if let Ty::Param(n) = v.ty {
                        self.bind(n, t("text"), true);
                    }
                }
                E::known(t("boolean"), false, None)
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
                let nullable = v.nullable || items.iter().any(|i| i.nullable);
                E::known(t("boolean"), nullable, None)
            }
            Expr::InSubquery { expr, subquery, .. } => {
                self.in_subquery(expr, subquery, scope, e, "IN")?
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                let v = self.expr(expr, scope)?;
                let lo = self.expr(low, scope)?;
                let hi = self.expr(high, scope)?;
                self.meet(&v, &lo, Ctx::Compare, e)?;
                self.meet(&v, &hi, Ctx::Compare, e)?;
                E::known(t("boolean"), v.nullable || lo.nullable || hi.nullable, None)
            }
            Expr::Like { expr, pattern, .. }
            | Expr::ILike { expr, pattern, .. }
            | Expr::SimilarTo { expr, pattern, .. } => {
                let v = self.expr(expr, scope)?;
                let p = self.expr(pattern, scope)?;
                self.expect(&v, &t("text"), Ctx::Compare, expr.as_ref())?;
                self.expect(&p, &t("text"), Ctx::Compare, pattern.as_ref())?;
                E::known(t("boolean"), v.nullable || p.nullable, None)
            }
            Expr::AnyOp { left, right, .. } | Expr::AllOp { left, right, .. }
                if matches!(right.as_ref(), Expr::Subquery(_)) =>
            {
                // `= ANY (SELECT ...)` is IN (SELECT ...).
                let Expr::Subquery(q) = right.as_ref() else {
                    return Err(QueryError::new("expected a subquery"));
                };
                self.in_subquery(left, q, scope, e, "ANY")?
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
            } => {
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
                E::known(t("boolean"), l.nullable || r.nullable, None)
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
            } => {
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
                E::new(ty, nullable, Some("case"))
            }
            Expr::Exists { subquery, .. } => {
                self.query(subquery, Some(scope))?;
                E::known(t("boolean"), false, Some("exists"))
            }
            Expr::Subquery(q) => {
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
                // An aggregate without GROUP BY always returns one row; any other
                // subquery may return none, which is NULL.
                E::new(c.ty.clone(), c.nullable || !one_row(q), Some(&c.name))
            }
            Expr::Array(a) => {
                let mut ty = Ty::Null;
                for x in &a.elem {
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
                E::new(ty, false, Some("array"))
            }
            Expr::AtTimeZone {
                timestamp,
                time_zone,
            } => {
                let v = self.expr(timestamp, scope)?;
                let z = self.expr(time_zone, scope)?;
                self.expect(&z, &t("text"), Ctx::Exact, time_zone.as_ref())?;
                let out = match &v.ty {
                    Ty::Known(k) if k.name == "timestamp without time zone" => {
                        t("timestamp with time zone")
                    }
                    _ => t("timestamp without time zone"),
                };
                E::known(out, v.nullable || z.nullable, Some("timezone"))
            }
            Expr::Extract { expr, field, .. } => {
                let v = self.expr(expr, scope)?;
                let _ = matches!(field, DateTimeField::Epoch);
                E::known(t("numeric"), v.nullable, Some("extract"))
            }
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let v = self.expr(expr, scope)?;
                self.expect(&v, &t("text"), Ctx::Exact, expr.as_ref())?;
                let mut nullable = v.nullable;
                for x in substring_from.iter().chain(substring_for) {
                    let a = self.expr(x, scope)?;
                    self.expect(&a, &t("integer"), Ctx::Exact, x.as_ref())?;
                    nullable |= a.nullable;
                }
                E::known(t("text"), nullable, Some("substring"))
            }
            Expr::Trim { expr, .. } => {
                let v = self.expr(expr, scope)?;
                self.expect(&v, &t("text"), Ctx::Exact, expr.as_ref())?;
                E::known(t("text"), v.nullable, Some("btrim"))
            }
            Expr::Ceil { expr, .. } | Expr::Floor { expr, .. } => {
                let v = self.expr(expr, scope)?;
                let name = if matches!(e, Expr::Ceil { .. }) {
                    "ceil"
                } else {
                    "floor"
                };
                let ty = match &v.ty {
                    Ty::Known(k) if k.name == "numeric" => t("numeric"),
                    _ => t("double precision"),
                };
                E::known(ty, v.nullable, Some(name))
            }
            Expr::Collate { expr, .. } => self.expr(expr, scope)?,
            Expr::Function(f) => self.function(f, scope)?,
            Expr::CompoundFieldAccess { root, access_chain } => {
                let v = self.expr(root, scope)?;
                let ty = match (&v.ty, access_chain.first()) {
                    (Ty::Known(k), Some(sqlparser::ast::AccessExpr::Subscript(_))) if k.array => {
                        Ty::Known(element(k))
                    }
                    (ty, _) => ty.clone(),
                };
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

    /// Two sides of a comparison (or IN, CASE operand) meet: parameters take the other
    /// side's type; known types must be comparable.
    fn meet(&mut self, a: &E, b: &E, ctx: Ctx, at: &impl Spanned) -> Result<(), QueryError> {
        match (&a.ty, &b.ty) {
            (Ty::Known(x), Ty::Known(y)) if !self.comparable(x, y) => Err(QueryError::new(
                format!("operator does not exist: {} = {}", x.format(), y.format()),
            )
            .help("cast one side to the other's type")
            .at(self.offset(at))),
            (Ty::Known(x), _) => {
                let x = x.clone();
                self.expect(b, &x, ctx, at)
            }
            (_, Ty::Known(y)) => {
                let y = y.clone();
                self.expect(a, &y, ctx, at)
            }
            (Ty::Param(n), Ty::Unknown) | (Ty::Unknown, Ty::Param(n)) => {
                self.bind(*n, t("text"), false);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn binary(
        &mut self,
        e: &Expr,
        left: &Expr,
        op: &BinaryOperator,
        right: &Expr,
        scope: &Scope,
    ) -> Result<E, QueryError> {
        use BinaryOperator as B;
        let l = self.expr(left, scope)?;
        let r = self.expr(right, scope)?;
        let nullable = l.nullable || r.nullable;
        let boolean = |n| E::known(t("boolean"), n, None);
        Ok(match op {
            B::Eq | B::NotEq | B::Lt | B::Gt | B::LtEq | B::GtEq => {
                if let (Expr::Tuple(a), Expr::Tuple(b)) = (strip(left), strip(right)) {
                    // Row comparison: element by element.
                    for (x, y) in a.iter().zip(b) {
                        let (x, y) = (self.expr(x, scope)?, self.expr(y, scope)?);
                        self.meet(&x, &y, Ctx::Compare, e)?;
                    }
                } else {
                    self.meet(&l, &r, Ctx::Compare, e)?;
                }
                boolean(nullable)
            }
            B::And | B::Or => {
                self.expect(&l, &t("boolean"), Ctx::Exact, left)?;
                self.expect(&r, &t("boolean"), Ctx::Exact, right)?;
                boolean(nullable)
            }
            B::Plus | B::Minus | B::Multiply | B::Divide | B::Modulo => {
                let ty = self.arithmetic(&l, op, &r, e)?;
                E::new(ty, nullable, None)
            }
            B::StringConcat => {
                let known = |v: &E| match &v.ty {
                    Ty::Known(k) => Some(k.clone()),
                    _ => None,
                };
                let jsonb = |k: &Option<ColumnType>| {
                    k.as_ref().is_some_and(|k| k.name == "jsonb" && !k.array)
                };
                let (a, b) = (known(&l), known(&r));
                let out = match (&a, &b) {
                    (Some(a), _) if a.array => a.clone(),
                    (_, Some(b)) if b.array => b.clone(),
                    _ if jsonb(&a) || jsonb(&b) => t("jsonb"),
                    _ => t("text"),
                };
                for v in [&l, &r] {
                    if let Ty::Param(n) = v.ty {
                        let p = if out.array || out.name == "jsonb" {
                            out.clone()
                        } else {
                            t("text")
                        };
                        self.bind(n, p, false);
                    }
                }
                E::known(out, nullable, None)
            }
            B::Arrow | B::LongArrow | B::HashArrow | B::HashLongArrow => {
                self.expect(&l, &t("jsonb"), Ctx::Exact, left)?;
                let key = match (op, &r.ty) {
                    (B::HashArrow | B::HashLongArrow, _) => array_of(&t("text")),
                    (_, Ty::Known(k)) if is_numeric(k) => t("integer"),
                    _ => t("text"),
                };
                self.expect(&r, &key, Ctx::Exact, right)?;
                let json = match &l.ty {
                    Ty::Known(k) if k.name == "json" => "json",
                    _ => "jsonb",
                };
                let out = if matches!(op, B::LongArrow | B::HashLongArrow) {
                    "text"
                } else {
                    json
                };
                E::new(Ty::Known(t(out)), true, None)
            }
            B::AtArrow | B::ArrowAt => {
                match (&l.ty, &r.ty) {
                    (Ty::Known(k), Ty::Param(n)) | (Ty::Param(n), Ty::Known(k)) => {
                        let p = bare(&base(self.catalog, k));
                        self.bind(*n, p, false);
                    }
                    _ => {}
                }
                boolean(nullable)
            }
            B::Question | B::QuestionAnd | B::QuestionPipe => {
                let key = if matches!(op, B::Question) {
                    t("text")
                } else {
                    array_of(&t("text"))
                };
                self.expect(&r, &key, Ctx::Exact, right)?;
                boolean(nullable)
            }
            B::AtAt => {
                match (&l.ty, &r.ty) {
                    (Ty::Known(k), Ty::Param(n)) if k.name == "tsvector" => {
                        self.bind(*n, t("tsquery"), false)
                    }
                    (Ty::Param(n), Ty::Known(k)) if k.name == "tsquery" => {
                        self.bind(*n, t("tsvector"), false)
                    }
                    _ => {}
                }
                boolean(nullable)
            }
            B::PGRegexMatch
            | B::PGRegexIMatch
            | B::PGRegexNotMatch
            | B::PGRegexNotIMatch
            | B::PGLikeMatch
            | B::PGILikeMatch
            | B::PGNotLikeMatch
            | B::PGNotILikeMatch => {
                self.expect(&l, &t("text"), Ctx::Compare, left)?;
                self.expect(&r, &t("text"), Ctx::Compare, right)?;
                boolean(nullable)
            }
            B::PGOverlap => {
                self.meet(&l, &r, Ctx::Common, e)?;
                boolean(nullable)
            }
            other => {
                return Err(
                    QueryError::new(format!("pgstrata cannot type the operator {other}"))
                        .help("cast the expression to say its type"),
                )
            }
        })
    }

    fn arithmetic(
        &mut self,
        l: &E,
        op: &BinaryOperator,
        r: &E,
        at: &Expr,
    ) -> Result<Ty, QueryError> {
        use BinaryOperator as B;
        let known = |v: &E| match &v.ty {
            Ty::Known(k) => Some(bare(&base(self.catalog, k))),
            _ => None,
        };
        let datetime = |k: &ColumnType| {
            k.schema.is_none()
                && matches!(
                    k.name.as_str(),
                    "timestamp with time zone"
                        | "timestamp without time zone"
                        | "date"
                        | "time without time zone"
                )
        };
        match (known(l), known(r)) {
            (Some(a), Some(b)) => {
                if datetime(&a) || datetime(&b) || a.name == "interval" || b.name == "interval" {
                    return Ok(Ty::Known(match (a.name.as_str(), op, b.name.as_str()) {
                        ("date", B::Minus, "date") => t("integer"),
                        ("date", B::Plus | B::Minus, "integer") | ("integer", B::Plus, "date") => {
                            t("date")
                        }
                        ("date", B::Plus | B::Minus, "interval") => {
                            t("timestamp without time zone")
                        }
                        (x, B::Minus, y) if x == y && x != "interval" => t("interval"),
                        (
                            "timestamp with time zone",
                            B::Minus,
                            "timestamp without time zone" | "date",
                        )
                        | (
                            "timestamp without time zone" | "date",
                            B::Minus,
                            "timestamp with time zone",
                        ) => t("interval"),
                        (x, _, "interval") if x != "interval" => a.clone(),
                        ("interval", B::Plus, y) if y != "interval" => b.clone(),
                        ("interval", B::Multiply | B::Divide, _) => t("interval"),
                        (_, B::Multiply, "interval") => t("interval"),
                        _ => a.clone(),
                    }));
                }
                if is_numeric(&a) && is_numeric(&b) {
                    let c = common(&a, &b).unwrap_or(a);
                    return Ok(Ty::Known(c));
                }
                if a.array && b.array && matches!(op, B::Plus | B::Minus) {
                    return Ok(Ty::Known(a));
                }
                Err(QueryError::new(format!(
                    "operator does not exist: {} {op} {}",
                    a.format(),
                    b.format()
                ))
                .help("cast one side to the other's type")
                .at(self.offset(at)))
            }
            (Some(a), None) => {
                // The other side is a parameter or a literal: PostgreSQL first tries it as
                // the same type (`ts - $1`: timestamp - timestamp), and adding to a date or
                // time takes an interval.
                let (p, out) = match (a.name.as_str(), op) {
                    (_, B::Plus) if datetime(&a) => (
                        t("interval"),
                        if a.name == "date" {
                            t("timestamp without time zone")
                        } else {
                            a.clone()
                        },
                    ),
                    ("date", B::Minus) => (t("date"), t("integer")),
                    (_, B::Minus) if datetime(&a) => (a.clone(), t("interval")),
                    _ => (a.clone(), a.clone()),
                };
                match r.ty {
                    Ty::Param(n) => {
                        self.bind(n, p, false);
                        Ok(Ty::Known(out))
                    }
                    _ => Ok(Ty::Known(a)),
                }
            }
            (None, Some(b)) => {
                if let Ty::Param(n) = l.ty {
                    self.bind(n, b.clone(), false);
                }
                Ok(Ty::Known(b))
            }
            (None, None) => {
                for v in [l, r] {
                    if let Ty::Param(n) = v.ty {
                        if self.param_ty(n).is_none() {
                            return Err(QueryError::new(format!(
                                "cannot tell the type of ${}",
                                n + 1
                            ))
                            .help(format!("say it with a cast: ${}::integer", n + 1))
                            .at(self.offset(at)));
                        }
                    }
                }
                Ok(Ty::Known(t("integer")))
            }
        }
    }

    /// The arguments of a call, typed.
    fn args(
        &mut self,
        f: &Function,
        scope: &Scope,
    ) -> Result<(Vec<E>, Vec<Expr>, bool), QueryError> {
        let mut out = Vec::new();
        let mut exprs = Vec::new();
        let mut star = false;
        if let FunctionArguments::List(list) = &f.args {
            for a in &list.args {
                let ex = match a {
                    FunctionArg::Unnamed(x)
                    | FunctionArg::Named { arg: x, .. }
                    | FunctionArg::ExprNamed { arg: x, .. } => x,
                };
                match ex {
                    FunctionArgExpr::Expr(x) => {
                        out.push(self.expr(x, scope)?);
                        exprs.push(x.clone());
                    }
                    FunctionArgExpr::Wildcard | FunctionArgExpr::QualifiedWildcard(_) => {
                        star = true
                    }
                    FunctionArgExpr::WildcardWithOptions(_) => star = true,
                }
            }
            for clause in &list.clauses {
                if let sqlparser::ast::FunctionArgumentClause::OrderBy(obs) = clause {
                    for o in obs {
                        self.expr(&o.expr, scope)?;
                    }
                }
            }
        }
        if let FunctionArguments::Subquery(q) = &f.args {
            let cols = self.query(q, Some(scope))?;
            if let Some(c) = cols.first() {
                out.push(E::new(c.ty.clone(), true, None));
            }
        }
        if let Some(filter) = &f.filter {
            self.condition(filter, scope)?;
        }
        Ok((out, exprs, star))
    }

    fn function(&mut self, f: &Function, scope: &Scope) -> Result<E, QueryError> {
        let name = f
            .name
            .0
            .last()
            .map(|p| match p {
                sqlparser::ast::ObjectNamePart::Identifier(i) => fold(i),
                other => other.to_string().to_ascii_lowercase(),
            })
            .unwrap_or_default();
        let (args, exprs, _star) = self.args(f, scope)?;
        let windowed = f.over.is_some();
        if let Some(sqlparser::ast::WindowType::WindowSpec(spec)) = &f.over {
            for p in &spec.partition_by {
                self.expr(p, scope)?;
            }
            for o in &spec.order_by {
                self.expr(&o.expr, scope)?;
            }
        }
        let filtered = f.filter.is_some();
        super::functions::call(self, &name, &args, &exprs, windowed, filtered).map(|mut v| {
            if v.name.is_none() {
                v.name = Some(name.clone());
            }
            v
        })
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

    /// The known type of an argument, domains read as their base.
    pub(super) fn arg_type(&self, v: &E) -> Option<ColumnType> {
        match &v.ty {
            Ty::Known(k) => Some(bare(&base(self.catalog, k))),
            Ty::Param(n) => self.param_ty(*n),
            Ty::Unknown | Ty::Null => None,
        }
    }

    /// Makes argument `v` a `ty` (a parameter takes it; a literal is read as it).
    pub(super) fn want(&mut self, v: &E, ty: &ColumnType, at: &Expr) -> Result<(), QueryError> {
        self.expect(v, ty, Ctx::Exact, at)
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
fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => strip(inner),
        other => other,
    }
}

pub(super) fn known(ty: ColumnType, nullable: bool) -> E {
    E::known(ty, nullable, None)
}

pub(super) fn unknown_call(name: &str) -> QueryError {
    QueryError::new(format!(
        "function {name} is not one pgstrata knows the type of (functions are not part of the model)"
    ))
    .help(format!("cast the call to say its type: {name}(...)::integer"))
}

pub(super) fn ambiguous(name: &str, n: usize) -> QueryError {
    QueryError::new(format!(
        "cannot tell the type of argument {} of {name}",
        n + 1
    ))
    .help("cast the argument: $1::timestamptz, $1::integer ...")
}

pub(super) fn nullable_any(args: &[E]) -> bool {
    args.iter().any(|a| a.nullable)
}
