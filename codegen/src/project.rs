//! The pipeline every consumer goes through: configuration, discovery, the checks of
//! each file, and the replay into the catalog, once, by one set of rules. The macro,
//! the build script, the linter, the query checker, the catalog writer and the CLI all
//! start from a [`Project`], so they cannot disagree on which files there are, in which
//! order, with which settings.
//!
//! ```text
//! pgstrata.toml ──config──┐
//! migrations/ ──discover──┴─> Source{up, down} ──check──> Migration (the runtime's record)
//!                                   └──split──parse──replay──> Catalog ──> emit | lint | query
//! ```

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use pgstrata_core::catalog::Catalog;
use pgstrata_core::Migration;

use crate::config::Config;
use crate::diag::Errors;
use crate::replay::{Observer, Replayer};
use crate::source::Source;

/// A migrations folder with the configuration that applies to it, discovered and
/// checked; its catalog is replayed the first time it is asked for.
#[derive(Debug)]
pub struct Project {
    root: PathBuf,
    shown: String,
    config: Config,
    config_path: Option<PathBuf>,
    sources: Vec<Source>,
    /// Entries of the folder passed over as not migrations.
    notes: Vec<crate::Diagnostic>,
    migrations: Vec<Migration>,
    /// Problems of the files' own SQL (directives, transaction control): they do not
    /// stop the replay, so one build reports them beside the replay's.
    problems: Errors,
    catalog: OnceCell<Result<Catalog, Errors>>,
}

impl Project {
    /// The migrations folder `dir` of the crate whose `Cargo.toml` is in `manifest_dir`,
    /// as the macro and the build script see it: `dir` and `config` are relative to
    /// `manifest_dir`, `config` (when given) must exist, and without it `pgstrata.toml`
    /// beside `Cargo.toml` is read when there is one.
    ///
    /// # Errors
    /// A configuration that cannot be read or is not valid, and every problem of the
    /// folder that stops discovery (see [`crate::source::discover`]).
    pub fn in_crate(
        manifest_dir: &Path,
        dir: &str,
        config: Option<&str>,
    ) -> Result<Project, Errors> {
        let config = config.map(|c| (manifest_dir.join(c), c.to_string()));
        Project::load(manifest_dir, &manifest_dir.join(dir), dir, config)
    }

    /// The migrations folder `dir` as the CLI is given it (relative to the working
    /// directory), with `config` when given, else the `pgstrata.toml` of the crate the
    /// folder is in (see [`root_of`]): the file the macro reads.
    ///
    /// # Errors
    /// As [`Project::in_crate`].
    pub fn open(dir: &Path, config: Option<&Path>) -> Result<Project, Errors> {
        let root = root_of(dir);
        let config = config.map(|c| (c.to_path_buf(), c.display().to_string()));
        Project::load(&root, dir, &dir.display().to_string(), config)
    }

    fn load(
        root: &Path,
        dir: &Path,
        shown: &str,
        config: Option<(PathBuf, String)>,
    ) -> Result<Project, Errors> {
        let (config, config_path) = match config {
            Some((path, shown)) => Config::load_file(&path, &shown)?,
            None => Config::load(root)?,
        };
        config.check_paths()?;
        let crate::source::Discovery { sources, notes } = crate::source::discover(dir, shown)?;
        let mut problems = Errors::default();
        let migrations = sources
            .iter()
            .map(|s| crate::migration::to_migration(s, &mut problems))
            .collect();
        Ok(Project {
            root: root.to_path_buf(),
            shown: shown.to_string(),
            config,
            config_path,
            sources,
            notes,
            migrations,
            problems,
            catalog: OnceCell::new(),
        })
    }

    /// The folder paths are relative to (the crate's `Cargo.toml` folder).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The migrations folder as messages show it.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The configuration file read, if any.
    pub fn config_path(&self) -> Option<&Path> {
        self.config_path.as_deref()
    }

    /// The migrations as found on disk, in the order they apply.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// Entries of the folder that are not migrations (a README, a data file, Prisma's
    /// `migration_lock.toml`), passed over as the folder's tool passes over them: the CLI
    /// prints them as notes, the build stays quiet.
    pub fn notes(&self) -> &[crate::Diagnostic] {
        &self.notes
    }

    /// The runtime's records of the migrations, in the order they apply.
    ///
    /// # Errors
    /// The problems of the files' own SQL (a directive that is not one, an unbalanced
    /// `BEGIN`...).
    pub fn migrations(&self) -> Result<&[Migration], Errors> {
        self.problems.clone().finish(self.migrations.as_slice())
    }

    /// The runtime's records, problems or not (for the code the macro emits beside its
    /// errors).
    pub(crate) fn records(&self) -> &[Migration] {
        &self.migrations
    }

    /// The problems of the files' own SQL.
    pub(crate) fn problems(&self) -> &Errors {
        &self.problems
    }

    /// The runtime's records, owned.
    ///
    /// # Errors
    /// As [`Project::migrations`].
    pub fn into_migrations(self) -> Result<Vec<Migration>, Errors> {
        self.problems.finish(self.migrations)
    }

    /// The catalog the migrations build (replayed once, then kept).
    ///
    /// # Errors
    /// The problems of the files' SQL, every statement that cannot be modelled, and every
    /// reference to something that does not exist at that point.
    pub fn catalog(&self) -> Result<&Catalog, Errors> {
        let replayed = self.catalog.get_or_init(|| {
            let mut errors = self.problems.clone();
            match self.replay(None, &mut ()).finish() {
                Ok(c) => errors.finish(c),
                Err(e) => {
                    errors.append(e);
                    Err(errors)
                }
            }
        });
        replayed.as_ref().map_err(Clone::clone)
    }

    /// The catalog, owned (replayed unless already).
    ///
    /// # Errors
    /// As [`Project::catalog`].
    pub fn into_catalog(self) -> Result<Catalog, Errors> {
        self.catalog()?;
        self.catalog
            .into_inner()
            .unwrap_or_else(|| Err(Errors::default()))
    }

    /// The catalog after the migrations up to and including the one of `version`, in
    /// the order they apply (what a database at that version should look like).
    ///
    /// # Errors
    /// As [`Project::catalog`], for those migrations.
    pub fn catalog_until(&self, version: i64) -> Result<Catalog, Errors> {
        let mut errors = self.problems.clone();
        match self.replay(Some(version), &mut ()).finish() {
            Ok(c) => errors.finish(c),
            Err(e) => {
                errors.append(e);
                Err(errors)
            }
        }
    }

    /// Replays the up SQL of the migrations, in order, through the one of version `until`
    /// (all of them with `None`), showing each
    /// migration and statement to `observer`; the replay's end state holds the catalog
    /// and every statement that could not be modelled ([`Replayer::finish`] adds the
    /// tables whose columns stayed unknown).
    pub(crate) fn replay<'s>(
        &'s self,
        until: Option<i64>,
        observer: &mut dyn Observer<'s>,
    ) -> Replayer {
        let mut r = Replayer::default();
        for (source, migration) in self.sources.iter().zip(&self.migrations) {
            observer.begin(source, migration, &r);
            r.file_observed(&source.up, observer);
            observer.end(source, &r);
            if until == Some(source.version) {
                break;
            }
        }
        r
    }
}

/// The folder a migrations folder's paths and `pgstrata.toml` belong to, for the CLI:
/// the crate the folder is in (the nearest folder above it holding a `Cargo.toml`),
/// which is where the macro reads `pgstrata.toml` from; outside a crate, the folder
/// above the migrations folder.
pub fn root_of(dir: &Path) -> PathBuf {
    let absolute = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let parent = absolute.parent().unwrap_or(&absolute);
    parent
        .ancestors()
        .find(|d| d.join("Cargo.toml").is_file())
        .unwrap_or(parent)
        .to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &str)]) -> PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let root = std::env::temp_dir().join(format!(
            "pgstrata-project-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&root);
        for (path, text) in files {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        root
    }

    /// The macro (`in_crate`) and the CLI (`open`) read one configuration file: the one
    /// beside the crate's `Cargo.toml`, wherever the migrations folder sits inside it.
    #[test]
    fn the_macro_and_the_cli_read_the_same_config() {
        let root = folder(&[
            ("Cargo.toml", "[package]\nname = \"x\"\n"),
            ("pgstrata.toml", "[names]\nusers = \"Account\"\n"),
            ("db/migrations/V1__a.sql", "CREATE TABLE users (id int);"),
            ("db/pgstrata.toml", "[names]\nusers = \"NotRead\"\n"),
        ]);
        let config = std::fs::canonicalize(root.join("pgstrata.toml")).unwrap();
        let by_macro = Project::in_crate(&root, "db/migrations", None).unwrap();
        assert_eq!(
            by_macro.config_path(),
            Some(root.join("pgstrata.toml").as_path())
        );
        assert_eq!(by_macro.config().names["users"], "Account");
        // The CLI is given the folder, and finds the crate above it: the pgstrata.toml in
        // `db/` is read by neither.
        let by_cli = Project::open(&root.join("db/migrations"), None).unwrap();
        let read = by_cli
            .config_path()
            .map(|p| std::fs::canonicalize(p).unwrap());
        assert_eq!(read, Some(config));
        assert_eq!(by_cli.config().names["users"], "Account");
        let _ = std::fs::remove_dir_all(&root);
    }

    /// Outside a crate (a folder of SQL files), the CLI reads the pgstrata.toml beside
    /// the migrations folder, and none when there is none.
    #[test]
    fn outside_a_crate_the_folder_above_holds_the_config() {
        let root = folder(&[
            ("pgstrata.toml", "[lint]\nallow = [\"drop-table\"]\n"),
            ("m/V1__a.sql", "CREATE TABLE t (id int);"),
        ]);
        let p = Project::open(&root.join("m"), None).unwrap();
        assert_eq!(p.config().lint.allow, ["drop-table"]);
        std::fs::remove_file(root.join("pgstrata.toml")).unwrap();
        let p = Project::open(&root.join("m"), None).unwrap();
        assert!(p.config_path().is_none() && p.config().lint.allow.is_empty());
        let _ = std::fs::remove_dir_all(&root);
    }
}
