//! One positive and one negative case per lint rule. Where the rule is about an existing
//! table, the negative case does the same thing to a table created earlier in the same
//! migration, which nobody else can be using yet.

use std::path::PathBuf;

use pgstrata_codegen::lint::{lint, Finding, Options, Severity};
use pgstrata_codegen::{Errors, Project};

struct Folder(PathBuf);

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn folder(files: &[(&str, &str)], config: Option<&str>) -> Folder {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let root = std::env::temp_dir().join(format!(
        "pgstrata-lint-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("m")).unwrap();
    for (name, text) in files {
        let p = root.join("m").join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    if let Some(c) = config {
        std::fs::write(root.join("pgstrata.toml"), c).unwrap();
    }
    Folder(root)
}

/// Lints the folder `m` of a crate rooted at `root` (where its pgstrata.toml is).
fn lint_dir(root: &std::path::Path, options: Options) -> Result<Vec<Finding>, Errors> {
    lint(&Project::in_crate(root, "m", None)?, options)
}

fn run(files: &[(&str, &str)], options: Options) -> Vec<Finding> {
    let f = folder(files, None);
    lint_dir(&f.0, options).unwrap_or_else(|e| panic!("{e}"))
}

fn rules(files: &[(&str, &str)]) -> Vec<&'static str> {
    run(files, Options::default())
        .iter()
        .map(|f| f.rule.id())
        .collect()
}

const T: (&str, &str) = (
    "V1__t.sql",
    "CREATE TABLE t (id int PRIMARY KEY, name varchar(10), n int);",
);

/// `rule` is found in `positive` (at `line` of its last file), and not in `negative`.
fn check(rule: &str, positive: &[(&str, &str)], line: u32, negative: &[&[(&str, &str)]]) {
    let found = run(positive, Options::default());
    let hit = found
        .iter()
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("{rule}: not found in the positive case: {found:#?}"));
    let last = positive.last().unwrap().0;
    assert_eq!(hit.file, format!("m/{last}"), "{rule}");
    assert_eq!(hit.line, line, "{rule}: {hit}");
    assert!(
        !hit.why.is_empty() && !hit.fix.is_empty() && !hit.statement.is_empty(),
        "{hit:?}"
    );
    for n in negative {
        assert!(
            !rules(n).contains(&rule),
            "{rule}: found in a negative case {n:?}: {:#?}",
            run(n, Options::default())
        );
    }
}

#[test]
fn not_null_without_default() {
    check(
        "not-null-without-default",
        &[
            T,
            (
                "V2__a.sql",
                "-- pgstrata:lock-timeout 5s\nALTER TABLE t ADD COLUMN x int NOT NULL;",
            ),
        ],
        2,
        &[
            &[(
                "V1__t.sql",
                "CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN x int NOT NULL;",
            )],
            &[
                T,
                (
                    "V2__a.sql",
                    "ALTER TABLE t ADD COLUMN x int NOT NULL DEFAULT 0;",
                ),
            ],
        ],
    );
}

#[test]
fn volatile_default() {
    check(
        "volatile-default",
        &[T, ("V2__a.sql", "ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();")],
        1,
        &[
            &[("V1__t.sql", "CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();")],
            &[T, ("V2__a.sql", "ALTER TABLE t ADD COLUMN at timestamptz NOT NULL DEFAULT now();")],
        ],
    );
    assert!(
        rules(&[T, ("V2__a.sql", "ALTER TABLE t ADD COLUMN k bigserial;")])
            .contains(&"volatile-default")
    );
}

#[test]
fn index_not_concurrent() {
    check(
        "index-not-concurrent",
        &[T, ("V2__a.sql", "\nCREATE INDEX t_n ON t (n);")],
        2,
        &[
            &[(
                "V1__t.sql",
                "CREATE TABLE t (id int, n int);\nCREATE INDEX t_n ON t (n);",
            )],
            &[T, ("V2__a.sql", "CREATE INDEX CONCURRENTLY t_n ON t (n);")],
        ],
    );
    assert!(rules(&[
        T,
        ("V2__a.sql", "ALTER TABLE t ADD CONSTRAINT t_n UNIQUE (n);")
    ])
    .contains(&"index-not-concurrent"));
    assert!(rules(&[
        T,
        ("V2__a.sql", "ALTER TABLE t ADD COLUMN code text UNIQUE;")
    ])
    .contains(&"index-not-concurrent"));
    // Dropping one takes an ACCESS EXCLUSIVE lock on the table.
    let with_index = ("V2__i.sql", "CREATE INDEX CONCURRENTLY t_n ON t (n);");
    assert!(
        rules(&[T, with_index, ("V3__d.sql", "DROP INDEX t_n;")]).contains(&"index-not-concurrent")
    );
    assert!(
        !rules(&[T, with_index, ("V3__d.sql", "DROP INDEX CONCURRENTLY t_n;")])
            .contains(&"index-not-concurrent")
    );
}

#[test]
fn constraint_not_valid() {
    check(
        "constraint-not-valid",
        &[T, ("V2__a.sql", "ALTER TABLE t ADD CONSTRAINT n_positive CHECK (n > 0);")],
        1,
        &[
            &[("V1__t.sql", "CREATE TABLE t (id int, n int);\nALTER TABLE t ADD CONSTRAINT n_positive CHECK (n > 0);")],
            &[T, ("V2__a.sql", "ALTER TABLE t ADD CONSTRAINT n_positive CHECK (n > 0) NOT VALID;")],
        ],
    );
    let fk_column = [
        T,
        ("V2__u.sql", "CREATE TABLE u (id int PRIMARY KEY);"),
        (
            "V3__a.sql",
            "ALTER TABLE t ADD COLUMN u_id int REFERENCES u ON DELETE SET NULL;",
        ),
    ];
    assert!(rules(&fk_column).contains(&"constraint-not-valid"));
}

#[test]
fn set_not_null() {
    check(
        "set-not-null",
        &[
            T,
            ("V2__a.sql", "ALTER TABLE t ALTER COLUMN n SET NOT NULL;"),
        ],
        1,
        &[
            &[(
                "V1__t.sql",
                "CREATE TABLE t (id int, n int);\nALTER TABLE t ALTER COLUMN n SET NOT NULL;",
            )],
            &[
                T,
                (
                    "V2__a.sql",
                    "ALTER TABLE t ADD CONSTRAINT n_nn CHECK (n IS NOT NULL) NOT VALID;",
                ),
                ("V3__b.sql", "ALTER TABLE t VALIDATE CONSTRAINT n_nn;"),
                ("V4__c.sql", "ALTER TABLE t ALTER COLUMN n SET NOT NULL;"),
            ],
        ],
    );
}

#[test]
fn column_type_rewrite() {
    check(
        "column-type-rewrite",
        &[
            T,
            ("V2__a.sql", "ALTER TABLE t ALTER COLUMN n TYPE bigint;"),
        ],
        1,
        &[
            &[(
                "V1__t.sql",
                "CREATE TABLE t (id int, n int);\nALTER TABLE t ALTER COLUMN n TYPE bigint;",
            )],
            &[
                T,
                (
                    "V2__a.sql",
                    "ALTER TABLE t ALTER COLUMN name TYPE varchar(20);",
                ),
            ],
        ],
    );
    let ts = ("V1__t.sql", "CREATE TABLE t (id int, at timestamp);");
    assert!(rules(&[
        ts,
        (
            "V2__a.sql",
            "ALTER TABLE t ALTER COLUMN at TYPE timestamptz;"
        )
    ])
    .contains(&"column-type-rewrite"));
    assert!(!rules(&[
        ts,
        (
            "V2__a.sql",
            "SET timezone = 'UTC';\nALTER TABLE t ALTER COLUMN at TYPE timestamptz;"
        )
    ])
    .contains(&"column-type-rewrite"));
}

#[test]
fn drop_column() {
    check(
        "drop-column",
        &[T, ("V2__a.sql", "ALTER TABLE t DROP COLUMN name;")],
        1,
        &[&[(
            "V1__t.sql",
            "CREATE TABLE t (id int, scratch int);\nALTER TABLE t DROP COLUMN scratch;",
        )]],
    );
}

#[test]
fn drop_table() {
    check(
        "drop-table",
        &[T, ("V2__a.sql", "DROP TABLE t;")],
        1,
        &[
            &[(
                "V1__t.sql",
                "CREATE TABLE scratch (id int);\nDROP TABLE scratch;",
            )],
            // A table derived from others, dropped and built again from its query.
            &[
                T,
                (
                    "V2__a.sql",
                    "CREATE TABLE totals AS SELECT count(*) AS n FROM t;",
                ),
                (
                    "V3__b.sql",
                    "DROP TABLE totals;\nCREATE TABLE totals AS SELECT count(*) AS n FROM t;",
                ),
            ],
        ],
    );
}

#[test]
fn rename_column() {
    check(
        "rename-column",
        &[
            T,
            ("V2__a.sql", "ALTER TABLE t RENAME COLUMN name TO title;"),
        ],
        1,
        &[&[(
            "V1__t.sql",
            "CREATE TABLE t (id int, name text);\nALTER TABLE t RENAME COLUMN name TO title;",
        )]],
    );
}

#[test]
fn rename_table() {
    check(
        "rename-table",
        &[T, ("V2__a.sql", "ALTER TABLE t RENAME TO items;")],
        1,
        &[&[(
            "V1__t.sql",
            "CREATE TABLE t (id int);\nALTER TABLE t RENAME TO items;",
        )]],
    );
}

#[test]
fn foreign_key_on_delete() {
    check(
        "foreign-key-on-delete",
        &[T, ("V2__a.sql", "CREATE TABLE c (id int, t_id int REFERENCES t);\nCREATE INDEX c_t ON c (t_id);")],
        1,
        &[&[T, ("V2__a.sql", "CREATE TABLE c (id int, t_id int REFERENCES t ON DELETE CASCADE);\nCREATE INDEX c_t ON c (t_id);")]],
    );
}

#[test]
fn foreign_key_without_index() {
    check(
        "foreign-key-without-index",
        &[T, ("V2__a.sql", "CREATE TABLE c (id int, t_id int REFERENCES t ON DELETE CASCADE);")],
        1,
        &[&[
            T,
            (
                "V2__a.sql",
                "CREATE TABLE c (id int, t_id int REFERENCES t ON DELETE CASCADE);\nCREATE INDEX c_t ON c (t_id);",
            ),
        ]],
    );
}

#[test]
fn tenant_without_rls() {
    check(
        "tenant-without-rls",
        &[("V1__t.sql", "CREATE TABLE notes (id int, tenant_id uuid NOT NULL);")],
        1,
        &[&[(
            "V1__t.sql",
            "CREATE TABLE notes (id int, tenant_id uuid NOT NULL);\nALTER TABLE notes ENABLE ROW LEVEL SECURITY;\n\
             CREATE POLICY tenant_isolation ON notes USING (tenant_id = current_setting('app.tenant')::uuid);",
        )]],
    );
    // Enabled but without a policy is still a finding.
    assert!(rules(&[("V1__t.sql", "CREATE TABLE notes (id int, tenant_id uuid);\nALTER TABLE notes ENABLE ROW LEVEL SECURITY;")])
        .contains(&"tenant-without-rls"));
}

#[test]
fn enum_value_added() {
    check(
        "enum-value-added",
        &[
            ("V1__e.sql", "CREATE TYPE mood AS ENUM ('sad');"),
            ("V2__a.sql", "ALTER TYPE mood ADD VALUE 'happy';"),
        ],
        1,
        &[&[(
            "V1__e.sql",
            "CREATE TYPE mood AS ENUM ('sad');\nALTER TYPE mood ADD VALUE 'happy';",
        )]],
    );
}

#[test]
fn concurrently_with_transactional() {
    check(
        "concurrently-with-transactional",
        &[
            T,
            (
                "V2__a.sql",
                "ALTER TABLE t ADD COLUMN k int;\nCREATE INDEX CONCURRENTLY t_k ON t (k);",
            ),
        ],
        2,
        &[&[
            T,
            (
                "V2__a.sql",
                "-- pgstrata:lock-timeout 5s\nCREATE INDEX CONCURRENTLY t_n ON t (n);",
            ),
        ]],
    );
}

#[test]
fn lock_timeout_missing() {
    check(
        "lock-timeout-missing",
        &[T, ("V2__a.sql", "ALTER TABLE t ADD COLUMN k int;")],
        1,
        &[
            &[
                T,
                (
                    "V2__a.sql",
                    "-- pgstrata:lock-timeout 5s\nALTER TABLE t ADD COLUMN k int;",
                ),
            ],
            &[
                T,
                (
                    "V2__a.sql",
                    "SET lock_timeout = '5s';\nALTER TABLE t ADD COLUMN k int;",
                ),
            ],
            &[(
                "V1__t.sql",
                "CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN k int;",
            )],
        ],
    );
    // Replacing or dropping a view that existed locks out its readers too.
    let view = ("V2__v.sql", "CREATE VIEW v AS SELECT id FROM t;");
    assert!(rules(&[
        T,
        view,
        (
            "V3__a.sql",
            "CREATE OR REPLACE VIEW v AS SELECT id, n FROM t;"
        )
    ])
    .contains(&"lock-timeout-missing"));
    assert!(rules(&[T, view, ("V3__a.sql", "DROP VIEW v;")]).contains(&"lock-timeout-missing"));
    assert!(!rules(&[
        T,
        (
            "V2__v.sql",
            "CREATE VIEW v AS SELECT id FROM t;\nDROP VIEW v;"
        )
    ])
    .contains(&"lock-timeout-missing"));
}

#[test]
fn vacuum_full_cluster() {
    check(
        "vacuum-full-cluster",
        &[T, ("V2__a.sql", "VACUUM FULL t;")],
        1,
        &[&[T, ("V2__a.sql", "VACUUM t;")]],
    );
    assert!(rules(&[T, ("V2__a.sql", "CLUSTER t USING t_pkey;")]).contains(&"vacuum-full-cluster"));
}

#[test]
fn rollback_mismatch() {
    let bad = [
        ("1_t.up.sql", "CREATE TABLE t (id int);"),
        ("1_t.down.sql", "DROP TABLE t;"),
        ("2_a.up.sql", "ALTER TABLE t ADD COLUMN k int;"),
        ("2_a.down.sql", "SELECT 1;"),
    ];
    let found = run(&bad, Options::default());
    let hit = found
        .iter()
        .find(|f| f.rule == "rollback-mismatch")
        .unwrap();
    assert_eq!(hit.file, "m/2_a.down.sql");
    assert!(
        hit.why
            .contains("column public.t.k exists after the down only"),
        "{hit}"
    );
    let good = [
        ("1_t.up.sql", "CREATE TABLE t (id int);"),
        ("1_t.down.sql", "DROP TABLE t;"),
        ("2_a.up.sql", "ALTER TABLE t ADD COLUMN k int;"),
        ("2_a.down.sql", "ALTER TABLE t DROP COLUMN k;"),
    ];
    assert!(!rules(&good).contains(&"rollback-mismatch"));
}

#[test]
fn missing_down_with_reversible() {
    let files = [
        ("1_t.up.sql", "CREATE TABLE t (id int);"),
        ("2_u.up.sql", "CREATE TABLE u (id int);"),
        ("2_u.down.sql", "DROP TABLE u;"),
    ];
    let found = run(&files, Options { reversible: true });
    let missing: Vec<&str> = found
        .iter()
        .filter(|f| f.rule == "missing-down")
        .map(|f| f.file.as_str())
        .collect();
    assert_eq!(missing, ["m/1_t.up.sql"]);
    assert!(
        !rules(&files).contains(&"missing-down"),
        "only with --reversible"
    );
}

#[test]
fn suppression_by_comment_and_by_config() {
    let files = [T, ("V2__a.sql", "-- pgstrata:allow(drop-column) the column was never read\nALTER TABLE t DROP COLUMN name;\nALTER TABLE t DROP COLUMN n;")];
    let found = run(&files, Options::default());
    let drops: Vec<u32> = found
        .iter()
        .filter(|f| f.rule == "drop-column")
        .map(|f| f.line)
        .collect();
    assert_eq!(drops, [3], "the comment covers the statement after it only");

    let f = folder(&files, Some("[lint]\nallow = [\"drop-column\"]\n[lint.severity]\n\"lock-timeout-missing\" = \"error\"\n"));
    let found = lint_dir(&f.0, Options::default()).unwrap();
    assert!(found.iter().all(|f| f.rule != "drop-column"));
    let lt = found
        .iter()
        .find(|f| f.rule == "lock-timeout-missing")
        .unwrap();
    assert_eq!(lt.severity, Severity::Error);

    let bad = [
        T,
        (
            "V2__a.sql",
            "-- pgstrata:allow(drop-colum) typo\nALTER TABLE t DROP COLUMN name;",
        ),
    ];
    let f = folder(&bad, None);
    let e = lint_dir(&f.0, Options::default()).unwrap_err().to_string();
    assert!(
        e.contains("m/V2__a.sql:1:1") && e.contains("unknown lint rule `drop-colum`"),
        "{e}"
    );
    let f = folder(
        &[T],
        Some("[lint.severity]\n\"no-such-rule\" = \"error\"\n"),
    );
    let e = lint_dir(&f.0, Options::default()).unwrap_err().to_string();
    assert!(e.contains("unknown rule \"no-such-rule\""), "{e}");
}

#[test]
fn every_rule_has_a_test_here() {
    let source = include_str!("lint.rs");
    for r in pgstrata_codegen::lint::Rule::ALL {
        assert!(
            source.contains(&format!("\"{}\"", r.id())),
            "no test names {}",
            r.id()
        );
    }
}
