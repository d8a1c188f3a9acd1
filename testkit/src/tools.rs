//! Databases as other migration tools leave them, for the adoption tests: a migrations
//! folder in each tool's layout, and SQL that builds the schema of the migrations the
//! tool applied plus its history table with the rows it writes (created as the tool
//! creates it; the tools themselves are not needed).

/// The tools, as `pgstrata baseline --from` names them.
pub const TOOLS: [&str; 7] = [
    "diesel",
    "sqlx",
    "refinery",
    "flyway",
    "prisma",
    "golang-migrate",
    "dbmate",
];

/// The three migrations every fixture has: each creates a table.
const SQL: [&str; 3] = [
    "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n",
    "CREATE TABLE posts (id bigint PRIMARY KEY, user_id bigint REFERENCES users);\n",
    "CREATE TABLE tags (id bigint PRIMARY KEY, name text);\n",
];

/// A tool's folder and the database it left.
#[derive(Clone, Debug)]
pub struct ToolFixture {
    /// The migration files: (path in the folder, text).
    pub files: Vec<(String, String)>,
    /// Builds the tables of the migrations the tool applied, and its history table.
    pub setup: String,
    /// Marks the last applied migration failed, unfinished or dirty, as the tool does
    /// when one breaks.
    pub break_last: String,
}

/// The fixture of `tool` (one of [`TOOLS`]) after it applied the first `applied` of the
/// three migrations.
///
/// # Panics
/// For a tool not in [`TOOLS`], or `applied` not 1 to 3.
pub fn tool_fixture(tool: &str, applied: usize) -> ToolFixture {
    assert!((1..=3).contains(&applied), "applied: 1 to 3");
    let names = ["users", "posts", "tags"];
    let mut files = Vec::new();
    let mut rows = Vec::new();
    for (i, (sql, name)) in SQL.iter().zip(names).enumerate() {
        let n = i + 1;
        let (path, version, text) = match tool {
            "diesel" => (
                format!("2025-01-0{n}-000000_{name}/up.sql"),
                format!("2025010{n}000000"),
                sql.to_string(),
            ),
            "sqlx" => (
                format!("2025010{n}000000_{name}.sql"),
                format!("2025010{n}000000"),
                sql.to_string(),
            ),
            "refinery" => (format!("V{n}__{name}.sql"), n.to_string(), sql.to_string()),
            "flyway" => {
                let v = ["1", "1.1", "2"][i];
                (format!("V{v}__{name}.sql"), v.to_string(), sql.to_string())
            }
            "prisma" => (
                format!("2025010{n}000000_{name}/migration.sql"),
                format!("2025010{n}000000_{name}"),
                sql.to_string(),
            ),
            "golang-migrate" => (format!("{n}_{name}.up.sql"), n.to_string(), sql.to_string()),
            "dbmate" => (
                format!("2025010{n}000000_{name}.sql"),
                format!("2025010{n}000000"),
                format!("-- migrate:up\n{sql}\n-- migrate:down\nDROP TABLE {name};\n"),
            ),
            other => panic!("unknown tool {other}"),
        };
        if i < applied {
            rows.push((version, name, text.clone()));
        }
        files.push((path, text));
    }
    let mut setup: String = SQL[..applied].concat();
    setup.push_str(&history(tool, &rows));
    ToolFixture {
        files,
        setup,
        break_last: break_last(tool, &rows),
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The tool's history table and its rows, as the tool writes them.
fn history(tool: &str, rows: &[(String, &str, String)]) -> String {
    let mut sql = String::new();
    let table = match tool {
        "diesel" => "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);",
        "sqlx" => "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL);",
        "refinery" => "CREATE TABLE refinery_schema_history (version INT4 PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255));",
        "flyway" => "CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL PRIMARY KEY, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INTEGER, installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT now(), execution_time INTEGER NOT NULL, success BOOLEAN NOT NULL);",
        "prisma" => "CREATE TABLE _prisma_migrations (id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL, finished_at TIMESTAMPTZ, migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMPTZ, started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0);",
        "golang-migrate" => "CREATE TABLE schema_migrations (version bigint NOT NULL, dirty boolean NOT NULL, PRIMARY KEY (version));",
        "dbmate" => "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);",
        other => panic!("unknown tool {other}"),
    };
    sql.push_str(table);
    sql.push('\n');
    for (i, (version, name, text)) in rows.iter().enumerate() {
        let row = match tool {
            "diesel" => format!("INSERT INTO __diesel_schema_migrations (version, run_on) VALUES ({}, '2025-01-0{} 10:00:00');", quote(version), i + 1),
            "sqlx" => format!(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES ({version}, {}, true, sha384(convert_to({}, 'UTF8')), 1000);",
                quote(name),
                quote(text)
            ),
            "refinery" => format!(
                "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES ({version}, {}, '2025-01-0{}T10:00:00Z', '1234567890');",
                quote(name),
                i + 1
            ),
            "flyway" => format!(
                "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) VALUES ({}, {}, {}, 'SQL', {}, 123, 'postgres', 5, true);",
                i + 1,
                quote(version),
                quote(name),
                quote(&format!("V{version}__{name}.sql"))
            ),
            "prisma" => format!(
                "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ('00000000-0000-0000-0000-00000000000{}', encode(sha256(convert_to({}, 'UTF8')), 'hex'), now(), {}, 1);",
                i + 1,
                quote(text),
                quote(version)
            ),
            // golang-migrate keeps one row: the current version.
            "golang-migrate" if i + 1 == rows.len() => format!("INSERT INTO schema_migrations (version, dirty) VALUES ({version}, false);"),
            "golang-migrate" => String::new(),
            "dbmate" => format!("INSERT INTO schema_migrations (version) VALUES ({});", quote(version)),
            _ => unreachable!(),
        };
        sql.push_str(&row);
        sql.push('\n');
    }
    sql
}

/// What the tool writes when its last migration breaks.
fn break_last(tool: &str, rows: &[(String, &str, String)]) -> String {
    let Some((version, _, _)) = rows.last() else {
        return String::new();
    };
    match tool {
        "sqlx" => format!("UPDATE _sqlx_migrations SET success = false WHERE version = {version};"),
        "flyway" => format!(
            "UPDATE flyway_schema_history SET success = false WHERE version = {};",
            quote(version)
        ),
        "prisma" => format!(
            "UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = {};",
            quote(version)
        ),
        "golang-migrate" => "UPDATE schema_migrations SET dirty = true;".to_string(),
        // diesel, refinery and dbmate record a migration only once it committed: they
        // have no broken state, so a version without a file stands in for it.
        "diesel" => "INSERT INTO __diesel_schema_migrations (version) VALUES ('20991231000000');"
            .to_string(),
        "refinery" => {
            "INSERT INTO refinery_schema_history (version, name) VALUES (99, 'gone');".to_string()
        }
        "dbmate" => {
            "INSERT INTO schema_migrations (version) VALUES ('20991231000000');".to_string()
        }
        other => panic!("unknown tool {other}"),
    }
}
