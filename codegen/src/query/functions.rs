//! The functions pgstrata knows the types of: aggregates, window functions, and the
//! common scalar ones, with PostgreSQL's result types (`sum(integer)` is `bigint`,
//! `max(varchar)` is `text`, `avg` of integers is `numeric`).

use pgstrata_core::catalog::ColumnType;
use sqlparser::ast::Expr;

use super::coerce::{array_of, common, element, t};
use super::expr::{ambiguous, known, nullable_any, unknown_call, E};
use super::infer::Engine;
use super::scope::Ty;
use super::QueryError;

/// The type of a call of `name` with `args` (`exprs` are their expressions, for error
/// positions).
pub(super) fn call(
    en: &mut Engine<'_>,
    name: &str,
    args: &[E],
    exprs: &[Expr],
    windowed: bool,
    filtered: bool,
) -> Result<E, QueryError> {
    let arg = |i: usize| args.get(i);
    let ty = |en: &Engine<'_>, i: usize| args.get(i).and_then(|a| en.arg_type(a));
    let any_null = nullable_any(args);
    // An aggregate of a grouped query sees at least one row, unless FILTER drops them
    // all; without GROUP BY it may see none and return NULL.
    let agg_empty = !en.grouped || filtered || windowed;
    let agg_null = agg_empty || any_null;
    let text_args = |en: &mut Engine<'_>, from: usize| -> Result<(), QueryError> {
        for (a, x) in args.iter().zip(exprs).skip(from) {
            en.want(a, &t("text"), x)?;
        }
        Ok(())
    };
    let first_known = |en: &Engine<'_>, name: &str| -> Result<ColumnType, QueryError> {
        ty(en, 0).ok_or_else(|| ambiguous(name, 0))
    };
    Ok(match name {
        // Aggregates.
        "count" => known(t("bigint"), false),
        "sum" => {
            let a = first_known(en, name)?;
            let out = match a.name.as_str() {
                "smallint" | "integer" => t("bigint"),
                "bigint" | "numeric" => t("numeric"),
                _ => a,
            };
            known(out, agg_null)
        }
        "avg" => {
            let a = first_known(en, name)?;
            let out = match a.name.as_str() {
                "smallint" | "integer" | "bigint" | "numeric" => t("numeric"),
                "real" | "double precision" => t("double precision"),
                _ => a,
            };
            known(out, agg_null)
        }
        "min" | "max" => {
            let a = first_known(en, name)?;
            let out = match a.name.as_str() {
                "character varying" if !a.array => t("text"),
                _ => a,
            };
            known(out, agg_null)
        }
        "array_agg" => {
            let a = first_known(en, name)?;
            known(array_of(&a), agg_empty)
        }
        "json_agg" | "json_object_agg" => known(t("json"), agg_empty),
        "jsonb_agg" | "jsonb_object_agg" => known(t("jsonb"), agg_empty),
        "string_agg" => {
            text_args(en, 0)?;
            known(t("text"), agg_null)
        }
        "bool_and" | "bool_or" | "every" => {
            if let (Some(a), Some(x)) = (arg(0), exprs.first()) {
                en.want(a, &t("boolean"), x)?;
            }
            known(t("boolean"), agg_null)
        }
        // Window functions.
        "row_number" | "rank" | "dense_rank" | "ntile" if windowed => known(t("bigint"), false),
        "percent_rank" | "cume_dist" if windowed => known(t("double precision"), false),
        "lag" | "lead" | "first_value" | "last_value" | "nth_value" if windowed => {
            let a = first_known(en, name)?;
            known(a, true)
        }
        // Conditional.
        "coalesce" | "greatest" | "least" => {
            let mut common_ty: Option<ColumnType> = None;
            for a in args {
                if let Some(k) = en.arg_type(a) {
                    common_ty = Some(match common_ty {
                        None => k,
                        Some(c) => common(&c, &k).unwrap_or(c),
                    });
                }
            }
            let out = common_ty.unwrap_or_else(|| t("text"));
            for (a, x) in args.iter().zip(exprs) {
                if let Ty::Param(_) = a.ty {
                    en.want(a, &out, x)?;
                }
            }
            let nullable = args.iter().all(|a| a.nullable);
            known(out, nullable)
        }
        "nullif" => {
            let out = first_known(en, name).unwrap_or_else(|_| t("text"));
            for (a, x) in args.iter().zip(exprs) {
                if let Ty::Param(_) = a.ty {
                    en.want(a, &out, x)?;
                }
            }
            known(out, true)
        }
        // Date and time.
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
            text_args(en, 0).ok();
            if let (Some(a), Some(x)) = (arg(0), exprs.first()) {
                en.want(a, &t("text"), x)?;
            }
            let a = ty(en, 1).ok_or_else(|| ambiguous(name, 1))?;
            known(a, any_null)
        }
        "date_part" => {
            if let (Some(a), Some(x)) = (arg(0), exprs.first()) {
                en.want(a, &t("text"), x)?;
            }
            ty(en, 1).ok_or_else(|| ambiguous(name, 1))?;
            known(t("double precision"), any_null)
        }
        "age" => known(t("interval"), any_null),
        "to_timestamp" => {
            if args.len() == 1 {
                if let (Some(a), Some(x)) = (arg(0), exprs.first()) {
                    en.want(a, &t("double precision"), x)?;
                }
            } else {
                text_args(en, 0)?;
            }
            known(t("timestamp with time zone"), any_null)
        }
        "to_date" => {
            text_args(en, 0)?;
            known(t("date"), any_null)
        }
        "to_char" => {
            ty(en, 0).ok_or_else(|| ambiguous(name, 0))?;
            if let (Some(a), Some(x)) = (arg(1), exprs.get(1)) {
                en.want(a, &t("text"), x)?;
            }
            known(t("text"), any_null)
        }
        "make_interval" => known(t("interval"), any_null),
        // Strings.
        "lower" | "upper" | "initcap" | "btrim" | "ltrim" | "rtrim" | "trim" | "md5"
        | "reverse" | "quote_ident" | "quote_literal" | "replace" | "translate"
        | "regexp_replace" | "lpad" | "rpad" | "split_part" | "repeat" | "left" | "right"
        | "substr" | "substring" | "overlay" => {
            if let (Some(a), Some(x)) = (arg(0), exprs.first()) {
                en.want(a, &t("text"), x)?;
            }
            for (i, (a, x)) in args.iter().zip(exprs).enumerate().skip(1) {
                let want = match name {
                    "lpad" | "rpad" | "repeat" | "left" | "right" | "substr" | "substring"
                        if i == 1 =>
                    {
                        t("integer")
                    }
                    "split_part" | "substr" | "substring" if i == 2 => t("integer"),
                    _ => t("text"),
                };
                en.want(a, &want, x)?;
            }
            known(t("text"), any_null)
        }
        "length" | "char_length" | "character_length" | "octet_length" | "bit_length" => {
            if let (Some(a), Some(x)) = (arg(0), exprs.first()) {
                if matches!(a.ty, Ty::Param(_) | Ty::Unknown) {
                    en.want(a, &t("text"), x)?;
                }
            }
            known(t("integer"), any_null)
        }
        "strpos" | "position" => {
            text_args(en, 0)?;
            known(t("integer"), any_null)
        }
        "starts_with" => {
            text_args(en, 0)?;
            known(t("boolean"), any_null)
        }
        "concat" => known(t("text"), false),
        "concat_ws" => known(t("text"), arg(0).is_some_and(|a| a.nullable)),
        "format" => {
            if let (Some(a), Some(x)) = (arg(0), exprs.first()) {
                en.want(a, &t("text"), x)?;
            }
            known(t("text"), arg(0).is_some_and(|a| a.nullable))
        }
        "string_to_array" | "regexp_split_to_array" => {
            text_args(en, 0)?;
            known(array_of(&t("text")), any_null)
        }
        "array_to_string" => known(t("text"), any_null),
        // Numbers.
        "abs" | "round" | "trunc" | "ceil" | "ceiling" | "floor" | "sign" => {
            let a = ty(en, 0).ok_or_else(|| ambiguous(name, 0))?;
            let out = match (name, a.name.as_str()) {
                (
                    "round" | "trunc" | "ceil" | "ceiling" | "floor",
                    "smallint" | "integer" | "bigint" | "real",
                ) => t("double precision"),
                _ => a,
            };
            known(out, any_null)
        }
        "random" => known(t("double precision"), false),
        "power" | "pow" | "sqrt" | "ln" | "log" | "exp" | "cbrt" => {
            let numeric = args
                .iter()
                .any(|a| en.arg_type(a).is_some_and(|k| k.name == "numeric"));
            known(
                t(if numeric {
                    "numeric"
                } else {
                    "double precision"
                }),
                any_null,
            )
        }
        "gen_random_uuid" | "uuid_generate_v4" => known(t("uuid"), false),
        // JSON.
        "jsonb_build_object" | "jsonb_build_array" | "to_jsonb" | "jsonb_set"
        | "jsonb_strip_nulls" | "jsonb_insert" | "jsonb_extract_path" => {
            for (a, x) in args.iter().zip(exprs) {
                if let Ty::Param(_) = a.ty {
                    en.want(a, &t("text"), x)?;
                }
            }
            known(
                t("jsonb"),
                matches!(
                    name,
                    "jsonb_set" | "jsonb_extract_path" | "jsonb_strip_nulls" | "jsonb_insert"
                ) && any_null,
            )
        }
        "json_build_object" | "json_build_array" | "to_json" | "row_to_json" => {
            known(t("json"), false)
        }
        "jsonb_array_length" | "json_array_length" => known(t("integer"), any_null),
        "jsonb_typeof"
        | "json_typeof"
        | "jsonb_extract_path_text"
        | "json_extract_path_text"
        | "jsonb_pretty" => known(t("text"), true),
        // Arrays.
        "cardinality" => known(t("integer"), any_null),
        "array_length" | "array_position" | "array_ndims" => known(t("integer"), true),
        "array_append" | "array_prepend" | "array_cat" | "array_remove" => {
            let a = args
                .iter()
                .filter_map(|a| en.arg_type(a))
                .find(|k| k.array)
                .ok_or_else(|| ambiguous(name, 0))?;
            known(a, any_null)
        }
        "unnest" => {
            let a = first_known(en, name)?;
            known(element(&a), true)
        }
        // Full text search.
        "to_tsvector" => {
            text_args(en, 0)?;
            known(t("tsvector"), any_null)
        }
        "to_tsquery" | "plainto_tsquery" | "phraseto_tsquery" | "websearch_to_tsquery" => {
            text_args(en, 0)?;
            known(t("tsquery"), any_null)
        }
        "ts_rank" | "ts_rank_cd" => known(t("real"), any_null),
        "ts_headline" => known(t("text"), any_null),
        // Settings and misc.
        "current_setting" => {
            text_args(en, 0)?;
            known(t("text"), true)
        }
        "current_user" | "session_user" | "current_schema" | "user" => known(t("name"), false),
        "version" => known(t("text"), false),
        other => return Err(unknown_call(other)),
    })
}
