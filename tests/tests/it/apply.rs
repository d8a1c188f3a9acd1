//! Applying, re-running, target, dry run, blocking and async clients, layouts.

use pgstrata_testkit::fresh_db;

use crate::support::{history, table_exists, three, Fixture};

#[test]
fn applies_then_a_second_run_applies_nothing() {
    let f = three();
    let m = f.migrations();
    let db = fresh_db();
    let mut c = db.client();
    let r = m.run_blocking(&mut c).unwrap();
    let versions: Vec<i64> = r.applied.iter().map(|a| a.version).collect();
    assert_eq!(versions, [1, 2, 10], "numeric order, not text order");
    assert!(r.locked);
    assert_eq!(
        history(&mut c),
        [
            (1, "applied".into()),
            (2, "applied".into()),
            (10, "applied".into())
        ]
    );
    let again = m.run_blocking(&mut c).unwrap();
    assert!(again.applied.is_empty());
    assert_eq!(again.already_applied, 3);
    assert!(!again.locked, "nothing to do must not take the lock");
}

#[test]
fn embedded_migrations_confirm_up_to_date_without_lock() {
    // The project's own migrations, embedded by the macro.
    mod db {
        pgstrata::embed_migrations!("../migrations");
    }
    let db = fresh_db();
    let mut c = db.client();
    let r = db::MIGRATIONS.run_blocking(&mut c).unwrap();
    assert_eq!(r.applied.len(), db::MIGRATIONS.len());
    let again = db::MIGRATIONS.run_blocking(&mut c).unwrap();
    assert_eq!(
        (again.applied.len(), again.already_applied, again.locked),
        (0, db::MIGRATIONS.len(), false)
    );
    // A row the binary does not know makes the fast path inconclusive; the slow path
    // reports it and still applies nothing.
    c.batch_execute("INSERT INTO pgstrata_migrations (version, name, checksum) VALUES (99999999999999, 'newer', 'x')").unwrap();
    let ahead = db::MIGRATIONS.run_blocking(&mut c).unwrap();
    assert_eq!(ahead.unknown.len(), 1);
    assert_eq!(ahead.unknown[0].name, "newer");
    assert!(ahead.applied.is_empty());
}

#[test]
fn macro_and_loader_agree() {
    mod db {
        pgstrata::embed_migrations!("../migrations");
    }
    let loaded = crate::support::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations"),
    );
    assert_eq!(db::MIGRATIONS.len(), loaded.len());
    for (a, b) in db::MIGRATIONS.iter().zip(loaded.iter()) {
        assert_eq!(
            (a.version(), a.name(), a.checksum(), a.up()),
            (b.version(), b.name(), b.checksum(), b.up())
        );
        assert_eq!(a.statements(), b.statements());
        assert_eq!(a.transaction(), b.transaction());
        assert_eq!(a.down(), b.down());
        assert_eq!(a.down_statements(), b.down_statements());
        assert_eq!(a.down_transaction(), b.down_transaction());
        assert_eq!(a.lock_timeout(), b.lock_timeout());
    }
}

/// `pgstrata::connect`: the client works while the spawned connection task drives it,
/// the future is `Send` (a service may spawn its startup), and a bad configuration or
/// an unreachable server is an error, not a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_helper_applies_and_reports_bad_urls() {
    let f = three();
    let m = f.migrations();
    let db = fresh_db();
    let url = db.url().to_string();
    let report = tokio::spawn(async move {
        let mut c = pgstrata::connect(&url).await.unwrap();
        m.run(&mut c).await
    });
    let report = report.await.unwrap().unwrap();
    assert_eq!(
        report.applied.iter().map(|a| a.version).collect::<Vec<_>>(),
        [1, 2, 10]
    );

    let bad = pgstrata::connect("host=127.0.0.1 port=notaport").await;
    assert!(bad.is_err(), "an unparsable configuration is an error");
    // Port 1 on loopback: nothing listens there.
    let refused = pgstrata::connect("host=127.0.0.1 port=1 user=x connect_timeout=5").await;
    assert!(refused.is_err(), "an unreachable server is an error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_client_target_and_dry_run() {
    let f = three();
    let m = f.migrations();
    let db = fresh_db();
    let mut c = db.async_client().await;

    let dry = m.runner().dry_run(true).run(&mut c).await.unwrap();
    assert!(dry.dry_run && dry.applied.is_empty());
    assert_eq!(
        dry.pending.iter().map(|p| p.0).collect::<Vec<_>>(),
        [1, 2, 10]
    );
    let exists = c
        .query_one("SELECT to_regclass('pgstrata_migrations') IS NOT NULL", &[])
        .await
        .unwrap();
    assert!(!exists.get::<_, bool>(0), "a dry run creates nothing");

    let r = m.runner().target(2).run(&mut c).await.unwrap();
    assert_eq!(
        r.applied.iter().map(|a| a.version).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(r.pending, [(10, "index".to_string())]);
    let idx = c
        .query_one("SELECT to_regclass('posts_user') IS NULL", &[])
        .await
        .unwrap();
    assert!(idx.get::<_, bool>(0));

    let dry = m.runner().dry_run(true).run(&mut c).await.unwrap();
    assert_eq!(dry.pending, [(10, "index".to_string())]);
    assert_eq!(dry.already_applied, 2);

    let rest = m.run(&mut c).await.unwrap();
    assert_eq!(
        rest.applied.iter().map(|a| a.version).collect::<Vec<_>>(),
        [10]
    );

    let bad = m.runner().target(7).run(&mut c).await.unwrap_err();
    assert_eq!(bad.kind(), pgstrata::ErrorKind::Config);
}

#[test]
fn grouped_mode_applies_all_in_one_transaction() {
    let f = three();
    let m = f.migrations();
    let db = fresh_db();
    let mut c = db.client();
    let r = m.runner().grouped(true).run_blocking(&mut c).unwrap();
    assert_eq!(r.applied.len(), 3);
    assert_eq!(history(&mut c).len(), 3);

    // The group ran as one: each migration records the group's time, as the server
    // measured it (here at least the 200 ms one of them sleeps).
    let timed = Fixture::new(&[
        ("V1__a.sql", "CREATE TABLE a (id int);"),
        ("V2__slow.sql", "SELECT pg_sleep(0.2);"),
    ]);
    let db3 = fresh_db();
    let mut c3 = db3.client();
    let r = timed
        .migrations()
        .runner()
        .grouped(true)
        .run_blocking(&mut c3)
        .unwrap();
    let durations: Vec<_> = r.applied.iter().map(|a| a.duration).collect();
    assert_eq!(durations.len(), 2);
    assert_eq!(durations[0], durations[1], "{durations:?}");
    assert!(
        durations[0] >= std::time::Duration::from_millis(200),
        "{durations:?}"
    );
    let recorded: Vec<i64> = c3
        .query(
            "SELECT execution_ms FROM pgstrata_migrations ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        recorded,
        [durations[0].as_millis() as i64; 2],
        "the history records the group's time for each"
    );

    // All or nothing: a failure in the last one leaves none of them.
    let f2 = Fixture::new(&[
        ("V1__a.sql", "CREATE TABLE a (id int);"),
        ("V2__b.sql", "CREATE TABLE b (id int);"),
        ("V3__c.sql", "CREATE TABLE c (id int);\nSELECT nope FROM a;"),
    ]);
    let db2 = fresh_db();
    let mut c2 = db2.client();
    let e = f2
        .migrations()
        .runner()
        .grouped(true)
        .run_blocking(&mut c2)
        .unwrap_err();
    assert_eq!(e.migration().map(|m| m.0), Some(3), "{e}");
    assert_eq!(e.statement().map(|s| s.line), Some(2), "{e}");
    assert!(!table_exists(&mut c2, "a"));
    assert!(history(&mut c2).is_empty());
}

#[test]
fn every_layout_applies() {
    let layouts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "refinery",
            vec![
                ("V1__a.sql", "CREATE TABLE a (id int);"),
                ("U1__a.sql", "DROP TABLE a;"),
            ],
        ),
        (
            "sqlx",
            vec![
                ("20250101000000_a.up.sql", "CREATE TABLE a (id int);"),
                ("20250101000000_a.down.sql", "DROP TABLE a;"),
            ],
        ),
        (
            "numbered",
            vec![
                ("001_a.sql", "CREATE TABLE a (id int);"),
                ("001_a_down.sql", "DROP TABLE a;"),
            ],
        ),
        (
            "dbmate",
            vec![(
                "20250101000000_a.sql",
                "-- migrate:up\nCREATE TABLE a (id int);\n\n-- migrate:down\nDROP TABLE a;\n",
            )],
        ),
        (
            "prisma",
            vec![
                ("20250101000000_a/migration.sql", "CREATE TABLE a (id int);"),
                ("migration_lock.toml", "provider = \"postgresql\""),
            ],
        ),
        (
            "diesel",
            vec![
                ("2025-01-01-000000_a/up.sql", "CREATE TABLE a (id int);"),
                ("2025-01-01-000000_a/down.sql", "DROP TABLE a;"),
            ],
        ),
    ];
    for (layout, files) in layouts {
        let f = Fixture::new(&files);
        let m = f.migrations();
        assert_eq!(m.len(), 1, "{layout}");
        let down = m.as_slice()[0]
            .down()
            .map(|d| d.trim().ends_with("DROP TABLE a;"));
        assert_eq!(down, Some(true).filter(|_| layout != "prisma"), "{layout}");
        let db = fresh_db();
        let mut c = db.client();
        m.run_blocking(&mut c)
            .unwrap_or_else(|e| panic!("{layout}: {e}"));
        assert!(table_exists(&mut c, "a"), "{layout}");
    }
}

#[test]
fn own_begin_commit_commits_with_the_history_row() {
    let f = Fixture::new(&[(
        "V1__wrapped.sql",
        "BEGIN;\nCREATE TABLE w (id int);\nCOMMIT;\n",
    )]);
    let db = fresh_db();
    let mut c = db.client();
    f.migrations().run_blocking(&mut c).unwrap();
    assert!(table_exists(&mut c, "w"));
    assert_eq!(history(&mut c), [(1, "applied".into())]);
}

#[test]
fn history_table_can_live_in_another_schema() {
    let f = three();
    let db = fresh_db();
    let mut c = db.client();
    let r = f
        .migrations()
        .runner()
        .history_table("Ops.Migration History")
        .run_blocking(&mut c)
        .unwrap();
    assert_eq!(r.applied.len(), 3);
    let n: i64 = c
        .query_one("SELECT count(*) FROM \"Ops\".\"Migration History\"", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 3);
    let again = f
        .migrations()
        .runner()
        .history_table("Ops.Migration History")
        .run_blocking(&mut c)
        .unwrap();
    assert_eq!(again.already_applied, 3);
}

#[test]
fn crlf_files_have_the_checksum_of_lf_files() {
    let lf = Fixture::new(&[(
        "V1__a.sql",
        "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n",
    )]);
    let crlf = Fixture::new(&[(
        "V1__a.sql",
        "CREATE TABLE a (id int);\r\nCREATE TABLE b (id int);\r\n",
    )]);
    let db = fresh_db();
    let mut c = db.client();
    lf.migrations().run_blocking(&mut c).unwrap();
    let r = crlf.migrations().run_blocking(&mut c).unwrap();
    assert_eq!(
        r.already_applied, 1,
        "a CRLF checkout is the same migration"
    );
}

#[test]
fn the_runs_prepared_statements_and_lock_mark_are_removed() {
    let f = three();
    let db = fresh_db();
    let mut c = db.client();
    // A statement of the application's own with a name like the runner's is left alone.
    c.batch_execute("PREPARE pgstrata_record(int) AS SELECT $1")
        .unwrap();
    f.migrations().run_blocking(&mut c).unwrap();
    let left: Vec<String> = c
        .query(
            "SELECT name FROM pg_prepared_statements WHERE name LIKE 'pgstrata%' ORDER BY name",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, ["pgstrata_record"]);
    let mark: Option<String> = c
        .query_one("SELECT current_setting('pgstrata.lock', true)", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        mark.as_deref(),
        Some(""),
        "the session no longer carries the run's lock mark"
    );
    let interval: String = c
        .query_one("SHOW client_connection_check_interval", &[])
        .unwrap()
        .get(0);
    assert_eq!(interval, "0", "the session's setting is reset");
    assert_eq!(crate::support::advisory_locks(&mut c), 0);
}

#[test]
fn verify_compares_the_live_schema_with_the_compiled_one() {
    mod db {
        pgstrata::embed_migrations!("../migrations");
    }
    let fresh = fresh_db();
    let mut c = fresh.client();
    assert!(
        !db::MIGRATIONS.verify_blocking(&mut c).unwrap().is_ok(),
        "nothing there yet"
    );
    db::MIGRATIONS
        .runner()
        .verify_schema(true)
        .run_blocking(&mut c)
        .unwrap();
    let check = db::MIGRATIONS.verify_blocking(&mut c).unwrap();
    assert!(check.differences.is_empty(), "{check:?}");

    // Added out of band: reported, tolerated.
    c.batch_execute("ALTER TABLE agent_sessions ADD COLUMN note text")
        .unwrap();
    let check = db::MIGRATIONS.verify_blocking(&mut c).unwrap();
    assert!(check.is_ok());
    assert_eq!(check.differences.len(), 1);
    assert!(check.differences[0]
        .message
        .contains("agent_sessions.note exists in the database only"));

    // Retyped: the startup check fails the run.
    c.batch_execute("ALTER TABLE agent_sessions ALTER COLUMN workflow_step TYPE varchar(20)")
        .unwrap();
    let e = db::MIGRATIONS
        .runner()
        .verify_schema(true)
        .run_blocking(&mut c)
        .unwrap_err();
    assert_eq!(e.kind(), pgstrata::ErrorKind::SchemaMismatch);
    assert!(
        e.to_string()
            .contains("workflow_step: text in the migrations, character varying(20)"),
        "{e}"
    );

    // Loaded at run time: no compiled schema to compare with.
    let loaded = crate::support::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations"),
    );
    assert_eq!(
        loaded.verify_blocking(&mut c).unwrap_err().kind(),
        pgstrata::ErrorKind::Config
    );
}
