//! pgstrata's code generator: reads a migrations folder at build time and produces the
//! Rust code that embeds it, the catalog the migrations build, the lints and the typed
//! queries.
//!
//! Every consumer starts from one [`Project`] (configuration, discovery, the checks of
//! each file, the replay into the catalog): the proc-macros, the build-script
//! [`Builder`], and the CLI, so discovery, ordering, checksums and settings cannot
//! disagree. `docs/ARCHITECTURE.md` draws the pipeline.
//!
//! ```no_run
//! // in build.rs, inside `fn main`:
//! pgstrata_codegen::Builder::new("migrations").emit()?;
//! # Ok::<(), pgstrata_codegen::BuildError>(())
//! ```
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod config;
pub mod inline;
pub mod lint;
pub mod query;

mod build;
mod diag;
mod emit;
mod expand;
mod migration;
mod naming;
mod pgtype;
mod project;
mod replay;
mod source;
mod typemap;

use std::path::Path;

pub use build::{BuildError, Builder};
pub use diag::{Diagnostic, Errors};
pub use expand::{expand, generate};
pub use pgstrata_core::catalog::Catalog;
pub use project::{root_of, Project};
pub use source::{Layout, Source, SqlText};
pub use typemap::Features;

/// The runtime's records of the migrations of `dir` (a folder as the CLI is given it),
/// in the order they apply: [`Project::open`] and [`Project::into_migrations`].
///
/// # Errors
/// Every problem found in the folder and its files.
pub fn load(dir: impl AsRef<Path>) -> Result<Vec<pgstrata_core::Migration>, Errors> {
    Project::open(dir.as_ref(), None)?.into_migrations()
}

/// The catalog the migrations of `dir` build: [`Project::open`] and
/// [`Project::catalog`].
///
/// # Errors
/// Every problem found in the folder, and every statement that cannot be modelled.
pub fn catalog(dir: impl AsRef<Path>) -> Result<Catalog, Errors> {
    Project::open(dir.as_ref(), None)?.into_catalog()
}

/// What `embed_migrations!` defines, empty: emitted beside the compile errors so that
/// code using `MIGRATIONS` does not add errors of its own.
pub fn fallback() -> proc_macro2::TokenStream {
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
