//! The schema compiled into a binary, as one string.

use super::{Catalog, Column, ColumnType, Enum, KeyConstraint, Table};
use crate::text::{record, unescape};
use crate::DecodeError;

/// The schema compiled into a binary by `embed_migrations!`: what its generated types
/// expect, for checking a live database at startup (`MIGRATIONS.verify`).
///
/// Held as one string literal, decoded only when a check runs: Rust data (a static of
/// table, column and enum structs) would make rustc type-check and evaluate one struct
/// literal per column on every rebuild, for data read at most once per start. The text is made by [`Shape::encode`]: one record per line,
/// fields separated by tabs, `\`, tab and newline escaped as `\\`, `\t`, `\n`:
///
/// - `T`, schema, name, then the primary key's columns: a table, whose columns follow;
/// - `C`, name, type (as `format_type` spells it), `1` if NULL is allowed, else `0`;
/// - `E`, schema, name, then the labels in order: an enum type.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    encoded: &'static str,
}

impl Shape {
    /// A shape from the text [`Shape::encode`] wrote (what generated code calls).
    #[doc(hidden)]
    pub const fn from_encoded(encoded: &'static str) -> Shape {
        Shape { encoded }
    }

    /// Encodes every table whose columns are known (views the catalog could not resolve
    /// are left out) and every enum of `catalog`.
    pub fn encode(catalog: &Catalog) -> String {
        let mut out = String::new();
        for t in catalog.tables.iter().filter(|t| t.unresolved.is_none()) {
            let pk = t.primary_key.iter().flat_map(|k| k.columns.iter());
            record(&mut out, "T", [&t.schema, &t.name].into_iter().chain(pk));
            for c in &t.columns {
                let nullable = if c.nullable { "1" } else { "0" };
                let ty = c.ty.format();
                record(&mut out, "C", [c.name.as_str(), ty.as_str(), nullable]);
            }
        }
        for e in &catalog.enums {
            record(
                &mut out,
                "E",
                [&e.schema, &e.name].into_iter().chain(&e.values),
            );
        }
        out
    }

    /// The shape as a [`Catalog`], to compare with [`differences`](super::differences).
    ///
    /// # Errors
    /// The text is not what [`Shape::encode`] writes.
    pub fn catalog(&self) -> Result<Catalog, DecodeError> {
        let mut catalog = Catalog::default();
        for (i, line) in self.encoded.lines().enumerate() {
            let err = |problem| DecodeError {
                what: "schema",
                line: i + 1,
                problem,
            };
            let fields: Vec<String> = line.split('\t').map(|f| unescape(f).into_owned()).collect();
            match fields.as_slice() {
                [kind, schema, name, pk @ ..] if kind == "T" => {
                    let mut table = Table::new(schema, name);
                    if !pk.is_empty() {
                        table.primary_key = Some(KeyConstraint {
                            name: String::new(),
                            columns: pk.to_vec(),
                        });
                    }
                    catalog.tables.push(table);
                }
                [kind, name, ty, nullable] if kind == "C" => {
                    let table = catalog
                        .tables
                        .last_mut()
                        .ok_or_else(|| err("a column before any table"))?;
                    let nullable = match nullable.as_str() {
                        "1" => true,
                        "0" => false,
                        _ => return Err(err("a column's nullability is not 0 or 1")),
                    };
                    let (base, array) = match ty.strip_suffix("[]") {
                        Some(b) => (b, true),
                        None => (ty.as_str(), false),
                    };
                    table.columns.push(Column {
                        name: name.clone(),
                        ty: ColumnType {
                            schema: None,
                            name: base.to_string(),
                            modifier: None,
                            array,
                        },
                        nullable,
                        default: None,
                        identity: None,
                        generated: None,
                        comment: None,
                    });
                }
                [kind, schema, name, values @ ..] if kind == "E" => catalog.enums.push(Enum {
                    schema: schema.clone(),
                    name: name.clone(),
                    values: values.to_vec(),
                    comment: None,
                }),
                _ => return Err(err("not a table, column or enum record")),
            }
        }
        Ok(catalog)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    #[test]
    fn names_with_separators_and_empty_labels_survive() {
        let mut t = Table::new("odd\tschema", "line\nbreak\\table");
        t.columns.push(Column {
            name: "tab\tcol".into(),
            ty: ColumnType {
                schema: None,
                name: "character varying(10)".into(),
                modifier: None,
                array: true,
            },
            nullable: true,
            default: None,
            identity: None,
            generated: None,
            comment: None,
        });
        t.primary_key = Some(KeyConstraint {
            name: String::new(),
            columns: vec!["tab\tcol".into()],
        });
        let catalog = Catalog {
            tables: vec![t],
            enums: vec![Enum {
                schema: "public".into(),
                name: "mood".into(),
                values: vec![String::new(), "a\\b".into(), "c\rd".into()],
                comment: None,
            }],
            ..Catalog::default()
        };
        let encoded = Shape::encode(&catalog);
        assert_eq!(encoded.lines().count(), 3, "{encoded}");
        let back = Shape::from_encoded(leak(encoded)).catalog().unwrap();
        let table = &back.tables[0];
        assert_eq!(
            (table.schema.as_str(), table.name.as_str()),
            ("odd\tschema", "line\nbreak\\table")
        );
        assert_eq!(table.columns[0].name, "tab\tcol");
        assert_eq!(table.columns[0].ty.name, "character varying(10)");
        assert!(table.columns[0].ty.array && table.columns[0].nullable);
        assert_eq!(
            table.primary_key.as_ref().unwrap().columns,
            vec!["tab\tcol".to_string()]
        );
        assert_eq!(
            back.enums[0].values,
            vec![String::new(), "a\\b".into(), "c\rd".into()]
        );
    }

    #[test]
    fn malformed_text_is_an_error_with_its_line() {
        let e = Shape::from_encoded("T\tpublic\tt\nC\tid\tbigint\tmaybe\n")
            .catalog()
            .unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.to_string().contains("rebuild"), "{e}");
        let e = Shape::from_encoded("C\tid\tbigint\t0\n")
            .catalog()
            .unwrap_err();
        assert_eq!((e.line, e.problem), (1, "a column before any table"));
        assert!(Shape::from_encoded("X\n").catalog().is_err());
        assert!(Shape::from_encoded("").catalog().unwrap().tables.is_empty());
    }
}
