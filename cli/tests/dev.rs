//! `seed`, `reset` and `mark`, run as the real binary against PostgreSQL.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use pgstrata_testkit::fresh_db;

/// A project folder with `migrations/` and `seeds/`.
struct Project(PathBuf);

impl Project {
    fn new(name: &str) -> Project {
        let root = std::env::temp_dir().join(format!("pgstrata-dev-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let p = Project(root);
        p.write(
            "migrations/V1__users.sql",
            "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL UNIQUE);",
        );
        p.write("migrations/V2__posts.sql", "CREATE SCHEMA blog;\nCREATE TABLE blog.posts (id serial PRIMARY KEY, user_id int REFERENCES users, title text);");
        p.write(
            "seeds/01_users.sql",
            "INSERT INTO users VALUES (1, 'a@example.com'), (2, 'b@example.com');",
        );
        p.write(
            "seeds/02_posts.sql",
            "INSERT INTO blog.posts (user_id, title) VALUES (1, 'hello'), (2, 'world');",
        );
        p
    }

    fn write(&self, path: &str, text: &str) {
        let p = self.0.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn migrations(&self) -> PathBuf {
        self.0.join("migrations")
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pgstrata(url: &str, args: &[&str], dir: &Path, stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgstrata"));
    cmd.args(args);
    if args[0] != "mark" {
        cmd.arg(dir);
    }
    let mut child = cmd
        .env("DATABASE_URL", url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every row of the seeded tables, as text, sorted.
fn rows(c: &mut postgres::Client) -> Vec<String> {
    let mut out: Vec<String> = c
        .query(
            "SELECT format('users %s %s', id, email) FROM users UNION ALL \
             SELECT format('posts %s %s %s', id, user_id, title) FROM blog.posts",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    out.sort();
    out
}

#[test]
fn seed_twice_leaves_the_same_rows() {
    let p = Project::new("seed");
    let db = fresh_db();
    let m = p.migrations();
    let early = pgstrata(db.url(), &["seed"], &m, None);
    assert!(!early.status.success());
    assert!(text(&early).contains("pgstrata up"), "{}", text(&early));

    assert!(pgstrata(db.url(), &["up"], &m, None).status.success());
    let first = pgstrata(db.url(), &["seed"], &m, None);
    assert!(first.status.success(), "{}", text(&first));
    assert!(
        text(&first).contains("2 seeded, 0 already seeded"),
        "{}",
        text(&first)
    );
    let mut c = db.client();
    let after_first = rows(&mut c);
    assert_eq!(after_first.len(), 4, "{after_first:?}");

    let second = pgstrata(db.url(), &["seed"], &m, None);
    assert!(second.status.success(), "{}", text(&second));
    assert!(
        text(&second).contains("0 seeded, 2 already seeded"),
        "{}",
        text(&second)
    );
    assert_eq!(
        rows(&mut c),
        after_first,
        "running seed again changes nothing"
    );

    // A failing seed names its file and line, and is rolled back.
    p.write(
        "seeds/03_bad.sql",
        "INSERT INTO users VALUES (3, 'c@example.com');\nINSERT INTO users VALUES (1, 'dup');",
    );
    let bad = pgstrata(db.url(), &["seed"], &m, None);
    assert!(!bad.status.success());
    let out = text(&bad);
    assert!(
        out.contains("03_bad.sql") && out.contains("23505") && out.contains("rolled back"),
        "{out}"
    );
    assert_eq!(rows(&mut c), after_first, "the failed seed left nothing");
}

#[test]
fn production_marked_databases_are_refused_by_seed_and_reset() {
    let p = Project::new("prod");
    let db = fresh_db();
    let m = p.migrations();
    assert!(pgstrata(db.url(), &["up"], &m, None).status.success());
    let mark = pgstrata(db.url(), &["mark", "production"], &m, None);
    assert!(mark.status.success(), "{}", text(&mark));

    let seed = pgstrata(db.url(), &["seed"], &m, None);
    assert!(!seed.status.success());
    assert!(
        text(&seed).contains("marked production") && text(&seed).contains("--force"),
        "{}",
        text(&seed)
    );
    let mut c = db.client();
    assert!(rows(&mut c).is_empty());

    let reset = pgstrata(db.url(), &["reset", "--yes"], &m, None);
    assert!(!reset.status.success());
    assert!(
        text(&reset).contains("marked production"),
        "{}",
        text(&reset)
    );
    let recreate = pgstrata(db.url(), &["reset", "--yes", "--recreate"], &m, None);
    assert!(!recreate.status.success(), "{}", text(&recreate));
    c.batch_execute("INSERT INTO users VALUES (9, 'kept@example.com')")
        .unwrap();
    assert_eq!(
        rows(&mut c),
        ["users 9 kept@example.com"],
        "nothing was dropped"
    );

    let forced = pgstrata(db.url(), &["seed", "--force"], &m, None);
    assert!(forced.status.success(), "{}", text(&forced));
}

#[test]
fn reset_asks_then_drops_reapplies_and_seeds() {
    let p = Project::new("reset");
    let db = fresh_db();
    let m = p.migrations();
    assert!(pgstrata(db.url(), &["up"], &m, None).status.success());
    let mut c = db.client();
    c.batch_execute(
        "INSERT INTO users VALUES (7, 'old@example.com'); CREATE TABLE blog.scratch (x int)",
    )
    .unwrap();
    drop(c);

    let no = pgstrata(db.url(), &["reset"], &m, Some("not-the-name\n"));
    assert!(!no.status.success());
    assert!(text(&no).contains("nothing was changed"), "{}", text(&no));
    let mut c = db.client();
    assert_eq!(rows(&mut c), ["users 7 old@example.com"]);
    drop(c);

    let yes = pgstrata(db.url(), &["reset"], &m, Some(&format!("{}\n", db.name)));
    assert!(yes.status.success(), "{}", text(&yes));
    let out = text(&yes);
    assert!(
        out.contains("applied V1__users") && out.contains("2 seeded"),
        "{out}"
    );
    let mut c = db.client();
    assert_eq!(rows(&mut c).len(), 4, "only the seeds' rows");
    let scratch: bool = c
        .query_one("SELECT to_regclass('blog.scratch') IS NULL", &[])
        .unwrap()
        .get(0);
    assert!(scratch, "what the migrations' schemas held is gone");
    let public_usage: bool = c
        .query_one(
            "SELECT has_schema_privilege('public', 'public', 'USAGE')",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(public_usage, "public keeps its privileges");
    drop(c);

    let recreated = pgstrata(db.url(), &["reset", "--yes", "--recreate"], &m, None);
    assert!(recreated.status.success(), "{}", text(&recreated));
    assert!(
        text(&recreated).contains("recreated the database"),
        "{}",
        text(&recreated)
    );
    let mut c = db.client();
    assert_eq!(rows(&mut c).len(), 4);
}
