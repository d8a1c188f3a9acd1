//! Splitting SQL text into statements, with byte spans into the original text.
//!
//! Statements are cut out of the original text by span, never rebuilt from tokens, so
//! `E'...\'...'` escapes and formatting survive exactly as written. The tokens come
//! from the one lexer ([`crate::lex`]); what the splitter adds is where a `;`
//! does not end a statement: inside the `BEGIN ATOMIC ... END` body of a SQL-standard
//! function.

use crate::lex::{self, Kind};
use crate::Span;

/// One statement of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// From the first token to the end of the last token (the `;` is not included).
    pub span: Span,
    /// The first few words, upper-cased, for classification.
    pub words: Vec<String>,
}

/// A `--` comment, for directives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineComment {
    /// The comment's text after `--`, up to the end of the line.
    pub text: Span,
    /// Whether any statement starts before it.
    pub after_first_statement: bool,
}

/// The result of splitting a file.
#[derive(Clone, Debug, Default)]
pub struct Split {
    /// Statements in order.
    pub statements: Vec<Statement>,
    /// Every `--` comment outside strings.
    pub comments: Vec<LineComment>,
}

/// Where splitting failed: something opened and never closed.
pub type SplitError = crate::lex::LexError;

/// How many words of each statement are kept for classification.
const WORDS: usize = 8;

/// Splits `sql` into statements.
///
/// # Errors
/// An unterminated string, quoted identifier, dollar quote or block comment, with the
/// byte offset where it opens.
pub fn split(sql: &str) -> Result<Split, SplitError> {
    let mut out = Split::default();
    let mut start: Option<usize> = None;
    let mut last_end = 0;
    let mut words: Vec<String> = Vec::new();
    // BEGIN ATOMIC ... END nesting, and CASE ... END inside it.
    let mut atomic_depth = 0usize;
    let mut case_depth = 0usize;
    let mut after_begin = false;
    for token in lex::tokens(sql) {
        let token = token?;
        match token.kind {
            Kind::Space | Kind::BlockComment => continue,
            Kind::LineComment => {
                out.comments.push(LineComment {
                    text: span(token.start + 2, token.end),
                    after_first_statement: !out.statements.is_empty() || start.is_some(),
                });
                continue;
            }
            Kind::Punct if atomic_depth == 0 && token.text(sql) == ";" => {
                if let Some(s) = start.take() {
                    out.statements.push(Statement {
                        span: span(s, last_end),
                        words: std::mem::take(&mut words),
                    });
                }
                after_begin = false;
                continue;
            }
            Kind::Word => {
                let word = token.text(sql);
                let is = |k: &str| word.eq_ignore_ascii_case(k);
                if after_begin && is("ATOMIC") {
                    atomic_depth += 1;
                } else if atomic_depth > 0 && is("CASE") {
                    case_depth += 1;
                } else if atomic_depth > 0 && is("END") {
                    if case_depth > 0 {
                        case_depth -= 1;
                    } else {
                        atomic_depth -= 1;
                    }
                }
                if words.len() < WORDS {
                    words.push(word.to_ascii_uppercase());
                }
                after_begin = is("BEGIN");
            }
            _ => after_begin = false,
        }
        start.get_or_insert(token.start);
        last_end = token.end;
    }
    if let Some(s) = start {
        out.statements.push(Statement {
            span: span(s, last_end),
            words,
        });
    }
    Ok(out)
}

fn span(start: usize, end: usize) -> Span {
    // Callers refuse files of 4 GiB or more before splitting.
    Span {
        start: u32::try_from(start).unwrap_or(u32::MAX),
        end: u32::try_from(end).unwrap_or(u32::MAX),
    }
}

/// What a statement means for the transaction it runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxClass {
    /// Runs anywhere.
    Ordinary,
    /// PostgreSQL refuses it inside a transaction block.
    RefusedInTransaction,
    /// Opens a transaction (`BEGIN`, `START TRANSACTION`).
    Begin,
    /// Ends a transaction (`COMMIT`, `END`).
    Commit,
    /// Any other transaction control (`ROLLBACK`, `SAVEPOINT`, `PREPARE TRANSACTION`...).
    OtherControl,
}

/// Classifies a statement by its first words.
pub fn classify(words: &[String]) -> TxClass {
    let w = |i: usize| words.get(i).map_or("", String::as_str);
    let has = |word: &str| words.iter().any(|x| x == word);
    match w(0) {
        "BEGIN" => TxClass::Begin,
        "START" if w(1) == "TRANSACTION" => TxClass::Begin,
        "COMMIT" if w(1) == "PREPARED" => TxClass::OtherControl,
        "COMMIT" | "END" => TxClass::Commit,
        "ROLLBACK" | "ABORT" | "SAVEPOINT" | "RELEASE" => TxClass::OtherControl,
        "PREPARE" if w(1) == "TRANSACTION" => TxClass::OtherControl,
        "VACUUM" => TxClass::RefusedInTransaction,
        "REINDEX" if has("CONCURRENTLY") || matches!(w(1), "SYSTEM" | "DATABASE") => {
            TxClass::RefusedInTransaction
        }
        "CREATE" | "DROP" => {
            let idx = if w(1) == "UNIQUE" { 2 } else { 1 };
            match w(idx) {
                "INDEX" if w(idx + 1) == "CONCURRENTLY" => TxClass::RefusedInTransaction,
                "DATABASE" | "TABLESPACE" => TxClass::RefusedInTransaction,
                "SUBSCRIPTION" => TxClass::RefusedInTransaction,
                _ => TxClass::Ordinary,
            }
        }
        "ALTER" if w(1) == "SYSTEM" => TxClass::RefusedInTransaction,
        "ALTER" if w(1) == "INDEX" && has("CONCURRENTLY") => TxClass::RefusedInTransaction,
        "CLUSTER" if words.len() == 1 => TxClass::RefusedInTransaction,
        _ => TxClass::Ordinary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        split(sql)
            .unwrap()
            .statements
            .iter()
            .map(|s| &sql[s.span.range()])
            .collect()
    }

    #[test]
    fn splits_on_semicolons_and_trims() {
        assert_eq!(
            texts("  CREATE TABLE a (id int);\n\nSELECT 1 ;SELECT 2"),
            ["CREATE TABLE a (id int)", "SELECT 1", "SELECT 2"]
        );
    }

    #[test]
    fn empty_statements_are_dropped() {
        assert_eq!(texts(";;\n ; SELECT 1;;"), ["SELECT 1"]);
        assert!(texts("-- only a comment\n/* and another */").is_empty());
    }

    #[test]
    fn dollar_quotes_hide_semicolons() {
        let sql = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n\
                   CREATE FUNCTION g() RETURNS trigger AS $body$ BEGIN x := 'a;'; RETURN NEW; END $body$ LANGUAGE plpgsql;\n\
                   DO $x$ BEGIN PERFORM $$;$$; END $x$;";
        let t = texts(sql);
        assert_eq!(t.len(), 3);
        assert!(t[1].ends_with("LANGUAGE plpgsql"));
        assert!(t[2].starts_with("DO $x$"));
    }

    #[test]
    fn parameters_and_identifiers_with_dollars_are_not_tags() {
        assert_eq!(
            texts("SELECT $1, a$b$c FROM t; SELECT 2"),
            ["SELECT $1, a$b$c FROM t", "SELECT 2"]
        );
    }

    #[test]
    fn escape_strings_keep_backslash_quotes() {
        let sql = r"INSERT INTO t VALUES (E'it\'s; here', 'plain\'); SELECT 3;";
        // In a standard string a backslash is a character: 'plain\' ends there.
        assert_eq!(
            texts(sql),
            [
                r"INSERT INTO t VALUES (E'it\'s; here', 'plain\')",
                "SELECT 3"
            ]
        );
        // `e` that ends an identifier is not a prefix
        assert_eq!(
            texts(r"SELECT name'x\'; SELECT 4"),
            [r"SELECT name'x\'", "SELECT 4"]
        );
    }

    #[test]
    fn doubled_quotes_and_quoted_identifiers() {
        assert_eq!(
            texts(r#"SELECT 'a'';b', "we;ird""x" FROM t; SELECT 5"#),
            [r#"SELECT 'a'';b', "we;ird""x" FROM t"#, "SELECT 5"]
        );
    }

    #[test]
    fn comments_nest_and_hide_semicolons() {
        let sql = "/* a /* nested; */ still; */ SELECT 1; -- x; y\nSELECT 2 -- tail;\n;";
        assert_eq!(texts(sql), ["SELECT 1", "SELECT 2"]);
        let s = split(sql).unwrap();
        assert_eq!(s.comments.len(), 2);
        assert_eq!(&sql[s.comments[0].text.range()], " x; y");
        assert!(s.comments[0].after_first_statement);
    }

    #[test]
    fn begin_atomic_bodies_are_one_statement() {
        let sql = "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END; SELECT 3; END; SELECT 4;";
        let t = texts(sql);
        assert_eq!(t.len(), 2, "{t:?}");
        assert!(t[0].ends_with("END"));
    }

    #[test]
    fn plain_begin_end_blocks_split() {
        assert_eq!(texts("BEGIN; SELECT 1; END;"), ["BEGIN", "SELECT 1", "END"]);
    }

    #[test]
    fn unterminated_things_report_where_they_open() {
        for (sql, at, what) in [
            ("SELECT 1; SELECT 'abc", 17, "string"),
            ("SELECT \"abc", 7, "identifier"),
            ("SELECT 1; DO $$ BEGIN", 13, "dollar"),
            ("SELECT 1; /* /* */", 10, "comment"),
            (r"SELECT E'abc\'", 7, "string"),
        ] {
            let e = split(sql).unwrap_err();
            assert_eq!(e.offset, at, "{sql}");
            assert!(e.message.contains(what), "{}", e.message);
        }
    }

    #[test]
    fn multibyte_text_is_kept_whole() {
        assert_eq!(
            texts("SELECT 'ñ;'; SELECT ñame FROM «t»"),
            ["SELECT 'ñ;'", "SELECT ñame FROM «t»"]
        );
    }

    #[test]
    fn classifies_transaction_sensitive_statements() {
        let c = |sql: &str| classify(&split(sql).unwrap().statements[0].words);
        assert_eq!(
            c("create index concurrently i on t (a)"),
            TxClass::RefusedInTransaction
        );
        assert_eq!(
            c("CREATE UNIQUE INDEX CONCURRENTLY i ON t (a)"),
            TxClass::RefusedInTransaction
        );
        assert_eq!(
            c("DROP INDEX CONCURRENTLY IF EXISTS i"),
            TxClass::RefusedInTransaction
        );
        assert_eq!(
            c("REINDEX (VERBOSE) TABLE CONCURRENTLY t"),
            TxClass::RefusedInTransaction
        );
        assert_eq!(c("VACUUM ANALYZE t"), TxClass::RefusedInTransaction);
        assert_eq!(
            c("ALTER SYSTEM SET work_mem = '1MB'"),
            TxClass::RefusedInTransaction
        );
        assert_eq!(c("CREATE DATABASE x"), TxClass::RefusedInTransaction);
        assert_eq!(c("CREATE INDEX i ON t (a)"), TxClass::Ordinary);
        assert_eq!(c("REINDEX TABLE t"), TxClass::Ordinary);
        assert_eq!(c("begin"), TxClass::Begin);
        assert_eq!(
            c("START TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
            TxClass::Begin
        );
        assert_eq!(c("COMMIT"), TxClass::Commit);
        assert_eq!(c("END"), TxClass::Commit);
        assert_eq!(c("SAVEPOINT a"), TxClass::OtherControl);
        assert_eq!(c("ROLLBACK"), TxClass::OtherControl);
        assert_eq!(c("DO $$ BEGIN COMMIT; END $$"), TxClass::Ordinary);
    }
}
