//! Adopting projects as they are: folders read as their tools read them (comment-only
//! files, stray files, diesel's order), and databases other tools migrated.

use pgstrata_runtime::{ErrorKind, Tool};
use pgstrata_testkit::{fresh_db, tool_fixture, TOOLS};

use crate::support::{apply_with_psql, history, load, Fixture};
use pgstrata_testkit::corpus;

/// Every layout, with a second migration that is only comments: it applies, is
/// recorded, and its empty (or comment-only) down reverts nothing but its row.
#[test]
fn comment_only_files_are_migrations_that_do_nothing_in_every_layout() {
    let note = "-- no up-migration: we only keep a down-migration as validation\n";
    let layouts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "refinery",
            vec![
                ("V1__a.sql", "CREATE TABLE a (id int);"),
                ("U1__a.sql", "DROP TABLE a;"),
                ("V2__b.sql", note),
                ("U2__b.sql", ""),
            ],
        ),
        (
            "sqlx",
            vec![
                ("1_a.up.sql", "CREATE TABLE a (id int);"),
                ("1_a.down.sql", "DROP TABLE a;"),
                ("2_b.up.sql", note),
                ("2_b.down.sql", note),
            ],
        ),
        (
            "numbered",
            vec![
                ("001_a.sql", "CREATE TABLE a (id int);"),
                ("001_a_down.sql", "DROP TABLE a;"),
                ("002_b.sql", note),
                ("002_b_down.sql", ""),
            ],
        ),
        (
            "dbmate",
            vec![
                (
                    "1_a.sql",
                    "-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;\n",
                ),
                (
                    "2_b.sql",
                    "-- migrate:up\n-- nothing yet\n-- migrate:down\n",
                ),
            ],
        ),
        (
            "prisma",
            vec![
                ("1_a/migration.sql", "CREATE TABLE a (id int);"),
                ("1_a/down.sql", "DROP TABLE a;"),
                ("2_b/migration.sql", note),
                ("2_b/down.sql", ""),
            ],
        ),
        (
            "diesel",
            vec![
                ("2025-01-01-000000_a/up.sql", "CREATE TABLE a (id int);"),
                ("2025-01-01-000000_a/down.sql", "DROP TABLE a;"),
                ("2025-01-02-000000_b/up.sql", note),
                (
                    "2025-01-02-000000_b/down.sql",
                    "-- This file should undo anything in `up.sql`\n",
                ),
            ],
        ),
    ];
    for (layout, files) in layouts {
        let f = Fixture::new(&files);
        let m = f.migrations();
        assert_eq!(m.len(), 2, "{layout}");
        let nothing = &m.as_slice()[1];
        assert!(nothing.statements().is_empty(), "{layout}");
        assert!(
            nothing.down().is_some(),
            "{layout}: a down that does nothing is a down"
        );
        let db = fresh_db();
        let mut c = db.client();
        let report = m
            .run_blocking(&mut c)
            .unwrap_or_else(|e| panic!("{layout}: {e}"));
        assert_eq!(report.applied.len(), 2, "{layout}");
        assert_eq!(history(&mut c).len(), 2, "{layout}");
        m.runner()
            .revert_to_blocking(&mut c, 0)
            .unwrap_or_else(|e| panic!("{layout}: {e}"));
        assert!(history(&mut c).is_empty(), "{layout}");
        let a: i64 = c
            .query_one("SELECT count(*) FROM pg_class WHERE relname = 'a'", &[])
            .unwrap()
            .get(0);
        assert_eq!(a, 0, "{layout}");
    }
}

/// A diesel folder whose versions mix diesel's two formats, with files that are not
/// migrations beside the migration folders: they are passed over with a note, and the
/// migrations apply in diesel's order (the folder names' versions as text), not by
/// number.
#[test]
fn a_diesel_folder_applies_in_diesel_order_and_notes_its_other_files() {
    let f = Fixture::new(&[
        (
            "2025-11-19-091444-0000_a/up.sql",
            "CREATE TABLE a (id int);",
        ),
        ("2025-11-19-091444-0000_a/down.sql", "DROP TABLE a;"),
        (
            "2026-01-20-000000_b/up.sql",
            "ALTER TABLE a ADD COLUMN b int;",
        ),
        (
            "2026-01-20-000000_b/down.sql",
            "ALTER TABLE a DROP COLUMN b;",
        ),
        (
            "2026-02-01-120000-0000_c/up.sql",
            "ALTER TABLE a ADD COLUMN c int;",
        ),
        ("README.md", "# migrations"),
        ("seed.csv", "1,2\n"),
        ("schema.sql", "-- diesel print-schema output kept here\n"),
    ]);
    let project = pgstrata_codegen::Project::open(&f.dir, None).unwrap();
    let mut noted: Vec<String> = project
        .notes()
        .iter()
        .map(|n| n.file.rsplit('/').next().unwrap_or_default().to_string())
        .collect();
    noted.sort();
    assert_eq!(noted, ["README.md", "schema.sql", "seed.csv"]);
    let m = f.migrations();
    let db = fresh_db();
    let mut c = db.client();
    // One migration per run: the order of the runs is the order of the history.
    for _ in 0..3 {
        let next = m
            .runner()
            .dry_run(true)
            .run_blocking(&mut c)
            .unwrap()
            .pending[0]
            .0;
        m.runner().target(next).run_blocking(&mut c).unwrap();
    }
    let applied: Vec<String> = c
        .query(
            "SELECT name FROM pgstrata_migrations ORDER BY applied_at, version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut by_text: Vec<(String, String)> = m
        .iter()
        .map(|x| (x.to_string(), x.name().to_string()))
        .collect();
    by_text.sort();
    let expected: Vec<String> = by_text.into_iter().map(|(_, n)| n).collect();
    assert_eq!(applied, expected);
    assert_eq!(applied, ["a", "b", "c"]);
    let labels: Vec<String> = m.iter().map(|x| x.to_string()).collect();
    assert_eq!(labels[0], "2025-11-19-091444-0000_a");
}

/// For each tool: a database it migrated is refused a fresh start, naming the adoption
/// command; adopting records exactly what the tool recorded (its table untouched); a
/// new migration then applies.
#[test]
fn every_tools_history_is_refused_then_adopted() {
    for tool in TOOLS {
        let fixture = tool_fixture(tool, 2);
        let files: Vec<(&str, &str)> = fixture
            .files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        let f = Fixture::new(&files);
        let m = f.migrations();
        let db = fresh_db();
        let mut c = db.client();
        c.batch_execute(&fixture.setup).unwrap();
        let before = foreign_rows(&mut c, tool);

        let e = m.run_blocking(&mut c).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ForeignHistory, "{tool}: {e}");
        let text = e.to_string();
        assert!(
            text.contains(&format!("pgstrata baseline --from {tool}")),
            "{tool}: {text}"
        );
        assert!(history_missing_or_empty(&mut c), "{tool}: nothing recorded");

        let t = Tool::from_name(tool).unwrap();
        let adopted = m
            .runner()
            .adopt_only_blocking(&mut c, t)
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        let names: Vec<&str> = adopted.adopted.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, ["users", "posts"], "{tool}");
        let report = m
            .run_blocking(&mut c)
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        let applied: Vec<&str> = report.applied.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(applied, ["tags"], "{tool}");
        assert_eq!(report.already_applied, 2, "{tool}");
        assert_eq!(history(&mut c).len(), 3, "{tool}");
        assert_eq!(
            foreign_rows(&mut c, tool),
            before,
            "{tool}: its table is left as it was"
        );
    }
}

/// `Runner::adopt` does both at a service's start: records the tool's history, then
/// applies what is pending.
#[test]
fn a_runner_adopts_then_applies() {
    let fixture = tool_fixture("sqlx", 1);
    let files: Vec<(&str, &str)> = fixture
        .files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let f = Fixture::new(&files);
    let m = f.migrations();
    let db = fresh_db();
    let mut c = db.client();
    c.batch_execute(&fixture.setup).unwrap();
    let report = m.runner().adopt(Tool::Sqlx).run_blocking(&mut c).unwrap();
    assert_eq!(report.adopted.len(), 1);
    assert_eq!(report.applied.len(), 2);
    // Once pgstrata has a history, the option does nothing.
    let again = m.runner().adopt(Tool::Sqlx).run_blocking(&mut c).unwrap();
    assert!(again.adopted.is_empty() && again.applied.is_empty());
}

/// A failed, unfinished or dirty row (or, for the tools that have none, a version with
/// no file) is refused with what to do, and nothing is recorded; so is a file whose
/// checksum the tool stored and that changed since.
#[test]
fn broken_or_changed_histories_are_refused() {
    for tool in TOOLS {
        let fixture = tool_fixture(tool, 2);
        let files: Vec<(&str, &str)> = fixture
            .files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        let f = Fixture::new(&files);
        let m = f.migrations();
        let db = fresh_db();
        let mut c = db.client();
        c.batch_execute(&fixture.setup).unwrap();
        c.batch_execute(&fixture.break_last).unwrap();
        let e = m
            .runner()
            .adopt_only_blocking(&mut c, Tool::from_name(tool).unwrap())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ForeignHistory, "{tool}: {e}");
        assert!(e.to_string().contains("nothing was adopted"), "{tool}: {e}");
        assert!(history_missing_or_empty(&mut c), "{tool}");
    }
    for tool in ["sqlx", "prisma"] {
        let fixture = tool_fixture(tool, 2);
        let mut files = fixture.files.clone();
        files[1].1.push_str("-- edited after it was applied\n");
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        let f = Fixture::new(&files);
        let db = fresh_db();
        let mut c = db.client();
        c.batch_execute(&fixture.setup).unwrap();
        let e = f
            .migrations()
            .runner()
            .adopt_only_blocking(&mut c, Tool::from_name(tool).unwrap())
            .unwrap_err();
        assert!(e.to_string().contains("changed after"), "{tool}: {e}");
    }
}

/// The tool's table, as text rows.
fn foreign_rows(c: &mut postgres::Client, tool: &str) -> Vec<String> {
    let table = Tool::from_name(tool).unwrap().table();
    c.query(&format!("SELECT t::text FROM {table} t ORDER BY 1"), &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn history_missing_or_empty(c: &mut postgres::Client) -> bool {
    let exists: bool = c
        .query_one("SELECT to_regclass('pgstrata_migrations') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    !exists || history(c).is_empty()
}

/// Real projects' databases as their tools leave them (built by psql, the tool's history
/// written as the tool writes it, sqlx's checksums included): adopting records every
/// migration, and nothing is left to apply.
#[test]
fn published_projects_are_adopted_from_their_tools_history() {
    for (name, tool) in [
        ("atuin", Tool::Sqlx),
        ("apalis", Tool::Sqlx),
        ("sqlxmq", Tool::Sqlx),
        ("fang", Tool::Diesel),
    ] {
        let m = load(&corpus(name));
        let db = fresh_db();
        apply_with_psql(db.url(), &m);
        let mut c = db.client();
        match tool {
            Tool::Sqlx => {
                c.batch_execute("CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)").unwrap();
                for x in m.iter() {
                    c.execute(
                        "INSERT INTO _sqlx_migrations VALUES ($1, $2, now(), true, sha384(convert_to($3, 'UTF8')), 1)",
                        &[&x.version(), &x.name(), &x.up()],
                    )
                    .unwrap();
                }
            }
            _ => {
                c.batch_execute("CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)").unwrap();
                for x in m.iter() {
                    let label = x.to_string();
                    let version = label.split_once('_').unwrap().0.replace('-', "");
                    c.execute(
                        "INSERT INTO __diesel_schema_migrations (version) VALUES ($1)",
                        &[&version],
                    )
                    .unwrap();
                }
            }
        }
        assert_eq!(
            m.run_blocking(&mut c).unwrap_err().kind(),
            ErrorKind::ForeignHistory,
            "{name}"
        );
        let adopted = m
            .runner()
            .adopt_only_blocking(&mut c, tool)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(adopted.adopted.len(), m.len(), "{name}");
        let report = m.run_blocking(&mut c).unwrap();
        assert!(
            report.applied.is_empty() && report.already_applied == m.len(),
            "{name}"
        );
    }
}
