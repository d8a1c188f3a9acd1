//! Nullability of typed queries, checked by running them: every query of the oracle
//! corpus runs on data shaped so that what can be NULL is (each table empty, then the
//! four rows of [`ROWS`] per table, so outer joins find no partner and flags filter NULLs
//! in as well as out), with parameters that match each row, match nothing, and are NULL
//! where they may be. A column inferred NOT NULL must never
//! be NULL; a column inferred nullable must be NULL at least once.

use pgstrata::catalog::{Catalog, ColumnType, Table};
use pgstrata_codegen::query::{describe, Described};
use pgstrata_testkit::fresh_db;

use crate::queries::corpora;
use crate::support::load;

/// A literal of `ty` for value number `k` (0 sorts before every row's value, 9 after).
fn literal(catalog: &Catalog, ty: &ColumnType, k: u32) -> String {
    let base = base_of(catalog, ty);
    let one = |b: &ColumnType| -> String {
        if let Some(s) = &b.schema {
            if let Some(e) = catalog.enum_type(s, &b.name) {
                let label = &e.values[(k as usize) % e.values.len()];
                return format!("'{}'", label.replace('\'', "''"));
            }
            if let Some(c) = catalog
                .composites
                .iter()
                .find(|c| &c.schema == s && c.name == b.name)
            {
                let fields: Vec<String> = c.attributes.iter().map(|_| format!("{k}")).collect();
                return format!("'({})'", fields.join(","));
            }
        }
        match b.name.as_str() {
            "smallint" | "integer" | "bigint" | "numeric" | "real" | "double precision" => {
                k.to_string()
            }
            "boolean" => (k % 2 == 0).to_string(),
            "uuid" => format!("'00000000-0000-0000-0000-{k:012}'"),
            "timestamp without time zone" | "timestamp with time zone" | "date" if k == 0 => {
                "'2025-12-31'".into()
            }
            "timestamp without time zone" | "timestamp with time zone" | "date" => {
                format!("'2026-01-0{}'", k.min(9))
            }
            "time without time zone" | "time with time zone" => format!("'10:00:0{}'", k.min(9)),
            "interval" => format!("'{k} days'"),
            "json" | "jsonb" => format!(
                "'{{\"k\": {k}, \"tags\": [\"v{k}\"], \"tokens\": {k}, \"model\": \"v{k}\"}}'"
            ),
            "inet" => format!("'10.0.0.{k}'"),
            "cidr" => format!("'10.0.{k}.0/24'"),
            "macaddr" => format!("'08:00:2b:01:02:0{}'", k.min(9)),
            "bit" => "B'101'".to_string(),
            "bit varying" => "B'1'".to_string(),
            "point" => format!("'({k},{k})'"),
            "xml" => "'<a/>'".to_string(),
            "ltree" => format!("'0.{k}'"),
            "tsvector" => format!("'v{k}'"),
            "tsquery" => format!("'v{k}'"),
            _ => format!("'v{k}'"),
        }
    };
    if ty.array || base.array {
        let e = ColumnType {
            array: false,
            ..base.clone()
        };
        let inner = one(&e);
        let inner = inner.trim_matches('\'');
        format!("'{{\"{}\"}}'", inner.replace('"', "\\\""))
    } else {
        one(&base)
    }
}

/// How one generated row fills its columns.
struct Row {
    /// The value number of key columns (primary key, unique ones).
    key: u32,
    /// The value number of the others.
    other: u32,
    /// Nullable columns are NULL: all of them, or those at an even (`Some(0)`) or odd
    /// (`Some(1)`) position, so that two neighbouring columns are each NULL while the
    /// other is not.
    nulls: bool,
    parity: Option<usize>,
    /// Booleans are true (otherwise: the value number decides).
    truthy: Option<bool>,
}

/// Six rows per table: nullables NULL; filled; filled with values nothing else has
/// (foreign keys point nowhere, and nothing points here); nullables NULL again with the
/// booleans the other way, so a filter on a flag still lets a NULL through; and every
/// other nullable NULL, both ways.
const ROWS: [Row; 6] = [
    Row {
        key: 1,
        other: 1,
        nulls: true,
        parity: None,
        truthy: Some(false),
    },
    Row {
        key: 2,
        other: 2,
        nulls: false,
        parity: None,
        truthy: None,
    },
    Row {
        key: 3,
        other: 7,
        nulls: false,
        parity: None,
        truthy: None,
    },
    Row {
        key: 4,
        other: 1,
        nulls: true,
        parity: None,
        truthy: Some(true),
    },
    Row {
        key: 5,
        other: 2,
        nulls: true,
        parity: Some(0),
        truthy: None,
    },
    Row {
        key: 6,
        other: 2,
        nulls: true,
        parity: Some(1),
        truthy: None,
    },
];

fn base_of(catalog: &Catalog, ty: &ColumnType) -> ColumnType {
    let mut t = ty.clone();
    while let Some(d) = t.schema.as_ref().and_then(|s| {
        catalog
            .domains
            .iter()
            .find(|d| &d.schema == s && d.name == t.name)
    }) {
        t = ColumnType {
            array: t.array || d.ty.array,
            ..d.ty.clone()
        };
    }
    t
}

/// The statements that fill one table with its rows.
fn rows(catalog: &Catalog, t: &Table) -> Vec<String> {
    let mut keys: Vec<&String> = t.primary_key.iter().flat_map(|k| &k.columns).collect();
    keys.extend(t.uniques.iter().flat_map(|u| &u.columns));
    keys.extend(
        t.indexes
            .iter()
            .filter(|i| i.unique)
            .flat_map(|i| &i.columns),
    );
    let mut out = Vec::new();
    for row in &ROWS {
        let mut cols = Vec::new();
        let mut vals = Vec::new();
        for (position, c) in t.columns.iter().enumerate() {
            if c.generated.is_some() {
                continue;
            }
            let null_here = row.nulls && row.parity.is_none_or(|p| position % 2 == p);
            cols.push(format!("\"{}\"", c.name.replace('"', "\"\"")));
            let keyed = keys.iter().any(|k| k.trim_matches('"') == c.name);
            let k = if keyed { row.key } else { row.other };
            let boolean = c.ty.format() == "boolean";
            let value = if null_here && c.nullable {
                "NULL".to_string()
            } else if boolean {
                row.truthy
                    .map_or_else(|| literal(catalog, &c.ty, k), |b| b.to_string())
            } else if c.ty.array && null_here {
                // A required array is empty where the nullables are NULL.
                "'{}'".to_string()
            } else {
                literal(catalog, &c.ty, k)
            };
            vals.push(format!("{value}::{}", c.ty.format()));
        }
        if cols.is_empty() {
            continue;
        }
        let overriding = if t
            .columns
            .iter()
            .any(|c| c.identity.as_deref() == Some("always"))
        {
            " OVERRIDING SYSTEM VALUE"
        } else {
            ""
        };
        out.push(format!(
            "INSERT INTO \"{}\".\"{}\" ({}){overriding} VALUES ({}) ON CONFLICT DO NOTHING",
            t.schema,
            t.name,
            cols.join(", "),
            vals.join(", ")
        ));
    }
    out
}

/// Runs `sql` with every parameter set to the literal for `k`, in a transaction that is
/// rolled back: which columns came back NULL, and how many rows.
fn run(
    c: &mut postgres::Client,
    catalog: &Catalog,
    d: &Described,
    sql: &str,
    k: u32,
) -> Result<(Vec<bool>, usize), String> {
    let mut text = sql.to_string();
    for (i, p) in d.params.iter().enumerate().rev() {
        // A parameter that may be NULL is NULL in one run; an array holds a NULL then.
        let value = if k == 1 && p.nullable {
            "NULL".to_string()
        } else if k == 1 && p.ty.array {
            "'{NULL}'".to_string()
        } else {
            literal(catalog, &p.ty, k)
        };
        let lit = format!("({value}::{})", p.ty.format());
        text = text.replace(&format!("${}", i + 1), &lit);
    }
    let messages = c
        .simple_query(&format!(
            "BEGIN; SET LOCAL session_replication_role = replica; {text}; ROLLBACK"
        ))
        .map_err(|e| {
            let _ = c.batch_execute("ROLLBACK");
            let message = e
                .as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_string());
            format!("{message}: {text}")
        })?;
    let mut nulls = vec![false; d.columns.len()];
    let mut count = 0;
    for m in messages {
        if let postgres::SimpleQueryMessage::Row(r) = m {
            if r.len() != d.columns.len() {
                continue;
            }
            count += 1;
            for (i, n) in nulls.iter_mut().enumerate() {
                *n |= r.get(i).is_none();
            }
        }
    }
    Ok((nulls, count))
}

#[test]
fn inferred_nullability_holds_on_data_shaped_to_make_nulls() {
    let (mut queries, mut not_null_cols, mut nullable_cols, mut seen_null) = (0, 0, 0, 0);
    let mut wrong = Vec::new();
    let mut never_null = Vec::new();
    for (name, dir, list) in corpora() {
        let catalog = pgstrata_codegen::catalog(&dir).unwrap_or_else(|e| panic!("{e}"));
        let db = fresh_db();
        let mut c = db.client();
        load(&dir).run_blocking(&mut c).unwrap();
        // The data need not satisfy CHECK constraints: drop them.
        let drops: Vec<String> = c
            .query(
                "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname) FROM pg_constraint \
                 WHERE contype = 'c' AND conrelid <> 0 \
                 UNION ALL SELECT format('ALTER DOMAIN %s DROP CONSTRAINT %I', contypid::regtype, conname) FROM pg_constraint \
                 WHERE contype = 'c' AND contypid <> 0",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        c.batch_execute(&drops.join(";\n")).unwrap();
        let described: Vec<(&str, Described)> = list
            .iter()
            .map(|sql| {
                (
                    sql.as_str(),
                    describe(&catalog, sql).unwrap_or_else(|e| panic!("{sql}: {e:?}")),
                )
            })
            .collect();
        let mut observed: Vec<Vec<bool>> = described
            .iter()
            .map(|(_, d)| vec![false; d.columns.len()])
            .collect();
        let mut ran: Vec<usize> = vec![0; described.len()];
        let mut errors: Vec<Option<String>> = vec![None; described.len()];
        for filled in [false, true] {
            if filled {
                let mut sql = vec!["SET session_replication_role = replica".to_string()];
                for t in &catalog.tables {
                    sql.extend(rows(&catalog, t));
                }
                sql.push("SET session_replication_role = origin".into());
                c.batch_execute(&sql.join(";\n"))
                    .unwrap_or_else(|e| panic!("[{name}] filling the tables: {e}"));
            }
            for (i, ((sql, d), seen)) in described.iter().zip(observed.iter_mut()).enumerate() {
                if !d.returns_rows {
                    continue;
                }
                for k in [0, 1, 2, 3, 4, 7, 9] {
                    // A write may break a unique key with some parameters: those runs
                    // tell nothing, the others do.
                    match run(&mut c, &catalog, d, sql, k) {
                        Ok((nulls, _)) => {
                            ran[i] += 1;
                            for (s, n) in seen.iter_mut().zip(nulls) {
                                *s |= n;
                            }
                        }
                        Err(e) => errors[i] = Some(e),
                    }
                }
            }
        }
        for (i, ((sql, d), seen)) in described.iter().zip(&observed).enumerate() {
            if !d.returns_rows {
                continue;
            }
            if ran[i] == 0 {
                wrong.push(format!("[{name}] {sql}\n  never ran: {:?}", errors[i]));
                continue;
            }
            queries += 1;
            for (col, was_null) in d.columns.iter().zip(seen) {
                match (col.nullable, *was_null) {
                    (false, true) => wrong.push(format!(
                        "[{name}] {sql}\n  {} was NULL, inferred NOT NULL",
                        col.name
                    )),
                    (false, false) => not_null_cols += 1,
                    (true, true) => {
                        nullable_cols += 1;
                        seen_null += 1;
                    }
                    (true, false) => {
                        nullable_cols += 1;
                        never_null.push(format!(
                            "[{name}] {sql}\n  {} inferred nullable, never NULL",
                            col.name
                        ));
                    }
                }
            }
        }
    }
    println!(
        "nullability: {queries} queries returning rows; {not_null_cols} columns inferred NOT NULL were never NULL; \
         {seen_null} of {nullable_cols} inferred nullable were NULL at least once"
    );
    assert!(
        wrong.is_empty(),
        "inferred NOT NULL but NULL:\n{}",
        wrong.join("\n")
    );
    assert!(
        never_null.is_empty(),
        "inferred nullable but never NULL:\n{}",
        never_null.join("\n")
    );
}
