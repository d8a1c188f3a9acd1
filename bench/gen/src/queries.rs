//! N queries over `inline-migrations`, written for pgstrata's `query!`, sqlx's `query!`
//! and by hand. Each query is one of eight shapes made distinct by a constant, so no
//! two expansions are the same; each version decodes the same typed row.

use std::fmt::Write;
use std::path::Path;

/// One query shape: its SQL (with `{i}` for the constant), its arguments for each
/// writer, and the Rust types a hand-written decoder reads (empty: rows affected).
struct Shape {
    sql: &'static str,
    pgstrata: &'static str,
    sqlx: &'static str,
    hand: &'static str,
    row: &'static [&'static str],
}

const SHAPES: &[Shape] = &[
    Shape {
        sql: "SELECT id, name, email FROM users WHERE id = $1 AND id > -{i}",
        pgstrata: "1i64",
        sqlx: "1i64",
        hand: "&1i64",
        row: &["i64", "String", "Option<String>"],
    },
    Shape {
        sql: "SELECT p.id, p.title, u.name FROM posts p JOIN users u ON u.id = p.user_id WHERE p.score > $1 - {i}",
        pgstrata: "0i32",
        sqlx: "0i32",
        hand: "&0i32",
        row: &["i64", "String", "String"],
    },
    Shape {
        sql: "INSERT INTO posts (user_id, title, body) VALUES ($1, $2, $3) RETURNING id, {i} AS k",
        pgstrata: "1i64, \"title\", Some(\"body\")",
        sqlx: "1i64, \"title\", Some(\"body\")",
        hand: "&1i64, &\"title\", &Some(\"body\")",
        row: &["i64", "i32"],
    },
    Shape {
        sql: "UPDATE users SET name = $1 WHERE id = $2 AND {i} > 0",
        pgstrata: "\"renamed\", 1i64",
        sqlx: "\"renamed\", 1i64",
        hand: "&\"renamed\", &1i64",
        row: &[],
    },
    Shape {
        sql: "SELECT u.name, count(p.id) AS posts FROM users u LEFT JOIN posts p ON p.user_id = u.id WHERE u.id > $1 GROUP BY u.name HAVING count(p.id) >= {i} % 5",
        pgstrata: "0i64",
        sqlx: "0i64",
        hand: "&0i64",
        row: &["String", "i64"],
    },
    Shape {
        sql: "DELETE FROM posts WHERE user_id = $1 AND score < -{i}",
        pgstrata: "1i64",
        sqlx: "1i64",
        hand: "&1i64",
        row: &[],
    },
    Shape {
        sql: "SELECT title, coalesce(body, '') AS body FROM posts WHERE user_id = ANY($1) LIMIT {i} + 1",
        pgstrata: "&ids[..]",
        sqlx: "&ids[..]",
        hand: "&ids",
        row: &["String", "String"],
    },
    Shape {
        sql: "SELECT id, active FROM users WHERE email IS NULL AND name LIKE $1 ORDER BY id OFFSET {i}",
        pgstrata: "\"re%\"",
        sqlx: "\"re%\"",
        hand: "&\"re%\"",
        row: &["i64", "bool"],
    },
];

const SETUP: &str =
    "INSERT INTO users (id, name) VALUES (1, 'one'), (2, 'two') ON CONFLICT DO NOTHING";

pub fn write(n: usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let (mut pg, mut sqlx, mut hand) = (String::new(), String::new(), String::new());
    let mut calls = String::new();
    for i in 0..n {
        let s = &SHAPES[i % SHAPES.len()];
        let sql = s.sql.replace("{i}", &i.to_string());
        let ids = if s.pgstrata.contains("ids") {
            "    let ids = vec![1i64, 2];\n"
        } else {
            ""
        };
        let (fetch, count) = if s.row.is_empty() {
            ("execute", "n as usize")
        } else {
            ("fetch_all", "n.len()")
        };
        let _ = write!(
            pg,
            "async fn q{i}(c: &tokio_postgres::Client) -> Result<usize, tokio_postgres::Error> {{\n{ids}    let n = pgstrata::query!({sql:?}, {}).{fetch}(c).await?;\n    Ok({count})\n}}\n\n",
            s.pgstrata
        );
        let (sfetch, scount) = if s.row.is_empty() {
            ("execute", "n.rows_affected() as usize")
        } else {
            ("fetch_all", "n.len()")
        };
        let _ = write!(
            sqlx,
            "async fn q{i}(c: &sqlx::PgPool) -> Result<usize, sqlx::Error> {{\n{ids}    let n = sqlx::query!({sql:?}, {}).{sfetch}(c).await?;\n    Ok({scount})\n}}\n\n",
            s.sqlx
        );
        if s.row.is_empty() {
            let _ = write!(
                hand,
                "async fn q{i}(c: &tokio_postgres::Client) -> Result<usize, tokio_postgres::Error> {{\n    let n = c.execute({sql:?}, &[{}]).await?;\n    Ok(n as usize)\n}}\n\n",
                s.hand
            );
        } else {
            let ty = s.row.join(", ");
            let gets: Vec<String> = (0..s.row.len())
                .map(|k| format!("r.try_get({k})?"))
                .collect();
            let _ = write!(
                hand,
                "async fn q{i}(c: &tokio_postgres::Client) -> Result<usize, tokio_postgres::Error> {{\n{ids}    let rows = c.query({sql:?}, &[{}]).await?;\n    let typed = rows\n        .iter()\n        .map(|r| -> Result<({ty},), tokio_postgres::Error> {{ Ok(({},)) }})\n        .collect::<Result<Vec<_>, _>>()?;\n    Ok(typed.len())\n}}\n\n",
                s.hand,
                gets.join(", ")
            );
        }
        let _ = writeln!(calls, "    run!(q{i});");
    }
    let main = |client: &str| {
        format!(
            "#[tokio::main(flavor = \"current_thread\")]\nasync fn main() {{\n    let url = std::env::args().nth(1).expect(\"usage: URL\");\n{client}    let (mut rows, mut errors) = (0usize, 0usize);\n    macro_rules! run {{\n        ($q:ident) => {{\n            match $q(&c).await {{\n                Ok(n) => rows += n,\n                Err(e) => {{\n                    errors += 1;\n                    eprintln!(\"{{}}: {{e}}\", stringify!($q));\n                }}\n            }}\n        }};\n    }}\n{calls}    println!(\"{n} queries, {{rows}} rows, {{errors}} errors\");\n    if errors > 0 {{\n        std::process::exit(1);\n    }}\n}}\n"
        )
    };
    let tp = format!("    let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect(\"connect\");\n    tokio::spawn(conn);\n    c.batch_execute({SETUP:?}).await.expect(\"setup\");\n");
    let sp = format!("    let c = sqlx::PgPool::connect(&url).await.expect(\"connect\");\n    sqlx::raw_sql({SETUP:?}).execute(&c).await.expect(\"setup\");\n");
    let header = format!("// Written by `bench-gen queries {n}`; not edited by hand.\n\n");
    for (dir, body, client) in [
        ("inline-pgstrata", &pg, &tp),
        ("inline-sqlx", &sqlx, &sp),
        ("inline-hand", &hand, &tp),
    ] {
        std::fs::write(
            root.join(dir).join("generated.rs"),
            format!("{header}{body}{}", main(client)),
        )
        .expect("write generated.rs");
    }
    println!("wrote {n} queries to inline-pgstrata, inline-sqlx and inline-hand");
}
