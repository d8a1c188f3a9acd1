//! Safety lints that know the schema: each rule sees the model as it stood before the
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

mod rollback;
mod rules;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::config::LintConfig;
use crate::diag::{Diagnostic, Errors};
use crate::replay::Replayer;
use crate::source::{Source, SqlText};

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
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

/// A rule: its id, default severity and what it catches.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// The id used in findings, suppressions and `pgstrata.toml`.
    pub id: &'static str,
    /// Severity unless configured.
    pub severity: Severity,
    /// What it catches.
    pub summary: &'static str,
}

/// Every rule.
pub const RULES: &[Rule] = &[
    rule("not-null-without-default", Severity::Error, "ADD COLUMN ... NOT NULL without a default on an existing table"),
    rule("volatile-default", Severity::Error, "ADD COLUMN with a volatile default (or identity, serial, generated) on an existing table: a rewrite"),
    rule("index-not-concurrent", Severity::Error, "an index (or unique/primary key constraint) built, or an index dropped, on an existing table without CONCURRENTLY"),
    rule("constraint-not-valid", Severity::Warning, "a foreign key or check added to an existing table without NOT VALID"),
    rule("set-not-null", Severity::Warning, "SET NOT NULL on an existing table without a validated CHECK (col IS NOT NULL)"),
    rule("column-type-rewrite", Severity::Error, "a column type change that rewrites an existing table"),
    rule("drop-column", Severity::Warning, "DROP COLUMN on an existing table: data is lost, running code may still read it"),
    rule("drop-table", Severity::Warning, "DROP TABLE of an existing table: data is lost"),
    rule("rename-column", Severity::Warning, "RENAME COLUMN on an existing table breaks running code"),
    rule("rename-table", Severity::Warning, "RENAME of an existing table breaks running code"),
    rule("foreign-key-on-delete", Severity::Warning, "a foreign key without ON DELETE"),
    rule("foreign-key-without-index", Severity::Warning, "a foreign key whose columns no index leads with"),
    rule("tenant-without-rls", Severity::Error, "a table with a tenant_id column but no row-level security or no policy"),
    rule("enum-value-added", Severity::Warning, "ALTER TYPE ... ADD VALUE on an existing enum: older binaries cannot decode it"),
    rule("concurrently-with-transactional", Severity::Warning, "CONCURRENTLY in a migration that also does transactional work"),
    rule("lock-timeout-missing", Severity::Warning, "a write-blocking lock on an existing table without a lock_timeout"),
    rule("vacuum-full-cluster", Severity::Error, "VACUUM FULL or CLUSTER: the table is locked while it is rewritten"),
    rule("rollback-mismatch", Severity::Warning, "the down SQL does not give back the schema from before the up"),
    rule("missing-down", Severity::Error, "a migration without down SQL (with --reversible)"),
];

const fn rule(id: &'static str, severity: Severity, summary: &'static str) -> Rule {
    Rule {
        id,
        severity,
        summary,
    }
}

fn known(id: &str) -> bool {
    RULES.iter().any(|r| r.id == id)
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule's id.
    pub rule: &'static str,
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

/// Lints the migrations of a folder (as `pgstrata lint` does), with the `[lint]` section
/// of the `pgstrata.toml` found beside the folder, if any.
///
/// # Errors
/// Problems in the folder or in the config, and unknown rule ids in suppressions.
pub fn lint_dir(dir: &Path, shown: &str, options: Options) -> Result<Vec<Finding>, Errors> {
    let config = match dir.parent() {
        Some(parent) => crate::config::Config::load(parent)?.0,
        None => crate::config::Config::default(),
    };
    let sources = crate::source::discover(dir, shown)?;
    lint(&sources, &config.lint, options)
}

/// Lints migrations already discovered.
///
/// # Errors
/// Problems in the migrations, unknown rule ids in suppressions or in the config.
pub fn lint(
    sources: &[Source],
    config: &LintConfig,
    options: Options,
) -> Result<Vec<Finding>, Errors> {
    let mut errors = Errors::default();
    let severities = severities(config, &mut errors);
    let mut replayer = Replayer::default();
    let mut raw: Vec<(Finding, Vec<String>)> = Vec::new();
    let mut state = rules::State::default();
    for s in sources {
        let m = crate::migration::to_migration(s, &mut errors);
        let allowed = suppressions(&s.up, &mut errors);
        let mut linter = rules::Linter::new(&s.up, &m, &mut state);
        replayer.file_observed(&s.up, &mut linter);
        let found = linter.finish(&replayer.catalog);
        raw.extend(found.into_iter().map(|(f, index)| {
            let allow =
                index.map_or_else(Vec::new, |i| allowed.get(&i).cloned().unwrap_or_default());
            (f, allow)
        }));
    }
    errors.0.extend(std::mem::take(&mut replayer.errors).0);
    raw.extend(
        rollback::check(sources, options)
            .into_iter()
            .map(|f| (f, Vec::new())),
    );
    let mut out = Vec::new();
    for (mut f, allow) in raw {
        if allow.iter().any(|a| a == f.rule) {
            continue;
        }
        match severities.get(f.rule) {
            Some(None) => continue,
            Some(Some(s)) => f.severity = *s,
            None => {}
        }
        out.push(f);
    }
    errors.finish(out)
}

/// Configured severities: `None` for rules turned off.
fn severities(
    config: &LintConfig,
    errors: &mut Errors,
) -> BTreeMap<&'static str, Option<Severity>> {
    let mut out = BTreeMap::new();
    let bad = |what: String| {
        Diagnostic::file(crate::config::FILE, what).help(format!(
            "rule ids: {}",
            RULES.iter().map(|r| r.id).collect::<Vec<_>>().join(", ")
        ))
    };
    for (id, level) in &config.severity {
        let Some(r) = RULES.iter().find(|r| r.id == id) else {
            errors.push(bad(format!("[lint.severity] names an unknown rule {id:?}")));
            continue;
        };
        let s = match level.as_str() {
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "off" => None,
            other => {
                errors.push(
                    Diagnostic::file(
                        crate::config::FILE,
                        format!("[lint.severity] {id:?} = {other:?} is not a severity"),
                    )
                    .help("write \"error\", \"warning\" or \"off\""),
                );
                continue;
            }
        };
        out.insert(r.id, s);
    }
    for id in &config.allow {
        match RULES.iter().find(|r| r.id == id) {
            Some(r) => {
                out.insert(r.id, None);
            }
            None => errors.push(bad(format!("[lint] allow names an unknown rule {id:?}"))),
        }
    }
    out
}

/// The rules allowed for each statement (by index) by `-- pgstrata:allow(...)` comments
/// on the lines before it.
fn suppressions(sql: &SqlText, errors: &mut Errors) -> BTreeMap<usize, Vec<String>> {
    let mut out: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut next = 0usize;
    for c in &sql.split.comments {
        let text = sql.text[c.text.range()].trim();
        let Some(rest) = text.strip_prefix("pgstrata:allow(") else {
            continue;
        };
        let Some((ids, _reason)) = rest.split_once(')') else {
            errors.push(
                sql.diagnostic(c.text.start as usize - 2, "`pgstrata:allow(` is not closed")
                    .help("write `-- pgstrata:allow(rule-id, ...) why it is safe here`"),
            );
            continue;
        };
        // The statement this comment stands before: the first one starting after it.
        while next < sql.split.statements.len()
            && (sql.split.statements[next].span.start as usize) < c.text.end as usize
        {
            next += 1;
        }
        for id in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !known(id) {
                errors.push(
                    sql.diagnostic(
                        c.text.start as usize - 2,
                        format!("unknown lint rule `{id}`"),
                    )
                    .help(format!(
                        "rule ids: {}",
                        RULES.iter().map(|r| r.id).collect::<Vec<_>>().join(", ")
                    )),
                );
                continue;
            }
            out.entry(next).or_default().push(id.to_string());
        }
    }
    out
}

/// Findings as JSON (for `pgstrata lint --format json`), without a JSON dependency.
pub fn to_json(findings: &[Finding]) -> String {
    fn s(v: &str) -> String {
        let mut out = String::from("\"");
        for c in v.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }
    let items: Vec<String> = findings
        .iter()
        .map(|f| {
            format!(
                "  {{\"rule\": {}, \"severity\": {}, \"file\": {}, \"line\": {}, \"column\": {}, \"end_line\": {}, \"statement\": {}, \"why\": {}, \"fix\": {}}}",
                s(f.rule),
                s(f.severity.as_str()),
                s(&f.file),
                f.line,
                f.column,
                f.end_line,
                s(&f.statement),
                s(&f.why),
                s(&f.fix)
            )
        })
        .collect();
    if items.is_empty() {
        "[]".to_string()
    } else {
        format!("[\n{}\n]", items.join(",\n"))
    }
}
