//! Migration file and folder names: the layout, version and name each one says, and the
//! order its tool applies it in.

use super::{Layout, OrderKey};

/// What a migration file's name says.
pub(super) struct FileKind {
    pub layout: Layout,
    pub version: Version,
    pub name: String,
    pub down: bool,
}

/// A version: the number pgstrata records it under, and where its tool orders it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Version {
    pub number: i64,
    pub order: OrderKey,
}

pub(super) fn classify_file(stem: &str) -> Option<FileKind> {
    for (prefix, down) in [('V', false), ('U', true)] {
        if let Some(rest) = stem.strip_prefix(prefix) {
            let (v, name) = rest.split_once("__")?;
            if name.is_empty() {
                return None;
            }
            return Some(FileKind {
                layout: Layout::Versioned,
                version: flyway_version(v)?,
                name: name.to_string(),
                down,
            });
        }
    }
    for (suffix, down) in [(".up", false), (".down", true)] {
        if let Some(base) = stem.strip_suffix(suffix) {
            let (version, name) = parse_prefix(base, "_")?;
            return Some(FileKind {
                layout: Layout::UpDownFiles,
                version: numbered(version),
                name,
                down,
            });
        }
    }
    let (version, name) = parse_prefix(stem, "_")?;
    let (name, down) = match name.strip_suffix("_down") {
        Some(base) if !base.is_empty() => (base.to_string(), true),
        _ => (name, false),
    };
    Some(FileKind {
        layout: Layout::PlainFiles,
        version: numbered(version),
        name,
        down,
    })
}

/// A version ordered as a number (sqlx, refinery's integers, golang-migrate, dbmate).
fn numbered(number: i64) -> Version {
    Version {
        number,
        order: OrderKey::Number(number),
    }
}

/// The version of a migration folder (diesel, Prisma): ordered as its text, dashes
/// removed, as diesel orders `2019-02-26-002946` and `2025-11-19-091444-0000` (which a
/// numeric order would put after 2026's 14-digit versions).
pub(super) fn folder_version(folder: &str) -> Option<(Version, String)> {
    let (number, name) = parse_prefix(folder, "_")?;
    let digits = folder.split_once('_')?.0.replace('-', "");
    Some((
        Version {
            number,
            order: OrderKey::Text(digits),
        },
        name,
    ))
}

/// Flyway's version: numbers separated by `.` or `_` (`1`, `1.2`, `2_1_3`), ordered part
/// by part with trailing zeros ignored (`1.0` is `1`). A single number is recorded as
/// itself; several parts (at most three, each below a million) as
/// `major × 10¹² + minor × 10⁶ + patch`, so that every Flyway version has a number.
fn flyway_version(v: &str) -> Option<Version> {
    if v.is_empty()
        || !v
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'_')
    {
        return None;
    }
    let parts: Vec<u64> = v
        .split(['.', '_'])
        .map(|p| p.parse::<u64>().ok())
        .collect::<Option<_>>()?;
    let number = match parts.as_slice() {
        [n] => i64::try_from(*n).ok()?,
        [a, rest @ ..] if rest.len() <= 2 && rest.iter().all(|p| *p < 1_000_000) => {
            let minor = rest.first().copied().unwrap_or(0);
            let patch = rest.get(1).copied().unwrap_or(0);
            i64::try_from(
                a.checked_mul(1_000_000_000_000)?
                    .checked_add(minor * 1_000_000 + patch)?,
            )
            .ok()?
        }
        _ => return None,
    };
    let mut order = parts;
    while order.len() > 1 && order.last() == Some(&0) {
        order.pop();
    }
    Some(Version {
        number,
        order: OrderKey::Parts(order),
    })
}

/// `{digits and dashes}{sep}{name}` -> (version, name). Dashes are removed from the
/// version (diesel's `2019-02-26-002946`). A version must fit in a signed 64-bit integer.
pub(super) fn parse_prefix(s: &str, sep: &str) -> Option<(i64, String)> {
    let (v, name) = s.split_once(sep)?;
    if v.is_empty()
        || !v.bytes().next()?.is_ascii_digit()
        || !v.bytes().all(|b| b.is_ascii_digit() || b == b'-')
    {
        return None;
    }
    let digits: String = v.chars().filter(|c| *c != '-').collect();
    let version = digits.parse::<i64>().ok()?;
    if name.is_empty() {
        return None;
    }
    Some((version, name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        let k = |s: &str| classify_file(s).map(|k| (k.layout, k.version.number, k.name, k.down));
        assert_eq!(
            k("V1__init"),
            Some((Layout::Versioned, 1, "init".into(), false))
        );
        assert_eq!(
            k("U12__init_undo"),
            Some((Layout::Versioned, 12, "init_undo".into(), true))
        );
        assert_eq!(
            k("20250101_users.up"),
            Some((Layout::UpDownFiles, 20250101, "users".into(), false))
        );
        assert_eq!(
            k("20250101_users.down"),
            Some((Layout::UpDownFiles, 20250101, "users".into(), true))
        );
        assert_eq!(
            k("001_users"),
            Some((Layout::PlainFiles, 1, "users".into(), false))
        );
        assert_eq!(
            k("001_users_down"),
            Some((Layout::PlainFiles, 1, "users".into(), true))
        );
        assert_eq!(k("V1_init"), None);
        assert_eq!(k("V__init"), None);
        assert_eq!(k("V1__"), None);
        assert_eq!(k("init"), None);
        assert_eq!(k("_init"), None);
        assert_eq!(k("1_"), None);
        assert_eq!(k("99999999999999999999_too_big"), None);
    }

    #[test]
    fn flyway_versions_order_by_parts() {
        let v = |s: &str| classify_file(&format!("V{s}__x")).map(|k| k.version);
        let order = |s: &str| v(s).unwrap().order;
        assert_eq!(v("3").unwrap().number, 3);
        assert_eq!(v("1.2.3").unwrap().number, 1_000_002_000_003);
        assert_eq!(v("2_1").unwrap().number, 2_000_001_000_000);
        assert!(order("1.1") < order("1.1.1"));
        assert!(order("1.1.1") < order("1.2"));
        assert!(order("1.2") < order("2"));
        assert!(order("1.9") < order("1.10"));
        assert_eq!(order("1.0"), order("1"));
        assert_eq!(v("1.2.3.4"), None);
        assert_eq!(v("1.1000000"), None);
        assert_eq!(v("1..2"), None);
    }

    #[test]
    fn diesel_versions_drop_dashes_and_order_as_text() {
        let (v, name) = folder_version("2019-02-26-002946_create_user").unwrap();
        assert_eq!((v.number, name.as_str()), (20190226002946, "create_user"));
        let (old, _) = folder_version("2025-11-19-091444-0000_a").unwrap();
        let (new, _) = folder_version("2026-01-20-162913_b").unwrap();
        assert_eq!(old.number, 202511190914440000);
        assert!(old.order < new.order && old.number > new.number);
        assert_eq!(
            folder_version("00000000000000_diesel_initial_setup")
                .unwrap()
                .0
                .number,
            0
        );
        assert_eq!(parse_prefix("-1_x", "_"), None);
    }
}
