//! Invalid indexes: what an interrupted `CREATE INDEX CONCURRENTLY` (or `REINDEX
//! CONCURRENTLY`) leaves behind. PostgreSQL keeps them, maintains them on every write
//! and never uses them; a rerun with `IF NOT EXISTS` skips them and reports success.
//! Status, drift and the interrupted-migration error name them; resolving the migration
//! as rolled back drops those it created.

use pgstrata_core::lex::{self, Kind, Token};
use pgstrata_core::Migration;

use crate::conn::{rows, Conn};
use crate::error::Error;

/// An index PostgreSQL marks invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidIndex {
    /// Its schema.
    pub schema: String,
    /// Its table.
    pub table: String,
    /// Its name.
    pub name: String,
    /// `CREATE INDEX ...` as `pg_get_indexdef` prints it.
    pub definition: String,
}

impl std::fmt::Display for InvalidIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{} ({})", self.schema, self.name, self.definition)
    }
}

/// Every invalid index of the database's schemas.
pub(crate) async fn find<C: Conn>(conn: &mut C) -> Result<Vec<InvalidIndex>, Error> {
    let sql = "SELECT n.nspname, t.relname, i.relname, pg_get_indexdef(ix.indexrelid) \
               FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid \
               JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = i.relnamespace \
               WHERE NOT ix.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') \
               ORDER BY 1, 3";
    let answer = conn
        .simple(sql)
        .await
        .map_err(|e| Error::db("cannot look for invalid indexes", e))?;
    Ok(rows(answer)
        .iter()
        .map(|r| {
            let f = |i: usize| r.get(i).unwrap_or_default().to_string();
            InvalidIndex {
                schema: f(0),
                table: f(1),
                name: f(2),
                definition: f(3),
            }
        })
        .collect())
}

/// [`find`] on a blocking client.
///
/// # Errors
/// The catalog query fails.
#[cfg(feature = "blocking")]
pub fn find_blocking(client: &mut postgres::Client) -> Result<Vec<InvalidIndex>, Error> {
    crate::conn::block_on(find(client))
}

/// The indexes of `invalid` that `m` builds concurrently: named by one of its
/// `CREATE INDEX CONCURRENTLY` statements, or, for one without a name, on its table.
pub fn created_by<'i>(m: &Migration, invalid: &'i [InvalidIndex]) -> Vec<&'i InvalidIndex> {
    let builds: Vec<(Option<String>, String)> = m
        .statements()
        .iter()
        .filter_map(|span| concurrent_build(m.up().get(span.range())?))
        .collect();
    invalid
        .iter()
        .filter(|i| {
            builds.iter().any(|(name, table)| match name {
                Some(n) => *n == i.name,
                None => *table == i.table,
            })
        })
        .collect()
}

/// The index name (when given) and table of `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT
/// EXISTS] [name] ON [ONLY] table`.
fn concurrent_build(sql: &str) -> Option<(Option<String>, String)> {
    let t: Vec<Token> = lex::significant(sql).collect();
    let word = |i: usize, w: &str| {
        t.get(i)
            .is_some_and(|x| x.kind == Kind::Word && x.text(sql).eq_ignore_ascii_case(w))
    };
    let mut i = 0;
    for (w, optional) in [
        ("CREATE", false),
        ("UNIQUE", true),
        ("INDEX", false),
        ("CONCURRENTLY", false),
    ] {
        if word(i, w) {
            i += 1;
        } else if !optional {
            return None;
        }
    }
    if word(i, "IF") && word(i + 1, "NOT") && word(i + 2, "EXISTS") {
        i += 3;
    }
    let name = if word(i, "ON") {
        None
    } else {
        i += 1;
        Some(t.get(i - 1)?.identifier(sql)?.into_owned())
    };
    if !word(i, "ON") {
        return None;
    }
    i += 1;
    if word(i, "ONLY") {
        i += 1;
    }
    // The table's last name part.
    while t.get(i + 1).is_some_and(|d| d.is(sql, ".")) {
        i += 2;
    }
    Some((name, t.get(i)?.identifier(sql)?.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_builds_are_read_with_their_names_and_tables() {
        let b = |s: &str| concurrent_build(s);
        assert_eq!(
            b("CREATE INDEX CONCURRENTLY IF NOT EXISTS \"Idx\" ON public.users (email)"),
            Some((Some("Idx".into()), "users".into()))
        );
        assert_eq!(
            b("create unique index concurrently on only t (a)"),
            Some((None, "t".into()))
        );
        assert_eq!(b("CREATE INDEX i ON t (a)"), None);
        assert_eq!(b("DROP INDEX CONCURRENTLY i"), None);
    }
}
