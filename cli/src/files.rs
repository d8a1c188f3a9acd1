//! The migrations folder: reading it as every command does, and `pgstrata new`.

use std::path::{Path, PathBuf};

use pgstrata_codegen::Project;

/// The folder's migrations through the pipeline the macro uses, printing a note on stderr
/// for each entry passed over as not a migration.
pub fn open(dir: &Path) -> Result<Project, String> {
    let project = Project::open(dir, None).map_err(|e| e.to_string())?;
    for note in project.notes() {
        eprintln!("note: {note}");
    }
    Ok(project)
}

/// The catalog the folder's migrations build.
pub fn catalog(dir: &Path) -> Result<pgstrata_core::catalog::Catalog, String> {
    open(dir)?.into_catalog().map_err(|e| e.to_string())
}

/// Creates the files of a new migration in the layout the folder already uses (folders
/// with up.sql and down.sql when it has none yet).
pub fn new_migration(dir: &Path, name: &str) -> Result<Vec<PathBuf>, String> {
    use pgstrata_codegen::Layout;
    let name: String = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("_");
    if name.is_empty() {
        return Err("the name needs at least one letter or digit".into());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let project = open(dir)?;
    let existing = project.sources();
    let version = utc_timestamp();
    if let Some(last) = existing.last() {
        if last.version >= version {
            return Err(format!(
                "the newest migration has version {}, not below the current time {version}: number the new one by hand",
                last.version
            ));
        }
    }
    let has_down = existing.iter().any(|s| s.down.is_some());
    let header = format!("-- {name}\n");
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    match existing.first().map(|s| s.layout) {
        Some(Layout::Versioned) => {
            files.push((dir.join(format!("V{version}__{name}.sql")), header.clone()));
            if has_down {
                files.push((dir.join(format!("U{version}__{name}.sql")), header));
            }
        }
        Some(Layout::UpDownFiles) => {
            files.push((dir.join(format!("{version}_{name}.up.sql")), header.clone()));
            files.push((dir.join(format!("{version}_{name}.down.sql")), header));
        }
        Some(Layout::PlainFiles) => {
            files.push((dir.join(format!("{version}_{name}.sql")), header.clone()));
            if has_down {
                files.push((dir.join(format!("{version}_{name}_down.sql")), header));
            }
        }
        Some(Layout::Folders) | None => {
            let folder = dir.join(format!("{version}_{name}"));
            std::fs::create_dir_all(&folder)
                .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
            let prisma = existing
                .first()
                .is_some_and(|s| s.up.path.ends_with("migration.sql"));
            files.push((
                folder.join(if prisma { "migration.sql" } else { "up.sql" }),
                header.clone(),
            ));
            if !prisma || has_down {
                files.push((folder.join("down.sql"), header));
            }
        }
    }
    for (path, text) in &files {
        if path.exists() {
            return Err(format!("{} exists already", path.display()));
        }
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}

/// The current UTC time as YYYYMMDDHHMMSS.
fn utc_timestamp() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (
        (rem / 3600) as i64,
        (rem % 3600 / 60) as i64,
        (rem % 60) as i64,
    );
    ((((year * 100 + month) * 100 + day) * 100 + h) * 100 + m) * 100 + s
}

/// `pgstrata new`: creates the files and says which.
pub fn new(dir: &Path, name: &str) -> Result<u8, String> {
    let created = new_migration(dir, name)?;
    let text: String = created
        .iter()
        .map(|p| format!("created {}\n", p.display()))
        .collect();
    crate::show::out(&text)?;
    Ok(0)
}
