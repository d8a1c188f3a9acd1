//! Diagnostics: every problem names the file, line and column, shows the line with a
//! caret under the spot, and says what to do.
//!
//! Problems are collected, not returned at the first one, so a single build reports
//! every bad file and statement at once.

use std::fmt;

/// One problem found in the migrations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as the user wrote its folder (`migrations/V1__init.sql`).
    pub file: String,
    /// 1-based line; 0 when the problem is about the file as a whole.
    pub line: u32,
    /// 1-based column in characters; 0 when the problem is about the file or a line.
    pub column: u32,
    /// What is wrong, in lowercase, with the context needed to find it.
    pub message: String,
    /// The offending source line (cut to a window around the column when it is long,
    /// control characters shown as `?`), when there is one.
    pub source_line: Option<String>,
    /// The 1-based character of `source_line` the caret goes under; 0 for none.
    pub caret: u32,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A problem with a whole file (its name, its encoding, its absence).
    pub fn file(file: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.into(),
            line: 0,
            column: 0,
            message: message.into(),
            source_line: None,
            caret: 0,
            help: None,
        }
    }

    /// A problem at byte `offset` of `text`, whose first line is line `first_line` of
    /// `file`.
    pub fn at(
        file: impl Into<String>,
        text: &str,
        first_line: u32,
        offset: usize,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::indexed(
            file,
            text,
            &pgstrata_core::LineIndex::new(text),
            first_line,
            offset,
            message,
        )
    }

    /// [`Diagnostic::at`] with the text's line index already built (for the many
    /// problems of one file).
    pub fn indexed(
        file: impl Into<String>,
        text: &str,
        index: &pgstrata_core::LineIndex,
        first_line: u32,
        offset: usize,
        message: impl Into<String>,
    ) -> Diagnostic {
        let (line, column) = index.line_col(text, offset);
        let (source_line, caret) = match index.line(text, line) {
            Some(src) => {
                let (shown, caret) = window(src, column);
                (Some(shown), caret)
            }
            None => (None, 0),
        };
        Diagnostic {
            file: file.into(),
            line: line.saturating_add(first_line).saturating_sub(1),
            column,
            message: message.into(),
            source_line,
            caret,
            help: None,
        }
    }

    /// Adds what to do.
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}: {}", self.file, self.message)?,
            (l, 0) => write!(f, "{}:{l}: {}", self.file, self.message)?,
            (l, c) => write!(f, "{}:{l}:{c}: {}", self.file, self.message)?,
        }
        self.excerpt(f)
    }
}

impl Diagnostic {
    /// The source line with a caret under the column, and the help: everything after
    /// the first line of the message.
    ///
    /// # Errors
    /// Only the formatter's.
    pub fn excerpt(&self, f: &mut impl fmt::Write) -> fmt::Result {
        if let Some(src) = &self.source_line {
            let num = self.line.to_string();
            let pad = " ".repeat(num.len());
            let src = src.trim_end_matches('\r');
            write!(f, "\n{pad} |\n{num} | {src}")?;
            if self.caret > 0 {
                // Tabs keep their width under the caret.
                let lead: String = src
                    .chars()
                    .take(self.caret as usize - 1)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                write!(f, "\n{pad} | {lead}^")?;
            }
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

/// Characters of a source line shown around the column: a minified or generated file
/// can have a statement of megabytes on one line.
const WINDOW: usize = 160;

/// The part of `line` shown under a message, and where the caret for 1-based `column`
/// goes in it. Control characters (a NUL, an escape) are shown as `?`.
fn window(line: &str, column: u32) -> (String, u32) {
    let col = (column as usize).max(1) - 1;
    let count = line.chars().count();
    let start = if count <= WINDOW {
        0
    } else {
        col.saturating_sub(WINDOW / 2).min(count - WINDOW)
    };
    let clean = |c: char| if c.is_control() && c != '\t' { '?' } else { c };
    let mut shown: String = line.chars().skip(start).take(WINDOW).map(clean).collect();
    let mut caret = col - start.min(col) + 1;
    if start > 0 {
        shown.insert_str(0, "...");
        caret += 3;
    }
    if start + WINDOW < count {
        shown.push_str("...");
    }
    (shown, u32::try_from(caret).unwrap_or(0))
}

/// Every problem found, in the order found: how one build reports every bad file and
/// statement at once instead of stopping at the first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Errors {
    list: Vec<Diagnostic>,
}

impl Errors {
    /// Records a problem.
    pub fn push(&mut self, d: Diagnostic) {
        self.list.push(d);
    }

    /// Records every problem of `other`.
    pub fn append(&mut self, other: Errors) {
        self.list.extend(other.list);
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many problems were recorded.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// `Ok(value)` when nothing was recorded.
    ///
    /// # Errors
    /// `self`, when anything was recorded.
    pub fn finish<T>(self, value: T) -> Result<T, Errors> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// The problems.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.list.iter()
    }
}

impl From<Diagnostic> for Errors {
    fn from(d: Diagnostic) -> Errors {
        Errors { list: vec![d] }
    }
}

impl Extend<Diagnostic> for Errors {
    fn extend<I: IntoIterator<Item = Diagnostic>>(&mut self, iter: I) {
        self.list.extend(iter);
    }
}

impl IntoIterator for Errors {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.into_iter()
    }
}

impl<'a> IntoIterator for &'a Errors {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

/// How many problems are shown; a folder of broken files would otherwise print
/// megabytes.
const SHOWN: usize = 100;

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.list.iter().take(SHOWN).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        if self.list.len() > SHOWN {
            write!(f, "\n... and {} more", self.list.len() - SHOWN)?;
        }
        if self.list.len() > 1 {
            write!(f, "\n{} problems in the migrations", self.list.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for Errors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_the_line_and_a_caret() {
        let text = "SELECT 1;\nSELECT 'x;\n";
        let d = Diagnostic::at("m/V1__a.sql", text, 1, 17, "unterminated string literal")
            .help("add the closing '");
        assert_eq!(
            d.to_string(),
            "m/V1__a.sql:2:8: unterminated string literal\n  |\n2 | SELECT 'x;\n  |        ^\n  = help: add the closing '"
        );
    }

    #[test]
    fn long_lines_are_cut_around_the_column() {
        let text = format!("{}x{}\u{0}", "a".repeat(1000), "b".repeat(1000));
        let d = Diagnostic::at("m/V1__a.sql", &text, 1, 1000, "here");
        let src = d.source_line.clone().unwrap();
        assert!(
            src.len() < 200 && src.starts_with("...") && src.ends_with("..."),
            "{src}"
        );
        assert_eq!(src.chars().nth(d.caret as usize - 1), Some('x'));
        assert_eq!(d.column, 1001);
        let d = Diagnostic::at("m/V1__a.sql", &text, 1, 2001, "nul");
        assert!(d.source_line.unwrap().ends_with('?'));
    }

    #[test]
    fn sections_count_lines_from_their_start() {
        let d = Diagnostic::at("m/1_a.sql", "x\ny", 10, 2, "bad");
        assert_eq!((d.line, d.column), (11, 1));
    }
}
