//! The migration list compiled into a binary, as three strings.
//!
//! Text rather than Rust data: rustc would type-check and const-evaluate a `static` of
//! one value per migration on every rebuild, for a list read once per start. The three
//! string literals ([`Encoded`]) are decoded into [`Migration`]s, borrowing the text,
//! the first time a start has something to apply; a start with nothing to do reads only
//! the first, the versions and checksums ([`heads`]).
//!
//! - heads: one line per migration, its version, a tab and its checksum;
//! - the index: one `M` record per migration in the format of [`crate::text`], whose
//!   fields are the name, file, first line of the up SQL, the up SQL's length in
//!   bytes, the down SQL's length (`-` when there is none), the up statements' spans,
//!   the up transaction mode, the down statements' spans, the down transaction mode,
//!   then the `lock_timeout` and `statement_timeout` directives (`-` when absent, else
//!   `=` and the value);
//! - the SQL: every migration's up SQL followed by its down SQL, in version order,
//!   with nothing between them.
//!
//! Spans are `start:end` pairs separated by commas. A transaction mode is `W`
//! (wrapped), `B` and the span of the body (the file has its own `BEGIN`/`COMMIT`),
//! `ND` (a no-transaction directive), `NR` or `NT` and a statement index (a statement
//! refused in a transaction, or transaction control).

use std::borrow::Cow;

use crate::text::{record, unescape};
use crate::{DecodeError, Migration, NoTransactionReason, Span, Transaction};

/// The three texts of an encoded migration list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Encoded {
    /// Version and checksum of each migration, a line each.
    pub heads: String,
    /// Everything else but the SQL, a record each.
    pub index: String,
    /// Up and down SQL, one after the other.
    pub sql: String,
}

/// Encodes `list` as the three texts [`decode`] reads back.
pub fn encode(list: &[Migration]) -> Encoded {
    let mut heads = String::new();
    let mut index = String::new();
    let mut sql = String::new();
    for m in list {
        // Checksums are hex: nothing to escape.
        heads.push_str(&format!("{}\t{}\n", m.version(), m.checksum()));
        sql.push_str(m.up());
        let down_len = match m.down() {
            Some(d) => {
                sql.push_str(d);
                d.len().to_string()
            }
            None => "-".to_string(),
        };
        let optional = |v: Option<&str>| v.map_or_else(|| "-".to_string(), |v| format!("={v}"));
        record(
            &mut index,
            "M",
            [
                m.name().to_string(),
                m.file().to_string(),
                m.up_line().to_string(),
                m.up().len().to_string(),
                down_len,
                spans(m.statements()),
                transaction(m.transaction()),
                spans(m.down_statements()),
                transaction(m.down_transaction()),
                optional(m.lock_timeout()),
                optional(m.statement_timeout()),
            ],
        );
    }
    Encoded { heads, index, sql }
}

fn spans(spans: &[Span]) -> String {
    let parts: Vec<String> = spans
        .iter()
        .map(|s| format!("{}:{}", s.start, s.end))
        .collect();
    parts.join(",")
}

fn transaction(t: &Transaction) -> String {
    match t {
        Transaction::Wrapped => "W".to_string(),
        Transaction::OwnBeginCommit { body } => format!("B{}:{}", body.start, body.end),
        Transaction::None { reason } => match reason {
            NoTransactionReason::Directive => "ND".to_string(),
            NoTransactionReason::RefusedInTransaction { index } => format!("NR{index}"),
            NoTransactionReason::TransactionControl { index } => format!("NT{index}"),
        },
    }
}

/// Reads the texts [`encode`] wrote back into migrations, borrowing from them.
///
/// # Errors
/// The texts are not what [`encode`] writes; the error names the index's line.
pub fn decode(
    heads_text: &'static str,
    index: &'static str,
    sql: &'static str,
) -> Result<Vec<Migration>, DecodeError> {
    let heads = heads(heads_text)?;
    let mut list = Vec::with_capacity(heads.len());
    let mut rest = sql;
    let mut lines = index.lines();
    for (i, (version, checksum)) in heads.into_iter().enumerate() {
        let err = |problem| DecodeError {
            what: "migration list",
            line: i + 1,
            problem,
        };
        let line = lines
            .next()
            .ok_or_else(|| err("the index has fewer records than heads"))?;
        let mut fields = line.split('\t');
        if fields.next() != Some("M") {
            return Err(err("not a migration record"));
        }
        let mut f: [&'static str; 11] = [""; 11];
        for slot in &mut f {
            *slot = fields.next().ok_or_else(|| err("too few fields"))?;
        }
        if fields.next().is_some() {
            return Err(err("too many fields"));
        }
        let [name, file, up_line, up_len, down_len, statements, up_tx, down_statements, down_tx, lock_timeout, statement_timeout] =
            f;
        let mut take = |len: &str| -> Result<&'static str, DecodeError> {
            let len: usize = len.parse().map_err(|_| err("a length is not a number"))?;
            let text = rest
                .get(..len)
                .ok_or_else(|| err("a length runs past the SQL or into a character"))?;
            rest = &rest[len..];
            Ok(text)
        };
        let up = take(up_len)?;
        let down = match down_len {
            "-" => None,
            len => Some(Cow::Borrowed(take(len)?)),
        };
        let optional = |v: &'static str| match v {
            "-" => Ok(None),
            v => v
                .strip_prefix('=')
                .map(|v| Some(unescape(v)))
                .ok_or_else(|| err("a directive is neither - nor =value")),
        };
        list.push(Migration {
            version,
            name: unescape(name),
            file: unescape(file),
            up: Cow::Borrowed(up),
            up_line: up_line
                .parse()
                .map_err(|_| err("the first line is not a number"))?,
            down,
            down_statements: Cow::Owned(
                parse_spans(down_statements).ok_or_else(|| err("a span is malformed"))?,
            ),
            down_transaction: parse_transaction(down_tx)
                .ok_or_else(|| err("a transaction mode is malformed"))?,
            checksum: Cow::Borrowed(checksum),
            statements: Cow::Owned(
                parse_spans(statements).ok_or_else(|| err("a span is malformed"))?,
            ),
            transaction: parse_transaction(up_tx)
                .ok_or_else(|| err("a transaction mode is malformed"))?,
            lock_timeout: optional(lock_timeout)?,
            statement_timeout: optional(statement_timeout)?,
        });
    }
    let leftover = if lines.next().is_some() {
        Some("the index has more records than heads")
    } else if !rest.is_empty() {
        Some("SQL is left over after the last migration")
    } else {
        None
    };
    if let Some(problem) = leftover {
        return Err(DecodeError {
            what: "migration list",
            line: list.len() + 1,
            problem,
        });
    }
    Ok(list)
}

/// The version and checksum of every migration, from the heads text [`encode`] wrote:
/// what a start with nothing to do compares with the history table, read without
/// building the list.
///
/// # Errors
/// The text is not what [`encode`] writes.
pub fn heads(text: &'static str) -> Result<Vec<(i64, &'static str)>, DecodeError> {
    let mut out = Vec::with_capacity(text.len() / 70 + 1);
    for (i, line) in text.lines().enumerate() {
        let head = line
            .split_once('\t')
            .and_then(|(v, checksum)| Some((v.parse().ok()?, checksum)));
        out.push(head.ok_or(DecodeError {
            what: "migration list",
            line: i + 1,
            problem: "not a version and a checksum",
        })?);
    }
    Ok(out)
}

fn parse_span(s: &str) -> Option<Span> {
    let (start, end) = s.split_once(':')?;
    Some(Span {
        start: start.parse().ok()?,
        end: end.parse().ok()?,
    })
}

fn parse_spans(s: &str) -> Option<Vec<Span>> {
    if s.is_empty() {
        return Some(Vec::new());
    }
    s.split(',').map(parse_span).collect()
}

fn parse_transaction(s: &str) -> Option<Transaction> {
    let index = |rest: &str| rest.parse::<u32>().ok();
    Some(match s {
        "W" => Transaction::Wrapped,
        "ND" => Transaction::None {
            reason: NoTransactionReason::Directive,
        },
        _ => {
            if let Some(body) = s.strip_prefix('B') {
                Transaction::OwnBeginCommit {
                    body: parse_span(body)?,
                }
            } else if let Some(i) = s.strip_prefix("NR") {
                Transaction::None {
                    reason: NoTransactionReason::RefusedInTransaction { index: index(i)? },
                }
            } else {
                Transaction::None {
                    reason: NoTransactionReason::TransactionControl {
                        index: index(s.strip_prefix("NT")?)?,
                    },
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MigrationParts;

    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    fn migration(version: i64, name: &str, up: &str, down: Option<&str>) -> Migration {
        Migration::from_parts(MigrationParts {
            version,
            name: name.to_string().into(),
            file: format!("migrations/{version}_{name}.sql").into(),
            up: up.to_string().into(),
            up_line: 3,
            down: down.map(|d| d.to_string().into()),
            down_statements: vec![Span { start: 0, end: 4 }].into(),
            down_transaction: Transaction::None {
                reason: NoTransactionReason::TransactionControl { index: 7 },
            },
            checksum: "ab12".into(),
            statements: vec![Span { start: 0, end: 3 }, Span { start: 5, end: 9 }].into(),
            transaction: Transaction::OwnBeginCommit {
                body: Span { start: 6, end: 12 },
            },
            lock_timeout: Some("5s".into()),
            statement_timeout: None,
        })
    }

    fn same(a: &Migration, b: &Migration) -> bool {
        (
            a.version(),
            a.name(),
            a.file(),
            a.up(),
            a.up_line(),
            a.down(),
        ) == (
            b.version(),
            b.name(),
            b.file(),
            b.up(),
            b.up_line(),
            b.down(),
        ) && (a.down_statements(), a.down_transaction(), a.checksum())
            == (b.down_statements(), b.down_transaction(), b.checksum())
            && (a.statements(), a.transaction(), a.lock_timeout())
                == (b.statements(), b.transaction(), b.lock_timeout())
            && a.statement_timeout() == b.statement_timeout()
    }

    #[test]
    fn every_field_survives_including_separators_and_multibyte_sql() {
        let list = vec![
            migration(
                1,
                "tab\there",
                "CREATE TABLE é (x int);\n\t-- ü\n",
                Some("DROP"),
            ),
            migration(20_260_730_140_000, "line\nbreak\\", "", None),
            migration(3, "plain", "SELECT 'a\tb';", Some("")),
        ];
        let e = encode(&list);
        let back = decode(leak(e.heads.clone()), leak(e.index), leak(e.sql)).expect("decodes");
        assert_eq!(back.len(), list.len());
        for (a, b) in list.iter().zip(&back) {
            assert!(same(a, b), "{a:?}\n!=\n{b:?}");
        }
        let heads = heads(leak(e.heads)).expect("heads");
        let expected: Vec<(i64, &str)> = list.iter().map(|m| (m.version(), m.checksum())).collect();
        assert_eq!(heads, expected);
    }

    #[test]
    fn malformed_text_is_an_error_naming_the_line() {
        let list = vec![
            migration(1, "a", "SELECT 1;", None),
            migration(2, "b", "é", None),
        ];
        let Encoded { heads, index, sql } = encode(&list);
        let heads = leak(heads);
        let problem = "a length runs past the SQL or into a character";
        for wrong in ["\t3\t-\t", "\t1\t-\t"] {
            let bad = leak(index.replacen("\t2\t-\t", wrong, 1));
            let e = decode(heads, bad, leak(sql.clone())).expect_err(wrong);
            assert_eq!((e.line, e.problem), (2, problem), "{wrong:?}");
        }
        let extra = leak(format!("{sql}x"));
        let e = decode(heads, leak(index.clone()), extra).expect_err("SQL left over");
        assert_eq!(e.line, 3);
        let first = leak(index.lines().next().unwrap_or_default().to_string());
        let e = decode(heads, first, leak(sql.clone())).expect_err("a record missing");
        assert_eq!(
            (e.line, e.problem),
            (2, "the index has fewer records than heads")
        );
        let e = decode(
            leak("1\tab\nx\tab\n".into()),
            leak(index.clone()),
            leak(sql.clone()),
        )
        .expect_err("a version that is not a number");
        assert_eq!((e.line, e.problem), (2, "not a version and a checksum"));
        let bad = leak(index.replacen("\tB6:12\t", "\tQ\t", 1));
        let e = decode(heads, bad, leak(sql)).expect_err("unknown transaction mode");
        assert_eq!((e.line, e.problem), (1, "a transaction mode is malformed"));
        assert!(e.to_string().contains("rebuild the crate"));
    }
}
