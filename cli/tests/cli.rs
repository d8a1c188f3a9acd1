//! The `pgstrata` binary, run for real against PostgreSQL.

use std::process::Command;

use pgstrata_testkit::fresh_db;

mod common;
use common::{pgstrata, states, text, Folder};
use pgstrata_testkit::corpus;

fn three() -> Vec<(&'static str, &'static str)> {
    vec![
        ("V1__users.sql", "CREATE TABLE users (id int PRIMARY KEY);"),
        (
            "V2__posts.sql",
            "CREATE TABLE posts (id int PRIMARY KEY, user_id int REFERENCES users);",
        ),
        (
            "V3__index.sql",
            "CREATE INDEX CONCURRENTLY posts_user ON posts (user_id);",
        ),
    ]
}

#[test]
fn status_then_up_to_then_up() {
    let f = Folder::new("flow", &three());
    let db = fresh_db();
    let pending = |n| {
        (1..=3)
            .map(|v| (v, if v <= n { "applied" } else { "pending" }.to_string()))
            .collect::<Vec<_>>()
    };

    assert_eq!(states(db.url(), &f.0), (3, pending(0)), "exit 3: pending");

    let dry = pgstrata(Some(db.url()), &["up", "--dry-run"], &f.0);
    assert!(dry.status.success(), "{}", text(&dry));
    let out = text(&dry);
    assert!(
        out.contains("3 to apply") && out.contains("CREATE TABLE posts"),
        "{out}"
    );
    assert_eq!(
        states(db.url(), &f.0).1,
        pending(0),
        "a dry run applies nothing"
    );

    let up = pgstrata(Some(db.url()), &["up", "--to", "2"], &f.0);
    assert!(up.status.success(), "{}", text(&up));
    assert!(text(&up).contains("applied V2__posts"), "{}", text(&up));
    assert_eq!(states(db.url(), &f.0), (3, pending(2)));

    let up = pgstrata(Some(db.url()), &["up"], &f.0);
    assert!(up.status.success(), "{}", text(&up));
    assert_eq!(
        states(db.url(), &f.0),
        (0, pending(3)),
        "exit 0: up to date"
    );

    let table = pgstrata(Some(db.url()), &["status"], &f.0);
    let out = text(&table);
    assert!(
        out.contains("3 applied, 0 pending") && out.contains("users"),
        "{out}"
    );
}

#[test]
fn status_reports_changed_failed_and_unknown_and_exits_4() {
    let f = Folder::new("wrong", &three());
    let db = fresh_db();
    assert!(pgstrata(Some(db.url()), &["up", "--to", "2"], &f.0)
        .status
        .success());
    // Edit an applied file; record a failed one and one this folder does not have.
    std::fs::write(
        f.0.join("V1__users.sql"),
        "CREATE TABLE users (id bigint PRIMARY KEY);",
    )
    .unwrap();
    let mut c = db.client();
    c.batch_execute(
        "INSERT INTO pgstrata_migrations (version, name, checksum, state, error) VALUES (3, 'index', 'x', 'failed', '42703 oops'); \
         INSERT INTO pgstrata_migrations (version, name, checksum) VALUES (7, 'newer', 'y')",
    )
    .unwrap();
    let (code, rows) = states(db.url(), &f.0);
    assert_eq!(code, 4);
    assert_eq!(
        rows,
        [
            (1, "changed".to_string()),
            (2, "applied".to_string()),
            (3, "failed".to_string()),
            (7, "unknown".to_string())
        ]
    );
    let out = text(&pgstrata(Some(db.url()), &["status"], &f.0));
    assert!(out.contains("error: 42703 oops"), "{out}");
    // `up` refuses, saying what to do.
    let up = pgstrata(Some(db.url()), &["up"], &f.0);
    assert!(!up.status.success());
    assert!(text(&up).contains("pgstrata resolve"), "{}", text(&up));
}

#[test]
fn connection_problems_say_what_to_do_and_never_print_the_password() {
    let f = Folder::new("noconn", &three());
    let none = pgstrata(None, &["status"], &f.0);
    assert_eq!(none.status.code(), Some(1));
    assert!(
        text(&none).contains("pass --database-url, or set libpq"),
        "{}",
        text(&none)
    );

    // Nothing listens on port 1.
    let secret = "s3cr3t-pa55word";
    let url = format!("postgres://someone:{secret}@127.0.0.1:1/db");
    // `status` connects with the blocking client, `up` with the async one.
    for command in ["status", "up"] {
        let bad = pgstrata(Some(&url), &[command], &f.0);
        assert_eq!(bad.status.code(), Some(1), "{command}");
        let out = text(&bad);
        assert!(out.contains("cannot connect"), "{command}: {out}");
        assert!(
            !out.contains(secret),
            "{command}: the password leaked: {out}"
        );
    }
}

#[test]
fn resolve_clears_a_failed_non_transactional_migration() {
    let f = Folder::new(
        "resolve",
        &[
            ("V1__t.sql", "CREATE TABLE t (a int);"),
            ("V2__idx.sql", "CREATE INDEX CONCURRENTLY t_b ON t (b);"),
            ("V3__u.sql", "CREATE TABLE u (a int);"),
        ],
    );
    let db = fresh_db();
    let up = pgstrata(Some(db.url()), &["up"], &f.0);
    assert!(!up.status.success());
    assert_eq!(states(db.url(), &f.0).1[1], (2, "failed".to_string()));

    // Not for applied migrations.
    let wrong = pgstrata(Some(db.url()), &["resolve", "--applied", "1"], &f.0);
    assert!(!wrong.status.success());
    assert!(
        text(&wrong).contains("is applied: resolve is for migrations recorded as failed"),
        "{}",
        text(&wrong)
    );

    // Undone by hand: forget it; it runs again (and fails again, as the column is missing).
    let r = pgstrata(Some(db.url()), &["resolve", "--rolled-back", "2"], &f.0);
    assert!(r.status.success(), "{}", text(&r));
    assert_eq!(states(db.url(), &f.0).1[1], (2, "pending".to_string()));
    assert!(!pgstrata(Some(db.url()), &["up"], &f.0).status.success());

    // Finished by hand: mark it applied; the next run goes on with V3.
    db.client()
        .batch_execute("ALTER TABLE t ADD COLUMN b int; CREATE INDEX t_b ON t (b)")
        .unwrap();
    let r = pgstrata(Some(db.url()), &["resolve", "--applied", "2"], &f.0);
    assert!(r.status.success(), "{}", text(&r));
    let up = pgstrata(Some(db.url()), &["up"], &f.0);
    assert!(up.status.success(), "{}", text(&up));
    assert_eq!(states(db.url(), &f.0).0, 0);
}

#[test]
fn new_follows_the_folders_layout() {
    type Files = Vec<(&'static str, &'static str)>;
    let cases: Vec<(&str, Files, Vec<&str>)> = vec![
        (
            "refinery",
            vec![("V1__a.sql", "SELECT 1;"), ("U1__a.sql", "SELECT 1;")],
            vec!["V", "__add_things.sql", "U"],
        ),
        (
            "sqlx",
            vec![("1_a.up.sql", "SELECT 1;"), ("1_a.down.sql", "SELECT 1;")],
            vec!["_add_things.up.sql", "_add_things.down.sql"],
        ),
        (
            "plain",
            vec![("001_a.sql", "SELECT 1;")],
            vec!["_add_things.sql"],
        ),
        (
            "empty folder",
            vec![],
            vec!["_add_things/up.sql", "_add_things/down.sql"],
        ),
    ];
    for (label, files, expect) in cases {
        let f = Folder::new(&format!("new-{label}"), &files);
        let o = Command::new(env!("CARGO_BIN_EXE_pgstrata"))
            .args(["new", "Add things!", "--dir"])
            .arg(&f.0)
            .output()
            .unwrap();
        assert!(o.status.success(), "{label}: {}", text(&o));
        let out = text(&o);
        for e in &expect {
            assert!(out.contains(e), "{label}: expected {e} in {out}");
        }
        assert_eq!(out.lines().count(), expect.len().min(2), "{label}: {out}");
    }
}

fn shape(url: &str) -> (pgstrata_core::catalog::Catalog, i64) {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let mut catalog = pgstrata_runtime::introspect::catalog_blocking(&mut c).unwrap();
    catalog.tables.retain(|t| t.name != "pgstrata_migrations");
    let indexes: i64 = c
        .query_one("SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'pgstrata_migrations'", &[])
        .unwrap()
        .get(0);
    (catalog, indexes)
}

#[test]
fn down_returns_to_the_earlier_schema() {
    let files = [
        ("1_a.up.sql", "CREATE TABLE a (id int PRIMARY KEY);"),
        ("1_a.down.sql", "DROP TABLE a;"),
        ("2_b.up.sql", "CREATE TYPE mood AS ENUM ('x', 'y');\nCREATE TABLE b (id int, m mood NOT NULL);\nALTER TABLE a ADD COLUMN note text;"),
        ("2_b.down.sql", "ALTER TABLE a DROP COLUMN note;\nDROP TABLE b;\nDROP TYPE mood;"),
        ("3_c.up.sql", "CREATE INDEX CONCURRENTLY a_note ON a (note);"),
        ("3_c.down.sql", "DROP INDEX CONCURRENTLY a_note;"),
    ];
    let f = Folder::new("down", &files);
    let first_only = fresh_db();
    assert!(pgstrata(Some(first_only.url()), &["up", "--to", "1"], &f.0)
        .status
        .success());
    let db = fresh_db();
    let up = pgstrata(Some(db.url()), &["up"], &f.0);
    assert!(up.status.success(), "{}", text(&up));
    assert_ne!(shape(db.url()), shape(first_only.url()));

    let down = pgstrata(Some(db.url()), &["down", "--to", "1"], &f.0);
    assert!(down.status.success(), "{}", text(&down));
    let out = text(&down);
    assert!(
        out.find("reverted V3__c").unwrap() < out.find("reverted V2__b").unwrap(),
        "newest first: {out}"
    );
    assert_eq!(
        shape(db.url()),
        shape(first_only.url()),
        "the schema is the one V1 alone builds"
    );
    assert_eq!(
        states(db.url(), &f.0),
        (
            3,
            vec![
                (1, "applied".into()),
                (2, "pending".into()),
                (3, "pending".into())
            ]
        )
    );
    // And forward again.
    assert!(pgstrata(Some(db.url()), &["up"], &f.0).status.success());
    assert_eq!(states(db.url(), &f.0).0, 0);
}

#[test]
fn down_refuses_when_a_down_is_missing_and_does_nothing() {
    let f = Folder::new(
        "nodown",
        &[
            ("1_a.up.sql", "CREATE TABLE a (id int);"),
            ("2_b.up.sql", "CREATE TABLE b (id int);"),
            ("2_b.down.sql", "DROP TABLE b;"),
        ],
    );
    // 1_a has no down file: sqlx's reversible layout allows that.
    let db = fresh_db();
    assert!(pgstrata(Some(db.url()), &["up"], &f.0).status.success());
    let down = pgstrata(Some(db.url()), &["down", "--to", "0"], &f.0);
    assert!(!down.status.success());
    let out = text(&down);
    assert!(
        out.contains("nothing was reverted") && out.contains("1_a (") && !out.contains("2_b ("),
        "{out}"
    );
    assert_eq!(states(db.url(), &f.0).0, 0, "both still applied");
}

#[test]
fn drift_finds_each_kind_of_manual_change() {
    let f = Folder::new(
        "drift",
        &[(
            "1_a.sql",
            "CREATE TYPE mood AS ENUM ('sad', 'ok');\nCREATE TABLE a (id int PRIMARY KEY, name text NOT NULL, m mood DEFAULT 'ok', gone int, n int DEFAULT -1);\n\
             CREATE INDEX a_name ON a (lower(name));\nCREATE INDEX ON a (m);",
        )],
    );
    let db = fresh_db();
    assert!(pgstrata(Some(db.url()), &["up"], &f.0).status.success());
    let same = pgstrata(Some(db.url()), &["drift"], &f.0);
    assert_eq!(same.status.code(), Some(0), "{}", text(&same));
    // `DEFAULT -1` reads back as '-1'::integer, an unnamed index gets the name PostgreSQL
    // chose: neither is drift.
    assert!(text(&same).contains("matches"), "{}", text(&same));

    db.client()
        .batch_execute(
            "ALTER TABLE a ADD COLUMN added int; ALTER TABLE a DROP COLUMN gone; \
             ALTER TABLE a ALTER COLUMN name TYPE varchar(10); ALTER TABLE a ALTER COLUMN name DROP NOT NULL; \
             ALTER TYPE mood ADD VALUE 'happy'; CREATE TABLE stray (x int); \
             DROP INDEX a_name; ALTER TABLE a ALTER COLUMN m SET DEFAULT 'sad'; CREATE INDEX extra ON a (n)",
        )
        .unwrap();
    let d = pgstrata(Some(db.url()), &["drift"], &f.0);
    assert_eq!(d.status.code(), Some(5));
    let out = text(&d);
    for expected in [
        "column public.a.added exists in the database only",
        "column public.a.gone exists in the migrations but not in the database",
        "column public.a.name: text in the migrations, character varying(10) in the database",
        "column public.a.name: NOT NULL in the migrations, nullable in the database",
        "enum public.mood: labels ('sad', 'ok') in the migrations, labels ('sad', 'ok', 'happy') in the database",
        "table public.stray exists in the database only",
        "index a_name on public.a (lower(name)) exists in the migrations but not in the database",
        "column public.a.m: DEFAULT 'ok' in the migrations, DEFAULT 'sad'::mood in the database",
        "index extra on public.a (n) exists in the database only",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}

#[test]
fn up_backup_writes_a_dump_pg_restore_accepts_and_stops_when_it_cannot() {
    // pg_dump and pg_restore come with psql (the PostgreSQL client).
    pgstrata_testkit::psql();
    let f = Folder::new("backup", &three());
    let db = fresh_db();
    assert!(pgstrata(Some(db.url()), &["up", "--to", "1"], &f.0)
        .status
        .success());
    let dump = f.0.join("before.dump");
    let up = pgstrata(
        Some(db.url()),
        &["up", "--backup", dump.to_str().unwrap()],
        &f.0,
    );
    assert!(up.status.success(), "{}", text(&up));
    assert!(text(&up).contains("backed up to"), "{}", text(&up));
    let list = Command::new("pg_restore")
        .arg("--list")
        .arg(&dump)
        .output()
        .expect("pg_restore");
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let toc = String::from_utf8_lossy(&list.stdout);
    assert!(
        toc.contains("TABLE public users") && !toc.contains("TABLE public posts"),
        "the dump is from before: {toc}"
    );

    // A dump that cannot be written stops the run before anything is applied.
    let db2 = fresh_db();
    let bad = pgstrata(
        Some(db2.url()),
        &["up", "--backup", "/nonexistent/dir/x.dump"],
        &f.0,
    );
    assert!(!bad.status.success());
    assert!(
        text(&bad).contains("the backup failed, so nothing was applied"),
        "{}",
        text(&bad)
    );
    assert_eq!(
        states(db2.url(), &f.0),
        (
            3,
            vec![
                (1, "pending".into()),
                (2, "pending".into()),
                (3, "pending".into())
            ]
        )
    );
}

#[test]
fn down_on_the_seeds_corpus_returns_to_the_earlier_schema() {
    let dir = corpus("seeds");
    let versions: Vec<i64> = pgstrata_codegen::load(&dir)
        .unwrap()
        .iter()
        .map(|m| m.version())
        .collect();
    assert_eq!(versions.len(), 3);
    let (v1, v2) = (versions[0].to_string(), versions[1].to_string());
    let only_first = fresh_db();
    assert!(pgstrata(Some(only_first.url()), &["up", "--to", &v1], &dir)
        .status
        .success());
    let db = fresh_db();
    assert!(pgstrata(Some(db.url()), &["up", "--to", &v2], &dir)
        .status
        .success());
    assert_ne!(shape(db.url()), shape(only_first.url()));

    // Its first migration has no down SQL: reverting everything is refused, and nothing
    // is done.
    let all = pgstrata(Some(db.url()), &["down", "--to", "0"], &dir);
    assert!(!all.status.success());
    assert!(
        text(&all).contains("nothing was reverted"),
        "{}",
        text(&all)
    );
    assert_eq!(states(db.url(), &dir).1[1].1, "applied");

    // The second has one: down to the first gives back the schema the first builds.
    let down = pgstrata(Some(db.url()), &["down", "--to", &v1], &dir);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(shape(db.url()), shape(only_first.url()));
    // The third has none: after applying it, going below it is refused.
    assert!(pgstrata(Some(db.url()), &["up"], &dir).status.success());
    let refused = pgstrata(Some(db.url()), &["down", "--to", &v2], &dir);
    assert!(!refused.status.success());
    // Named as its folder names it.
    assert!(
        text(&refused).contains("20251206000000_epic_08_agent_models ("),
        "{}",
        text(&refused)
    );
}

#[test]
fn up_prints_progress_per_migration_and_per_statement_outside_a_transaction() {
    let f = Folder::new("progress", &three());
    let db = fresh_db();
    let up = pgstrata(Some(db.url()), &["up"], &f.0);
    assert!(up.status.success(), "{}", text(&up));
    let out = String::from_utf8_lossy(&up.stdout).into_owned();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            lines[0],
            lines[1],
            "applying V3__index outside a transaction (1 statement)",
            "  statement 1/1: CREATE INDEX CONCURRENTLY posts_user ON posts (user_id)",
            lines[4],
            "3 applied, 0 already applied, 0 pending",
        ],
        "{out}"
    );
    for (line, name) in [(0, "V1__users"), (1, "V2__posts"), (4, "V3__index")] {
        assert!(
            lines[line].starts_with(&format!("applied {name} (")) && lines[line].ends_with(" ms)"),
            "{out}"
        );
    }
}

#[test]
fn generate_prints_typed_query_functions_and_points_at_bad_queries() {
    let dir = Folder::new(
        "generate-queries",
        &[(
            "V1__things.sql",
            "CREATE TABLE things (id int PRIMARY KEY, name text NOT NULL, note text);",
        )],
    );
    // Beside the migrations folder: a folder inside it would be read as a migration.
    let query_dir = Folder::new("generate-queries-q", &[]);
    let queries = query_dir.0.clone();
    std::fs::write(
        queries.join("things.sql"),
        "-- name: thing :opt\nSELECT name, note FROM things WHERE id = :id;\n",
    )
    .unwrap();
    let q = queries.to_str().unwrap();
    let o = pgstrata(None, &["generate", "--queries", q], &dir.0);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let code: String = out.split_whitespace().collect();
    assert!(code.contains("pubasyncfnthing<"), "{out}");
    assert!(code.contains("id:i32"), "{out}");
    assert!(code.contains("Option<Thing>"), "{out}");
    assert!(code.contains("pubname:::std::string::String"), "{out}");
    assert!(
        code.contains("pubnote:::core::option::Option<::std::string::String>"),
        "{out}"
    );

    std::fs::write(
        queries.join("things.sql"),
        "-- name: thing :opt\nSELECT nmae FROM things WHERE id = :id;\n",
    )
    .unwrap();
    let o = pgstrata(None, &["generate", "--queries", q], &dir.0);
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(
        out.contains("things.sql:2:8: query thing: column nmae does not exist"),
        "{out}"
    );
    assert!(out.contains("did you mean things.name?"), "{out}");
}
