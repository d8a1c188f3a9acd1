//! PostgreSQL migrations compiled into your binary, and applied safely at startup.
//!
//! ```ignore
//! mod db {
//!     pgstrata::embed_migrations!("migrations"); // relative to Cargo.toml
//! }
//!
//! # async fn start(client: &mut tokio_postgres::Client) -> Result<(), pgstrata::Error> {
//! let report = db::MIGRATIONS.run(client).await?;
//! # Ok(()) }
//! ```
//!
//! See [`embed_migrations!`] for what the macro reads and generates, and [`Runner`] for
//! the options of a run.
#![deny(missing_docs)]

#[doc = include_str!("embed_migrations.md")]
pub use pgstrata_macros::embed_migrations;

pub use pgstrata_runtime::{
    AppliedMigration, Error, ErrorKind, Migration, Migrations, Report, Runner, StatementInfo,
    UnknownMigration, DEFAULT_TABLE,
};

mod sql;

pub use pgstrata_core::catalog;
pub use pgstrata_runtime::introspect;

/// Reads a generated row struct from a row of tokio-postgres (or postgres, the same
/// type) by column name.
pub trait FromRow: Sized {
    /// Reads the struct's columns from `row`.
    ///
    /// # Errors
    /// A column is missing or has another type.
    fn from_row(row: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error>;
}

/// The crates of generated columns' types, as pgstrata was built with them (see its
/// cargo features), so code using generated structs can name `pgstrata::types::uuid::Uuid`
/// without depending on each crate itself.
pub mod types {
    #[cfg(feature = "bit-vec")]
    pub use bit_vec;
    #[cfg(feature = "chrono")]
    pub use chrono;
    #[cfg(feature = "eui48")]
    pub use eui48;
    #[cfg(feature = "geo-types")]
    pub use geo_types;
    #[cfg(feature = "rust_decimal")]
    pub use rust_decimal;
    #[cfg(feature = "serde_json")]
    pub use serde_json;
    #[cfg(feature = "time")]
    pub use time;
    #[cfg(feature = "uuid")]
    pub use uuid;
}

/// A generated table, for code that handles every table alike (checks, tests, tools).
#[derive(Clone, Copy, Debug)]
pub struct TableInfo {
    /// The table's name, quoted and qualified for SQL.
    pub sql_name: &'static str,
    /// The columns of its row struct, in table order.
    pub columns: &'static [&'static str],
    /// Decodes a row into the row struct and drops it: whether the types agree.
    pub check_row: fn(&tokio_postgres::Row) -> Result<(), tokio_postgres::Error>,
}

/// What generated code refers to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::sql::*;
    pub use pgstrata_core::{Migration, MigrationParts, NoTransactionReason, Span, Transaction};
    pub use postgres_types::private::BytesMut;
    pub use postgres_types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
    pub use tokio_postgres::{Error as PgError, GenericClient, Row};

    /// `INSERT INTO table (columns) VALUES ($1, ...) RETURNING returning`, or
    /// `DEFAULT VALUES` when no column is given.
    pub fn insert_sql(table: &str, columns: &[&str], returning: &str) -> String {
        if columns.is_empty() {
            return format!("INSERT INTO {table} DEFAULT VALUES RETURNING {returning}");
        }
        let params: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        format!(
            "INSERT INTO {table} ({}) VALUES ({}) RETURNING {returning}",
            columns.join(", "),
            params.join(", ")
        )
    }
}
