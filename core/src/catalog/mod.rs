//! The catalog: the schema the migrations build, as PostgreSQL's own catalog would show
//! it. (pgstrata calls this model "the catalog" everywhere.)
//!
//! The code generator fills it by replaying migration SQL; the runtime fills it by
//! reading a live database (pg_attribute, pg_enum, pg_constraint). Both spell column
//! types exactly as `format_type(atttypid, atttypmod)` does with `search_path = public`,
//! so the two can be compared field by field.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

mod column_type;
mod diff;
mod ident;
mod shape;

pub use column_type::ColumnType;
pub use diff::{differences, differences_with, normal_default, Compare, DiffKind, Difference};
pub use ident::quote_ident;
pub use shape::Shape;

/// Every object the catalog tracks.
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
            serialize_with = "column_type::ser_type",
            deserialize_with = "column_type::de_type"
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
    /// Whether PostgreSQL can use it: an interrupted `CREATE INDEX CONCURRENTLY` leaves
    /// an invalid one behind (only a live database has such indexes).
    #[cfg_attr(
        feature = "serde",
        serde(default = "yes", skip_serializing_if = "is_true")
    )]
    pub valid: bool,
}

#[cfg(feature = "serde")]
fn yes() -> bool {
    true
}

#[cfg(feature = "serde")]
fn is_true(b: &bool) -> bool {
    *b
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
    /// Why the columns are not known (a `CREATE TABLE ... AS SELECT` the catalog cannot
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
