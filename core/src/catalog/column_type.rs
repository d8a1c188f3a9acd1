//! A column's type as `format_type` spells it, and reading that spelling back.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use super::{quote_ident, QualifiedName};
use crate::lex;

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

#[cfg(feature = "serde")]
pub(super) fn ser_type<S: serde::Serializer>(t: &ColumnType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.format())
}

#[cfg(feature = "serde")]
pub(super) fn de_type<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ColumnType, D::Error> {
    // The JSON form carries the spelling; `Catalog::resolve_spellings` finishes the job
    // for user types in `public`, which are spelled without their schema.
    let s = String::deserialize(d)?;
    Ok(ColumnType::parse(&s))
}

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
