//! Operators: comparisons, AND/OR, arithmetic (numbers, dates, times and intervals),
//! `||`, and the JSON, full-text, pattern and array operators.

use pgstrata_core::catalog::ColumnType;
use sqlparser::ast::{BinaryOperator, Expr};

use super::coerce::{array_of, bare, base, common, is_numeric, t};
use super::engine::{Ctx, Engine, E};
use super::expr::strip;
use super::scope::{Scope, Ty};
use super::QueryError;

impl Engine<'_> {
    pub(super) fn binary(
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
            B::StringConcat => self.concat(&l, &r, nullable),
            B::Arrow | B::LongArrow | B::HashArrow | B::HashLongArrow => {
                self.json_get(&l, op, &r, left, right)?
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

    /// `||`: text, an array's concatenation, or jsonb's.
    fn concat(&mut self, l: &E, r: &E, nullable: bool) -> E {
        let known = |v: &E| match &v.ty {
            Ty::Known(k) => Some(k.clone()),
            _ => None,
        };
        let jsonb =
            |k: &Option<ColumnType>| k.as_ref().is_some_and(|k| k.name == "jsonb" && !k.array);
        let (a, b) = (known(l), known(r));
        let out = match (&a, &b) {
            (Some(a), _) if a.array => a.clone(),
            (_, Some(b)) if b.array => b.clone(),
            _ if jsonb(&a) || jsonb(&b) => t("jsonb"),
            _ => t("text"),
        };
        for v in [l, r] {
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

    /// `->`, `->>`, `#>`, `#>>`: a JSON value's member, element or path.
    fn json_get(
        &mut self,
        l: &E,
        op: &BinaryOperator,
        r: &E,
        left: &Expr,
        right: &Expr,
    ) -> Result<E, QueryError> {
        use BinaryOperator as B;
        self.expect(l, &t("jsonb"), Ctx::Exact, left)?;
        let key = match (op, &r.ty) {
            (B::HashArrow | B::HashLongArrow, _) => array_of(&t("text")),
            (_, Ty::Known(k)) if is_numeric(k) => t("integer"),
            _ => t("text"),
        };
        self.expect(r, &key, Ctx::Exact, right)?;
        let json = match &l.ty {
            Ty::Known(k) if k.name == "json" => "json",
            _ => "jsonb",
        };
        let out = if matches!(op, B::LongArrow | B::HashLongArrow) {
            "text"
        } else {
            json
        };
        Ok(E::new(Ty::Known(t(out)), true, None))
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
}
