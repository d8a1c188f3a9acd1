//! Migration file and folder names: the layout, version and name each one says.

use super::Layout;

pub(super) struct FileKind {
    pub layout: Layout,
    pub version: i64,
    pub name: String,
    pub down: bool,
}

pub(super) fn classify_file(stem: &str) -> Option<FileKind> {
    let versioned = |prefix: char| {
        let rest = stem.strip_prefix(prefix)?;
        let (v, name) = rest.split_once("__")?;
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) || name.is_empty() {
            return None;
        }
        Some((v.parse::<i64>().ok()?, name.to_string()))
    };
    if let Some((version, name)) = versioned('V') {
        return Some(FileKind {
            layout: Layout::Versioned,
            version,
            name,
            down: false,
        });
    }
    if let Some((version, name)) = versioned('U') {
        return Some(FileKind {
            layout: Layout::Versioned,
            version,
            name,
            down: true,
        });
    }
    for (suffix, down) in [(".up", false), (".down", true)] {
        if let Some(base) = stem.strip_suffix(suffix) {
            let (version, name) = parse_prefix(base, "_")?;
            return Some(FileKind {
                layout: Layout::UpDownFiles,
                version,
                name,
                down,
            });
        }
    }
    let (version, name) = parse_prefix(stem, "_")?;
    match name.strip_suffix("_down") {
        Some(base) if !base.is_empty() => Some(FileKind {
            layout: Layout::PlainFiles,
            version,
            name: base.to_string(),
            down: true,
        }),
        _ => Some(FileKind {
            layout: Layout::PlainFiles,
            version,
            name,
            down: false,
        }),
    }
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
        let k = |s: &str| classify_file(s).map(|k| (k.layout, k.version, k.name, k.down));
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
    fn diesel_versions_drop_dashes() {
        assert_eq!(
            parse_prefix("2019-02-26-002946_create_user", "_"),
            Some((20190226002946, "create_user".into()))
        );
        assert_eq!(
            parse_prefix("2026-07-30-140000-0000_name", "_"),
            Some((202607301400000000, "name".into()))
        );
        assert_eq!(
            parse_prefix("00000000000000_diesel_initial_setup", "_"),
            Some((0, "diesel_initial_setup".into()))
        );
        assert_eq!(parse_prefix("-1_x", "_"), None);
    }
}
