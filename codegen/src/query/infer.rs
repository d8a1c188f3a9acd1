//! Statements: SELECT (with CTEs, set operations, joins, subqueries), INSERT (VALUES or
//! SELECT, ON CONFLICT), UPDATE (SET, FROM), DELETE (USING), RETURNING.

use pgstrata_core::catalog::{Catalog, ColumnType, QualifiedName};
use pgstrata_core::{lex, LineIndex};
use sqlparser::ast::{
    AssignmentTarget, Cte, Delete, FromTable, Insert, JoinConstraint, JoinOperator, ObjectName,
    OnConflictAction, OnInsert, OrderBy, OrderByKind, Query, Select, SelectItem, SetExpr, Spanned,
    Statement, TableFactor, TableObject, TableWithJoins, Update, UpdateTableFromKind,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::coerce::{bare, base, t};
use super::scope::{Col, Rel, Scope, Ty};
use super::{Described, Output, Param, QueryError};
use crate::pgtype::{fold, parts};

/// A parameter as inferred so far.
#[derive(Clone, Debug, Default)]
pub(super) struct Slot {
    pub ty: Option<ColumnType>,
    pub nullable: bool,
    pub used: bool,
}

/// The inference state of one statement.
pub(super) struct Engine<'c> {
    pub catalog: &'c Catalog,
    pub search_path: Vec<String>,
    pub params: Vec<Slot>,
    /// CTEs in view, innermost last.
    pub ctes: Vec<(String, Vec<Col>)>,
    /// Whether the expressions being typed are those of a grouped SELECT (its list and
    /// HAVING): an aggregate there sees at least one row of each group.
    pub grouped: bool,
    sql: &'c str,
    lines: LineIndex,
}

pub(super) fn describe(catalog: &Catalog, sql: &str) -> Result<Described, QueryError> {
    let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).map_err(|e| {
        QueryError::new(format!("the query does not parse: {e}"))
            .help("write one PostgreSQL statement")
    })?;
    let [statement] = statements.as_slice() else {
        return Err(QueryError::new(format!(
            "expected one statement, found {}",
            statements.len()
        ))
        .help("put each query under its own `-- name:` line"));
    };
    let mut engine = Engine {
        catalog,
        search_path: vec!["public".to_string()],
        params: Vec::new(),
        ctes: Vec::new(),
        grouped: false,
        sql,
        lines: LineIndex::new(sql),
    };
    let (cols, returns_rows) = engine.statement(statement, None)?;
    let mut params = Vec::with_capacity(engine.params.len());
    for (i, slot) in engine.params.iter().enumerate() {
        if !slot.used {
            return Err(QueryError::new(format!(
                "${} is never used, but a later parameter is",
                i + 1
            ))
            .help("number the parameters $1, $2, ... without gaps"));
        }
        let Some(ty) = &slot.ty else {
            return Err(
                QueryError::new(format!("cannot tell the type of ${}", i + 1))
                    .help(format!(
                        "say it with a cast: ${}::integer, ${}::text ...",
                        i + 1,
                        i + 1
                    ))
                    .at(find_param(sql, i + 1)),
            );
        };
        params.push(Param {
            ty: ty.clone(),
            nullable: slot.nullable,
        });
    }
    let columns = cols
        .into_iter()
        .map(|c| Output {
            ty: engine.output_type(&c.ty),
            name: c.name,
            nullable: c.nullable,
            source: c.source,
        })
        .collect();
    Ok(Described {
        params,
        columns,
        returns_rows,
    })
}

/// The byte offset of `$n` in the SQL.
fn find_param(sql: &str, n: usize) -> Option<usize> {
    let needle = format!("${n}");
    lex::significant(sql)
        .find(|t| t.kind == lex::Kind::Param && t.text(sql) == needle)
        .map(|t| t.start)
}

impl<'c> Engine<'c> {
    /// The byte offset of a node's start.
    pub(super) fn offset(&self, node: &impl Spanned) -> Option<usize> {
        let span = node.span();
        if span.start.line == 0 {
            return None;
        }
        let line = self.lines.line(self.sql, span.start.line as u32)?;
        let line_start = line.as_ptr() as usize - self.sql.as_ptr() as usize;
        let col = line
            .char_indices()
            .nth((span.start.column as usize).saturating_sub(1))
            .map_or(line.len(), |(b, _)| b);
        Some(line_start + col)
    }

    /// A result type as PostgreSQL describes it: domains as their base, literals as text.
    pub(super) fn output_type(&self, ty: &Ty) -> ColumnType {
        match ty {
            Ty::Known(k) => bare(&base(self.catalog, k)),
            Ty::Unknown | Ty::Null => t("text"),
            Ty::Param(n) => self
                .params
                .get(*n)
                .and_then(|s| s.ty.clone())
                .unwrap_or_else(|| t("text")),
        }
    }

    /// Result columns, and whether the statement returns rows.
    fn statement(
        &mut self,
        s: &Statement,
        scope: Option<&Scope>,
    ) -> Result<(Vec<Col>, bool), QueryError> {
        match s {
            Statement::Query(q) => Ok((self.query(q, scope)?, true)),
            Statement::Insert(i) => self.insert(i, scope),
            Statement::Update(u) => self.update(u, scope),
            Statement::Delete(d) => self.delete(d, scope),
            other => Err(QueryError::new(format!(
                "only SELECT, INSERT, UPDATE and DELETE can be checked, not `{}`",
                other
                    .to_string()
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            ))
            .at(self.offset(other))),
        }
    }

    pub(super) fn query(
        &mut self,
        q: &Query,
        parent: Option<&Scope>,
    ) -> Result<Vec<Col>, QueryError> {
        let depth = self.ctes.len();
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                let name = fold(&cte.alias.name);
                if with.recursive {
                    // The non-recursive part decides the columns the recursive part sees.
                    if let SetExpr::SetOperation { left, .. } = cte.query.body.as_ref() {
                        let mut seed = self.set_expr(left, parent, None)?;
                        for (c, n) in seed.iter_mut().zip(&cte.alias.columns) {
                            c.name = fold(&n.name);
                        }
                        self.ctes.push((name.clone(), seed));
                    }
                }
                let cols = self.cte(cte, parent)?;
                self.ctes.push((name, cols));
            }
        }
        let cols = self.set_expr(&q.body, parent, q.order_by.as_ref());
        self.ctes.truncate(depth.max(self.ctes.len().min(depth)));
        let cols = cols?;
        if let Some(limit) = &q.limit_clause {
            let empty = Scope::default();
            let scope = parent.unwrap_or(&empty);
            let (limit, offset) = match limit {
                sqlparser::ast::LimitClause::LimitOffset { limit, offset, .. } => {
                    (limit.as_ref(), offset.as_ref().map(|o| &o.value))
                }
                sqlparser::ast::LimitClause::OffsetCommaLimit { offset, limit } => {
                    (Some(limit), Some(offset))
                }
            };
            for e in limit.into_iter().chain(offset) {
                let v = self.expr(e, scope)?;
                self.expect(&v, &t("bigint"), super::expr::Ctx::Exact, e)?;
            }
        }
        self.ctes.truncate(depth);
        Ok(cols)
    }

    fn cte(&mut self, cte: &Cte, parent: Option<&Scope>) -> Result<Vec<Col>, QueryError> {
        let mut cols = match cte.query.body.as_ref() {
            SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) => {
                self.statement(s, parent)?.0
            }
            _ => self.query(&cte.query, parent)?,
        };
        for (c, name) in cols.iter_mut().zip(&cte.alias.columns) {
            c.name = fold(&name.name);
        }
        Ok(cols)
    }

    fn set_expr(
        &mut self,
        body: &SetExpr,
        parent: Option<&Scope>,
        order_by: Option<&OrderBy>,
    ) -> Result<Vec<Col>, QueryError> {
        match body {
            SetExpr::Select(s) => self.select(s, parent, order_by),
            SetExpr::Query(q) => self.query(q, parent),
            SetExpr::SetOperation { left, right, .. } => {
                let l = self.set_expr(left, parent, None)?;
                let r = self.set_expr(right, parent, None)?;
                if l.len() != r.len() {
                    return Err(QueryError::new(format!(
                        "each side of a set operation must have the same number of columns: {} and {}",
                        l.len(),
                        r.len()
                    ))
                    .at(self.offset(body)));
                }
                let mut out = Vec::with_capacity(l.len());
                for (a, b) in l.into_iter().zip(r) {
                    let ty = self
                        .unite(&a.ty, &b.ty)
                        .map_err(|e| e.at(self.offset(body)))?;
                    out.push(Col {
                        ty,
                        nullable: a.nullable || b.nullable,
                        source: None,
                        ..a
                    });
                }
                if let Some(ob) = order_by {
                    let scope = Scope {
                        outputs: out.clone(),
                        parent,
                        ..Scope::default()
                    };
                    self.order_by(ob, &scope)?;
                }
                Ok(out)
            }
            SetExpr::Values(v) => {
                let empty = Scope::default();
                let scope = parent.unwrap_or(&empty);
                let mut out: Vec<Col> = Vec::new();
                for row in &v.rows {
                    for (i, e) in row.iter().enumerate() {
                        let v = self.expr(e, scope)?;
                        match out.get_mut(i) {
                            Some(c) => {
                                c.ty = self.unite(&c.ty, &v.ty)?;
                                c.nullable |= v.nullable;
                            }
                            None => out.push(Col {
                                name: format!("column{}", i + 1),
                                ty: v.ty,
                                nullable: v.nullable,
                                source: None,
                            }),
                        }
                    }
                }
                Ok(out)
            }
            SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) => {
                Ok(self.statement(s, parent)?.0)
            }
            other => Err(
                QueryError::new(format!("cannot check this kind of query: {other}"))
                    .at(self.offset(other)),
            ),
        }
    }

    /// The common type of two branches (UNION, VALUES rows, CASE).
    pub(super) fn unite(&mut self, a: &Ty, b: &Ty) -> Result<Ty, QueryError> {
        Ok(match (a, b) {
            (Ty::Known(x), Ty::Known(y)) => {
                let (x, y) = (base(self.catalog, x), base(self.catalog, y));
                match super::coerce::common(&x, &y) {
                    Some(c) => Ty::Known(c),
                    None => {
                        return Err(QueryError::new(format!(
                            "types {} and {} cannot be matched",
                            x.format(),
                            y.format()
                        ))
                        .help("cast one side to the other's type"))
                    }
                }
            }
            (Ty::Known(k), Ty::Param(n)) | (Ty::Param(n), Ty::Known(k)) => {
                self.bind(*n, bare(&base(self.catalog, k)), false);
                Ty::Known(k.clone())
            }
            (Ty::Known(k), _) | (_, Ty::Known(k)) => Ty::Known(k.clone()),
            (Ty::Param(n), _) | (_, Ty::Param(n)) => Ty::Param(*n),
            (Ty::Unknown, _) | (_, Ty::Unknown) => Ty::Unknown,
            (Ty::Null, Ty::Null) => Ty::Null,
        })
    }

    fn select(
        &mut self,
        s: &Select,
        parent: Option<&Scope>,
        order_by: Option<&OrderBy>,
    ) -> Result<Vec<Col>, QueryError> {
        let mut scope = Scope {
            parent,
            ..Scope::default()
        };
        for twj in &s.from {
            self.join_item(twj, &mut scope)?;
        }
        if let Some(w) = &s.selection {
            self.condition(w, &scope)?;
            // A column the WHERE clause compares (with an operator that yields NULL on
            // NULL) or tests IS NOT NULL is never NULL in the rows it lets through.
            let mut facts = Vec::new();
            not_null_facts(w, &mut facts);
            for (q, c) in facts {
                let hits: Vec<usize> = scope
                    .rels
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| {
                        q.as_ref().is_none_or(|q| &r.name == q)
                            && r.cols.iter().any(|x| x.name == c)
                    })
                    .map(|(i, _)| i)
                    .collect();
                if let [i] = hits.as_slice() {
                    for col in scope.rels[*i].cols.iter_mut().filter(|x| x.name == c) {
                        col.nullable = false;
                    }
                }
            }
        }
        let grouped =
            !matches!(&s.group_by, sqlparser::ast::GroupByExpr::Expressions(e, _) if e.is_empty());
        let outer_grouped = std::mem::replace(&mut self.grouped, grouped);
        let out = self.projection(&s.projection, &scope);
        self.grouped = outer_grouped;
        let out = out?;
        scope.outputs = out.clone();
        if let sqlparser::ast::GroupByExpr::Expressions(exprs, _) = &s.group_by {
            for e in exprs {
                self.expr(e, &scope)?;
            }
        }
        if let Some(h) = &s.having {
            let outer_grouped = std::mem::replace(&mut self.grouped, true);
            let r = self.condition(h, &scope);
            self.grouped = outer_grouped;
            r?;
        }
        if let Some(sqlparser::ast::Distinct::On(exprs)) = &s.distinct {
            for e in exprs {
                self.expr(e, &scope)?;
            }
        }
        if let Some(ob) = order_by {
            self.order_by(ob, &scope)?;
        }
        Ok(out)
    }

    fn order_by(&mut self, ob: &OrderBy, scope: &Scope) -> Result<(), QueryError> {
        if let OrderByKind::Expressions(list) = &ob.kind {
            for o in list {
                self.expr(&o.expr, scope)?;
            }
        }
        Ok(())
    }

    /// A WHERE / ON / HAVING condition.
    pub(super) fn condition(
        &mut self,
        e: &sqlparser::ast::Expr,
        scope: &Scope,
    ) -> Result<(), QueryError> {
        let v = self.expr(e, scope)?;
        self.expect(&v, &t("boolean"), super::expr::Ctx::Exact, e)
    }

    /// Adds the relations of one FROM item (a table and its joins) to `scope`.
    fn join_item(&mut self, twj: &TableWithJoins, scope: &mut Scope) -> Result<(), QueryError> {
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
    fn target(&mut self, name: &ObjectName) -> Result<(Rel, QualifiedName), QueryError> {
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
    fn projection(&mut self, items: &[SelectItem], scope: &Scope) -> Result<Vec<Col>, QueryError> {
        let mut out = Vec::new();
        for item in items {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    let v = self.expr(e, scope)?;
                    out.push(Col {
                        name: v.name.unwrap_or_else(|| "?column?".to_string()),
                        ty: v.ty,
                        nullable: v.nullable,
                        source: v.source,
                    });
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let v = self.expr(expr, scope)?;
                    out.push(Col {
                        name: fold(alias),
                        ty: v.ty,
                        nullable: v.nullable,
                        source: v.source,
                    });
                }
                SelectItem::Wildcard(_) => {
                    if scope.rels.is_empty() {
                        return Err(QueryError::new("* with no FROM clause").at(self.offset(item)));
                    }
                    for r in &scope.rels {
                        out.extend(r.cols.iter().cloned());
                    }
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    let sqlparser::ast::SelectItemQualifiedWildcardKind::ObjectName(name) = kind
                    else {
                        return Err(
                            QueryError::new(format!("cannot check {item}")).at(self.offset(item))
                        );
                    };
                    let q = parts(name).pop().unwrap_or_default();
                    match scope.rels.iter().find(|r| r.name == q) {
                        Some(r) => out.extend(r.cols.iter().cloned()),
                        None => {
                            return Err(QueryError::new(format!(
                                "missing FROM-clause entry for table {q}"
                            ))
                            .at(self.offset(item)))
                        }
                    }
                }
                other => {
                    return Err(
                        QueryError::new(format!("cannot check this select item: {other}"))
                            .at(self.offset(other)),
                    )
                }
            }
        }
        Ok(out)
    }

    fn returning(
        &mut self,
        items: Option<&Vec<SelectItem>>,
        scope: &Scope,
    ) -> Result<(Vec<Col>, bool), QueryError> {
        match items {
            Some(items) => Ok((self.projection(items, scope)?, true)),
            None => Ok((Vec::new(), false)),
        }
    }

    /// A set-returning function in FROM: `unnest($1::int[])`, `generate_series(1, 10)`.
    /// Its relation is named after the function, as its one column is when the function
    /// returns a plain value (see [`aliased`]).
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

    fn insert(
        &mut self,
        i: &Insert,
        parent: Option<&Scope>,
    ) -> Result<(Vec<Col>, bool), QueryError> {
        let TableObject::TableName(name) = &i.table else {
            return Err(QueryError::new(
                "INSERT into a table function cannot be checked",
            ));
        };
        let (mut rel, _) = self.target(name)?;
        if let Some(a) = &i.table_alias {
            rel.name = fold(&a.alias);
        }
        let targets: Vec<Col> = if i.columns.is_empty() {
            rel.cols.clone()
        } else {
            let mut out = Vec::new();
            for c in &i.columns {
                let n = parts(c).pop().unwrap_or_default();
                match rel.cols.iter().find(|x| x.name == n) {
                    Some(col) => out.push(col.clone()),
                    None => {
                        let mut e = QueryError::new(format!(
                            "column {n} of relation {} does not exist",
                            rel.name
                        ))
                        .at(self.offset(c));
                        if let Some(near) =
                            super::nearest(&n, rel.cols.iter().map(|c| c.name.as_str()))
                        {
                            e = e.help(format!("did you mean {near}?"));
                        }
                        return Err(e);
                    }
                }
            }
            out
        };
        let empty = Scope::default();
        let outer = parent.unwrap_or(&empty);
        if let Some(source) = &i.source {
            match source.body.as_ref() {
                SetExpr::Values(values) => {
                    for row in &values.rows {
                        if row.len() > targets.len() {
                            return Err(QueryError::new(
                                "INSERT has more expressions than target columns",
                            )
                            .at(self.offset(&row[targets.len()])));
                        }
                        for (e, col) in row.iter().zip(&targets) {
                            if matches!(e, sqlparser::ast::Expr::Identifier(id) if id.value.eq_ignore_ascii_case("default"))
                            {
                                continue;
                            }
                            let v = self.expr(e, outer)?;
                            self.assign(&v, col, e)?;
                        }
                    }
                }
                _ => {
                    let cols = self.query(source, parent)?;
                    if cols.len() > targets.len() {
                        return Err(QueryError::new(
                            "INSERT has more expressions than target columns",
                        ));
                    }
                    for (c, col) in cols.iter().zip(&targets) {
                        let v = super::expr::E {
                            ty: c.ty.clone(),
                            nullable: c.nullable,
                            name: None,
                            source: None,
                        };
                        self.assign(&v, col, source.as_ref())?;
                    }
                }
            }
        }
        let mut scope = Scope {
            rels: vec![rel.clone()],
            parent,
            outputs: Vec::new(),
        };
        if let Some(OnInsert::OnConflict(oc)) = &i.on {
            if let OnConflictAction::DoUpdate(du) = &oc.action {
                let mut excluded = rel.clone();
                excluded.name = "excluded".into();
                let mut conflict_scope = scope.clone();
                conflict_scope.rels.push(excluded);
                for a in &du.assignments {
                    self.assignment(a, &rel, &conflict_scope)?;
                }
                if let Some(w) = &du.selection {
                    self.condition(w, &conflict_scope)?;
                }
            }
        }
        scope.outputs.clear();
        self.returning(i.returning.as_ref(), &scope)
    }

    fn assignment(
        &mut self,
        a: &sqlparser::ast::Assignment,
        rel: &Rel,
        scope: &Scope,
    ) -> Result<(), QueryError> {
        let names: Vec<&ObjectName> = match &a.target {
            AssignmentTarget::ColumnName(n) => vec![n],
            AssignmentTarget::Tuple(ns) => ns.iter().collect(),
        };
        for n in names {
            let c = parts(n).pop().unwrap_or_default();
            let Some(col) = rel.cols.iter().find(|x| x.name == c) else {
                let mut e = QueryError::new(format!(
                    "column {c} of relation {} does not exist",
                    rel.name
                ))
                .at(self.offset(n));
                if let Some(near) = super::nearest(&c, rel.cols.iter().map(|c| c.name.as_str())) {
                    e = e.help(format!("did you mean {near}?"));
                }
                return Err(e);
            };
            let col = col.clone();
            if matches!(&a.value, sqlparser::ast::Expr::Identifier(id) if id.value.eq_ignore_ascii_case("default"))
            {
                continue;
            }
            let v = self.expr(&a.value, scope)?;
            self.assign(&v, &col, &a.value)?;
        }
        Ok(())
    }

    fn update(
        &mut self,
        u: &Update,
        parent: Option<&Scope>,
    ) -> Result<(Vec<Col>, bool), QueryError> {
        let TableFactor::Table { name, alias, .. } = &u.table.relation else {
            return Err(QueryError::new("UPDATE of this target cannot be checked"));
        };
        let (mut rel, _) = self.target(name)?;
        if let Some(a) = alias {
            rel.name = fold(&a.name);
        }
        let mut scope = Scope {
            rels: vec![rel.clone()],
            parent,
            outputs: Vec::new(),
        };
        if let Some(UpdateTableFromKind::AfterSet(from) | UpdateTableFromKind::BeforeSet(from)) =
            &u.from
        {
            for twj in from {
                self.join_item(twj, &mut scope)?;
            }
        }
        for a in &u.assignments {
            self.assignment(a, &rel, &scope)?;
        }
        if let Some(w) = &u.selection {
            self.condition(w, &scope)?;
        }
        self.returning(u.returning.as_ref(), &scope)
    }

    fn delete(
        &mut self,
        d: &Delete,
        parent: Option<&Scope>,
    ) -> Result<(Vec<Col>, bool), QueryError> {
        let from = match &d.from {
            FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
        };
        let Some(first) = from.first() else {
            return Err(QueryError::new("DELETE without a table"));
        };
        let TableFactor::Table { name, alias, .. } = &first.relation else {
            return Err(QueryError::new("DELETE from this target cannot be checked"));
        };
        let (mut rel, _) = self.target(name)?;
        if let Some(a) = alias {
            rel.name = fold(&a.name);
        }
        let mut scope = Scope {
            rels: vec![rel],
            parent,
            outputs: Vec::new(),
        };
        for twj in d.using.iter().flatten() {
            self.join_item(twj, &mut scope)?;
        }
        if let Some(w) = &d.selection {
            self.condition(w, &scope)?;
        }
        self.returning(d.returning.as_ref(), &scope)
    }
}

/// Columns that a WHERE clause makes non-NULL in the rows it keeps: those tested IS NOT
/// NULL, or compared by an operator that yields NULL (so: false) on NULL, in its
/// top-level AND conjuncts. Each is (qualifier, column).
fn not_null_facts(e: &sqlparser::ast::Expr, out: &mut Vec<(Option<String>, String)>) {
    use sqlparser::ast::{BinaryOperator as B, Expr};
    fn column(e: &Expr) -> Option<(Option<String>, String)> {
        match e {
            Expr::Identifier(i) => Some((None, fold(i))),
            Expr::CompoundIdentifier(ids) => match ids.as_slice() {
                [.., q, c] => Some((Some(fold(q)), fold(c))),
                _ => None,
            },
            Expr::Nested(inner) => column(inner),
            Expr::Cast { expr, .. } => column(expr),
            _ => None,
        }
    }
    match e {
        Expr::Nested(inner) => not_null_facts(inner, out),
        Expr::BinaryOp {
            left,
            op: B::And,
            right,
        } => {
            not_null_facts(left, out);
            not_null_facts(right, out);
        }
        Expr::IsNotNull(x) => out.extend(column(x)),
        Expr::BinaryOp {
            left,
            op:
                B::Eq
                | B::NotEq
                | B::Lt
                | B::Gt
                | B::LtEq
                | B::GtEq
                | B::AtArrow
                | B::ArrowAt
                | B::Question
                | B::QuestionAnd
                | B::QuestionPipe
                | B::AtAt
                | B::PGRegexMatch
                | B::PGRegexIMatch
                | B::PGLikeMatch
                | B::PGILikeMatch,
            right,
        } => {
            out.extend(column(left));
            out.extend(column(right));
        }
        Expr::Like {
            expr,
            negated: false,
            ..
        }
        | Expr::ILike {
            expr,
            negated: false,
            ..
        } => out.extend(column(expr)),
        Expr::InList {
            expr,
            negated: false,
            ..
        }
        | Expr::InSubquery {
            expr,
            negated: false,
            ..
        } => out.extend(column(expr)),
        Expr::Between {
            expr,
            negated: false,
            ..
        } => out.extend(column(expr)),
        Expr::AnyOp { left, .. } => out.extend(column(left)),
        Expr::IsTrue(x) => out.extend(column(x)),
        _ => {}
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
