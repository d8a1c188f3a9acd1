//! From a migration found on disk to the record the runtime applies: directives,
//! transaction mode and checksum.

use std::borrow::Cow;

use pgstrata_core::{Migration, MigrationParts, NoTransactionReason, Span, Transaction};

use crate::diag::Errors;
use crate::source::{Source, SqlText};
use pgstrata_core::split::{classify, TxClass};

/// What the leading comment of a migration asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Directives {
    /// Run outside a transaction.
    pub no_transaction: bool,
    /// `SET lock_timeout` for this migration.
    pub lock_timeout: Option<String>,
    /// `SET statement_timeout` for this migration.
    pub statement_timeout: Option<String>,
}

/// Reads the directives of `sql`: `-- pgstrata:...` comments before the first statement,
/// sqlx's `-- no-transaction` and dbmate's `-- migrate:up transaction:false`.
///
/// A `pgstrata:` comment after the first statement, or one pgstrata does not know, is an
/// error: a directive that silently does nothing is worse than none.
pub fn directives(sql: &SqlText, errors: &mut Errors) -> Directives {
    let mut d = Directives::default();
    for c in &sql.split.comments {
        let raw = &sql.text[c.text.range()];
        let text = raw.trim();
        let at = |msg: String| sql.diagnostic(c.text.start as usize - 2, msg);
        if let Some(opts) = text
            .strip_prefix("migrate:up")
            .or_else(|| text.strip_prefix("migrate:down"))
        {
            if opts.split_whitespace().any(|o| o == "transaction:false") {
                d.no_transaction = true;
            }
            continue;
        }
        if text == "no-transaction" && !c.after_first_statement {
            d.no_transaction = true;
            continue;
        }
        let Some(directive) = text.strip_prefix("pgstrata:") else {
            continue;
        };
        if directive.starts_with("allow(") || directive.starts_with("replay") {
            // Lint suppressions and replay descriptions sit beside their statement.
            continue;
        }
        if c.after_first_statement {
            errors.push(
                at(format!(
                    "directive `{text}` after the first statement has no effect"
                ))
                .help("move it into the comment at the top of the file, before any statement"),
            );
            continue;
        }
        let (key, value) = match directive.split_once(|ch: char| ch == '=' || ch.is_whitespace()) {
            Some((k, v)) => (
                k.trim(),
                Some(v.trim().trim_matches(|ch| ch == '\'' || ch == '"')),
            ),
            None => (directive.trim(), None),
        };
        match (key, value) {
            ("no-transaction", None) => d.no_transaction = true,
            ("lock-timeout" | "statement-timeout", Some(v)) if is_duration(v) => {
                let slot = if key == "lock-timeout" {
                    &mut d.lock_timeout
                } else {
                    &mut d.statement_timeout
                };
                *slot = Some(v.to_string());
            }
            ("lock-timeout" | "statement-timeout", v) => errors.push(
                at(format!(
                    "directive `{key}` needs a duration, found {:?}",
                    v.unwrap_or("")
                ))
                .help(format!(
                    "write it as `-- pgstrata:{key} 5s` (units: us, ms, s, min, h, d)"
                )),
            ),
            _ => errors.push(
                at(format!("unknown directive `pgstrata:{directive}`")).help(
                    "known directives: pgstrata:no-transaction, pgstrata:lock-timeout <duration>, \
                 pgstrata:statement-timeout <duration>, pgstrata:allow(<rule>)",
                ),
            ),
        }
    }
    d
}

/// Whether `v` is a duration PostgreSQL accepts for a timeout setting.
fn is_duration(v: &str) -> bool {
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    matches!(
        v[digits..].trim(),
        "" | "us" | "ms" | "s" | "min" | "h" | "d"
    )
}

/// How `sql` must be run, given its directives.
pub fn transaction_mode(sql: &SqlText, directives: &Directives) -> Transaction {
    if directives.no_transaction {
        return Transaction::None {
            reason: NoTransactionReason::Directive,
        };
    }
    let stmts = &sql.split.statements;
    let classes: Vec<TxClass> = stmts.iter().map(|s| classify(&s.words)).collect();
    let index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
    if let Some(i) = classes
        .iter()
        .position(|c| *c == TxClass::RefusedInTransaction)
    {
        return Transaction::None {
            reason: NoTransactionReason::RefusedInTransaction { index: index(i) },
        };
    }
    let n = classes.len();
    let is_control =
        |c: &TxClass| matches!(c, TxClass::Begin | TxClass::Commit | TxClass::OtherControl);
    if n >= 3
        && classes[0] == TxClass::Begin
        && classes[n - 1] == TxClass::Commit
        && !classes[1..n - 1].iter().any(is_control)
    {
        return Transaction::OwnBeginCommit {
            body: Span {
                start: stmts[1].span.start,
                end: stmts[n - 2].span.end,
            },
        };
    }
    match classes.iter().position(is_control) {
        Some(i) => Transaction::None {
            reason: NoTransactionReason::TransactionControl { index: index(i) },
        },
        None => Transaction::Wrapped,
    }
}

/// Checks that a file's own transaction control is balanced: a `BEGIN` never committed
/// would leave the runner's session inside a transaction that is rolled back when the
/// connection closes, after the migration was recorded as applied; a stray `COMMIT` or
/// a nested `BEGIN` means the file does not do what its author thinks.
pub fn check_transaction_control(sql: &SqlText, errors: &mut Errors) {
    let mut open: Option<usize> = None;
    for stmt in &sql.split.statements {
        let at = stmt.span.start as usize;
        let problem = match (classify(&stmt.words), open) {
            (TxClass::Begin, Some(first)) => Some((
                format!(
                    "BEGIN inside a transaction the BEGIN at line {} opened",
                    sql.lines.line_col(&sql.text, first).0 + sql.first_line - 1
                ),
                "end the first transaction with COMMIT before opening another",
            )),
            (TxClass::Begin, None) => {
                open = Some(at);
                None
            }
            (TxClass::Commit, None) => Some((
                "COMMIT without a BEGIN before it".to_string(),
                "remove it: pgstrata runs the migration in a transaction of its own",
            )),
            (TxClass::Commit, Some(_)) => {
                open = None;
                None
            }
            (TxClass::OtherControl, _) if ends_transaction(&stmt.words) => Some((
                format!("{} in a migration", stmt.words[0]),
                "remove it: it would undo the statements before it, or end the runner's transaction,                  while the migration is still recorded as applied; a migration that must not apply                  should fail (e.g. RAISE EXCEPTION in a DO block)",
            )),
            _ => None,
        };
        if let Some((message, help)) = problem {
            errors.push(sql.diagnostic(at, message).help(help));
        }
    }
    if let Some(at) = open {
        errors.push(
            sql.diagnostic(at, "BEGIN without a COMMIT after it")
                .help("add COMMIT at the end of the transaction, or remove the BEGIN: pgstrata runs the migration in a transaction of its own"),
        );
    }
}

/// Whether a statement is a `ROLLBACK` or `ABORT` of the whole transaction (not
/// `ROLLBACK TO SAVEPOINT`, which is fine inside one, nor `ROLLBACK PREPARED`).
fn ends_transaction(words: &[String]) -> bool {
    let rest = |i: usize| words.get(i).map_or("", String::as_str);
    let next = match rest(1) {
        "WORK" | "TRANSACTION" => rest(2),
        other => other,
    };
    matches!(rest(0), "ROLLBACK" | "ABORT") && !matches!(next, "TO" | "PREPARED")
}

/// Builds the runtime's record of one migration.
pub fn to_migration(source: &Source, errors: &mut Errors) -> Migration {
    check_transaction_control(&source.up, errors);
    if let Some(down) = &source.down {
        check_transaction_control(down, errors);
    }
    let directives = directives(&source.up, errors);
    let (down_statements, down_transaction) = match &source.down {
        Some(down) => {
            let d = self::directives(down, errors);
            (
                down.split.statements.iter().map(|s| s.span).collect(),
                transaction_mode(down, &d),
            )
        }
        None => (Vec::new(), Transaction::Wrapped),
    };
    let transaction = transaction_mode(&source.up, &directives);
    Migration::from_parts(MigrationParts {
        version: source.version,
        name: Cow::Owned(source.name.clone()),
        file: Cow::Owned(source.up.display.clone()),
        up: Cow::Owned(source.up.text.clone()),
        up_line: source.up.first_line,
        down: source.down.as_ref().map(|d| Cow::Owned(d.text.clone())),
        down_statements: Cow::Owned(down_statements),
        down_transaction,
        checksum: Cow::Owned(pgstrata_core::checksum(&source.up.text)),
        statements: Cow::Owned(source.up.split.statements.iter().map(|s| s.span).collect()),
        transaction,
        lock_timeout: directives.lock_timeout.map(Cow::Owned),
        statement_timeout: directives.statement_timeout.map(Cow::Owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgstrata_core::split::split;

    fn text(sql: &str) -> SqlText {
        SqlText {
            path: "x.sql".into(),
            display: "m/x.sql".into(),
            text: sql.into(),
            first_line: 1,
            split: split(sql).unwrap(),
            lines: pgstrata_core::LineIndex::new(sql),
        }
    }

    fn mode(sql: &str) -> Transaction {
        let t = text(sql);
        let mut e = Errors::default();
        let d = directives(&t, &mut e);
        assert!(e.is_empty(), "{e}");
        transaction_mode(&t, &d)
    }

    #[test]
    fn only_a_rollback_of_the_whole_transaction_is_refused() {
        let refused = |sql: &str| {
            let mut e = Errors::default();
            check_transaction_control(&text(sql), &mut e);
            !e.is_empty()
        };
        assert!(refused("CREATE TABLE a (id int); ROLLBACK;"));
        assert!(refused("BEGIN; SELECT 1; ROLLBACK WORK; COMMIT;"));
        assert!(refused("ABORT TRANSACTION;"));
        assert!(!refused("SAVEPOINT s; SELECT 1; ROLLBACK TO SAVEPOINT s;"));
        assert!(!refused(
            "SAVEPOINT s; ROLLBACK TRANSACTION TO s; RELEASE s;"
        ));
    }

    #[test]
    fn ordinary_files_are_wrapped() {
        assert_eq!(
            mode("CREATE TABLE a (id int); CREATE INDEX i ON a (id);"),
            Transaction::Wrapped
        );
    }

    #[test]
    fn concurrently_runs_outside() {
        assert_eq!(
            mode("CREATE TABLE a (id int);\nCREATE INDEX CONCURRENTLY i ON a (id);"),
            Transaction::None {
                reason: NoTransactionReason::RefusedInTransaction { index: 1 }
            }
        );
    }

    #[test]
    fn own_begin_commit_is_stripped() {
        let sql = "BEGIN;\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\nCOMMIT;\n";
        match mode(sql) {
            Transaction::OwnBeginCommit { body } => {
                assert_eq!(
                    &sql[body.range()],
                    "CREATE TABLE a (id int);\nCREATE TABLE b (id int)"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_transaction_control_runs_outside() {
        assert_eq!(
            mode("CREATE TABLE a (id int); COMMIT; CREATE TABLE b (id int);"),
            Transaction::None {
                reason: NoTransactionReason::TransactionControl { index: 1 }
            }
        );
        assert_eq!(
            mode("BEGIN; CREATE TABLE a (id int); COMMIT; BEGIN; CREATE TABLE b (id int); COMMIT;"),
            Transaction::None {
                reason: NoTransactionReason::TransactionControl { index: 0 }
            }
        );
    }

    #[test]
    fn unbalanced_transaction_control_is_refused_with_its_line() {
        for (sql, line, needle) in [
            (
                "BEGIN;\nCREATE TABLE a (id int);\n",
                1,
                "BEGIN without a COMMIT",
            ),
            (
                "CREATE TABLE a (id int);\nCOMMIT;\n",
                2,
                "COMMIT without a BEGIN",
            ),
            (
                "BEGIN;\nBEGIN;\nSELECT 1;\nCOMMIT;\n",
                2,
                "BEGIN inside a transaction the BEGIN at line 1",
            ),
        ] {
            let mut e = Errors::default();
            check_transaction_control(&text(sql), &mut e);
            let list: Vec<_> = e.iter().collect();
            assert_eq!(list.len(), 1, "{sql}: {e}");
            assert_eq!(list[0].line, line, "{sql}");
            assert!(list[0].message.contains(needle), "{}", list[0]);
        }
        let mut e = Errors::default();
        check_transaction_control(
            &text("BEGIN; SELECT 1; COMMIT; BEGIN; SELECT 2; END; SELECT 3;"),
            &mut e,
        );
        assert!(e.is_empty(), "{e}");
    }

    #[test]
    fn directives_are_read_from_the_leading_comment() {
        let t = text("-- pgstrata:no-transaction\n-- pgstrata:lock-timeout 5s\n-- pgstrata:statement-timeout=1min\nSELECT 1;");
        let mut e = Errors::default();
        let d = directives(&t, &mut e);
        assert!(e.is_empty());
        assert_eq!(
            d,
            Directives {
                no_transaction: true,
                lock_timeout: Some("5s".into()),
                statement_timeout: Some("1min".into())
            }
        );
        assert_eq!(
            mode("-- no-transaction\nSELECT 1;"),
            Transaction::None {
                reason: NoTransactionReason::Directive
            }
        );
        assert_eq!(
            mode("-- migrate:up transaction:false\nSELECT 1;"),
            Transaction::None {
                reason: NoTransactionReason::Directive
            }
        );
    }

    #[test]
    fn bad_directives_are_errors_with_positions() {
        for (sql, line, needle) in [
            (
                "-- pgstrata:no-transacton\nSELECT 1;",
                1,
                "unknown directive",
            ),
            (
                "-- pgstrata:lock-timeout soon\nSELECT 1;",
                1,
                "needs a duration",
            ),
            (
                "SELECT 1;\n-- pgstrata:no-transaction\nSELECT 2;",
                2,
                "after the first statement",
            ),
        ] {
            let t = text(sql);
            let mut e = Errors::default();
            let _ = directives(&t, &mut e);
            let list: Vec<_> = e.iter().collect();
            assert_eq!(list.len(), 1, "{sql}");
            assert_eq!(list[0].line, line);
            assert!(list[0].to_string().contains(needle), "{}", list[0]);
        }
    }
}
