//! One lint run: a single replay of the project, with a [`Linter`] per migration, the
//! rollback check after each up, then the suppressions and configured severities.

use std::collections::BTreeMap;

use pgstrata_core::catalog::Catalog;
use pgstrata_core::Migration;

use super::linter::{Linter, State};
use super::{rollback, Finding, Options, Rule, Severity};
use crate::config::LintConfig;
use crate::diag::{Diagnostic, Errors};
use crate::project::Project;
use crate::replay::{Observer, Replayer, Seen};
use crate::source::{Source, SqlText};

pub(super) fn run(project: &Project, options: Options) -> Result<Vec<Finding>, Errors> {
    let mut errors = Errors::default();
    let severities = severities(&project.config().lint, &mut errors);
    let mut run = Run {
        options,
        state: State::default(),
        current: None,
        before: Catalog::default(),
        found: Vec::new(),
        rollbacks: Vec::new(),
        errors,
    };
    let replayed = project.replay(None, &mut run);
    run.errors.append(replayed.errors);
    if let Err(e) = project.migrations() {
        run.errors.append(e);
    }
    let rollbacks = run.rollbacks.into_iter().map(|f| (f, Vec::new()));
    let mut out = Vec::new();
    for (mut f, allow) in run.found.into_iter().chain(rollbacks) {
        if allow.contains(&f.rule) {
            continue;
        }
        match severities.get(&f.rule) {
            Some(None) => continue,
            Some(Some(s)) => f.severity = *s,
            None => {}
        }
        out.push(f);
    }
    run.errors.finish(out)
}

/// The replay's observer.
struct Run<'s> {
    options: Options,
    state: State,
    /// The migration being replayed, and the rules its statements allow.
    current: Option<(Linter<'s>, BTreeMap<usize, Vec<Rule>>)>,
    /// The catalog before the migration being replayed (for the rollback check).
    before: Catalog,
    /// Findings, with the rules allowed where each was found.
    found: Vec<(Finding, Vec<Rule>)>,
    /// Findings of the rollback check, reported after the others.
    rollbacks: Vec<Finding>,
    errors: Errors,
}

impl<'s> Observer<'s> for Run<'s> {
    fn begin(&mut self, source: &'s Source, migration: &Migration, replay: &Replayer) {
        let allowed = suppressions(&source.up, &mut self.errors);
        let linter = Linter::new(&source.up, migration, std::mem::take(&mut self.state));
        self.current = Some((linter, allowed));
        if source.down.is_some() {
            self.before = replay.catalog.clone();
        }
    }

    fn before(&mut self, catalog: &Catalog, search_path: &[String], seen: Seen<'_>) {
        if let Some((linter, _)) = &mut self.current {
            linter.statement(catalog, search_path, seen);
        }
    }

    fn end(&mut self, source: &'s Source, replay: &Replayer) {
        if let Some((linter, allowed)) = self.current.take() {
            let (found, state) = linter.finish(&replay.catalog);
            self.state = state;
            self.found.extend(found.into_iter().map(|(f, index)| {
                let allow = index
                    .and_then(|i| allowed.get(&i).cloned())
                    .unwrap_or_default();
                (f, allow)
            }));
        }
        self.rollbacks
            .extend(rollback::check(source, &self.before, replay, self.options));
    }
}

/// Configured severities: `None` for rules turned off.
fn severities(config: &LintConfig, errors: &mut Errors) -> BTreeMap<Rule, Option<Severity>> {
    let mut out = BTreeMap::new();
    let bad = |what: String| {
        Diagnostic::file(crate::config::FILE, what).help(format!("rule ids: {}", Rule::ids()))
    };
    for (id, level) in &config.severity {
        let Some(r) = Rule::from_id(id) else {
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
        out.insert(r, s);
    }
    for id in &config.allow {
        match Rule::from_id(id) {
            Some(r) => {
                out.insert(r, None);
            }
            None => errors.push(bad(format!("[lint] allow names an unknown rule {id:?}"))),
        }
    }
    out
}

/// The rules allowed for each statement (by index) by `-- pgstrata:allow(...)` comments
/// on the lines before it.
fn suppressions(sql: &SqlText, errors: &mut Errors) -> BTreeMap<usize, Vec<Rule>> {
    let mut out: BTreeMap<usize, Vec<Rule>> = BTreeMap::new();
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
            match Rule::from_id(id) {
                Some(r) => out.entry(next).or_default().push(r),
                None => errors.push(
                    sql.diagnostic(
                        c.text.start as usize - 2,
                        format!("unknown lint rule `{id}`"),
                    )
                    .help(format!("rule ids: {}", Rule::ids())),
                ),
            }
        }
    }
    out
}
