//! Names PostgreSQL makes up (of serial sequences, of unnamed indexes), and
//! identifiers inside expression text (index keys, defaults) that follow renames.

use pgstrata_core::catalog::quote_ident;
use pgstrata_core::lex;

use crate::pgtype::MAX_IDENTIFIER;

/// PostgreSQL's `makeObjectName`: `name1_name2_label`, the longer of the two names cut
/// first until the whole fits in 63 bytes.
pub(super) fn object_name(name1: &str, name2: &str, label: &str) -> String {
    let overhead = usize::from(!name2.is_empty()) + usize::from(!label.is_empty()) + label.len();
    let avail = MAX_IDENTIFIER.saturating_sub(overhead);
    let (mut n1, mut n2) = (name1.len(), name2.len());
    while n1 + n2 > avail {
        if n1 > n2 {
            n1 -= 1;
        } else {
            n2 -= 1;
        }
    }
    let clip = |s: &str, mut n: usize| {
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s[..n].to_string()
    };
    let mut out = clip(name1, n1);
    if !name2.is_empty() {
        out.push('_');
        out.push_str(&clip(name2, n2));
    }
    if !label.is_empty() {
        out.push('_');
        out.push_str(label);
    }
    out
}

/// How `regclass` prints a relation with `search_path = public`.
pub(super) fn regclass(schema: &str, name: &str) -> String {
    if schema == "public" {
        quote_ident(name)
    } else {
        format!("{}.{}", quote_ident(schema), quote_ident(name))
    }
}

/// The default of a `serial` column: `nextval` of the sequence PostgreSQL names after
/// the table and column.
pub(super) fn serial_default(schema: &str, table: &str, column: &str) -> String {
    let seq = object_name(table, column, "seq");
    format!(
        "nextval('{}'::regclass)",
        regclass(schema, &seq).replace('\'', "''")
    )
}

/// The name PostgreSQL gives an index created without one (`ChooseIndexName`): the
/// table, each key's column name ([`index_column_name`]), and `idx`, unique or not,
/// with a number after `idx` when the name is taken in the schema.
pub(super) fn index_name(table: &str, columns: &[String], taken: impl Fn(&str) -> bool) -> String {
    let joined = columns.join("_");
    let mut label = "idx".to_string();
    let mut pass = 0;
    loop {
        let name = object_name(table, &joined, &label);
        if !taken(&name) {
            return name;
        }
        pass += 1;
        label = format!("idx{pass}");
    }
}

/// The column name PostgreSQL gives an index key (`FigureIndexColname`): a column's
/// name, a function's name (`lower(email)` is `lower`), through parentheses and casts;
/// `expr` for anything else.
pub(super) fn index_column_name(e: &sqlparser::ast::Expr) -> String {
    use sqlparser::ast::Expr;
    match e {
        Expr::Identifier(i) => crate::pgtype::fold(i),
        Expr::CompoundIdentifier(ids) => ids
            .last()
            .map_or_else(|| "expr".into(), crate::pgtype::fold),
        Expr::Function(f) => crate::pgtype::parts(&f.name)
            .pop()
            .unwrap_or_else(|| "expr".into()),
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => index_column_name(inner),
        _ => "expr".to_string(),
    }
}

/// The name PostgreSQL gives an unnamed `CHECK`: the table, the first column its
/// expression reads (none: the table alone), and `check`.
pub(super) fn check_name(table: &str, expr: &sqlparser::ast::Expr, columns: &[String]) -> String {
    let text = expr.to_string();
    let first = tokens(&text).into_iter().find_map(|t| match t {
        Token::Ident(name, _) if columns.contains(&name) => Some(name),
        _ => None,
    });
    object_name(table, first.as_deref().unwrap_or(""), "check")
}

enum Token {
    /// An identifier, folded, and its span in the text.
    Ident(String, std::ops::Range<usize>),
    Other,
}

/// The tokens of an expression's text, identifiers folded as PostgreSQL folds them.
fn tokens(expr: &str) -> Vec<Token> {
    lex::significant(expr)
        .map(|t| match t.identifier(expr) {
            Some(name) => Token::Ident(name.into_owned(), t.start..t.end),
            None => Token::Other,
        })
        .collect()
}

/// Whether the expression mentions identifier `name` (a column).
pub(super) fn mentions(expr: &str, name: &str) -> bool {
    tokens(expr)
        .iter()
        .any(|t| matches!(t, Token::Ident(n, _) if n == name))
}

/// The expression with identifier `old` written as `new`.
pub(super) fn rename(expr: &str, old: &str, new: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut last = 0;
    for t in tokens(expr) {
        if let Token::Ident(n, span) = t {
            if n == old {
                out.push_str(&expr[last..span.start]);
                out.push_str(&quote_ident(new));
                last = span.end;
            }
        }
    }
    out.push_str(&expr[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_postgresql_makes_up() {
        assert_eq!(
            serial_default("public", "user_", "id"),
            "nextval('user__id_seq'::regclass)"
        );
        assert_eq!(
            serial_default("utils", "deps", "id"),
            "nextval('utils.deps_id_seq'::regclass)"
        );
        assert_eq!(
            serial_default("public", "Users", "id"),
            "nextval('\"Users_id_seq\"'::regclass)"
        );
        let long = "a".repeat(70);
        let n = object_name(&long, "id", "seq");
        assert_eq!(n.len(), 63);
        assert!(n.ends_with("_id_seq"));
        assert_eq!(
            index_name("post", &["user_id".into()], |_| false),
            "post_user_id_idx"
        );
        assert_eq!(
            index_name("post", &["user_id".into()], |n| n == "post_user_id_idx"),
            "post_user_id_idx1"
        );
    }

    #[test]
    fn index_keys_are_named_as_postgresql_names_them() {
        use sqlparser::ast::Statement;
        let sql = "CREATE INDEX ON t (lower(name), (id + 1), (id::text), public.f(x), \"Mixed\", CASE WHEN a THEN 1 END)";
        let Ok(parsed) =
            sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, sql)
        else {
            panic!("parse")
        };
        let Statement::CreateIndex(ci) = &parsed[0] else {
            panic!("an index")
        };
        let names: Vec<String> = ci
            .columns
            .iter()
            .map(|c| index_column_name(&c.column.expr))
            .collect();
        assert_eq!(names, ["lower", "expr", "id", "f", "Mixed", "expr"]);
    }

    #[test]
    fn identifiers_in_expressions() {
        assert!(mentions("lower(email)", "email"));
        assert!(!mentions("lower('email')", "email"));
        assert!(mentions("\"Email\" || x", "Email"));
        assert_eq!(
            rename("lower(email) || 'email'", "email", "mail"),
            "lower(mail) || 'email'"
        );
        assert_eq!(rename("a + A", "a", "New"), "\"New\" + \"New\"");
    }
}
