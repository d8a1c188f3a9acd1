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

/// Without `DATABASE_URL`, libpq's variables say where to connect, as for `psql`; a
/// `.env` file in the working directory is read as sqlx-cli and diesel read it.
#[test]
fn libpq_variables_and_a_dot_env_file_say_where_to_connect() {
    let db = fresh_db();
    let f = Folder::new("environment", &[("V1__a.sql", "CREATE TABLE a (id int);")]);
    let config: postgres::Config = db.url().parse().unwrap();
    let host = match &config.get_hosts()[0] {
        postgres::config::Host::Tcp(h) => h.clone(),
        postgres::config::Host::Unix(p) => p.display().to_string(),
    };
    let run = |envs: &[(&str, String)], cwd: &std::path::Path| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pgstrata"));
        cmd.args(["up"]).arg(&f.0).current_dir(cwd);
        for v in [
            "DATABASE_URL",
            "PGHOST",
            "PGPORT",
            "PGUSER",
            "PGDATABASE",
            "PGPASSWORD",
        ] {
            cmd.env_remove(v);
        }
        cmd.envs(envs.iter().map(|(k, v)| (*k, v.as_str())));
        cmd.output().unwrap()
    };
    let nowhere = std::env::temp_dir();
    let none = run(&[], &nowhere);
    assert!(
        !none.status.success() && text(&none).contains("PGHOST"),
        "{}",
        text(&none)
    );
    let vars = [
        ("PGHOST", host.clone()),
        ("PGPORT", config.get_ports()[0].to_string()),
        ("PGUSER", config.get_user().unwrap().to_string()),
        ("PGDATABASE", config.get_dbname().unwrap().to_string()),
    ];
    let up = run(&vars, &nowhere);
    assert!(
        up.status.success() && text(&up).contains("1 applied"),
        "{}",
        text(&up)
    );

    let other = fresh_db();
    let home = Folder::new(
        "dot-env",
        &[(".env", &format!("DATABASE_URL={}\n", other.url()))],
    );
    let up = run(&[], &home.0);
    assert!(
        up.status.success() && text(&up).contains("1 applied"),
        "{}",
        text(&up)
    );
}

/// A listener that accepts connections and never answers (a stuck server or pooler):
/// every command gives up after its connect timeout, from `--connect-timeout` or the
/// URL's `connect_timeout`, with a message saying so, instead of hanging the deploy.
#[test]
fn a_server_that_never_answers_is_given_up_on() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let f = Folder::new("silent", &[("V1__a.sql", "CREATE TABLE a (id int);")]);
    let url = format!("postgres://someone@127.0.0.1:{port}/db");
    let cases: [(&[&str], String); 3] = [
        (&["status", "--connect-timeout", "1"], url.clone()),
        (&["up"], format!("{url}?connect_timeout=1")),
        (&["drift", "--connect-timeout", "1"], url.clone()),
    ];
    for (args, url) in cases {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pgstrata"))
            .args(args)
            .arg(&f.0)
            .env("DATABASE_URL", &url)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("{args:?} still waiting after 30 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("no answer within 1 s"),
            "{args:?}: {}",
            text(&out)
        );
    }
}
