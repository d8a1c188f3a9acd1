//! Quoting for SQL that pgstrata writes itself (history statements, generated inserts,
//! the CLI's maintenance statements): names are always delimited, so their case and
//! reserved words are kept whatever they are, and nothing from a file or a caller is
//! pasted raw. (How PostgreSQL prints a name, quoted only when it must be, is
//! [`catalog::quote_ident`](crate::catalog::quote_ident).)

/// A delimited identifier: `"name"`, with `"` doubled.
pub fn delimited(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A string literal. Backslashes switch to an `E''` literal so that the result is right
/// whatever `standard_conforming_strings` is.
pub fn literal(s: &str) -> String {
    let q = s.replace('\'', "''");
    if q.contains('\\') {
        format!("E'{}'", q.replace('\\', "\\\\"))
    } else {
        format!("'{q}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_literals_are_quoted_whole() {
        assert_eq!(delimited("Users"), "\"Users\"");
        assert_eq!(delimited("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal(r"a\b"), r"E'a\\b'");
    }
}
