//! Crash safety: a real child process (`pgstrata-apply`) applies five migrations and is
//! killed with SIGKILL, or loses its server session, at every point a run goes through.
//! After each, the database holds every transactional migration with its history row or
//! not at all, never twice, in order, and no lock; the next start finishes the job, or
//! refuses naming the interrupted migration and how to resolve it, and finishes once it
//! is resolved.
//!
//! Three ways of choosing the points:
//! - the runner's own kill points (the `fault-injection` feature of pgstrata-runtime),
//!   enumerated from a clean run: after the lock, before and after each migration,
//!   between the statements of the one outside a transaction, around its history
//!   updates, around the unlock;
//! - gates: statements of the migrations call `gate(n)`, which waits while the harness
//!   holds advisory lock (777, n), so the child is killed inside that statement;
//! - times spread evenly over a clean run.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pgstrata_testkit::{fresh_db, TestDb};

use crate::support::Fixture;

/// How the child applies: blocking client one migration at a time, blocking client
/// grouped, or the async client, which pipelines the migrations' messages (the next is
/// on its way to the server while the current one runs).
#[derive(Clone, Copy, Debug)]
enum Mode {
    Blocking,
    Grouped,
    Pipelined,
}

impl Mode {
    const ALL: [Mode; 3] = [Mode::Blocking, Mode::Grouped, Mode::Pipelined];

    fn arg(self) -> Option<&'static str> {
        match self {
            Mode::Blocking => None,
            Mode::Grouped => Some("--grouped"),
            Mode::Pipelined => Some("--async"),
        }
    }
}

/// The history as (version, state); empty when the run died before creating the table.
fn history(c: &mut postgres::Client) -> Vec<(i64, String)> {
    let exists: bool = c
        .query_one("SELECT to_regclass('pgstrata_migrations') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    if exists {
        crate::support::history(c)
    } else {
        Vec::new()
    }
}

/// The number of gates the fixture's migrations call.
const GATES: i32 = 7;
const APP: &str = "pgstrata-killed-child";

fn fixture() -> Fixture {
    Fixture::new(&[
        (
            "V1__accounts.sql",
            "CREATE TABLE accounts (id int PRIMARY KEY, name text);\n\
             INSERT INTO harness_log VALUES (1);\nSELECT gate(1);\n",
        ),
        (
            "V2__orders.sql",
            "CREATE TABLE orders (id int, account_id int);\nSELECT gate(2);\n\
             INSERT INTO orders SELECT g, g % 100 FROM generate_series(1, 20000) g;\n\
             INSERT INTO harness_log VALUES (2);\nSELECT gate(3);\n",
        ),
        (
            "V3__orders_account.sql",
            "CREATE INDEX CONCURRENTLY orders_account ON orders (account_id);\nSELECT gate(4);\n\
             CREATE INDEX CONCURRENTLY orders_id ON orders (id);\n\
             INSERT INTO harness_log VALUES (3);\nSELECT gate(5);\n",
        ),
        (
            "V4__own_transaction.sql",
            "BEGIN;\nALTER TABLE accounts ADD COLUMN email text;\n\
             INSERT INTO harness_log VALUES (4);\nSELECT gate(6);\nCOMMIT;\n",
        ),
        (
            "V5__audit.sql",
            "CREATE TABLE audit (id int);\nINSERT INTO harness_log VALUES (5);\nSELECT gate(7);\n",
        ),
    ])
}

/// A fresh database with the harness's own log table and gate function.
fn harness_db() -> TestDb {
    let db = fresh_db();
    db.client()
        .batch_execute(
            "CREATE TABLE harness_log (v int NOT NULL);\n\
             CREATE FUNCTION gate(n int) RETURNS void LANGUAGE sql AS $$ SELECT pg_advisory_xact_lock_shared(777, n) $$;",
        )
        .unwrap();
    db
}

fn child_url(db: &TestDb) -> String {
    format!("{}?application_name={APP}", db.url())
}

fn spawn(db: &TestDb, dir: &Fixture, mode: Mode, kill_at: Option<&str>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgstrata-apply"));
    cmd.arg(child_url(db)).arg(&dir.dir).args(mode.arg());
    match kill_at {
        Some(k) => cmd.env("PGSTRATA_KILL_AT", k),
        None => cmd.env_remove("PGSTRATA_KILL_AT"),
    };
    cmd.stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs the child to its end: (exit code, stderr).
fn finish(db: &TestDb, dir: &Fixture, mode: Mode) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pgstrata-apply"))
        .arg(child_url(db))
        .arg(&dir.dir)
        .args(mode.arg())
        .env_remove("PGSTRATA_KILL_AT")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn wait_until(c: &mut postgres::Client, what: &str, sql: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ok: bool = c.query_one(sql, &[]).unwrap().get(0);
        if ok {
            return;
        }
        if Instant::now() > deadline {
            let rows = c.query("SELECT format('%s %s %s %s %s', pid, application_name, state, wait_event_type || ':' || coalesce(wait_event, ''), left(query, 80)) FROM pg_stat_activity WHERE datname = current_database()", &[]).unwrap();
            for r in rows {
                eprintln!("{}", r.get::<_, String>(0));
            }
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until the child's server session is gone.
fn child_session_gone(c: &mut postgres::Client) {
    wait_until(
        c,
        "the child's session to end",
        &format!("SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = '{APP}' AND datname = current_database())"),
    );
}

fn kill(child: &mut Child) {
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "the child died by SIGKILL");
}

/// What must hold after any interruption, whatever point it hit.
fn check_consistent(c: &mut postgres::Client, at: &str) {
    let hist = history(c);
    let log: Vec<i32> = c
        .query("SELECT v FROM harness_log ORDER BY v", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut once = log.clone();
    once.dedup();
    assert_eq!(log, once, "{at}: a migration ran twice: {log:?}");
    let exists =
        |c: &mut postgres::Client, sql: &str| -> bool { c.query_one(sql, &[]).unwrap().get(0) };
    for v in [1, 2, 4, 5] {
        let recorded = hist.iter().any(|(h, s)| *h == v && s == "applied");
        let logged = log.contains(&(v as i32));
        let object = match v {
            1 => exists(c, "SELECT to_regclass('accounts') IS NOT NULL"),
            2 => exists(c, "SELECT to_regclass('orders') IS NOT NULL"),
            4 => exists(c, "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'email')"),
            _ => exists(c, "SELECT to_regclass('audit') IS NOT NULL"),
        };
        assert!(
            recorded == logged && logged == object,
            "{at}: transactional V{v} half-applied: history {recorded}, its log row {logged}, its object {object}"
        );
    }
    // Applied in order: the versions recorded form a prefix of 1..=5.
    let versions: Vec<i64> = hist.iter().map(|(v, _)| *v).collect();
    assert_eq!(
        versions,
        (1..=versions.len() as i64).collect::<Vec<_>>(),
        "{at}: out of order"
    );
    let locks: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid <> 777 \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(locks, 0, "{at}: the migration lock is left held");
}

/// Starts again until done: a refusal must name the interrupted migration and the way
/// out, which the harness then takes (undoing V3 by hand, as a person would). Returns
/// whether a refusal happened.
fn restart_and_finish(db: &TestDb, dir: &Fixture, mode: Mode, at: &str) -> bool {
    let mut c = db.client();
    let (code, err) = finish(db, dir, mode);
    let refused = code != 0;
    if refused {
        assert!(
            err.contains("V3__orders_account") && err.contains("pgstrata resolve --rolled-back 3"),
            "{at}: the restart failed without naming the interrupted migration: {err}"
        );
        let state: String = c
            .query_one(
                "SELECT state FROM pgstrata_migrations WHERE version = 3",
                &[],
            )
            .unwrap()
            .get(0);
        assert!(
            state == "running" || state == "failed",
            "{at}: V3 is {state}"
        );
        c.batch_execute(
            "DROP INDEX IF EXISTS orders_account; DROP INDEX IF EXISTS orders_id;\n\
             DELETE FROM harness_log WHERE v = 3;\n\
             DELETE FROM pgstrata_migrations WHERE version = 3 AND state <> 'applied';",
        )
        .unwrap();
        let (code, err) = finish(db, dir, mode);
        assert_eq!(code, 0, "{at}: after resolving, the run fails: {err}");
    }
    let log: Vec<i32> = c
        .query("SELECT v FROM harness_log ORDER BY v", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        log,
        [1, 2, 3, 4, 5],
        "{at}: each migration exactly once in the end"
    );
    assert_eq!(history(&mut c).len(), 5, "{at}");
    let valid: bool = c
        .query_one(
            "SELECT bool_and(indisvalid) FROM pg_index WHERE indexrelid IN ('orders_account'::regclass, 'orders_id'::regclass)",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(valid, "{at}: the concurrently built indexes are valid");
    refused
}

/// Names of the kill points a clean run passes, in order.
fn kill_points(dir: &Fixture, mode: Mode) -> Vec<String> {
    let db = harness_db();
    let child = spawn(&db, dir, mode, Some("list"));
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("pgstrata-killpoint-seen "))
        .map(str::to_string)
        .collect()
}

fn sigkill_at_runner_points(mode: Mode) -> (usize, usize) {
    let dir = fixture();
    let points = kill_points(&dir, mode);
    assert!(points.len() >= 12, "too few kill points: {points:?}");
    let mut refusals = 0;
    for p in &points {
        let at = format!("kill point {p} ({mode:?})");
        let db = harness_db();
        let mut child = spawn(&db, &dir, mode, Some(p));
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "{at}: the child ended before reaching it"
            );
            if line.trim() == format!("pgstrata-killpoint {p}") {
                break;
            }
        }
        kill(&mut child);
        let mut c = db.client();
        child_session_gone(&mut c);
        check_consistent(&mut c, &at);
        refusals += usize::from(restart_and_finish(&db, &dir, mode, &at));
    }
    (points.len(), refusals)
}

#[test]
fn sigkill_at_every_kill_point_of_the_runner() {
    let started = Instant::now();
    for mode in Mode::ALL {
        let (points, refusals) = sigkill_at_runner_points(mode);
        println!(
            "runner kill points ({mode:?}): {points}; {refusals} restarts refused until resolved"
        );
    }
    println!("{:?}", started.elapsed());
}

/// Holds gate `n` in the harness's own session while the child runs into it, then ends
/// the child there: by SIGKILL, or (`terminate`) by ending its server session.
fn interrupt_at_gates(terminate: bool, mode: Mode) -> (usize, usize) {
    let dir = fixture();
    let mut refusals = 0;
    for n in 1..=GATES {
        let at = format!(
            "{} inside gate({n}) ({mode:?})",
            if terminate {
                "pg_terminate_backend"
            } else {
                "SIGKILL"
            }
        );
        let db = harness_db();
        // A session lock, not a transaction's: an open transaction would hold up the
        // migration's CREATE INDEX CONCURRENTLY, which waits for older transactions.
        let mut holder = db.client();
        holder
            .batch_execute(&format!("SELECT pg_advisory_lock(777, {n})"))
            .unwrap();
        let mut child = spawn(&db, &dir, mode, None);
        let mut c = db.client();
        wait_until(
            &mut c,
            &format!("{at}: the child to wait at the gate"),
            &format!(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 777 AND objid = {n} \
                 AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
            ),
        );
        if terminate {
            let ended: bool = c
                .query_one(
                    &format!("SELECT bool_or(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '{APP}' AND datname = current_database()"),
                    &[],
                )
                .unwrap()
                .get(0);
            assert!(ended, "{at}");
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{at}: {err}");
            let named = (1..=5).any(|v| err.contains(&format!("V{v}__")));
            assert!(
                named && (err.contains("connection was lost") || err.contains("pgstrata resolve")),
                "{at}: the error names the migration, what happened and what to do: {err}"
            );
        } else {
            kill(&mut child);
        }
        holder
            .batch_execute(&format!("SELECT pg_advisory_unlock(777, {n})"))
            .unwrap();
        child_session_gone(&mut c);
        check_consistent(&mut c, &at);
        refusals += usize::from(restart_and_finish(&db, &dir, mode, &at));
    }
    (GATES as usize, refusals)
}

/// Every gate, in every mode, interrupted the same way.
fn interrupt_at_every_gate(terminate: bool, how: &str) {
    for mode in Mode::ALL {
        let (points, refusals) = interrupt_at_gates(terminate, mode);
        println!("{how} inside statements ({mode:?}): {points} points, {refusals} refusals until resolved");
    }
}

#[test]
fn sigkill_inside_each_statement_that_waits_at_a_gate() {
    interrupt_at_every_gate(false, "SIGKILL");
}

#[test]
fn losing_the_server_session_inside_each_gated_statement() {
    interrupt_at_every_gate(true, "pg_terminate_backend");
}

#[test]
fn sigkill_at_times_spread_over_a_run() {
    let dir = fixture();
    // A clean run's length, as the child sees it.
    let db = harness_db();
    let t = Instant::now();
    let (code, err) = finish(&db, &dir, Mode::Blocking);
    assert_eq!(code, 0, "{err}");
    let length = t.elapsed();
    let tries = 60;
    let (mut landed, mut refusals) = (0, 0);
    for i in 0..tries {
        let after = length * i / tries;
        let at = format!("SIGKILL {after:?} after start");
        let db = harness_db();
        let mut child = spawn(&db, &dir, Mode::ALL[i as usize % 3], None);
        std::thread::sleep(after);
        // The child may finish between the look and the signal: only a death by
        // SIGKILL counts as landed.
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.signal() == Some(9) {
            landed += 1;
        } else {
            assert!(
                status.success(),
                "{at}: the child failed on its own: {status}"
            );
        }
        let mut c = db.client();
        child_session_gone(&mut c);
        check_consistent(&mut c, &at);
        refusals += usize::from(restart_and_finish(
            &db,
            &dir,
            Mode::ALL[i as usize % 3],
            &at,
        ));
    }
    println!(
        "timed kills: {tries} tried over a {length:?} run, {landed} landed before the child finished, {refusals} refusals until resolved"
    );
    assert!(
        landed >= tries / 2,
        "too few kills landed: {landed} of {tries}"
    );
}
