//! Adopting databases as they are, through the real binary: other tools' histories,
//! schemas whose spellings differ from the migrations', and invalid indexes.

use std::process::{Command, Stdio};

use pgstrata_testkit::{fresh_db, tool_fixture, TOOLS};

mod common;
use common::{pgstrata, text, Folder};

/// For each tool, its database: `status` refuses to count it as "pending" (exit 4, the
/// adoption command named) and `up` refuses; `baseline --from` adopts it and `status`
/// is up to date (0); a new migration written afterwards applies, and `status` is up
/// to date again.
#[test]
fn status_baseline_from_and_up_for_every_tool() {
    for tool in TOOLS {
        let fixture = tool_fixture(tool, 2);
        let (new_path, new_text) = fixture.files.last().unwrap();
        let files: Vec<(&str, &str)> = fixture.files[..fixture.files.len() - 1]
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        let f = Folder::new(&format!("adopt-{tool}"), &files);
        let db = fresh_db();
        db.client().batch_execute(&fixture.setup).unwrap();

        let status = pgstrata(Some(db.url()), &["status"], &f.0);
        assert_eq!(status.status.code(), Some(4), "{tool}: {}", text(&status));
        assert!(
            text(&status).contains(&format!("pgstrata baseline --from {tool}")),
            "{tool}: {}",
            text(&status)
        );
        let up = pgstrata(Some(db.url()), &["up"], &f.0);
        assert!(
            !up.status.success(),
            "{tool}: up must refuse: {}",
            text(&up)
        );

        let adopt = pgstrata(Some(db.url()), &["baseline", "--from", tool], &f.0);
        assert!(adopt.status.success(), "{tool}: {}", text(&adopt));
        assert!(
            text(&adopt).contains("recorded 2 migrations"),
            "{tool}: {}",
            text(&adopt)
        );
        let adopted = pgstrata(Some(db.url()), &["status"], &f.0);
        assert_eq!(adopted.status.code(), Some(0), "{tool}: {}", text(&adopted));

        let path = f.0.join(new_path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, new_text).unwrap();
        let up = pgstrata(Some(db.url()), &["up"], &f.0);
        assert!(
            up.status.success() && text(&up).contains("1 applied"),
            "{tool}: {}",
            text(&up)
        );
        let done = pgstrata(Some(db.url()), &["status"], &f.0);
        assert_eq!(done.status.code(), Some(0), "{tool}: {}", text(&done));
    }
}

/// Migrations whose spellings PostgreSQL stores otherwise: `DEFAULT 'f'` for a boolean,
/// `'epoch'`, a default keeping its cast after `ALTER ... TYPE`, unnamed and expression
/// indexes (named as PostgreSQL names them, so a later `DROP INDEX` by that name is
/// followed), `PRIMARY KEY USING INDEX`. `drift` finds nothing, and `baseline` adopts a
/// database built by psql from the same files.
#[test]
fn drift_and_baseline_see_what_postgresql_built() {
    let files = [
        ("V1__a.sql", "CREATE TABLE t (id int, name text, b boolean DEFAULT 'f', ts timestamp DEFAULT 'epoch', c varchar(10) DEFAULT 'x', n int DEFAULT 0);\n\
            ALTER TABLE t ALTER COLUMN c TYPE text;\nALTER TABLE t ALTER COLUMN n TYPE bigint;\n\
            CREATE UNIQUE INDEX ON t (lower(name));\nCREATE INDEX ON t (id, lower(name));\nCREATE INDEX ON t ((id + 1));\n\
            CREATE UNIQUE INDEX ON t (name);\nCREATE INDEX ON t (name);\n\
            CREATE TABLE u (id int NOT NULL, v int);\nCREATE UNIQUE INDEX u_id_uniq ON u (id);\n\
            ALTER TABLE u ADD CONSTRAINT u_pkey PRIMARY KEY USING INDEX u_id_uniq;\n\
            CREATE TABLE w (id int, CHECK (id > 0));\nALTER TABLE w ADD UNIQUE (id);\n"),
        ("V2__b.sql", "DROP INDEX t_lower_idx;\nDROP INDEX t_name_idx1;\n"),
    ];
    let f = Folder::new("normal-forms", &files);
    let db = fresh_db();
    let up = pgstrata(Some(db.url()), &["up"], &f.0);
    assert!(up.status.success(), "{}", text(&up));
    let drift = pgstrata(Some(db.url()), &["drift"], &f.0);
    assert_eq!(drift.status.code(), Some(0), "{}", text(&drift));

    let built = fresh_db();
    for (_, sql) in &files {
        built.client().batch_execute(sql).unwrap();
    }
    let adopt = pgstrata(Some(built.url()), &["baseline", "2"], &f.0);
    assert!(adopt.status.success(), "{}", text(&adopt));
    assert_eq!(
        pgstrata(Some(built.url()), &["status"], &f.0).status.code(),
        Some(0)
    );
}

/// A difference someone has looked at is recorded through with `--accept` (the line
/// `drift` prints); without it, nothing is recorded; an accepted difference that is not
/// there is refused.
#[test]
fn baseline_records_through_accepted_differences_only() {
    let files = [(
        "V1__a.sql",
        "CREATE TABLE t (id int PRIMARY KEY, note text);",
    )];
    let f = Folder::new("accept", &files);
    let db = fresh_db();
    db.client()
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY, note text DEFAULT '');")
        .unwrap();
    let difference =
        "column public.t.note: no default in the migrations, DEFAULT ''::text in the database";
    let refused = pgstrata(Some(db.url()), &["baseline", "1"], &f.0);
    assert!(!refused.status.success());
    assert!(text(&refused).contains(difference), "{}", text(&refused));
    let wrong = pgstrata(
        Some(db.url()),
        &["baseline", "1", "--accept", "something else"],
        &f.0,
    );
    assert!(
        !wrong.status.success() && text(&wrong).contains("names differences there are not"),
        "{}",
        text(&wrong)
    );
    let accepted = pgstrata(
        Some(db.url()),
        &["baseline", "1", "--accept", difference],
        &f.0,
    );
    assert!(accepted.status.success(), "{}", text(&accepted));
    assert_eq!(
        pgstrata(Some(db.url()), &["status"], &f.0).status.code(),
        Some(0)
    );
}

/// An interrupted `CREATE INDEX CONCURRENTLY` leaves an invalid index: `status` and
/// `drift` name it, the interrupted migration's error names it, `resolve --rolled-back`
/// drops it, and the next `up` builds it for real.
#[test]
fn an_interrupted_concurrent_index_is_reported_and_dropped_on_resolve() {
    let files = [
        ("V1__t.sql", "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1), (2);\n\
            CREATE FUNCTION gate(x int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_lock_shared(778); PERFORM pg_advisory_unlock_shared(778); RETURN x; END $$;"),
        ("V2__index.sql", "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_gate ON t (gate(id));"),
    ];
    let f = Folder::new("invalid", &files);
    let db = fresh_db();
    let mut holder = db.client();
    holder
        .batch_execute("SELECT pg_advisory_lock(778)")
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pgstrata"))
        .args(["up"])
        .arg(&f.0)
        .env("DATABASE_URL", db.url())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the build to block in gate(), then end its session.
    let mut watcher = db.client();
    let mut terminated = false;
    for _ in 0..200 {
        let n: i64 = watcher
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE query LIKE 'CREATE INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'",
                &[],
            )
            .unwrap()
            .get(0);
        if n > 0 {
            terminated = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(terminated, "the index build never waited in gate()");
    let _ = child.wait();
    holder
        .batch_execute("SELECT pg_advisory_unlock(778)")
        .unwrap();

    let status = pgstrata(Some(db.url()), &["status"], &f.0);
    assert_eq!(status.status.code(), Some(4), "{}", text(&status));
    assert!(
        text(&status).contains("invalid index public.t_gate"),
        "{}",
        text(&status)
    );
    let drift = pgstrata(Some(db.url()), &["drift"], &f.0);
    assert!(
        text(&drift).contains("index t_gate on public.t is invalid in the database"),
        "{}",
        text(&drift)
    );
    let up = pgstrata(Some(db.url()), &["up"], &f.0);
    assert!(!up.status.success());
    assert!(
        text(&up).contains("left invalid indexes") && text(&up).contains("t_gate"),
        "{}",
        text(&up)
    );

    let resolve = pgstrata(Some(db.url()), &["resolve", "--rolled-back", "2"], &f.0);
    assert!(resolve.status.success(), "{}", text(&resolve));
    assert!(
        text(&resolve).contains("dropping invalid index public.t_gate"),
        "{}",
        text(&resolve)
    );
    let up = pgstrata(Some(db.url()), &["up"], &f.0);
    assert!(up.status.success(), "{}", text(&up));
    let valid: bool = db
        .client()
        .query_one(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_gate'::regclass",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(valid);
    assert_eq!(
        pgstrata(Some(db.url()), &["status"], &f.0).status.code(),
        Some(0)
    );
}
