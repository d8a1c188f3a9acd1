//! The schema model: what the migrations build, as PostgreSQL's catalog would show it.
//!
//! The code generator fills it by replaying migration SQL; the runtime fills it by
//! reading a live database (pg_attribute, pg_enum, pg_constraint). Both spell column
//! types exactly as `format_type(atttypid, atttypmod)` does with `search_path = public`,
//! so the two can be compared field by field.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::lex;

mod diff;
mod shape;

pub use diff::{differences, differences_with, Compare, Difference};
pub use shape::Shape;

/// Every object the model tracks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Catalog {
    /// Schemas other than `public`, in creation order.
    pub schemas: Vec<String>,
    /// Enum types.
    pub enums: Vec<Enum>,
    /// Domains.
    pub domains: Vec<Domain>,
    /// Composite types (`CREATE TYPE ... AS (...)`).
    pub composites: Vec<Composite>,
    /// Tables, in creation order.
    pub tables: Vec<Table>,
    /// Views and materialized views.
    pub views: Vec<View>,
}

/// A qualified name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct QualifiedName {
    /// The schema.
    pub schema: String,
    /// The object's name within it.
    pub name: String,
}

/// An enum type.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Enum {
    /// The schema.
    pub schema: String,
    /// The type's name.
    pub name: String,
    /// Labels in sort order.
    pub values: Vec<String>,
    /// `COMMENT ON TYPE`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub comment: Option<String>,
}

/// A domain.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Domain {
    /// The schema.
    pub schema: String,
    /// The domain's name.
    pub name: String,
    /// The base type.
    #[cfg_attr(feature = "serde", serde(rename = "type"))]
    pub ty: ColumnType,
    /// `NOT NULL` on the domain.
    pub not_null: bool,
    /// The domain's default expression.
    pub default: Option<String>,
    /// `COMMENT ON DOMAIN`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub comment: Option<String>,
}

/// A composite type.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Composite {
    /// The schema.
    pub schema: String,
    /// The type's name.
    pub name: String,
    /// Its attributes, in order (all nullable).
    pub attributes: Vec<Column>,
    /// `COMMENT ON TYPE`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub comment: Option<String>,
}

/// A column's type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ColumnType {
    /// The schema of a user-defined type (`None` for built-in types).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub schema: Option<String>,
    /// The base type's canonical name: `integer`, `character varying`,
    /// `timestamp without time zone`, or a user type's name as created.
    pub name: String,
    /// The type modifier as `format_type` prints it: `(255)`, `(12,2)`, `(3)`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub modifier: Option<String>,
    /// Whether it is an array (PostgreSQL does not record dimensions in the type).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "is_false"))]
    pub array: bool,
}

#[cfg(feature = "serde")]
fn is_false(b: &bool) -> bool {
    !*b
}

impl ColumnType {
    /// A built-in type without modifier.
    pub fn builtin(name: &str) -> ColumnType {
        ColumnType {
            schema: None,
            name: name.to_string(),
            modifier: None,
            array: false,
        }
    }

    /// The type as `format_type` spells it with `search_path = public`.
    pub fn format(&self) -> String {
        let mut s = match &self.schema {
            None => match (self.name.as_str(), &self.modifier) {
                // The modifier goes before the time zone words.
                (
                    "timestamp without time zone"
                    | "timestamp with time zone"
                    | "time without time zone"
                    | "time with time zone",
                    Some(m),
                ) => {
                    let (head, tail) = self.name.split_once(' ').unwrap_or((&self.name, ""));
                    format!("{head}{m} {tail}")
                }
                (name, Some(m)) => format!("{name}{m}"),
                (name, None) => name.to_string(),
            },
            Some(schema) if schema == "public" => quote_ident(&self.name),
            Some(schema) => format!("{}.{}", quote_ident(schema), quote_ident(&self.name)),
        };
        if self.array {
            s.push_str("[]");
        }
        s
    }

    /// Reads back what [`ColumnType::format`] printed. A quoted or qualified name is a
    /// user type; a bare name is taken as built-in (see [`Catalog::resolve_spellings`]
    /// for user types in `public` spelled bare).
    pub fn parse(spelled: &str) -> ColumnType {
        let (body, array) = match spelled.strip_suffix("[]") {
            Some(b) => (b, true),
            None => (spelled, false),
        };
        // Qualified or quoted: a user type.
        let tokens: Vec<lex::Token> = lex::significant(body).collect();
        let name = |t: &lex::Token| t.identifier(body).map(|n| n.into_owned());
        let quoted = tokens.iter().any(|t| t.kind == lex::Kind::QuotedIdent);
        let user = match tokens.as_slice() {
            [n] if quoted => name(n).map(|n| ("public".to_string(), n)),
            [s, dot, n] if dot.is(body, ".") => name(s).zip(name(n)),
            _ => None,
        };
        if let Some((schema, name)) = user {
            return ColumnType {
                schema: Some(schema),
                name,
                modifier: None,
                array,
            };
        }
        // Built-in, maybe with a modifier before the time zone words.
        match (body.find('('), body.find(')')) {
            (Some(open), Some(close)) if close > open => {
                let head = body[..open].trim_end();
                let tail = body[close + 1..].trim();
                let name = if tail.is_empty() {
                    head.to_string()
                } else {
                    format!("{head} {tail}")
                };
                ColumnType {
                    schema: None,
                    name,
                    modifier: Some(body[open..=close].to_string()),
                    array,
                }
            }
            _ => ColumnType {
                schema: None,
                name: body.to_string(),
                modifier: None,
                array,
            },
        }
    }

    /// The qualified name of a user-defined type.
    pub fn user_type(&self) -> Option<QualifiedName> {
        self.schema.as_ref().map(|s| QualifiedName {
            schema: s.clone(),
            name: self.name.clone(),
        })
    }
}

/// A column.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Column {
    /// The name.
    pub name: String,
    /// The type.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "type",
            serialize_with = "ser_type",
            deserialize_with = "de_type"
        )
    )]
    pub ty: ColumnType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// The default expression, as written.
    pub default: Option<String>,
    /// `always` or `by default` for identity columns.
    pub identity: Option<String>,
    /// The generation expression of a `GENERATED ALWAYS AS (...) STORED` column.
    pub generated: Option<String>,
    /// `COMMENT ON COLUMN`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub comment: Option<String>,
}

#[cfg(feature = "serde")]
fn ser_type<S: serde::Serializer>(t: &ColumnType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.format())
}

#[cfg(feature = "serde")]
fn de_type<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ColumnType, D::Error> {
    // The JSON form carries the spelling; `Catalog::resolve_spellings` finishes the job
    // for user types in `public`, which are spelled without their schema.
    let s = String::deserialize(d)?;
    Ok(ColumnType::parse(&s))
}

/// A named constraint over columns (primary key, unique).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct KeyConstraint {
    /// The constraint's name.
    pub name: String,
    /// Its columns.
    pub columns: Vec<String>,
}

/// A foreign key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ForeignKey {
    /// The constraint's name.
    pub name: String,
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced table.
    pub references: QualifiedName,
    /// The referenced columns (empty: the primary key).
    pub referenced_columns: Vec<String>,
    /// `ON DELETE` action, when not NO ACTION.
    pub on_delete: Option<String>,
    /// `ON UPDATE` action, when not NO ACTION.
    pub on_update: Option<String>,
}

/// A check constraint.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Check {
    /// The constraint's name.
    pub name: String,
    /// The expression, as written.
    pub expression: String,
}

/// An index.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Index {
    /// Its name.
    pub name: String,
    /// Whether it is unique.
    pub unique: bool,
    /// Its key columns or expressions, as written.
    pub columns: Vec<String>,
    /// The access method (`btree`, `gin`...).
    pub method: String,
}

/// A row-level-security policy.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Policy {
    /// Its name.
    pub name: String,
    /// `ALL`, `SELECT`, `INSERT`, `UPDATE` or `DELETE`.
    pub command: String,
    /// `USING (...)`.
    pub using: Option<String>,
    /// `WITH CHECK (...)`.
    pub with_check: Option<String>,
}

/// A table.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Table {
    /// The schema.
    pub schema: String,
    /// The name.
    pub name: String,
    /// Columns in table order.
    pub columns: Vec<Column>,
    /// The primary key.
    pub primary_key: Option<KeyConstraint>,
    /// Unique constraints.
    pub uniques: Vec<KeyConstraint>,
    /// Check constraints.
    pub checks: Vec<Check>,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
    /// Indexes (not those behind constraints).
    pub indexes: Vec<Index>,
    /// `ENABLE ROW LEVEL SECURITY`.
    pub row_level_security: bool,
    /// `FORCE ROW LEVEL SECURITY`.
    pub force_row_level_security: bool,
    /// Policies.
    pub policies: Vec<Policy>,
    /// `COMMENT ON TABLE`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub comment: Option<String>,
    /// Where the migrations create it (`file:line:column`), for messages.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub origin: Option<String>,
    /// Why the columns are not known (a `CREATE TABLE ... AS SELECT` the model cannot
    /// resolve), with where it happened. `None` for a fully known table.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub unresolved: Option<String>,
}

impl Table {
    /// A new table with no columns.
    pub fn new(schema: &str, name: &str) -> Table {
        Table {
            schema: schema.to_string(),
            name: name.to_string(),
            columns: Vec::new(),
            primary_key: None,
            uniques: Vec::new(),
            checks: Vec::new(),
            foreign_keys: Vec::new(),
            indexes: Vec::new(),
            row_level_security: false,
            force_row_level_security: false,
            policies: Vec::new(),
            comment: None,
            origin: None,
            unresolved: None,
        }
    }

    /// The column with this name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A view.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct View {
    /// The schema.
    pub schema: String,
    /// The name.
    pub name: String,
    /// Whether it is materialized.
    pub materialized: bool,
    /// Its columns, when the SELECT is simple enough to resolve against the catalog;
    /// `None` otherwise ("unresolved").
    pub columns: Option<Vec<Column>>,
    /// `COMMENT ON VIEW`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub comment: Option<String>,
}

impl Catalog {
    /// The table `schema.name`.
    pub fn table(&self, schema: &str, name: &str) -> Option<&Table> {
        self.tables
            .iter()
            .find(|t| t.schema == schema && t.name == name)
    }

    /// The enum `schema.name`.
    pub fn enum_type(&self, schema: &str, name: &str) -> Option<&Enum> {
        self.enums
            .iter()
            .find(|e| e.schema == schema && e.name == name)
    }

    /// After reading the JSON form back: a bare type name that is a user type of
    /// `public` (an enum, domain or composite spelled without quotes) becomes one.
    pub fn resolve_spellings(&mut self) {
        let user: std::collections::BTreeSet<String> = self
            .enums
            .iter()
            .map(|e| (&e.schema, &e.name))
            .chain(self.domains.iter().map(|d| (&d.schema, &d.name)))
            .chain(self.composites.iter().map(|c| (&c.schema, &c.name)))
            .filter(|(s, _)| s.as_str() == "public")
            .map(|(_, n)| n.clone())
            .collect();
        let fix = |t: &mut ColumnType| {
            if t.schema.is_none() && t.modifier.is_none() && user.contains(&t.name) {
                t.schema = Some("public".to_string());
            }
        };
        for t in &mut self.tables {
            t.columns.iter_mut().for_each(|c| fix(&mut c.ty));
        }
        for v in &mut self.views {
            v.columns.iter_mut().flatten().for_each(|c| fix(&mut c.ty));
        }
        for c in &mut self.composites {
            c.attributes.iter_mut().for_each(|a| fix(&mut a.ty));
        }
        for d in &mut self.domains {
            fix(&mut d.ty);
        }
    }
}

/// Quotes an identifier the way PostgreSQL's `quote_ident` does: only when needed
/// (anything but lowercase letters, digits and `_`, a leading digit, or a reserved
/// keyword).
pub fn quote_ident(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !RESERVED.contains(&s);
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// PostgreSQL's reserved keywords and the type-function ones `quote_ident` also quotes
/// (from `src/include/parser/kwlist.h`: RESERVED_KEYWORD, TYPE_FUNC_NAME_KEYWORD and
/// COL_NAME_KEYWORD).
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "json",
    "json_array",
    "json_arrayagg",
    "json_exists",
    "json_object",
    "json_objectagg",
    "json_query",
    "json_scalar",
    "json_serialize",
    "json_table",
    "json_value",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "merge_action",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_spell_like_format_type() {
        let t = |name: &str, m: Option<&str>, array: bool| {
            ColumnType {
                schema: None,
                name: name.into(),
                modifier: m.map(str::to_string),
                array,
            }
            .format()
        };
        assert_eq!(
            t("timestamp without time zone", Some("(3)"), false),
            "timestamp(3) without time zone"
        );
        assert_eq!(
            t("character varying", Some("(255)"), true),
            "character varying(255)[]"
        );
        assert_eq!(t("numeric", Some("(12,2)"), false), "numeric(12,2)");
        assert_eq!(t("text", None, true), "text[]");
        let u = |schema: &str, name: &str| {
            ColumnType {
                schema: Some(schema.into()),
                name: name.into(),
                modifier: None,
                array: false,
            }
            .format()
        };
        assert_eq!(u("public", "ChatMessageRole"), "\"ChatMessageRole\"");
        assert_eq!(u("public", "sort_type_enum"), "sort_type_enum");
        assert_eq!(u("billing", "plan_tier"), "billing.plan_tier");
        assert_eq!(u("public", "user"), "\"user\"");
    }

    #[test]
    fn spellings_read_back() {
        for (spelled, schema, name, modifier, array) in [
            (
                "timestamp(3) without time zone",
                None,
                "timestamp without time zone",
                Some("(3)"),
                false,
            ),
            (
                "character varying(255)[]",
                None,
                "character varying",
                Some("(255)"),
                true,
            ),
            ("numeric(12,2)", None, "numeric", Some("(12,2)"), false),
            ("text", None, "text", None, false),
            (
                "\"ChatMessageRole\"",
                Some("public"),
                "ChatMessageRole",
                None,
                false,
            ),
            (
                "billing.plan_tier",
                Some("billing"),
                "plan_tier",
                None,
                false,
            ),
            (
                "\"Odd.Schema\".\"x\"\"y\"",
                Some("Odd.Schema"),
                "x\"y",
                None,
                false,
            ),
            ("double precision", None, "double precision", None, false),
        ] {
            let t = ColumnType::parse(spelled);
            assert_eq!(
                (
                    t.schema.as_deref(),
                    t.name.as_str(),
                    t.modifier.as_deref(),
                    t.array
                ),
                (schema, name, modifier, array),
                "{spelled}"
            );
            assert_eq!(t.format(), spelled);
        }
    }
}
