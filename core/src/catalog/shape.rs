//! The schema compiled into a binary, as static data.

use super::{Catalog, Column, ColumnType, Enum, KeyConstraint, Table};

/// The schema compiled into a binary by `embed_migrations!`: what its generated types
/// expect, as static data, for checking a live database at startup.
#[derive(Debug)]
pub struct Shape {
    /// Every table.
    pub tables: &'static [ShapeTable],
    /// Every enum type.
    pub enums: &'static [ShapeEnum],
}

/// A table of a [`Shape`].
#[derive(Debug)]
pub struct ShapeTable {
    /// The schema.
    pub schema: &'static str,
    /// The name.
    pub name: &'static str,
    /// Columns in table order.
    pub columns: &'static [ShapeColumn],
    /// Primary key columns (empty: none).
    pub primary_key: &'static [&'static str],
}

/// A column of a [`ShapeTable`].
#[derive(Debug)]
pub struct ShapeColumn {
    /// The name.
    pub name: &'static str,
    /// The type, as `format_type` spells it.
    pub ty: &'static str,
    /// Whether NULL is allowed.
    pub nullable: bool,
}

/// An enum of a [`Shape`].
#[derive(Debug)]
pub struct ShapeEnum {
    /// The schema.
    pub schema: &'static str,
    /// The name.
    pub name: &'static str,
    /// Labels in order.
    pub values: &'static [&'static str],
}

impl Shape {
    /// The shape as a [`Catalog`], to compare with [`differences`].
    pub fn catalog(&self) -> Catalog {
        let tables = self
            .tables
            .iter()
            .map(|t| {
                let mut table = Table::new(t.schema, t.name);
                table.columns = t
                    .columns
                    .iter()
                    .map(|c| {
                        let (base, array) = match c.ty.strip_suffix("[]") {
                            Some(b) => (b, true),
                            None => (c.ty, false),
                        };
                        Column {
                            name: c.name.to_string(),
                            ty: ColumnType {
                                schema: None,
                                name: base.to_string(),
                                modifier: None,
                                array,
                            },
                            nullable: c.nullable,
                            default: None,
                            identity: None,
                            generated: None,
                            comment: None,
                        }
                    })
                    .collect();
                if !t.primary_key.is_empty() {
                    table.primary_key = Some(KeyConstraint {
                        name: String::new(),
                        columns: t.primary_key.iter().map(|c| (*c).to_string()).collect(),
                    });
                }
                table
            })
            .collect();
        let enums = self
            .enums
            .iter()
            .map(|e| Enum {
                schema: e.schema.to_string(),
                name: e.name.to_string(),
                values: e.values.iter().map(|v| (*v).to_string()).collect(),
                comment: None,
            })
            .collect();
        Catalog {
            tables,
            enums,
            ..Catalog::default()
        }
    }
}
