//! The history table: its name, its SQL, and reading it.
//!
//! Every value that reaches SQL text is either a number, a fixed keyword, or quoted here
//! (`pgstrata_core::sql`); nothing from a file or a caller is pasted raw.

use pgstrata_core::sql::delimited;

use crate::conn::{rows, Conn};
use crate::error::{Error, ErrorKind};
use crate::plan::HistoryRow;

/// A schema-qualified table name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryTable {
    schema: Option<String>,
    table: String,
}

impl HistoryTable {
    /// Parses `table` or `schema.table`. Names are taken as written (case-sensitive)
    /// and quoted in SQL.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for an empty name or part, or more than one dot.
    pub fn parse(name: &str) -> Result<HistoryTable, Error> {
        let bad = || {
            Error::new(
                ErrorKind::Config,
                format!("history table name {name:?} is not `table` or `schema.table`"),
            )
        };
        let parts: Vec<&str> = name.split('.').collect();
        match parts.as_slice() {
            [t] if !t.is_empty() => Ok(HistoryTable {
                schema: None,
                table: (*t).to_string(),
            }),
            [s, t] if !s.is_empty() && !t.is_empty() => Ok(HistoryTable {
                schema: Some((*s).to_string()),
                table: (*t).to_string(),
            }),
            _ => Err(bad()),
        }
    }

    /// A table of pgstrata's own beside this one, in the same schema (the settings and
    /// seeds tables of the CLI).
    pub fn sibling(&self, table: &str) -> HistoryTable {
        HistoryTable {
            schema: self.schema.clone(),
            table: table.to_string(),
        }
    }

    /// The table's own name, unquoted.
    pub fn name(&self) -> &str {
        &self.table
    }

    /// The schema, when one was given.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The quoted, qualified name for SQL.
    pub fn sql(&self) -> String {
        match &self.schema {
            Some(s) => format!("{}.{}", delimited(s), delimited(&self.table)),
            None => delimited(&self.table),
        }
    }

    /// `schema.table` as written, for messages and for the lock key.
    pub fn display(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.table),
            None => self.table.clone(),
        }
    }

    /// `CREATE [SCHEMA and] TABLE IF NOT EXISTS`.
    pub fn create_sql(&self) -> String {
        let schema = self.schema.as_ref().map_or_else(String::new, |s| {
            format!("CREATE SCHEMA IF NOT EXISTS {};\n", delimited(s))
        });
        format!(
            "{schema}CREATE TABLE IF NOT EXISTS {} (\n  \
               version bigint PRIMARY KEY,\n  \
               name text NOT NULL,\n  \
               checksum text NOT NULL,\n  \
               applied_at timestamptz NOT NULL DEFAULT now(),\n  \
               execution_ms bigint NOT NULL DEFAULT 0,\n  \
               state text NOT NULL DEFAULT 'applied' CHECK (state IN ('applied', 'failed', 'running')),\n  \
               applied_by text NOT NULL DEFAULT current_user,\n  \
               error text\n\
             )",
            self.sql()
        )
    }
}

/// Whether the error says the table (or its schema) does not exist yet.
pub(crate) fn is_missing(e: &tokio_postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|d| matches!(d.code().code(), "42P01" | "3F000"))
}

/// Runs a query on the history table; `None` when the table does not exist yet.
async fn query<C: Conn>(
    conn: &mut C,
    table: &HistoryTable,
    sql: &str,
) -> Result<Option<Vec<tokio_postgres::SimpleQueryRow>>, Error> {
    match conn.simple(sql).await {
        Ok(m) => Ok(Some(rows(m))),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(Error::db(
            format!("cannot read the history table {}", table.display()),
            e,
        )),
    }
}

/// Reads every row of the history table; `None` when it does not exist yet.
pub(crate) async fn read<C: Conn>(
    conn: &mut C,
    table: &HistoryTable,
) -> Result<Option<Vec<HistoryRow>>, Error> {
    let sql = format!(
        "SELECT version, name, checksum, state, applied_at::text, error, execution_ms FROM {} ORDER BY version",
        table.sql()
    );
    let Some(rows) = query(conn, table, &sql).await? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for r in rows {
        let text = |i: usize| r.get(i).unwrap_or_default().to_string();
        out.push(HistoryRow {
            version: parse_i64(r.get(0), "history version")?,
            name: text(1),
            checksum: text(2),
            state: text(3),
            applied_at: text(4),
            error: r.get(5).map(str::to_string),
            execution_ms: parse_i64(r.get(6), "execution_ms")?,
        });
    }
    Ok(Some(out))
}

/// Parses an integer column of a simple-query row.
pub(crate) fn parse_i64(v: Option<&str>, what: &str) -> Result<i64, Error> {
    v.and_then(|s| s.parse().ok()).ok_or_else(|| {
        Error::new(
            ErrorKind::Protocol,
            format!("unexpected {what} from the server: {v:?}"),
        )
    })
}

/// The one-round-trip check: is every migration of `heads` (version and checksum, in
/// version order) applied, unchanged, with no failed or unknown rows? `Ok(None)` when
/// the table does not exist.
///
/// A plain unordered read of three columns, compared here: on a fresh connection it
/// costs less than any server-side digest, whose function lookups hit a cold catalog
/// cache.
pub(crate) async fn up_to_date<C: Conn>(
    conn: &mut C,
    table: &HistoryTable,
    heads: &[(i64, &str)],
) -> Result<Option<bool>, Error> {
    let sql = format!("SELECT version, checksum, state FROM {}", table.sql());
    let Some(rows) = query(conn, table, &sql).await? else {
        return Ok(None);
    };
    if rows.len() != heads.len() {
        return Ok(Some(false));
    }
    let mut applied: Vec<(i64, &str)> = Vec::with_capacity(rows.len());
    for r in &rows {
        if r.get(2) != Some("applied") {
            return Ok(Some(false));
        }
        applied.push((
            parse_i64(r.get(0), "history version")?,
            r.get(1).unwrap_or_default(),
        ));
    }
    applied.sort_unstable_by_key(|a| a.0);
    // `heads` is sorted by version too.
    Ok(Some(applied.as_slice() == heads))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_quote() {
        assert_eq!(
            HistoryTable::parse("pgstrata_migrations").unwrap().sql(),
            "\"pgstrata_migrations\""
        );
        assert_eq!(
            HistoryTable::parse("Ops.Hist\"ory").unwrap().sql(),
            "\"Ops\".\"Hist\"\"ory\""
        );
        for bad in ["", ".", "a.", ".b", "a.b.c"] {
            assert_eq!(
                HistoryTable::parse(bad).unwrap_err().kind(),
                ErrorKind::Config,
                "{bad}"
            );
        }
    }
}
