//! The rules, applied statement by statement with the model as it stood before each,
//! and at the end of each migration for what a later statement of it can still fix (an
//! index for a foreign key, a policy for a tenant table).

use std::collections::BTreeSet;

use pgstrata_core::catalog::{Catalog, ColumnType, QualifiedName, Table};
use pgstrata_core::lex;
use pgstrata_core::{Migration, NoTransactionReason, Transaction};
use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, AlterTypeOperation, ColumnDef, ColumnOption, Expr,
    ForeignKeyConstraint, ObjectName, ObjectType, Statement, TableConstraint,
};

use super::{Finding, Severity, RULES};
use crate::pgtype::{fold, parts, written, Written};
use crate::replay::{Observer, Seen};
use crate::source::SqlText;

/// What the linter remembers across migrations.
#[derive(Debug, Default)]
pub(super) struct State {
    /// `CHECK (col IS NOT NULL)` constraints, validated or not: (table, column, name).
    checks: Vec<(QualifiedName, String, String, bool)>,
}

/// A finding and the index of the statement it is about (for suppressions).
pub(super) type Found = (Finding, Option<usize>);

/// Lints one migration's statements as the replay shows them.
pub(super) struct Linter<'a> {
    sql: &'a SqlText,
    state: &'a mut State,
    found: Vec<Found>,
    /// A `lock_timeout` is set: by directive, or by a `SET` in the file.
    lock_timeout: bool,
    /// The first statement taking a write-blocking lock on an existing table.
    blocking: Option<(usize, usize, String)>,
    /// Foreign keys added: (table, columns, statement index, offset).
    foreign_keys: Vec<(QualifiedName, Vec<String>, usize, usize)>,
    /// Tables given a tenant_id column: (table, statement index, offset).
    tenants: Vec<(QualifiedName, usize, usize)>,
    /// Enums created by this migration.
    new_enums: BTreeSet<QualifiedName>,
    /// Views created by this migration.
    new_views: BTreeSet<QualifiedName>,
    /// Tables this migration drops (with the statement), and those it builds again from a
    /// query (`CREATE TABLE ... AS`): a derived table dropped and rebuilt loses nothing.
    dropped: Vec<(QualifiedName, usize)>,
    rebuilt: Vec<(QualifiedName, usize)>,
    /// Whether it runs outside a transaction because of CONCURRENTLY and friends.
    outside: bool,
    /// The first statement refused in a transaction, and the first other one that
    /// changes something.
    concurrent: Option<(usize, usize)>,
    transactional_work: bool,
    /// The session's time zone is set to UTC (timestamp and timestamptz are then
    /// binary compatible: changing one to the other rewrites nothing).
    utc: bool,
}

impl<'a> Linter<'a> {
    pub(super) fn new(sql: &'a SqlText, m: &Migration, state: &'a mut State) -> Linter<'a> {
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

    fn push(&mut self, rule: &'static str, index: usize, offset: usize, why: String, fix: String) {
        let severity = RULES
            .iter()
            .find(|r| r.id == rule)
            .map_or(Severity::Warning, |r| r.severity);
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

    /// What is left to check once the whole migration is replayed.
    pub(super) fn finish(mut self, after: &Catalog) -> Vec<Found> {
        let rebuilt =
            |t: &QualifiedName, at: usize| self.rebuilt.iter().any(|(r, i)| r == t && *i > at);
        let keep: Vec<bool> = self
            .found
            .iter()
            .map(|(f, index)| {
                f.rule != "drop-table"
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
                "lock-timeout-missing",
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
                    "foreign-key-without-index",
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
                "tenant-without-rls",
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
                "concurrently-with-transactional",
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
        self.found
    }

    /// The table `name` refers to, and whether it existed before this migration.
    fn table<'c>(
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

    fn blocks(&mut self, index: usize, offset: usize, t: &Table) {
        self.blocks_named(index, offset, format!("{}.{}", t.schema, t.name));
    }

    fn blocks_named(&mut self, index: usize, offset: usize, what: String) {
        if self.blocking.is_none() {
            self.blocking = Some((index, offset, what));
        }
    }

    /// A view that existed before this migration, which replacing or dropping locks
    /// against its readers.
    fn existing_view(
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

fn qualified(t: &Table) -> QualifiedName {
    QualifiedName {
        schema: t.schema.clone(),
        name: t.name.clone(),
    }
}

/// Whether an index, the primary key or a unique constraint of `t` leads with `cols`.
fn covered(t: &Table, cols: &[String]) -> bool {
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

/// Functions whose value does not change within a statement (stable or immutable):
/// a default calling only these is computed once when a column is added.
const NOT_VOLATILE: &[&str] = &[
    "now",
    "current_timestamp",
    "transaction_timestamp",
    "statement_timestamp",
    "current_date",
    "current_time",
    "localtimestamp",
    "localtime",
    "current_user",
    "session_user",
    "current_schema",
    "lower",
    "upper",
    "coalesce",
    "nullif",
    "concat",
    "length",
    "timezone",
    "date_trunc",
    "make_interval",
    "to_timestamp",
    "jsonb_build_object",
    "json_build_object",
    "jsonb_build_array",
    "array",
    "greatest",
    "least",
    "abs",
    "round",
    "md5",
    "btrim",
    "trim",
    "replace",
    "substring",
    "to_tsvector",
    "row",
    "cast",
    "extract",
    "date_part",
    "interval",
    "timestamp",
    "timestamptz",
];

/// The functions an expression calls that are not known to be stable: volatile ones
/// (random(), gen_random_uuid(), nextval()) and the project's own, which PostgreSQL
/// makes volatile unless declared otherwise.
fn volatile_calls(expr: &str) -> Vec<String> {
    let tokens: Vec<lex::Token> = lex::significant(expr).collect();
    tokens
        .windows(2)
        .filter(|p| p[0].kind == lex::Kind::Word && p[1].is(expr, "("))
        .map(|p| p[0].text(expr).to_ascii_lowercase())
        .filter(|name| !NOT_VOLATILE.contains(&name.as_str()))
        .collect()
}

/// Whether changing a column from `old` to `new` rewrites the table (PostgreSQL skips
/// the rewrite for binary-coercible changes that only relax a limit).
fn rewrites(old: &ColumnType, new: &ColumnType, utc: bool) -> bool {
    if old.array != new.array || old.schema != new.schema {
        return true;
    }
    let limit = |m: &Option<String>| -> Option<Vec<u64>> {
        m.as_ref().map(|m| {
            m.trim_matches(|c| c == '(' || c == ')')
                .split(',')
                .filter_map(|x| x.trim().parse().ok())
                .collect()
        })
    };
    let (o, n) = (old.name.as_str(), new.name.as_str());
    let relaxed = || match (limit(&old.modifier), limit(&new.modifier)) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(a), Some(b)) => match (a.as_slice(), b.as_slice()) {
            ([p], [q]) => q >= p,
            ([p, s], [q, t]) => q >= p && s == t,
            _ => false,
        },
    };
    match (o, n) {
        _ if o == n && old.modifier == new.modifier => false,
        ("character varying", "text") | ("text", "character varying") if new.modifier.is_none() => {
            false
        }
        ("character varying", "character varying")
        | ("numeric", "numeric")
        | ("bit varying", "bit varying")
        | ("timestamp without time zone", "timestamp without time zone")
        | ("timestamp with time zone", "timestamp with time zone")
        | ("time without time zone", "time without time zone")
        | ("interval", "interval") => !relaxed(),
        ("cidr", "inet") => false,
        ("timestamp without time zone", "timestamp with time zone")
        | ("timestamp with time zone", "timestamp without time zone") => !(utc && relaxed()),
        _ => true,
    }
}

impl Observer for Linter<'_> {
    fn before(&mut self, catalog: &Catalog, search_path: &[String], seen: Seen<'_>) {
        let (i, at) = (seen.index, seen.offset);
        let here = Here {
            catalog,
            search_path,
            i,
            at,
        };
        let words = self
            .sql
            .split
            .statements
            .get(i)
            .map_or(&[][..], |s| s.words.as_slice());
        let word = |n: usize| words.get(n).map_or("", String::as_str);
        // Transaction mode and statements the parser may not know.
        match crate::split::classify(words) {
            crate::split::TxClass::RefusedInTransaction => {
                self.concurrent.get_or_insert((i, at));
            }
            _ if !matches!(word(0), "SET" | "RESET" | "SELECT" | "COMMENT") => {
                self.transactional_work = true;
            }
            _ => {}
        }
        if word(0) == "SET" && words.iter().any(|w| w == "LOCK_TIMEOUT") {
            self.lock_timeout = true;
        }
        if word(0) == "SET" && words.iter().any(|w| w == "TIMEZONE" || w == "ZONE") {
            let value = seen.text.to_ascii_lowercase();
            self.utc = ["'utc'", "'etc/utc'", " utc", "'gmt'", "'z'"]
                .iter()
                .any(|v| value.contains(v));
        }
        if (word(0) == "VACUUM" && words.iter().any(|w| w == "FULL")) || word(0) == "CLUSTER" {
            self.push(
                "vacuum-full-cluster",
                i,
                at,
                format!(
                    "{} rewrites the table under an ACCESS EXCLUSIVE lock: nothing can read or write it until it ends",
                    if word(0) == "CLUSTER" { "CLUSTER" } else { "VACUUM FULL" }
                ),
                "use pg_repack (or pg_squeeze) to compact a table online; plain VACUUM takes no such lock".into(),
            );
        }
        let Some(stmt) = seen.parsed else {
            return;
        };
        match stmt {
            Statement::CreateIndex(ci) => {
                if ci.concurrently {
                    return;
                }
                if let Some((t, true)) = self.table(catalog, search_path, &ci.table_name) {
                    self.blocks(i, at, t);
                    self.push(
                        "index-not-concurrent",
                        i,
                        at,
                        format!(
                            "building an index on {}.{} without CONCURRENTLY blocks every write to it until the build ends",
                            t.schema, t.name
                        ),
                        "CREATE INDEX CONCURRENTLY ... in a migration of its own (pgstrata runs it outside a transaction)"
                            .into(),
                    );
                }
            }
            Statement::CreateTable(ct) => {
                let Some(q) = created(search_path, &ct.name) else {
                    return;
                };
                if ct.query.is_some() {
                    self.rebuilt.push((q.clone(), i));
                }
                for c in &ct.columns {
                    self.column(here, &q, c);
                }
                for c in &ct.constraints {
                    if let TableConstraint::ForeignKey(fk) = c {
                        self.foreign_key(here, &q, fk, fk.columns.iter().map(fold).collect());
                    }
                }
            }
            Statement::AlterTable(alter) => {
                let Some((t, existed)) = self.table(catalog, search_path, &alter.name) else {
                    return;
                };
                let t = t.clone();
                for op in &alter.operations {
                    self.alter(here, &t, existed, op);
                }
            }
            Statement::Drop {
                object_type: ObjectType::Table,
                names,
                ..
            } => {
                for n in names {
                    if let Some((t, true)) = self.table(catalog, search_path, n) {
                        let t = t.clone();
                        self.blocks(i, at, &t);
                        self.dropped.push((qualified(&t), i));
                        self.push(
                            "drop-table",
                            i,
                            at,
                            format!(
                                "DROP TABLE {}.{} deletes its rows for good, and the release still running may query it",
                                t.schema, t.name
                            ),
                            "stop using the table in a release first, back it up, then drop it in a later migration \
                             (`-- pgstrata:allow(drop-table) why` when that is done)"
                                .into(),
                        );
                    }
                }
            }
            Statement::Drop {
                object_type: ObjectType::Index,
                names,
                ..
            } if !words.iter().any(|w| w == "CONCURRENTLY") => {
                for n in names {
                    let p = parts(n);
                    let Some(index) = p.last() else { continue };
                    let owner = catalog.tables.iter().find(|t| {
                        t.indexes.iter().any(|x| &x.name == index)
                            && (p.len() == 1 || p.first() == Some(&t.schema))
                    });
                    let here = format!("{}:", self.sql.display);
                    if let Some(t) =
                        owner.filter(|t| !t.origin.as_deref().is_some_and(|o| o.starts_with(&here)))
                    {
                        let t = t.clone();
                        self.blocks(i, at, &t);
                        self.push(
                            "index-not-concurrent",
                            i,
                            at,
                            format!(
                                "dropping index {index} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on {}.{}: \
                                 no query can read or write it until the drop ends",
                                t.schema, t.name
                            ),
                            "DROP INDEX CONCURRENTLY ... in a migration of its own".into(),
                        );
                    }
                }
            }
            Statement::CreateType {
                name,
                representation: Some(sqlparser::ast::UserDefinedTypeRepresentation::Enum { .. }),
            } => {
                if let Some(q) = created(search_path, name) {
                    self.new_enums.insert(q);
                }
            }
            Statement::AlterType(at_) => {
                if let AlterTypeOperation::AddValue(add) = &at_.operation {
                    let p = parts(&at_.name);
                    let e = match p.as_slice() {
                        [n] => search_path.iter().find_map(|s| catalog.enum_type(s, n)),
                        [.., s, n] => catalog.enum_type(s, n),
                        [] => None,
                    };
                    if let Some(e) = e {
                        let q = QualifiedName {
                            schema: e.schema.clone(),
                            name: e.name.clone(),
                        };
                        if !self.new_enums.contains(&q) {
                            self.push(
                                "enum-value-added",
                                i,
                                at,
                                format!(
                                    "adding {:?} to enum {}.{}: binaries built before it fail to decode rows holding it \
                                     (generated enums list their labels), and a rolling deploy runs both",
                                    add.value.value, e.schema, e.name
                                ),
                                "ship a release that handles the new label (or ignores unknown ones) before the migration \
                                 that adds it, then `-- pgstrata:allow(enum-value-added) why`"
                                    .into(),
                            );
                        }
                    }
                }
            }
            Statement::CreateView(v) => {
                if let Some(q) = self.existing_view(catalog, search_path, &v.name) {
                    self.blocks_named(i, at, format!("view {}.{}", q.schema, q.name));
                } else if let Some(q) = created(search_path, &v.name) {
                    self.new_views.insert(q);
                }
            }
            Statement::Drop {
                object_type: ObjectType::View | ObjectType::MaterializedView,
                names,
                ..
            } => {
                for n in names {
                    if let Some(q) = self.existing_view(catalog, search_path, n) {
                        self.blocks_named(i, at, format!("view {}.{}", q.schema, q.name));
                    }
                }
            }
            Statement::DropTrigger(dt) => {
                if let Some((t, true)) = dt
                    .table_name
                    .as_ref()
                    .and_then(|n| self.table(catalog, search_path, n))
                {
                    let t = t.clone();
                    self.blocks(i, at, &t);
                }
            }
            Statement::CreateTrigger(ct) => {
                if let Some((t, true)) = self.table(catalog, search_path, &ct.table_name) {
                    let t = t.clone();
                    self.blocks(i, at, &t);
                }
            }
            Statement::Truncate(tr) => {
                for target in &tr.table_names {
                    if let Some((t, true)) = self.table(catalog, search_path, &target.name) {
                        let t = t.clone();
                        self.blocks(i, at, &t);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The statement being linted: the model before it, the search path, and its index and
/// byte offset in the file (what every finding and lock records).
#[derive(Clone, Copy)]
struct Here<'a> {
    catalog: &'a Catalog,
    search_path: &'a [String],
    i: usize,
    at: usize,
}

impl Linter<'_> {
    /// A column declared by CREATE TABLE or ADD COLUMN: a tenant column, and its inline
    /// foreign key.
    fn column(&mut self, here: Here<'_>, table: &QualifiedName, c: &sqlparser::ast::ColumnDef) {
        if fold(&c.name) == "tenant_id" {
            self.tenants.push((table.clone(), here.i, here.at));
        }
        for o in &c.options {
            if let ColumnOption::ForeignKey(fk) = &o.option {
                self.foreign_key(here, table, fk, vec![fold(&c.name)]);
            }
        }
    }

    /// A foreign key of `table` on `cols` (a table constraint's own columns, or the
    /// column it is declared on).
    fn foreign_key(
        &mut self,
        here: Here<'_>,
        table: &QualifiedName,
        fk: &ForeignKeyConstraint,
        cols: Vec<String>,
    ) {
        let Here {
            catalog,
            search_path,
            i,
            at,
        } = here;
        if fk.on_delete.is_none() {
            self.push(
                "foreign-key-on-delete",
                i,
                at,
                format!(
                    "the foreign key on {}.{} ({}) says nothing about deleting the referenced row: it blocks the delete \
                     (NO ACTION), which is rarely what was meant",
                    table.schema,
                    table.name,
                    cols.join(", ")
                ),
                "say what happens: ON DELETE CASCADE, SET NULL, RESTRICT, or an explicit NO ACTION".into(),
            );
        }
        // Adding a foreign key locks the referenced table against writes too.
        if let Some((t, true)) = self.table(catalog, search_path, &fk.foreign_table) {
            let t = t.clone();
            self.blocks(i, at, &t);
        }
        self.foreign_keys.push((table.clone(), cols, i, at));
    }

    fn alter(&mut self, here: Here<'_>, t: &Table, existed: bool, op: &AlterTableOperation) {
        let (i, at) = (here.i, here.at);
        let q = qualified(t);
        let name = format!("{}.{}", t.schema, t.name);
        // Foreign keys and tenant columns matter on new tables too.
        match op {
            AlterTableOperation::AddConstraint {
                constraint: TableConstraint::ForeignKey(fk),
                ..
            } => {
                self.foreign_key(here, &q, fk, fk.columns.iter().map(fold).collect());
            }
            AlterTableOperation::AddColumn { column_def, .. } => {
                self.column(here, &q, column_def);
            }
            AlterTableOperation::DisableRowLevelSecurity => {
                self.tenants.push((q.clone(), i, at));
            }
            AlterTableOperation::AddConstraint {
                constraint: TableConstraint::Check(c),
                not_valid,
            } => {
                if let Some(col) = not_null_check(&c.expr) {
                    let cname = c
                        .name
                        .as_ref()
                        .map_or_else(|| format!("{}_{col}_check", t.name), fold);
                    self.state.checks.push((q.clone(), col, cname, !not_valid));
                }
            }
            AlterTableOperation::ValidateConstraint { name: n } => {
                let n = fold(n);
                for c in self
                    .state
                    .checks
                    .iter_mut()
                    .filter(|c| c.0 == q && c.2 == n)
                {
                    c.3 = true;
                }
            }
            _ => {}
        }
        if !existed {
            return;
        }
        if !matches!(op, AlterTableOperation::ValidateConstraint { .. }) {
            self.blocks(i, at, t);
        }
        match op {
            AlterTableOperation::AddColumn { column_def, .. } => {
                self.add_column(i, at, t, column_def);
                for o in &column_def.options {
                    match &o.option {
                        ColumnOption::ForeignKey(_) => self.push(
                            "constraint-not-valid",
                            i,
                            at,
                            format!(
                                "a column added with REFERENCES validates the new foreign key at once: every row of {name} \
                                 is checked while writes to it and to the referenced table are blocked"
                            ),
                            "add the column without REFERENCES, then ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID, and \
                             VALIDATE CONSTRAINT in a later migration"
                                .into(),
                        ),
                        ColumnOption::Unique(_) | ColumnOption::PrimaryKey(_) => self.unique_constraint(i, at, &name),
                        _ => {}
                    }
                }
            }
            AlterTableOperation::DropColumn { column_names, .. } => {
                for c in column_names {
                    self.push(
                        "drop-column",
                        i,
                        at,
                        format!(
                            "dropping {name}.{} deletes its data for good, and the release still running may read or write it",
                            fold(c)
                        ),
                        "stop using the column in a release first (generated structs: remove its field), back it up, \
                         then drop it in a later migration"
                            .into(),
                    );
                }
            }
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => self.push(
                "rename-column",
                i,
                at,
                format!(
                    "renaming {name}.{} to {} breaks every query of the release still running during the deploy",
                    fold(old_column_name),
                    fold(new_column_name)
                ),
                "add the new column, write both, backfill, switch reads, then drop the old one in later migrations"
                    .into(),
            ),
            AlterTableOperation::RenameTable { .. } => self.push(
                "rename-table",
                i,
                at,
                format!("renaming {name} breaks every query of the release still running during the deploy"),
                "create a view with the old name in the same migration, and drop it once no release uses it".into(),
            ),
            AlterTableOperation::AlterColumn { column_name, op } => {
                let col = fold(column_name);
                match op {
                    AlterColumnOperation::SetNotNull => {
                        let validated = self
                            .state
                            .checks
                            .iter()
                            .any(|c| c.0 == q && c.1 == col && c.3);
                        if !validated {
                            self.push(
                                "set-not-null",
                                i,
                                at,
                                format!(
                                    "SET NOT NULL on {name}.{col} scans the whole table under an ACCESS EXCLUSIVE lock"
                                ),
                                format!(
                                    "first ADD CONSTRAINT {col}_not_null CHECK ({col} IS NOT NULL) NOT VALID, then VALIDATE \
                                     CONSTRAINT in a later migration; SET NOT NULL then skips the scan"
                                ),
                            );
                        }
                    }
                    AlterColumnOperation::SetDataType { data_type, .. } => {
                        let Some(old) = t.column(&col).map(|c| c.ty.clone()) else {
                            return;
                        };
                        let new = match written(data_type) {
                            Ok(Written::Builtin(ty, _)) => ty,
                            Ok(Written::Named { schema, name, modifier, array }) => ColumnType {
                                schema: Some(schema.unwrap_or_else(|| old.schema.clone().unwrap_or_else(|| "public".into()))),
                                name,
                                modifier,
                                array,
                            },
                            Err(_) => return,
                        };
                        if rewrites(&old, &new, self.utc) {
                            self.push(
                                "column-type-rewrite",
                                i,
                                at,
                                format!(
                                    "changing {name}.{col} from {} to {} rewrites the table (and its indexes) under an \
                                     ACCESS EXCLUSIVE lock",
                                    old.format(),
                                    new.format()
                                ),
                                "add a column of the new type, backfill it in batches, switch the code, then drop the old \
                                 column"
                                    .into(),
                            );
                        }
                    }
                    _ => {}
                }
            }
            AlterTableOperation::AddConstraint {
                constraint,
                not_valid,
            } => match constraint {
                TableConstraint::ForeignKey(_) | TableConstraint::Check(_) if !not_valid => self.push(
                    "constraint-not-valid",
                    i,
                    at,
                    format!(
                        "adding this constraint to {name} checks every row while holding a lock that blocks writes"
                    ),
                    "add it NOT VALID (checks new rows only, at once), then VALIDATE CONSTRAINT in a later migration, \
                     which does not block writes"
                        .into(),
                ),
                TableConstraint::Unique(u) if u.index_name.is_none() => self.unique_constraint(i, at, &name),
                TableConstraint::PrimaryKey(p) if p.index_name.is_none() => self.unique_constraint(i, at, &name),
                _ => {}
            },
            _ => {}
        }
    }

    fn unique_constraint(&mut self, i: usize, at: usize, name: &str) {
        self.push(
            "index-not-concurrent",
            i,
            at,
            format!("this builds a unique index on {name} while blocking every write to it"),
            "CREATE UNIQUE INDEX CONCURRENTLY in a migration of its own, then ADD CONSTRAINT ... USING INDEX".into(),
        );
    }

    fn add_column(&mut self, i: usize, at: usize, t: &Table, def: &ColumnDef) {
        let name = format!("{}.{}.{}", t.schema, t.name, fold(&def.name));
        let mut not_null = false;
        let mut default: Option<String> = None;
        let mut computed: Option<&str> = None;
        for o in &def.options {
            match &o.option {
                ColumnOption::NotNull | ColumnOption::PrimaryKey(_) => not_null = true,
                ColumnOption::Default(e) => default = Some(e.to_string()),
                ColumnOption::Generated {
                    generation_expr: Some(_),
                    ..
                } => computed = Some("a generated column"),
                ColumnOption::Generated { .. } | ColumnOption::Identity(_) => {
                    computed = Some("an identity column")
                }
                _ => {}
            }
        }
        if matches!(written(&def.data_type), Ok(Written::Builtin(_, Some(_)))) {
            computed = Some("a serial column");
        }
        let volatile = default.as_deref().map(volatile_calls).unwrap_or_default();
        if let Some(what) = computed {
            self.push(
                "volatile-default",
                i,
                at,
                format!("adding {what} {name} computes a value for every row: the table is rewritten under an ACCESS EXCLUSIVE lock"),
                "add a plain nullable column, fill it in batches, then add the default or identity".into(),
            );
        } else if !volatile.is_empty() {
            self.push(
                "volatile-default",
                i,
                at,
                format!(
                    "the default of {name} calls {}, which is volatile (or may be: a function is unless declared \
                     otherwise), so adding it rewrites the table under an ACCESS EXCLUSIVE lock",
                    volatile.join(", ")
                ),
                "add the column without a default, set the default in a second statement (it then applies to new \
                 rows only), and backfill old rows in batches"
                    .into(),
            );
        } else if not_null && default.is_none() {
            self.push(
                "not-null-without-default",
                i,
                at,
                format!("adding {name} NOT NULL without a default fails on a table that has rows"),
                "give it a default (a constant default adds no rewrite), or add it nullable, backfill, and SET NOT NULL \
                 after a validated CHECK (col IS NOT NULL)"
                    .into(),
            );
        }
    }
}

/// The column of a `CHECK (col IS NOT NULL)` expression.
fn not_null_check(e: &Expr) -> Option<String> {
    match e {
        Expr::IsNotNull(inner) => match inner.as_ref() {
            Expr::Identifier(id) => Some(fold(id)),
            Expr::Nested(n) => not_null_check(&Expr::IsNotNull(n.clone())),
            _ => None,
        },
        Expr::Nested(n) => not_null_check(n),
        _ => None,
    }
}

/// Where CREATE puts `name`: its schema if qualified, else the first of the search path.
fn created(search_path: &[String], name: &ObjectName) -> Option<QualifiedName> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volatile_calls_are_found_outside_strings() {
        assert!(volatile_calls("now()").is_empty());
        assert!(volatile_calls("'random()'").is_empty());
        assert_eq!(volatile_calls("gen_random_uuid()"), ["gen_random_uuid"]);
        assert_eq!(
            volatile_calls("public.generate_unique_changeme()"),
            ["generate_unique_changeme"]
        );
        assert_eq!(
            volatile_calls("now() - random() * INTERVAL '1 day'"),
            ["random"]
        );
        // Comments, dollar quotes and escape strings hide calls too.
        assert!(volatile_calls("/* random() */ $$ random() $$ E'\\' random()'").is_empty());
        assert_eq!(volatile_calls("nextval\n  ('s')"), ["nextval"]);
    }

    #[test]
    fn type_changes_that_rewrite() {
        let t = |name: &str, m: Option<&str>| ColumnType {
            schema: None,
            name: name.into(),
            modifier: m.map(str::to_string),
            array: false,
        };
        let r = |a: &ColumnType, b: &ColumnType| rewrites(a, b, false);
        assert!(!r(
            &t("character varying", Some("(10)")),
            &t("character varying", Some("(20)"))
        ));
        assert!(r(
            &t("character varying", Some("(20)")),
            &t("character varying", Some("(10)"))
        ));
        assert!(!r(&t("character varying", Some("(10)")), &t("text", None)));
        assert!(!r(
            &t("numeric", Some("(10,2)")),
            &t("numeric", Some("(12,2)"))
        ));
        assert!(r(
            &t("numeric", Some("(10,2)")),
            &t("numeric", Some("(12,3)"))
        ));
        assert!(r(&t("integer", None), &t("bigint", None)));
        assert!(!r(&t("cidr", None), &t("inet", None)));
        let (ts, tstz) = (
            t("timestamp without time zone", None),
            t("timestamp with time zone", None),
        );
        assert!(r(&ts, &tstz), "in another time zone the values change");
        assert!(
            !rewrites(&ts, &tstz, true),
            "with the session in UTC they are binary compatible"
        );
    }
}
