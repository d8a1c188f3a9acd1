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

pub use pgstrata_core::catalog;
pub use pgstrata_runtime::introspect;

/// What generated code refers to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use pgstrata_core::{Migration, MigrationParts, NoTransactionReason, Span, Transaction};
}
