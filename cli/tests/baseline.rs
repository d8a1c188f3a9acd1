//! Adopting a database built before pgstrata managed it: `baseline VERSION` after
//! comparing schemas, and `baseline --from diesel` on Lemmy.

use std::path::{Path, PathBuf};
use std::process::Command;

use pgstrata_testkit::fresh_db;

mod common;
use common::{pgstrata, states, text, Folder};
use pgstrata_testkit::corpus;

/// Applies a folder's up files with psql, as a database built before pgstrata would be.
fn psql_apply(url: &str, dir: &Path) {
    let migrations = pgstrata_codegen_load(dir);
    for (file, single) in migrations {
        let mut cmd = Command::new(pgstrata_testkit::psql());
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]);
        if single {
            cmd.arg("-1");
        }
        let out = cmd
            .arg("-f")
            .arg(&file)
            .output()
            .expect("psql (postgresql-client) must be installed");
        assert!(
            out.status.success(),
            "psql failed on {file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// (file, whether it runs in one transaction) for every up file, in version order.
fn pgstrata_codegen_load(dir: &Path) -> Vec<(String, bool)> {
    let list = pgstrata_codegen::load(dir).unwrap_or_else(|e| panic!("{e}"));
    list.iter()
        .map(|m| {
            (
                m.file().to_string(),
                !matches!(m.transaction(), pgstrata_core::Transaction::None { .. }),
            )
        })
        .collect()
}

fn lemmy() -> PathBuf {
    corpus("lemmy")
}

#[test]
fn baseline_adopts_a_database_built_by_psql() {
    let dir = lemmy();
    let db = fresh_db();
    psql_apply(db.url(), &dir);
    let last = pgstrata_codegen::load(&dir)
        .unwrap()
        .last()
        .unwrap()
        .version();
    let (code, _) = states(db.url(), &dir);
    assert_eq!(code, 3, "everything pending before the baseline");

    let b = pgstrata(Some(db.url()), &["baseline", &last.to_string()], &dir);
    assert!(b.status.success(), "{}", text(&b));
    assert!(text(&b).contains("recorded 247 migrations"), "{}", text(&b));
    let (code, rows) = states(db.url(), &dir);
    assert_eq!(code, 0, "nothing pending after the baseline");
    assert_eq!(rows.len(), 247);
    // Twice is refused.
    assert!(
        !pgstrata(Some(db.url()), &["baseline", &last.to_string()], &dir)
            .status
            .success()
    );
}

/// Lemmy's database as diesel leaves it: built by psql, with `__diesel_schema_migrations`
/// written as diesel writes it. `status` sends the user to `baseline --from diesel`,
/// which records all 247 migrations.
#[test]
fn baseline_from_diesel_adopts_lemmy() {
    let dir = lemmy();
    let db = fresh_db();
    psql_apply(db.url(), &dir);
    let mut versions: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            Some(name.split_once('_')?.0.replace('-', ""))
        })
        .collect();
    versions.sort();
    let rows: Vec<String> = versions.iter().map(|v| format!("('{v}')")).collect();
    db.client()
        .batch_execute(&format!(
            "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);\n\
             INSERT INTO __diesel_schema_migrations (version) VALUES {};",
            rows.join(", ")
        ))
        .unwrap();
    let status = pgstrata(Some(db.url()), &["status"], &dir);
    assert_eq!(status.status.code(), Some(4), "{}", text(&status));
    assert!(
        text(&status).contains("baseline --from diesel"),
        "{}",
        text(&status)
    );
    let b = pgstrata(Some(db.url()), &["baseline", "--from", "diesel"], &dir);
    assert!(b.status.success(), "{}", text(&b));
    assert!(
        text(&b).contains("recorded 247 migrations diesel applied"),
        "{}",
        text(&b)
    );
    let (code, rows) = states(db.url(), &dir);
    assert_eq!((code, rows.len()), (0, 247));
    let drift = pgstrata(Some(db.url()), &["drift"], &dir);
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));
}

#[test]
fn baseline_refuses_a_database_that_differs() {
    let f = Folder::new(
        "baseline-differs",
        &[
            (
                "1_a.sql",
                "CREATE TABLE a (id int PRIMARY KEY, name text NOT NULL);",
            ),
            ("2_b.sql", "CREATE TABLE b (id int);"),
        ],
    );
    let db = fresh_db();
    psql_apply(db.url(), &f.0);
    db.client()
        .batch_execute(
            "ALTER TABLE a ALTER COLUMN name DROP NOT NULL; ALTER TABLE a ADD COLUMN extra int",
        )
        .unwrap();
    let b = pgstrata(Some(db.url()), &["baseline", "2"], &f.0);
    assert!(!b.status.success());
    let out = text(&b);
    assert!(
        out.contains("column public.a.name: NOT NULL in the migrations, nullable in the database"),
        "{out}"
    );
    assert!(
        out.contains("column public.a.extra exists in the database only"),
        "{out}"
    );
    assert!(out.contains("nothing was recorded"), "{out}");
    assert_eq!(states(db.url(), &f.0).0, 3, "still nothing recorded");
    // At version 1 the catalog has no table b: the database has it, so that is refused too.
    let b1 = pgstrata(Some(db.url()), &["baseline", "1"], &f.0);
    assert!(
        text(&b1).contains("table public.b exists in the database only"),
        "{}",
        text(&b1)
    );
}
