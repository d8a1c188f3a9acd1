//! Reading a live database's schema into the same [`Catalog`] the code generator builds
//! from the migrations, so the two can be compared (fidelity tests, drift checks).
//!
//! Column types are spelled by `format_type(atttypid, atttypmod)` with
//! `search_path = public`, as the code generator spells them.

use pgstrata_core::catalog::{Catalog, Column, ColumnType, Enum, Index, KeyConstraint, Table};

use crate::conn::{rows, Conn};
use crate::error::Error;

const USER_SCHEMAS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'";

/// Reads tables (columns, nullability, defaults, identity, generation, primary keys) and
/// enums of every user schema, on a tokio-postgres client.
///
/// # Errors
/// A catalog query fails.
pub async fn catalog(client: &mut tokio_postgres::Client) -> Result<Catalog, Error> {
    read(client).await
}

/// [`catalog`] on a blocking client.
///
/// # Errors
/// A catalog query fails.
#[cfg(feature = "blocking")]
pub fn catalog_blocking(client: &mut postgres::Client) -> Result<Catalog, Error> {
    crate::conn::block_on(read(client))
}

async fn query<C: Conn>(conn: &mut C, sql: &str) -> Result<Vec<Vec<Option<String>>>, Error> {
    let messages = conn
        .simple(sql)
        .await
        .map_err(|e| Error::db("cannot read the database's catalog", e))?;
    Ok(rows(messages)
        .iter()
        .map(|r| (0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
        .collect())
}

pub(crate) async fn read<C: Conn>(conn: &mut C) -> Result<Catalog, Error> {
    // format_type qualifies names outside the search path: read with public only, in a
    // transaction so the session's own setting is left alone.
    conn.batch("BEGIN; SET LOCAL search_path = public")
        .await
        .map_err(|e| Error::db("cannot read the catalog", e))?;
    let result = read_in_transaction(conn).await;
    let _ = conn.batch("COMMIT").await;
    result
}

async fn read_in_transaction<C: Conn>(conn: &mut C) -> Result<Catalog, Error> {
    let mut catalog = Catalog::default();
    let schemas = query(conn, &format!("SELECT n.nspname FROM pg_namespace n WHERE {USER_SCHEMAS} AND n.nspname <> 'public' ORDER BY n.oid")).await?;
    catalog.schemas = schemas
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect();
    read_columns(conn, &mut catalog).await?;
    read_primary_keys(conn, &mut catalog).await?;
    read_indexes(conn, &mut catalog).await?;
    read_enums(conn, &mut catalog).await?;
    Ok(catalog)
}

/// Tables and their columns, in table and column order.
async fn read_columns<C: Conn>(conn: &mut C, catalog: &mut Catalog) -> Result<(), Error> {
    let cols = query(
        conn,
        &format!(
            "SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), \
               (NOT a.attnotnull)::text, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text, \
               col_description(c.oid, a.attnum), obj_description(c.oid, 'pg_class') \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum \
             WHERE c.relkind IN ('r', 'p') AND {USER_SCHEMAS} \
             ORDER BY c.oid, a.attnum"
        ),
    )
    .await?;
    for r in cols {
        let f = |i: usize| r.get(i).cloned().flatten();
        let (schema, table) = (f(0).unwrap_or_default(), f(1).unwrap_or_default());
        let is_new = catalog
            .tables
            .last()
            .is_none_or(|t| t.schema != schema || t.name != table);
        if is_new {
            let mut t = Table::new(&schema, &table);
            t.comment = f(9);
            catalog.tables.push(t);
        }
        let identity = match f(6).as_deref() {
            Some("a") => Some("always".to_string()),
            Some("d") => Some("by default".to_string()),
            _ => None,
        };
        let generated = f(7).filter(|g| g == "s").and(f(5).clone());
        let column = Column {
            name: f(2).unwrap_or_default(),
            ty: spelled(&f(3).unwrap_or_default()),
            nullable: f(4).as_deref() == Some("true"),
            default: if generated.is_some() { None } else { f(5) },
            identity,
            generated,
            comment: f(8),
        };
        if let Some(t) = catalog.tables.last_mut() {
            t.columns.push(column);
        }
    }

    Ok(())
}

/// Primary keys, with their columns in key order.
async fn read_primary_keys<C: Conn>(conn: &mut C, catalog: &mut Catalog) -> Result<(), Error> {
    let pks = query(
        conn,
        &format!(
            "SELECT n.nspname, c.relname, con.conname, \
               (SELECT string_agg(a.attname, chr(31) ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord) \
                JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) \
             FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE con.contype = 'p' AND {USER_SCHEMAS}"
        ),
    )
    .await?;
    for r in pks {
        let f = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
        if let Some(t) = catalog
            .tables
            .iter_mut()
            .find(|t| t.schema == f(0) && t.name == f(1))
        {
            t.primary_key = Some(KeyConstraint {
                name: f(2),
                columns: f(3).split('\u{1f}').map(str::to_string).collect(),
            });
        }
    }

    Ok(())
}

/// Indexes, each key as `pg_get_indexdef` prints it.
async fn read_indexes<C: Conn>(conn: &mut C, catalog: &mut Catalog) -> Result<(), Error> {
    // Indexes other than those behind constraints, and not the partitions of a
    // partitioned table's index (PostgreSQL creates those itself).
    let indexes = query(
        conn,
        &format!(
            "SELECT n.nspname, t.relname, i.relname, ix.indisunique::text, am.amname, \
               (SELECT string_agg(pg_get_indexdef(ix.indexrelid, k, true), chr(31) ORDER BY k) \
                FROM generate_series(1, ix.indnkeyatts) k), ix.indisvalid::text \
             FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_am am ON am.oid = i.relam \
             WHERE t.relkind IN ('r', 'p') AND {USER_SCHEMAS} AND NOT i.relispartition \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid AND c.contype IN ('p', 'u', 'x')) \
             ORDER BY i.oid"
        ),
    )
    .await?;
    for r in indexes {
        let f = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
        if let Some(t) = catalog
            .tables
            .iter_mut()
            .find(|t| t.schema == f(0) && t.name == f(1))
        {
            t.indexes.push(Index {
                name: f(2),
                unique: f(3) == "true",
                columns: f(5).split('\u{1f}').map(str::to_string).collect(),
                method: f(4),
                valid: f(6) != "false",
            });
        }
    }

    Ok(())
}

/// Enum types and their labels, in sort order.
async fn read_enums<C: Conn>(conn: &mut C, catalog: &mut Catalog) -> Result<(), Error> {
    let labels = query(
        conn,
        &format!(
            "SELECT n.nspname, t.typname, e.enumlabel, obj_description(t.oid, 'pg_type') FROM pg_enum e \
             JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE {USER_SCHEMAS} ORDER BY t.oid, e.enumsortorder"
        ),
    )
    .await?;
    for r in labels {
        let f = |i: usize| r.get(i).cloned().flatten();
        let (schema, name) = (f(0).unwrap_or_default(), f(1).unwrap_or_default());
        let is_new = catalog
            .enums
            .last()
            .is_none_or(|e| e.schema != schema || e.name != name);
        if is_new {
            catalog.enums.push(Enum {
                schema,
                name,
                values: Vec::new(),
                comment: f(3),
            });
        }
        if let Some(e) = catalog.enums.last_mut() {
            e.values.push(f(2).unwrap_or_default());
        }
    }
    Ok(())
}

/// A `format_type` spelling as a [`ColumnType`] that formats back to the same text.
fn spelled(s: &str) -> ColumnType {
    let (base, array) = match s.strip_suffix("[]") {
        Some(b) => (b, true),
        None => (s, false),
    };
    ColumnType {
        schema: None,
        name: base.to_string(),
        modifier: None,
        array,
    }
}
