//! Migrations through PgBouncer. Session pooling keeps a client on one server session, so
//! the migration lock works as on a direct connection. Transaction pooling moves a client
//! between server sessions, where a session lock means nothing: the runner then either
//! finishes (its statements happened to stay on the locked session) or stops with
//! `LockNotHeld`, and never applies anything twice.

use std::sync::{Arc, Barrier};

use pgstrata::ErrorKind;
use pgstrata_testkit::{connect_blocking, fresh_db, PoolMode, Pooler};

use crate::concurrency::logged;
use crate::support::{advisory_locks, applied_log, history};

/// `n` runs through `url`, started together; each result is the number applied or the
/// error's kind and text. Blocking clients, or (`pipelined`) async ones, whose runs send
/// a migration's message before the previous one's answer is back: through transaction
/// pooling, the two may land on different server sessions.
fn start_together(
    migrations: &Arc<pgstrata::Migrations>,
    url: &str,
    n: usize,
    pipelined: bool,
) -> Vec<Result<usize, (ErrorKind, String)>> {
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (m, b, url) = (migrations.clone(), barrier.clone(), url.to_string());
            std::thread::spawn(move || {
                let result = if pipelined {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(async {
                        let mut c = pgstrata::connect(&url)
                            .await
                            .map_err(|e| (ErrorKind::Database, e.to_string()))?;
                        b.wait();
                        m.run(&mut c).await.map_err(|e| (e.kind(), e.to_string()))
                    })
                } else {
                    let mut c =
                        connect_blocking(&url).map_err(|e| (ErrorKind::Database, e.to_string()))?;
                    b.wait();
                    m.run_blocking(&mut c)
                        .map_err(|e| (e.kind(), e.to_string()))
                };
                result.map(|r| r.applied.len())
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn session_pooling_sixteen_concurrent_starts_all_succeed() {
    let pooler = Pooler::start(PoolMode::Session, 4);
    let f = logged(true);
    let m = Arc::new(f.migrations());
    let db = fresh_db();
    let results = start_together(&m, &pooler.url(&db.name), 16, false);
    let failures: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failures.is_empty(), "{failures:?}");
    let total: usize = results.iter().map(|r| *r.as_ref().unwrap()).sum();
    assert_eq!(total, 4, "each migration applied by exactly one run");
    let mut c = db.client();
    assert_eq!(applied_log(&mut c), [1, 2, 3, 4]);
    assert_eq!(advisory_locks(&mut c), 0, "the lock is released");
}

#[test]
fn transaction_pooling_finishes_or_refuses_and_never_applies_twice() {
    let pooler = Pooler::start(PoolMode::Transaction, 4);
    let f = logged(true);
    let m = Arc::new(f.migrations());

    // Alone, a client's statements stay on one server session: the run works.
    let db = fresh_db();
    let mut alone = connect_blocking(&pooler.url(&db.name)).unwrap();
    let report = m.run_blocking(&mut alone).unwrap();
    assert_eq!(report.applied.len(), 4);
    drop(alone);
    // Alone and pipelined, the same.
    let db = fresh_db();
    let results = start_together(&m, &pooler.url(&db.name), 1, true);
    assert_eq!(results, [Ok(4)]);

    let rounds = 6;
    let (mut finished, mut refused) = (0, 0);
    for round in 0..rounds {
        let db = fresh_db();
        let results = start_together(&m, &pooler.url(&db.name), 16, round % 2 == 1);
        for r in &results {
            match r {
                Ok(_) => finished += 1,
                Err((ErrorKind::LockNotHeld, msg)) => {
                    assert!(
                        msg.contains("direct connection") && msg.contains("session mode"),
                        "{msg}"
                    );
                    refused += 1;
                }
                Err(other) => {
                    panic!("round {round}: a run failed otherwise than LockNotHeld: {other:?}")
                }
            }
        }
        let mut c = db.client();
        let log = applied_log(&mut c);
        let mut deduped = log.clone();
        deduped.dedup();
        assert_eq!(
            log, deduped,
            "round {round}: a migration was applied twice: {log:?}"
        );
        let recorded: Vec<i32> = history(&mut c).iter().map(|(v, _)| *v as i32).collect();
        assert_eq!(
            log, recorded,
            "round {round}: what was applied is what the history says"
        );
        // A refused run leaves no lock behind on a pooled session.
        assert_eq!(
            advisory_locks(&mut c),
            0,
            "round {round}: the lock is not left held"
        );
        // A direct connection finishes what the refused runs left.
        m.run_blocking(&mut c).unwrap();
        assert_eq!(applied_log(&mut c), [1, 2, 3, 4], "round {round}");
    }
    println!(
        "transaction pooling, {rounds} rounds of 16 concurrent starts (blocking and pipelined in turn): {finished} finished, {refused} refused with LockNotHeld"
    );
}
