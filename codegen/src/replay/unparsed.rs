//! Statements sqlparser cannot parse: can they change what the catalog tracks?
//!
//! The runtime runs them as written either way. For the catalog, a statement that cannot
//! change tables, columns or types (`DO` blocks without DDL, `REFRESH`, `REINDEX`,
//! `GRANT`, `ALTER SEQUENCE`, `ALTER TRIGGER`, `ALTER TABLE ... ALTER CONSTRAINT`) is
//! passed over; anything else stops generation rather than risk a silently wrong model.

use pgstrata_core::lex::{self, Kind};

/// Words of `sql` outside strings, comments and dollar quotes, upper-cased, with `(`,
/// `)` and `,` kept as words of their own.
fn words(sql: &str) -> Vec<String> {
    lex::significant(sql)
        .filter_map(|t| match t.kind {
            Kind::Word => Some(t.text(sql).to_ascii_uppercase()),
            Kind::Punct if matches!(t.text(sql), "(" | ")" | ",") => Some(t.text(sql).to_string()),
            _ => None,
        })
        .collect()
}

/// Whether the body of a `DO` block (its dollar-quoted or quoted string) runs DDL that
/// changes what the catalog tracks: `CREATE`/`ALTER`/`DROP` of a table, type, domain,
/// view or schema, or `ADD COLUMN` anywhere in it, dynamic SQL in its strings included.
fn body_runs_ddl(sql: &str) -> bool {
    let mut words = Vec::new();
    let mut pending: Vec<String> = lex::significant(sql)
        .filter_map(|t| t.string_body(sql).map(|b| b.into_owned()))
        .collect();
    while let Some(text) = pending.pop() {
        for t in lex::significant(&text) {
            match t.kind {
                Kind::Word => words.push(t.text(&text).to_ascii_uppercase()),
                Kind::String | Kind::DollarString => {
                    pending.extend(t.string_body(&text).map(|b| b.into_owned()));
                }
                _ => words.push(String::new()),
            }
        }
        words.push(String::new());
    }
    words.windows(2).any(|p| {
        (matches!(p[0].as_str(), "CREATE" | "ALTER" | "DROP") && SHAPES.contains(&p[1].as_str()))
            || (p[0] == "ADD" && p[1] == "COLUMN")
    })
}

/// Object kinds whose creation, change or removal changes the catalog.
const SHAPES: &[&str] = &["TABLE", "TYPE", "DOMAIN", "VIEW", "MATERIALIZED", "SCHEMA"];

/// `ALTER TABLE` subcommands that leave columns and types alone.
const HARMLESS_ALTER_TABLE: &[&[&str]] = &[
    &["ALTER", "CONSTRAINT"],
    &["VALIDATE", "CONSTRAINT"],
    &["OWNER", "TO"],
    &["SET", "("],
    &["RESET", "("],
    &["CLUSTER", "ON"],
    &["SET", "WITHOUT", "CLUSTER"],
    &["ENABLE", "TRIGGER"],
    &["DISABLE", "TRIGGER"],
    &["ENABLE", "ALWAYS"],
    &["ENABLE", "REPLICA"],
    &["ENABLE", "RULE"],
    &["DISABLE", "RULE"],
    &["REPLICA", "IDENTITY"],
    &["SET", "TABLESPACE"],
    &["SET", "LOGGED"],
    &["SET", "UNLOGGED"],
    &["SET", "ACCESS", "METHOD"],
    &["RENAME", "CONSTRAINT"],
];

/// `Some(what it may change)` when the statement may change the modelled schema.
pub fn may_change_schema(sql: &str) -> Option<String> {
    let w = words(sql);
    let at = |i: usize| w.get(i).map_or("", String::as_str);
    match at(0) {
        "DO" => body_runs_ddl(sql).then(|| "runs DDL inside a DO block".to_string()),
        "ALTER" if at(1) == "TABLE" => {
            // Subcommands are separated by commas outside parentheses.
            let mut start = 2;
            // Skip [IF EXISTS] [ONLY] name.
            while matches!(at(start), "IF" | "EXISTS" | "ONLY") {
                start += 1;
            }
            start += 1;
            let mut depth = 0i32;
            let mut sub: Vec<&str> = Vec::new();
            let mut harmful = None;
            let mut check = |sub: &[&str]| {
                if !sub.is_empty() && !HARMLESS_ALTER_TABLE.iter().any(|h| sub.starts_with(h)) {
                    harmful.get_or_insert_with(|| {
                        format!(
                            "may change columns ({})",
                            sub.iter().take(3).cloned().collect::<Vec<_>>().join(" ")
                        )
                    });
                }
            };
            for word in w.iter().skip(start) {
                match word.as_str() {
                    "(" => depth += 1,
                    ")" => depth -= 1,
                    "," if depth == 0 => {
                        check(&sub);
                        sub.clear();
                        continue;
                    }
                    _ => {}
                }
                sub.push(word);
            }
            check(&sub);
            harmful
        }
        "CREATE" | "ALTER" | "DROP" => {
            let kind = w.iter().skip(1).find(|x| {
                !matches!(
                    x.as_str(),
                    "OR" | "REPLACE"
                        | "TEMP"
                        | "TEMPORARY"
                        | "UNLOGGED"
                        | "GLOBAL"
                        | "LOCAL"
                        | "RECURSIVE"
                )
            });
            match kind {
                Some(k) if SHAPES.contains(&k.as_str()) => {
                    Some(format!("may change the schema ({} {k})", at(0)))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// `ALTER TABLE|TYPE|DOMAIN [IF EXISTS] [ONLY] name SET SCHEMA schema`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetSchema {
    /// A table (otherwise a type or domain).
    pub table: bool,
    /// `IF EXISTS` was written.
    pub if_exists: bool,
    /// The object's name parts, folded.
    pub name: Vec<String>,
    /// The new schema, folded.
    pub schema: String,
}

/// Recognizes `SET SCHEMA`, which sqlparser does not parse, with identifiers folded as
/// PostgreSQL folds them.
pub fn set_schema(sql: &str) -> Option<SetSchema> {
    let tokens = idents(sql)?;
    let upper = |i: usize| {
        tokens.get(i).map(|(t, quoted)| {
            if *quoted {
                String::new()
            } else {
                t.to_ascii_uppercase()
            }
        })
    };
    if upper(0)? != "ALTER" {
        return None;
    }
    let table = match upper(1)?.as_str() {
        "TABLE" => true,
        "TYPE" | "DOMAIN" => false,
        _ => return None,
    };
    let mut i = 2;
    let mut if_exists = false;
    if upper(i)? == "IF" && upper(i + 1)? == "EXISTS" {
        if_exists = true;
        i += 2;
    }
    if upper(i)? == "ONLY" {
        i += 1;
    }
    let name = tokens
        .get(i)?
        .0
        .split('\u{0}')
        .map(str::to_string)
        .collect::<Vec<_>>();
    if upper(i + 1)? != "SET" || upper(i + 2)? != "SCHEMA" || tokens.len() != i + 4 {
        return None;
    }
    Some(SetSchema {
        table,
        if_exists,
        name,
        schema: tokens[i + 3].0.clone(),
    })
}

/// `DROP INDEX CONCURRENTLY ...`, which sqlparser does not parse, without the word
/// CONCURRENTLY: the same effect on the catalog, in SQL it parses.
pub fn drop_index_concurrently(sql: &str) -> Option<String> {
    let mut tokens = lex::significant(sql);
    let mut word = |w: &str| {
        tokens
            .next()
            .filter(|t| t.kind == Kind::Word && t.text(sql).eq_ignore_ascii_case(w))
    };
    word("DROP")?;
    word("INDEX")?;
    let c = word("CONCURRENTLY")?;
    Some(
        format!("{}{}", &sql[..c.start], &sql[c.end..])
            .trim_start()
            .to_string(),
    )
}

/// `ALTER SEQUENCE [IF EXISTS] name RENAME TO new`, which sqlparser does not parse:
/// the sequence's name parts and its new name. It changes the defaults that name it.
pub fn rename_sequence(sql: &str) -> Option<(Vec<String>, String)> {
    let tokens = idents(sql)?;
    let word = |i: usize| {
        tokens
            .get(i)
            .filter(|(_, quoted)| !quoted)
            .map(|(t, _)| t.to_ascii_uppercase())
    };
    if word(0)? != "ALTER" || word(1)? != "SEQUENCE" {
        return None;
    }
    let mut i = 2;
    if word(i).as_deref() == Some("IF") && word(i + 1).as_deref() == Some("EXISTS") {
        i += 2;
    }
    let name: Vec<String> = tokens
        .get(i)?
        .0
        .split('\u{0}')
        .map(str::to_string)
        .collect();
    if word(i + 1)? != "RENAME" || word(i + 2)? != "TO" || tokens.len() != i + 4 {
        return None;
    }
    Some((name, tokens[i + 3].0.clone()))
}

/// Identifiers and keywords of `sql`: quoted ones kept as written, others lower-cased;
/// a dotted name is one token with its parts joined by NUL. `None` on anything else.
fn idents(sql: &str) -> Option<Vec<(String, bool)>> {
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut dotted = false;
    let mut tokens = lex::tokens(sql).peekable();
    while let Some(t) = tokens.next() {
        let t = t.ok()?;
        if t.is_trivia() {
            continue;
        }
        if t.is(sql, ".") {
            dotted = true;
            continue;
        }
        if t.is(sql, ";")
            && tokens
                .clone()
                .all(|r| r.is_ok_and(|t| t.is_trivia() || t.is(sql, ";")))
        {
            break;
        }
        let part = t.identifier(sql)?.into_owned();
        let quoted = t.kind == Kind::QuotedIdent;
        match (dotted, out.last_mut()) {
            (true, Some(last)) => {
                last.0.push('\u{0}');
                last.0.push_str(&part);
                last.1 = true;
            }
            _ => out.push((part, quoted)),
        }
        dotted = false;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harmless_statements_pass() {
        for sql in [
            "ALTER SEQUENCE a_id_seq RENAME TO b_id_seq",
            "ALTER TRIGGER t ON x RENAME TO u",
            "ALTER TABLE x ALTER CONSTRAINT x_fkey INITIALLY DEFERRED",
            "ALTER TABLE ONLY x ALTER CONSTRAINT a DEFERRABLE, VALIDATE CONSTRAINT b",
            "DO $$ BEGIN PERFORM 1; END $$",
            "REFRESH MATERIALIZED VIEW CONCURRENTLY v",
            "GRANT SELECT ON x TO y",
            "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql",
        ] {
            assert_eq!(may_change_schema(sql), None, "{sql}");
        }
    }

    #[test]
    fn set_schema_is_recognized() {
        assert_eq!(
            set_schema("ALTER TABLE IF EXISTS ONLY Public.\"Users\" SET SCHEMA Archive;"),
            Some(SetSchema {
                table: true,
                if_exists: true,
                name: vec!["public".into(), "Users".into()],
                schema: "archive".into()
            })
        );
        assert_eq!(
            set_schema("alter type mood set schema billing"),
            Some(SetSchema {
                table: false,
                if_exists: false,
                name: vec!["mood".into()],
                schema: "billing".into()
            })
        );
        assert_eq!(set_schema("ALTER TABLE t SET SCHEMA a b"), None);
        assert_eq!(set_schema("ALTER TABLE t ADD COLUMN c int"), None);
    }

    #[test]
    fn drop_index_concurrently_is_read_without_the_word() {
        assert_eq!(
            drop_index_concurrently("DROP INDEX CONCURRENTLY IF EXISTS \"a\"").as_deref(),
            Some("DROP INDEX  IF EXISTS \"a\"")
        );
        assert_eq!(drop_index_concurrently("DROP INDEX a"), None);
    }

    #[test]
    fn sequence_renames_are_recognized() {
        assert_eq!(
            rename_sequence("ALTER SEQUENCE user__id_seq\n    RENAME TO person_id_seq;"),
            Some((
                vec!["user__id_seq".to_string()],
                "person_id_seq".to_string()
            ))
        );
        assert_eq!(
            rename_sequence("alter sequence if exists s.\"Seq\" rename to t"),
            Some((vec!["s".to_string(), "Seq".to_string()], "t".to_string()))
        );
        assert_eq!(rename_sequence("ALTER SEQUENCE s RESTART WITH 5"), None);
    }

    #[test]
    fn schema_changes_are_caught() {
        for sql in [
            "DO $$ BEGIN CREATE TYPE status AS ENUM ('a'); EXCEPTION WHEN duplicate_object THEN null; END $$",
            "DO $$ BEGIN ALTER TABLE t ADD COLUMN c int; END $$",
            "ALTER TABLE x ALTER CONSTRAINT a DEFERRABLE, ADD COLUMN weird int",
            "ALTER TABLE x SET SCHEMA y",
            "CREATE TABLE x (weird syntax here)",
            "CREATE OR REPLACE VIEW v AS weird",
            "DROP TYPE x CASCADE garbage",
        ] {
            assert!(may_change_schema(sql).is_some(), "{sql}");
        }
    }
}
