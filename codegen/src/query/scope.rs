//! What names a query can see: the relations of its FROM clause (tables, views,
//! subqueries, CTEs, joins), and the scopes around it for correlated subqueries.

use pgstrata_core::catalog::{ColumnType, QualifiedName};

use super::QueryError;

/// A type while it is being inferred.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Ty {
    /// Known.
    Known(ColumnType),
    /// A string literal whose type the context decides (PostgreSQL's `unknown`).
    Unknown,
    /// The NULL literal.
    Null,
    /// Parameter `$n` (0-based index), typed by its context.
    Param(usize),
}

/// A column a relation provides.
#[derive(Clone, Debug)]
pub(super) struct Col {
    pub name: String,
    pub ty: Ty,
    pub nullable: bool,
    /// The table column it comes from.
    pub source: Option<(QualifiedName, String)>,
}

/// A relation of a FROM clause.
#[derive(Clone, Debug)]
pub(super) struct Rel {
    /// The name it is referred to by (its alias, or the table's name).
    pub name: String,
    /// Its columns, in order.
    pub cols: Vec<Col>,
}

/// The relations in view, and the enclosing query's for correlated subqueries.
#[derive(Clone, Debug, Default)]
pub(super) struct Scope<'p> {
    pub rels: Vec<Rel>,
    pub parent: Option<&'p Scope<'p>>,
    /// Output column names of the SELECT list, for ORDER BY / GROUP BY references.
    pub outputs: Vec<Col>,
}

impl<'p> Scope<'p> {
    /// Finds a column, unqualified or qualified by a relation name.
    pub(super) fn lookup(&self, qualifier: Option<&str>, column: &str) -> Result<Col, QueryError> {
        match qualifier {
            Some(q) => {
                if let Some(rel) = self.rels.iter().rev().find(|r| r.name == q) {
                    return match rel.cols.iter().find(|c| c.name == column) {
                        Some(c) => Ok(c.clone()),
                        None => {
                            let mut e =
                                QueryError::new(format!("column {q}.{column} does not exist"));
                            if let Some(n) =
                                super::nearest(column, rel.cols.iter().map(|c| c.name.as_str()))
                            {
                                e = e.help(format!("did you mean {q}.{n}?"));
                            }
                            Err(e)
                        }
                    };
                }
                match self.parent {
                    Some(p) => p.lookup(qualifier, column),
                    None => {
                        let mut e = QueryError::new(format!(
                            "missing FROM-clause entry for table {q} (in {q}.{column})"
                        ));
                        if let Some(n) = super::nearest(q, self.all_rels().map(|r| r.name.as_str()))
                        {
                            e = e.help(format!("did you mean {n}.{column}?"));
                        }
                        Err(e)
                    }
                }
            }
            None => {
                let found: Vec<(&Rel, &Col)> = self
                    .rels
                    .iter()
                    .flat_map(|r| {
                        r.cols
                            .iter()
                            .filter(|c| c.name == column)
                            .map(move |c| (r, c))
                    })
                    .collect();
                match found.as_slice() {
                    [(_, c)] => Ok((*c).clone()),
                    [] => match self.parent {
                        Some(p) => p.lookup(None, column).map_err(|e| self.suggest(e, column)),
                        None => Err(self.suggest(
                            QueryError::new(format!("column {column} does not exist")),
                            column,
                        )),
                    },
                    many => Err(
                        QueryError::new(format!("column reference {column} is ambiguous")).help(
                            format!(
                                "qualify it: {}",
                                many.iter()
                                    .map(|(r, _)| format!("{}.{column}", r.name))
                                    .collect::<Vec<_>>()
                                    .join(" or ")
                            ),
                        ),
                    ),
                }
            }
        }
    }

    fn all_rels(&self) -> Box<dyn Iterator<Item = &Rel> + '_> {
        match self.parent {
            Some(p) => Box::new(self.rels.iter().chain(p.all_rels())),
            None => Box::new(self.rels.iter()),
        }
    }

    /// Adds the nearest column name to an unknown-column error.
    fn suggest(&self, e: QueryError, column: &str) -> QueryError {
        if e.help.is_some() {
            return e;
        }
        let names: Vec<String> = self
            .all_rels()
            .flat_map(|r| r.cols.iter().map(move |c| format!("{}.{}", r.name, c.name)))
            .collect();
        let bare: Vec<&str> = names
            .iter()
            .map(|n| n.rsplit('.').next().unwrap_or_default())
            .collect();
        match super::nearest(column, bare.iter().copied()) {
            Some(n) => {
                let full = names
                    .iter()
                    .find(|f| f.ends_with(&format!(".{n}")))
                    .cloned();
                e.help(format!(
                    "did you mean {}?",
                    full.unwrap_or_else(|| n.to_string())
                ))
            }
            None => e,
        }
    }
}
