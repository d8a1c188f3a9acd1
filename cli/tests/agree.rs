//! `status` says what `up` will do: its exit code is the deploy script's "go".

use pgstrata_testkit::fresh_db;

mod common;
use common::{pgstrata, text, Folder};

/// A migration merged late, older than one already applied: `up` refuses it, so
/// `status` exits 4 (needs attention), not 3 (pending), and says why; with
/// `--allow-out-of-order` both agree that it is pending and `up` applies it.
#[test]
fn an_out_of_order_migration_needs_attention_unless_allowed() {
    let db = fresh_db();
    let f = Folder::new("out-of-order", &[("V2__b.sql", "CREATE TABLE b (id int);")]);
    let up = pgstrata(Some(db.url()), &["up"], &f.0);
    assert!(up.status.success(), "{}", text(&up));
    std::fs::write(f.0.join("V1__a.sql"), "CREATE TABLE a (id int);").unwrap();

    let status = pgstrata(Some(db.url()), &["status"], &f.0);
    assert_eq!(status.status.code(), Some(4), "{}", text(&status));
    assert!(
        text(&status).contains("comes before V2__b, which is applied"),
        "{}",
        text(&status)
    );
    let up = pgstrata(Some(db.url()), &["up"], &f.0);
    assert!(!up.status.success(), "{}", text(&up));

    let allowed = pgstrata(Some(db.url()), &["status", "--allow-out-of-order"], &f.0);
    assert_eq!(allowed.status.code(), Some(3), "{}", text(&allowed));
    let up = pgstrata(Some(db.url()), &["up", "--allow-out-of-order"], &f.0);
    assert!(up.status.success(), "{}", text(&up));
    assert_eq!(
        pgstrata(Some(db.url()), &["status"], &f.0).status.code(),
        Some(0)
    );
}
