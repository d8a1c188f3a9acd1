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
//! (`2019-02-26-002946_create_user` is version 20190226002946). Migrations apply in the
//! order their tool applies them: diesel's and Prisma's folders by the version as text,
//! sqlx's, refinery's and golang-migrate's files by number, Flyway's by version parts
//! (`V1.2__x` before `V1.10__x`).
//!
//! A folder is read as its tool reads it: a file of comments only is a migration that
//! does nothing; in a folder of migration folders, files are not migrations, and in a
//! folder of migration files, neither are folders and files that are not `.sql`: each is
//! passed over and listed as a note ([`Discovery::notes`]), never silently.

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

/// Where a migration's tool orders it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum OrderKey {
    /// By number (sqlx, refinery, golang-migrate, dbmate).
    Number(i64),
    /// By the version as text (diesel, Prisma).
    Text(String),
    /// By version parts (Flyway).
    Parts(Vec<u64>),
}

/// One migration as found on disk, read and split.
#[derive(Clone, Debug)]
pub struct Source {
    /// The version it is recorded under.
    pub version: i64,
    /// Where its tool orders it.
    pub order: OrderKey,
    /// The file's or folder's name as its tool names the migration
    /// (`2019-02-26-002946_create_user`, `V1__init`, `20250101_users`).
    pub label: String,
    /// The name.
    pub name: String,
    /// Where it came from.
    pub layout: Layout,
    /// The up SQL.
    pub up: SqlText,
    /// The down SQL, when there is one.
    pub down: Option<SqlText>,
}

/// What a folder holds: its migrations in the order they apply, and the entries passed
/// over as not being migrations.
#[derive(Clone, Debug, Default)]
pub struct Discovery {
    /// The migrations, in the order their tool applies them.
    pub sources: Vec<Source>,
    /// Entries that are not migrations, each with why it was passed over.
    pub notes: Vec<Diagnostic>,
}

/// Finds every migration in `dir`, reads and splits it, in the order its tool applies
/// them.
///
/// `shown_as` is how messages spell `dir` (what the user wrote, relative to the crate).
///
/// # Errors
/// Every problem found, each naming its file: a missing folder, a migration file name
/// without a version, duplicate versions, two versions its tool cannot order, a down
/// without an up, layouts mixed in one folder, a file that is not UTF-8 or has an
/// unterminated string, comment or dollar quote.
pub fn discover(dir: &Path, shown_as: &str) -> Result<Discovery, Errors> {
    let entries = read_dir_sorted(dir).map_err(|e| {
        Diagnostic::file(shown_as, format!("cannot read the migrations folder: {e}")).help(format!(
            "paths are relative to the folder of the crate's Cargo.toml; looked in {}: create the folder or fix the path",
            dir.display()
        ))
    })?;
    let mut errors = Errors::default();
    let mut notes = Vec::new();
    let found = scan(entries, shown_as, &mut errors, &mut notes);
    let mut sources: Vec<Source> = found
        .into_iter()
        .filter_map(|(version, slot)| read(version, slot, &mut errors))
        .collect();
    sources.sort_by(|a, b| a.order.cmp(&b.order));
    for pair in sources.windows(2) {
        if pair[0].order == pair[1].order {
            errors.push(
                Diagnostic::file(
                    &pair[1].up.display,
                    format!(
                        "{} and {} are the same version as their tool orders them, so their order is ambiguous",
                        pair[0].label, pair[1].label
                    ),
                )
                .help("give one of them another version"),
            );
        }
    }
    errors.finish(Discovery { sources, notes })
}

/// An entry of the folder, classified.
enum Entry {
    /// A migration folder (diesel, Prisma).
    Folder(PathBuf, names::Version, String, String),
    /// A migration file.
    File(PathBuf, names::FileKind, String),
    /// Not a migration: a note unless the folder's layout makes it an error.
    Other {
        shown: String,
        is_dir: bool,
        sql: bool,
    },
}

/// The up and down files of every version in the folder's entries, each named as
/// messages show it; a folder that mixes layouts is a problem.
fn scan(
    entries: Vec<(String, PathBuf, bool)>,
    shown_as: &str,
    errors: &mut Errors,
    notes: &mut Vec<Diagnostic>,
) -> BTreeMap<i64, Found> {
    let classified: Vec<Entry> = entries
        .into_iter()
        .filter(|(name, _, _)| !name.starts_with('.'))
        .map(|(file_name, path, is_dir)| {
            let shown = format!("{}/{}", shown_as.trim_end_matches('/'), file_name);
            if is_dir {
                let has_sql = ["up.sql", "migration.sql"]
                    .iter()
                    .any(|f| path.join(f).is_file());
                return match names::folder_version(&file_name) {
                    Some((v, name)) => Entry::Folder(path, v, name, shown),
                    // A folder of SQL named without a version is a migration named wrong.
                    None => Entry::Other {
                        shown,
                        is_dir,
                        sql: has_sql,
                    },
                };
            }
            match file_name
                .strip_suffix(".sql")
                .and_then(names::classify_file)
            {
                Some(kind) => Entry::File(path, kind, shown),
                None => Entry::Other {
                    shown,
                    is_dir,
                    sql: file_name.ends_with(".sql"),
                },
            }
        })
        .collect();
    let folders = classified.iter().any(|e| matches!(e, Entry::Folder(..)));
    let mut found: BTreeMap<i64, Found> = BTreeMap::new();
    let mut layouts: BTreeMap<Layout, String> = BTreeMap::new();
    for entry in classified {
        match entry {
            Entry::Folder(path, version, name, shown) => {
                layouts
                    .entry(Layout::Folders)
                    .or_insert_with(|| shown.clone());
                let slot = found.entry(version.number).or_default();
                scan_folder(&path, &shown, version, name, slot, errors);
            }
            Entry::File(path, kind, shown) => {
                layouts.entry(kind.layout).or_insert_with(|| shown.clone());
                let slot = found.entry(kind.version.number).or_default();
                if kind.down {
                    slot.add_down(errors, path, shown);
                } else {
                    slot.add_up(errors, kind.version, kind.name, kind.layout, path, shown);
                }
            }
            Entry::Other { shown, is_dir, sql } => {
                other(&shown, is_dir, sql, folders, errors, notes)
            }
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

/// An entry that is not a migration. Its tool passes over a file among migration
/// folders, and a folder or a file other than `.sql` among migration files: so does
/// pgstrata, with a note. A `.sql` file whose name has no version among migration
/// files, a folder without a version among migration folders, and a folder of SQL
/// (`up.sql`, `migration.sql`) without a version anywhere are migrations named wrong.
fn other(
    shown: &str,
    is_dir: bool,
    sql: bool,
    folders: bool,
    errors: &mut Errors,
    notes: &mut Vec<Diagnostic>,
) {
    match (folders, is_dir, sql) {
        (_, true, true) | (true, true, false) => errors.push(
            Diagnostic::file(shown, "cannot read a version from this folder's name").help(
                "name migration folders {version}_{name}, e.g. 20250101120000_create_users",
            ),
        ),
        (false, false, true) => errors.push(
            Diagnostic::file(shown, "cannot read a version from this file's name")
                .help("name migration files V{version}__{name}.sql, {version}_{name}.sql or {version}_{name}.up.sql"),
        ),
        (true, false, _) => notes.push(Diagnostic::file(
            shown,
            "passed over: a file beside the migration folders is not a migration",
        )),
        (false, true, _) => notes.push(Diagnostic::file(
            shown,
            "passed over: a folder among migration files is not a migration",
        )),
        (false, false, false) => notes.push(Diagnostic::file(
            shown,
            "passed over: not a .sql file, so not a migration",
        )),
    }
}

/// A migration folder (Prisma, diesel): its `migration.sql` or `up.sql`, and `down.sql`.
fn scan_folder(
    path: &Path,
    shown: &str,
    version: names::Version,
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

/// The name a migration's tool knows it by: its folder for the folder layouts, its file
/// without `.sql` (and `.up`) otherwise.
fn label(layout: Layout, up_shown: &str) -> String {
    let mut parts = up_shown.rsplit('/');
    let file = parts.next().unwrap_or_default();
    match layout {
        Layout::Folders => parts.next().unwrap_or(file).to_string(),
        _ => {
            let stem = file.strip_suffix(".sql").unwrap_or(file);
            stem.strip_suffix(".up").unwrap_or(stem).to_string()
        }
    }
}

/// Reads and splits the files of one version.
fn read(version: i64, slot: Found, errors: &mut Errors) -> Option<Source> {
    let Some(up) = slot.up else {
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
    let up_text = read::read_sql(errors, &up.path, &up.shown)?;
    // dbmate: sections in one file.
    let sections = match read::sections(&up_text) {
        Ok(s) => s,
        Err(e) => {
            errors.push(Diagnostic::at(&up.shown, &up_text, 1, e.offset, e.message).help(e.help));
            return None;
        }
    };
    let (up_sql, down) = match sections {
        Some(s) => {
            if slot.down.is_some() {
                errors.push(
                    Diagnostic::file(
                        &up.shown,
                        "has a -- migrate:down section and a separate down file too",
                    )
                    .help("keep the down SQL in one place"),
                );
            }
            let section = |errors: &mut Errors, range: std::ops::Range<usize>, line: u32| {
                read::finish_text(
                    errors,
                    &up.path,
                    &up.shown,
                    up_text[range].to_string(),
                    line,
                )
            };
            let up_sql = section(errors, s.up.clone(), s.up_line);
            let down = s
                .down
                .and_then(|(range, line)| section(errors, range, line));
            (up_sql, down)
        }
        None => {
            let up_sql = read::finish_text(errors, &up.path, &up.shown, up_text, 1);
            let down = slot.down.and_then(|(path, shown)| {
                let text = read::read_sql(errors, &path, &shown)?;
                read::finish_text(errors, &path, &shown, text, 1)
            });
            (up_sql, down)
        }
    };
    Some(Source {
        version,
        order: up.version.order,
        label: label(up.layout, &up.shown),
        name: up.name,
        layout: up.layout,
        up: up_sql?,
        down,
    })
}

/// An up migration found on disk, not read yet.
struct FoundUp {
    version: names::Version,
    name: String,
    layout: Layout,
    path: PathBuf,
    shown: String,
}

#[derive(Default)]
struct Found {
    up: Option<FoundUp>,
    down: Option<(PathBuf, String)>,
}

impl Found {
    fn add_up(
        &mut self,
        errors: &mut Errors,
        version: names::Version,
        name: String,
        layout: Layout,
        path: PathBuf,
        shown: String,
    ) {
        if let Some(other) = &self.up {
            errors.push(
                Diagnostic::file(
                    &shown,
                    format!(
                        "version {} is used twice: here and in {}",
                        version.number, other.shown
                    ),
                )
                .help(
                    "give one of them a new version (the next free number or a current timestamp)",
                ),
            );
            return;
        }
        self.up = Some(FoundUp {
            version,
            name,
            layout,
            path,
            shown,
        });
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
