//! The functions pgstrata knows the types of, by family: aggregates, window functions,
//! conditionals, dates and times, strings, numbers, JSON, arrays, full-text search and
//! settings, with PostgreSQL's result types (`sum(integer)` is `bigint`, `max(varchar)`
//! is `text`, `avg` of integers is `numeric`); and the calls SQL spells with keywords
//! (`EXTRACT`, `SUBSTRING`, `TRIM`, `AT TIME ZONE`, `CEIL`/`FLOOR`).

use pgstrata_core::catalog::ColumnType;
use sqlparser::ast::{Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments};

use super::coerce::{array_of, common, element, t};
use super::engine::{ambiguous, known, nullable_any, unknown_call, Ctx, Engine, E};
use super::scope::{Scope, Ty};
use super::QueryError;
use crate::pgtype::fold;

/// One call being typed: the function's name, its typed arguments and their
/// expressions (for error positions).
struct Call<'a> {
    name: &'a str,
    args: &'a [E],
    exprs: &'a [Expr],
    windowed: bool,
    filtered: bool,
}

impl Call<'_> {
    fn arg(&self, i: usize) -> Option<(&E, &Expr)> {
        self.args.get(i).zip(self.exprs.get(i))
    }

    fn any_null(&self) -> bool {
        nullable_any(self.args)
    }
}

type Typed = Result<Option<E>, QueryError>;

impl Engine<'_> {
    /// The type and nullability of a function call.
    pub(super) fn function(&mut self, f: &Function, scope: &Scope) -> Result<E, QueryError> {
        let name = f
            .name
            .0
            .last()
            .map(|p| match p {
                sqlparser::ast::ObjectNamePart::Identifier(i) => fold(i),
                other => other.to_string().to_ascii_lowercase(),
            })
            .unwrap_or_default();
        let (args, exprs) = self.args(f, scope)?;
        if let Some(sqlparser::ast::WindowType::WindowSpec(spec)) = &f.over {
            for p in &spec.partition_by {
                self.expr(p, scope)?;
            }
            for o in &spec.order_by {
                self.expr(&o.expr, scope)?;
            }
        }
        let call = Call {
            name: &name,
            args: &args,
            exprs: &exprs,
            windowed: f.over.is_some(),
            filtered: f.filter.is_some(),
        };
        let families: [fn(&mut Self, &Call<'_>) -> Typed; 8] = [
            Self::aggregate,
            Self::conditional,
            Self::datetime,
            Self::string,
            Self::number,
            Self::json,
            Self::array,
            Self::other,
        ];
        for family in families {
            if let Some(mut v) = family(self, &call)? {
                v.name.get_or_insert_with(|| name.clone());
                return Ok(v);
            }
        }
        Err(unknown_call(&name))
    }

    /// The arguments of a call, typed, with their expressions.
    fn args(&mut self, f: &Function, scope: &Scope) -> Result<(Vec<E>, Vec<Expr>), QueryError> {
        let mut out = Vec::new();
        let mut exprs = Vec::new();
        if let FunctionArguments::List(list) = &f.args {
            for a in &list.args {
                let (FunctionArg::Unnamed(x)
                | FunctionArg::Named { arg: x, .. }
                | FunctionArg::ExprNamed { arg: x, .. }) = a;
                if let FunctionArgExpr::Expr(x) = x {
                    out.push(self.expr(x, scope)?);
                    exprs.push(x.clone());
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
        Ok((out, exprs))
    }

    /// The known type of argument `i`, domains read as their base.
    fn arg_ty(&self, c: &Call<'_>, i: usize) -> Option<ColumnType> {
        c.args.get(i).and_then(|a| self.arg_type(a))
    }

    fn first_known(&self, c: &Call<'_>) -> Result<ColumnType, QueryError> {
        self.arg_ty(c, 0).ok_or_else(|| ambiguous(c.name, 0))
    }

    /// Arguments from `from` on are text.
    fn text_args(&mut self, c: &Call<'_>, from: usize) -> Result<(), QueryError> {
        for (a, x) in c.args.iter().zip(c.exprs).skip(from) {
            self.want(a, &t("text"), x)?;
        }
        Ok(())
    }

    /// Argument `i`, when given, is a `ty`.
    fn want_arg(&mut self, c: &Call<'_>, i: usize, ty: &str) -> Result<(), QueryError> {
        match c.arg(i) {
            Some((a, x)) => self.want(a, &t(ty), x),
            None => Ok(()),
        }
    }

    fn aggregate(&mut self, c: &Call<'_>) -> Typed {
        // An aggregate of a grouped query sees at least one row, unless FILTER drops them
        // all; without GROUP BY it may see none and return NULL.
        let empty = !self.grouped || c.filtered || c.windowed;
        let null = empty || c.any_null();
        Ok(Some(match c.name {
            "count" => known(t("bigint"), false),
            "sum" => {
                let a = self.first_known(c)?;
                let out = match a.name.as_str() {
                    "smallint" | "integer" => t("bigint"),
                    "bigint" | "numeric" => t("numeric"),
                    _ => a,
                };
                known(out, null)
            }
            "avg" => {
                let a = self.first_known(c)?;
                let out = match a.name.as_str() {
                    "smallint" | "integer" | "bigint" | "numeric" => t("numeric"),
                    "real" | "double precision" => t("double precision"),
                    _ => a,
                };
                known(out, null)
            }
            "min" | "max" => {
                let a = self.first_known(c)?;
                let out = match a.name.as_str() {
                    "character varying" if !a.array => t("text"),
                    _ => a,
                };
                known(out, null)
            }
            "array_agg" => known(array_of(&self.first_known(c)?), empty),
            "json_agg" | "json_object_agg" => known(t("json"), empty),
            "jsonb_agg" | "jsonb_object_agg" => known(t("jsonb"), empty),
            "string_agg" => {
                self.text_args(c, 0)?;
                known(t("text"), null)
            }
            "bool_and" | "bool_or" | "every" => {
                self.want_arg(c, 0, "boolean")?;
                known(t("boolean"), null)
            }
            "row_number" | "rank" | "dense_rank" | "ntile" if c.windowed => {
                known(t("bigint"), false)
            }
            "percent_rank" | "cume_dist" if c.windowed => known(t("double precision"), false),
            "lag" | "lead" | "first_value" | "last_value" | "nth_value" if c.windowed => {
                known(self.first_known(c)?, true)
            }
            _ => return Ok(None),
        }))
    }

    fn conditional(&mut self, c: &Call<'_>) -> Typed {
        let (out, nullable) = match c.name {
            "coalesce" | "greatest" | "least" => {
                let mut common_ty: Option<ColumnType> = None;
                for a in c.args {
                    if let Some(k) = self.arg_type(a) {
                        common_ty = Some(match common_ty {
                            None => k,
                            Some(c) => common(&c, &k).unwrap_or(c),
                        });
                    }
                }
                let nullable = c.args.iter().all(|a| a.nullable);
                (common_ty.unwrap_or_else(|| t("text")), nullable)
            }
            "nullif" => (self.first_known(c).unwrap_or_else(|_| t("text")), true),
            _ => return Ok(None),
        };
        for (a, x) in c.args.iter().zip(c.exprs) {
            if let Ty::Param(_) = a.ty {
                self.want(a, &out, x)?;
            }
        }
        Ok(Some(known(out, nullable)))
    }

    fn datetime(&mut self, c: &Call<'_>) -> Typed {
        let null = c.any_null();
        Ok(Some(match c.name {
            "now"
            | "transaction_timestamp"
            | "statement_timestamp"
            | "clock_timestamp"
            | "current_timestamp" => known(t("timestamp with time zone"), false),
            "current_date" => known(t("date"), false),
            "localtimestamp" => known(t("timestamp without time zone"), false),
            "localtime" => known(t("time without time zone"), false),
            "current_time" => known(t("time with time zone"), false),
            "date_trunc" => {
                self.text_args(c, 0).ok();
                self.want_arg(c, 0, "text")?;
                let a = self.arg_ty(c, 1).ok_or_else(|| ambiguous(c.name, 1))?;
                known(a, null)
            }
            "date_part" => {
                self.want_arg(c, 0, "text")?;
                self.arg_ty(c, 1).ok_or_else(|| ambiguous(c.name, 1))?;
                known(t("double precision"), null)
            }
            "age" => known(t("interval"), null),
            "to_timestamp" => {
                if c.args.len() == 1 {
                    self.want_arg(c, 0, "double precision")?;
                } else {
                    self.text_args(c, 0)?;
                }
                known(t("timestamp with time zone"), null)
            }
            "to_date" => {
                self.text_args(c, 0)?;
                known(t("date"), null)
            }
            "to_char" => {
                self.arg_ty(c, 0).ok_or_else(|| ambiguous(c.name, 0))?;
                self.want_arg(c, 1, "text")?;
                known(t("text"), null)
            }
            "make_interval" => known(t("interval"), null),
            _ => return Ok(None),
        }))
    }

    fn string(&mut self, c: &Call<'_>) -> Typed {
        let null = c.any_null();
        Ok(Some(match c.name {
            "lower" | "upper" | "initcap" | "btrim" | "ltrim" | "rtrim" | "trim" | "md5"
            | "reverse" | "quote_ident" | "quote_literal" | "replace" | "translate"
            | "regexp_replace" | "lpad" | "rpad" | "split_part" | "repeat" | "left" | "right"
            | "substr" | "substring" | "overlay" => {
                self.want_arg(c, 0, "text")?;
                for (i, (a, x)) in c.args.iter().zip(c.exprs).enumerate().skip(1) {
                    let want = match c.name {
                        "lpad" | "rpad" | "repeat" | "left" | "right" | "substr" | "substring"
                            if i == 1 =>
                        {
                            t("integer")
                        }
                        "split_part" | "substr" | "substring" if i == 2 => t("integer"),
                        _ => t("text"),
                    };
                    self.want(a, &want, x)?;
                }
                known(t("text"), null)
            }
            "length" | "char_length" | "character_length" | "octet_length" | "bit_length" => {
                if let Some((a, x)) = c.arg(0) {
                    if matches!(a.ty, Ty::Param(_) | Ty::Unknown) {
                        self.want(a, &t("text"), x)?;
                    }
                }
                known(t("integer"), null)
            }
            "strpos" | "position" => {
                self.text_args(c, 0)?;
                known(t("integer"), null)
            }
            "starts_with" => {
                self.text_args(c, 0)?;
                known(t("boolean"), null)
            }
            "concat" => known(t("text"), false),
            "concat_ws" => known(t("text"), c.args.first().is_some_and(|a| a.nullable)),
            "format" => {
                self.want_arg(c, 0, "text")?;
                known(t("text"), c.args.first().is_some_and(|a| a.nullable))
            }
            "string_to_array" | "regexp_split_to_array" => {
                self.text_args(c, 0)?;
                known(array_of(&t("text")), null)
            }
            "array_to_string" => known(t("text"), null),
            _ => return Ok(None),
        }))
    }

    fn number(&mut self, c: &Call<'_>) -> Typed {
        let null = c.any_null();
        Ok(Some(match c.name {
            "abs" | "round" | "trunc" | "ceil" | "ceiling" | "floor" | "sign" => {
                let a = self.arg_ty(c, 0).ok_or_else(|| ambiguous(c.name, 0))?;
                let out = match (c.name, a.name.as_str()) {
                    (
                        "round" | "trunc" | "ceil" | "ceiling" | "floor",
                        "smallint" | "integer" | "bigint" | "real",
                    ) => t("double precision"),
                    _ => a,
                };
                known(out, null)
            }
            "random" => known(t("double precision"), false),
            "power" | "pow" | "sqrt" | "ln" | "log" | "exp" | "cbrt" => {
                let numeric = c
                    .args
                    .iter()
                    .any(|a| self.arg_type(a).is_some_and(|k| k.name == "numeric"));
                let out = if numeric {
                    "numeric"
                } else {
                    "double precision"
                };
                known(t(out), null)
            }
            "gen_random_uuid" | "uuid_generate_v4" => known(t("uuid"), false),
            _ => return Ok(None),
        }))
    }

    fn json(&mut self, c: &Call<'_>) -> Typed {
        let null = c.any_null();
        Ok(Some(match c.name {
            "jsonb_build_object" | "jsonb_build_array" | "to_jsonb" | "jsonb_set"
            | "jsonb_strip_nulls" | "jsonb_insert" | "jsonb_extract_path" => {
                for (a, x) in c.args.iter().zip(c.exprs) {
                    if let Ty::Param(_) = a.ty {
                        self.want(a, &t("text"), x)?;
                    }
                }
                let strict = matches!(
                    c.name,
                    "jsonb_set" | "jsonb_extract_path" | "jsonb_strip_nulls" | "jsonb_insert"
                );
                known(t("jsonb"), strict && null)
            }
            "json_build_object" | "json_build_array" | "to_json" | "row_to_json" => {
                known(t("json"), false)
            }
            "jsonb_array_length" | "json_array_length" => known(t("integer"), null),
            "jsonb_typeof"
            | "json_typeof"
            | "jsonb_extract_path_text"
            | "json_extract_path_text"
            | "jsonb_pretty" => known(t("text"), true),
            _ => return Ok(None),
        }))
    }

    fn array(&mut self, c: &Call<'_>) -> Typed {
        let null = c.any_null();
        Ok(Some(match c.name {
            "cardinality" => known(t("integer"), null),
            "array_length" | "array_position" | "array_ndims" => known(t("integer"), true),
            "array_append" | "array_prepend" | "array_cat" | "array_remove" => {
                let a = c
                    .args
                    .iter()
                    .filter_map(|a| self.arg_type(a))
                    .find(|k| k.array)
                    .ok_or_else(|| ambiguous(c.name, 0))?;
                known(a, null)
            }
            "unnest" => known(element(&self.first_known(c)?), true),
            _ => return Ok(None),
        }))
    }

    /// Full-text search, settings and the session's names.
    fn other(&mut self, c: &Call<'_>) -> Typed {
        let null = c.any_null();
        Ok(Some(match c.name {
            "to_tsvector" => {
                self.text_args(c, 0)?;
                known(t("tsvector"), null)
            }
            "to_tsquery" | "plainto_tsquery" | "phraseto_tsquery" | "websearch_to_tsquery" => {
                self.text_args(c, 0)?;
                known(t("tsquery"), null)
            }
            "ts_rank" | "ts_rank_cd" => known(t("real"), null),
            "ts_headline" => known(t("text"), null),
            "current_setting" => {
                self.text_args(c, 0)?;
                known(t("text"), true)
            }
            "current_user" | "session_user" | "current_schema" | "user" => known(t("name"), false),
            "version" => known(t("text"), false),
            _ => return Ok(None),
        }))
    }

    /// `AT TIME ZONE`, `EXTRACT`, `SUBSTRING`, `TRIM`, `CEIL` and `FLOOR`: calls SQL
    /// spells with keywords. `None` for any other expression.
    pub(super) fn keyword_call(&mut self, e: &Expr, scope: &Scope) -> Typed {
        Ok(Some(match e {
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
            Expr::Extract { expr, .. } => {
                let v = self.expr(expr, scope)?;
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
            _ => return Ok(None),
        }))
    }
}
