//! Checking queries against the schema the migrations build, with no database: the
//! types of their parameters and result columns, whether each result column can be
//! NULL, and errors that point into the SQL.
//!
//! The rules are PostgreSQL's where they decide a type: a parameter takes the type of
//! what it is compared with, assigned to or inserted into (a `varchar` compared with a
//! parameter makes it `text`, as PostgreSQL's operator resolution does; a domain
//! assigned to keeps the domain); `LIMIT`/`OFFSET` take `bigint`; `sum(integer)` is
//! `bigint` and `avg(integer)` is `numeric`; a domain-typed result is described as its
//! base type. Where a parameter's type cannot be decided, the error asks for a cast.

mod coerce;
mod engine;
mod expr;
mod files;
mod from;
mod functions;
mod modify;
mod operators;
mod predicates;
mod scope;
mod select;

use pgstrata_core::catalog::{Catalog, ColumnType, QualifiedName};

pub(crate) use coerce::element;
pub use coerce::pg_name;
pub use files::{parse_file, QueryDef, ResultKind};

/// A parameter of a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// Its type.
    pub ty: ColumnType,
    /// Whether NULL makes sense for it (it is assigned to a nullable column).
    pub nullable: bool,
}

/// A result column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// Its name, as PostgreSQL names it.
    pub name: String,
    /// Its type.
    pub ty: ColumnType,
    /// Whether it can be NULL.
    pub nullable: bool,
    /// The table column it is, when it is one (for matching a table's row struct).
    pub source: Option<(QualifiedName, String)>,
}

/// What a query takes and returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Described {
    /// Parameters `$1`, `$2`... in order.
    pub params: Vec<Param>,
    /// Result columns, in order (empty for a statement without result rows).
    pub columns: Vec<Output>,
    /// Whether it returns rows (a SELECT, or RETURNING).
    pub returns_rows: bool,
}

/// Why a query does not check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError {
    /// Byte offset in the SQL of what is wrong, when known.
    pub offset: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

impl QueryError {
    pub(crate) fn new(message: impl Into<String>) -> QueryError {
        QueryError {
            offset: None,
            message: message.into(),
            help: None,
        }
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> QueryError {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn at(mut self, offset: Option<usize>) -> QueryError {
        if self.offset.is_none() {
            self.offset = offset;
        }
        self
    }
}

/// Describes one statement (with `$n` parameters) against `catalog`.
///
/// # Errors
/// The SQL does not parse, is not one statement, names what does not exist, compares
/// types that do not meet, or has a parameter whose type cannot be decided.
pub fn describe(catalog: &Catalog, sql: &str) -> Result<Described, QueryError> {
    engine::describe(catalog, sql)
}

/// The columns of a view whose SELECT the replay cannot read column by column (joins,
/// expressions, aggregates): as this checker infers them against the schema at the
/// point of `CREATE VIEW`, `names` (the view's column list) renaming them. `None` when
/// the SELECT does not check. Nullability is the inferred one, so that queries reading
/// the view get `Option` only where a NULL can come out.
pub fn view_columns(
    catalog: &Catalog,
    select: &str,
    names: &[String],
) -> Option<Vec<pgstrata_core::catalog::Column>> {
    let d = describe(catalog, select).ok()?;
    if !d.params.is_empty() || !d.returns_rows {
        return None;
    }
    let columns = d
        .columns
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            // A column read straight from a table keeps its declared type (a domain,
            // where PostgreSQL describes the base type).
            let ty = o
                .source
                .as_ref()
                .and_then(|(t, c)| catalog.table(&t.schema, &t.name)?.column(c))
                .map_or(o.ty, |c| c.ty.clone());
            pgstrata_core::catalog::Column {
                name: names.get(i).cloned().unwrap_or(o.name),
                ty,
                nullable: o.nullable,
                default: None,
                identity: None,
                generated: None,
                comment: None,
            }
        })
        .collect();
    Some(columns)
}

/// The name among `candidates` closest to `name`, when one is close enough to be a
/// likely typo.
pub(crate) fn nearest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(&str, usize)> = None;
    for c in candidates {
        let d = distance(name, c);
        if d <= (name.len().max(c.len()) / 3).max(2) && best.is_none_or(|(_, b)| d < b) {
            best = Some((c, d));
        }
    }
    best.map(|(c, _)| c)
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_names() {
        assert_eq!(
            nearest("sesion_id", ["session_id", "id", "role"]),
            Some("session_id")
        );
        assert_eq!(nearest("xyz", ["session_id", "id"]), None);
    }
}
