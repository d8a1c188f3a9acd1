//! How the CLI connects: as an operator expects of a libpq program.

use pgstrata_testkit::fresh_db;

mod common;
use common::{pgstrata, text, Folder};

/// Other sessions see the CLI as `pgstrata` in `pg_stat_activity` (a migration records
/// the name its own session has), unless the connection string names it otherwise.
#[test]
fn the_session_is_named_pgstrata_unless_the_url_names_it() {
    let files = [(
        "V1__seen.sql",
        "CREATE TABLE seen AS SELECT current_setting('application_name') AS name;",
    )];
    let db = fresh_db();
    let f = Folder::new("application-name", &files);
    let up = pgstrata(Some(db.url()), &["up"], &f.0);
    assert!(up.status.success(), "{}", text(&up));
    let seen = |url: &str| -> String {
        let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
        c.query_one("SELECT name FROM seen", &[]).unwrap().get(0)
    };
    assert_eq!(seen(db.url()), "pgstrata");

    let named = fresh_db();
    let sep = if named.url().contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}application_name=deploy-7", named.url());
    let up = pgstrata(Some(&url), &["up"], &f.0);
    assert!(up.status.success(), "{}", text(&up));
    assert_eq!(seen(named.url()), "deploy-7");
}
