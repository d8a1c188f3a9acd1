//! pgstrata's code generator: reads a migrations folder at build time and produces the
//! Rust code that embeds it.
//!
//! The proc-macro `pgstrata::embed_migrations!` and the build-script [`Builder`] both
//! call [`expand`]; the CLI and tests call [`load`]. All of them share one resolver
//! ([`source::discover`]), so discovery, ordering and checksums cannot disagree.
//!
//! ```no_run
//! // in build.rs, inside `fn main`:
//! pgstrata_codegen::Builder::new("migrations").emit()?;
//! # Ok::<(), pgstrata_codegen::BuildError>(())
//! ```
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod config;
pub mod diag;
pub mod emit;
pub mod inline;
pub mod lint;
pub mod migration;
pub mod naming;
pub mod opaque;
pub mod pgtype;
pub mod query;
pub mod replay;
pub mod source;
pub mod split;
pub mod types;

mod build;

use std::path::Path;

use proc_macro2::TokenStream;

pub use build::{BuildError, Builder};
pub use diag::{Diagnostic, Errors};
pub use migration::load;
pub use pgstrata_core::catalog::Catalog;

/// Replays the migrations of `dir` into the schema model: the catalog the generated
/// types come from.
///
/// # Errors
/// Every problem found in the folder, and every statement that cannot be modelled.
pub fn catalog(dir: impl AsRef<Path>) -> Result<Catalog, Errors> {
    catalog_until(dir, i64::MAX)
}

/// The schema model after the migrations up to and including `version` (for
/// `pgstrata baseline`, which checks a database against the model at a version).
///
/// # Errors
/// As [`catalog`].
pub fn catalog_until(dir: impl AsRef<Path>, version: i64) -> Result<Catalog, Errors> {
    let dir = dir.as_ref();
    let mut sources = source::discover(dir, &dir.display().to_string())?;
    sources.retain(|s| s.version <= version);
    // The same checks as a build: directives and transaction control.
    let mut errors = Errors::default();
    for s in &sources {
        migration::to_migration(s, &mut errors);
    }
    match replay::replay(&sources) {
        Ok(catalog) => errors.finish(catalog),
        Err(e) => {
            errors.0.extend(e.0);
            Err(errors)
        }
    }
}

/// Reads the migrations folder `dir` (relative to `manifest_dir`, as written in the
/// macro call) and returns the code `embed_migrations!` expands to: the `MIGRATIONS`
/// static and the `schema` module of generated types. Reads `pgstrata.toml` from
/// `manifest_dir` when there is one.
///
/// # Errors
/// Every problem found in the folder, its statements and the config file, each naming
/// its file, line and column.
pub fn expand(
    dir: &str,
    manifest_dir: &Path,
    features: types::Features,
) -> Result<TokenStream, Errors> {
    expand_with(dir, manifest_dir, features, None, None)
}

/// [`expand`] with a config file other than `pgstrata.toml` beside `Cargo.toml`
/// (`config`, relative to `manifest_dir`; it must exist), and a folder of query files
/// (`queries`, relative to `manifest_dir`) whose typed functions go in a `queries`
/// module.
///
/// # Errors
/// As [`expand`], a missing config file, and queries that do not check.
pub fn expand_with(
    dir: &str,
    manifest_dir: &Path,
    features: types::Features,
    config: Option<&str>,
    queries: Option<&str>,
) -> Result<TokenStream, Errors> {
    let path = manifest_dir.join(dir);
    let (config, config_path) = match config {
        Some(file) => config::Config::load_file(&manifest_dir.join(file), file)?,
        None => config::Config::load(manifest_dir)?,
    };
    config.check_paths()?;
    let sources = source::discover(&path, dir)?;
    let mut errors = Errors::default();
    let migrations: Vec<_> = sources
        .iter()
        .map(|s| migration::to_migration(s, &mut errors))
        .collect();
    let catalog = match replay::replay(&sources) {
        Ok(c) => Some(c),
        Err(e) => {
            errors.0.extend(e.0);
            None
        }
    };
    let schema = catalog.and_then(|catalog| {
        let map = types::TypeMap {
            catalog: &catalog,
            config: &config,
            features,
            root: None,
        };
        let mut tokens = match emit::schema::schema_module(&catalog, &map, dir) {
            Ok(t) => t,
            Err(e) => {
                errors.0.extend(e.0);
                return None;
            }
        };
        if let Some(q) = queries {
            let found = emit::queries::read_dir(&manifest_dir.join(q), q)
                .and_then(|files| emit::queries::queries_module(&catalog, &map, &files));
            match found {
                Ok(t) => tokens.extend(t),
                Err(e) => errors.0.extend(e.0),
            }
        }
        Some(tokens)
    });
    // Lints stay quiet in the macro unless the project asks for them to fail the build.
    if config.lint.deny_in_build && errors.is_empty() {
        match lint::lint(&sources, &config.lint, lint::Options::default()) {
            Ok(findings) => errors.0.extend(
                findings
                    .iter()
                    .filter(|f| f.severity == lint::Severity::Error)
                    .map(lint::Finding::to_diagnostic),
            ),
            Err(e) => errors.0.extend(e.0),
        }
    }
    let mut tokens = emit::migrations::migrations_static(&sources, &migrations);
    if let Some(path) = config_path {
        let path = path.display().to_string();
        tokens.extend(quote::quote!(
            const _: &[u8] = ::core::include_bytes!(#path);
        ));
    }
    tokens.extend(schema);
    errors.finish(tokens)
}

/// The code [`expand`] produces, formatted (what the build script writes and
/// `pgstrata generate` prints).
///
/// # Errors
/// As [`expand`]; and a pgstrata bug if the tokens do not parse.
pub fn generate(
    dir: &str,
    manifest_dir: &Path,
    features: types::Features,
) -> Result<String, Errors> {
    generate_with(dir, manifest_dir, features, None)
}

/// [`generate`] with a folder of query files (relative to `manifest_dir`).
///
/// # Errors
/// As [`generate`], and queries that do not check.
pub fn generate_with(
    dir: &str,
    manifest_dir: &Path,
    features: types::Features,
    queries: Option<&str>,
) -> Result<String, Errors> {
    let tokens = expand_with(dir, manifest_dir, features, None, queries)?;
    let file = syn::parse2::<syn::File>(tokens).map_err(|e| {
        Diagnostic::file(
            dir,
            format!("generated code does not parse: {e} (a pgstrata bug)"),
        )
    })?;
    Ok(format!(
        "// @generated by pgstrata-codegen from {dir}: do not edit.\n{}",
        prettyplease::unparse(&file)
    ))
}

/// What `embed_migrations!` defines, empty: emitted beside the compile errors so that
/// code using `MIGRATIONS` does not add errors of its own.
pub fn fallback() -> TokenStream {
    quote::quote! {
        #[doc(hidden)]
        pub static MIGRATIONS: ::pgstrata::Migrations =
            ::pgstrata::Migrations::__encoded("", "", "", &schema::SHAPE);
        #[doc(hidden)]
        pub mod schema {
            #[doc(hidden)]
            pub fn tables() -> &'static [::pgstrata::TableInfo] {
                &[]
            }
            #[doc(hidden)]
            pub static SHAPE: ::pgstrata::__private::Shape =
                ::pgstrata::__private::Shape::from_encoded("");
        }
    }
}
