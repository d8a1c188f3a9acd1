//! Replaying migrations into the catalog, statement by statement, in order.
//!
//! Each statement is parsed with sqlparser (PostgreSQL dialect) and its effect applied
//! to the [`Catalog`]. A statement sqlparser cannot parse is passed over when it cannot
//! change the shape the catalog tracks, and otherwise stops generation with an error that
//! names its file, line and column and the escape hatch: a `-- pgstrata:replay <SQL>`
//! (or `-- pgstrata:replay skip`) comment on the line before it.

use pgstrata_core::catalog::{
    Catalog, Check, Column, ColumnType, Composite, Domain, Enum, ForeignKey, Index, KeyConstraint,
    Policy, QualifiedName, Table, View,
};
use sqlparser::ast::{
    AlterTypeAddValuePosition, AlterTypeOperation, ColumnDef, ColumnOption, CommentObject,
    CreateTableLikeKind, DataType, Expr, GeneratedAs, ObjectName, ObjectType, ReferentialAction,
    SchemaName, Select, SelectItem, SetExpr, Statement, TableConstraint, TableFactor,
    UserDefinedTypeRepresentation,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::diag::{Diagnostic, Errors};
use crate::pgtype::{fold, parts, written, Written};
use crate::source::{Source, SqlText};
use pgstrata_core::Migration;

mod alter;
mod names;
mod objects;
mod statement;
mod table;
mod unparsed;
mod user_types;

/// The replay state.
#[derive(Clone, Debug)]
pub struct Replayer {
    /// The catalog so far.
    pub catalog: Catalog,
    /// Problems so far.
    pub errors: Errors,
    search_path: Vec<String>,
    /// `file:line:column` of the statement being replayed.
    here: String,
}

impl Default for Replayer {
    fn default() -> Replayer {
        Replayer {
            catalog: Catalog::default(),
            errors: Errors::default(),
            search_path: vec!["public".into()],
            here: String::new(),
        }
    }
}

/// Where the statement being replayed is, for messages.
struct At<'a> {
    sql: &'a SqlText,
    offset: usize,
}

impl At<'_> {
    fn error(&self, message: impl Into<String>) -> Diagnostic {
        self.sql.diagnostic(self.offset, message)
    }
}

type R<T> = Result<T, String>;

/// A statement about to be replayed, for an [`Observer`].
#[derive(Clone, Copy, Debug)]
pub struct Seen<'a> {
    /// Its index among the file's statements.
    pub index: usize,
    /// Its text.
    pub text: &'a str,
    /// Byte offset of its start in the file's text.
    pub offset: usize,
    /// What sqlparser made of it (of the `-- pgstrata:replay` SQL, when it has one);
    /// `None` when it does not parse.
    pub parsed: Option<&'a Statement>,
}

/// Sees the replay: each migration before and after its up SQL, and each statement with
/// the catalog as it stands just before it (what the lints need to know which tables
/// existed before a migration). `'s` is the lifetime of the migrations replayed, so an
/// observer can keep a reference to the migration it is in.
pub trait Observer<'s> {
    /// Called before the up SQL of `source` is replayed.
    fn begin(&mut self, source: &'s Source, migration: &Migration, replay: &Replayer) {
        let _ = (source, migration, replay);
    }

    /// Called before `seen` is replayed.
    fn before(&mut self, catalog: &Catalog, search_path: &[String], seen: Seen<'_>) {
        let _ = (catalog, search_path, seen);
    }

    /// Called after the up SQL of `source` is replayed.
    fn end(&mut self, source: &'s Source, replay: &Replayer) {
        let _ = (source, replay);
    }
}

impl Observer<'_> for () {}

impl Replayer {
    /// Replays one file's statements.
    pub fn file(&mut self, sql: &SqlText) {
        self.file_observed(sql, &mut ());
    }

    /// The catalog, once every file is replayed.
    ///
    /// # Errors
    /// Every problem found, and every table whose columns a `CREATE TABLE ... AS` left
    /// unknown.
    pub fn finish(self) -> Result<Catalog, Errors> {
        let Replayer {
            catalog,
            mut errors,
            ..
        } = self;
        for t in &catalog.tables {
            let Some(at) = &t.unresolved else {
                continue;
            };
            let (file, why) = at.split_once(": ").unwrap_or((at.as_str(), ""));
            errors.push(
                Diagnostic::file(
                    file,
                    format!("the columns of table {}.{} are not known: {why}", t.schema, t.name),
                )
                .help(
                    "pgstrata cannot derive columns from this query; put `-- pgstrata:replay CREATE TABLE ... (columns)` \
                     on the line before the statement to declare them",
                ),
            );
        }
        errors.finish(catalog)
    }

    /// Replays one file's statements, showing each to `observer` first.
    pub fn file_observed<'s>(&mut self, sql: &SqlText, observer: &mut dyn Observer<'s>) {
        let mut prev_end = 0usize;
        for (index, stmt) in sql.split.statements.iter().enumerate() {
            let start = stmt.span.start as usize;
            let text = &sql.text[stmt.span.range()];
            let at = At { sql, offset: start };
            self.here = sql.position(start);
            let directive = replay_directive(sql, prev_end, start);
            prev_end = stmt.span.end as usize;
            let effective = match &directive {
                Some(d) if d.eq_ignore_ascii_case("skip") => continue,
                Some(d) => d.as_str(),
                None => text,
            };
            let seen = Seen {
                index,
                text,
                offset: start,
                parsed: None,
            };
            let mut parsed = Parser::parse_sql(&PostgreSqlDialect {}, effective);
            if parsed.is_err() && directive.is_none() {
                if let Some(plain) = unparsed::drop_index_concurrently(text) {
                    parsed = Parser::parse_sql(&PostgreSqlDialect {}, &plain);
                }
            }
            if parsed.is_err() {
                observer.before(&self.catalog, &self.search_path, seen);
            }
            match parsed {
                Ok(statements) => {
                    for s in statements {
                        let seen = Seen {
                            parsed: Some(&s),
                            ..seen
                        };
                        observer.before(&self.catalog, &self.search_path, seen);
                        if let Err(message) = self.statement(&s) {
                            self.errors.push(at.error(message).help(
                                "fix the statement, or if pgstrata models it wrongly, describe its effect with \
                                 `-- pgstrata:replay <SQL>` on the line before it",
                            ));
                        }
                    }
                }
                Err(e) if directive.is_some() => {
                    self.errors.push(
                        at.error(format!(
                            "the SQL of `-- pgstrata:replay` does not parse: {e}"
                        ))
                        .help(
                            "write the statement's effect as SQL pgstrata parses (e.g. `-- pgstrata:replay CREATE TABLE x (a int)`), \
                             or `-- pgstrata:replay skip` when it changes no table, column or type",
                        ),
                    );
                }
                Err(e) => {
                    if let Some((name, new)) = unparsed::rename_sequence(text) {
                        self.rename_sequence(&name, &new);
                        continue;
                    }
                    if let Some(moved) = unparsed::set_schema(text) {
                        if let Err(message) = self.set_schema(moved) {
                            self.errors.push(at.error(message));
                        }
                        continue;
                    }
                    if let Some(problem) = unparsed::may_change_schema(text) {
                        self.errors.push(
                            at.error(format!(
                                "cannot model this statement: sqlparser does not parse it ({e}) and it {problem}"
                            ))
                            .help(
                                "tell pgstrata its effect on the schema: put `-- pgstrata:replay skip` on the line \
                                 before it if it changes no table, column or type, or `-- pgstrata:replay <SQL>` with \
                                 equivalent SQL that pgstrata parses",
                            ),
                        );
                    }
                }
            }
        }
    }

    fn schema_of(&self, p: &[String]) -> (String, String) {
        match p {
            [s, n] => (s.clone(), n.clone()),
            [.., s, n] => (s.clone(), n.clone()),
            [n] => (
                self.search_path
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "public".into()),
                n.clone(),
            ),
            [] => ("public".into(), String::new()),
        }
    }

    /// The index of the table an (optionally qualified) name refers to.
    fn find_table(&self, name: &ObjectName) -> Option<usize> {
        let p = parts(name);
        match p.as_slice() {
            [n] => self.search_path.iter().find_map(|s| {
                self.catalog
                    .tables
                    .iter()
                    .position(|t| &t.schema == s && &t.name == n)
            }),
            [.., s, n] => self
                .catalog
                .tables
                .iter()
                .position(|t| &t.schema == s && &t.name == n),
            [] => None,
        }
    }

    fn find_view(&self, name: &ObjectName) -> bool {
        let p = parts(name);
        match p.as_slice() {
            [n] => self
                .catalog
                .views
                .iter()
                .any(|v| &v.name == n && self.search_path.contains(&v.schema)),
            [.., s, n] => self
                .catalog
                .views
                .iter()
                .any(|v| &v.schema == s && &v.name == n),
            [] => false,
        }
    }

    fn table_mut(&mut self, name: &ObjectName) -> R<&mut Table> {
        match self.find_table(name) {
            Some(i) => Ok(&mut self.catalog.tables[i]),
            None => Err(format!(
                "table {name} does not exist at this point of the migrations"
            )),
        }
    }

    /// Whether `schema.name` is taken in PostgreSQL's type namespace: enums, domains,
    /// composites, and the row types of tables and views.
    fn type_taken(&self, schema: &str, name: &str) -> bool {
        let c = &self.catalog;
        c.enums.iter().any(|e| e.schema == schema && e.name == name)
            || c.domains
                .iter()
                .any(|d| d.schema == schema && d.name == name)
            || c.composites
                .iter()
                .any(|x| x.schema == schema && x.name == name)
            || c.tables
                .iter()
                .any(|t| t.schema == schema && t.name == name)
            || c.views.iter().any(|v| v.schema == schema && v.name == name)
    }

    /// PostgreSQL refuses to create a type under a name its type namespace already has.
    fn check_type_free(&self, schema: &str, name: &str) -> R<()> {
        if self.type_taken(schema, name) {
            return Err(format!(
                "type {schema}.{name} already exists at this point of the migrations (PostgreSQL refuses this)"
            ));
        }
        Ok(())
    }

    /// Resolves a user type name to the schema that has it.
    fn resolve_type(&self, schema: &Option<String>, name: &str) -> Option<String> {
        let has = |s: &str| {
            self.catalog
                .enums
                .iter()
                .any(|e| e.schema == s && e.name == name)
                || self
                    .catalog
                    .domains
                    .iter()
                    .any(|d| d.schema == s && d.name == name)
                || self
                    .catalog
                    .composites
                    .iter()
                    .any(|c| c.schema == s && c.name == name)
                || self
                    .catalog
                    .tables
                    .iter()
                    .any(|t| t.schema == s && t.name == name)
        };
        match schema {
            Some(s) => has(s).then(|| s.clone()),
            None => self.search_path.iter().find(|s| has(s)).cloned(),
        }
    }

    fn column_type(&self, dt: &DataType) -> R<(ColumnType, bool)> {
        match written(dt)? {
            Written::Builtin(t, serial) => Ok((t, serial.is_some())),
            Written::Named {
                schema,
                name,
                array,
                modifier,
            } => {
                let schema = match self.resolve_type(&schema, &name) {
                    Some(s) => s,
                    // An extension's type (citext, hstore, geometry...): the catalog does not
                    // track extensions; such types live in the schema they were created in,
                    // `public` unless written.
                    None => schema.unwrap_or_else(|| "public".into()),
                };
                Ok((
                    ColumnType {
                        schema: Some(schema),
                        name,
                        modifier,
                        array,
                    },
                    false,
                ))
            }
        }
    }

    /// `ALTER SEQUENCE ... RENAME TO`: the defaults calling `nextval` on it follow.
    fn rename_sequence(&mut self, name: &[String], new: &str) {
        let (schema, old) = self.schema_of(name);
        let from = format!(
            "'{}'::regclass",
            names::regclass(&schema, &old).replace('\'', "''")
        );
        let to = format!(
            "'{}'::regclass",
            names::regclass(&schema, new).replace('\'', "''")
        );
        for t in &mut self.catalog.tables {
            for c in &mut t.columns {
                if let Some(d) = c.default.as_mut().filter(|d| d.contains(&from)) {
                    *d = d.replace(&from, &to);
                }
            }
        }
    }

    fn set(&mut self, set: &sqlparser::ast::Set) {
        if let sqlparser::ast::Set::SingleAssignment {
            variable, values, ..
        } = set
        {
            if parts(variable).last().is_some_and(|v| v == "search_path") {
                let path: Vec<String> = values
                    .iter()
                    .map(|v| match v {
                        Expr::Identifier(i) => fold(i),
                        Expr::Value(v) => v.to_string().trim_matches('\'').to_string(),
                        other => other.to_string(),
                    })
                    .filter(|s| s != "\"$user\"" && s != "$user")
                    .collect();
                if !path.is_empty() {
                    self.search_path = path;
                }
            }
        }
    }
}

/// The SQL of a `-- pgstrata:replay ...` comment between `from` and `to` (the gap before
/// a statement); several such lines are joined.
fn replay_directive(sql: &SqlText, from: usize, to: usize) -> Option<String> {
    let mut out: Option<String> = None;
    // Comments are in file order: find the gap's first one by bisection, so a file of
    // many statements and comments is not read in quadratic time.
    let comments = &sql.split.comments;
    let first = comments.partition_point(|c| (c.text.start as usize) < from);
    for c in &comments[first..] {
        let (s, e) = (c.text.start as usize, c.text.end as usize);
        if e > to {
            break;
        }
        if let Some(rest) = sql.text[s..e].trim().strip_prefix("pgstrata:replay") {
            let rest = rest.trim();
            match &mut out {
                Some(o) => {
                    o.push(' ');
                    o.push_str(rest);
                }
                None => out = Some(rest.to_string()),
            }
        }
    }
    out
}
