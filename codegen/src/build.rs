//! The build-script path: the same code as the macro, written to `OUT_DIR`, and the
//! `rerun-if-changed` lines that make cargo rebuild when a migration is added, changed
//! or removed.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::diag::Errors;

/// Generates the migrations module from a build script.
///
/// ```no_run
/// // in build.rs, inside `fn main`:
/// pgstrata_codegen::Builder::new("migrations").emit()?;
/// // and in src/db.rs:
/// // include!(concat!(env!("OUT_DIR"), "/pgstrata_migrations.rs"));
/// # Ok::<(), pgstrata_codegen::BuildError>(())
/// ```
///
/// Why a build script at all, next to `embed_migrations!`: a proc-macro can make the
/// build depend on the files it read, but not on the folder, so on stable Rust adding a
/// new migration file would not rebuild a crate that only uses the macro. The builder
/// tells cargo to watch the folder (and each migration folder inside it), which covers
/// added and removed files; crates that use the macro can add a build script calling
/// [`Builder::watch`] for that alone.
#[derive(Clone, Debug)]
pub struct Builder {
    dir: String,
    out_file: String,
    features: crate::typemap::Features,
    queries: Option<String>,
}

/// Why [`Builder::emit`] failed.
#[derive(Debug)]
pub enum BuildError {
    /// The migrations have problems; each names its file, line and column.
    Migrations(Errors),
    /// An environment variable cargo sets for build scripts is missing.
    Env(&'static str),
    /// Writing the generated file failed.
    Io(PathBuf, std::io::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Migrations(e) => write!(f, "{e}"),
            BuildError::Env(v) => {
                write!(f, "{v} is not set: run this from a build script (build.rs)")
            }
            BuildError::Io(p, e) => write!(f, "cannot write {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for BuildError {}

impl Builder {
    /// A builder for the folder `dir`, relative to the crate's `Cargo.toml`.
    pub fn new(dir: impl Into<String>) -> Builder {
        Builder {
            dir: dir.into(),
            out_file: "pgstrata_migrations.rs".to_string(),
            features: crate::typemap::Features::default(),
            queries: None,
        }
    }

    /// A folder of query files (relative to `Cargo.toml`) whose typed functions go in
    /// the generated `queries` module.
    pub fn queries(self, dir: impl Into<String>) -> Builder {
        Builder {
            queries: Some(dir.into()),
            ..self
        }
    }

    /// The file name written in `OUT_DIR` (default `pgstrata_migrations.rs`).
    pub fn out_file(self, name: impl Into<String>) -> Builder {
        Builder {
            out_file: name.into(),
            ..self
        }
    }

    /// The type crates pgstrata is built with, when not its default features.
    pub fn features(self, features: crate::typemap::Features) -> Builder {
        Builder { features, ..self }
    }

    /// Prints only the `cargo:rerun-if-changed` lines, for crates that use
    /// `embed_migrations!` and want a new file to trigger a rebuild.
    ///
    /// # Errors
    /// `CARGO_MANIFEST_DIR` is not set.
    pub fn watch(&self) -> Result<(), BuildError> {
        let dir = self.manifest_dir()?.join(&self.dir);
        watch(&dir);
        Ok(())
    }

    /// Writes the code to `OUT_DIR/<out_file>` and prints the `rerun-if-changed` lines.
    ///
    /// # Errors
    /// The migrations have problems, or the file cannot be written.
    pub fn emit(&self) -> Result<PathBuf, BuildError> {
        let manifest = self.manifest_dir()?;
        watch(&manifest.join(&self.dir));
        println!(
            "cargo:rerun-if-changed={}",
            manifest.join(crate::config::FILE).display()
        );
        if let Some(q) = &self.queries {
            watch(&manifest.join(q));
        }
        let code = crate::Project::in_crate(&manifest, &self.dir, None)
            .and_then(|p| crate::generate(&p, self.features, self.queries.as_deref()))
            .map_err(BuildError::Migrations)?;
        let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or(BuildError::Env("OUT_DIR"))?)
            .join(&self.out_file);
        std::fs::write(&out, code).map_err(|e| BuildError::Io(out.clone(), e))?;
        Ok(out)
    }

    /// Writes the catalog into `OUT_DIR` for `query!` and `query_as!` (and prints
    /// the `rerun-if-changed` lines): they read it there instead of replaying the
    /// migrations at every call site.
    ///
    /// # Errors
    /// The migrations have problems, or the file cannot be written.
    pub fn catalog(&self) -> Result<PathBuf, BuildError> {
        let manifest = self.manifest_dir()?;
        watch(&manifest.join(&self.dir));
        let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or(BuildError::Env("OUT_DIR"))?);
        let project =
            crate::Project::in_crate(&manifest, &self.dir, None).map_err(BuildError::Migrations)?;
        crate::inline::write_catalog(&project, &out).map_err(BuildError::Migrations)
    }

    /// Lints the migrations (with the `[lint]` section of `pgstrata.toml`) and prints
    /// each finding as a cargo warning, so that `cargo build` shows them; returns them.
    ///
    /// # Errors
    /// The migrations or the config have problems.
    pub fn lint(&self) -> Result<Vec<crate::lint::Finding>, BuildError> {
        let manifest = self.manifest_dir()?;
        let findings = crate::Project::in_crate(&manifest, &self.dir, None)
            .and_then(|p| crate::lint::lint(&p, crate::lint::Options::default()))
            .map_err(BuildError::Migrations)?;
        for f in &findings {
            for line in f.to_string().lines() {
                println!("cargo:warning={line}");
            }
        }
        Ok(findings)
    }

    fn manifest_dir(&self) -> Result<PathBuf, BuildError> {
        std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .ok_or(BuildError::Env("CARGO_MANIFEST_DIR"))
    }
}

/// Watching a folder catches files added to or removed from it (its modification time
/// changes); each migration folder (Prisma, diesel) is watched too, for a `down.sql`
/// added inside it.
fn watch(dir: &Path) {
    println!("cargo:rerun-if-changed={}", dir.display());
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut subdirs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        subdirs.sort();
        for d in subdirs {
            println!("cargo:rerun-if-changed={}", d.display());
        }
    }
}
