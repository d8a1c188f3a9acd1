//! Types as the query inference needs them: PostgreSQL's own names, its rules for a
//! common type, and domains read as their base type.

use pgstrata_core::catalog::{Catalog, ColumnType};

/// A built-in type without modifier.
pub(crate) fn t(name: &str) -> ColumnType {
    ColumnType::builtin(name)
}

/// The array of `ty`.
pub(crate) fn array_of(ty: &ColumnType) -> ColumnType {
    ColumnType {
        array: true,
        ..ty.clone()
    }
}

/// The element type of an array.
pub(crate) fn element(ty: &ColumnType) -> ColumnType {
    ColumnType {
        array: false,
        ..ty.clone()
    }
}

/// `ty` without its modifier: parameters and results carry none.
pub(crate) fn bare(ty: &ColumnType) -> ColumnType {
    ColumnType {
        modifier: None,
        ..ty.clone()
    }
}

/// A domain as its base type (what PostgreSQL describes a domain-typed result column
/// as, and compares through), following domains over domains.
pub(crate) fn base(catalog: &Catalog, ty: &ColumnType) -> ColumnType {
    let mut current = ty.clone();
    for _ in 0..16 {
        let Some(schema) = &current.schema else {
            break;
        };
        let Some(d) = catalog
            .domains
            .iter()
            .find(|d| &d.schema == schema && d.name == current.name)
        else {
            break;
        };
        current = ColumnType {
            array: current.array || d.ty.array,
            ..d.ty.clone()
        };
    }
    current
}

/// Numeric types in PostgreSQL's order of preference for a common type.
fn numeric_rank(name: &str) -> Option<u8> {
    Some(match name {
        "smallint" => 1,
        "integer" => 2,
        "bigint" => 3,
        "numeric" => 4,
        "real" => 5,
        "double precision" => 6,
        _ => return None,
    })
}

/// Whether a type is a string type (text, varchar, char).
pub(crate) fn is_string(ty: &ColumnType) -> bool {
    !ty.array
        && ty.schema.is_none()
        && matches!(ty.name.as_str(), "text" | "character varying" | "character")
}

/// Whether a type is numeric.
pub(crate) fn is_numeric(ty: &ColumnType) -> bool {
    !ty.array && ty.schema.is_none() && numeric_rank(&ty.name).is_some()
}

/// The common type of two (UNION, CASE, COALESCE), as PostgreSQL chooses it for the
/// cases that occur in practice; `None` when they do not meet.
pub(crate) fn common(a: &ColumnType, b: &ColumnType) -> Option<ColumnType> {
    let (a, b) = (bare(a), bare(b));
    if a == b {
        return Some(a);
    }
    if a.array != b.array {
        return None;
    }
    if let (Some(x), Some(y)) = (numeric_rank(&a.name), numeric_rank(&b.name)) {
        if a.schema.is_none() && b.schema.is_none() {
            return Some(if x >= y { a } else { b });
        }
    }
    if is_string(&element(&a)) && is_string(&element(&b)) {
        return Some(ColumnType {
            array: a.array,
            ..t("text")
        });
    }
    let tz = |n: &str| {
        matches!(
            n,
            "timestamp without time zone" | "timestamp with time zone" | "date"
        )
    };
    if tz(&a.name) && tz(&b.name) && a.schema.is_none() && b.schema.is_none() {
        let rank = |n: &str| match n {
            "date" => 0,
            "timestamp without time zone" => 1,
            _ => 2,
        };
        return Some(if rank(&a.name) >= rank(&b.name) { a } else { b });
    }
    None
}

/// PostgreSQL's `typname` of a type (what tokio-postgres' `Type::name()` reports):
/// `int4`, `varchar`, `_text` for `text[]`, an enum's or a domain's own name.
pub fn pg_name(catalog: &Catalog, ty: &ColumnType) -> String {
    let _ = catalog;
    let b = element(ty);
    let name = match (&b.schema, b.name.as_str()) {
        (Some(_), n) => n.to_string(),
        (None, n) => match n {
            "smallint" => "int2",
            "integer" => "int4",
            "bigint" => "int8",
            "real" => "float4",
            "double precision" => "float8",
            "boolean" => "bool",
            "character varying" => "varchar",
            "character" => "bpchar",
            "timestamp without time zone" => "timestamp",
            "timestamp with time zone" => "timestamptz",
            "time without time zone" => "time",
            "time with time zone" => "timetz",
            "bit varying" => "varbit",
            other => other,
        }
        .to_string(),
    };
    let array = ty.array || b.array;
    if array {
        format!("_{name}")
    } else {
        name
    }
}

/// The type a written type name means (`int` -> integer, `varchar(10)` -> character
/// varying), resolved against the catalog for user types.
pub(crate) fn from_data_type(
    catalog: &Catalog,
    search_path: &[String],
    dt: &sqlparser::ast::DataType,
) -> Result<ColumnType, String> {
    use crate::pgtype::{written, Written};
    match written(dt)? {
        Written::Builtin(ty, _) => Ok(ty),
        Written::Named {
            schema,
            name,
            modifier,
            array,
        } => {
            let has = |s: &str| {
                catalog.enum_type(s, &name).is_some()
                    || catalog
                        .domains
                        .iter()
                        .any(|d| d.schema == s && d.name == name)
                    || catalog
                        .composites
                        .iter()
                        .any(|d| d.schema == s && d.name == name)
                    || catalog.table(s, &name).is_some()
            };
            let schema = match schema {
                Some(s) => s,
                None => search_path
                    .iter()
                    .find(|s| has(s))
                    .cloned()
                    .unwrap_or_else(|| "public".to_string()),
            };
            Ok(ColumnType {
                schema: Some(schema),
                name,
                modifier,
                array,
            })
        }
    }
}
