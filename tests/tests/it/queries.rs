//! The oracle for typed queries is PostgreSQL's own `prepare`: every query of this
//! corpus is described by pgstrata from the migrations alone, then prepared on a server
//! where the migrations were applied, and the parameter and result column types must
//! be the ones the server reports (`Statement::params()`, `Statement::columns()`).

use std::path::{Path, PathBuf};

use pgstrata_codegen::query::{describe, pg_name};
use pgstrata_testkit::fresh_db;

use crate::support::{load, queries};
use pgstrata_testkit::corpus;

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations")
}

fn features() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/features")
}

/// Every corpus: (name, migrations folder, queries from `tests/queries/<name>.sql`).
pub(crate) fn corpora() -> Vec<(&'static str, PathBuf, Vec<String>)> {
    vec![
        ("project", project(), queries("project")),
        ("lemmy", corpus("lemmy"), queries("lemmy")),
        ("seeds", corpus("seeds"), queries("seeds")),
        ("features", features(), queries("features")),
    ]
}

#[test]
fn every_query_agrees_with_prepare_on_postgresql() {
    let (mut queries, mut params, mut columns) = (0, 0, 0);
    let mut failures = Vec::new();
    for (name, dir, list) in corpora() {
        let catalog = pgstrata_codegen::catalog(&dir).unwrap_or_else(|e| panic!("{e}"));
        let db = fresh_db();
        let mut c = db.client();
        load(&dir).run_blocking(&mut c).unwrap();
        for sql in list {
            queries += 1;
            let sql = sql.as_str();
            let described = match describe(&catalog, sql) {
                Ok(d) => d,
                Err(e) => {
                    failures.push(format!("[{name}] {sql}\n  pgstrata: {e:?}"));
                    continue;
                }
            };
            let stmt = match c.prepare(sql) {
                Ok(s) => s,
                Err(e) => {
                    failures.push(format!("[{name}] {sql}\n  PostgreSQL refuses it: {e}"));
                    continue;
                }
            };
            let ours: Vec<String> = described
                .params
                .iter()
                .map(|p| pg_name(&catalog, &p.ty))
                .collect();
            let theirs: Vec<String> = stmt.params().iter().map(|t| t.name().to_string()).collect();
            if ours != theirs {
                failures.push(format!(
                    "[{name}] {sql}\n  params: pgstrata {ours:?}, PostgreSQL {theirs:?}"
                ));
            }
            let ours: Vec<(String, String)> = described
                .columns
                .iter()
                .map(|o| (o.name.clone(), pg_name(&catalog, &o.ty)))
                .collect();
            let theirs: Vec<(String, String)> = stmt
                .columns()
                .iter()
                .map(|c| (c.name().to_string(), c.type_().name().to_string()))
                .collect();
            if ours != theirs {
                failures.push(format!("[{name}] {sql}\n  columns: pgstrata {ours:?}\n           PostgreSQL {theirs:?}"));
            }
            params += stmt.params().len();
            columns += stmt.columns().len();
        }
    }
    println!(
        "{queries} queries prepared: {params} parameters, {columns} result columns; {} disagree",
        failures.len()
    );
    assert!(queries >= 150, "{queries}");
    assert!(
        failures.is_empty(),
        "{} of {queries} queries disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
