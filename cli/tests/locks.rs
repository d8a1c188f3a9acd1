//! A migration that waits for a table lock, bounded by `up --lock-timeout`.

use pgstrata_testkit::fresh_db;

mod common;
use common::{pgstrata, text, Folder};

/// While another session holds a lock on the table, `up --lock-timeout` fails within
/// the bound, naming that session, with nothing applied; once it lets go, `up` applies.
#[test]
fn a_held_lock_fails_the_migration_naming_the_holder() {
    let db = fresh_db();
    let f = Folder::new("held-lock", &[("V1__t.sql", "CREATE TABLE t (id int);")]);
    let up = pgstrata(Some(db.url()), &["up"], &f.0);
    assert!(up.status.success(), "{}", text(&up));
    std::fs::write(f.0.join("V2__x.sql"), "ALTER TABLE t ADD COLUMN x int;").unwrap();

    let sep = if db.url().contains('?') { '&' } else { '?' };
    let holder_url = format!("{}{sep}application_name=report-job", db.url());
    let mut holder = postgres::Client::connect(&holder_url, postgres::NoTls).unwrap();
    holder
        .batch_execute("BEGIN; LOCK TABLE t IN ACCESS SHARE MODE;")
        .unwrap();
    let blocked = pgstrata(Some(db.url()), &["up", "--lock-timeout", "300ms"], &f.0);
    assert!(!blocked.status.success(), "{}", text(&blocked));
    assert!(
        text(&blocked).contains("55P03") && text(&blocked).contains("report-job"),
        "{}",
        text(&blocked)
    );
    let status = pgstrata(Some(db.url()), &["status"], &f.0);
    assert_eq!(status.status.code(), Some(3), "{}", text(&status));

    holder.batch_execute("COMMIT").unwrap();
    let up = pgstrata(Some(db.url()), &["up", "--lock-timeout", "300ms"], &f.0);
    assert!(up.status.success(), "{}", text(&up));
}
