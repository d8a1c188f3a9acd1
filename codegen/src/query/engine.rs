//! The state of one statement's inference ([`Engine`]): its parameters as typed so
//! far, the CTEs in view, and how an expression's type meets another's ([`E`], [`Ctx`]).
//! The statements (`select`, `from`, `modify`) and expressions (`expr`, `predicates`,
//! `operators`, `functions`) are `impl Engine` blocks of their own files.

use pgstrata_core::catalog::{Catalog, ColumnType, QualifiedName};
use pgstrata_core::{lex, LineIndex};
use sqlparser::ast::{Expr, Spanned, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::coerce::{bare, base, common, is_string, t};
use super::scope::{Col, Scope, Ty};
use super::{Described, Output, Param, QueryError};

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

/// A typed expression.
#[derive(Clone, Debug)]
pub(super) struct E {
    pub ty: Ty,
    pub nullable: bool,
    /// The result column name PostgreSQL would give it (`None`: `?column?`).
    pub name: Option<String>,
    /// The table column it is.
    pub source: Option<(QualifiedName, String)>,
}

impl E {
    pub(super) fn new(ty: Ty, nullable: bool, name: Option<&str>) -> E {
        E {
            ty,
            nullable,
            name: name.map(str::to_string),
            source: None,
        }
    }

    pub(super) fn known(ty: ColumnType, nullable: bool, name: Option<&str>) -> E {
        E::new(Ty::Known(ty), nullable, name)
    }
}

/// How a parameter meets a type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ctx {
    /// Compared with it: PostgreSQL resolves the operator, so a `varchar` (or a domain
    /// over one) makes the parameter `text`.
    Compare,
    /// Among the values of `IN (...)`, `COALESCE`: the common type, domains as their base.
    Common,
    /// Exactly this type (casts, `LIMIT`, function arguments).
    Exact,
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
    pub(super) fn statement(
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

    pub(super) fn bind(&mut self, n: usize, ty: ColumnType, nullable: bool) {
        if self.params.len() <= n {
            self.params.resize(n + 1, Default::default());
        }
        let slot = &mut self.params[n];
        slot.used = true;
        if slot.ty.is_none() {
            slot.ty = Some(ty);
        }
        slot.nullable |= nullable;
    }

    pub(super) fn param_ty(&self, n: usize) -> Option<ColumnType> {
        self.params.get(n).and_then(|s| s.ty.clone())
    }

    /// The type a parameter takes from `ty` in context `ctx`.
    pub(super) fn for_param(&self, ty: &ColumnType, ctx: Ctx) -> ColumnType {
        let b = bare(&base(self.catalog, ty));
        match ctx {
            Ctx::Compare
                if b.schema.is_none()
                    && !b.array
                    && matches!(b.name.as_str(), "character varying") =>
            {
                t("text")
            }
            Ctx::Compare | Ctx::Common => b,
            Ctx::Exact => bare(ty),
        }
    }

    /// Makes `v` meet type `ty`: binds a parameter, or checks the types meet.
    pub(super) fn expect(
        &mut self,
        v: &E,
        ty: &ColumnType,
        ctx: Ctx,
        at: &impl Spanned,
    ) -> Result<(), QueryError> {
        match &v.ty {
            Ty::Param(n) => {
                let p = self.for_param(ty, ctx);
                self.bind(*n, p, false);
                Ok(())
            }
            Ty::Known(k) if !self.comparable(k, ty) => Err(QueryError::new(format!(
                "{} is {}, where {} is expected",
                v.name.as_deref().unwrap_or("the expression"),
                k.format(),
                ty.format()
            ))
            .help(format!("cast it: ...::{}", ty.format()))
            .at(self.offset(at))),
            _ => Ok(()),
        }
    }

    /// Assigning `v` to a column (INSERT, UPDATE SET): a parameter takes the column's type,
    /// domain included, and may be NULL when the column may.
    pub(super) fn assign(&mut self, v: &E, col: &Col, at: &impl Spanned) -> Result<(), QueryError> {
        let Ty::Known(target) = &col.ty else {
            return Ok(());
        };
        match &v.ty {
            Ty::Param(n) => {
                self.bind(*n, bare(target), col.nullable);
                Ok(())
            }
            Ty::Known(k) if !self.assignable(k, target) => Err(QueryError::new(format!(
                "column {} is of type {} but the value is of type {}",
                col.name,
                target.format(),
                k.format()
            ))
            .help(format!("cast the value: ...::{}", target.format()))
            .at(self.offset(at))),
            _ => Ok(()),
        }
    }

    pub(super) fn comparable(&self, a: &ColumnType, b: &ColumnType) -> bool {
        let (a, b) = (bare(&base(self.catalog, a)), bare(&base(self.catalog, b)));
        if a == b || common(&a, &b).is_some() {
            return true;
        }
        let json = |x: &ColumnType| {
            !x.array && x.schema.is_none() && matches!(x.name.as_str(), "json" | "jsonb")
        };
        json(&a) && json(&b)
    }

    fn assignable(&self, value: &ColumnType, target: &ColumnType) -> bool {
        let target_base = bare(&base(self.catalog, target));
        // Anything converts to a string type on assignment (PostgreSQL's I/O casts).
        self.comparable(value, target) || (is_string(&target_base) && !value.array)
    }

    /// Two sides of a comparison (or IN, CASE operand) meet: parameters take the other
    /// side's type; known types must be comparable.
    pub(super) fn meet(
        &mut self,
        a: &E,
        b: &E,
        ctx: Ctx,
        at: &impl Spanned,
    ) -> Result<(), QueryError> {
        match (&a.ty, &b.ty) {
            (Ty::Known(x), Ty::Known(y)) if !self.comparable(x, y) => Err(QueryError::new(
                format!("operator does not exist: {} = {}", x.format(), y.format()),
            )
            .help("cast one side to the other's type")
            .at(self.offset(at))),
            (Ty::Known(x), _) => {
                let x = x.clone();
                self.expect(b, &x, ctx, at)
            }
            (_, Ty::Known(y)) => {
                let y = y.clone();
                self.expect(a, &y, ctx, at)
            }
            (Ty::Param(n), Ty::Unknown) | (Ty::Unknown, Ty::Param(n)) => {
                self.bind(*n, t("text"), false);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The known type of an argument, domains read as their base.
    pub(super) fn arg_type(&self, v: &E) -> Option<ColumnType> {
        match &v.ty {
            Ty::Known(k) => Some(bare(&base(self.catalog, k))),
            Ty::Param(n) => self.param_ty(*n),
            Ty::Unknown | Ty::Null => None,
        }
    }

    /// Makes argument `v` a `ty` (a parameter takes it; a literal is read as it).
    pub(super) fn want(&mut self, v: &E, ty: &ColumnType, at: &Expr) -> Result<(), QueryError> {
        self.expect(v, ty, Ctx::Exact, at)
    }
}

pub(super) fn known(ty: ColumnType, nullable: bool) -> E {
    E::known(ty, nullable, None)
}

pub(super) fn unknown_call(name: &str) -> QueryError {
    QueryError::new(format!(
        "function {name} is not one pgstrata knows the type of (functions are not part of the catalog)"
    ))
    .help(format!("cast the call to say its type: {name}(...)::integer"))
}

pub(super) fn ambiguous(name: &str, n: usize) -> QueryError {
    QueryError::new(format!(
        "cannot tell the type of argument {} of {name}",
        n + 1
    ))
    .help("cast the argument: $1::timestamptz, $1::integer ...")
}

pub(super) fn nullable_any(args: &[E]) -> bool {
    args.iter().any(|a| a.nullable)
}
