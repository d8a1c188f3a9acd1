//! Finding and reading migration files, in every layout users bring with them.
//!
//! Layouts, detected per folder:
//!
//! | layout | up | down |
//! | --- | --- | --- |
//! | refinery, Flyway | `V{n}__{name}.sql` | `U{n}__{name}.sql` |
//! | sqlx reversible, golang-migrate | `{v}_{name}.up.sql` | `{v}_{name}.down.sql` |
//! | sqlx simple, numbered files | `{v}_{name}.sql` | `{v}_{name}_down.sql` |
//! | dbmate | `{v}_{name}.sql` with `-- migrate:up` | its `-- migrate:down` section |
//! | Prisma | `{v}_{name}/migration.sql` | `{v}_{name}/down.sql` |
//! | diesel | `{v}_{name}/up.sql` | `{v}_{name}/down.sql` |
//!
//! A version is the number the name starts with; dashes in it are removed
//! (`2019-02-26-002946_create_user` is version 20190226002946). Migrations are ordered
//! by that number, never by file name as text.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use pgstrata_core::lex::{self, Kind};

use crate::diag::{Diagnostic, Errors};
use crate::split::{split, Split};

/// The layout a migration came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layout {
    /// `V{n}__{name}.sql` with optional `U{n}__{name}.sql` (refinery, Flyway).
    Versioned,
    /// `{v}_{name}.up.sql` and `{v}_{name}.down.sql` (sqlx reversible, golang-migrate).
    UpDownFiles,
    /// `{v}_{name}.sql` with optional `{v}_{name}_down.sql` (sqlx simple, numbered
    /// files), or `-- migrate:up` / `-- migrate:down` sections (dbmate).
    PlainFiles,
    /// `{v}_{name}/migration.sql` (Prisma) or `{v}_{name}/up.sql` (diesel), with an
    /// optional `down.sql`.
    Folders,
}

impl Layout {
    fn describe(self) -> &'static str {
        match self {
            Layout::Versioned => "V{n}__{name}.sql files (refinery, Flyway)",
            Layout::UpDownFiles => {
                "{version}_{name}.up.sql / .down.sql files (sqlx, golang-migrate)"
            }
            Layout::PlainFiles => "{version}_{name}.sql files (sqlx, dbmate, numbered files)",
            Layout::Folders => "{version}_{name}/ folders (Prisma, diesel)",
        }
    }
}

/// The SQL of one direction of a migration.
#[derive(Clone, Debug)]
pub struct SqlText {
    /// The file, absolute, so the macro can make the build depend on it.
    pub path: PathBuf,
    /// The file as shown in messages (`migrations/V1__init.sql`).
    pub display: String,
    /// The SQL (the section, for dbmate files).
    pub text: String,
    /// The line of the file on which `text` starts.
    pub first_line: u32,
    /// The statements of `text`.
    pub split: Split,
    /// Where the lines of `text` start.
    pub lines: pgstrata_core::LineIndex,
}

impl SqlText {
    /// A problem at byte `offset` of the text.
    pub fn diagnostic(&self, offset: usize, message: impl Into<String>) -> Diagnostic {
        Diagnostic::indexed(
            &self.display,
            &self.text,
            &self.lines,
            self.first_line,
            offset,
            message,
        )
    }

    /// The `file:line:column` of byte `offset`, for messages.
    pub fn position(&self, offset: usize) -> String {
        let (line, col) = self.lines.line_col(&self.text, offset);
        format!(
            "{}:{}:{col}",
            self.display,
            line.saturating_add(self.first_line).saturating_sub(1)
        )
    }
}

/// One migration as found on disk, read and split.
#[derive(Clone, Debug)]
pub struct Source {
    /// The version.
    pub version: i64,
    /// The name.
    pub name: String,
    /// Where it came from.
    pub layout: Layout,
    /// The up SQL.
    pub up: SqlText,
    /// The down SQL, when there is one.
    pub down: Option<SqlText>,
}

/// Files larger than this are refused: they are embedded in the binary and parsed at
/// every build (bulk data belongs in a `COPY` from a file at run time).
const MAX_FILE: u64 = 16 << 20;

/// Finds every migration in `dir`, reads and splits it, in version order.
///
/// `shown_as` is how messages spell `dir` (what the user wrote, relative to the crate).
///
/// # Errors
/// Every problem found, each naming its file: a missing folder, a name without a version,
/// duplicate versions, a down without an up, layouts mixed in one folder, a file that is
/// not UTF-8, empty, or has an unterminated string, comment or dollar quote.
pub fn discover(dir: &Path, shown_as: &str) -> Result<Vec<Source>, Errors> {
    let mut errors = Errors::default();
    let entries = match read_dir_sorted(dir) {
        Ok(e) => e,
        Err(e) => {
            return Err(Diagnostic::file(shown_as, format!("cannot read the migrations folder: {e}"))
                .help(format!(
                    "paths are relative to the folder of the crate's Cargo.toml; looked in {}: create the folder or fix the path",
                    dir.display()
                ))
                .into())
        }
    };

    // version -> (up, down) candidates, with the layout of each.
    let mut found: BTreeMap<i64, Found> = BTreeMap::new();
    let mut layouts: BTreeMap<Layout, String> = BTreeMap::new();

    for (file_name, path, is_dir) in entries {
        if file_name.starts_with('.') {
            continue;
        }
        let shown = format!("{}/{}", shown_as.trim_end_matches('/'), file_name);
        if is_dir {
            match parse_prefix(&file_name, "_") {
                Some((version, name)) => {
                    layouts
                        .entry(Layout::Folders)
                        .or_insert_with(|| shown.clone());
                    let up = ["migration.sql", "up.sql"]
                        .iter()
                        .map(|f| path.join(f))
                        .find(|p| p.is_file());
                    let Some(up) = up else {
                        errors.push(
                            Diagnostic::file(&shown, "folder has neither migration.sql (Prisma) nor up.sql (diesel)")
                                .help("put the migration's SQL in up.sql or migration.sql, or remove the folder"),
                        );
                        continue;
                    };
                    let up_name = up
                        .file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                    let down = path.join("down.sql");
                    let slot = found.entry(version).or_default();
                    slot.add_up(
                        &mut errors,
                        version,
                        name,
                        Layout::Folders,
                        up,
                        format!("{shown}/{up_name}"),
                    );
                    if down.is_file() {
                        slot.add_down(&mut errors, down, format!("{shown}/down.sql"));
                    }
                }
                None => errors.push(
                    Diagnostic::file(&shown, "cannot read a version from this folder's name").help(
                        "name migration folders {version}_{name}, e.g. 20250101120000_create_users",
                    ),
                ),
            }
            continue;
        }
        let Some(stem) = file_name.strip_suffix(".sql") else {
            // README.md, migration_lock.toml, .keep: not migrations.
            continue;
        };
        match classify_file(stem) {
            Some(FileKind { layout, version, name, down }) => {
                layouts.entry(layout).or_insert_with(|| shown.clone());
                let slot = found.entry(version).or_default();
                if down {
                    slot.add_down(&mut errors, path, shown);
                } else {
                    slot.add_up(&mut errors, version, name, layout, path, shown);
                }
            }
            None => errors.push(
                Diagnostic::file(&shown, "cannot read a version from this file's name")
                    .help("name migration files V{version}__{name}.sql, {version}_{name}.sql or {version}_{name}.up.sql"),
            ),
        }
    }

    if layouts.len() > 1 {
        let list: Vec<String> = layouts
            .iter()
            .map(|(l, example)| format!("{example} uses {}", l.describe()))
            .collect();
        errors.push(
            Diagnostic::file(
                shown_as,
                format!("layouts are mixed in one folder: {}", list.join("; ")),
            )
            .help("keep one layout per folder: rename the files of the other layouts"),
        );
    }

    let mut out = Vec::with_capacity(found.len());
    for (version, slot) in found {
        let Some((name, layout, up_path, up_shown)) = slot.up else {
            if let Some((_, shown)) = slot.down {
                errors.push(
                    Diagnostic::file(
                        &shown,
                        format!("down migration for version {version} has no up migration"),
                    )
                    .help("add the up migration beside it, or delete the down file"),
                );
            }
            continue;
        };
        let Some(up_text) = read_sql(&mut errors, &up_path, &up_shown) else {
            continue;
        };
        // dbmate: sections in one file.
        let sections = match sections(&up_text) {
            Ok(s) => s,
            Err(e) => {
                errors
                    .push(Diagnostic::at(&up_shown, &up_text, 1, e.offset, e.message).help(e.help));
                continue;
            }
        };
        let (up, down) = match sections {
            Some(s) => {
                if slot.down.is_some() {
                    errors.push(
                        Diagnostic::file(
                            &up_shown,
                            "has a -- migrate:down section and a separate down file too",
                        )
                        .help("keep the down SQL in one place"),
                    );
                }
                let up = finish_text(
                    &mut errors,
                    &up_path,
                    &up_shown,
                    up_text[s.up.clone()].to_string(),
                    s.up_line,
                );
                let down = s.down.and_then(|(range, line)| {
                    finish_text(
                        &mut errors,
                        &up_path,
                        &up_shown,
                        up_text[range].to_string(),
                        line,
                    )
                });
                (up, down)
            }
            None => {
                let up = finish_text(&mut errors, &up_path, &up_shown, up_text, 1);
                let down = slot.down.and_then(|(path, shown)| {
                    let text = read_sql(&mut errors, &path, &shown)?;
                    finish_text(&mut errors, &path, &shown, text, 1)
                });
                (up, down)
            }
        };
        if let Some(up) = up {
            out.push(Source {
                version,
                name,
                layout,
                up,
                down,
            });
        }
    }
    errors.finish(out)
}

#[derive(Default)]
struct Found {
    up: Option<(String, Layout, PathBuf, String)>,
    down: Option<(PathBuf, String)>,
}

impl Found {
    fn add_up(
        &mut self,
        errors: &mut Errors,
        version: i64,
        name: String,
        layout: Layout,
        path: PathBuf,
        shown: String,
    ) {
        if let Some((_, _, _, other)) = &self.up {
            errors.push(
                Diagnostic::file(
                    &shown,
                    format!("version {version} is used twice: here and in {other}"),
                )
                .help(
                    "give one of them a new version (the next free number or a current timestamp)",
                ),
            );
            return;
        }
        self.up = Some((name, layout, path, shown));
    }

    fn add_down(&mut self, errors: &mut Errors, path: PathBuf, shown: String) {
        if let Some((_, other)) = &self.down {
            errors.push(
                Diagnostic::file(
                    &shown,
                    format!("a second down migration for this version: {other} is one too"),
                )
                .help("keep one down migration per version"),
            );
            return;
        }
        self.down = Some((path, shown));
    }
}

struct FileKind {
    layout: Layout,
    version: i64,
    name: String,
    down: bool,
}

fn classify_file(stem: &str) -> Option<FileKind> {
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
fn parse_prefix(s: &str, sep: &str) -> Option<(i64, String)> {
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

fn read_dir_sorted(dir: &Path) -> std::io::Result<Vec<(String, PathBuf, bool)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        // Follows symbolic links; a dangling or looping one is reported when read.
        let is_dir = path.is_dir();
        out.push((name, path, is_dir));
    }
    out.sort();
    Ok(out)
}

/// Reads a SQL file: it must be UTF-8 without a byte-order mark.
fn read_sql(errors: &mut Errors, path: &Path, shown: &str) -> Option<String> {
    match fs::metadata(path) {
        Ok(m) if !m.is_file() => {
            // Reading a FIFO would wait forever; a device could be endless.
            errors.push(
                Diagnostic::file(shown, "is not a regular file (a FIFO, socket or device?)")
                    .help("migrations must be plain files: replace it with one"),
            );
            return None;
        }
        Ok(m) if m.len() > MAX_FILE => {
            errors.push(
                Diagnostic::file(
                    shown,
                    format!(
                        "is {} MiB; migrations of more than {} MiB are not embedded",
                        m.len() >> 20,
                        MAX_FILE >> 20
                    ),
                )
                .help("split it into several migrations, or load bulk data at run time (COPY ... FROM a file)"),
            );
            return None;
        }
        Ok(_) => {}
        Err(e) => {
            errors.push(
                Diagnostic::file(shown, format!("cannot be read: {e}"))
                    .help("check the file exists and is readable (a dangling or looping link?)"),
            );
            return None;
        }
    }
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            errors.push(
                Diagnostic::file(shown, format!("cannot be read: {e}"))
                    .help("check the file's permissions"),
            );
            return None;
        }
    };
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        errors.push(Diagnostic { line: 1, column: 1, ..Diagnostic::file(shown, "starts with a UTF-8 byte-order mark, which PostgreSQL reads as part of the first statement") }
            .help("save the file as UTF-8 without BOM"));
        return None;
    }
    match String::from_utf8(bytes) {
        Ok(s) => match s.find('\0') {
            Some(at) => {
                errors.push(
                    Diagnostic::at(shown, &s, 1, at, format!("contains a NUL byte (byte {at})")).help(
                        "PostgreSQL cannot receive a NUL in SQL text (the statement would be cut there): remove it",
                    ),
                );
                None
            }
            None => Some(s),
        },
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            // The valid prefix locates the bad byte by line and column.
            let prefix = String::from_utf8_lossy(&bytes[..valid]).into_owned();
            let mut d = Diagnostic::at(
                shown,
                &prefix,
                1,
                valid,
                format!("is not valid UTF-8 (byte {valid})"),
            );
            d.source_line = None;
            errors.push(d.help("convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)"));
            None
        }
    }
}

/// Splits the text and checks it has at least one statement.
fn finish_text(
    errors: &mut Errors,
    path: &Path,
    shown: &str,
    text: String,
    first_line: u32,
) -> Option<SqlText> {
    match split(&text) {
        Ok(split) if split.statements.is_empty() => {
            errors.push(
                Diagnostic {
                    line: first_line,
                    ..Diagnostic::file(shown, "has no SQL statement")
                }
                .help("write the migration's SQL, or delete the file"),
            );
            None
        }
        Ok(split) => Some(SqlText {
            path: path.to_path_buf(),
            display: shown.to_string(),
            lines: pgstrata_core::LineIndex::new(&text),
            text,
            first_line,
            split,
        }),
        Err(e) => {
            errors.push(Diagnostic::at(shown, &text, first_line, e.offset, e.message).help(e.help));
            None
        }
    }
}

/// dbmate's sections of one file.
struct Sections {
    up: std::ops::Range<usize>,
    up_line: u32,
    down: Option<(std::ops::Range<usize>, u32)>,
}

/// A misplaced section marker: where, what is wrong, what to do.
struct SectionError {
    offset: usize,
    message: &'static str,
    help: &'static str,
}

/// Finds `-- migrate:up` and `-- migrate:down` marker lines: line comments that begin
/// their line (one inside a string, a dollar quote or a block comment is SQL). Each
/// section starts with its marker line, so that options on it (`transaction:false`)
/// are read as directives. SQL outside the sections, a marker given twice, or the down
/// section first would be silently dropped or swapped: each is an error.
fn sections(text: &str) -> Result<Option<Sections>, SectionError> {
    let mut up = None;
    let mut down = None;
    let lines = pgstrata_core::LineIndex::new(text);
    for t in lex::tokens(text) {
        let t = match t {
            Ok(t) => t,
            // The split of the file reports it, at its place.
            Err(_) => break,
        };
        if t.kind != Kind::LineComment {
            continue;
        }
        let offset = text[..t.start].rfind('\n').map_or(0, |p| p + 1);
        if !text[offset..t.start].trim().is_empty() {
            continue;
        }
        let line_no = lines.line_col(text, offset).0;
        let twice = SectionError {
            offset,
            message: "a second section marker of the same kind",
            help: "keep one -- migrate:up and at most one -- migrate:down per file",
        };
        let slot = match t.text(text) {
            c if c.starts_with("-- migrate:up") => &mut up,
            c if c.starts_with("-- migrate:down") => &mut down,
            _ => continue,
        };
        if slot.is_some() {
            return Err(twice);
        }
        *slot = Some((offset, line_no));
    }
    let Some((up_start, up_line)) = up else {
        return match down {
            Some((offset, _)) => Err(SectionError {
                offset,
                message: "has a -- migrate:down section but no -- migrate:up section",
                help: "put the migration's SQL after a -- migrate:up line at the top of the file",
            }),
            None => Ok(None),
        };
    };
    if let Some((down_start, _)) = down.filter(|(d, _)| *d < up_start) {
        return Err(SectionError {
            offset: down_start,
            message: "its -- migrate:down section comes before -- migrate:up",
            help: "put the -- migrate:up section first, then -- migrate:down",
        });
    }
    if split(&text[..up_start]).is_ok_and(|s| !s.statements.is_empty()) {
        return Err(SectionError {
            offset: 0,
            message: "has SQL before its -- migrate:up line, which would not run",
            help: "move the SQL below -- migrate:up",
        });
    }
    match down {
        Some((down_start, down_line)) => Ok(Some(Sections {
            up: up_start..down_start,
            up_line,
            down: Some((down_start..text.len(), down_line)),
        })),
        None => Ok(Some(Sections {
            up: up_start..text.len(),
            up_line,
            down: None,
        })),
    }
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

    #[test]
    fn dbmate_sections() {
        let text = "-- migrate:up\nCREATE TABLE a (id int);\n\n-- migrate:down\nDROP TABLE a;\n";
        let s = sections(text).ok().flatten().unwrap();
        assert_eq!(
            &text[s.up.clone()],
            "-- migrate:up\nCREATE TABLE a (id int);\n\n"
        );
        assert_eq!(s.up_line, 1);
        let (down, line) = s.down.unwrap();
        assert_eq!(&text[down], "-- migrate:down\nDROP TABLE a;\n");
        assert_eq!(line, 4);
        assert!(sections("CREATE TABLE a (id int);")
            .ok()
            .flatten()
            .is_none());
        // A marker line inside a function body is part of its SQL.
        let text = "-- migrate:up\nCREATE FUNCTION f() RETURNS int AS $$\n-- migrate:down\nSELECT 1 $$ LANGUAGE sql;\n";
        let s = sections(text).ok().flatten().unwrap();
        assert_eq!(&text[s.up.clone()], text);
        assert!(s.down.is_none());
        for bad in [
            "-- migrate:down\nDROP TABLE a;\n-- migrate:up\nCREATE TABLE a (id int);\n",
            "CREATE TABLE b (id int);\n-- migrate:up\nCREATE TABLE a (id int);\n",
            "-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n",
            "-- migrate:down\nDROP TABLE a;\n",
        ] {
            assert!(sections(bad).is_err(), "{bad}");
        }
    }
}
