//! Writes N realistic small migrations (tables of 6-10 mixed-type columns, indexes,
//! enums, ALTER TABLE) twice, with the same SQL: `migrations/refinery/V{n}__m{n}.sql`
//! (refinery's names) and `migrations/sqlx/{n}_m{n}.sql` (sqlx's names; pgstrata reads
//! this one). Deterministic: the same N gives the same files.
//!
//! `bench-gen queries N` instead writes N typed queries three ways, for the inline-query
//! benchmark: `pgstrata::query!`, `sqlx::query!`, and hand-written tokio-postgres calls
//! decoding the same typed rows (`inline-*/generated.rs`).

use std::fmt::Write;

mod queries;

fn main() {
    if std::env::args().nth(1).as_deref() == Some("queries") {
        let n: usize = std::env::args()
            .nth(2)
            .and_then(|a| a.parse().ok())
            .unwrap_or(200);
        queries::write(n);
        return;
    }
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let _ = std::fs::remove_dir_all(&root);
    for d in ["refinery", "sqlx"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let mut rng = Lcg(0x5eed);
    let types = [
        "bigint",
        "integer",
        "text",
        "varchar(120)",
        "boolean",
        "timestamptz",
        "numeric(12,2)",
        "jsonb",
        "uuid",
        "date",
        "smallint",
        "double precision",
    ];
    let mut tables: Vec<(String, usize)> = Vec::new();
    let mut enums = 0;
    for i in 1..=n {
        let mut sql = String::new();
        let kind = if tables.is_empty() {
            0
        } else {
            rng.next() % 10
        };
        match kind {
            0..=4 => {
                let t = format!("t{i}");
                let cols = 6 + (rng.next() % 5) as usize;
                let _ = writeln!(
                    sql,
                    "CREATE TABLE {t} (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                );
                for c in 1..cols {
                    let ty = types[(rng.next() as usize) % types.len()];
                    let null = if rng.next() % 3 == 0 { " NOT NULL" } else { "" };
                    let default = match ty {
                        "boolean" if null.is_empty() => " DEFAULT false",
                        "timestamptz" => " DEFAULT now()",
                        _ => "",
                    };
                    let comma = if c + 1 < cols { "," } else { "" };
                    let _ = writeln!(sql, "    c{c} {ty}{null}{default}{comma}");
                }
                sql.push_str(");\n");
                let _ = writeln!(sql, "CREATE INDEX {t}_c1_idx ON {t} (c1);");
                tables.push((t, cols));
            }
            5 | 6 => {
                let (t, cols) = &tables[(rng.next() as usize) % tables.len()];
                let c = 1 + (rng.next() as usize) % (cols - 1);
                let _ = writeln!(
                    sql,
                    "CREATE INDEX IF NOT EXISTS {t}_c{c}_m{i}_idx ON {t} (c{c});"
                );
            }
            7 => {
                enums += 1;
                let _ = writeln!(
                    sql,
                    "CREATE TYPE status_{enums} AS ENUM ('pending', 'active', 'archived');"
                );
                let (t, _) = &tables[(rng.next() as usize) % tables.len()];
                let _ = writeln!(sql, "ALTER TABLE {t} ADD COLUMN status_{i} status_{enums} NOT NULL DEFAULT 'pending';");
            }
            _ => {
                let (t, _) = &tables[(rng.next() as usize) % tables.len()];
                let _ = writeln!(sql, "ALTER TABLE {t} ADD COLUMN extra_{i} text;");
                let _ = writeln!(
                    sql,
                    "COMMENT ON COLUMN {t}.extra_{i} IS 'added by migration {i}';"
                );
            }
        }
        std::fs::write(root.join(format!("refinery/V{i}__m{i}.sql")), &sql).unwrap();
        std::fs::write(root.join(format!("sqlx/{i}_m{i}.sql")), &sql).unwrap();
    }
    println!(
        "wrote {n} migrations ({} tables, {enums} enums) to {}",
        tables.len(),
        root.display()
    );
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}
