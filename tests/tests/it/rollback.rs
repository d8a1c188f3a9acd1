//! The rollback check against PostgreSQL: every Lemmy migration is applied, reverted with
//! its down SQL and applied again, and the live catalog after the down is compared with
//! the one before the up, the way the static check compares its models. The two must
//! agree on every migration whose down SQL runs on this server.

use std::collections::BTreeSet;

use pgstrata::catalog::{differences_with, Catalog, Compare};
use pgstrata_testkit::fresh_db;

use crate::support::load;
use pgstrata_testkit::corpus;

fn live(c: &mut postgres::Client) -> Catalog {
    let mut catalog = pgstrata::introspect::catalog_blocking(c).unwrap();
    catalog.tables.retain(|t| t.name != "pgstrata_migrations");
    catalog
}

#[test]
fn lemmy_up_down_up_agrees_with_the_static_rollback_check() {
    let dir = corpus("lemmy");
    let project = pgstrata_codegen::Project::open(&dir, None).unwrap();
    let findings = pgstrata_codegen::lint::lint(&project, Default::default()).unwrap();
    let flagged: BTreeSet<String> = findings
        .iter()
        .filter(|f| f.rule == "rollback-mismatch")
        .map(|f| f.file.rsplit('/').nth(1).unwrap_or_default().to_string())
        .collect();
    let migrations = load(&dir);
    let db = fresh_db();
    let mut c = db.client();
    let (mut compared, mut differ, mut unrunnable) = (0, Vec::new(), Vec::new());
    let mut previous = 0;
    for m in migrations.iter() {
        let folder = m.file().rsplit('/').nth(1).unwrap_or_default().to_string();
        let before = live(&mut c);
        migrations
            .runner()
            .target(m.version())
            .run_blocking(&mut c)
            .unwrap();
        match migrations.runner().revert_to_blocking(&mut c, previous) {
            Ok(_) => {
                let after = live(&mut c);
                let diffs = differences_with(&before, &after, &[], Compare::all());
                let live_differs = !diffs.is_empty();
                assert_eq!(
                    live_differs,
                    flagged.contains(&folder),
                    "{folder}: the static check and the database disagree; live differences: {diffs:?}"
                );
                if live_differs {
                    differ.push(folder.clone());
                }
                compared += 1;
            }
            Err(e) => {
                // A down written for PostgreSQL 18, which names NOT NULL constraints
                // (`ADD CONSTRAINT x NOT NULL col`, `<table>_<column>_not_null`): a
                // syntax error, or such a constraint missing, on older servers.
                let pg18 = e.as_db_error().is_some_and(|d| {
                    d.code().code() == "42601"
                        || (d.code().code() == "42704" && d.message().contains("_not_null\""))
                });
                assert!(
                    pg18,
                    "{folder}: its down fails for another reason than PostgreSQL 18 syntax: {e}"
                );
                unrunnable.push(folder.clone());
            }
        }
        // Forward again, for the next migration.
        migrations
            .runner()
            .target(m.version())
            .run_blocking(&mut c)
            .unwrap();
        previous = m.version();
    }
    println!(
        "Lemmy: {compared} migrations compared up/down/up live, {} with a down that does not restore the schema ({differ:?}), \
         {} whose down does not run on this server ({unrunnable:?}); static findings: {flagged:?}",
        differ.len(),
        unrunnable.len()
    );
    assert!(compared >= 240, "{compared}");
}
