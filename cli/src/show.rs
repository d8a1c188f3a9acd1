//! What the commands print: writing to stdout, the status table, the schema as text,
//! the generated code.

use std::path::Path;

pub const BROKEN_PIPE: &str = "broken pipe";

/// Writes to stdout, turning a closed pipe into an error instead of a panic.
pub fn out(text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::BrokenPipe => BROKEN_PIPE.to_string(),
            _ => e.to_string(),
        })
}

pub fn status_text(rows: &[pgstrata_runtime::status::StatusRow]) -> String {
    use std::fmt::Write;
    let mut s = format!(
        "{:<20} {:<40} {:<8} {:<32} {:>8}\n",
        "VERSION", "NAME", "STATE", "APPLIED AT", "MS"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{:<20} {:<40} {:<8} {:<32} {:>8}",
            r.version,
            r.name,
            r.state.as_str(),
            r.applied_at.as_deref().unwrap_or("-"),
            r.execution_ms
                .map_or_else(|| "-".to_string(), |m| m.to_string())
        );
        if let Some(e) = &r.error {
            let _ = writeln!(s, "{:<20} error: {e}", "");
        }
    }
    let count = |st: pgstrata_runtime::status::State| rows.iter().filter(|r| r.state == st).count();
    use pgstrata_runtime::status::State;
    let _ = writeln!(
        s,
        "{} applied, {} pending, {} failed, {} interrupted, {} changed, {} unknown",
        count(State::Applied),
        count(State::Pending),
        count(State::Failed),
        count(State::Running),
        count(State::Changed),
        count(State::Unknown)
    );
    s
}

pub fn schema_text(c: &pgstrata_core::catalog::Catalog) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for e in &c.enums {
        let _ = writeln!(s, "enum {}.{} ({})", e.schema, e.name, e.values.join(", "));
    }
    for t in &c.tables {
        let _ = writeln!(s, "table {}.{}", t.schema, t.name);
        for col in &t.columns {
            let pk = t
                .primary_key
                .as_ref()
                .is_some_and(|pk| pk.columns.contains(&col.name));
            let _ = writeln!(
                s,
                "  {:<24} {}{}{}",
                col.name,
                col.ty.format(),
                if col.nullable { "" } else { " not null" },
                if pk { " primary key" } else { "" }
            );
        }
    }
    s
}

/// The Rust code `embed_migrations!` generates for `dir`, with paths relative to the
/// crate the folder is in (see [`pgstrata_codegen::root_of`]), as the macro in that crate
/// sees them, so the output does not depend on where it was generated.
pub fn generate(
    dir: &Path,
    config: Option<&Path>,
    queries: Option<&Path>,
) -> Result<String, String> {
    let absolute = std::fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let root = pgstrata_codegen::root_of(&absolute);
    let relative = |p: &Path| -> Result<String, String> {
        let absolute = std::fs::canonicalize(p).map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(absolute.strip_prefix(&root).map_or_else(
            |_| absolute.display().to_string(),
            |p| p.display().to_string(),
        ))
    };
    let shown = relative(dir)?;
    let config = config.map(relative).transpose()?;
    let queries = queries.map(relative).transpose()?;
    pgstrata_codegen::Project::in_crate(&root, &shown, config.as_deref())
        .and_then(|p| pgstrata_codegen::generate(&p, Default::default(), queries.as_deref()))
        .map_err(|e| e.to_string())
}

/// `pgstrata lint`: exit code 1 when there are findings.
pub fn lint(dir: &Path, json: bool, reversible: bool) -> Result<u8, String> {
    use pgstrata_codegen::lint;
    let findings = lint::lint(&crate::files::open(dir)?, lint::Options { reversible })
        .map_err(|e| e.to_string())?;
    if json {
        out(&format!("{}\n", lint::to_json(&findings)))?;
    } else {
        let mut text: String = findings.iter().map(|f| format!("{f}\n\n")).collect();
        let errors = findings
            .iter()
            .filter(|f| f.severity == lint::Severity::Error)
            .count();
        text.push_str(&format!(
            "{} findings ({errors} errors, {} warnings)\n",
            findings.len(),
            findings.len() - errors
        ));
        out(&text)?;
    }
    Ok(u8::from(!findings.is_empty()))
}

/// `pgstrata schema`: the catalog the migrations build, as text or JSON.
pub fn schema(dir: &Path, json: bool) -> Result<u8, String> {
    let catalog = crate::files::catalog(dir)?;
    if json {
        let json = serde_json::to_string_pretty(&catalog).map_err(|e| e.to_string())?;
        out(&format!("{json}\n"))?;
    } else {
        out(&schema_text(&catalog))?;
    }
    Ok(0)
}
