//! Comparing a live database with the catalog.
//!
//! The catalog spells defaults and index keys as the migrations wrote them (through
//! sqlparser); PostgreSQL spells them as `pg_get_expr` and `pg_get_indexdef` print them,
//! with casts and parentheses of its own. Both are brought to one [`normal`] form
//! before comparing, so that only real differences are reported.

use super::{Catalog, Index, Table};
use crate::lex::{self, Kind, Token};

/// One way a live database differs from the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// Something the database has and the migrations do not (a table or column added
    /// out of band): code generated from the migrations still works.
    pub extra: bool,
    /// What differs, saying what the migrations have and what the database has.
    pub message: String,
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
    let mut push = |extra: bool, message: String| out.push(Difference { extra, message });
    let keep = |t: &&Table| !ignore.contains(&t.name.as_str());
    for t in model.tables.iter().filter(keep) {
        let Some(l) = live.table(&t.schema, &t.name) else {
            push(
                false,
                format!("table {}.{} is missing from the database", t.schema, t.name),
            );
            continue;
        };
        columns(t, l, compare, &mut push);
        for lc in &l.columns {
            if t.column(&lc.name).is_none() {
                push(
                    true,
                    format!(
                        "column {}.{}.{} is in the database only",
                        t.schema, t.name, lc.name
                    ),
                );
            }
        }
        let pk = |t: &Table| t.primary_key.as_ref().map(|k| k.columns.clone());
        if pk(t) != pk(l) {
            push(
                false,
                format!(
                    "table {}.{} has primary key {:?} in the migrations but {:?} in the database",
                    t.schema,
                    t.name,
                    pk(t),
                    pk(l)
                ),
            );
        }
        if compare.indexes {
            indexes(t, l, &mut push);
        }
    }
    for l in live.tables.iter().filter(keep) {
        if model.table(&l.schema, &l.name).is_none() {
            push(
                true,
                format!("table {}.{} is in the database only", l.schema, l.name),
            );
        }
    }
    for e in &model.enums {
        match live.enum_type(&e.schema, &e.name) {
            None => push(
                false,
                format!("enum {}.{} is missing from the database", e.schema, e.name),
            ),
            Some(l) if l.values != e.values => push(
                false,
                format!(
                    "enum {}.{} has labels {:?} in the migrations but {:?} in the database",
                    e.schema, e.name, e.values, l.values
                ),
            ),
            Some(_) => {}
        }
    }
    for l in &live.enums {
        if model.enum_type(&l.schema, &l.name).is_none() {
            push(
                true,
                format!("enum {}.{} is in the database only", l.schema, l.name),
            );
        }
    }
    out
}

/// Indexes of one table, matched by name, then by definition (an index the migrations
/// created without a name gets one PostgreSQL chose, which the catalog only predicts).
fn indexes(model: &Table, live: &Table, push: &mut impl FnMut(bool, String)) {
    let key = |i: &Index| {
        (
            i.unique,
            i.columns.iter().map(|c| normal(c)).collect::<Vec<_>>(),
        )
    };
    let mut unmatched: Vec<&Index> = live.indexes.iter().collect();
    let mut missing = Vec::new();
    for i in &model.indexes {
        match unmatched.iter().position(|l| l.name == i.name) {
            Some(p) => {
                let l = unmatched.remove(p);
                if key(l) != key(i) {
                    push(
                        false,
                        format!(
                            "index {} on {}.{} is {}({}) in the migrations but {}({}) in the database",
                            i.name,
                            model.schema,
                            model.name,
                            if i.unique { "UNIQUE " } else { "" },
                            i.columns.join(", "),
                            if l.unique { "UNIQUE " } else { "" },
                            l.columns.join(", ")
                        ),
                    );
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
            None => push(
                false,
                format!(
                    "index {} on {}.{} ({}) is missing from the database",
                    i.name,
                    model.schema,
                    model.name,
                    i.columns.join(", ")
                ),
            ),
        }
    }
    for l in unmatched {
        push(
            true,
            format!(
                "index {} on {}.{} ({}) is in the database only",
                l.name,
                live.schema,
                live.name,
                l.columns.join(", ")
            ),
        );
    }
}

/// The differences of the columns `model` and `live` both have or `model` has.
fn columns(model: &Table, live: &Table, compare: Compare, push: &mut impl FnMut(bool, String)) {
    let (t, l) = (model, live);
    let name = |c: &str| format!("column {}.{}.{c}", t.schema, t.name);
    for c in &t.columns {
        let Some(lc) = l.column(&c.name) else {
            push(
                false,
                format!("{} is missing from the database", name(&c.name)),
            );
            continue;
        };
        if lc.ty.format() != c.ty.format() {
            push(
                false,
                format!(
                    "{} is {} in the migrations but {} in the database",
                    name(&c.name),
                    c.ty.format(),
                    lc.ty.format()
                ),
            );
        }
        if lc.nullable != c.nullable {
            let n = |b: bool| if b { "nullable" } else { "NOT NULL" };
            push(
                false,
                format!(
                    "{} is {} in the migrations but {} in the database",
                    name(&c.name),
                    n(c.nullable),
                    n(lc.nullable)
                ),
            );
        }
        let no_default = c.generated.is_some() || c.identity.is_some();
        if compare.defaults
            && !no_default
            && c.default.as_deref().map(normal) != lc.default.as_deref().map(normal)
        {
            let d = |x: &Option<String>| x.clone().unwrap_or_else(|| "no default".into());
            push(
                false,
                format!(
                    "{} has default {} in the migrations but {} in the database",
                    name(&c.name),
                    d(&c.default),
                    d(&lc.default)
                ),
            );
        }
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
