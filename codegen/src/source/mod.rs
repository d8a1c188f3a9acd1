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
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Errors};
use pgstrata_core::split::Split;
use read::read_dir_sorted;

mod names;
mod read;

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

/// Finds every migration in `dir`, reads and splits it, in version order.
///
/// `shown_as` is how messages spell `dir` (what the user wrote, relative to the crate).
///
/// # Errors
/// Every problem found, each naming its file: a missing folder, a name without a version,
/// duplicate versions, a down without an up, layouts mixed in one folder, a file that is
/// not UTF-8, empty, or has an unterminated string, comment or dollar quote.
pub fn discover(dir: &Path, shown_as: &str) -> Result<Vec<Source>, Errors> {
    let entries = read_dir_sorted(dir).map_err(|e| {
        Diagnostic::file(shown_as, format!("cannot read the migrations folder: {e}")).help(format!(
            "paths are relative to the folder of the crate's Cargo.toml; looked in {}: create the folder or fix the path",
            dir.display()
        ))
    })?;
    let mut errors = Errors::default();
    let found = scan(entries, shown_as, &mut errors);
    let sources = found
        .into_iter()
        .filter_map(|(version, slot)| read(version, slot, &mut errors))
        .collect();
    errors.finish(sources)
}

/// The up and down files of every version in the folder's entries, each named as
/// messages show it; a folder that mixes layouts is a problem.
fn scan(
    entries: Vec<(String, PathBuf, bool)>,
    shown_as: &str,
    errors: &mut Errors,
) -> BTreeMap<i64, Found> {
    let mut found: BTreeMap<i64, Found> = BTreeMap::new();
    let mut layouts: BTreeMap<Layout, String> = BTreeMap::new();
    for (file_name, path, is_dir) in entries {
        if file_name.starts_with('.') {
            continue;
        }
        let shown = format!("{}/{}", shown_as.trim_end_matches('/'), file_name);
        if is_dir {
            let Some((version, name)) = names::parse_prefix(&file_name, "_") else {
                errors.push(
                    Diagnostic::file(&shown, "cannot read a version from this folder's name").help(
                        "name migration folders {version}_{name}, e.g. 20250101120000_create_users",
                    ),
                );
                continue;
            };
            layouts
                .entry(Layout::Folders)
                .or_insert_with(|| shown.clone());
            scan_folder(
                &path,
                &shown,
                version,
                name,
                found.entry(version).or_default(),
                errors,
            );
            continue;
        }
        let Some(stem) = file_name.strip_suffix(".sql") else {
            // README.md, migration_lock.toml, .keep: not migrations.
            continue;
        };
        let Some(kind) = names::classify_file(stem) else {
            errors.push(
                Diagnostic::file(&shown, "cannot read a version from this file's name")
                    .help("name migration files V{version}__{name}.sql, {version}_{name}.sql or {version}_{name}.up.sql"),
            );
            continue;
        };
        layouts.entry(kind.layout).or_insert_with(|| shown.clone());
        let slot = found.entry(kind.version).or_default();
        if kind.down {
            slot.add_down(errors, path, shown);
        } else {
            slot.add_up(errors, kind.version, kind.name, kind.layout, path, shown);
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
    found
}

/// A migration folder (Prisma, diesel): its `migration.sql` or `up.sql`, and `down.sql`.
fn scan_folder(
    path: &Path,
    shown: &str,
    version: i64,
    name: String,
    slot: &mut Found,
    errors: &mut Errors,
) {
    let up = ["migration.sql", "up.sql"]
        .iter()
        .map(|f| path.join(f))
        .find(|p| p.is_file());
    let Some(up) = up else {
        errors.push(
            Diagnostic::file(
                shown,
                "folder has neither migration.sql (Prisma) nor up.sql (diesel)",
            )
            .help("put the migration's SQL in up.sql or migration.sql, or remove the folder"),
        );
        return;
    };
    let up_name = up
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    slot.add_up(
        errors,
        version,
        name,
        Layout::Folders,
        up,
        format!("{shown}/{up_name}"),
    );
    let down = path.join("down.sql");
    if down.is_file() {
        slot.add_down(errors, down, format!("{shown}/down.sql"));
    }
}

/// Reads and splits the files of one version.
fn read(version: i64, slot: Found, errors: &mut Errors) -> Option<Source> {
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
        return None;
    };
    let up_text = read::read_sql(errors, &up_path, &up_shown)?;
    // dbmate: sections in one file.
    let sections = match read::sections(&up_text) {
        Ok(s) => s,
        Err(e) => {
            errors.push(Diagnostic::at(&up_shown, &up_text, 1, e.offset, e.message).help(e.help));
            return None;
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
            let section = |errors: &mut Errors, range: std::ops::Range<usize>, line: u32| {
                read::finish_text(
                    errors,
                    &up_path,
                    &up_shown,
                    up_text[range].to_string(),
                    line,
                )
            };
            let up = section(errors, s.up.clone(), s.up_line);
            let down = s
                .down
                .and_then(|(range, line)| section(errors, range, line));
            (up, down)
        }
        None => {
            let up = read::finish_text(errors, &up_path, &up_shown, up_text, 1);
            let down = slot.down.and_then(|(path, shown)| {
                let text = read::read_sql(errors, &path, &shown)?;
                read::finish_text(errors, &path, &shown, text, 1)
            });
            (up, down)
        }
    };
    Some(Source {
        version,
        name,
        layout,
        up: up?,
        down,
    })
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
