//! Fidelity of the schema model: what pgstrata replays from the migration files alone
//! equals what PostgreSQL's catalog says after applying them.

use std::path::{Path, PathBuf};

use pgstrata::catalog::Catalog;
use pgstrata_testkit::fresh_db;

use crate::support::load;
use pgstrata_testkit::corpus;

/// Tables as (schema.name, [(column, format_type, nullable)], primary key columns).
type TableShape = (String, Vec<(String, String, bool)>, Option<Vec<String>>);

fn shape(c: &Catalog) -> (Vec<TableShape>, Vec<(String, Vec<String>)>) {
    let mut tables: Vec<TableShape> = c
        .tables
        .iter()
        .filter(|t| t.name != "pgstrata_migrations")
        .map(|t| {
            (
                format!("{}.{}", t.schema, t.name),
                t.columns
                    .iter()
                    .map(|c| (c.name.clone(), c.ty.format(), c.nullable))
                    .collect(),
                t.primary_key.as_ref().map(|pk| pk.columns.clone()),
            )
        })
        .collect();
    tables.sort();
    let mut enums: Vec<(String, Vec<String>)> = c
        .enums
        .iter()
        .map(|e| (format!("{}.{}", e.schema, e.name), e.values.clone()))
        .collect();
    enums.sort();
    (tables, enums)
}

/// Returns (tables, columns, enums) compared.
pub(crate) fn model_matches_live(dir: &Path) -> (usize, usize, usize) {
    let model = pgstrata_codegen::catalog(dir).unwrap_or_else(|e| panic!("{e}"));
    let db = fresh_db();
    let mut c = db.client();
    load(dir).run_blocking(&mut c).unwrap();
    let live = pgstrata::introspect::catalog_blocking(&mut c).unwrap();
    let (mt, me) = shape(&model);
    let (lt, le) = shape(&live);
    let names = |v: &[TableShape]| v.iter().map(|t| t.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&mt), names(&lt), "{}: the same tables", dir.display());
    for (m, l) in mt.iter().zip(&lt) {
        assert_eq!(
            m,
            l,
            "{}: table {} (model left, live right)",
            dir.display(),
            m.0
        );
    }
    assert_eq!(me, le, "{}: enums and label order", dir.display());
    // Defaults and indexes too, as `pgstrata drift` compares them: a database the
    // migrations built shows no drift.
    let drift = pgstrata::catalog::differences_with(
        &model,
        &live,
        &["pgstrata_migrations"],
        pgstrata::catalog::Compare::all(),
    );
    let shown: Vec<String> = drift.iter().map(|d| format!("  {d}")).collect();
    assert!(
        drift.is_empty(),
        "{}: {} differences in defaults or indexes:\n{}",
        dir.display(),
        drift.len(),
        shown.join("\n")
    );
    (lt.len(), lt.iter().map(|t| t.1.len()).sum(), le.len())
}

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations")
}

#[test]
fn seeds_model_equals_the_live_catalog() {
    let (tables, _, enums) = model_matches_live(&corpus("seeds"));
    assert!(tables >= 15 && enums >= 7, "{tables} tables, {enums} enums");
}

/// Real projects' folders, as their crates publish them: each applies in its tool's
/// order, its catalog equals the live one, and `drift` finds nothing.
#[test]
fn published_projects_models_equal_the_live_catalog() {
    for (name, tables) in [("atuin", 6), ("apalis", 2), ("fang", 1), ("sqlxmq", 2)] {
        let (t, columns, _) = model_matches_live(&corpus(name));
        assert!(
            t >= tables && columns > 0,
            "{name}: {t} tables, {columns} columns"
        );
    }
}

#[test]
fn lemmy_model_equals_the_live_catalog() {
    assert_eq!(model_matches_live(&corpus("lemmy")), (76, 527, 9));
}

#[test]
fn project_model_equals_the_live_catalog() {
    model_matches_live(&project());
}

#[test]
fn feature_fixture_model_equals_the_live_catalog() {
    // Another schema, a domain, a composite, identity, serial, generated, arrays,
    // renamed columns, ADD VALUE BEFORE.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/features");
    assert_eq!(model_matches_live(&dir), (11, 48, 2));
}
