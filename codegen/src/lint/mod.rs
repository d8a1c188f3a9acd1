//! Safety lints that know the schema: each rule sees the catalog as it stood before the
//! statement, so it knows whether a table existed before this migration (a statement on
//! a table created earlier in the same migration takes no lock anyone waits for, and
//! loses no data anyone has).
//!
//! A finding names its rule, file, line and column, the statement, why it is risky and
//! the safe way to do it. Suppress one with `-- pgstrata:allow(rule-id) reason` on the
//! lines before the statement, or for the whole project in `pgstrata.toml`:
//!
//! ```toml
//! [lint]
//! allow = ["rename-table"]
//! [lint.severity]
//! "drop-column" = "error"
//! ```
//!
//! Where things are: [`Rule`] lists the rules; `run` walks the replay and applies
//! suppressions and configured severities; `linter` holds what one migration's rules
//! remember; the rules themselves are grouped by what they look at (`statements`:
//! indexes, tables, types and views; `alter`: `ALTER TABLE`; `columns`: column
//! definitions, defaults and foreign keys); `rollback` replays each down SQL.

mod alter;
mod columns;
mod linter;
mod rollback;
mod rule;
mod run;
mod statements;

use std::fmt;

use serde::Serialize;

use crate::diag::{Diagnostic, Errors};
use crate::project::Project;

pub use rule::Rule;

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails `pgstrata lint` (exit 1), and the build with `deny_in_build`.
    Error,
    /// Reported; `pgstrata lint` still fails on any finding.
    Warning,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule.
    #[serde(serialize_with = "rule_id")]
    pub rule: Rule,
    /// Its severity, as configured.
    pub severity: Severity,
    /// The file.
    pub file: String,
    /// 1-based line (0: the file as a whole).
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// The statement's last line (0: the file as a whole).
    pub end_line: u32,
    /// The statement (cut to 200 characters).
    pub statement: String,
    /// Why it is risky.
    pub why: String,
    /// The safe way to do it.
    pub fix: String,
}

fn rule_id<S: serde::Serializer>(rule: &Rule, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(rule.id())
}

impl Finding {
    /// The finding as a build error (`deny_in_build`).
    pub fn to_diagnostic(&self) -> Diagnostic {
        Diagnostic {
            line: self.line,
            column: self.column,
            source_line: self.statement.lines().next().map(str::to_string),
            caret: u32::from(self.line > 0),
            ..Diagnostic::file(&self.file, format!("lint {}: {}", self.rule, self.why))
        }
        .help(format!(
            "{}; or put `-- pgstrata:allow({}) <why it is safe here>` on the line before the statement",
            self.fix, self.rule
        ))
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = match (self.line, self.column) {
            (0, _) => self.file.clone(),
            (l, c) => format!("{}:{l}:{c}", self.file),
        };
        write!(
            f,
            "{}[{}]: {}\n  --> {at}",
            self.severity.as_str(),
            self.rule,
            self.why
        )?;
        if !self.statement.is_empty() {
            write!(f, "\n   | {}", self.statement.replace('\n', "\n   | "))?;
        }
        write!(f, "\n   = fix: {}", self.fix)
    }
}

/// What `lint` is asked to check.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Every migration must have down SQL.
    pub reversible: bool,
}

/// Lints the migrations of a project with the `[lint]` section of its configuration.
///
/// # Errors
/// Problems in the migrations, unknown rule ids in suppressions or in the config.
pub fn lint(project: &Project, options: Options) -> Result<Vec<Finding>, Errors> {
    run::run(project, options)
}

/// Findings as JSON (for `pgstrata lint --format json`).
pub fn to_json(findings: &[Finding]) -> String {
    serde_json::to_string_pretty(findings).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
