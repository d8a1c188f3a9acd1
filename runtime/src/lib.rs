//! Applies embedded migrations to a live PostgreSQL database, safely, at startup.
//!
//! [`Migrations`] holds every migration of a crate (built by `pgstrata::embed_migrations!`);
//! [`Migrations::run`] (tokio-postgres) and [`Migrations::run_blocking`] (postgres) bring
//! a database up to date, and [`Migrations::runner`] returns a [`Runner`] with options.
//!
//! ```no_run
//! # async fn f(migrations: &pgstrata_runtime::Migrations, client: &mut tokio_postgres::Client)
//! # -> Result<(), pgstrata_runtime::Error> {
//! let report = migrations.run(client).await?;
//! for m in &report.applied {
//!     println!("applied V{}__{} in {:?}", m.version, m.name, m.duration);
//! }
//! # Ok(()) }
//! ```
//!
//! Guarantees:
//! - Nothing to do costs one round trip, with no lock taken.
//! - Exactly once under concurrent starts: an advisory lock, taken by polling, before
//!   the history is read again and anything is applied.
//! - Each migration and its history row commit in one transaction, unless the migration
//!   cannot run in one; such a migration is recorded `running`, then `applied` or
//!   `failed`, and a failed one blocks later runs until resolved.
//! - An applied migration whose file changed is refused, with both checksums.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod adopt;
mod apply;
mod conn;
mod environment;
mod error;
mod fault;
pub mod history;
pub mod introspect;
pub mod invalid;
mod locate;
mod lock;
mod message;
mod migrations;
mod outside;
pub mod plan;
mod report;
mod revert;
mod runner;
pub mod status;
#[cfg(test)]
mod test_support;

pub use pgstrata_core::{Migration, NoTransactionReason, Span, Transaction};

pub use adopt::{ForeignHistory, Tool};
pub use error::{Error, ErrorKind, StatementInfo};
pub use migrations::{Migrations, SchemaCheck};
pub use report::{AppliedMigration, Progress, Report, UnknownMigration};
pub use runner::Runner;

/// Connects to PostgreSQL without TLS and drives the connection on the current tokio
/// runtime: the two lines every service writes before `MIGRATIONS.run`.
///
/// Why it is here: `tokio_postgres::connect` is generic over the TLS connector, so
/// calling it compiles tokio-postgres's connection code into the calling crate, again
/// on every rebuild after a migration changes. This function is compiled once, in
/// pgstrata. With TLS, call `tokio_postgres::connect` with your connector and spawn the
/// connection yourself.
///
/// The connection task ends when the client is dropped; an error that ends it sooner
/// is logged as a `tracing` warning (the client's next call then fails).
///
/// # Errors
/// The configuration string does not parse, or the server cannot be reached or refuses
/// the login.
///
/// # Panics
/// Outside a tokio runtime, as `tokio::spawn` does.
pub fn connect(
    config: &str,
) -> BoxFuture<'_, Result<tokio_postgres::Client, tokio_postgres::Error>> {
    Box::pin(async move {
        let (client, connection) = self::config(config)?.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "PostgreSQL connection ended");
            }
        });
        Ok(client)
    })
}

/// Reads a connection string (a URL or libpq's `key=value` form) as pgstrata connects
/// with it: what the string leaves out comes from libpq's environment variables
/// (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGAPPNAME`,
/// `PGCONNECT_TIMEOUT`, `PGSSLMODE`), as it would for `psql`; a session names itself `pgstrata` in `pg_stat_activity` unless the string
/// gives an `application_name`, so an operator looking at a waiting lock sees who holds it.
///
/// # Errors
/// The string does not parse.
pub fn config(s: &str) -> Result<tokio_postgres::Config, tokio_postgres::Error> {
    let mut config: tokio_postgres::Config = s.parse()?;
    environment::fill(&mut config, s, |k| std::env::var(k).ok())?;
    if config.get_application_name().is_none() {
        config.application_name("pgstrata");
    }
    Ok(config)
}

/// The future the runner's async methods return.
///
/// Boxed on purpose: an `async fn` body is compiled again in every crate that awaits
/// it, so a service awaiting `MIGRATIONS.run` would recompile the whole runner each
/// time a migration changes. Behind a box it is compiled once, here; the allocation is
/// nothing beside a database round trip.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// The default history table.
pub const DEFAULT_TABLE: &str = "pgstrata_migrations";
