//! The one SQL lexer: every scanner of pgstrata (the statement splitter, the replay's
//! readers of statements sqlparser refuses, the lints, the query files' `:name`
//! parameters, the drift normal form, the runtime's error locator) reads SQL through it,
//! so that none of them mistakes a `;`, a keyword or a name inside a string, a comment,
//! a dollar quote or a quoted identifier for SQL.
//!
//! It follows PostgreSQL's scanner (`scan.l`) where it decides what a token is:
//! `--` and nested `/* */` comments; `'...'` strings with `''`, and backslash escapes
//! after an `E` prefix; `U&'...'`, `B'...'`, `X'...'`, `N'...'`; `"..."` identifiers
//! with `""`; `$$` and `$tag$` dollar quotes (a `$` inside an identifier opens none);
//! `$1` parameters; and psql's `:name` variables, which query files use as parameters.
//! Tokens carry byte ranges into the text, so callers cut the original text by span
//! instead of rebuilding it from tokens.

use std::borrow::Cow;

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Spaces, tabs, line breaks, form feeds.
    Space,
    /// `-- ...` up to (not including) the end of the line.
    LineComment,
    /// `/* ... */`, nested ones included.
    BlockComment,
    /// An unquoted identifier or keyword.
    Word,
    /// `"..."` (or `U&"..."`).
    QuotedIdent,
    /// A string constant, its prefix (`E`, `U&`, `B`, `X`, `N`) included.
    String,
    /// `$$...$$` or `$tag$...$tag$`.
    DollarString,
    /// `$1`, `$2`...
    Param,
    /// psql's `:name` variable (not the `::` of a cast).
    Variable,
    /// A numeric constant.
    Number,
    /// `::`.
    Cast,
    /// A run of operator characters (`+ - * / < > = ~ ! @ # % ^ & | ` ?`).
    Operator,
    /// One of `; ( ) [ ] , . :`, or any other single character.
    Punct,
}

/// A token: its kind and where it is in the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: Kind,
    /// Byte offset of its first byte.
    pub start: usize,
    /// Byte offset one past its last byte.
    pub end: usize,
}

impl Token {
    /// Its text.
    pub fn text<'a>(&self, sql: &'a str) -> &'a str {
        &sql[self.start..self.end]
    }

    /// Whether it is space or a comment.
    pub fn is_trivia(&self) -> bool {
        matches!(
            self.kind,
            Kind::Space | Kind::LineComment | Kind::BlockComment
        )
    }

    /// Whether it is the punctuation or operator `p`.
    pub fn is(&self, sql: &str, p: &str) -> bool {
        matches!(self.kind, Kind::Punct | Kind::Operator | Kind::Cast) && self.text(sql) == p
    }

    /// A word, upper-cased (for keywords); `None` for anything else.
    pub fn keyword(&self, sql: &str) -> Option<String> {
        (self.kind == Kind::Word).then(|| self.text(sql).to_ascii_uppercase())
    }

    /// The identifier a word or quoted identifier names, as PostgreSQL folds it: an
    /// unquoted word lower-cased (ASCII letters only, as PostgreSQL does in UTF-8), a
    /// quoted one as written with `""` read as `"`.
    pub fn identifier<'a>(&self, sql: &'a str) -> Option<Cow<'a, str>> {
        let text = self.text(sql);
        match self.kind {
            Kind::Word if text.bytes().any(|b| b.is_ascii_uppercase()) => {
                Some(Cow::Owned(text.to_ascii_lowercase()))
            }
            Kind::Word => Some(Cow::Borrowed(text)),
            Kind::QuotedIdent => {
                let inner = text.strip_prefix("U&").unwrap_or(text);
                let inner = &inner[1..inner.len() - 1];
                Some(if inner.contains("\"\"") {
                    Cow::Owned(inner.replace("\"\"", "\""))
                } else {
                    Cow::Borrowed(inner)
                })
            }
            _ => None,
        }
    }

    /// The body of a dollar-quoted string (between its tags), or of a plain `'...'`
    /// string with `''` read as `'`; `None` for other tokens and prefixed strings.
    pub fn string_body<'a>(&self, sql: &'a str) -> Option<Cow<'a, str>> {
        let text = self.text(sql);
        match self.kind {
            Kind::DollarString => {
                let tag = text[1..].find('$')? + 2;
                Some(Cow::Borrowed(&text[tag..text.len() - tag]))
            }
            Kind::String if text.starts_with('\'') => {
                let inner = &text[1..text.len() - 1];
                Some(if inner.contains("''") {
                    Cow::Owned(inner.replace("''", "'"))
                } else {
                    Cow::Borrowed(inner)
                })
            }
            _ => None,
        }
    }
}

/// Something opened and never closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexError {
    /// Byte offset of the opening.
    pub offset: usize,
    /// What is unterminated.
    pub message: String,
    /// What to do about it.
    pub help: String,
}

/// The tokens of `sql`, trivia included; after an error, nothing more.
pub fn tokens(sql: &str) -> Lexer<'_> {
    Lexer {
        sql,
        pos: 0,
        failed: false,
    }
}

/// The tokens of `sql` that are not space or comments, as far as it lexes: for
/// scanners of text that was already split (and so lexes).
pub fn significant(sql: &str) -> impl Iterator<Item = Token> + '_ {
    tokens(sql).map_while(Result::ok).filter(|t| !t.is_trivia())
}

/// The iterator [`tokens`] returns.
#[derive(Clone, Debug)]
pub struct Lexer<'a> {
    sql: &'a str,
    pos: usize,
    failed: bool,
}

impl Iterator for Lexer<'_> {
    type Item = Result<Token, LexError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.sql.len() {
            return None;
        }
        let start = self.pos;
        match scan(self.sql.as_bytes(), start) {
            Ok((kind, end)) => {
                self.pos = end;
                Some(Ok(Token { kind, start, end }))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

const OPERATOR: &[u8] = b"+-*/<>=~!@#%^&|`?";

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// The kind and end of the token at `i`.
fn scan(b: &[u8], i: usize) -> Result<(Kind, usize), LexError> {
    let c = b[i];
    let next = b.get(i + 1).copied();
    Ok(match c {
        b' ' | b'\t' | b'\n' | b'\r' | 0x0c => {
            let end = i + b[i..]
                .iter()
                .take_while(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0c))
                .count();
            (Kind::Space, end)
        }
        b'-' if next == Some(b'-') => {
            let end = b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |p| i + p);
            (Kind::LineComment, end)
        }
        b'/' if next == Some(b'*') => (Kind::BlockComment, block_comment_end(b, i)?),
        b'\'' => (Kind::String, quoted_end(b, i, i, b'\'', false)?),
        b'"' => (Kind::QuotedIdent, quoted_end(b, i, i, b'"', false)?),
        b'$' => match dollar_tag(b, i) {
            Some(len) => (Kind::DollarString, dollar_end(b, i, len)?),
            None if next.is_some_and(|c| c.is_ascii_digit()) => {
                (Kind::Param, i + 1 + digits(&b[i + 1..]))
            }
            None => (Kind::Punct, i + 1),
        },
        b':' if next == Some(b':') => (Kind::Cast, i + 2),
        b':' if next.is_some_and(is_ident_start) => {
            let end = i
                + 1
                + b[i + 1..]
                    .iter()
                    .take_while(|&&c| is_ident_char(c) && c != b'$')
                    .count();
            (Kind::Variable, end)
        }
        b'0'..=b'9' => (Kind::Number, number_end(b, i)),
        b'.' if next.is_some_and(|c| c.is_ascii_digit()) => (Kind::Number, number_end(b, i)),
        c if is_ident_start(c) => return word(b, i),
        c if OPERATOR.contains(&c) => {
            let mut end = i + 1;
            while end < b.len()
                && OPERATOR.contains(&b[end])
                && !(b[end] == b'-' && b.get(end + 1) == Some(&b'-'))
                && !(b[end] == b'/' && b.get(end + 1) == Some(&b'*'))
            {
                end += 1;
            }
            (Kind::Operator, end)
        }
        c => (Kind::Punct, i + utf8_len(c)),
    })
}

/// A word, or a string or quoted identifier behind a prefix (`E'`, `U&'`, `B'`...).
fn word(b: &[u8], i: usize) -> Result<(Kind, usize), LexError> {
    let end = i + b[i..].iter().take_while(|&&c| is_ident_char(c)).count();
    let prefix = &b[i..end];
    match b.get(end) {
        Some(b'\'') if prefix.eq_ignore_ascii_case(b"e") => {
            Ok((Kind::String, quoted_end(b, i, end, b'\'', true)?))
        }
        Some(b'\'') if matches!(prefix, b"b" | b"B" | b"x" | b"X" | b"n" | b"N") => {
            Ok((Kind::String, quoted_end(b, i, end, b'\'', false)?))
        }
        Some(b'&') if prefix.eq_ignore_ascii_case(b"u") => match b.get(end + 1) {
            Some(b'\'') => Ok((Kind::String, quoted_end(b, i, end + 1, b'\'', false)?)),
            Some(b'"') => Ok((Kind::QuotedIdent, quoted_end(b, i, end + 1, b'"', false)?)),
            _ => Ok((Kind::Word, end)),
        },
        _ => Ok((Kind::Word, end)),
    }
}

fn digits(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// The end of a number: digits, `_` separators, one `.`, an exponent, `0x`/`0o`/`0b`
/// prefixes (their letters are read with the digits).
fn number_end(b: &[u8], i: usize) -> usize {
    let mut j = i;
    let mut dot = false;
    while j < b.len() {
        let c = b[j];
        if c.is_ascii_alphanumeric() || c == b'_' {
            let exponent = matches!(c, b'e' | b'E');
            j += 1;
            if exponent && matches!(b.get(j), Some(b'+' | b'-')) {
                j += 1;
            }
        } else if c == b'.' && !dot && b.get(j + 1) != Some(&b'.') {
            dot = true;
            j += 1;
        } else {
            break;
        }
    }
    j
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => 1,
    }
}

/// One past the closing quote of a quoted string or identifier whose token starts at
/// `start` and whose opening quote is at `quote_at`. A doubled quote is a quote; with
/// `escapes`, so is a backslash-quote.
fn quoted_end(
    b: &[u8],
    start: usize,
    quote_at: usize,
    quote: u8,
    escapes: bool,
) -> Result<usize, LexError> {
    let mut j = quote_at + 1;
    while j < b.len() {
        let c = b[j];
        if escapes && c == b'\\' {
            j += 2;
            continue;
        }
        if c == quote {
            if b.get(j + 1) == Some(&quote) {
                j += 2;
                continue;
            }
            return Ok(j + 1);
        }
        j += 1;
    }
    let (message, help) = if quote == b'"' {
        ("unterminated quoted identifier", "add the closing \"")
    } else {
        (
            "unterminated string literal",
            "add the closing ' (a quote inside a string is written '')",
        )
    };
    Err(LexError {
        offset: start,
        message: message.to_string(),
        help: help.to_string(),
    })
}

/// The end of a (nested) block comment opening at `i`.
fn block_comment_end(b: &[u8], i: usize) -> Result<usize, LexError> {
    let mut depth = 0usize;
    let mut j = i;
    while j + 1 < b.len() {
        if b[j] == b'/' && b[j + 1] == b'*' {
            depth += 1;
            j += 2;
        } else if b[j] == b'*' && b[j + 1] == b'/' {
            depth -= 1;
            j += 2;
            if depth == 0 {
                return Ok(j);
            }
        } else {
            j += 1;
        }
    }
    Err(LexError {
        offset: i,
        message: "unterminated block comment".to_string(),
        help: "add the closing */ (block comments nest in PostgreSQL: each /* needs its own */)"
            .to_string(),
    })
}

/// The length of the dollar-quote tag at `i` (`$$` or `$tag$`), if one opens there.
/// `$1` is a parameter, not a tag; a `$` inside an identifier never opens one (the
/// identifier's token has already taken it).
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    match b.get(j) {
        Some(b'$') => return Some(2),
        Some(&c) if is_ident_start(c) => {}
        _ => return None,
    }
    while j < b.len() && is_ident_char(b[j]) && b[j] != b'$' {
        j += 1;
    }
    (b.get(j) == Some(&b'$')).then_some(j + 1 - i)
}

fn dollar_end(b: &[u8], i: usize, tag_len: usize) -> Result<usize, LexError> {
    let tag = &b[i..i + tag_len];
    let body = i + tag_len;
    match b[body..].windows(tag_len).position(|w| w == tag) {
        Some(p) => Ok(body + p + tag_len),
        None => {
            let tag = String::from_utf8_lossy(tag);
            Err(LexError {
                offset: i,
                message: format!("unterminated dollar quote {tag}"),
                help: format!("add the closing {tag} after the body"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(Kind, &str)> {
        tokens(sql)
            .map(|t| t.unwrap())
            .filter(|t| t.kind != Kind::Space)
            .map(|t| (t.kind, t.text(sql)))
            .collect()
    }

    #[test]
    fn strings_with_every_prefix() {
        use Kind::*;
        assert_eq!(
            kinds(r"E'it\'s' 'a''b' U&'d\0061' B'01' X'1F' n'x' name'y\'"),
            [
                (String, r"E'it\'s'"),
                (String, "'a''b'"),
                (String, r"U&'d\0061'"),
                (String, "B'01'"),
                (String, "X'1F'"),
                (String, "n'x'"),
                (Word, "name"),
                (String, r"'y\'"),
            ]
        );
    }

    #[test]
    fn identifiers_fold_as_postgresql_folds_them() {
        let sql = r#"Users "Users" "a""b" U&"x" ÉtÉ"#;
        let ids: Vec<String> = significant(sql)
            .filter_map(|t| t.identifier(sql).map(Cow::into_owned))
            .collect();
        assert_eq!(ids, ["users", "Users", "a\"b", "x", "ÉtÉ"]);
    }

    #[test]
    fn dollar_quotes_parameters_and_identifiers_with_dollars() {
        use Kind::*;
        assert_eq!(
            kinds("$$a;b$$ $fn$ x $$ y $fn$ $1 a$b$c $12"),
            [
                (DollarString, "$$a;b$$"),
                (DollarString, "$fn$ x $$ y $fn$"),
                (Param, "$1"),
                (Word, "a$b$c"),
                (Param, "$12"),
            ]
        );
        let sql = "$body$ SELECT 1; $body$";
        let t = significant(sql).next().unwrap();
        assert_eq!(t.string_body(sql).unwrap(), " SELECT 1; ");
    }

    #[test]
    fn comments_nest_and_operators_stop_before_them() {
        use Kind::*;
        assert_eq!(
            kinds("/* a /* b */ c */ x--y\n1+-- z\n2"),
            [
                (BlockComment, "/* a /* b */ c */"),
                (Word, "x"),
                (LineComment, "--y"),
                (Number, "1"),
                (Operator, "+"),
                (LineComment, "-- z"),
                (Number, "2"),
            ]
        );
    }

    #[test]
    fn casts_variables_and_numbers() {
        use Kind::*;
        assert_eq!(
            kinds("a::int :name :'x' 1.5e-3 .5 0x1F 1_000 t.c 1..2"),
            [
                (Word, "a"),
                (Cast, "::"),
                (Word, "int"),
                (Variable, ":name"),
                (Punct, ":"),
                (String, "'x'"),
                (Number, "1.5e-3"),
                (Number, ".5"),
                (Number, "0x1F"),
                (Number, "1_000"),
                (Word, "t"),
                (Punct, "."),
                (Word, "c"),
                (Number, "1"),
                (Punct, "."),
                (Number, ".2"),
            ]
        );
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
            let e = tokens(sql).find_map(Result::err).unwrap();
            assert_eq!(e.offset, at, "{sql}");
            assert!(e.message.contains(what), "{}", e.message);
        }
    }

    #[test]
    fn multibyte_text_is_kept_whole() {
        let sql = "SELECT 'ñ;', ñame FROM «t»";
        let texts: Vec<&str> = significant(sql).map(|t| t.text(sql)).collect();
        assert_eq!(texts, ["SELECT", "'ñ;'", ",", "ñame", "FROM", "«t»"]);
    }
}
