//! A process killed in the middle of a migration.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pgstrata_testkit::fresh_db;

use crate::support::{history, table_exists, Fixture};

fn wait_for(c: &mut postgres::Client, what: &str, sql: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ok: bool = c.query_one(sql, &[]).unwrap().get(0);
        if ok {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigkill_during_a_slow_transactional_migration_leaves_the_database_as_before() {
    let f = Fixture::new(&[
        ("V1__first.sql", "CREATE TABLE first (id int);"),
        (
            "V2__slow.sql",
            "CREATE TABLE slow (id int);\nINSERT INTO slow VALUES (1);\nSELECT pg_sleep((SELECT seconds FROM test_sleep));\n",
        ),
    ]);
    let db = fresh_db();
    let mut c = db.client();
    c.batch_execute("CREATE TABLE test_sleep (seconds float8); INSERT INTO test_sleep VALUES (60)")
        .unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_pgstrata-apply"))
        .args([db.url(), f.dir.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let name = db.name.clone();
    wait_for(
        &mut c,
        "the migration to be running",
        &format!("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid() AND query LIKE '%pg_sleep((SELECT seconds%' AND state = 'active')"),
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The server notices the vanished client and rolls back (client_connection_check_interval).
    wait_for(
        &mut c,
        "the killed session to end",
        &format!("SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid() AND backend_type = 'client backend')"),
    );
    assert!(
        !table_exists(&mut c, "slow"),
        "nothing of the killed migration remains"
    );
    assert_eq!(history(&mut c), [(1, "applied".into())]);
    assert_eq!(crate::support::advisory_locks(&mut c), 0);

    c.batch_execute("UPDATE test_sleep SET seconds = 0")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pgstrata-apply"))
        .args([db.url(), f.dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        history(&mut c),
        [(1, "applied".into()), (2, "applied".into())]
    );
    let n: i64 = c
        .query_one("SELECT count(*) FROM slow", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "applied once, cleanly");
}
