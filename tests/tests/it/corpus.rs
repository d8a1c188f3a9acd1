//! Real-world migration folders apply through the runtime, and the schema they build is
//! the one psql builds from the same files.

use pgstrata_testkit::fresh_db;

use crate::support::{apply_with_psql, catalog, load};
use pgstrata_testkit::corpus;

fn same_as_psql(name: &str) -> Vec<String> {
    let m = load(&corpus(name));
    let ours = fresh_db();
    let mut c = ours.client();
    let r = m
        .run_blocking(&mut c)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(r.applied.len(), m.len());
    let theirs = fresh_db();
    apply_with_psql(theirs.url(), &m);
    let a = catalog(&mut c);
    let b = catalog(&mut theirs.client());
    if a != b {
        let only_ours: Vec<&String> = a.iter().filter(|l| !b.contains(l)).take(20).collect();
        let only_psql: Vec<&String> = b.iter().filter(|l| !a.contains(l)).take(20).collect();
        panic!("{name}: catalogs differ\nonly via pgstrata: {only_ours:#?}\nonly via psql: {only_psql:#?}");
    }
    a
}

#[test]
fn lemmy_corpus_applies_and_matches_psql() {
    let m = load(&corpus("lemmy"));
    assert_eq!(m.len(), 247);
    let lines = same_as_psql("lemmy");
    let tables: std::collections::BTreeSet<&str> = lines
        .iter()
        .filter(|l| l.starts_with("column ") && l.contains("(r)"))
        .filter_map(|l| l.split(' ').nth(1))
        .map(|t| t.split('(').next().unwrap_or(t))
        .collect();
    let columns = lines
        .iter()
        .filter(|l| l.starts_with("column ") && l.contains("(r)"))
        .count();
    let enums = lines.iter().filter(|l| l.starts_with("enum ")).count();
    // What tests/corpus/README.md says holds on PostgreSQL 15.
    assert_eq!((tables.len(), columns, enums), (76, 527, 9));
}

#[test]
fn seeds_corpus_applies_and_matches_psql() {
    assert_eq!(load(&corpus("seeds")).len(), 3);
    let lines = same_as_psql("seeds");
    assert!(
        lines.iter().any(|l| l.starts_with("policy ")),
        "the RLS policy is there"
    );
}

#[test]
fn project_migrations_apply_and_match_psql() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let m = load(&dir);
    let ours = fresh_db();
    let mut c = ours.client();
    m.run_blocking(&mut c).unwrap();
    let theirs = fresh_db();
    apply_with_psql(theirs.url(), &m);
    assert_eq!(catalog(&mut c), catalog(&mut theirs.client()));
}
