//! Adopting a database another tool has been migrating: finding its history table,
//! reading what it recorded as applied, and matching that to this folder's migrations,
//! as the tool itself names and checks them. The other tool's table is only read.

use std::fmt;

use pgstrata_core::sql::literal;
use pgstrata_core::Migration;

use crate::conn::{rows, Conn};
use crate::error::{Error, ErrorKind};
use crate::history::HistoryTable;

/// A migration tool whose history pgstrata can adopt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tool {
    /// diesel: `__diesel_schema_migrations`, one row per applied version.
    Diesel,
    /// sqlx: `_sqlx_migrations`, with a SHA-384 checksum and a success flag.
    Sqlx,
    /// refinery: `refinery_schema_history`.
    Refinery,
    /// Flyway: `flyway_schema_history`, with a success flag.
    Flyway,
    /// Prisma: `_prisma_migrations`, with a SHA-256 checksum and finish time.
    Prisma,
    /// golang-migrate: `schema_migrations (version, dirty)`, the current version only.
    GolangMigrate,
    /// dbmate: `schema_migrations (version)`, one row per applied version.
    Dbmate,
}

impl Tool {
    /// Every tool, in the order their tables are looked for.
    pub const ALL: [Tool; 7] = [
        Tool::Diesel,
        Tool::Sqlx,
        Tool::Refinery,
        Tool::Flyway,
        Tool::Prisma,
        Tool::GolangMigrate,
        Tool::Dbmate,
    ];

    /// The name the CLI's `--from` takes.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Diesel => "diesel",
            Tool::Sqlx => "sqlx",
            Tool::Refinery => "refinery",
            Tool::Flyway => "flyway",
            Tool::Prisma => "prisma",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Dbmate => "dbmate",
        }
    }

    /// The tool called `name` (as [`Tool::name`] spells it).
    pub fn from_name(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Its history table's name, as the tool creates it.
    pub fn table(self) -> &'static str {
        match self {
            Tool::Diesel => "__diesel_schema_migrations",
            Tool::Sqlx => "_sqlx_migrations",
            Tool::Refinery => "refinery_schema_history",
            Tool::Flyway => "flyway_schema_history",
            Tool::Prisma => "_prisma_migrations",
            Tool::GolangMigrate | Tool::Dbmate => "schema_migrations",
        }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Another tool's history table found in the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForeignHistory {
    /// The tool.
    pub tool: Tool,
    /// `schema.table`.
    pub table: String,
    /// How many rows it has.
    pub rows: i64,
}

/// Every other tool's history table in the database's schemas (one query).
pub(crate) async fn find<C: Conn>(conn: &mut C) -> Result<Vec<ForeignHistory>, Error> {
    let names: Vec<String> = Tool::ALL
        .iter()
        .map(|t| format!("'{}'", t.table()))
        .collect();
    let sql = format!(
        "SELECT n.nspname, c.relname, \
           EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'dirty' \
                   AND NOT a.attisdropped)::text \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND c.relname IN ({}) \
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
        names.join(", ")
    );
    let found = conn
        .simple(&sql)
        .await
        .map_err(|e| Error::db("cannot look for other tools' history tables", e))?;
    let mut out = Vec::new();
    for r in rows(found) {
        let f = |i: usize| r.get(i).unwrap_or_default().to_string();
        let (schema, table) = (f(0), f(1));
        let tool = match table.as_str() {
            "schema_migrations" if f(2) == "true" => Tool::GolangMigrate,
            "schema_migrations" => Tool::Dbmate,
            t => match Tool::ALL.into_iter().find(|tool| tool.table() == t) {
                Some(tool) => tool,
                None => continue,
            },
        };
        out.push(ForeignHistory {
            tool,
            table: format!("{schema}.{table}"),
            rows: 0,
        });
    }
    for f in &mut out {
        let count = format!("SELECT count(*) FROM {}", qualified(&f.table));
        let answer = conn
            .simple(&count)
            .await
            .map_err(|e| Error::db(format!("cannot count the rows of {}", f.table), e))?;
        f.rows = rows(answer)
            .first()
            .and_then(|r| r.get(0))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
    }
    Ok(out)
}

/// `schema.table` quoted for SQL.
fn qualified(table: &str) -> String {
    let (schema, name) = table.split_once('.').unwrap_or(("public", table));
    format!(
        "{}.{}",
        pgstrata_core::sql::delimited(schema),
        pgstrata_core::sql::delimited(name)
    )
}

/// Records, in pgstrata's history, what `tool` recorded as applied (its table is only
/// read), when pgstrata's history is empty; the migrations recorded.
///
/// # Errors
/// The tool's table is missing, or [`plan`] refuses (every problem listed).
pub(crate) async fn adopt<C: Conn>(
    conn: &mut C,
    history: &HistoryTable,
    tool: Tool,
    migrations: &[Migration],
) -> Result<Vec<(i64, String)>, Error> {
    let found = find(conn).await?;
    let Some(theirs) = found.iter().find(|f| f.tool == tool) else {
        return Err(Error::new(
            ErrorKind::ForeignHistory,
            format!(
                "there is no {tool} history table ({}) in this database, so nothing to adopt",
                tool.table()
            ),
        ));
    };
    let recorded = read(conn, tool, &theirs.table).await?;
    let adopted = plan(tool, &recorded, migrations)?;
    if adopted.is_empty() {
        return Ok(Vec::new());
    }
    let values: Vec<String> = adopted
        .iter()
        .map(|(m, at)| {
            let at = at.as_deref().filter(|t| looks_like_a_time(t)).map_or_else(
                || "now()".to_string(),
                |t| format!("{}::timestamptz", literal(t)),
            );
            format!(
                "({}, {}, {}, {at}, 'applied')",
                m.version(),
                literal(m.name()),
                literal(m.checksum())
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO {} (version, name, checksum, applied_at, state) VALUES {}",
        history.sql(),
        values.join(",\n")
    );
    conn.batch(&sql)
        .await
        .map_err(|e| Error::db(format!("cannot record the migrations {tool} applied"), e))?;
    Ok(adopted
        .iter()
        .map(|(m, _)| (m.version(), m.name().to_string()))
        .collect())
}

/// Whether a tool's text is a date and time PostgreSQL reads (`2024-01-31 10:00:00`,
/// `2024-01-31T10:00:00Z`...): a time in another form is recorded as now.
fn looks_like_a_time(t: &str) -> bool {
    let b = t.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && matches!(b.get(10), Some(b' ' | b'T'))
        && digits(11..13)
}

/// Every other tool's history table in the database, with its row count.
///
/// # Errors
/// A catalog query fails.
pub fn find_async(
    client: &mut tokio_postgres::Client,
) -> crate::BoxFuture<'_, Result<Vec<ForeignHistory>, Error>> {
    Box::pin(find(client))
}

/// [`find_async`] for the blocking client.
///
/// # Errors
/// See [`find_async`].
#[cfg(feature = "blocking")]
pub fn find_blocking(client: &mut postgres::Client) -> Result<Vec<ForeignHistory>, Error> {
    crate::conn::block_on(find(client))
}

/// The error for a database another tool migrates, when pgstrata has no history of its
/// own: starting one would apply everything again. `found` must not be empty.
pub fn refuse(found: &[ForeignHistory]) -> Error {
    let list: Vec<String> = found
        .iter()
        .map(|f| {
            let s = if f.rows == 1 { "" } else { "s" };
            format!("{} ({}, {} row{s})", f.table, f.tool, f.rows)
        })
        .collect();
    let first = &found[0];
    Error::new(
        ErrorKind::ForeignHistory,
        format!(
            "this database is migrated by another tool: {}; pgstrata has no history of its own yet, \
             and starting one would apply every migration again\n  \
             help: adopt its history: `pgstrata baseline --from {} DIR` (or Runner::adopt(Tool::{:?}))",
            list.join(", "),
            first.tool,
            first.tool
        ),
    )
}

/// What the other tool recorded for one migration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Recorded {
    /// Its version as the tool writes it.
    pub version: String,
    /// The checksum the tool stored, when it is one pgstrata can compute (hex).
    pub checksum: Option<String>,
    /// When it was applied, as PostgreSQL prints it.
    pub applied_at: Option<String>,
    /// A failed, unfinished or dirty row: what the tool says about it.
    pub broken: Option<String>,
}

/// What `tool` recorded as applied, from its table `table` (`schema.table`).
pub(crate) async fn read<C: Conn>(
    conn: &mut C,
    tool: Tool,
    table: &str,
) -> Result<Vec<Recorded>, Error> {
    let t = qualified(table);
    let sql = match tool {
        Tool::Diesel => format!("SELECT version, run_on::text, NULL, NULL FROM {t} ORDER BY version"),
        Tool::Sqlx => format!(
            "SELECT version::text, installed_on::text, encode(checksum, 'hex'), \
               CASE WHEN NOT success THEN 'recorded as failed (success = false)' END \
             FROM {t} ORDER BY version"
        ),
        Tool::Refinery => format!("SELECT version::text, applied_on, NULL, NULL FROM {t} ORDER BY version"),
        Tool::Flyway => format!(
            "SELECT version, installed_on::text, NULL, \
               CASE WHEN NOT success THEN 'recorded as failed (success = false)' END \
             FROM {t} WHERE version IS NOT NULL AND type <> 'DELETE' ORDER BY installed_rank"
        ),
        Tool::Prisma => format!(
            "SELECT migration_name, finished_at::text, checksum, \
               CASE WHEN finished_at IS NULL THEN 'not finished (failed, or still running)' END \
             FROM {t} WHERE rolled_back_at IS NULL ORDER BY started_at, migration_name"
        ),
        Tool::GolangMigrate => format!(
            "SELECT version::text, NULL, NULL, CASE WHEN dirty THEN 'dirty (a migration failed half-way)' END FROM {t}"
        ),
        Tool::Dbmate => format!("SELECT version, NULL, NULL, NULL FROM {t} ORDER BY version"),
    };
    let answer = conn
        .simple(&sql)
        .await
        .map_err(|e| Error::db(format!("cannot read {tool}'s history table {table}"), e))?;
    Ok(rows(answer)
        .iter()
        .map(|r| {
            let f = |i: usize| r.get(i).map(str::to_string);
            Recorded {
                version: f(0).unwrap_or_default(),
                applied_at: f(1),
                checksum: f(2),
                broken: f(3),
            }
        })
        .collect())
}

/// The migrations `tool` recorded as applied, each with when, matched to this folder's
/// migrations as the tool names and checks them.
///
/// # Errors
/// [`ErrorKind::ForeignHistory`], listing every problem: a row the tool marks failed,
/// unfinished or dirty; a recorded version no migration of the folder has; a checksum
/// the tool stored that the file no longer has.
pub(crate) fn plan<'m>(
    tool: Tool,
    recorded: &[Recorded],
    migrations: &'m [Migration],
) -> Result<Vec<(&'m Migration, Option<String>)>, Error> {
    let mut problems = Vec::new();
    let mut out: Vec<(&Migration, Option<String>)> = Vec::new();
    for r in recorded {
        if let Some(why) = &r.broken {
            problems.push(format!("version {} is {why}", r.version));
            continue;
        }
        let Some(i) = migrations
            .iter()
            .position(|m| same_version(tool, m, &r.version))
        else {
            problems.push(format!(
                "version {} is recorded as applied, but no migration of this folder has it",
                r.version
            ));
            continue;
        };
        if tool == Tool::GolangMigrate {
            // Its one row is the current version: everything up to it is applied.
            out.extend(migrations[..=i].iter().map(|m| (m, None)));
            continue;
        }
        let m = &migrations[i];
        if let (Some(stored), Some(file)) = (&r.checksum, file_checksum(tool, m)) {
            if !stored.eq_ignore_ascii_case(&file) {
                problems.push(format!(
                    "{m} ({}) changed after {tool} applied it: {tool} recorded checksum {stored}, the file has {file}",
                    m.file()
                ));
                continue;
            }
        }
        out.push((m, r.applied_at.clone()));
    }
    if !problems.is_empty() {
        return Err(Error::new(
            ErrorKind::ForeignHistory,
            format!(
                "nothing was adopted from {tool}'s history:\n  - {}\n  \
                 help: for a failed or dirty row, finish or undo that migration with {tool} first; \
                 for a version without a file, adopt with the folder that has it; for a changed file, \
                 restore it as it was applied",
                problems.join("\n  - ")
            ),
        ));
    }
    Ok(out)
}

/// Whether migration `m` is the one `tool` recorded as `version`.
fn same_version(tool: Tool, m: &Migration, version: &str) -> bool {
    let label = m.label();
    match tool {
        // The folder's name is the migration's name in Prisma's table.
        Tool::Prisma => label == version,
        // diesel and dbmate record the version as text: the name's prefix, dashes gone.
        Tool::Diesel | Tool::Dbmate => {
            let prefix = label.split_once('_').map_or(label.as_ref(), |(v, _)| v);
            prefix.replace('-', "") == version
        }
        Tool::Flyway => {
            let v = label
                .strip_prefix('V')
                .and_then(|rest| rest.split_once("__"))
                .map(|(v, _)| v);
            v.is_some_and(|v| parts(v) == parts(version))
        }
        Tool::Sqlx | Tool::Refinery | Tool::GolangMigrate => {
            version.parse::<i64>().is_ok_and(|v| v == m.version())
        }
    }
}

/// Flyway's version parts, trailing zeros dropped (`1.0` is `1`).
fn parts(v: &str) -> Vec<u64> {
    let mut p: Vec<u64> = v
        .split(['.', '_'])
        .map(|x| x.parse().unwrap_or(u64::MAX))
        .collect();
    while p.len() > 1 && p.last() == Some(&0) {
        p.pop();
    }
    p
}

/// The checksum `tool` would store for `m`, when pgstrata computes it the same way:
/// sqlx's SHA-384 and Prisma's SHA-256 of the file's text.
fn file_checksum(tool: Tool, m: &Migration) -> Option<String> {
    use sha2::Digest;
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    match tool {
        Tool::Sqlx => Some(hex(&sha2::Sha384::digest(m.up().as_bytes()))),
        Tool::Prisma => Some(hex(&sha2::Sha256::digest(m.up().as_bytes()))),
        _ => None,
    }
}
