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

/// A query checked at compile time, with no database, against the schema the
/// migrations build: `query!("SELECT id, name FROM users WHERE id = $1", id)`.
///
/// Returns a [`Query`]; run it with `fetch_all`, `fetch_one`, `fetch_optional` or
/// `execute` (and their `_blocking` twins). Its rows are a struct with one field per
/// result column, typed (`Option` where the column can be NULL). Each argument is
/// checked against its parameter's type. Needs the catalog in `OUT_DIR`: a build
/// script calling `pgstrata_codegen::Builder::new("migrations").catalog()`.
/// Generated enums in results are named as `pgstrata.toml`'s `[queries] schema` says,
/// or bare (bring them in with `use db::schema::*`).
pub use pgstrata_macros::query;

/// [`query!`] reading rows into a struct of yours, field by field: a missing field, an
/// extra one or a field of another type is a compile error.
/// `query_as!(User, "SELECT id, name FROM users")`.
pub use pgstrata_macros::query_as;

pub use pgstrata_runtime::{
    connect, AppliedMigration, BoxFuture, Error, ErrorKind, Migration, Migrations, Progress,
    Report, Runner, SchemaCheck, StatementInfo, UnknownMigration, DEFAULT_TABLE,
};

mod query;
mod sql;

pub use query::{Param, Query, QueryArgs};

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
    #[cfg(feature = "cidr")]
    pub use cidr;
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

/// A generated insert struct (`New...`): its table, the values it sets, and
/// [`insert`](Insertable::insert).
///
/// Generated code implements it. `insert` is this trait's method rather than one
/// generated per table: rustc checks a provided method once, where a method per table
/// cost a service with 500 tables a third of a second on every rebuild. Bring it into
/// scope with `use pgstrata::Insertable;`.
pub trait Insertable: Sync {
    /// The row struct the insert returns.
    type Row: FromRow;
    /// The table, quoted for SQL.
    const TABLE: &'static str;
    /// The quoted column list read back after the insert.
    const RETURNING: &'static str;
    /// Every insertable column and its value, in field order; `None` leaves it to the
    /// database.
    fn values(
        &self,
    ) -> Vec<(
        &'static str,
        Option<&(dyn tokio_postgres::types::ToSql + Sync)>,
    )>;

    /// Inserts the row and returns it as stored (defaults filled in): `INSERT ...
    /// RETURNING` with the columns given, `DEFAULT VALUES` when none is.
    ///
    /// Works on a `tokio_postgres::Client` and inside a `Transaction`.
    ///
    /// # Errors
    /// The insert fails (a constraint, a missing table), or the row read back does not
    /// decode as [`Self::Row`].
    fn insert<'a, C>(
        &'a self,
        client: &'a C,
    ) -> BoxFuture<'a, Result<Self::Row, tokio_postgres::Error>>
    where
        C: tokio_postgres::GenericClient + Sync,
        Self: Sized,
    {
        Box::pin(__private::insert_row(client, self))
    }

    /// [`insert`](Insertable::insert) on a blocking `postgres::Client` or inside its
    /// `Transaction`.
    ///
    /// # Errors
    /// As [`insert`](Insertable::insert).
    #[cfg(feature = "blocking")]
    fn insert_blocking<C>(&self, client: &mut C) -> Result<Self::Row, tokio_postgres::Error>
    where
        C: postgres::GenericClient,
        Self: Sized,
    {
        __private::insert_row_blocking(client, self)
    }
}

/// Expands its input when pgstrata is built with its `blocking` feature (generated code
/// uses it for the `_blocking` twin of each query, so the twin exists exactly when the
/// `postgres` client does).
#[cfg(feature = "blocking")]
#[doc(hidden)]
#[macro_export]
macro_rules! __pgstrata_blocking {
    ($($t:tt)*) => { $($t)* };
}

/// Expands its input when pgstrata is built with its `blocking` feature.
#[cfg(not(feature = "blocking"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __pgstrata_blocking {
    ($($t:tt)*) => {};
}

/// `Param` impls for a generated type, so `query!` accepts it as an argument.
#[doc(hidden)]
#[macro_export]
macro_rules! __pgstrata_param {
    ($t:ty) => {
        impl ::pgstrata::Param<$t> for $t {}
        impl ::pgstrata::Param<$t> for &$t {}
        impl ::pgstrata::Param<::core::option::Option<$t>> for $t {}
        impl ::pgstrata::Param<::core::option::Option<$t>> for &$t {}
    };
}

/// What generated code refers to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "blocking")]
    pub use crate::query::blocking;
    pub use crate::query::{check, exec, many, maybe, one, rows, Args, Decode};
    pub use crate::sql::*;
    pub use pgstrata_core::catalog::Shape;
    pub use pgstrata_core::{Migration, MigrationParts, NoTransactionReason, Span, Transaction};
    #[cfg(feature = "blocking")]
    pub use postgres::GenericClient as BlockingClient;
    pub use postgres_types::private::BytesMut;
    pub use postgres_types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
    pub use tokio_postgres::Statement;
    pub use tokio_postgres::{Error as PgError, GenericClient, Row};

    /// Inserts a generated insert struct and reads the row back. One generic function
    /// serves every table, so each table adds only its column list to the build.
    ///
    /// # Errors
    /// The insert fails, or the row does not decode.
    pub async fn insert_row<C: GenericClient + Sync, I: crate::Insertable>(
        client: &C,
        new: &I,
    ) -> Result<I::Row, PgError> {
        let values = new.values();
        let (sql, params) = insert_sql(I::TABLE, &values, I::RETURNING);
        let row = client.query_one(sql.as_str(), &params).await?;
        <I::Row as crate::FromRow>::from_row(&row)
    }

    /// `Debug` of a generated insert struct, formatted as `#[derive(Debug)]` would
    /// (`NewUser { id: 1, name: None }`) from its [`values`](crate::Insertable::values):
    /// one generic function instead of a derived body per table, which was an eighth
    /// of the rebuild of a service with 500 tables. `fields` holds each field's name and
    /// whether it is an `Option`, in the order of `values`.
    ///
    /// # Errors
    /// The formatter fails.
    pub fn debug_insert<I: crate::Insertable>(
        new: &I,
        name: &str,
        fields: &[(&str, bool)],
        f: &mut std::fmt::Formatter<'_>,
    ) -> std::fmt::Result {
        let mut s = f.debug_struct(name);
        for ((field, optional), (_, value)) in fields.iter().zip(new.values()) {
            match (optional, value) {
                (true, Some(v)) => s.field(field, &Some(v)),
                (true, None) => s.field(field, &None::<()>),
                (false, Some(v)) => s.field(field, &v),
                // A required field always has its value; shown as absent should the
                // two lists ever disagree.
                (false, None) => s.field(field, &format_args!("<none>")),
            };
        }
        s.finish()
    }

    /// Decodes a row as `T` and drops it (the `check_row` of [`crate::TableInfo`]): one
    /// generic function rather than a closure per table.
    ///
    /// # Errors
    /// The row does not decode.
    #[inline]
    pub fn check_row<T: crate::FromRow>(row: &Row) -> Result<(), PgError> {
        T::from_row(row).map(|_| ())
    }

    /// [`insert_row`] on a blocking `postgres` client or transaction.
    ///
    /// # Errors
    /// The insert fails, or the row does not decode.
    #[cfg(feature = "blocking")]
    pub fn insert_row_blocking<C: BlockingClient, I: crate::Insertable>(
        client: &mut C,
        new: &I,
    ) -> Result<I::Row, PgError> {
        let values = new.values();
        let (sql, params) = insert_sql(I::TABLE, &values, I::RETURNING);
        let row = client.query_one(sql.as_str(), &params)?;
        <I::Row as crate::FromRow>::from_row(&row)
    }

    /// `INSERT INTO table (given columns) VALUES ($1, ...) RETURNING ...`, or `DEFAULT
    /// VALUES` when no column is given, and its parameters: only the columns given a
    /// value. One function for every generated insert struct, so each adds only its list
    /// of columns to the build.
    fn insert_sql<'v>(
        table: &str,
        values: &[(&str, Option<&'v (dyn ToSql + Sync)>)],
        returning: &str,
    ) -> (String, Vec<&'v (dyn ToSql + Sync)>) {
        let given: Vec<(&str, &(dyn ToSql + Sync))> = values
            .iter()
            .filter_map(|(c, v)| v.map(|v| (*c, v)))
            .collect();
        let sql = if given.is_empty() {
            format!("INSERT INTO {table} DEFAULT VALUES RETURNING {returning}")
        } else {
            let columns: Vec<&str> = given.iter().map(|(c, _)| *c).collect();
            let params: Vec<String> = (1..=given.len()).map(|i| format!("${i}")).collect();
            format!(
                "INSERT INTO {table} ({}) VALUES ({}) RETURNING {returning}",
                columns.join(", "),
                params.join(", ")
            )
        };
        (sql, given.into_iter().map(|(_, v)| v).collect())
    }
}
