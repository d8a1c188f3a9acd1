//! The rules: one enum, so a rule id is checked by the compiler where the linter raises
//! it and read once, here, where `pgstrata.toml` and suppressions name it.

use std::fmt;

use super::Severity;

macro_rules! rules {
    ($($variant:ident = $id:literal, $severity:ident, $summary:literal;)*) => {
        /// A lint rule.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule {
            $(#[doc = $summary] $variant,)*
        }

        impl Rule {
            /// Every rule, in the order the README lists them.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The id used in findings, suppressions and `pgstrata.toml`.
            pub fn id(self) -> &'static str {
                match self {
                    $(Rule::$variant => $id,)*
                }
            }

            /// Its severity unless configured.
            pub fn severity(self) -> Severity {
                match self {
                    $(Rule::$variant => Severity::$severity,)*
                }
            }

            /// What it catches.
            pub fn summary(self) -> &'static str {
                match self {
                    $(Rule::$variant => $summary,)*
                }
            }
        }
    };
}

rules! {
    NotNullWithoutDefault = "not-null-without-default", Error, "ADD COLUMN ... NOT NULL without a default on an existing table";
    VolatileDefault = "volatile-default", Error, "ADD COLUMN with a volatile default (or identity, serial, generated) on an existing table: a rewrite";
    IndexNotConcurrent = "index-not-concurrent", Error, "an index (or unique/primary key constraint) built, or an index dropped, on an existing table without CONCURRENTLY";
    ConstraintNotValid = "constraint-not-valid", Warning, "a foreign key or check added to an existing table without NOT VALID";
    SetNotNull = "set-not-null", Warning, "SET NOT NULL on an existing table without a validated CHECK (col IS NOT NULL)";
    ColumnTypeRewrite = "column-type-rewrite", Error, "a column type change that rewrites an existing table";
    DropColumn = "drop-column", Warning, "DROP COLUMN on an existing table: data is lost, running code may still read it";
    DropTable = "drop-table", Warning, "DROP TABLE of an existing table: data is lost";
    RenameColumn = "rename-column", Warning, "RENAME COLUMN on an existing table breaks running code";
    RenameTable = "rename-table", Warning, "RENAME of an existing table breaks running code";
    ForeignKeyOnDelete = "foreign-key-on-delete", Warning, "a foreign key without ON DELETE";
    ForeignKeyWithoutIndex = "foreign-key-without-index", Warning, "a foreign key whose columns no index leads with";
    TenantWithoutRls = "tenant-without-rls", Error, "a table with a tenant_id column but no row-level security or no policy";
    EnumValueAdded = "enum-value-added", Warning, "ALTER TYPE ... ADD VALUE on an existing enum: older binaries cannot decode it";
    ConcurrentlyWithTransactional = "concurrently-with-transactional", Warning, "CONCURRENTLY in a migration that also does transactional work";
    LockTimeoutMissing = "lock-timeout-missing", Warning, "a write-blocking lock on an existing table without a lock_timeout";
    VacuumFullCluster = "vacuum-full-cluster", Error, "VACUUM FULL or CLUSTER: the table is locked while it is rewritten";
    RollbackMismatch = "rollback-mismatch", Warning, "the down SQL does not give back the schema from before the up";
    MissingDown = "missing-down", Error, "a migration without down SQL (with --reversible)";
}

impl Rule {
    /// The rule with this id.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|r| r.id() == id)
    }

    /// Every id, for messages that list them.
    pub(super) fn ids() -> String {
        Rule::ALL
            .iter()
            .map(|r| r.id())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl PartialEq<&str> for Rule {
    fn eq(&self, other: &&str) -> bool {
        self.id() == *other
    }
}
