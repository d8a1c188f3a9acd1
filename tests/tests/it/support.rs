//! Fixtures for the integration tests: migration folders written to a temporary
//! directory, and catalog snapshots read from a live database.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use pgstrata::Migrations;

static N: AtomicUsize = AtomicUsize::new(0);

/// A folder of migration files, removed when dropped.
pub struct Fixture {
    pub dir: PathBuf,
}

impl Fixture {
    /// Writes `files` (path relative to the folder, content) into a new folder.
    pub fn new(files: &[(&str, &str)]) -> Fixture {
        let dir = std::env::temp_dir().join(format!(
            "pgstrata-fixture-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let f = Fixture { dir };
        for (path, text) in files {
            f.write(path, text);
        }
        f
    }

    pub fn write(&self, path: &str, text: &str) {
        let p = self.dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn migrations(&self) -> Migrations {
        load(&self.dir)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Three migrations, V1, V2 and V10 (numeric order is not text order).
pub fn three() -> Fixture {
    Fixture::new(&[
        (
            "V1__users.sql",
            "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);",
        ),
        (
            "V2__posts.sql",
            "CREATE TABLE posts (id bigint PRIMARY KEY, user_id bigint REFERENCES users);",
        ),
        (
            "V10__index.sql",
            "CREATE INDEX posts_user ON posts (user_id);",
        ),
    ])
}

/// Loads a folder through the same resolver the macro uses.
pub fn load(dir: &Path) -> Migrations {
    let list = pgstrata_codegen::load(dir).unwrap_or_else(|e| panic!("{e}"));
    Migrations::new(list).unwrap()
}

/// The versions the logged fixture's migrations wrote into `applied_log`, in order; empty
/// before V1 (which creates the log) is applied.
pub fn applied_log(c: &mut postgres::Client) -> Vec<i32> {
    match c.query("SELECT version FROM applied_log ORDER BY version", &[]) {
        Ok(rows) => rows.iter().map(|r| r.get(0)).collect(),
        Err(_) => Vec::new(),
    }
}

/// Rows of the history table, as (version, state).
pub fn history(client: &mut postgres::Client) -> Vec<(i64, String)> {
    client
        .query(
            "SELECT version, state FROM pgstrata_migrations ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Advisory locks held in the current database (pg_locks is cluster-wide, and other
/// tests run beside this one).
pub fn advisory_locks(client: &mut postgres::Client) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .unwrap()
        .get(0)
}

pub fn table_exists(client: &mut postgres::Client, name: &str) -> bool {
    client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
        .unwrap()
        .get(0)
}

/// Everything in the database's schemas that migrations create, as sorted lines:
/// columns (with `format_type`, nullability, defaults, identity, generation), constraints,
/// indexes, enums with label order, views, functions, triggers, policies, sequences and
/// comments. The history table is left out.
pub fn catalog(client: &mut postgres::Client) -> Vec<String> {
    const USER: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%'";
    let queries = [
        format!(
            "SELECT format('column %s.%s(%s) #%s %s %s notnull=%s default=%s identity=%s generated=%s', n.nspname, c.relname, c.relkind, a.attnum, a.attname, \
               format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated) \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE {USER} AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'v', 'm', 'p', 'f') AND c.relname <> 'pgstrata_migrations'"
        ),
        format!(
            "SELECT format('constraint %s.%s %s %s', n.nspname, c.relname, co.conname, pg_get_constraintdef(co.oid)) \
             FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE {USER} AND c.relname <> 'pgstrata_migrations'"
        ),
        format!(
            "SELECT format('domain-constraint %s %s', co.conname, pg_get_constraintdef(co.oid)) FROM pg_constraint co \
             JOIN pg_type t ON t.oid = co.contypid JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {USER}"
        ),
        "SELECT format('index %s', indexdef) FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog') AND tablename <> 'pgstrata_migrations'".to_string(),
        format!(
            "SELECT format('enum %s.%s %s', nspname, typname, labels) FROM (SELECT n.nspname, t.typname, \
               string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) AS labels \
             FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {USER} \
             GROUP BY 1, 2) x"
        ),
        format!(
            "SELECT format('type %s.%s %s %s', n.nspname, t.typname, t.typtype, format_type(t.typbasetype, t.typtypmod)) \
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {USER} AND t.typtype IN ('d', 'e', 'c') \
             AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')"
        ),
        format!("SELECT format('view %s.%s %s', n.nspname, c.relname, md5(pg_get_viewdef(c.oid))) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER} AND c.relkind IN ('v', 'm')"),
        format!("SELECT format('function %s.%s(%s) %s', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), md5(p.prosrc)) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {USER}"),
        "SELECT format('trigger %s %s', tgname, pg_get_triggerdef(t.oid)) FROM pg_trigger t WHERE NOT tgisinternal".to_string(),
        "SELECT format('policy %s.%s %s %s %s %s', schemaname, tablename, policyname, cmd, qual, with_check) FROM pg_policies".to_string(),
        format!("SELECT format('rls %s.%s %s %s', n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER} AND c.relkind = 'r' AND c.relname <> 'pgstrata_migrations'"),
        format!("SELECT format('sequence %s.%s', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER} AND c.relkind = 'S'"),
        "SELECT format('comment %s %s %s', classoid::regclass, objsubid, description) FROM pg_description d WHERE objoid >= 16384 AND classoid = 'pg_class'::regclass AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = d.objoid AND c.relname = 'pgstrata_migrations')".to_string(),
        "SELECT format('schema %s', nspname) FROM pg_namespace n WHERE nspname NOT LIKE 'pg_%' AND nspname <> 'information_schema'".to_string(),
        "SELECT format('extension %s', extname) FROM pg_extension".to_string(),
    ];
    let mut lines = Vec::new();
    for q in queries {
        for r in client
            .query(q.as_str(), &[])
            .unwrap_or_else(|e| panic!("{q}: {e}"))
        {
            lines.push(r.get::<_, String>(0));
        }
    }
    lines.sort();
    lines
}

/// Applies the up files of a folder loaded with [`load`] (so `file()` is a path) with psql, the way a person would: each file
/// in one transaction (`-1`), except those PostgreSQL refuses in one.
pub fn apply_with_psql(url: &str, migrations: &Migrations) {
    for m in migrations {
        let single = matches!(
            m.transaction(),
            pgstrata::__private::Transaction::Wrapped
                | pgstrata::__private::Transaction::OwnBeginCommit { .. }
        );
        let mut cmd = std::process::Command::new(pgstrata_testkit::psql());
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]);
        if single {
            cmd.arg("-1");
        }
        let out = cmd
            .arg("-f")
            .arg(m.file())
            .output()
            .expect("psql (postgresql-client) must be installed");
        assert!(
            out.status.success(),
            "psql failed on {}: {}",
            m.file(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The queries of `tests/queries/<name>.sql`, one per statement.
pub fn queries(name: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("queries")
        .join(format!("{name}.sql"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let split = pgstrata_core::split::split(&text).unwrap_or_else(|e| panic!("{e:?}"));
    split
        .statements
        .iter()
        .map(|s| text[s.span.range()].to_string())
        .collect()
}
