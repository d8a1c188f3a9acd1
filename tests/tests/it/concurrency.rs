//! Many processes starting at once: every migration applied exactly once.

use std::sync::{Arc, Barrier};

use pgstrata_testkit::{connect_blocking, fresh_db};

use crate::support::{history, Fixture};

/// Migrations that log each application, so a double apply shows as a second row
/// (and the CREATE TABLEs, having no IF NOT EXISTS, would fail outright).
pub(crate) fn logged(with_concurrent_index: bool) -> Fixture {
    let f = Fixture::new(&[
        ("V1__log.sql", "CREATE TABLE applied_log (version int NOT NULL);\nINSERT INTO applied_log VALUES (1);"),
        ("V2__items.sql", "CREATE TABLE items (id serial PRIMARY KEY, n int);\nINSERT INTO items (n) SELECT g FROM generate_series(1, 20000) g;\nINSERT INTO applied_log VALUES (2);"),
        ("V4__more.sql", "CREATE TABLE more (id int);\nINSERT INTO applied_log VALUES (4);"),
    ]);
    if with_concurrent_index {
        f.write(
            "V3__items_n.sql",
            "CREATE INDEX CONCURRENTLY items_n ON items (n);\nINSERT INTO applied_log VALUES (3);",
        );
    } else {
        f.write(
            "V3__tags.sql",
            "CREATE TABLE tags (id int);\nINSERT INTO applied_log VALUES (3);",
        );
    }
    f
}

/// `n` runs on separate connections, started together: tokio-postgres clients on tasks
/// of a multi-threaded runtime, or blocking clients on threads.
fn start_together(n: usize, with_concurrent_index: bool, use_async: bool) {
    let f = logged(with_concurrent_index);
    let migrations = Arc::new(f.migrations());
    let db = fresh_db();
    let results: Vec<Result<usize, String>> = if use_async {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let barrier = Arc::new(tokio::sync::Barrier::new(n));
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    let (m, b, url) = (migrations.clone(), barrier.clone(), db.url().to_string());
                    tokio::spawn(async move {
                        let mut c = pgstrata_testkit::connect(&url).await.unwrap();
                        b.wait().await;
                        m.run(&mut c)
                            .await
                            .map(|r| r.applied.len())
                            .map_err(|e| e.to_string())
                    })
                })
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        })
    } else {
        let barrier = Arc::new(Barrier::new(n));
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let (m, b, url) = (migrations.clone(), barrier.clone(), db.url().to_string());
                std::thread::spawn(move || {
                    let mut c = connect_blocking(&url).unwrap();
                    b.wait();
                    m.run_blocking(&mut c)
                        .map(|r| r.applied.len())
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    };
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {n} runs failed: {failures:?}",
        failures.len()
    );
    let total: usize = results.iter().map(|r| *r.as_ref().unwrap()).sum();
    assert_eq!(total, 4, "each migration applied by exactly one run");
    let mut c = db.client();
    assert_eq!(crate::support::applied_log(&mut c), [1, 2, 3, 4]);
    assert_eq!(history(&mut c).len(), 4);
    assert_eq!(
        crate::support::advisory_locks(&mut c),
        0,
        "the lock is released"
    );
}

#[test]
fn sixteen_concurrent_starts_apply_each_migration_once() {
    start_together(16, false, true);
}

#[test]
fn sixteen_concurrent_starts_with_create_index_concurrently() {
    start_together(16, true, true);
}

#[test]
fn sixteen_concurrent_blocking_starts_with_create_index_concurrently() {
    start_together(16, true, false);
}

#[test]
fn lock_timeout_names_the_holder() {
    let f = Fixture::new(&[("V1__a.sql", "CREATE TABLE a (id int);")]);
    let m = f.migrations();
    let db = fresh_db();
    let mut holder =
        connect_blocking(&format!("{}?application_name=deployer-7", db.url())).unwrap();
    let (k1, k2) = {
        // Take the runner's own lock by running it until it holds it: use its keys via a
        // first run in another database? Simpler: find them from a real run's pg_locks.
        let mut probe = db.client();
        let _ = probe.batch_execute("SELECT 1");
        lock_keys(&db)
    };
    holder
        .batch_execute(&format!("SELECT pg_advisory_lock({k1}, {k2})"))
        .unwrap();
    let mut c = db.client();
    let e = m
        .runner()
        .lock_timeout(std::time::Duration::from_millis(300))
        .run_blocking(&mut c)
        .unwrap_err();
    assert_eq!(e.kind(), pgstrata::ErrorKind::LockTimeout);
    let msg = e.to_string();
    assert!(msg.contains("deployer-7") && msg.contains("pid "), "{msg}");
}

/// The runner's lock keys for the default history table, observed while a run holds it
/// (beside it, the run holds a marker lock of a higher class).
fn lock_keys(db: &pgstrata_testkit::TestDb) -> (i64, i64) {
    let f = Fixture::new(&[("V1__slow.sql", "SELECT pg_sleep(1);")]);
    let m = f.migrations();
    let scratch = fresh_db();
    let url = scratch.url().to_string();
    let t = std::thread::spawn(move || {
        let mut c = connect_blocking(&url).unwrap();
        m.run_blocking(&mut c).unwrap();
    });
    let mut c = db.client();
    let mut keys = None;
    for _ in 0..200 {
        let rows = c
            .query(
                "SELECT classid::bigint, objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 \
                 AND database = (SELECT oid FROM pg_database WHERE datname = $1) ORDER BY classid LIMIT 1",
                &[&scratch.name],
            )
            .unwrap();
        if let Some(r) = rows.first() {
            keys = Some((r.get(0), r.get(1)));
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    t.join().unwrap();
    keys.expect("saw the runner's advisory lock")
}

#[test]
fn thirty_two_processes_twenty_rounds() {
    let f = logged(true);
    let (rounds, n) = (20, 32);
    let started = std::time::Instant::now();
    let mut slowest = std::time::Duration::ZERO;
    for round in 0..rounds {
        let db = fresh_db();
        let t = std::time::Instant::now();
        let children: Vec<_> = (0..n)
            .map(|_| {
                std::process::Command::new(env!("CARGO_BIN_EXE_pgstrata-apply"))
                    .args([db.url(), f.dir.to_str().unwrap()])
                    .env_remove("PGSTRATA_KILL_AT")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut applied = 0;
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: a process failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let stdout = String::from_utf8_lossy(&out.stdout);
            applied += stdout
                .split_whitespace()
                .nth(1)
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or_else(|| panic!("round {round}: unexpected output {stdout}"));
        }
        slowest = slowest.max(t.elapsed());
        assert_eq!(
            applied, 4,
            "round {round}: each migration applied by one process"
        );
        let mut c = db.client();
        assert_eq!(
            crate::support::applied_log(&mut c),
            [1, 2, 3, 4],
            "round {round}"
        );
        assert_eq!(history(&mut c).len(), 4, "round {round}");
        assert_eq!(crate::support::advisory_locks(&mut c), 0, "round {round}");
    }
    println!(
        "{rounds} rounds of {n} processes starting at once: {} starts, 0 errors, {:?} in all, slowest round {slowest:?}",
        rounds * n,
        started.elapsed()
    );
}

/// A session that reads `t` in an open transaction, holding a lock that ALTER TABLE waits
/// for.
fn blocker(db: &pgstrata_testkit::TestDb) -> postgres::Client {
    let mut b = connect_blocking(&format!("{}?application_name=report-job", db.url())).unwrap();
    b.batch_execute("BEGIN; SELECT * FROM t").unwrap();
    b
}

fn lock_wait_fails_fast(files: &[(&str, &str)], runner_setting: bool, recorded: Option<&str>) {
    let mut all = vec![("V1__t.sql", "CREATE TABLE t (id int);")];
    all.extend_from_slice(files);
    let f = Fixture::new(&all);
    let m = f.migrations();
    let db = fresh_db();
    let mut c = db.client();
    m.runner().target(1).run_blocking(&mut c).unwrap();
    let _b = blocker(&db);
    let mut runner = m.runner();
    if runner_setting {
        runner = runner.migration_lock_timeout("200ms");
    }
    let t = std::time::Instant::now();
    let e = runner.run_blocking(&mut c).unwrap_err();
    let waited = t.elapsed();
    assert!(
        waited < std::time::Duration::from_secs(5),
        "waited {waited:?}"
    );
    assert_eq!(e.kind(), pgstrata::ErrorKind::Migration);
    assert_eq!(e.as_db_error().map(|d| d.code().code()), Some("55P03"));
    let msg = e.to_string();
    assert!(
        msg.contains("report-job")
            && msg.contains("AccessShareLock on t")
            && msg.contains("SELECT * FROM t"),
        "the error names the blocking session: {msg}"
    );
    let rows = history(&mut c);
    match recorded {
        None => assert_eq!(rows.len(), 1, "nothing recorded for the failed migration"),
        Some(state) => assert_eq!(rows[1].1, state),
    }
}

#[test]
fn lock_timeout_directive_fails_fast_naming_the_blocking_session() {
    lock_wait_fails_fast(
        &[(
            "V2__alter.sql",
            "-- pgstrata:lock-timeout 200ms\nALTER TABLE t ADD COLUMN x int;",
        )],
        false,
        None,
    );
}

#[test]
fn lock_timeout_runner_setting_fails_fast_in_and_outside_a_transaction() {
    lock_wait_fails_fast(
        &[("V2__alter.sql", "ALTER TABLE t ADD COLUMN x int;")],
        true,
        None,
    );
    lock_wait_fails_fast(
        &[(
            "V2__alter.sql",
            "-- pgstrata:no-transaction\nALTER TABLE t ADD COLUMN x int;",
        )],
        true,
        Some("failed"),
    );
}

#[test]
fn statement_timeout_cancels_in_and_outside_a_transaction() {
    for (sql, runner_setting, recorded) in [
        (
            "-- pgstrata:statement-timeout 200ms\nSELECT pg_sleep(5);",
            false,
            None,
        ),
        (
            "-- pgstrata:no-transaction\nSELECT pg_sleep(5);",
            true,
            Some("failed"),
        ),
    ] {
        let f = Fixture::new(&[
            ("V1__t.sql", "CREATE TABLE t (id int);"),
            ("V2__slow.sql", sql),
        ]);
        let db = fresh_db();
        let mut c = db.client();
        let m = f.migrations();
        let mut runner = m.runner();
        if runner_setting {
            runner = runner.migration_statement_timeout("200ms");
        }
        let t = std::time::Instant::now();
        let e = runner.run_blocking(&mut c).unwrap_err();
        assert!(
            t.elapsed() < std::time::Duration::from_secs(4),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(
            e.as_db_error().map(|d| d.code().code()),
            Some("57014"),
            "{e}"
        );
        assert!(e.to_string().contains("V2__slow"), "{e}");
        let rows = history(&mut c);
        match recorded {
            None => assert_eq!(rows, [(1, "applied".to_string())]),
            Some(state) => assert_eq!(rows[1].1, state),
        }
    }
}
