//! The rules of column definitions (in `CREATE TABLE` and `ADD COLUMN`): defaults that
//! rewrite a table, `NOT NULL` without a default, tenant columns, foreign keys; and which
//! type changes rewrite a table.

use pgstrata_core::catalog::{ColumnType, QualifiedName, Table};
use pgstrata_core::lex;
use sqlparser::ast::{ColumnDef, ColumnOption, Expr, ForeignKeyConstraint};

use super::linter::Linter;
use super::statements::Here;
use super::Rule;
use crate::pgtype::{fold, written, Written};

impl Linter<'_> {
    /// A column declared by CREATE TABLE or ADD COLUMN: a tenant column, and its inline
    /// foreign key.
    pub(super) fn column(
        &mut self,
        here: Here<'_>,
        table: &QualifiedName,
        c: &sqlparser::ast::ColumnDef,
    ) {
        if fold(&c.name) == "tenant_id" {
            self.tenants.push((table.clone(), here.i, here.at));
        }
        for o in &c.options {
            if let ColumnOption::ForeignKey(fk) = &o.option {
                self.foreign_key(here, table, fk, vec![fold(&c.name)]);
            }
        }
    }

    /// A foreign key of `table` on `cols` (a table constraint's own columns, or the
    /// column it is declared on).
    pub(super) fn foreign_key(
        &mut self,
        here: Here<'_>,
        table: &QualifiedName,
        fk: &ForeignKeyConstraint,
        cols: Vec<String>,
    ) {
        let Here {
            catalog,
            search_path,
            i,
            at,
        } = here;
        if fk.on_delete.is_none() {
            self.push(
                Rule::ForeignKeyOnDelete,
                i,
                at,
                format!(
                    "the foreign key on {}.{} ({}) says nothing about deleting the referenced row: it blocks the delete \
                     (NO ACTION), which is rarely what was meant",
                    table.schema,
                    table.name,
                    cols.join(", ")
                ),
                "say what happens: ON DELETE CASCADE, SET NULL, RESTRICT, or an explicit NO ACTION".into(),
            );
        }
        // Adding a foreign key locks the referenced table against writes too.
        if let Some((t, true)) = self.table(catalog, search_path, &fk.foreign_table) {
            let t = t.clone();
            self.blocks(i, at, &t);
        }
        self.foreign_keys.push((table.clone(), cols, i, at));
    }

    pub(super) fn unique_constraint(&mut self, i: usize, at: usize, name: &str) {
        self.push(
            Rule::IndexNotConcurrent,
            i,
            at,
            format!("this builds a unique index on {name} while blocking every write to it"),
            "CREATE UNIQUE INDEX CONCURRENTLY in a migration of its own, then ADD CONSTRAINT ... USING INDEX".into(),
        );
    }

    pub(super) fn add_column(&mut self, i: usize, at: usize, t: &Table, def: &ColumnDef) {
        let name = format!("{}.{}.{}", t.schema, t.name, fold(&def.name));
        let mut not_null = false;
        let mut default: Option<String> = None;
        let mut computed: Option<&str> = None;
        for o in &def.options {
            match &o.option {
                ColumnOption::NotNull | ColumnOption::PrimaryKey(_) => not_null = true,
                ColumnOption::Default(e) => default = Some(e.to_string()),
                ColumnOption::Generated {
                    generation_expr: Some(_),
                    ..
                } => computed = Some("a generated column"),
                ColumnOption::Generated { .. } | ColumnOption::Identity(_) => {
                    computed = Some("an identity column")
                }
                _ => {}
            }
        }
        if matches!(written(&def.data_type), Ok(Written::Builtin(_, Some(_)))) {
            computed = Some("a serial column");
        }
        let volatile = default.as_deref().map(volatile_calls).unwrap_or_default();
        if let Some(what) = computed {
            self.push(
                Rule::VolatileDefault,
                i,
                at,
                format!("adding {what} {name} computes a value for every row: the table is rewritten under an ACCESS EXCLUSIVE lock"),
                "add a plain nullable column, fill it in batches, then add the default or identity".into(),
            );
        } else if !volatile.is_empty() {
            self.push(
                Rule::VolatileDefault,
                i,
                at,
                format!(
                    "the default of {name} calls {}, which is volatile (or may be: a function is unless declared \
                     otherwise), so adding it rewrites the table under an ACCESS EXCLUSIVE lock",
                    volatile.join(", ")
                ),
                "add the column without a default, set the default in a second statement (it then applies to new \
                 rows only), and backfill old rows in batches"
                    .into(),
            );
        } else if not_null && default.is_none() {
            self.push(
                Rule::NotNullWithoutDefault,
                i,
                at,
                format!("adding {name} NOT NULL without a default fails on a table that has rows"),
                "give it a default (a constant default adds no rewrite), or add it nullable, backfill, and SET NOT NULL \
                 after a validated CHECK (col IS NOT NULL)"
                    .into(),
            );
        }
    }
}

/// Functions whose value does not change within a statement (stable or immutable):
/// a default calling only these is computed once when a column is added.
const NOT_VOLATILE: &[&str] = &[
    "now",
    "current_timestamp",
    "transaction_timestamp",
    "statement_timestamp",
    "current_date",
    "current_time",
    "localtimestamp",
    "localtime",
    "current_user",
    "session_user",
    "current_schema",
    "lower",
    "upper",
    "coalesce",
    "nullif",
    "concat",
    "length",
    "timezone",
    "date_trunc",
    "make_interval",
    "to_timestamp",
    "jsonb_build_object",
    "json_build_object",
    "jsonb_build_array",
    "array",
    "greatest",
    "least",
    "abs",
    "round",
    "md5",
    "btrim",
    "trim",
    "replace",
    "substring",
    "to_tsvector",
    "row",
    "cast",
    "extract",
    "date_part",
    "interval",
    "timestamp",
    "timestamptz",
];

/// The functions an expression calls that are not known to be stable: volatile ones
/// (random(), gen_random_uuid(), nextval()) and the project's own, which PostgreSQL
/// makes volatile unless declared otherwise.
fn volatile_calls(expr: &str) -> Vec<String> {
    let tokens: Vec<lex::Token> = lex::significant(expr).collect();
    tokens
        .windows(2)
        .filter(|p| p[0].kind == lex::Kind::Word && p[1].is(expr, "("))
        .map(|p| p[0].text(expr).to_ascii_lowercase())
        .filter(|name| !NOT_VOLATILE.contains(&name.as_str()))
        .collect()
}

/// Whether changing a column from `old` to `new` rewrites the table (PostgreSQL skips
/// the rewrite for binary-coercible changes that only relax a limit).
pub(super) fn rewrites(old: &ColumnType, new: &ColumnType, utc: bool) -> bool {
    if old.array != new.array || old.schema != new.schema {
        return true;
    }
    let limit = |m: &Option<String>| -> Option<Vec<u64>> {
        m.as_ref().map(|m| {
            m.trim_matches(|c| c == '(' || c == ')')
                .split(',')
                .filter_map(|x| x.trim().parse().ok())
                .collect()
        })
    };
    let (o, n) = (old.name.as_str(), new.name.as_str());
    let relaxed = || match (limit(&old.modifier), limit(&new.modifier)) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(a), Some(b)) => match (a.as_slice(), b.as_slice()) {
            ([p], [q]) => q >= p,
            ([p, s], [q, t]) => q >= p && s == t,
            _ => false,
        },
    };
    match (o, n) {
        _ if o == n && old.modifier == new.modifier => false,
        ("character varying", "text") | ("text", "character varying") if new.modifier.is_none() => {
            false
        }
        ("character varying", "character varying")
        | ("numeric", "numeric")
        | ("bit varying", "bit varying")
        | ("timestamp without time zone", "timestamp without time zone")
        | ("timestamp with time zone", "timestamp with time zone")
        | ("time without time zone", "time without time zone")
        | ("interval", "interval") => !relaxed(),
        ("cidr", "inet") => false,
        ("timestamp without time zone", "timestamp with time zone")
        | ("timestamp with time zone", "timestamp without time zone") => !(utc && relaxed()),
        _ => true,
    }
}

/// The column of a `CHECK (col IS NOT NULL)` expression.
pub(super) fn not_null_check(e: &Expr) -> Option<String> {
    match e {
        Expr::IsNotNull(inner) => match inner.as_ref() {
            Expr::Identifier(id) => Some(fold(id)),
            Expr::Nested(n) => not_null_check(&Expr::IsNotNull(n.clone())),
            _ => None,
        },
        Expr::Nested(n) => not_null_check(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volatile_calls_are_found_outside_strings() {
        assert!(volatile_calls("now()").is_empty());
        assert!(volatile_calls("'random()'").is_empty());
        assert_eq!(volatile_calls("gen_random_uuid()"), ["gen_random_uuid"]);
        assert_eq!(
            volatile_calls("public.generate_unique_changeme()"),
            ["generate_unique_changeme"]
        );
        assert_eq!(
            volatile_calls("now() - random() * INTERVAL '1 day'"),
            ["random"]
        );
        // Comments, dollar quotes and escape strings hide calls too.
        assert!(volatile_calls("/* random() */ $$ random() $$ E'\\' random()'").is_empty());
        assert_eq!(volatile_calls("nextval\n  ('s')"), ["nextval"]);
    }

    #[test]
    fn type_changes_that_rewrite() {
        let t = |name: &str, m: Option<&str>| ColumnType {
            schema: None,
            name: name.into(),
            modifier: m.map(str::to_string),
            array: false,
        };
        let r = |a: &ColumnType, b: &ColumnType| rewrites(a, b, false);
        assert!(!r(
            &t("character varying", Some("(10)")),
            &t("character varying", Some("(20)"))
        ));
        assert!(r(
            &t("character varying", Some("(20)")),
            &t("character varying", Some("(10)"))
        ));
        assert!(!r(&t("character varying", Some("(10)")), &t("text", None)));
        assert!(!r(
            &t("numeric", Some("(10,2)")),
            &t("numeric", Some("(12,2)"))
        ));
        assert!(r(
            &t("numeric", Some("(10,2)")),
            &t("numeric", Some("(12,3)"))
        ));
        assert!(r(&t("integer", None), &t("bigint", None)));
        assert!(!r(&t("cidr", None), &t("inet", None)));
        let (ts, tstz) = (
            t("timestamp without time zone", None),
            t("timestamp with time zone", None),
        );
        assert!(r(&ts, &tstz), "in another time zone the values change");
        assert!(
            !rewrites(&ts, &tstz, true),
            "with the session in UTC they are binary compatible"
        );
    }
}
