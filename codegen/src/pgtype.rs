//! sqlparser's `DataType` to the catalog's [`ColumnType`], spelled as PostgreSQL's
//! `format_type` spells it.

use pgstrata_core::catalog::ColumnType;
use sqlparser::ast::{
    ArrayElemTypeDef, CharacterLength, DataType, ExactNumberInfo, GeometricTypeKind, ObjectName,
    TimezoneInfo,
};

/// How a serial pseudo-type expands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Serial;

/// A type as written, before user types are resolved against the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Written {
    /// A built-in type, fully spelled.
    Builtin(ColumnType, Option<Serial>),
    /// A name to resolve against the catalog (enum, domain, composite, table row type,
    /// or an extension's type).
    Named {
        /// The schema, when written.
        schema: Option<String>,
        /// The type's name, folded.
        name: String,
        /// Whether it is an array of that type.
        array: bool,
        /// The modifier, as `(...)`.
        modifier: Option<String>,
    },
}

fn builtin(name: &str, modifier: Option<String>) -> Written {
    Written::Builtin(
        ColumnType {
            schema: None,
            name: name.to_string(),
            modifier,
            array: false,
        },
        None,
    )
}

fn paren(n: Option<u64>) -> Option<String> {
    n.map(|n| format!("({n})"))
}

fn char_len(l: &Option<CharacterLength>) -> Option<String> {
    match l {
        Some(CharacterLength::IntegerLength { length, .. }) => Some(format!("({length})")),
        _ => None,
    }
}

fn numeric(info: &ExactNumberInfo) -> Option<String> {
    match info {
        ExactNumberInfo::None => None,
        ExactNumberInfo::Precision(p) => Some(format!("({p},0)")),
        ExactNumberInfo::PrecisionAndScale(p, s) => Some(format!("({p},{s})")),
    }
}

fn time(name: &str, p: &Option<u64>, tz: &TimezoneInfo) -> Written {
    let with = matches!(tz, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz);
    builtin(
        &format!("{name} with{} time zone", if with { "" } else { "out" }),
        paren(*p),
    )
}

/// Folds an identifier as PostgreSQL does: unquoted names have their ASCII letters
/// lower-cased (other letters are kept), and every name is cut to 63 bytes, at a
/// character boundary.
pub fn fold(ident: &sqlparser::ast::Ident) -> String {
    let mut name = if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_ascii_lowercase()
    };
    truncate_identifier(&mut name);
    name
}

/// PostgreSQL's NAMEDATALEN - 1: longer identifiers are cut (with a notice).
pub const MAX_IDENTIFIER: usize = 63;

/// Cuts `name` to [`MAX_IDENTIFIER`] bytes at a character boundary.
pub fn truncate_identifier(name: &mut String) {
    if name.len() > MAX_IDENTIFIER {
        let mut end = MAX_IDENTIFIER;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
}

/// The parts of an object name, folded.
pub fn parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|p| match p {
            sqlparser::ast::ObjectNamePart::Identifier(i) => fold(i),
            other => other.to_string(),
        })
        .collect()
}

/// Maps a written type. `Err` names a type the catalog cannot represent.
pub fn written(dt: &DataType) -> Result<Written, String> {
    Ok(match dt {
        DataType::Character(l) | DataType::Char(l) => {
            builtin("character", char_len(l).or(Some("(1)".into())))
        }
        DataType::CharacterVarying(l)
        | DataType::CharVarying(l)
        | DataType::Varchar(l)
        | DataType::Nvarchar(l) => builtin("character varying", char_len(l)),
        DataType::Uuid => builtin("uuid", None),
        DataType::Text => builtin("text", None),
        DataType::Bytea => builtin("bytea", None),
        DataType::JSON => builtin("json", None),
        DataType::JSONB => builtin("jsonb", None),
        DataType::Bool | DataType::Boolean => builtin("boolean", None),
        DataType::Date => builtin("date", None),
        DataType::Numeric(i) | DataType::Decimal(i) | DataType::Dec(i) => {
            builtin("numeric", numeric(i))
        }
        DataType::Float(ExactNumberInfo::Precision(p)) if *p <= 24 => builtin("real", None),
        DataType::Float(_) => builtin("double precision", None),
        DataType::Int2(_) | DataType::SmallInt(_) => builtin("smallint", None),
        DataType::Int(_) | DataType::Int4(_) | DataType::Integer(_) => builtin("integer", None),
        DataType::Int8(_) | DataType::BigInt(_) => builtin("bigint", None),
        DataType::Float4 | DataType::Real => builtin("real", None),
        DataType::Float8 | DataType::DoublePrecision | DataType::Double(_) => {
            builtin("double precision", None)
        }
        DataType::Time(p, tz) => time("time", p, tz),
        DataType::Timestamp(p, tz) => time("timestamp", p, tz),
        DataType::Interval { .. } => builtin("interval", None),
        DataType::Bit(n) => builtin("bit", paren(*n).or(Some("(1)".into()))),
        DataType::BitVarying(n) | DataType::VarBit(n) => builtin("bit varying", paren(*n)),
        DataType::TsVector => builtin("tsvector", None),
        DataType::TsQuery => builtin("tsquery", None),
        DataType::Regclass => builtin("regclass", None),
        DataType::GeometricType(k) => builtin(
            match k {
                GeometricTypeKind::Point => "point",
                GeometricTypeKind::Line => "line",
                GeometricTypeKind::LineSegment => "lseg",
                GeometricTypeKind::GeometricBox => "box",
                GeometricTypeKind::GeometricPath => "path",
                GeometricTypeKind::Polygon => "polygon",
                GeometricTypeKind::Circle => "circle",
            },
            None,
        ),
        DataType::Array(ArrayElemTypeDef::SquareBracket(inner, _))
        | DataType::Array(ArrayElemTypeDef::AngleBracket(inner))
        | DataType::Array(ArrayElemTypeDef::Parenthesis(inner)) => match written(inner)? {
            Written::Builtin(mut t, None) => {
                t.array = true;
                Written::Builtin(t, None)
            }
            Written::Builtin(_, Some(_)) => {
                return Err("arrays of serial types do not exist".into())
            }
            Written::Named {
                schema,
                name,
                modifier,
                ..
            } => Written::Named {
                schema,
                name,
                array: true,
                modifier,
            },
        },
        DataType::Custom(name, modifiers) => custom(name, modifiers)?,
        other => {
            return Err(format!(
                "type {other} is not a PostgreSQL type pgstrata knows"
            ))
        }
    })
}

fn custom(name: &ObjectName, modifiers: &[String]) -> Result<Written, String> {
    let p = parts(name);
    let modifier = (!modifiers.is_empty()).then(|| format!("({})", modifiers.join(",")));
    let (schema, base) = match p.as_slice() {
        [n] => (None, n.clone()),
        [s, n] if s == "pg_catalog" => (None, n.clone()),
        [s, n] => (Some(s.clone()), n.clone()),
        _ => return Err(format!("type name {name} has too many parts")),
    };
    if schema.is_none() {
        let serial = |n: &str| Written::Builtin(ColumnType::builtin(n), Some(Serial));
        let alias = match base.as_str() {
            "serial" | "serial4" => return Ok(serial("integer")),
            "bigserial" | "serial8" => return Ok(serial("bigint")),
            "smallserial" | "serial2" => return Ok(serial("smallint")),
            "int2" => Some("smallint"),
            "int4" | "int" => Some("integer"),
            "int8" => Some("bigint"),
            "float4" => Some("real"),
            "float8" => Some("double precision"),
            "bool" => Some("boolean"),
            "varchar" => Some("character varying"),
            "bpchar" => Some("bpchar"),
            "timestamptz" => return Ok(builtin("timestamp with time zone", modifier)),
            "timetz" => return Ok(builtin("time with time zone", modifier)),
            "decimal" => Some("numeric"),
            "varbit" => Some("bit varying"),
            "inet" | "cidr" | "macaddr" | "macaddr8" | "money" | "xml" | "oid" | "name"
            | "jsonpath" | "int4range" | "int8range" | "numrange" | "tsrange" | "tstzrange"
            | "daterange" | "regtype" | "regproc" | "pg_lsn" | "txid_snapshot" | "pg_snapshot"
            | "point" | "line" | "lseg" | "box" | "path" | "polygon" | "circle" | "tsvector"
            | "tsquery" | "interval" | "uuid" | "text" | "bytea" | "json" | "jsonb" | "date" => {
                Some(base.as_str())
            }
            _ => None,
        };
        if let Some(canonical) = alias {
            return Ok(builtin(canonical, modifier));
        }
    }
    Ok(Written::Named {
        schema,
        name: base,
        array: false,
        modifier,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    fn spell(ty: &str) -> String {
        let sql = format!("CREATE TABLE t (c {ty})");
        let stmt = Parser::parse_sql(&PostgreSqlDialect {}, &sql)
            .unwrap()
            .remove(0);
        let sqlparser::ast::Statement::CreateTable(ct) = stmt else {
            panic!()
        };
        match written(&ct.columns[0].data_type).unwrap() {
            Written::Builtin(t, _) => t.format(),
            Written::Named { name, array, .. } => {
                format!("named {name}{}", if array { "[]" } else { "" })
            }
        }
    }

    #[test]
    fn builtin_spellings_match_format_type() {
        for (written, expected) in [
            ("TIMESTAMP(3)", "timestamp(3) without time zone"),
            ("timestamptz", "timestamp with time zone"),
            ("TIMESTAMP WITH TIME ZONE", "timestamp with time zone"),
            ("timestamp(6) with time zone", "timestamp(6) with time zone"),
            ("VARCHAR(255)", "character varying(255)"),
            ("varchar", "character varying"),
            ("char(2)", "character(2)"),
            ("char", "character(1)"),
            ("DECIMAL(12, 3)", "numeric(12,3)"),
            ("numeric(10)", "numeric(10,0)"),
            ("numeric", "numeric"),
            ("int", "integer"),
            ("int8", "bigint"),
            ("smallint", "smallint"),
            ("float", "double precision"),
            ("float(10)", "real"),
            ("double precision", "double precision"),
            ("text[]", "text[]"),
            ("integer[][]", "integer[]"),
            ("bool", "boolean"),
            ("jsonb", "jsonb"),
            ("inet", "inet"),
            ("bit(3)", "bit(3)"),
            ("time", "time without time zone"),
            ("tsvector", "tsvector"),
            ("uuid", "uuid"),
            ("\"ChatMessageRole\"", "named ChatMessageRole"),
            ("my_enum[]", "named my_enum[]"),
        ] {
            assert_eq!(spell(written), expected, "{written}");
        }
    }
}
