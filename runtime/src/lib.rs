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

mod apply;
mod conn;
mod error;
mod fault;
pub mod history;
pub mod introspect;
mod lock;
pub mod plan;
mod report;
mod revert;
pub mod status;
#[cfg(test)]
mod test_support;

use std::sync::OnceLock;
use std::time::Duration;

use pgstrata_core::DecodeError;
pub use pgstrata_core::{Migration, NoTransactionReason, Span, Transaction};

pub use error::{Error, ErrorKind, StatementInfo};
pub use report::{AppliedMigration, Progress, Report, UnknownMigration};

use apply::Timeouts;
use conn::Conn;
use history::HistoryTable;
use pgstrata_core::catalog::{Difference, Shape};
use plan::{HistoryRow, PlanOptions};
use report::ProgressFn;

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
        let (client, connection) = tokio_postgres::connect(config, tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "PostgreSQL connection ended");
            }
        });
        Ok(client)
    })
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

/// A compiled text that does not decode: the crate was built by another version of
/// pgstrata, or its generated code was edited.
fn unreadable(e: &DecodeError) -> Error {
    Error::new(ErrorKind::Config, e.to_string())
}

/// A crate's migrations, in version order.
#[derive(Clone, Debug)]
pub struct Migrations {
    list: List,
    /// The schema the generated types expect (embedded migrations only).
    shape: Option<&'static Shape>,
}

/// Where a [`Migrations`] keeps its list.
#[derive(Clone, Debug)]
enum List {
    /// Loaded at run time.
    Loaded(Vec<Migration>),
    /// Compiled in by `embed_migrations!` as three texts (see
    /// [`pgstrata_core::embedded`]), decoded on first use: a string literal costs rustc
    /// almost nothing to compile, a static of 1000 migration values 0.6 s per rebuild.
    Encoded {
        heads: &'static str,
        index: &'static str,
        sql: &'static str,
        decoded: OnceLock<Result<Vec<Migration>, DecodeError>>,
    },
}

impl Migrations {
    /// Used by `embed_migrations!`: the texts of [`pgstrata_core::embedded::encode`].
    #[doc(hidden)]
    pub const fn __encoded(
        heads: &'static str,
        index: &'static str,
        sql: &'static str,
        shape: &'static Shape,
    ) -> Migrations {
        Migrations {
            list: List::Encoded {
                heads,
                index,
                sql,
                decoded: OnceLock::new(),
            },
            shape: Some(shape),
        }
    }

    /// The list, decoded on first use.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the compiled texts cannot be read (generated by
    /// another version of pgstrata).
    fn checked(&self) -> Result<&[Migration], Error> {
        match &self.list {
            List::Loaded(list) => Ok(list),
            List::Encoded {
                heads,
                index,
                sql,
                decoded,
            } => decoded
                .get_or_init(|| pgstrata_core::embedded::decode(heads, index, sql))
                .as_deref()
                .map_err(unreadable),
        }
    }

    /// Migrations loaded at run time (by `pgstrata_codegen::load`), sorted by version.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when two migrations share a version.
    pub fn new(mut list: Vec<Migration>) -> Result<Migrations, Error> {
        list.sort_by_key(Migration::version);
        if let Some(w) = list.windows(2).find(|w| w[0].version() == w[1].version()) {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "version {} is used twice: {} and {}",
                    w[0].version(),
                    w[0].file(),
                    w[1].file()
                ),
            ));
        }
        Ok(Migrations {
            list: List::Loaded(list),
            shape: None,
        })
    }

    /// The version and checksum of every migration, in order: all a start with nothing
    /// to do compares. An embedded list reads them from their own text each time, in a
    /// tenth of the time decoding the list takes (a start decodes it only when
    /// something is pending).
    fn heads(&self) -> Result<Vec<(i64, &str)>, Error> {
        match &self.list {
            List::Loaded(list) => Ok(list.iter().map(|m| (m.version(), m.checksum())).collect()),
            List::Encoded { heads, .. } => {
                pgstrata_core::embedded::heads(heads).map_err(|e| unreadable(&e))
            }
        }
    }

    /// Every migration, in version order.
    ///
    /// Empty when the compiled list cannot be read, which [`Migrations::run`] and the
    /// other database operations report as an error.
    pub fn iter(&self) -> std::slice::Iter<'_, Migration> {
        self.as_slice().iter()
    }

    /// Every migration, in version order (see [`Migrations::iter`]).
    pub fn as_slice(&self) -> &[Migration] {
        self.checked().unwrap_or_default()
    }

    /// How many migrations there are.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// The migration with this version.
    pub fn get(&self, version: i64) -> Option<&Migration> {
        self.iter().find(|m| m.version() == version)
    }

    /// A runner with options (target version, dry run, history table, lock timeout).
    pub fn runner(&self) -> Runner<'_> {
        Runner {
            migrations: self,
            target: None,
            dry_run: false,
            table: DEFAULT_TABLE.to_string(),
            lock_timeout: Duration::from_secs(60),
            plan: PlanOptions::default(),
            grouped: false,
            timeouts: Timeouts::default(),
            verify_schema: false,
            progress: ProgressFn::default(),
        }
    }

    /// Applies every pending migration with the default options.
    ///
    /// # Errors
    /// See [`Runner::run`].
    pub fn run<'a>(
        &'a self,
        client: &'a mut tokio_postgres::Client,
    ) -> BoxFuture<'a, Result<Report, Error>> {
        Box::pin(async move { self.runner().run_checked(client).await })
    }

    /// Applies every pending migration with the default options, on a blocking client.
    ///
    /// # Errors
    /// See [`Runner::run`].
    #[cfg(feature = "blocking")]
    pub fn run_blocking(&self, client: &mut postgres::Client) -> Result<Report, Error> {
        self.runner().run_blocking(client)
    }

    /// Reads the history table: every row, in version order (empty when the table does
    /// not exist yet).
    ///
    /// # Errors
    /// The query fails for another reason than a missing table.
    pub fn history<'a>(
        &'a self,
        client: &'a mut tokio_postgres::Client,
        table: &'a str,
    ) -> BoxFuture<'a, Result<Vec<HistoryRow>, Error>> {
        Box::pin(async move {
            let table = HistoryTable::parse(table)?;
            Ok(history::read(client, &table).await?.unwrap_or_default())
        })
    }
}

impl Migrations {
    /// [`Migrations::history`] on a blocking client.
    ///
    /// # Errors
    /// The query fails for another reason than a missing table.
    #[cfg(feature = "blocking")]
    pub fn history_blocking(
        &self,
        client: &mut postgres::Client,
        table: &str,
    ) -> Result<Vec<HistoryRow>, Error> {
        let table = HistoryTable::parse(table)?;
        Ok(conn::block_on(history::read(client, &table))?.unwrap_or_default())
    }

    /// Compares the live schema with the one compiled into the binary: tables, columns
    /// (type, nullability), primary keys and enum labels. The generated structs are only
    /// as good as this check.
    ///
    /// # Errors
    /// The migrations were loaded at run time (no compiled schema), or the catalog
    /// cannot be read.
    pub fn verify<'a>(
        &'a self,
        client: &'a mut tokio_postgres::Client,
    ) -> BoxFuture<'a, Result<SchemaCheck, Error>> {
        Box::pin(self.verify_on(client, DEFAULT_TABLE))
    }

    /// [`Migrations::verify`] on a blocking client.
    ///
    /// # Errors
    /// See [`Migrations::verify`].
    #[cfg(feature = "blocking")]
    pub fn verify_blocking(&self, client: &mut postgres::Client) -> Result<SchemaCheck, Error> {
        conn::block_on(self.verify_on(client, DEFAULT_TABLE))
    }

    async fn verify_on<C: Conn>(
        &self,
        conn: &mut C,
        history_table: &str,
    ) -> Result<SchemaCheck, Error> {
        let Some(shape) = self.shape else {
            return Err(Error::new(
                ErrorKind::Config,
                "these migrations were loaded at run time and carry no compiled schema: verify needs embed_migrations!",
            ));
        };
        let live = introspect::read(conn).await?;
        let table = HistoryTable::parse(history_table)?;
        let name = table.display();
        let name = name.rsplit('.').next().unwrap_or_default();
        let compiled = shape
            .catalog()
            .map_err(|e| Error::new(ErrorKind::Config, e.to_string()))?;
        Ok(SchemaCheck {
            differences: pgstrata_core::catalog::differences(&compiled, &live, &[name]),
        })
    }

    /// Where every migration stands against a database's history (see [`status::status`]).
    pub fn status(&self, history: &[HistoryRow]) -> Vec<status::StatusRow> {
        status::status(history, self.as_slice())
    }
}

/// The result of [`Migrations::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaCheck {
    /// Every difference between the compiled schema and the database.
    pub differences: Vec<Difference>,
}

impl SchemaCheck {
    /// Whether generated code can trust the database: nothing missing or retyped
    /// (tables and columns added out of band are tolerated).
    pub fn is_ok(&self) -> bool {
        self.differences.iter().all(|d| d.extra)
    }

    /// The differences that make the check fail.
    pub fn problems(&self) -> impl Iterator<Item = &Difference> {
        self.differences.iter().filter(|d| !d.extra)
    }
}

impl<'a> IntoIterator for &'a Migrations {
    type Item = &'a Migration;
    type IntoIter = std::slice::Iter<'a, Migration>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Options for one run. Every setter takes and returns the runner by value.
#[derive(Clone, Debug)]
#[must_use = "a runner does nothing until `run` is called"]
pub struct Runner<'m> {
    migrations: &'m Migrations,
    target: Option<i64>,
    dry_run: bool,
    table: String,
    lock_timeout: Duration,
    plan: PlanOptions,
    grouped: bool,
    timeouts: Timeouts,
    verify_schema: bool,
    progress: ProgressFn,
}

impl<'m> Runner<'m> {
    /// Calls `f` as the run goes: before and after each migration, and before each
    /// statement of a migration that runs outside a transaction (those are the long
    /// ones: `CREATE INDEX CONCURRENTLY` on a big table).
    ///
    /// ```no_run
    /// # async fn f(m: &pgstrata_runtime::Migrations, c: &mut tokio_postgres::Client) -> Result<(), pgstrata_runtime::Error> {
    /// use pgstrata_runtime::Progress;
    /// m.runner()
    ///     .on_progress(|p| {
    ///         if let Progress::Applying { migration, .. } = p {
    ///             eprintln!("applying {migration}");
    ///         }
    ///     })
    ///     .run(c)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn on_progress(self, f: impl Fn(Progress<'_>) + Send + Sync + 'static) -> Runner<'m> {
        Runner {
            progress: ProgressFn(Some(std::sync::Arc::new(f))),
            ..self
        }
    }

    /// Applies migrations up to and including `version` only.
    pub fn target(self, version: i64) -> Runner<'m> {
        Runner {
            target: Some(version),
            ..self
        }
    }

    /// Plans without changing anything: the report's `pending` lists what would be
    /// applied. Takes no lock and creates no table.
    pub fn dry_run(self, dry_run: bool) -> Runner<'m> {
        Runner { dry_run, ..self }
    }

    /// The history table, `table` or `schema.table` (default `pgstrata_migrations`).
    /// Names are case-sensitive and always quoted.
    pub fn history_table(self, name: impl Into<String>) -> Runner<'m> {
        Runner {
            table: name.into(),
            ..self
        }
    }

    /// How long to wait for another process's migration lock (default 60 s).
    pub fn lock_timeout(self, timeout: Duration) -> Runner<'m> {
        Runner {
            lock_timeout: timeout,
            ..self
        }
    }

    /// Allows applying a migration older than the newest applied one (default: refused).
    pub fn allow_out_of_order(self, allow: bool) -> Runner<'m> {
        Runner {
            plan: PlanOptions {
                allow_out_of_order: allow,
                ..self.plan
            },
            ..self
        }
    }

    /// Tolerates applied migrations this binary does not know, as an older replica sees
    /// during a rolling deploy (default: tolerated, and listed in the report).
    pub fn allow_ahead(self, allow: bool) -> Runner<'m> {
        Runner {
            plan: PlanOptions {
                allow_ahead: allow,
                ..self.plan
            },
            ..self
        }
    }

    /// Applies all pending transactional migrations in one transaction (default: one
    /// transaction each). Faster for many small migrations; all or nothing. Migrations
    /// that cannot run in a transaction still run on their own, in order.
    ///
    /// The migrations of a group ran as one, so each records the group's time (in the
    /// history's `execution_ms` and the report's durations).
    pub fn grouped(self, grouped: bool) -> Runner<'m> {
        Runner { grouped, ..self }
    }

    /// `lock_timeout` for every migration without its own directive, e.g. `"5s"`: a
    /// migration that waits for a table lock fails instead of queueing every query
    /// behind it.
    pub fn migration_lock_timeout(self, value: impl Into<String>) -> Runner<'m> {
        Runner {
            timeouts: Timeouts {
                lock_timeout: Some(value.into()),
                ..self.timeouts
            },
            ..self
        }
    }

    /// `statement_timeout` for every migration without its own directive.
    pub fn migration_statement_timeout(self, value: impl Into<String>) -> Runner<'m> {
        Runner {
            timeouts: Timeouts {
                statement_timeout: Some(value.into()),
                ..self.timeouts
            },
            ..self
        }
    }

    /// After migrating, compares the live schema with the one compiled into the binary
    /// (see [`Migrations::verify`]) and fails the run when a table, column, type or enum
    /// label the generated code relies on differs (default: off).
    pub fn verify_schema(self, verify: bool) -> Runner<'m> {
        Runner {
            verify_schema: verify,
            ..self
        }
    }

    /// Brings the database up to date.
    ///
    /// # Errors
    /// A migration fails ([`ErrorKind::Migration`], naming the file, statement, line and
    /// SQLSTATE); the history refuses the plan (a failed migration, a changed file,
    /// out-of-order or unknown versions); the lock is not free in time or not really
    /// held; a query of the runner's fails. [`Error::report`] says what was applied
    /// before the error.
    pub fn run<'a>(
        &'a self,
        client: &'a mut tokio_postgres::Client,
    ) -> BoxFuture<'a, Result<Report, Error>> {
        Box::pin(self.run_checked(client))
    }

    async fn run_checked<C: Conn>(&self, conn: &mut C) -> Result<Report, Error> {
        let report = self.run_on(conn).await?;
        if self.verify_schema && !self.dry_run {
            let check = self
                .migrations
                .verify_on(conn, &self.table)
                .await
                .map_err(|e| e.with_report(report.clone()))?;
            if !check.is_ok() {
                let problems: Vec<String> = check.problems().map(|d| format!("  - {d}")).collect();
                return Err(Error::new(
                    ErrorKind::SchemaMismatch,
                    format!(
                        "the database's schema differs from the one this binary was built with:\n{}\n  help: run `pgstrata drift` to see all differences; the generated types cannot be trusted until they agree",
                        problems.join("\n")
                    ),
                )
                .with_report(report));
            }
        }
        Ok(report)
    }

    /// [`Runner::run`] for the blocking client.
    ///
    /// # Errors
    /// See [`Runner::run`].
    #[cfg(feature = "blocking")]
    pub fn run_blocking(&self, client: &mut postgres::Client) -> Result<Report, Error> {
        conn::block_on(self.run_checked(client))
    }

    /// Reverts every applied migration newer than `version` with its down SQL, newest
    /// first, under the migration lock. `0` reverts everything.
    ///
    /// # Errors
    /// Before anything is done: a failed or interrupted migration, an applied migration
    /// this binary does not have, or migrations without down SQL (all of them named).
    /// Then: a down SQL that fails ([`ErrorKind::Migration`]); [`Error::report`] lists
    /// what was reverted before it.
    pub fn revert_to<'a>(
        &'a self,
        client: &'a mut tokio_postgres::Client,
        version: i64,
    ) -> BoxFuture<'a, Result<Report, Error>> {
        Box::pin(self.revert_on(client, version))
    }

    /// [`Runner::revert_to`] for the blocking client.
    ///
    /// # Errors
    /// See [`Runner::revert_to`].
    #[cfg(feature = "blocking")]
    pub fn revert_to_blocking(
        &self,
        client: &mut postgres::Client,
        version: i64,
    ) -> Result<Report, Error> {
        conn::block_on(self.revert_on(client, version))
    }

    async fn revert_on<C: Conn>(&self, conn: &mut C, version: i64) -> Result<Report, Error> {
        let table = HistoryTable::parse(&self.table)?;
        let Some(rows) = history::read(conn, &table).await? else {
            return Ok(Report::default());
        };
        // Refuse before taking the lock when the plan cannot work.
        revert::plan(&rows, self.migrations.checked()?, version)?;
        let lock = lock::acquire(conn, &table, self.lock_timeout).await?;
        let mut report = Report {
            locked: true,
            ..Report::default()
        };
        let result = async {
            let rows = history::read(conn, &table).await?.unwrap_or_default();
            for m in revert::plan(&rows, self.migrations.checked()?, version)? {
                tracing::info!(
                    version = m.version(),
                    name = m.name(),
                    "pgstrata: reverting"
                );
                report
                    .reverted
                    .push(revert::revert(conn, &table, &lock, m).await?);
            }
            Ok::<(), Error>(())
        }
        .await;
        let released = lock::release(conn, &lock).await;
        match result {
            Err(e) => Err(e.with_report(report)),
            Ok(()) => {
                released.map_err(|e| e.with_report(report.clone()))?;
                Ok(report)
            }
        }
    }

    async fn run_on<C: Conn>(&self, conn: &mut C) -> Result<Report, Error> {
        let table = HistoryTable::parse(&self.table)?;
        let opts = PlanOptions {
            target: self.target,
            ..self.plan
        };

        // 1. Nothing to do? One round trip.
        if let (None, false) = (self.target, self.dry_run) {
            let heads = self.migrations.heads()?;
            if history::up_to_date(conn, &table, &heads).await? == Some(true) {
                tracing::debug!(count = heads.len(), "pgstrata: database is up to date");
                return Ok(Report {
                    already_applied: heads.len(),
                    ..Report::default()
                });
            }
        }
        let list = self.migrations.checked()?;

        // 2. Read the history and plan, still without the lock: a refusal or an empty
        //    plan needs none. Except one: a migration outside a transaction shows as
        //    `running` while another process applies it, so a refusal for a failed or
        //    interrupted migration is final only when read again under the lock.
        let rows = history::read(conn, &table).await?.unwrap_or_default();
        let plan = match plan::plan(&rows, list, opts) {
            Err(e) if e.kind() == ErrorKind::FailedMigration && !self.dry_run => None,
            other => Some(other?),
        };
        if let Some(plan) = plan.filter(|p| p.apply.is_empty() || self.dry_run) {
            let pending = plan
                .apply
                .iter()
                .chain(&plan.later)
                .map(|&i| (list[i].version(), list[i].name().to_string()));
            return Ok(Report {
                already_applied: plan.already_applied,
                pending: pending.collect(),
                unknown: plan.unknown,
                dry_run: self.dry_run,
                ..Report::default()
            });
        }

        // 3. Lock, then read and plan again: another process may have applied some.
        let lock = lock::acquire(conn, &table, self.lock_timeout).await?;
        let result = self.locked(conn, &table, &lock, opts).await;
        let _ = conn.batch("RESET client_connection_check_interval").await;
        fault::point(|| "before-unlock".to_string());
        let released = lock::release(conn, &lock).await;
        fault::point(|| "after-unlock".to_string());
        let report = result?;
        released.map_err(|e| e.with_report(report.clone()))?;
        Ok(report)
    }

    async fn locked<C: Conn>(
        &self,
        conn: &mut C,
        table: &HistoryTable,
        lock: &lock::Lock,
        opts: PlanOptions,
    ) -> Result<Report, Error> {
        let list = self.migrations.checked()?;
        conn.batch(&table.create_sql()).await.map_err(|e| {
            Error::db(
                format!("cannot create the history table {}", table.display()),
                e,
            )
        })?;
        // PostgreSQL 14+: notice a vanished client during a long statement and roll back,
        // rather than finish a migration for a deployer that was killed. Older servers
        // do not know the setting; their error is ignored.
        let _ = conn
            .batch("SET client_connection_check_interval = 1000")
            .await;
        apply::prepare_record(conn, table, lock).await?;
        let rows = history::read(conn, table).await?.unwrap_or_default();
        let plan = plan::plan(&rows, list, opts)?;
        let mut report = Report {
            already_applied: plan.already_applied,
            pending: plan
                .later
                .iter()
                .map(|&i| (list[i].version(), list[i].name().to_string()))
                .collect(),
            unknown: plan.unknown.clone(),
            locked: true,
            ..Report::default()
        };
        let mut i = 0;
        while i < plan.apply.len() {
            let m = &list[plan.apply[i]];
            if let Transaction::None { .. } = m.transaction() {
                tracing::info!(
                    version = m.version(),
                    name = m.name(),
                    "pgstrata: applying outside a transaction"
                );
                match apply::non_transactional(conn, table, lock, m, &self.timeouts, &self.progress)
                    .await
                {
                    Ok(done) => report.applied.push(done),
                    Err(e) => return Err(e.with_report(report)),
                }
                i += 1;
                continue;
            }
            // A run of transactional migrations: one transaction each, pipelined, or all
            // together when grouped.
            let mut group = vec![m];
            while let Some(&next) = plan.apply.get(i + group.len()) {
                if let Transaction::None { .. } = list[next].transaction() {
                    break;
                }
                group.push(&list[next]);
            }
            let result = if self.grouped && group.len() > 1 {
                apply::grouped(conn, table, lock, &group, &self.timeouts, &self.progress)
                    .await
                    .map(|done| report.applied.extend(done))
            } else {
                apply::lone_run(
                    conn,
                    table,
                    lock,
                    &group,
                    &self.timeouts,
                    &self.progress,
                    &mut report.applied,
                )
                .await
            };
            if let Err(e) = result {
                return Err(e.with_report(report));
            }
            i += group.len();
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SHAPE: Shape = Shape::from_encoded("");

    #[test]
    fn an_unreadable_embedded_list_is_a_config_error_not_an_empty_plan() {
        let good = Migrations::__encoded(
            "7\tab\n",
            "M\tm\tmigrations/7_m.sql\t1\t8\t-\t0:8\tW\t\tW\t-\t-\n",
            "SELECT 1",
            &SHAPE,
        );
        assert_eq!(good.checked().map(<[Migration]>::len).ok(), Some(1));
        assert_eq!(good.heads().ok(), Some(vec![(7, "ab")]));
        assert_eq!(good.get(7).map(Migration::up), Some("SELECT 1"));

        let bad = Migrations::__encoded("7\tab\n", "M\tm\n", "SELECT 1", &SHAPE);
        let e = bad.checked().expect_err("a truncated record");
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains("line 1"), "{e}");
        assert!(bad.is_empty());
        let e = Migrations::__encoded("seven\tab\n", "", "", &SHAPE)
            .heads()
            .expect_err("heads");
        assert_eq!(e.kind(), ErrorKind::Config);
    }
}
