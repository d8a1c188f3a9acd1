//! Query files: `-- name: messages_for_session :many` introduces a query, named
//! parameters (`:session_id`) become `$1`, `$2`... in order of first use.

use pgstrata_core::lex::{self, Kind};

use crate::diag::{Diagnostic, Errors};

/// What a query's function returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultKind {
    /// Every row (`Vec`).
    Many,
    /// Exactly one row (an error when there is none; more than one is not checked).
    One,
    /// At most one row (`Option`).
    Opt,
    /// Nothing: the statement returns no rows.
    Exec,
    /// The number of rows affected.
    Rows,
}

/// One query of a file.
#[derive(Clone, Debug)]
pub struct QueryDef {
    /// Its name (a Rust identifier).
    pub name: String,
    /// What it returns.
    pub kind: ResultKind,
    /// Comment lines after the `-- name:` line: its documentation.
    pub doc: Vec<String>,
    /// The SQL, with `$n` parameters.
    pub sql: String,
    /// Parameter names, in `$n` order (`p1`, `p2`... for `$n` queries).
    pub params: Vec<String>,
    /// The file, as shown in messages.
    pub file: String,
    /// The original text of the file.
    pub text: String,
    /// Byte offset of the SQL in the file.
    pub start: usize,
    /// Where named parameters were replaced: (offset in `sql`, bytes removed).
    replaced: Vec<(usize, isize)>,
}

impl QueryDef {
    /// A problem at byte `offset` of [`QueryDef::sql`], placed in the file.
    pub fn diagnostic(&self, offset: Option<usize>, message: impl Into<String>) -> Diagnostic {
        let original = offset.map_or(self.start, |o| {
            let shift: isize = self
                .replaced
                .iter()
                .filter(|(at, _)| *at < o)
                .map(|(_, d)| *d)
                .sum();
            (self.start as isize + o as isize + shift).max(0) as usize
        });
        Diagnostic::at(&self.file, &self.text, 1, original, message)
    }
}

/// Reads the queries of a file.
///
/// # Errors
/// A query without a name line, a bad result kind or name, two statements under one
/// name, a name used twice, or `$n` and `:name` parameters mixed.
pub fn parse_file(file: &str, text: &str) -> Result<Vec<QueryDef>, Errors> {
    let mut errors = Errors::default();
    let mut out: Vec<QueryDef> = Vec::new();
    let starts = match sections(text) {
        Ok(s) => s,
        Err(e) => {
            return Err(Diagnostic::at(file, text, 1, e.offset, e.message)
                .help(e.help)
                .into())
        }
    };
    if let Ok(split) =
        pgstrata_core::split::split(&text[..starts.first().map_or(text.len(), |s| s.0)])
    {
        if let Some(s) = split.statements.first() {
            errors.push(
                Diagnostic::at(
                    file,
                    text,
                    1,
                    s.span.start as usize,
                    "SQL before the first `-- name:` line",
                )
                .help("start each query with `-- name: <name> :many|:one|:opt|:exec|:rows`"),
            );
        }
    }
    for (i, &(line_start, body_start)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(text.len(), |s| s.0);
        let at = |message: String| Diagnostic::at(file, text, 1, line_start, message);
        let Some((name, kind)) = header(&text[line_start..body_start], at, &mut errors) else {
            continue;
        };
        if out.iter().any(|q| q.name == name) {
            errors.push(
                at(format!("query {name} is defined twice")).help("give each query its own name"),
            );
            continue;
        }
        let body = Body {
            file,
            text,
            start: body_start,
            end,
            line_start,
        };
        match body.query(name, kind) {
            Ok(q) => out.push(q),
            Err(d) => errors.push(d),
        }
    }
    errors.finish(out)
}

/// The name and result kind of a `-- name: NAME :kind` line.
fn header(
    line: &str,
    at: impl Fn(String) -> Diagnostic,
    errors: &mut Errors,
) -> Option<(String, ResultKind)> {
    let rest = line.trim().trim_start_matches("-- name:").trim();
    let mut words = rest.split_whitespace();
    let name = words.next().unwrap_or_default().to_string();
    let kind = match words.next() {
        Some(":many") => ResultKind::Many,
        Some(":one") => ResultKind::One,
        Some(":opt") => ResultKind::Opt,
        Some(":exec") => ResultKind::Exec,
        Some(":rows") => ResultKind::Rows,
        other => {
            errors.push(
                at(format!(
                    "query {name:?} has no result kind (found {other:?})"
                ))
                .help("end the line with :many, :one, :opt, :exec or :rows"),
            );
            return None;
        }
    };
    if syn::parse_str::<syn::Ident>(&name).is_err() || name.starts_with("r#") {
        errors.push(
            at(format!("query name {name:?} is not a Rust identifier"))
                .help("name queries in snake_case: messages_for_session"),
        );
        return None;
    }
    Some((name, kind))
}

/// The SQL under one `-- name:` line: from `start` to `end` of the file's `text`.
struct Body<'a> {
    file: &'a str,
    text: &'a str,
    start: usize,
    end: usize,
    line_start: usize,
}

impl Body<'_> {
    /// The query: its one statement, the comment above it, and its `:name` parameters
    /// numbered.
    fn query(&self, name: String, kind: ResultKind) -> Result<QueryDef, Diagnostic> {
        let (file, text) = (self.file, self.text);
        let body = &text[self.start..self.end];
        let split = pgstrata_core::split::split(body).map_err(|e| {
            Diagnostic::at(file, text, 1, self.start + e.offset, e.message).help(e.help)
        })?;
        let [stmt] = split.statements.as_slice() else {
            let what = if split.statements.is_empty() {
                "no statement"
            } else {
                "more than one statement"
            };
            return Err(Diagnostic::at(
                file,
                text,
                1,
                self.line_start,
                format!("query {name} has {what}"),
            )
            .help("put exactly one SQL statement under each `-- name:` line"));
        };
        let doc: Vec<String> = split
            .comments
            .iter()
            .filter(|c| c.text.end <= stmt.span.start)
            .map(|c| body[c.text.range()].trim().to_string())
            .collect();
        let start = self.start + stmt.span.start as usize;
        let (sql, params, replaced) =
            named(&body[stmt.span.range()]).map_err(|(at, message)| {
                Diagnostic::at(file, text, 1, start + at, message)
                    .help("use either $1, $2 ... or :name parameters in one query")
            })?;
        Ok(QueryDef {
            name,
            kind,
            doc,
            sql,
            params,
            file: file.to_string(),
            text: text.to_string(),
            start,
            replaced,
        })
    }
}

/// Where each query starts: (start of its `-- name:` line, end of that line), for
/// every `-- name:` comment that begins a line (one inside a string, a dollar quote or
/// a block comment is not one).
fn sections(text: &str) -> Result<Vec<(usize, usize)>, lex::LexError> {
    let mut starts = Vec::new();
    for t in lex::tokens(text) {
        let t = t?;
        if t.kind != Kind::LineComment || !t.text(text).starts_with("-- name:") {
            continue;
        }
        let line_start = text[..t.start].rfind('\n').map_or(0, |p| p + 1);
        if text[line_start..t.start].trim().is_empty() {
            let end = text[t.end..]
                .find('\n')
                .map_or(text.len(), |p| t.end + p + 1);
            starts.push((line_start, end));
        }
    }
    Ok(starts)
}

/// The SQL with `:name` parameters (psql's variables, as the lexer reads them: never
/// inside strings, comments or `::` casts) replaced by `$n`; the parameter names, in
/// order; and where each replacement went in the new text with how much shorter it made
/// it (to map positions back).
#[allow(clippy::type_complexity)]
fn named(sql: &str) -> Result<(String, Vec<String>, Vec<(usize, isize)>), (usize, String)> {
    let mut out = String::with_capacity(sql.len());
    let mut names: Vec<String> = Vec::new();
    let mut numbered: Vec<usize> = Vec::new();
    let mut replaced = Vec::new();
    let mut last = 0;
    for t in lex::significant(sql) {
        match t.kind {
            Kind::Param => numbered.extend(t.text(sql)[1..].parse::<usize>().ok()),
            Kind::Variable => {
                let name = t.text(sql)[1..].to_string();
                let n = match names.iter().position(|x| *x == name) {
                    Some(p) => p + 1,
                    None => {
                        names.push(name);
                        names.len()
                    }
                };
                out.push_str(&sql[last..t.start]);
                let placeholder = format!("${n}");
                let len = t.end - t.start;
                replaced.push((out.len(), len as isize - placeholder.len() as isize));
                out.push_str(&placeholder);
                last = t.end;
            }
            _ => {}
        }
    }
    out.push_str(&sql[last..]);
    if !numbered.is_empty() && !names.is_empty() {
        return Err((0, "this query mixes $n and :name parameters".to_string()));
    }
    if names.is_empty() {
        numbered.sort_unstable();
        numbered.dedup();
        names = numbered.iter().map(|n| format!("p{n}")).collect();
    }
    Ok((out, names, replaced))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_numbers() {
        let (sql, names, _) =
            named("SELECT * FROM t WHERE a = :a AND b = :b::int AND c = :a AND d = 'x:y'").unwrap();
        assert_eq!(
            sql,
            "SELECT * FROM t WHERE a = $1 AND b = $2::int AND c = $1 AND d = 'x:y'"
        );
        assert_eq!(names, ["a", "b"]);
        assert!(named("SELECT :a, $1").is_err());
    }

    #[test]
    fn files_hold_named_queries() {
        let text = "-- name: one_user :one\n-- The user.\nSELECT 1 WHERE :id = 1;\n\n-- name: all :many\nSELECT 2;\n";
        let q = parse_file("q.sql", text).unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(
            (q[0].name.as_str(), q[0].kind),
            ("one_user", ResultKind::One)
        );
        assert_eq!(q[0].doc, ["The user."]);
        assert_eq!(q[0].sql, "SELECT 1 WHERE $1 = 1");
        let d = q[0].diagnostic(Some(15), "here");
        assert_eq!((d.line, d.column), (3, 16));
        assert!(parse_file("q.sql", "-- name: x\nSELECT 1;").is_err());
        assert!(parse_file("q.sql", "-- name: x :many\nSELECT 1; SELECT 2;").is_err());
        // A `-- name:` line inside a dollar quote, and `:x` in a comment or a string, are
        // part of the query's SQL.
        let text = "-- name: f :one\nSELECT $$\n-- name: g :one\n$$ -- :x\n, ':y', :z;\n";
        let q = parse_file("q.sql", text).unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].params, ["z"]);
        assert_eq!(q[0].sql, "SELECT $$\n-- name: g :one\n$$ -- :x\n, ':y', $1");
    }
}
