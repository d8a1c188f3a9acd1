//! Comparing a live database with the catalog.
//!
//! The catalog spells defaults and index keys as the migrations wrote them (through
//! sqlparser); PostgreSQL spells them as `pg_get_expr` and `pg_get_indexdef` print them,
//! with casts and parentheses of its own. Both are brought to one [`normal`] form
//! before comparing, so that only real differences are reported.

use super::{Catalog, Column, ColumnType, Index, Table};
use crate::lex::{self, Kind, Token};

/// One way a live database differs from the catalog, said in PostgreSQL's terms
/// (`DEFAULT ''`, `PRIMARY KEY (id)`, identifiers as the catalog spells them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// Something the database has and the migrations do not (a table or column added
    /// out of band): code generated from the migrations still works.
    pub extra: bool,
    /// What differs: `column public.users.token`, `table public.users`, `index i on
    /// public.users`, `enum public.mood`.
    pub subject: String,
    /// How it differs.
    pub kind: DiffKind,
    /// The difference as one sentence, the migrations against the database: what
    /// `pgstrata drift` prints and `baseline --accept` takes.
    pub message: String,
}

/// How something differs between the first schema (the migrations) and the second (the
/// database).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiffKind {
    /// Only the first has it.
    Missing,
    /// Only the second has it.
    Extra,
    /// Both have it, as these two SQL spellings say (`DEFAULT 'x'` and `no default`).
    Differs(String, String),
    /// The second has it, but PostgreSQL cannot use it: why, and what to do.
    Invalid(String),
}

impl Difference {
    fn new(extra: bool, subject: String, kind: DiffKind) -> Difference {
        let mut d = Difference {
            extra,
            subject,
            kind,
            message: String::new(),
        };
        d.message = d.between("in the migrations", "in the database");
        d
    }

    /// The difference as one sentence with other names for the two sides:
    /// `between("before the up", "after the down")`.
    pub fn between(&self, first: &str, second: &str) -> String {
        let s = &self.subject;
        match &self.kind {
            DiffKind::Missing => format!("{s} exists {first} but not {second}"),
            DiffKind::Extra => format!("{s} exists {second} only"),
            DiffKind::Differs(a, b) => format!("{s}: {a} {first}, {b} {second}"),
            DiffKind::Invalid(why) => format!("{s} is invalid {second}: {why}"),
        }
    }
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What to compare beyond tables, columns (type, nullability), primary keys and enum
/// labels, which are always compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compare {
    /// Column defaults.
    pub defaults: bool,
    /// Indexes (not those behind primary keys and unique constraints).
    pub indexes: bool,
}

impl Compare {
    /// Everything: what `pgstrata drift` and `baseline` check.
    pub fn all() -> Compare {
        Compare {
            defaults: true,
            indexes: true,
        }
    }
}

/// How a live database differs from the catalog: tables, columns (type, nullability),
/// primary keys and enum labels. Tables named in `ignore` (the history table) are left
/// out.
pub fn differences(model: &Catalog, live: &Catalog, ignore: &[&str]) -> Vec<Difference> {
    differences_with(model, live, ignore, Compare::default())
}

/// [`differences`], and the defaults and indexes `compare` asks for.
pub fn differences_with(
    model: &Catalog,
    live: &Catalog,
    ignore: &[&str],
    compare: Compare,
) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut push = |extra: bool, subject: String, kind: DiffKind| {
        out.push(Difference::new(extra, subject, kind))
    };
    let keep = |t: &&Table| !ignore.contains(&t.name.as_str());
    for t in model.tables.iter().filter(keep) {
        let subject = format!("table {}.{}", t.schema, t.name);
        let Some(l) = live.table(&t.schema, &t.name) else {
            push(false, subject, DiffKind::Missing);
            continue;
        };
        columns(t, l, compare, &mut push);
        for lc in &l.columns {
            if t.column(&lc.name).is_none() {
                let subject = format!("column {}.{}.{}", t.schema, t.name, lc.name);
                push(true, subject, DiffKind::Extra);
            }
        }
        let pk = |t: &Table| {
            t.primary_key.as_ref().map_or_else(
                || "no primary key".to_string(),
                |k| format!("PRIMARY KEY ({})", idents(&k.columns)),
            )
        };
        if pk(t) != pk(l) {
            push(false, subject, DiffKind::Differs(pk(t), pk(l)));
        }
        if compare.indexes {
            indexes(t, l, &mut push);
        }
    }
    for l in live.tables.iter().filter(keep) {
        if model.table(&l.schema, &l.name).is_none() {
            push(
                true,
                format!("table {}.{}", l.schema, l.name),
                DiffKind::Extra,
            );
        }
    }
    for e in &model.enums {
        let subject = format!("enum {}.{}", e.schema, e.name);
        let labels = |v: &[String]| {
            let quoted: Vec<String> = v.iter().map(|l| crate::sql::literal(l)).collect();
            format!("labels ({})", quoted.join(", "))
        };
        match live.enum_type(&e.schema, &e.name) {
            None => push(false, subject, DiffKind::Missing),
            Some(l) if l.values != e.values => push(
                false,
                subject,
                DiffKind::Differs(labels(&e.values), labels(&l.values)),
            ),
            Some(_) => {}
        }
    }
    for l in &live.enums {
        if model.enum_type(&l.schema, &l.name).is_none() {
            push(
                true,
                format!("enum {}.{}", l.schema, l.name),
                DiffKind::Extra,
            );
        }
    }
    out
}

/// Column names as PostgreSQL prints them in a key: quoted only where they must be.
fn idents(columns: &[String]) -> String {
    let quoted: Vec<String> = columns.iter().map(|c| super::quote_ident(c)).collect();
    quoted.join(", ")
}

/// Indexes of one table, matched by name, then by definition (an index the migrations
/// created without a name gets one PostgreSQL chose, which the catalog only predicts).
/// An index PostgreSQL marks invalid (an interrupted `CREATE INDEX CONCURRENTLY`) is
/// reported whatever the migrations say.
fn indexes(model: &Table, live: &Table, push: &mut impl FnMut(bool, String, DiffKind)) {
    let key = |i: &Index| {
        (
            i.unique,
            i.columns.iter().map(|c| normal(c)).collect::<Vec<_>>(),
        )
    };
    let def = |i: &Index| {
        format!(
            "{}INDEX USING {} ({})",
            if i.unique { "UNIQUE " } else { "" },
            i.method,
            keys(i)
        )
    };
    let subject = |i: &Index| format!("index {} on {}.{}", i.name, live.schema, live.name);
    for l in live.indexes.iter().filter(|i| !i.valid) {
        push(
            false,
            subject(l),
            DiffKind::Invalid(format!(
                "an interrupted CREATE INDEX CONCURRENTLY left it ({}); drop it (DROP INDEX CONCURRENTLY {}) and build it again",
                def(l),
                super::quote_ident(&l.name)
            )),
        );
    }
    let mut unmatched: Vec<&Index> = live.indexes.iter().filter(|i| i.valid).collect();
    let mut missing = Vec::new();
    for i in &model.indexes {
        match unmatched.iter().position(|l| l.name == i.name) {
            Some(p) => {
                let l = unmatched.remove(p);
                if key(l) != key(i) {
                    push(false, subject(i), DiffKind::Differs(def(i), def(l)));
                }
            }
            None => missing.push(i),
        }
    }
    for i in missing {
        match unmatched.iter().position(|l| key(l) == key(i)) {
            Some(p) => {
                unmatched.remove(p);
            }
            None if live.indexes.iter().any(|l| !l.valid && key(l) == key(i)) => {}
            None => push(
                false,
                format!(
                    "index {} on {}.{} ({})",
                    i.name,
                    model.schema,
                    model.name,
                    keys(i)
                ),
                DiffKind::Missing,
            ),
        }
    }
    for l in unmatched {
        push(
            true,
            format!(
                "index {} on {}.{} ({})",
                l.name,
                live.schema,
                live.name,
                keys(l)
            ),
            DiffKind::Extra,
        );
    }
}

/// An index's keys as the catalog spells them: a key that is one quoted identifier
/// the catalog would not quote (`"ended_at"`) loses its quotes.
fn keys(i: &Index) -> String {
    let key = |k: &String| match k.strip_prefix('"').and_then(|k| k.strip_suffix('"')) {
        Some(bare) if !bare.contains('"') && super::quote_ident(bare) == bare => bare.to_string(),
        _ => k.clone(),
    };
    i.columns.iter().map(key).collect::<Vec<_>>().join(", ")
}

/// The differences of the columns `model` and `live` both have or `model` has.
fn columns(
    model: &Table,
    live: &Table,
    compare: Compare,
    push: &mut impl FnMut(bool, String, DiffKind),
) {
    for c in &model.columns {
        let subject = format!("column {}.{}.{}", model.schema, model.name, c.name);
        let Some(lc) = live.column(&c.name) else {
            push(false, subject, DiffKind::Missing);
            continue;
        };
        if lc.ty.format() != c.ty.format() {
            push(
                false,
                subject.clone(),
                DiffKind::Differs(c.ty.format(), lc.ty.format()),
            );
        }
        if lc.nullable != c.nullable {
            let n = |b: bool| if b { "nullable" } else { "NOT NULL" }.to_string();
            push(
                false,
                subject.clone(),
                DiffKind::Differs(n(c.nullable), n(lc.nullable)),
            );
        }
        let no_default = c.generated.is_some() || c.identity.is_some();
        let normal = |col: &Column| col.default.as_deref().map(|d| normal_default(d, &col.ty));
        if compare.defaults && !no_default && normal(c) != normal(lc) {
            let d = |x: &Option<String>| {
                x.as_ref()
                    .map_or_else(|| "no default".to_string(), |d| format!("DEFAULT {d}"))
            };
            push(
                false,
                subject,
                DiffKind::Differs(d(&c.default), d(&lc.default)),
            );
        }
    }
}

/// A column default in [`normal`] form, with what PostgreSQL makes of a literal of the
/// column's type when it stores it: `'f'` for a boolean is `false`, `'epoch'` for a
/// date or timestamp is the first instant of 1970.
pub fn normal_default(expr: &str, ty: &ColumnType) -> String {
    let n = normal(expr);
    if ty.array || ty.schema.is_some() {
        return n;
    }
    let inner = n.strip_prefix('\'').and_then(|x| x.strip_suffix('\''));
    match (
        ty.name.as_str(),
        inner.map(str::to_ascii_lowercase).as_deref(),
    ) {
        ("boolean", Some("t" | "true" | "y" | "yes" | "on" | "1")) => "true".into(),
        ("boolean", Some("f" | "false" | "n" | "no" | "off" | "0")) => "false".into(),
        ("timestamp without time zone", Some("epoch")) => "'1970-01-01 00:00:00'".into(),
        ("timestamp with time zone", Some("epoch")) => "'1970-01-01 00:00:00+00'".into(),
        ("date", Some("epoch")) => "'1970-01-01'".into(),
        _ => n,
    }
}

/// An expression (a default, an index key) in a form that both spellings reach: type
/// casts, parentheses and whitespace outside string literals removed, the rest
/// lower-cased outside string literals and quoted identifiers, and a string literal
/// holding a number written as the number (PostgreSQL prints `DEFAULT -1` as
/// `'-1'::integer`).
pub fn normal(expr: &str) -> String {
    let tokens: Vec<Token> = lex::significant(expr).collect();
    let word = |i: usize, w: &str| {
        tokens
            .get(i)
            .is_some_and(|t| t.kind == Kind::Word && t.text(expr).eq_ignore_ascii_case(w))
    };
    let mut out = String::with_capacity(expr.len());
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i];
        let text = t.text(expr);
        match t.kind {
            Kind::String if text.starts_with('\'') => {
                let inner = &text[1..text.len() - 1];
                // `INTERVAL '12 months'` and `'1 year'::interval` are one value.
                let cast_to_interval = tokens.get(i + 1).is_some_and(|c| c.kind == Kind::Cast)
                    && word(i + 2, "interval");
                let keyword = i > 0 && word(i - 1, "interval");
                if keyword {
                    out.truncate(out.len() - "interval".len());
                }
                match interval(inner).filter(|_| keyword || cast_to_interval) {
                    Some(canonical) => out.push_str(&canonical),
                    None if !inner.is_empty() && inner.parse::<f64>().is_ok() => {
                        out.push_str(inner)
                    }
                    None => out.push_str(text),
                }
            }
            Kind::String => {
                // A prefixed string: the prefix's case does not matter, the text's does.
                let quote = text.find('\'').unwrap_or(0);
                out.push_str(&text[..quote].to_lowercase());
                out.push_str(&text[quote..]);
            }
            // A quoted identifier: as written, quotes dropped (the catalog and PostgreSQL
            // quote different names).
            Kind::QuotedIdent => out.push_str(&t.identifier(expr).unwrap_or_default()),
            Kind::Cast => {
                i = skip_type(expr, &tokens, i + 1);
                continue;
            }
            Kind::Punct if matches!(text, "(" | ")") => {}
            // `public.f(x)` is how the catalog may spell what PostgreSQL prints as `f(x)`
            // (public is on the search path it prints with).
            Kind::Word
                if text.eq_ignore_ascii_case("public")
                    && tokens.get(i + 1).is_some_and(|d| d.is(expr, ".")) =>
            {
                i += 2;
                continue;
            }
            _ => out.push_str(&text.to_lowercase()),
        }
        i += 1;
    }
    out
}

/// An interval literal as (months, days, microseconds), PostgreSQL's own parts: `12
/// months` and `1 year` are equal, `24 hours` and `1 day` are not. `None` for text this
/// does not understand.
fn interval(text: &str) -> Option<String> {
    let (mut months, mut days, mut micros) = (0i64, 0i64, 0f64);
    let mut words = text.split_whitespace().peekable();
    let mut any = false;
    while let Some(w) = words.next() {
        if w.contains(':') {
            // hh:mm[:ss]
            let mut parts = w.split(':');
            let h: f64 = parts.next()?.parse().ok()?;
            let m: f64 = parts.next()?.parse().ok()?;
            let sec: f64 = parts.next().map_or(Some(0.0), |x| x.parse().ok())?;
            micros += (h * 3600.0 + m * 60.0 + sec) * 1e6;
            any = true;
            continue;
        }
        let (number, unit) = match w.find(|ch: char| ch.is_alphabetic()) {
            Some(0) => return None,
            Some(p) => (&w[..p], w[p..].to_string()),
            None => (w, words.next()?.to_string()),
        };
        let n: f64 = number.parse().ok()?;
        let unit = unit.to_lowercase();
        if matches!(
            unit.as_str(),
            "ms" | "msec" | "msecs" | "millisecond" | "milliseconds"
        ) {
            micros += n * 1e3;
            any = true;
            continue;
        }
        match unit.trim_end_matches('s') {
            "year" | "yr" | "y" => months += (n * 12.0) as i64,
            "month" | "mon" => months += n as i64,
            "week" | "w" => days += (n * 7.0) as i64,
            "day" | "d" => days += n as i64,
            "hour" | "hr" | "h" => micros += n * 3.6e9,
            "minute" | "min" | "m" => micros += n * 6e7,
            "second" | "sec" | "" => micros += n * 1e6,
            _ => return None,
        }
        any = true;
    }
    any.then(|| format!("interval:{months}m{days}d{}us", micros.round() as i64))
}

/// The index of the first token after the type name starting at token `i` (a cast's
/// target): a possibly qualified name, its modifier, the words of multi-word names
/// (`character varying`, `timestamp(3) with time zone`) and `[]`.
fn skip_type(expr: &str, tokens: &[Token], mut i: usize) -> usize {
    const MULTI: &[&str] = &["varying", "precision", "with", "without", "time", "zone"];
    let is = |i: usize, p: &str| tokens.get(i).is_some_and(|t| t.is(expr, p));
    loop {
        if tokens
            .get(i)
            .is_some_and(|t| matches!(t.kind, Kind::Word | Kind::QuotedIdent))
        {
            i += 1;
        }
        if !is(i, ".") {
            break;
        }
        i += 1;
    }
    loop {
        if is(i, "(") {
            while i < tokens.len() && !is(i, ")") {
                i += 1;
            }
            i += 1;
        }
        match tokens.get(i) {
            Some(t)
                if t.kind == Kind::Word
                    && MULTI.contains(&t.text(expr).to_ascii_lowercase().as_str()) =>
            {
                i += 1
            }
            _ => break,
        }
    }
    while is(i, "[") && is(i + 1, "]") {
        i += 2;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::normal;

    #[test]
    fn both_spellings_of_a_default_meet() {
        for (written, printed) in [
            ("CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP"),
            ("now()", "now()"),
            ("'USER'", "'USER'::\"UserRole\""),
            ("-1", "'-1'::integer"),
            ("0", "0"),
            ("'{}'", "'{}'::text[]"),
            ("'{}'::jsonb", "'{}'::jsonb"),
            ("'a'", "'a'::character varying"),
            (
                "now() AT TIME ZONE 'utc'",
                "(now() AT TIME ZONE 'utc'::text)",
            ),
            (
                "nextval('t_id_seq'::regclass)",
                "nextval('t_id_seq'::regclass)",
            ),
            ("lower(name)", "lower((name)::text)"),
            ("1.5", "1.5"),
            ("'x'::public.\"Mood\"", "'x'::\"Mood\""),
            ("'1 day'::interval", "'1 day'::interval"),
            (
                "''::timestamp with time zone",
                "''::timestamp(3) with time zone",
            ),
            (
                "now() - INTERVAL '12 months'",
                "(now() - '1 year'::interval)",
            ),
            ("'1 hour 30 minutes'::interval", "'01:30:00'::interval"),
            ("public.f(x)", "f(x)"),
        ] {
            assert_eq!(normal(written), normal(printed), "{written} / {printed}");
        }
        for (a, b) in [
            ("'a'", "'b'"),
            ("0", "1"),
            ("now()", "CURRENT_TIMESTAMP"),
            ("'it''s'", "'its'"),
            ("'24 hours'::interval", "'1 day'::interval"),
            ("republic.f(x)", "f(x)"),
        ] {
            assert_ne!(normal(a), normal(b), "{a} / {b}");
        }
    }
}
