//! The migration lock: a session advisory lock, taken by polling.
//!
//! Why polling `pg_try_advisory_lock` rather than waiting in `pg_advisory_lock`: a
//! session blocked in `pg_advisory_lock` is a running statement with a snapshot, and
//! `CREATE INDEX CONCURRENTLY` in the session holding the lock waits for every such
//! snapshot to finish, while the waiter waits for the lock: a deadlock that sqlx,
//! Flyway and golang-migrate users have met. A poll is a short statement that holds
//! nothing between attempts.

use std::time::{Duration, Instant};

use crate::conn::{rows, Conn};
use crate::error::{Error, ErrorKind};
use crate::history::HistoryTable;

/// The first key of every pgstrata lock ("pgst").
const KEY_CLASS: i32 = 0x7067_7374;

/// The first key of a run's own marker lock ("pgsu"), held beside the migration lock so
/// that any session can see, in `pg_locks`, which server session holds a given run's
/// lock.
const RUN_CLASS: i32 = 0x7067_7375;

/// The lock's two keys: a fixed one, and one derived from the history table's name so
/// that two histories in one database do not exclude each other.
pub(crate) fn keys(table: &HistoryTable) -> (i32, i32) {
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let mut h: u32 = 0x811c_9dc5;
    for b in table.display().bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (KEY_CLASS, i32::try_from(h & 0x7fff_ffff).unwrap_or(0))
}

/// A migration lock held by this run.
///
/// Behind a pooler in transaction mode (PgBouncer's `pool_mode = transaction`), the
/// statements of one client can land on different server sessions, and a session lock
/// taken on one is invisible from the others. Three things keep that from ever applying
/// a migration twice:
/// - the statement that takes the lock also marks the server session with this run's
///   token, and refuses a session that carries another run's (advisory locks are
///   re-entrant: two runs sharing one pooled session would both "hold" it);
/// - [`Lock::guard`] is a statement prepared on the locked session only: run first in
///   every message that changes the history, it fails on any other session;
/// - the history insert is prepared there too, under a name carrying the token.
///
/// A run that finds itself moved stops with [`ErrorKind::LockNotHeld`], and ends the
/// pooled session its lock was left on (found by the run's marker lock), which would
/// otherwise block every later run until the pooler retires it.
#[derive(Clone, Debug)]
pub(crate) struct Lock {
    keys: (i32, i32),
    token: String,
    /// The second key of the run's marker lock.
    run_key: i32,
}

impl Lock {
    /// `EXECUTE` of the statement prepared when the lock was taken: fails with SQLSTATE
    /// 26000 on any session but the one holding the lock.
    pub(crate) fn guard(&self) -> String {
        format!("EXECUTE pgstrata_guard_{};\n", self.token)
    }

    /// The name of the prepared history insert of this run.
    pub(crate) fn record(&self) -> String {
        format!("pgstrata_record_{}", self.token)
    }
}

/// Whether an error says that a statement prepared by this run is missing: the
/// connection was moved to another server session by a pooler.
pub(crate) fn moved(e: &tokio_postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|d| d.code().code() == "26000" && d.message().contains("pgstrata_"))
}

/// The error for a run that lost its session to a pooler.
pub(crate) fn not_held(what: &str) -> Error {
    Error::new(
        ErrorKind::LockNotHeld,
        format!(
            "{what}: this connection does not stay on one server session, as through a pooler in transaction mode \
             (PgBouncer with pool_mode = transaction), so the migration lock cannot protect the run; nothing was applied twice\n  \
             help: run migrations over a direct connection to PostgreSQL, or through a pooler in session mode"
        ),
    )
}

/// A token unique to this run (the time, the process and a counter), and the key of its
/// marker lock.
fn token() -> (String, i32) {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.as_nanos());
    let mixed = (nanos as u64)
        ^ (u64::from(std::process::id()) << 32)
        ^ u64::from(N.fetch_add(1, Ordering::Relaxed)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let key = i32::try_from((mixed ^ (mixed >> 31)) & 0x7fff_ffff).unwrap_or(0);
    (format!("{mixed:016x}"), key)
}

/// Takes the lock, polling with backoff until `timeout`, then checks that this session
/// really holds it.
///
/// # Errors
/// [`ErrorKind::LockTimeout`] naming the holder; [`ErrorKind::LockNotHeld`] behind a
/// transaction-pooling proxy; [`ErrorKind::Database`] when a query fails.
pub(crate) async fn acquire<C: Conn>(
    conn: &mut C,
    table: &HistoryTable,
    timeout: Duration,
) -> Result<Lock, Error> {
    let (k1, k2) = keys(table);
    let (token, run_key) = token();
    let lock = Lock {
        keys: (k1, k2),
        token,
        run_key,
    };
    let started = Instant::now();
    let mut delay = Duration::from_millis(5);
    // A session already marked by another run (a pooled session that run holds the lock
    // on) is busy, even though the advisory lock would be granted again.
    let try_sql = format!(
        "SELECT CASE WHEN coalesce(current_setting('pgstrata.lock', true), '') <> '' THEN 'busy' \
           WHEN pg_try_advisory_lock({k1}, {k2}) AND pg_try_advisory_lock({RUN_CLASS}, {r}) \
           THEN set_config('pgstrata.lock', '{t}', false) ELSE 'busy' END",
        t = lock.token,
        r = lock.run_key
    );
    loop {
        let got = conn
            .simple(&try_sql)
            .await
            .map_err(|e| Error::db("cannot take the migration lock", e))?;
        if rows(got).first().and_then(|r| r.get(0)) == Some(lock.token.as_str()) {
            break;
        }
        if started.elapsed() >= timeout {
            let holder = holder(conn, k1, k2)
                .await
                .unwrap_or_else(|| "a session that has since released it".to_string());
            return Err(Error::new(
                ErrorKind::LockTimeout,
                format!(
                    "the migration lock for {} was not free within {:?}; held by {holder}\n  \
                     help: wait for that session to finish, or end it with SELECT pg_terminate_backend(pid) \
                     if it is stuck; raise Runner::lock_timeout for long migrations",
                    table.display(),
                    timeout
                ),
            ));
        }
        conn.sleep(delay + jitter(delay)).await;
        delay = (delay * 2).min(Duration::from_millis(250));
    }
    // Check from a second message that this session still is the one holding the lock,
    // and prepare the guard there (one message runs on one server session).
    let check = format!(
        "PREPARE pgstrata_guard_{t} AS SELECT 1;\n\
         SELECT current_setting('pgstrata.lock', true) = '{t}' AND EXISTS (SELECT 1 FROM pg_locks \
           WHERE locktype = 'advisory' AND classid = {k1} AND objid = {k2} AND objsubid = 2 AND granted \
           AND pid = pg_backend_pid())",
        t = lock.token
    );
    let held = conn
        .simple(&check)
        .await
        .map_err(|e| Error::db("cannot check the migration lock", e))?;
    if rows(held).first().and_then(|r| r.get(0)) != Some("t") {
        let _ = release(conn, &lock).await;
        return Err(not_held(
            "the migration lock was granted on another server session than the next statement ran on",
        ));
    }
    crate::fault::point(|| "locked".to_string());
    Ok(lock)
}

/// Releases the lock and forgets the run's prepared statements.
///
/// # Errors
/// The release ran on another server session than the lock (a transaction-mode pooler
/// moved the connection) and the session holding it could not be ended: the error says
/// which one, as it blocks every later run until it ends.
pub(crate) async fn release<C: Conn>(conn: &mut C, lock: &Lock) -> Result<(), Error> {
    let released = unlock(conn, lock).await?;
    let t = &lock.token;
    let _ = conn
        .batch(&format!(
            "DEALLOCATE pgstrata_guard_{t}; DEALLOCATE pgstrata_record_{t}"
        ))
        .await;
    if released {
        return Ok(());
    }
    end_stranded(conn, lock).await
}

/// Releases the lock if this statement runs on the session holding it.
async fn unlock<C: Conn>(conn: &mut C, lock: &Lock) -> Result<bool, Error> {
    let (k1, k2) = lock.keys;
    let (t, r) = (&lock.token, lock.run_key);
    let sql = format!(
        "SELECT CASE WHEN current_setting('pgstrata.lock', true) = '{t}' \
           THEN pg_advisory_unlock({k1}, {k2}) AND pg_advisory_unlock({RUN_CLASS}, {r}) \
             AND set_config('pgstrata.lock', '', false) = '' \
           ELSE false END"
    );
    let released = conn
        .simple(&sql)
        .await
        .map_err(|e| Error::db("cannot release the migration lock", e))?;
    Ok(rows(released).first().and_then(|r| r.get(0)) == Some("t"))
}

/// After a release that ran on the wrong server session: the lock stays held by the
/// pooled session the run took it on (the one holding the run's marker lock), which
/// would block every later run until the pooler retires it. While other clients keep
/// the pool busy, trying the release again soon lands on that session; once the pool is
/// quiet (the session idle for 200 ms), the session is ended instead.
async fn end_stranded<C: Conn>(conn: &mut C, lock: &Lock) -> Result<(), Error> {
    let (k1, k2) = lock.keys;
    let sql = format!(
        "SELECT a.pid, CASE WHEN a.state = 'idle' AND a.state_change < now() - interval '200 ms' \
           THEN pg_terminate_backend(a.pid) ELSE false END \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.classid = {RUN_CLASS} AND l.objid = {r} AND l.objsubid = 2 AND l.granted",
        r = lock.run_key
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if unlock(conn, lock).await? {
            return Ok(());
        }
        let found = conn
            .simple(&sql)
            .await
            .map_err(|e| Error::db("cannot release the migration lock", e))?;
        let Some(r) = rows(found).into_iter().next() else {
            return Ok(()); // gone: the pooler closed it
        };
        if r.get(1) == Some("t") {
            tracing::warn!(
                pid = r.get(0).unwrap_or_default(),
                "pgstrata: the migration lock was left on an idle pooled server session; that session was ended"
            );
            return Ok(());
        }
        if Instant::now() >= deadline {
            let left = holder(conn, k1, k2)
                .await
                .unwrap_or_else(|| format!("pid {}", r.get(0).unwrap_or_default()));
            return Err(not_held(&format!(
                "the migration lock could not be released: it stays held by {left}"
            )));
        }
        conn.sleep(Duration::from_millis(10)).await;
    }
}

/// Who holds the lock: pid, application, user, address, and since when; `None` when
/// nobody does any more.
async fn holder<C: Conn>(conn: &mut C, k1: i32, k2: i32) -> Option<String> {
    let sql = format!(
        "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, ''), \
           coalesce(a.client_addr::text, 'local'), coalesce(a.backend_start::text, ''), \
           coalesce(a.state, ''), coalesce(a.state_change::text, '') \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.classid = {k1} AND l.objid = {k2} AND l.objsubid = 2 AND l.granted"
    );
    match conn.simple(&sql).await {
        Ok(m) => match rows(m).first() {
            Some(r) => {
                let f = |i: usize| r.get(i).unwrap_or_default().to_string();
                Some(format!(
                    "pid {} (application_name {:?}, user {}, from {}, connected since {}, {} since {})",
                    f(0),
                    f(1),
                    f(2),
                    f(3),
                    f(4),
                    f(5),
                    f(6)
                ))
            }
            None => None,
        },
        Err(e) => Some(format!("an unknown session ({e})")),
    }
}

/// Up to a quarter of `d`, from the clock and the pid, so that replicas started together
/// spread their attempts.
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos());
    let seed = u64::from(nanos ^ std::process::id().wrapping_mul(2_654_435_761));
    let quarter = (d.as_micros() / 4).max(1) as u64;
    Duration::from_micros(seed % quarter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_positive() {
        let a = keys(&HistoryTable::parse("pgstrata_migrations").unwrap());
        assert_eq!(
            a,
            keys(&HistoryTable::parse("pgstrata_migrations").unwrap())
        );
        assert_ne!(
            a,
            keys(&HistoryTable::parse("ops.pgstrata_migrations").unwrap())
        );
        assert!(a.1 >= 0);
    }
}
