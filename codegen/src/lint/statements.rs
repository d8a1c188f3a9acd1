//! The rules statement by statement: what a statement's first words say (transaction
//! mode, timeouts, `VACUUM FULL`), then by what it acts on: indexes, tables, enum types,
//! views and triggers. `ALTER TABLE` is in `alter`, column definitions in `columns`.

use pgstrata_core::catalog::{Catalog, QualifiedName};
use sqlparser::ast::{
    AlterType, AlterTypeOperation, CreateIndex, CreateTable, ObjectName, ObjectType, Statement,
    TableConstraint, UserDefinedTypeRepresentation,
};

use super::linter::{created, qualified, Linter};
use super::Rule;
use crate::pgtype::{fold, parts};
use crate::replay::Seen;

/// The statement being linted: the catalog before it, the search path, and its index and
/// byte offset in the file (what every finding and lock records).
#[derive(Clone, Copy)]
pub(super) struct Here<'a> {
    pub catalog: &'a Catalog,
    pub search_path: &'a [String],
    pub i: usize,
    pub at: usize,
}

impl Linter<'_> {
    /// Lints `seen`, with `catalog` as it stands just before it.
    pub(super) fn statement(&mut self, catalog: &Catalog, search_path: &[String], seen: Seen<'_>) {
        let here = Here {
            catalog,
            search_path,
            i: seen.index,
            at: seen.offset,
        };
        self.words(here, seen.text);
        let Some(stmt) = seen.parsed else {
            return;
        };
        match stmt {
            Statement::CreateIndex(ci) => self.create_index(here, ci),
            Statement::CreateTable(ct) => self.create_table(here, ct),
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
            } => self.drop_tables(here, names),
            Statement::Drop {
                object_type: ObjectType::Index,
                names,
                ..
            } if !self.word_is_in(here.i, "CONCURRENTLY") => self.drop_indexes(here, names),
            Statement::CreateType {
                name,
                representation: Some(UserDefinedTypeRepresentation::Enum { .. }),
            } => {
                if let Some(q) = created(search_path, name) {
                    self.new_enums.insert(q);
                }
            }
            Statement::AlterType(alter) => self.alter_type(here, alter),
            Statement::CreateView(v) => {
                if let Some(q) = self.existing_view(catalog, search_path, &v.name) {
                    self.blocks_named(here.i, here.at, format!("view {}.{}", q.schema, q.name));
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
                        self.blocks_named(here.i, here.at, format!("view {}.{}", q.schema, q.name));
                    }
                }
            }
            Statement::DropTrigger(dt) => {
                if let Some(n) = &dt.table_name {
                    self.blocks_existing(here, n);
                }
            }
            Statement::CreateTrigger(ct) => self.blocks_existing(here, &ct.table_name),
            Statement::Truncate(tr) => {
                for target in &tr.table_names {
                    self.blocks_existing(here, &target.name);
                }
            }
            _ => {}
        }
    }

    /// Whether statement `i` of the file has `word` among its first words.
    fn word_is_in(&self, i: usize, word: &str) -> bool {
        self.sql
            .split
            .statements
            .get(i)
            .is_some_and(|s| s.words.iter().any(|w| w == word))
    }

    /// What the first words say, parsed or not: the transaction mode, `SET lock_timeout`,
    /// `SET TIME ZONE 'UTC'`, `VACUUM FULL` and `CLUSTER`.
    fn words(&mut self, here: Here<'_>, text: &str) {
        let (i, at) = (here.i, here.at);
        let words = self
            .sql
            .split
            .statements
            .get(i)
            .map_or(&[][..], |s| s.words.as_slice());
        let word = |n: usize| words.get(n).map_or("", String::as_str);
        match pgstrata_core::split::classify(words) {
            pgstrata_core::split::TxClass::RefusedInTransaction => {
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
            let value = text.to_ascii_lowercase();
            self.utc = ["'utc'", "'etc/utc'", " utc", "'gmt'", "'z'"]
                .iter()
                .any(|v| value.contains(v));
        }
        if (word(0) == "VACUUM" && words.iter().any(|w| w == "FULL")) || word(0) == "CLUSTER" {
            self.push(
                Rule::VacuumFullCluster,
                i,
                at,
                format!(
                    "{} rewrites the table under an ACCESS EXCLUSIVE lock: nothing can read or write it until it ends",
                    if word(0) == "CLUSTER" { "CLUSTER" } else { "VACUUM FULL" }
                ),
                "use pg_repack (or pg_squeeze) to compact a table online; plain VACUUM takes no such lock".into(),
            );
        }
    }

    /// A statement that locks table `name` against writes, if it existed before.
    fn blocks_existing(&mut self, here: Here<'_>, name: &ObjectName) {
        if let Some((t, true)) = self.table(here.catalog, here.search_path, name) {
            let t = t.clone();
            self.blocks(here.i, here.at, &t);
        }
    }

    fn create_index(&mut self, here: Here<'_>, ci: &CreateIndex) {
        if ci.concurrently {
            return;
        }
        if let Some((t, true)) = self.table(here.catalog, here.search_path, &ci.table_name) {
            let t = t.clone();
            self.blocks(here.i, here.at, &t);
            self.push(
                Rule::IndexNotConcurrent,
                here.i,
                here.at,
                format!(
                    "building an index on {}.{} without CONCURRENTLY blocks every write to it until the build ends",
                    t.schema, t.name
                ),
                "CREATE INDEX CONCURRENTLY ... in a migration of its own (pgstrata runs it outside a transaction)"
                    .into(),
            );
        }
    }

    fn create_table(&mut self, here: Here<'_>, ct: &CreateTable) {
        let Some(q) = created(here.search_path, &ct.name) else {
            return;
        };
        if ct.query.is_some() {
            self.rebuilt.push((q.clone(), here.i));
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

    fn drop_tables(&mut self, here: Here<'_>, names: &[ObjectName]) {
        for n in names {
            let Some((t, true)) = self.table(here.catalog, here.search_path, n) else {
                continue;
            };
            let t = t.clone();
            self.blocks(here.i, here.at, &t);
            self.dropped.push((qualified(&t), here.i));
            self.push(
                Rule::DropTable,
                here.i,
                here.at,
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

    fn drop_indexes(&mut self, here: Here<'_>, names: &[ObjectName]) {
        for n in names {
            let p = parts(n);
            let Some(index) = p.last() else { continue };
            let owner = here.catalog.tables.iter().find(|t| {
                t.indexes.iter().any(|x| &x.name == index)
                    && (p.len() == 1 || p.first() == Some(&t.schema))
            });
            let file = format!("{}:", self.sql.display);
            let Some(t) =
                owner.filter(|t| !t.origin.as_deref().is_some_and(|o| o.starts_with(&file)))
            else {
                continue;
            };
            let t = t.clone();
            self.blocks(here.i, here.at, &t);
            self.push(
                Rule::IndexNotConcurrent,
                here.i,
                here.at,
                format!(
                    "dropping index {index} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on {}.{}: \
                     no query can read or write it until the drop ends",
                    t.schema, t.name
                ),
                "DROP INDEX CONCURRENTLY ... in a migration of its own".into(),
            );
        }
    }

    fn alter_type(&mut self, here: Here<'_>, alter: &AlterType) {
        let AlterTypeOperation::AddValue(add) = &alter.operation else {
            return;
        };
        let p = parts(&alter.name);
        let e = match p.as_slice() {
            [n] => here
                .search_path
                .iter()
                .find_map(|s| here.catalog.enum_type(s, n)),
            [.., s, n] => here.catalog.enum_type(s, n),
            [] => None,
        };
        let Some(e) = e else {
            return;
        };
        let q = QualifiedName {
            schema: e.schema.clone(),
            name: e.name.clone(),
        };
        if self.new_enums.contains(&q) {
            return;
        }
        self.push(
            Rule::EnumValueAdded,
            here.i,
            here.at,
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
