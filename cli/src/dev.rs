//! Development commands: `seed`, `reset`, and `mark`, the production guard both respect.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use pgstrata_core::sql::{delimited, literal};

use crate::db::{self, chain, connect};
use crate::migrate::load;
use crate::show::out;
use crate::Db;

/// The seeds folder: as given, or `seeds` beside the migrations folder.
pub fn seeds_dir(dir: &Path, seeds: Option<PathBuf>) -> PathBuf {
    seeds.unwrap_or_else(|| {
        dir.parent()
            .map_or_else(|| PathBuf::from("seeds"), |p| p.join("seeds"))
    })
}

/// Every `.sql` file of the seeds folder, in name order.
fn seed_files(seeds: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(seeds).map_err(|e| {
        format!(
            "cannot read the seeds folder {}: {e}\n  help: put development data in .sql files there, or name the folder with --seeds",
            seeds.display()
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    Ok(files)
}

/// Runs each seed file once per content, in name order, each in a transaction with the
/// row that records it, so that running `seed` again changes nothing.
pub fn seed(dir: &Path, seeds: &Path, db: &Db, force: bool) -> Result<u8, String> {
    let files = seed_files(seeds)?;
    let migrations = load(dir)?;
    let mut client = connect(db)?;
    if !force {
        db::refuse_production(db, &mut client, "seed", Some("--force"))?;
    }
    let history = migrations
        .history_blocking(&mut client, &db.history_table)
        .map_err(|e| e.to_string())?;
    let behind = migrations
        .status(&history)
        .iter()
        .filter(|r| {
            r.state != pgstrata_runtime::status::State::Applied
                && r.state != pgstrata_runtime::status::State::Unknown
        })
        .count();
    if behind > 0 {
        return Err(format!(
            "{behind} migrations are not applied: seeds expect the schema they build\n  help: run `pgstrata up` first"
        ));
    }
    let table = db::history_table(db)?.sibling("pgstrata_seeds");
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, checksum text NOT NULL, \
             applied_at timestamptz NOT NULL DEFAULT now())",
            table.sql()
        ))
        .map_err(|e| format!("cannot create the seeds table: {}", chain(&e)))?;
    let done: Vec<(String, String)> = client
        .query(
            format!("SELECT name, checksum FROM {}", table.sql()).as_str(),
            &[],
        )
        .map_err(|e| format!("cannot read the seeds table: {}", chain(&e)))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let (mut ran, mut kept) = (0, 0);
    for path in files {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let shown = path.display().to_string();
        let sql = std::fs::read_to_string(&path).map_err(|e| {
            format!("{shown}: cannot be read: {e}\n  help: seeds are UTF-8 SQL files")
        })?;
        let checksum = pgstrata_core::checksum(&sql);
        if done.iter().any(|(n, c)| *n == name && *c == checksum) {
            out(&format!("{name}: already seeded\n"))?;
            kept += 1;
            continue;
        }
        const BEGIN: &str = "BEGIN;\n";
        let message = format!(
            "{BEGIN}{sql}\n;\nINSERT INTO {t} (name, checksum) VALUES ({n}, {c}) \
             ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now();\nCOMMIT;",
            t = table.sql(),
            n = literal(&name),
            c = literal(&checksum)
        );
        if let Err(e) = client.batch_execute(&message) {
            let _ = client.batch_execute("ROLLBACK");
            let at = e
                .as_db_error()
                .and_then(|d| match d.position() {
                    Some(postgres::error::ErrorPosition::Original(p)) => Some(*p as usize),
                    _ => None,
                })
                .map(|p| {
                    let chars = p.saturating_sub(1 + BEGIN.len());
                    let byte = sql.char_indices().nth(chars).map_or(sql.len(), |(b, _)| b);
                    let (line, col) = pgstrata_core::line_col(&sql, byte);
                    format!(":{line}:{col}")
                })
                .unwrap_or_default();
            return Err(format!(
                "seed {shown}{at} failed and was rolled back: {}\n  help: fix the seed; the seeds before it stay applied",
                db::pg_error(&e)
            ));
        }
        out(&format!("{name}: seeded\n"))?;
        ran += 1;
    }
    out(&format!("{ran} seeded, {kept} already seeded\n"))?;
    Ok(0)
}

/// Drops what the migrations created (or the whole database), applies them again and
/// seeds. Never on a database marked production.
pub fn reset(dir: &Path, seeds: &Path, db: &Db, recreate: bool, yes: bool) -> Result<u8, String> {
    let model = crate::files::catalog(dir)?;
    load(dir)?;
    let mut client = connect(db)?;
    db::refuse_production(db, &mut client, "reset", None)?;
    let name: String = client
        .query_one("SELECT current_database()", &[])
        .map_err(|e| chain(&e))?
        .get(0);
    let mut schemas: Vec<String> = vec!["public".into()];
    schemas.extend(model.schemas.iter().cloned());
    if let Some(s) = db::history_table(db)?.schema() {
        schemas.push(s.to_string());
    }
    schemas.dedup();
    if !yes {
        let what = if recreate {
            format!("drops and recreates the database {name}")
        } else {
            format!(
                "drops everything in the schemas {} of the database {name}",
                schemas.join(", ")
            )
        };
        eprint!(
            "reset {what}, then applies the migrations again.\nType the database's name to go on: "
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if answer.trim() != name {
            return Err("the name did not match: nothing was changed\n  help: pass --yes to skip the question (scripts, CI)".into());
        }
    }
    if recreate {
        drop(client);
        let mut config: postgres::Config = db::url(db)?
            .parse()
            .map_err(|e| format!("cannot read the database URL: {e}"))?;
        config.dbname("postgres");
        let mut admin = config.connect(postgres::NoTls).map_err(|e| {
            format!(
                "cannot connect to the maintenance database postgres: {}",
                chain(&e)
            )
        })?;
        admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {n} WITH (FORCE)",
                n = delimited(&name)
            ))
            .and_then(|()| admin.batch_execute(&format!("CREATE DATABASE {}", delimited(&name))))
            .map_err(|e| format!("cannot recreate the database {name}: {}", chain(&e)))?;
        out(&format!("recreated the database {name}\n"))?;
    } else {
        drop_schemas(&mut client, &schemas)?;
        out(&format!("dropped everything in {}\n", schemas.join(", ")))?;
    }
    crate::migrate::up(
        dir,
        db,
        crate::migrate::Up {
            to: None,
            dry_run: false,
            grouped: false,
            backup: None,
            allow_out_of_order: false,
            lock_timeout: None,
            statement_timeout: None,
        },
    )?;
    if seeds.is_dir() {
        seed(dir, seeds, db, false)?;
    }
    Ok(0)
}

/// Drops the schemas and everything in them; `public` is created again with the owner,
/// privileges and comment it had.
fn drop_schemas(client: &mut postgres::Client, schemas: &[String]) -> Result<(), String> {
    let public: Vec<String> = client
        .query(
            "SELECT format('ALTER SCHEMA public OWNER TO %I', pg_get_userbyid(nspowner)) FROM pg_namespace WHERE nspname = 'public' \
             UNION ALL SELECT format('GRANT %s ON SCHEMA public TO %s', a.privilege_type, \
               CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END) \
             FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname = 'public' \
             UNION ALL SELECT format('COMMENT ON SCHEMA public IS %L', obj_description(oid, 'pg_namespace')) \
             FROM pg_namespace WHERE nspname = 'public' AND obj_description(oid, 'pg_namespace') IS NOT NULL",
            &[],
        )
        .map_err(|e| format!("cannot read the public schema's owner and privileges: {}", chain(&e)))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut sql = String::from("BEGIN;\n");
    for s in schemas {
        sql.push_str(&format!(
            "DROP SCHEMA IF EXISTS {} CASCADE;\n",
            delimited(s)
        ));
    }
    sql.push_str("CREATE SCHEMA public;\n");
    for stmt in public {
        sql.push_str(&stmt);
        sql.push_str(";\n");
    }
    sql.push_str("COMMIT;");
    client.batch_execute(&sql).map_err(|e| {
        let _ = client.batch_execute("ROLLBACK");
        format!(
            "cannot drop the schemas (nothing was dropped): {}\n  help: the user must own them; or use --recreate",
            chain(&e)
        )
    })
}

/// `pgstrata mark production|development`.
pub fn mark(db: &Db, environment: &str) -> Result<u8, String> {
    let mut client = connect(db)?;
    db::mark(db, &mut client, environment)?;
    out(&format!("the database is marked {environment}\n"))?;
    Ok(0)
}
