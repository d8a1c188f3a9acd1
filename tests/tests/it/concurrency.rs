//! Many processes starting at once: every migration applied exactly once.

use std::sync::{Arc, Barrier};

use pgstrata_testkit::{connect_blocking, fresh_db};

use crate::support::{history, Fixture};

/// Migrations that log each application, so a double apply shows as a second row
/// (and the CREATE TABLEs, having no IF NOT EXISTS, would fail outright).
fn logged(with_concurrent_index: bool) -> Fixture {
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
    let log: Vec<i32> = c
        .query("SELECT version FROM applied_log ORDER BY version", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(log, [1, 2, 3, 4]);
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

/// The runner's lock keys for the default history table, observed while a run holds it.
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
                 AND database = (SELECT oid FROM pg_database WHERE datname = $1)",
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
