//! The bad-input catalogue: malformed migration folders given to the real `pgstrata`
//! binary. Each is refused with a message that names the file, the line (and column)
//! where there is one, what is wrong, and a `help:` line saying what to do; no message
//! runs past 8 KB, and nothing hangs or panics. The macro reports the same diagnostics
//! (one code path, `pgstrata_codegen`), as the compile-fail tests show for a sample.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A case: how to build the folder, then what the message must contain.
struct Case {
    name: &'static str,
    setup: Box<dyn Fn(&Path)>,
    /// `file` or `file:line` or `file:line:column` as it must appear.
    at: String,
    /// Words of the message saying what is wrong.
    what: &'static str,
    /// The command (default `generate`).
    command: &'static str,
}

fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn files(list: &'static [(&'static str, &'static str)]) -> Box<dyn Fn(&Path)> {
    Box::new(move |d: &Path| {
        for (name, text) in list {
            write(d, name, text);
        }
    })
}

fn case(name: &'static str, setup: Box<dyn Fn(&Path)>, at: &str, what: &'static str) -> Case {
    Case {
        name,
        setup,
        at: at.to_string(),
        what,
        command: "generate",
    }
}

const OK: &str = "CREATE TABLE t (id int PRIMARY KEY);\n";

fn cases() -> Vec<Case> {
    vec![
        case("no version", files(&[("init.sql", "SELECT 1;")]), "m/init.sql", "cannot read a version"),
        case("refinery name with one underscore", files(&[("V1_init.sql", "SELECT 1;")]), "m/V1_init.sql", "cannot read a version"),
        case("V without a number", files(&[("V__init.sql", "SELECT 1;")]), "m/V__init.sql", "cannot read a version"),
        case("version too large", files(&[("V99999999999999999999__a.sql", "SELECT 1;")]), "m/V99999999999999999999__a.sql", "cannot read a version"),
        case("duplicate version", files(&[("V1__a.sql", "SELECT 1;"), ("V1__b.sql", "SELECT 2;")]), "m/V1__b.sql", "version 1 is used twice"),
        case("same number written twice", files(&[("1_a.sql", "SELECT 1;"), ("001_b.sql", "SELECT 2;")]), "m/1_a.sql", "used twice"),
        case("down without up", files(&[("V1__a.sql", "SELECT 1;"), ("U2__b.sql", "SELECT 2;")]), "m/U2__b.sql", "no up migration"),
        case("two downs", files(&[("1_a.up.sql", "SELECT 1;"), ("1_a.down.sql", "SELECT 2;"), ("1_b.down.sql", "SELECT 3;")]), "m/1_b.down.sql", "second down migration"),
        case("folder without SQL", files(&[("20250101000000_a/notes.txt", "x")]), "m/20250101000000_a", "neither migration.sql"),
        case("folder without version", files(&[("init/up.sql", "SELECT 1;")]), "m/init", "cannot read a version from this folder"),
        case("layouts mixed", files(&[("V1__a.sql", "SELECT 1;"), ("2_b.up.sql", "SELECT 2;")]), "m:", "layouts are mixed"),
        case("unterminated dollar quote", files(&[("V1__a.sql", "SELECT 1;\nCREATE FUNCTION f() RETURNS int AS $body$\nSELECT 1;\n")]), "m/V1__a.sql:2:36", "unterminated dollar quote $body$"),
        case("unterminated block comment", files(&[("V1__a.sql", "SELECT 1;\n/* a /* nested */\nSELECT 2;\n")]), "m/V1__a.sql:2:1", "unterminated block comment"),
        case("unterminated string", files(&[("V1__a.sql", "SELECT 1;\nINSERT INTO t VALUES ('it's');\n")]), "m/V1__a.sql:2:", "unterminated string"),
        case("unterminated quoted identifier", files(&[("V1__a.sql", "CREATE TABLE \"t (id int);\n")]), "m/V1__a.sql:1:14", "unterminated quoted identifier"),
        case("syntax error in CREATE TABLE", files(&[("V1__a.sql", "SELECT 1;\nCREATE TABLE t (id int;\n")]), "m/V1__a.sql:2:1", "cannot model this statement"),
        case("syntax error in ALTER TABLE", files(&[("V1__a.sql", OK), ("V2__b.sql", "ALTER TABLE t ADD COLUMN;\n")]), "m/V2__b.sql:1:1", "may change columns"),
        case("ALTER of an unknown table", files(&[("V1__a.sql", "ALTER TABLE nope ADD COLUMN x int;\n")]), "m/V1__a.sql:1:1", "does not exist"),
        case("ALTER of an unknown column", files(&[("V1__a.sql", OK), ("V2__b.sql", "\nALTER TABLE t RENAME COLUMN nope TO x;\n")]), "m/V2__b.sql:2:1", "column nope"),
        case("type created twice", files(&[("V1__a.sql", "CREATE TYPE e AS ENUM ('a');\nCREATE TYPE e AS ENUM ('b');\n")]), "m/V1__a.sql:2:1", "type public.e already exists"),
        case("column declared twice", files(&[("V1__a.sql", "CREATE TABLE t (id int, id int);\n")]), "m/V1__a.sql:1:1", "column id is declared twice"),
        case("not UTF-8", Box::new(|d: &Path| write(d, "V1__a.sql", b"SELECT 1;\nSELECT '\xe9t\xe9';\n")), "m/V1__a.sql:2:9", "not valid UTF-8"),
        case("byte-order mark", Box::new(|d: &Path| write(d, "V1__a.sql", b"\xef\xbb\xbfSELECT 1;\n")), "m/V1__a.sql:1:1", "byte-order mark"),
        case("NUL byte", Box::new(|d: &Path| write(d, "V1__a.sql", b"SELECT 1;\nSELECT 2;\0\n")), "m/V1__a.sql:2:10", "NUL byte"),
        case("CRLF with an error", files(&[("V1__a.sql", "SELECT 1;\r\nSELECT 2;\r\nSELECT 'x;\r\n")]), "m/V1__a.sql:3:8", "unterminated string"),
        case("down section first", files(&[("1_a.sql", "-- migrate:down\nDROP TABLE t;\n-- migrate:up\nCREATE TABLE t (id int);\n")]), "m/1_a.sql:1:1", "comes before -- migrate:up"),
        case("SQL before the up section", files(&[("1_a.sql", "SELECT 0;\n-- migrate:up\nSELECT 1;\n")]), "m/1_a.sql:1:1", "SQL before its -- migrate:up"),
        case("a 50 MB file", Box::new(|d: &Path| write(d, "V1__big.sql", "SELECT 1;\n".repeat(5 << 20))), "m/V1__big.sql", "are not embedded"),
        case(
            "10,000 files, one broken",
            Box::new(|d: &Path| {
                for i in 1..=10_000 {
                    let text = if i == 7_777 { "SELECT 'x;".to_string() } else { format!("SELECT {i};") };
                    write(d, &format!("V{i}__m{i}.sql"), text);
                }
            }),
            "m/V7777__m7777.sql:1:8",
            "unterminated string",
        ),
        case("symlink loop", Box::new(|d: &Path| std::os::unix::fs::symlink("V1__a.sql", d.join("V1__a.sql")).unwrap()), "m/V1__a.sql", "cannot be read"),
        case("dangling symlink", Box::new(|d: &Path| std::os::unix::fs::symlink("gone.sql", d.join("V1__a.sql")).unwrap()), "m/V1__a.sql", "cannot be read"),
        // Unreadable even for root, who ignores file permissions.
        case("unreadable file", Box::new(|d: &Path| std::os::unix::fs::symlink("/proc/self/mem", d.join("V1__a.sql")).unwrap()), "m/V1__a.sql", "cannot be read"),
        case(
            "a FIFO",
            Box::new(|d: &Path| {
                let st = Command::new("mkfifo").arg(d.join("V1__a.sql")).status().unwrap();
                assert!(st.success());
            }),
            "m/V1__a.sql",
            "not a regular file",
        ),
        case("unknown directive", files(&[("V1__a.sql", "-- pgstrata:no-transacton\nSELECT 1;\n")]), "m/V1__a.sql:1:1", "unknown directive"),
        case("directive after the first statement", files(&[("V1__a.sql", "SELECT 1;\n-- pgstrata:no-transaction\nSELECT 2;\n")]), "m/V1__a.sql:2:1", "after the first statement"),
        case("timeout without a duration", files(&[("V1__a.sql", "-- pgstrata:lock-timeout soon\nSELECT 1;\n")]), "m/V1__a.sql:1:1", "needs a duration"),
        case("BEGIN without COMMIT", files(&[("V1__a.sql", "BEGIN;\nCREATE TABLE t (id int);\n")]), "m/V1__a.sql:1:1", "BEGIN without a COMMIT"),
        case("COMMIT without BEGIN", files(&[("V1__a.sql", "CREATE TABLE t (id int);\nCOMMIT;\n")]), "m/V1__a.sql:2:1", "COMMIT without a BEGIN"),
        case("nested BEGIN", files(&[("V1__a.sql", "BEGIN;\nBEGIN;\nSELECT 1;\nCOMMIT;\n")]), "m/V1__a.sql:2:1", "BEGIN inside a transaction"),
        case("ROLLBACK mid-file", files(&[("V1__a.sql", "BEGIN;\nCREATE TABLE t (id int);\nROLLBACK;\nCREATE TABLE u (id int);\n")]), "m/V1__a.sql:3:1", "ROLLBACK in a migration"),
        case("ABORT alone", files(&[("V1__a.sql", "CREATE TABLE t (id int);\nABORT;\n")]), "m/V1__a.sql:2:1", "ABORT in a migration"),
        case("replay directive that does not parse", files(&[("V1__a.sql", "-- pgstrata:replay CREATE TABLE (\nDO $$ BEGIN EXECUTE 'CREATE TABLE x (a int)'; END $$;\n")]), "m/V1__a.sql:2:1", "does not parse"),
        case("DDL hidden in a DO block", files(&[("V1__a.sql", "DO $$ BEGIN CREATE TYPE e AS ENUM ('a'); END $$;\n")]), "m/V1__a.sql:1:1", "cannot model this statement"),
        case("CREATE TABLE AS with unknown columns", files(&[("V1__a.sql", "CREATE TABLE t AS SELECT * FROM generate_series(1, 3);\n")]), "m/V1__a.sql:1:1", "columns of table public.t are not known"),
        case("two tables, one struct", files(&[("V1__a.sql", "CREATE TABLE users (id int);\nCREATE TABLE \"Users\" (id int);\n")]), "m/V1__a.sql:2:1", "both become the Rust name"),
        case("a 40 KB line", Box::new(|d: &Path| write(d, "V1__a.sql", format!("SELECT {} 'x;", "1 + ".repeat(10_000)))), "m/V1__a.sql:1:", "unterminated string"),
        case(
            "unknown key in pgstrata.toml",
            Box::new(|d: &Path| {
                write(d, "V1__a.sql", "SELECT 1;");
                write(d.parent().unwrap(), "pgstrata.toml", "[typess]\n");
            }),
            "pgstrata.toml:1:",
            "unknown",
        ),
    ]
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn every_malformed_input_is_refused_with_file_line_and_what_to_do() {
    let all = cases();
    assert!(all.len() >= 30, "{} cases", all.len());
    let mut failures = Vec::new();
    for (i, c) in all.iter().enumerate() {
        let root =
            Dir(std::env::temp_dir().join(format!("pgstrata-bad-{}-{i}", std::process::id())));
        let _ = std::fs::remove_dir_all(&root.0);
        let dir = root.0.join("m");
        std::fs::create_dir_all(&dir).unwrap();
        (c.setup)(&dir);
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_pgstrata"))
            .arg(c.command)
            .arg("m")
            .current_dir(&root.0)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Nothing may hang: a FIFO once did.
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if started.elapsed() > Duration::from_secs(120) {
                let _ = child.kill();
                failures.push(format!("{}: still running after 120 s", c.name));
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let problems: Vec<&str> = [
            (out.status.code() != Some(1)).then_some("exit code is not 1"),
            (!err.contains(&c.at)).then_some("the place is not named"),
            (!err.contains(c.what)).then_some("what is wrong is not said"),
            (!err.contains("help:")).then_some("no help line"),
            (err.len() > 8 << 10).then_some("the message is over 8 KB"),
            err.contains("panicked").then_some("a panic"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {} (wanted {:?} and {:?}):\n{}",
                c.name,
                problems.join(", "),
                c.at,
                c.what,
                err.chars().take(2000).collect::<String>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    println!(
        "{} malformed inputs, each refused with its place and what to do",
        all.len()
    );
}
