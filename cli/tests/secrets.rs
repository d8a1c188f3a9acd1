//! No password from a connection string shows in anything pgstrata prints: the CLI's
//! output and errors (every command that connects, failing in every way we can make it
//! fail), and the runtime's `Display` and `Debug` of its errors.

use std::path::Path;
use std::process::Command;

use pgstrata_testkit::{fresh_db, server};

/// A password with characters that need percent-encoding in a URL.
const PASSWORD: &str = "s3cr@t:pa/ss%word";
const ENCODED: &str = "s3cr%40t%3Apa%2Fss%25word";

fn leaks(text: &str) -> bool {
    text.contains(PASSWORD) || text.contains(ENCODED) || text.contains("s3cr")
}

/// `url` with the role `leaky` and its password.
fn with_password(url: &str) -> String {
    url.replacen(
        "postgres://postgres@",
        &format!("postgres://leaky:{ENCODED}@"),
        1,
    )
}

fn run(args: &[&str], url: Option<&str>, dir: &Path) -> (String, Option<i32>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgstrata"));
    cmd.args(args).arg(dir).env_remove("DATABASE_URL");
    if let Some(u) = url {
        cmd.env("DATABASE_URL", u);
    }
    let out = cmd.output().unwrap();
    (
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        out.status.code(),
    )
}

#[test]
fn no_output_of_any_command_shows_the_password() {
    let db = fresh_db();
    let mut admin = db.client();
    admin
        .batch_execute(&format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'leaky') THEN \
               CREATE ROLE leaky LOGIN SUPERUSER PASSWORD '{PASSWORD}'; END IF; END $$"
        ))
        .unwrap();
    let url = with_password(db.url());
    assert!(url.contains(ENCODED), "{url}");
    let dir = std::env::temp_dir().join(format!("pgstrata-secrets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("V1__a.sql"),
        "CREATE TABLE a (id int PRIMARY KEY);",
    )
    .unwrap();
    std::fs::write(dir.join("V2__bad.sql"), "SELECT 1/0;").unwrap();
    std::fs::write(dir.join("U2__bad.sql"), "SELECT 1;").unwrap();
    let port = server()
        .admin_url
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .unwrap()
        .to_string();
    let closed = format!("postgres://leaky:{ENCODED}@127.0.0.1:1/nowhere");
    let unparsable = format!("postgres://leaky:{ENCODED}@127.0.0.1:notaport/x");
    let bad_escape = "postgres://leaky:s3cr%zz@127.0.0.1/x".to_string();
    let key_value = format!(
        "host=127.0.0.1 port={port} user=leaky password='{PASSWORD}' dbname={}",
        db.name
    );
    let dump_to = "/nonexistent-dir/backup.dump".to_string();
    let flag_url = url.clone();
    // (what, arguments, DATABASE_URL, what the output must show: the path was taken)
    let cases: Vec<(&str, Vec<&str>, Option<&str>, &str)> = vec![
        ("status", vec!["status"], Some(&url), "2 pending"),
        (
            "status as JSON",
            vec!["status", "--format", "json"],
            Some(&url),
            "\"pending\"",
        ),
        ("up that fails", vec!["up"], Some(&url), "22012"),
        ("drift", vec!["drift"], Some(&url), "matches"),
        (
            "--database-url flag",
            vec!["status", "--database-url", &flag_url],
            None,
            "1 applied",
        ),
        (
            "refused connection",
            vec!["status"],
            Some(&closed),
            "Connection refused",
        ),
        (
            "unparsable URL",
            vec!["status"],
            Some(&unparsable),
            "invalid connection string",
        ),
        (
            "bad percent-encoding",
            vec!["status"],
            Some(&bad_escape),
            "cannot connect",
        ),
        ("key=value string", vec!["up"], Some(&key_value), "22012"),
        (
            "pg_dump that fails",
            vec!["up", "--backup", &dump_to],
            Some(&url),
            "backup failed",
        ),
        (
            "baseline refused",
            vec!["baseline", "1"],
            Some(&url),
            "already has",
        ),
        (
            "resolve refused",
            vec!["resolve", "--applied", "1"],
            Some(&url),
            "is applied",
        ),
        ("down", vec!["down", "--to", "0"], Some(&url), "no down SQL"),
    ];
    let mut leaked = Vec::new();
    for (name, args, u, want) in &cases {
        let (text, code) = run(args, *u, &dir);
        assert!(
            text.contains(want),
            "{name} (exit {code:?}) did not go where meant: {text}"
        );
        if leaks(&text) {
            leaked.push(format!("{name} (exit {code:?}):\n{text}"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        leaked.is_empty(),
        "the password shows in:\n{}",
        leaked.join("\n")
    );
    println!("{} invocations, the password in none", cases.len());
}

#[test]
fn runtime_errors_never_show_the_password() {
    let db = fresh_db();
    let url = with_password(db.url());
    // A connection error, as the runtime's callers see it.
    let closed = format!("postgres://leaky:{ENCODED}@127.0.0.1:1/nowhere");
    let Err(e) = postgres::Client::connect(&closed, postgres::NoTls) else {
        panic!("port 1 accepted a connection");
    };
    assert!(!leaks(&format!("{e} {e:?}")), "{e:?}");
    // A failing migration's error, Display and Debug.
    let mut c = pgstrata_testkit::connect_blocking(&url)
        .or_else(|_| pgstrata_testkit::connect_blocking(db.url()))
        .unwrap();
    let dir = std::env::temp_dir().join(format!("pgstrata-secrets-rt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("V1__bad.sql"), "SELECT 1/0;").unwrap();
    let m = pgstrata_runtime::Migrations::new(pgstrata_codegen::load(&dir).unwrap()).unwrap();
    let e = m.run_blocking(&mut c).unwrap_err();
    let shown = format!("{e}\n{e:?}");
    assert!(shown.contains("22012"), "{shown}");
    assert!(!leaks(&shown), "{shown}");
    let _ = std::fs::remove_dir_all(&dir);
}
