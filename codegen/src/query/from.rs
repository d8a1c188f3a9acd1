//! FROM: tables, views, CTEs, subqueries (LATERAL too), set-returning functions, joins
//! (and the NULLs outer joins bring), aliases; and the target of INSERT, UPDATE, DELETE.

use pgstrata_core::catalog::{ColumnType, QualifiedName};
use sqlparser::ast::{JoinConstraint, JoinOperator, ObjectName, TableFactor, TableWithJoins};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::coerce::t;
use super::engine::Engine;
use super::scope::{Col, Rel, Scope, Ty};
use super::QueryError;
use crate::pgtype::{fold, parts};

impl Engine<'_> {
    /// Adds the relations of one FROM item (a table and its joins) to `scope`.
    pub(super) fn join_item(
        &mut self,
        twj: &TableWithJoins,
        scope: &mut Scope,
    ) -> Result<(), QueryError> {
        let rels = self.factor(&twj.relation, scope)?;
        scope.rels.extend(rels);
        for join in &twj.joins {
            let start = scope.rels.len();
            let rels = self.factor(&join.relation, scope)?;
            scope.rels.extend(rels);
            let (left_null, right_null, constraint) = match &join.join_operator {
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (false, true, Some(c)),
                JoinOperator::Right(c) | JoinOperator::RightOuter(c) => (true, false, Some(c)),
                JoinOperator::FullOuter(c) => (true, true, Some(c)),
                JoinOperator::Join(c) | JoinOperator::Inner(c) | JoinOperator::CrossJoin(c) => {
                    (false, false, Some(c))
                }
                _ => (false, false, None),
            };
            if let Some(JoinConstraint::On(e)) = constraint {
                self.condition(e, scope)?;
            }
            for (i, r) in scope.rels.iter_mut().enumerate() {
                if (i < start && left_null) || (i >= start && right_null) {
                    for c in &mut r.cols {
                        c.nullable = true;
                    }
                }
            }
        }
        Ok(())
    }

    /// The relations a table factor provides.
    fn factor(&mut self, f: &TableFactor, scope: &Scope) -> Result<Vec<Rel>, QueryError> {
        match f {
            TableFactor::Table {
                name, alias, args, ..
            } => {
                let rel = match args {
                    Some(a) => self.table_function(name, a, scope)?,
                    None => self.relation(name)?,
                };
                Ok(vec![aliased(rel, alias.as_ref())])
            }
            TableFactor::Derived {
                subquery,
                alias,
                lateral,
                ..
            } => {
                let cols = if *lateral {
                    self.query(subquery, Some(scope))?
                } else {
                    self.query(subquery, scope.parent)?
                };
                let rel = Rel {
                    name: String::new(),
                    cols: cols
                        .into_iter()
                        .map(|c| Col { source: None, ..c })
                        .collect(),
                };
                Ok(vec![aliased(rel, alias.as_ref())])
            }
            TableFactor::UNNEST {
                alias, array_exprs, ..
            } => {
                let mut cols = Vec::new();
                for e in array_exprs {
                    let v = self.expr(e, scope)?;
                    let ty = match self.arg_type(&v) {
                        Some(a) if a.array => super::coerce::element(&a),
                        _ => {
                            return Err(QueryError::new("unnest needs an array")
                                .help("cast the argument: unnest($1::integer[])")
                                .at(self.offset(e)))
                        }
                    };
                    cols.push(Col {
                        name: "unnest".to_string(),
                        ty: Ty::Known(ty),
                        nullable: true,
                        source: None,
                    });
                }
                let rel = Rel {
                    name: "unnest".to_string(),
                    cols,
                };
                Ok(vec![aliased(rel, alias.as_ref())])
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                let mut inner = Scope {
                    parent: scope.parent,
                    ..Scope::default()
                };
                self.join_item(table_with_joins, &mut inner)?;
                let mut rels = inner.rels;
                if let Some(a) = alias {
                    let cols = rels.drain(..).flat_map(|r| r.cols).collect();
                    rels = vec![Rel {
                        name: fold(&a.name),
                        cols,
                    }];
                }
                Ok(rels)
            }
            other => Err(
                QueryError::new(format!("cannot check this FROM item: {other}"))
                    .at(self.offset(other)),
            ),
        }
    }

    /// A table, view or CTE by name.
    pub(super) fn relation(&mut self, name: &ObjectName) -> Result<Rel, QueryError> {
        let p = parts(name);
        let offset = self.offset(name);
        if let [n] = p.as_slice() {
            if let Some((_, cols)) = self.ctes.iter().rev().find(|(c, _)| c == n) {
                return Ok(Rel {
                    name: n.clone(),
                    cols: cols.clone(),
                });
            }
        }
        let (schemas, n): (Vec<String>, String) = match p.as_slice() {
            [n] => (self.search_path.clone(), n.clone()),
            [.., s, n] => (vec![s.clone()], n.clone()),
            [] => return Err(QueryError::new("an empty table name").at(offset)),
        };
        for s in &schemas {
            if let Some(table) = self.catalog.table(s, &n) {
                let q = QualifiedName {
                    schema: table.schema.clone(),
                    name: table.name.clone(),
                };
                let mut rel = Rel {
                    name: n.clone(),
                    cols: table
                        .columns
                        .iter()
                        .map(|c| Col {
                            name: c.name.clone(),
                            ty: Ty::Known(c.ty.clone()),
                            nullable: c.nullable,
                            source: Some((q.clone(), c.name.clone())),
                        })
                        .collect(),
                };
                // A generated column is NULL only when its expression can be.
                let generated: Vec<(usize, String)> = table
                    .columns
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| c.generated.clone().map(|g| (i, g)))
                    .collect();
                for (i, text) in generated {
                    let Ok(e) = Parser::new(&PostgreSqlDialect {})
                        .try_with_sql(&text)
                        .and_then(|mut p| p.parse_expr())
                    else {
                        continue;
                    };
                    let scope = Scope {
                        rels: vec![rel.clone()],
                        ..Scope::default()
                    };
                    if let Ok(v) = self.expr(&e, &scope) {
                        rel.cols[i].nullable = v.nullable;
                    }
                }
                return Ok(rel);
            }
            if let Some(view) = self
                .catalog
                .views
                .iter()
                .find(|v| &v.schema == s && v.name == n)
            {
                let Some(cols) = &view.columns else {
                    return Err(QueryError::new(format!(
                        "the columns of view {}.{} are not known to pgstrata (its query is not a simple SELECT)",
                        view.schema, view.name
                    ))
                    .help("query the tables behind it")
                    .at(offset));
                };
                // The model keeps what the view's SELECT makes of each column,
                // nullability included (PostgreSQL's catalog says every view column
                // may be NULL; the query behind it knows better).
                return Ok(Rel {
                    name: n.clone(),
                    cols: cols
                        .iter()
                        .map(|c| Col {
                            name: c.name.clone(),
                            ty: Ty::Known(c.ty.clone()),
                            nullable: c.nullable,
                            source: None,
                        })
                        .collect(),
                });
            }
        }
        let names = self
            .catalog
            .tables
            .iter()
            .map(|t| t.name.as_str())
            .chain(self.catalog.views.iter().map(|v| v.name.as_str()))
            .chain(self.ctes.iter().map(|(c, _)| c.as_str()));
        let mut e = QueryError::new(format!("relation {} does not exist", p.join("."))).at(offset);
        if let Some(near) = super::nearest(&n, names) {
            e = e.help(format!("did you mean {near}?"));
        }
        Err(e)
    }

    /// The target of INSERT/UPDATE/DELETE: a table.
    pub(super) fn target(&mut self, name: &ObjectName) -> Result<(Rel, QualifiedName), QueryError> {
        let rel = self.relation(name)?;
        let q = rel
            .cols
            .iter()
            .find_map(|c| c.source.as_ref().map(|s| s.0.clone()))
            .ok_or_else(|| {
                QueryError::new(format!("{} is not a table", name)).at(self.offset(name))
            })?;
        Ok((rel, q))
    }

    /// A SELECT list (or RETURNING list) as result columns.
    fn table_function(
        &mut self,
        name: &ObjectName,
        args: &sqlparser::ast::TableFunctionArgs,
        scope: &Scope,
    ) -> Result<Rel, QueryError> {
        let f = parts(name).pop().unwrap_or_default();
        let mut typed = Vec::new();
        let mut exprs = Vec::new();
        for a in &args.args {
            if let sqlparser::ast::FunctionArg::Unnamed(sqlparser::ast::FunctionArgExpr::Expr(e)) =
                a
            {
                typed.push(self.expr(e, scope)?);
                exprs.push(e);
            }
        }
        if f == "generate_series" {
            // generate_series(start, stop[, step]): start and stop share a type, which a
            // parameter takes from the other; the step of a time series is an interval.
            let known = typed.iter().take(2).find_map(|v| self.arg_type(v));
            if let Some(k) = known {
                let step = if k.name.starts_with("timestamp") {
                    t("interval")
                } else {
                    k.clone()
                };
                for (i, (v, e)) in typed.iter().zip(&exprs).enumerate().take(3) {
                    self.want(v, if i < 2 { &k } else { &step }, e)?;
                }
            }
        }
        let first = typed.first().and_then(|v| self.arg_type(v));
        let col = |name: &str, ty: ColumnType| Col {
            name: name.to_string(),
            ty: Ty::Known(ty),
            nullable: true,
            source: None,
        };
        let cols = match (f.as_str(), first) {
            ("unnest", Some(a)) => vec![col("unnest", super::coerce::element(&a))],
            // NULL bounds give no rows rather than NULL values.
            ("generate_series", Some(a)) => vec![Col {
                nullable: false,
                ..col("generate_series", a)
            }],
            ("jsonb_array_elements", _) => vec![col("value", t("jsonb"))],
            ("json_array_elements", _) => vec![col("value", t("json"))],
            ("jsonb_array_elements_text" | "json_array_elements_text", _) => {
                vec![col("value", t("text"))]
            }
            ("jsonb_each", _) => vec![col("key", t("text")), col("value", t("jsonb"))],
            ("jsonb_each_text", _) => vec![col("key", t("text")), col("value", t("text"))],
            _ => {
                return Err(QueryError::new(format!(
                    "pgstrata does not know the columns of {f}(...) in FROM"
                ))
                .help("select from a table, or from unnest($1::type[])")
                .at(self.offset(name)))
            }
        };
        Ok(Rel { name: f, cols })
    }
}

/// A relation under its `AS alias (col, ...)`: renamed, its columns renamed in order.
/// `FROM generate_series(1, 3) g` names the column `g` too: a function returning a plain
/// value (its one column named after the function, not an OUT parameter) takes the
/// table alias as its column's name when no column aliases are given.
fn aliased(mut rel: Rel, alias: Option<&sqlparser::ast::TableAlias>) -> Rel {
    let Some(alias) = alias else {
        return rel;
    };
    if let [only] = rel.cols.as_mut_slice() {
        if alias.columns.is_empty() && only.name == rel.name {
            only.name = fold(&alias.name);
        }
    }
    rel.name = fold(&alias.name);
    for (c, n) in rel.cols.iter_mut().zip(&alias.columns) {
        c.name = fold(&n.name);
    }
    rel
}
