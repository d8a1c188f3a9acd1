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
) -> Result<(), Error> {
    let (k1, k2) = keys(table);
    let started = Instant::now();
    let mut delay = Duration::from_millis(5);
    let try_sql = format!("SELECT pg_try_advisory_lock({k1}, {k2})");
    loop {
        let got = conn
            .simple(&try_sql)
            .await
            .map_err(|e| Error::db("cannot take the migration lock", e))?;
        if rows(got).first().and_then(|r| r.get(0)) == Some("t") {
            break;
        }
        if started.elapsed() >= timeout {
            let holder = holder(conn, k1, k2).await;
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
    // A transaction-pooling proxy may have run the lock on one server connection and will
    // run the migrations on others. Check the lock from this session's point of view.
    let check = format!(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = {k1} AND objid = {k2} \
         AND objsubid = 2 AND granted AND pid = pg_backend_pid()"
    );
    let held = conn
        .simple(&check)
        .await
        .map_err(|e| Error::db("cannot check the migration lock", e))?;
    if rows(held).first().and_then(|r| r.get(0)) != Some("1") {
        // Release it wherever it went; a pooled connection may keep it otherwise.
        let _ = release(conn, table).await;
        return Err(Error::new(
            ErrorKind::LockNotHeld,
            "the migration lock was granted but this session does not hold it: the connection goes through a \
             pooler in transaction mode (such as PgBouncer with pool_mode = transaction)\n  \
             help: run migrations over a direct connection to PostgreSQL, or a pooler in session mode",
        ));
    }
    Ok(())
}

/// Releases the lock.
pub(crate) async fn release<C: Conn>(conn: &mut C, table: &HistoryTable) -> Result<(), Error> {
    let (k1, k2) = keys(table);
    conn.simple(&format!("SELECT pg_advisory_unlock({k1}, {k2})"))
        .await
        .map(|_| ())
        .map_err(|e| Error::db("cannot release the migration lock", e))
}

/// Who holds the lock: pid, application, user, address, and since when.
async fn holder<C: Conn>(conn: &mut C, k1: i32, k2: i32) -> String {
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
                format!(
                    "pid {} (application_name {:?}, user {}, from {}, connected since {}, {} since {})",
                    f(0),
                    f(1),
                    f(2),
                    f(3),
                    f(4),
                    f(5),
                    f(6)
                )
            }
            None => "a session that has since released it".to_string(),
        },
        Err(e) => format!("an unknown session ({e})"),
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
