//! [`Runner`]: the options of one run, and the run itself: one round trip when there is
//! nothing to do; otherwise the lock, the history read again, the plan, and each
//! migration applied and recorded.

use std::time::Duration;

use pgstrata_core::Transaction;

use crate::adopt::{self, Tool};
use crate::apply;
use crate::conn::{self, Conn};
use crate::history::{self, HistoryTable};
use crate::message::Timeouts;
use crate::plan::{self, PlanOptions};
use crate::report::ProgressFn;
use crate::{
    fault, lock, outside, revert, BoxFuture, Error, ErrorKind, Migrations, Progress, Report,
    DEFAULT_TABLE,
};

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
    adopt: Option<Tool>,
}

impl<'m> Runner<'m> {
    pub(crate) fn new(migrations: &'m Migrations) -> Runner<'m> {
        Runner {
            migrations,
            target: None,
            dry_run: false,
            table: DEFAULT_TABLE.to_string(),
            lock_timeout: Duration::from_secs(60),
            plan: PlanOptions::default(),
            grouped: false,
            timeouts: Timeouts::default(),
            verify_schema: false,
            progress: ProgressFn::default(),
            adopt: None,
        }
    }

    /// When pgstrata has no history yet, first records as applied the migrations `tool`
    /// recorded in its own history table (which is only read), then applies what is
    /// pending: how a service that another tool migrated switches to pgstrata at its next
    /// start. Without it, such a database is refused ([`ErrorKind::ForeignHistory`]).
    pub fn adopt(self, tool: Tool) -> Runner<'m> {
        Runner {
            adopt: Some(tool),
            ..self
        }
    }

    /// Records as applied the migrations `tool` recorded, and nothing else (no migration
    /// runs): `pgstrata baseline --from`. [`Report::adopted`] lists them.
    ///
    /// # Errors
    /// pgstrata's history is not empty; the tool's table is missing; a row it marks
    /// failed, unfinished or dirty, a version no migration has, or a changed file
    /// (every problem listed, nothing recorded).
    pub fn adopt_only<'a>(
        &'a self,
        client: &'a mut tokio_postgres::Client,
        tool: Tool,
    ) -> BoxFuture<'a, Result<Report, Error>> {
        Box::pin(self.adopt_on(client, tool))
    }

    /// [`Runner::adopt_only`] for the blocking client.
    ///
    /// # Errors
    /// See [`Runner::adopt_only`].
    #[cfg(feature = "blocking")]
    pub fn adopt_only_blocking(
        &self,
        client: &mut postgres::Client,
        tool: Tool,
    ) -> Result<Report, Error> {
        conn::block_on(self.adopt_on(client, tool))
    }

    async fn adopt_on<C: Conn>(&self, conn: &mut C, tool: Tool) -> Result<Report, Error> {
        let table = HistoryTable::parse(&self.table)?;
        let list = self.migrations.checked()?;
        let lock = lock::acquire(conn, &table, self.lock_timeout).await?;
        let result = async {
            conn.batch(&table.create_sql()).await.map_err(|e| {
                Error::db(format!("cannot create the history table {}", table.display()), e)
            })?;
            let rows = history::read(conn, &table).await?.unwrap_or_default();
            if !rows.is_empty() {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "the history table {} already records migrations ({} of them): this database is managed by pgstrata already (see `pgstrata status`)",
                        table.display(),
                        rows.len()
                    ),
                ));
            }
            let adopted = adopt::adopt(conn, &table, tool, list).await?;
            Ok(Report {
                adopted,
                locked: true,
                ..Report::default()
            })
        }
        .await;
        let released = lock::release(conn, &lock).await;
        let report = result?;
        released.map_err(|e| e.with_report(report.clone()))?;
        Ok(report)
    }

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

    pub(crate) async fn run_checked<C: Conn>(&self, conn: &mut C) -> Result<Report, Error> {
        let report = match self.run_on(conn).await {
            Err(e) if e.kind() == ErrorKind::FailedMigration => {
                return Err(self.name_invalid_indexes(conn, e).await)
            }
            other => other?,
        };
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

    /// A migration that failed or was interrupted outside a transaction may have left
    /// invalid indexes (an interrupted `CREATE INDEX CONCURRENTLY`): the error names them.
    async fn name_invalid_indexes<C: Conn>(&self, conn: &mut C, e: Error) -> Error {
        let Ok(invalid) = crate::invalid::find(conn).await else {
            return e;
        };
        let m = e.migration().and_then(|(v, _)| {
            self.migrations
                .checked()
                .ok()?
                .iter()
                .find(|m| m.version() == v)
        });
        let Some(m) = m else {
            return e;
        };
        let left: Vec<String> = crate::invalid::created_by(m, &invalid)
            .iter()
            .map(|i| i.to_string())
            .collect();
        if left.is_empty() {
            return e;
        }
        e.with_note(format!(
            "it left invalid indexes, which PostgreSQL keeps up to date but never uses (and a rerun with IF NOT EXISTS \
             would skip): {}; `pgstrata resolve --rolled-back {}` drops them",
            left.join(", "),
            m.version()
        ))
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
        if rows.is_empty() && self.adopt.is_none() {
            let found: Vec<_> = adopt::find(conn)
                .await?
                .into_iter()
                .filter(|f| f.rows > 0)
                .collect();
            if !found.is_empty() {
                return Err(adopt::refuse(&found));
            }
        }
        let plan = match plan::plan(&rows, list, opts) {
            Err(e) if e.kind() == ErrorKind::FailedMigration && !self.dry_run => None,
            other => Some(other?),
        };
        let adopting = self.adopt.is_some() && rows.is_empty();
        if let Some(plan) = plan.filter(|p| (p.apply.is_empty() || self.dry_run) && !adopting) {
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
        let mut rows = history::read(conn, table).await?.unwrap_or_default();
        let mut adopted = Vec::new();
        if let (Some(tool), true) = (self.adopt, rows.is_empty()) {
            adopted = adopt::adopt(conn, table, tool, list).await?;
            rows = history::read(conn, table).await?.unwrap_or_default();
        }
        let plan = plan::plan(&rows, list, opts)?;
        let mut report = Report {
            adopted,
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
                match outside::non_transactional(
                    conn,
                    table,
                    lock,
                    m,
                    &self.timeouts,
                    &self.progress,
                )
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
