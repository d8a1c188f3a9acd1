//! Snapshots of the code generator's stages, with no database: the schema model the
//! replay builds from each corpus's migrations, and the description (parameter and
//! result types, nullability, source column) of every corpus query. A change to a
//! replay or inference rule shows up here as a diff to review (`cargo insta review`, or
//! `INSTA_UPDATE=always` and `git diff`); PostgreSQL itself checks the same answers in
//! `it::model` and `it::queries`.

use std::fmt::Write as _;
use std::path::Path;

use pgstrata_codegen::query::describe;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every migrations folder with a query corpus: (name, folder relative to this crate,
/// so the snapshots name files the same way in any checkout).
fn corpora() -> Vec<(&'static str, &'static str)> {
    vec![
        ("project", "../migrations"),
        ("lemmy", "corpus/lemmy/migrations"),
        ("seeds", "corpus/seeds/migrations"),
        ("features", "fixtures/features"),
    ]
}

fn catalog(name: &str, dir: &str) -> pgstrata_codegen::Catalog {
    pgstrata_codegen::Project::in_crate(root(), dir, None)
        .and_then(|p| p.catalog().cloned())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn queries(name: &str) -> Vec<String> {
    let path = root().join("queries").join(format!("{name}.sql"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let split = pgstrata_core::split::split(&text).unwrap_or_else(|e| panic!("{e:?}"));
    split
        .statements
        .iter()
        .map(|s| text[s.span.range()].to_string())
        .collect()
}

/// Corpora without queries of their own: the replay's snapshot only.
const SCHEMA_ONLY: [(&str, &str); 4] = [
    ("atuin", "corpus/atuin/migrations"),
    ("apalis", "corpus/apalis/migrations"),
    ("fang", "corpus/fang/migrations"),
    ("sqlxmq", "corpus/sqlxmq/migrations"),
];

#[test]
fn replayed_schema_of_every_corpus() {
    for (name, dir) in corpora().into_iter().chain(SCHEMA_ONLY) {
        let catalog = catalog(name, dir);
        let json = serde_json::to_string_pretty(&catalog).unwrap();
        insta::assert_snapshot!(format!("schema_{name}"), json);
    }
}

#[test]
fn description_of_every_corpus_query() {
    for (name, dir) in corpora() {
        let catalog = catalog(name, dir);
        let list = queries(name);
        assert!(!list.is_empty(), "no queries for {name}");
        let mut out = String::new();
        for sql in &list {
            writeln!(out, "{sql}").unwrap();
            match describe(&catalog, sql) {
                Err(e) => writeln!(out, "  refused: {}", e.message).unwrap(),
                Ok(d) => {
                    for (i, p) in d.params.iter().enumerate() {
                        let null = if p.nullable { " (may be NULL)" } else { "" };
                        writeln!(out, "  ${} {}{null}", i + 1, p.ty.format()).unwrap();
                    }
                    if !d.returns_rows {
                        writeln!(out, "  no rows").unwrap();
                    }
                    for c in &d.columns {
                        let null = if c.nullable { "NULL" } else { "NOT NULL" };
                        let from = c.source.as_ref().map_or_else(String::new, |(t, col)| {
                            format!(" <- {}.{}.{col}", t.schema, t.name)
                        });
                        writeln!(out, "  {} {} {null}{from}", c.name, c.ty.format()).unwrap();
                    }
                }
            }
            out.push('\n');
        }
        insta::assert_snapshot!(format!("queries_{name}"), out);
    }
}
