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

pub mod diag;
pub mod emit;
pub mod migration;
pub mod opaque;
pub mod pgtype;
pub mod replay;
pub mod source;
pub mod split;

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
    let dir = dir.as_ref();
    let sources = source::discover(dir, &dir.display().to_string())?;
    replay::replay(&sources)
}

/// Reads the migrations folder `dir` (relative to `manifest_dir`, as written in the
/// macro call) and returns the code `embed_migrations!` expands to.
///
/// # Errors
/// Every problem found in the folder, each naming its file, line and column.
pub fn expand(dir: &str, manifest_dir: &Path) -> Result<TokenStream, Errors> {
    let path = manifest_dir.join(dir);
    let sources = source::discover(&path, dir)?;
    let mut errors = Errors::default();
    let migrations: Vec<_> = sources
        .iter()
        .map(|s| migration::to_migration(s, &mut errors))
        .collect();
    errors.finish(emit::migrations::migrations_static(&sources, &migrations))
}

/// What `embed_migrations!` defines, empty: emitted beside the compile errors so that
/// code using `MIGRATIONS` does not add errors of its own.
pub fn fallback() -> TokenStream {
    quote::quote! {
        #[doc(hidden)]
        pub static MIGRATIONS: ::pgstrata::Migrations = ::pgstrata::Migrations::__embedded(&[]);
    }
}
