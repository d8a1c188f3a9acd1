//! What the rules remember: across migrations ([`State`]), and while one migration is
//! replayed ([`Linter`]); how a finding is recorded; and the lookups every rule uses
//! (the table a name refers to, and whether it existed before this migration).

use std::collections::BTreeSet;

use pgstrata_core::catalog::{Catalog, QualifiedName, Table};
use pgstrata_core::{Migration, NoTransactionReason, Transaction};
use sqlparser::ast::ObjectName;

use super::{Finding, Rule};
use crate::pgtype::parts;
use crate::source::SqlText;

/// What the linter remembers across migrations.
#[derive(Debug, Default)]
pub(super) struct State {
    /// `CHECK (col IS NOT NULL)` constraints, validated or not: (table, column, name).
    pub(super) checks: Vec<(QualifiedName, String, String, bool)>,
}

/// A finding and the index of the statement it is about (for suppressions).
pub(super) type Found = (Finding, Option<usize>);

/// Lints one migration's statements as the replay shows them.
pub(super) struct Linter<'a> {
    pub(super) sql: &'a SqlText,
    pub(super) state: State,
    pub(super) found: Vec<Found>,
    /// A `lock_timeout` is set: by directive, or by a `SET` in the file.
    pub(super) lock_timeout: bool,
    /// The first statement taking a write-blocking lock on an existing table.
    pub(super) blocking: Option<(usize, usize, String)>,
    /// Foreign keys added: (table, columns, statement index, offset).
    pub(super) foreign_keys: Vec<(QualifiedName, Vec<String>, usize, usize)>,
    /// Tables given a tenant_id column: (table, statement index, offset).
    pub(super) tenants: Vec<(QualifiedName, usize, usize)>,
    /// Enums created by this migration.
    pub(super) new_enums: BTreeSet<QualifiedName>,
    /// Views created by this migration.
    pub(super) new_views: BTreeSet<QualifiedName>,
    /// Tables this migration drops (with the statement), and those it builds again from a
    /// query (`CREATE TABLE ... AS`): a derived table dropped and rebuilt loses nothing.
    pub(super) dropped: Vec<(QualifiedName, usize)>,
    pub(super) rebuilt: Vec<(QualifiedName, usize)>,
    /// Whether it runs outside a transaction because of CONCURRENTLY and friends.
    pub(super) outside: bool,
    /// The first statement refused in a transaction, and the first other one that
    /// changes something.
    pub(super) concurrent: Option<(usize, usize)>,
    pub(super) transactional_work: bool,
    /// The session's time zone is set to UTC (timestamp and timestamptz are then
    /// binary compatible: changing one to the other rewrites nothing).
    pub(super) utc: bool,
}

impl<'a> Linter<'a> {
    pub(super) fn new(sql: &'a SqlText, m: &Migration, state: State) -> Linter<'a> {
        Linter {
            sql,
            state,
            found: Vec::new(),
            lock_timeout: m.lock_timeout().is_some(),
            blocking: None,
            foreign_keys: Vec::new(),
            tenants: Vec::new(),
            new_enums: BTreeSet::new(),
            new_views: BTreeSet::new(),
            dropped: Vec::new(),
            rebuilt: Vec::new(),
            outside: matches!(
                m.transaction(),
                Transaction::None {
                    reason: NoTransactionReason::RefusedInTransaction { .. }
                }
            ),
            concurrent: None,
            transactional_work: false,
            utc: false,
        }
    }

    pub(super) fn push(
        &mut self,
        rule: Rule,
        index: usize,
        offset: usize,
        why: String,
        fix: String,
    ) {
        let severity = rule.severity();
        let (line, column) = self.sql.lines.line_col(&self.sql.text, offset);
        let span = self.sql.split.statements.get(index).map(|s| s.span);
        let text = span.map_or("", |s| self.sql.text.get(s.range()).unwrap_or_default());
        let end = span.map_or(line, |s| {
            self.sql.lines.line_col(&self.sql.text, s.end as usize).0
        });
        let file_line = |l: u32| l.saturating_add(self.sql.first_line).saturating_sub(1);
        let mut statement: String = text.chars().take(200).collect();
        if statement.len() < text.len() {
            statement.push_str(" ...");
        }
        self.found.push((
            Finding {
                rule,
                severity,
                file: self.sql.display.clone(),
                line: file_line(line),
                column,
                end_line: file_line(end),
                statement,
                why,
                fix,
            },
            Some(index),
        ));
    }

    /// What is left to check once the whole migration is replayed; the findings, and
    /// what the next migration's linter inherits.
    pub(super) fn finish(mut self, after: &Catalog) -> (Vec<Found>, State) {
        let rebuilt =
            |t: &QualifiedName, at: usize| self.rebuilt.iter().any(|(r, i)| r == t && *i > at);
        let keep: Vec<bool> = self
            .found
            .iter()
            .map(|(f, index)| {
                f.rule != Rule::DropTable
                    || !self
                        .dropped
                        .iter()
                        .any(|(t, i)| Some(*i) == *index && rebuilt(t, *i))
            })
            .collect();
        let mut keep = keep.into_iter();
        self.found.retain(|_| keep.next().unwrap_or(true));
        if let (Some((index, offset, table)), false) = (self.blocking.clone(), self.lock_timeout) {
            self.push(
                Rule::LockTimeoutMissing,
                index,
                offset,
                format!(
                    "this takes a lock on {table} that blocks its writes (or reads), and the migration sets no lock_timeout: \
                     while it waits behind a long transaction, every query on the table queues behind it"
                ),
                "add `-- pgstrata:lock-timeout 5s` at the top of the file (or `SET lock_timeout = '5s';`), \
                 and retry the migration when it times out"
                    .into(),
            );
        }
        for (table, cols, index, offset) in std::mem::take(&mut self.foreign_keys) {
            let Some(t) = after.table(&table.schema, &table.name) else {
                continue;
            };
            if !covered(t, &cols) {
                self.push(
                    Rule::ForeignKeyWithoutIndex,
                    index,
                    offset,
                    format!(
                        "no index on {}.{} starts with ({}): deleting or updating a referenced row scans the whole table, \
                         and joins along the key cannot use an index",
                        table.schema,
                        table.name,
                        cols.join(", ")
                    ),
                    format!(
                        "CREATE INDEX CONCURRENTLY ON {} ({}) (in a migration of its own when the table exists)",
                        table.name,
                        cols.join(", ")
                    ),
                );
            }
        }
        for (table, index, offset) in std::mem::take(&mut self.tenants) {
            let Some(t) = after.table(&table.schema, &table.name) else {
                continue;
            };
            if t.column("tenant_id").is_none() {
                continue;
            }
            let missing = match (t.row_level_security, t.policies.is_empty()) {
                (false, _) => "row-level security is not enabled on it",
                (true, true) => "row-level security is enabled but it has no policy, so only its owner sees rows",
                (true, false) => continue,
            };
            self.push(
                Rule::TenantWithoutRls,
                index,
                offset,
                format!(
                    "{}.{} has a tenant_id column, but {missing}: one tenant's query can read another's rows",
                    table.schema, table.name
                ),
                format!(
                    "ALTER TABLE {} ENABLE ROW LEVEL SECURITY; CREATE POLICY tenant_isolation ON {} \
                     USING (tenant_id = current_setting('app.tenant_id')::uuid)",
                    t.name, t.name
                ),
            );
        }
        if let (Some((index, offset)), true, true) =
            (self.concurrent, self.outside, self.transactional_work)
        {
            self.push(
                Rule::ConcurrentlyWithTransactional,
                index,
                offset,
                "this cannot run in a transaction, so the whole migration runs statement by statement: if a later \
                 statement fails, the ones before it stay applied and the migration is left failed, to be resolved by hand"
                    .into(),
                "put CREATE INDEX CONCURRENTLY (and other statements PostgreSQL refuses in a transaction) in a migration \
                 of its own"
                    .into(),
            );
        }
        (self.found, self.state)
    }

    /// The table `name` refers to, and whether it existed before this migration.
    pub(super) fn table<'c>(
        &self,
        catalog: &'c Catalog,
        search_path: &[String],
        name: &ObjectName,
    ) -> Option<(&'c Table, bool)> {
        let p = parts(name);
        let t = match p.as_slice() {
            [n] => search_path.iter().find_map(|s| catalog.table(s, n)),
            [.., s, n] => catalog.table(s, n),
            [] => None,
        }?;
        let here = format!("{}:", self.sql.display);
        let existed = !t.origin.as_deref().is_some_and(|o| o.starts_with(&here));
        Some((t, existed))
    }

    pub(super) fn blocks(&mut self, index: usize, offset: usize, t: &Table) {
        self.blocks_named(index, offset, format!("{}.{}", t.schema, t.name));
    }

    pub(super) fn blocks_named(&mut self, index: usize, offset: usize, what: String) {
        if self.blocking.is_none() {
            self.blocking = Some((index, offset, what));
        }
    }

    /// A view that existed before this migration, which replacing or dropping locks
    /// against its readers.
    pub(super) fn existing_view(
        &self,
        catalog: &Catalog,
        search_path: &[String],
        name: &ObjectName,
    ) -> Option<QualifiedName> {
        let p = parts(name);
        let v = match p.as_slice() {
            [n] => search_path.iter().find_map(|s| {
                catalog
                    .views
                    .iter()
                    .find(|v| &v.schema == s && &v.name == n)
            }),
            [.., s, n] => catalog
                .views
                .iter()
                .find(|v| &v.schema == s && &v.name == n),
            [] => None,
        }?;
        let q = QualifiedName {
            schema: v.schema.clone(),
            name: v.name.clone(),
        };
        (!self.new_views.contains(&q)).then_some(q)
    }
}

pub(super) fn qualified(t: &Table) -> QualifiedName {
    QualifiedName {
        schema: t.schema.clone(),
        name: t.name.clone(),
    }
}

/// Whether an index, the primary key or a unique constraint of `t` leads with `cols`.
pub(super) fn covered(t: &Table, cols: &[String]) -> bool {
    let leads = |keys: &[String]| {
        keys.len() >= cols.len()
            && keys
                .iter()
                .zip(cols)
                .all(|(k, c)| k.trim_matches('"') == c.as_str())
    };
    t.primary_key.as_ref().is_some_and(|k| leads(&k.columns))
        || t.uniques.iter().any(|k| leads(&k.columns))
        || t.indexes.iter().any(|i| leads(&i.columns))
}

/// Where CREATE puts `name`: its schema if qualified, else the first of the search path.
pub(super) fn created(search_path: &[String], name: &ObjectName) -> Option<QualifiedName> {
    match parts(name).as_slice() {
        [n] => Some(QualifiedName {
            schema: search_path
                .first()
                .cloned()
                .unwrap_or_else(|| "public".into()),
            name: n.clone(),
        }),
        [.., s, n] => Some(QualifiedName {
            schema: s.clone(),
            name: n.clone(),
        }),
        [] => None,
    }
}
