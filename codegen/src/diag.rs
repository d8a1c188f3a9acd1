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
    /// The offending source line, when there is one.
    pub source_line: Option<String>,
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
        let (line, column) = pgstrata_core::line_col(text, offset);
        let source_line = text.lines().nth(line as usize - 1).map(str::to_string);
        Diagnostic {
            file: file.into(),
            line: line + first_line - 1,
            column,
            message: message.into(),
            source_line,
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
        if let Some(src) = &self.source_line {
            let num = self.line.to_string();
            let pad = " ".repeat(num.len());
            let src = src.trim_end_matches('\r');
            write!(f, "\n{pad} |\n{num} | {src}")?;
            if self.column > 0 {
                // Tabs keep their width under the caret.
                let lead: String = src
                    .chars()
                    .take(self.column as usize - 1)
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

/// Every problem found, in the order found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Errors(pub Vec<Diagnostic>);

impl Errors {
    /// Records a problem.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
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
        self.0.iter()
    }
}

impl From<Diagnostic> for Errors {
    fn from(d: Diagnostic) -> Errors {
        Errors(vec![d])
    }
}

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        if self.0.len() > 1 {
            write!(f, "\n{} problems in the migrations", self.0.len())?;
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
    fn sections_count_lines_from_their_start() {
        let d = Diagnostic::at("m/1_a.sql", "x\ny", 10, 2, "bad");
        assert_eq!((d.line, d.column), (11, 1));
    }
}
