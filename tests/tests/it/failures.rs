//! Failing migrations, changed files, and what later runs do about them.

use pgstrata::ErrorKind;
use pgstrata_testkit::fresh_db;

use crate::support::{history, table_exists, Fixture};

#[test]
fn a_transactional_migration_failing_midway_leaves_no_trace() {
    let f = Fixture::new(&[
        ("V1__ok.sql", "CREATE TABLE ok (id int);"),
        (
            "V2__bad.sql",
            "-- creates a table, then fails on a statement with no error position\n\
             CREATE TABLE half (id int);\n\
             INSERT INTO half VALUES (1);\n\
             SELECT 1 / (SELECT count(*) - 1 FROM half);\n",
        ),
    ]);
    let db = fresh_db();
    let mut c = db.client();
    let e = f.migrations().run_blocking(&mut c).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Migration);
    assert_eq!(e.migration(), Some((2, "bad")));
    let s = e
        .statement()
        .unwrap_or_else(|| panic!("no statement in {e}"));
    assert_eq!((s.index, s.line), (2, 4), "{e}");
    assert!(s.file.ends_with("V2__bad.sql"));
    assert_eq!(e.as_db_error().map(|d| d.code().code()), Some("22012"));
    let text = e.to_string();
    assert!(
        text.contains("V2__bad.sql:4:")
            && text.contains("22012")
            && text.contains("division by zero"),
        "{text}"
    );
    // The partial report says what was applied before.
    assert_eq!(e.report().applied.len(), 1);
    assert!(!table_exists(&mut c, "half"));
    assert!(table_exists(&mut c, "ok"));
    assert_eq!(history(&mut c), [(1, "applied".into())]);
}

#[test]
fn syntax_errors_point_at_line_and_column() {
    let f = Fixture::new(&[(
        "V1__typo.sql",
        "CREATE TABLE a (id int);\n\nCREATE TABLE b (\n  id int,\n  name txet\n);\n",
    )]);
    let db = fresh_db();
    let mut c = db.client();
    let e = f.migrations().run_blocking(&mut c).unwrap_err();
    let s = e.statement().unwrap();
    assert_eq!((s.index, s.line, s.column), (1, 5, 8), "{e}");
    assert!(s.text.starts_with("CREATE TABLE b"));
    assert_eq!(e.as_db_error().map(|d| d.code().code()), Some("42704"));
    assert!(!table_exists(&mut c, "a"));
}

#[test]
fn a_failed_non_transactional_migration_blocks_later_runs() {
    let f = Fixture::new(&[
        ("V1__t.sql", "CREATE TABLE t (id int);"),
        ("V2__idx.sql", "CREATE INDEX CONCURRENTLY t_id ON t (id);\nCREATE INDEX CONCURRENTLY t_missing ON t (missing);\n"),
        ("V3__later.sql", "CREATE TABLE later (id int);"),
    ]);
    let db = fresh_db();
    let mut c = db.client();
    let e = f.migrations().run_blocking(&mut c).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Migration);
    assert_eq!(
        e.statement().map(|s| (s.index, s.line)),
        Some((1, 2)),
        "{e}"
    );
    assert!(e.to_string().contains("outside a transaction"), "{e}");
    assert_eq!(
        history(&mut c),
        [(1, "applied".into()), (2, "failed".into())]
    );
    let err: Option<String> = c
        .query_one(
            "SELECT error FROM pgstrata_migrations WHERE version = 2",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(err.unwrap().contains("42703"));

    let again = f.migrations().run_blocking(&mut c).unwrap_err();
    assert_eq!(again.kind(), ErrorKind::FailedMigration);
    let msg = again.to_string();
    assert!(
        msg.contains("V2__idx") && msg.contains("pgstrata resolve --applied 2"),
        "{msg}"
    );
    assert!(!table_exists(&mut c, "later"));
}

/// A file of two `BEGIN ... COMMIT` blocks runs outside pgstrata's transaction; a
/// failure inside the second leaves the first committed, the second rolled back, and the
/// migration recorded as failed (the aborted block is ended before recording it).
#[test]
fn a_failure_inside_a_files_own_second_transaction_is_recorded() {
    let f = Fixture::new(&[(
        "V1__two.sql",
        "BEGIN;\nCREATE TABLE first (id int);\nCOMMIT;\nBEGIN;\nCREATE TABLE second (id int);\nSELECT missing FROM first;\nCOMMIT;\n",
    )]);
    let db = fresh_db();
    let mut c = db.client();
    let e = f.migrations().run_blocking(&mut c).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("it is recorded as failed"), "{msg}");
    assert!(!msg.contains("failed too"), "{msg}");
    assert_eq!(history(&mut c), [(1, "failed".into())]);
    assert!(table_exists(&mut c, "first"));
    assert!(!table_exists(&mut c, "second"));
}

#[test]
fn a_changed_applied_file_is_refused_with_both_checksums() {
    let before = Fixture::new(&[("V1__a.sql", "CREATE TABLE a (id int);")]);
    let db = fresh_db();
    let mut c = db.client();
    before.migrations().run_blocking(&mut c).unwrap();
    let after = Fixture::new(&[("V1__a.sql", "CREATE TABLE a (id bigint);")]);
    let e = after.migrations().run_blocking(&mut c).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ChecksumMismatch);
    let old = before.migrations().as_slice()[0].checksum().to_string();
    let new = after.migrations().as_slice()[0].checksum().to_string();
    let msg = e.to_string();
    assert!(
        msg.contains(&old) && msg.contains(&new) && msg.contains("V1__a.sql"),
        "{msg}"
    );
}

#[test]
fn an_older_new_migration_is_refused_unless_allowed() {
    let db = fresh_db();
    let mut c = db.client();
    Fixture::new(&[("V2__b.sql", "CREATE TABLE b (id int);")])
        .migrations()
        .run_blocking(&mut c)
        .unwrap();
    let both = Fixture::new(&[
        ("V1__a.sql", "CREATE TABLE a (id int);"),
        ("V2__b.sql", "CREATE TABLE b (id int);"),
    ]);
    let e = both.migrations().run_blocking(&mut c).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutOfOrder);
    let r = both
        .migrations()
        .runner()
        .allow_out_of_order(true)
        .run_blocking(&mut c)
        .unwrap();
    assert_eq!(r.applied.len(), 1);
}

#[test]
fn bad_folders_are_refused_naming_the_file() {
    type Files = Vec<(&'static str, &'static str)>;
    let cases: Vec<(Files, &str, &str)> = vec![
        (
            vec![("V1__a.sql", "SELECT 1;"), ("V1__b.sql", "SELECT 2;")],
            "V1__b.sql",
            "version 1 is used twice",
        ),
        (
            vec![("create_users.sql", "SELECT 1;")],
            "create_users.sql",
            "cannot read a version",
        ),
        (
            vec![("V1__a.sql", "SELECT 'oops;\n")],
            "V1__a.sql:1:8",
            "unterminated string literal",
        ),
        (
            vec![("U1__a.sql", "DROP TABLE a;")],
            "U1__a.sql",
            "has no up migration",
        ),
        (
            vec![("V1__a.sql", "SELECT 1;"), ("2_b.sql", "SELECT 1;")],
            "layouts are mixed",
            "V1__a.sql",
        ),
        (
            vec![("V1__a.sql", "-- pgstrata:no-transacton\nSELECT 1;")],
            "V1__a.sql:1:1",
            "unknown directive",
        ),
    ];
    for (files, place, message) in cases {
        let f = Fixture::new(&files);
        let e = pgstrata_codegen::load(&f.dir).unwrap_err().to_string();
        assert!(e.contains(place) && e.contains(message), "{files:?}: {e}");
        assert!(e.contains("help:"), "every error says what to do: {e}");
    }
    let bytes = Fixture::new(&[]);
    std::fs::write(bytes.dir.join("V1__latin1.sql"), b"SELECT 'caf\xe9';").unwrap();
    let e = pgstrata_codegen::load(&bytes.dir).unwrap_err().to_string();
    assert!(
        e.contains("V1__latin1.sql:1:12") && e.contains("not valid UTF-8"),
        "{e}"
    );
    let bom = Fixture::new(&[]);
    std::fs::write(bom.dir.join("V1__bom.sql"), b"\xEF\xBB\xBFSELECT 1;").unwrap();
    let e = pgstrata_codegen::load(&bom.dir).unwrap_err().to_string();
    assert!(
        e.contains("V1__bom.sql:1:1") && e.contains("byte-order mark") && e.contains("without BOM"),
        "{e}"
    );
    let missing = pgstrata_codegen::load("/nonexistent/migrations")
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("cannot read the migrations folder"),
        "{missing}"
    );
}

/// The async client sends each migration's message before the previous one's answer is
/// back. A migration behind a failed one is already on its way to the server when the
/// failure is known; it must roll back too, wherever the failure happened: at a
/// statement, at parsing (PostgreSQL then rejects the whole message), or at COMMIT (a
/// deferred constraint). Each V3 here would succeed on its own.
#[test]
fn a_failure_in_a_pipelined_run_stops_the_migrations_sent_behind_it() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let run = |m: pgstrata::Migrations, url: String| {
        rt.block_on(async move {
            let mut client = pgstrata::connect(&url).await.unwrap();
            m.run(&mut client).await
        })
    };
    let failures = [
        (
            "statement",
            "CREATE TABLE half (id int);\nSELECT 1 / 0;\n",
            Some("22012"),
        ),
        (
            "syntax",
            "CREATE TABLE half (id int);\nCREATE TABLE oops (id int,);\n",
            Some("42601"),
        ),
        (
            "commit",
            "CREATE TABLE parent (id int PRIMARY KEY);\n\
             CREATE TABLE half (p int REFERENCES parent DEFERRABLE INITIALLY DEFERRED);\n\
             INSERT INTO half VALUES (1);\n",
            Some("23503"),
        ),
    ];
    for (how, bad, code) in failures {
        let f = crate::support::Fixture::new(&[
            ("V1__first.sql", "CREATE TABLE first (id int);"),
            ("V2__bad.sql", bad),
            ("V3__behind.sql", "CREATE TABLE behind (id int);"),
            ("V4__last.sql", "CREATE TABLE last (id int);"),
        ]);
        let db = fresh_db();
        let e = run(f.migrations(), db.url().to_string()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Migration, "{how}: {e}");
        assert_eq!(e.migration(), Some((2, "bad")), "{how}: {e}");
        assert_eq!(e.as_db_error().map(|d| d.code().code()), code, "{how}: {e}");
        assert_eq!(
            e.report()
                .applied
                .iter()
                .map(|a| a.version)
                .collect::<Vec<_>>(),
            [1],
            "{how}"
        );
        let mut c = db.client();
        assert!(table_exists(&mut c, "first"), "{how}");
        for gone in ["half", "behind", "last"] {
            assert!(!table_exists(&mut c, gone), "{how}: {gone} exists");
        }
        assert_eq!(history(&mut c), [(1, "applied".into())], "{how}");
        assert_eq!(crate::support::advisory_locks(&mut c), 0, "{how}");

        // Fixed, the next run applies the rest in order.
        f.write("V2__bad.sql", "CREATE TABLE half (id int);");
        let fixed =
            run(f.migrations(), db.url().to_string()).unwrap_or_else(|e| panic!("{how}: {e}"));
        assert_eq!(
            fixed.applied.iter().map(|a| a.version).collect::<Vec<_>>(),
            [2, 3, 4],
            "{how}"
        );
    }
}
