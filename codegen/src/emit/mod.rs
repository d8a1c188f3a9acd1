//! Emitting Rust code: one module per shape emitted.

pub mod migrations;
pub mod queries;
pub(crate) mod query_row;
pub mod schema;
pub mod table;
mod user_types;

use pgstrata_core::catalog::Catalog;
use proc_macro2::TokenStream;

use crate::diag::Errors;
use crate::project::Project;
use crate::typemap::{Features, TypeMap};

/// The `schema` module of `catalog`, and with `queries` (a folder relative to the
/// project's root) the `queries` module; `None` with the problems pushed to `errors`.
pub(crate) fn module(
    project: &Project,
    catalog: &Catalog,
    features: Features,
    queries: Option<&str>,
    errors: &mut Errors,
) -> Option<TokenStream> {
    let map = TypeMap {
        catalog,
        config: project.config(),
        features,
        root: None,
    };
    let mut tokens = match schema::schema_module(catalog, &map, project.shown()) {
        Ok(t) => t,
        Err(e) => {
            errors.append(e);
            return None;
        }
    };
    if let Some(q) = queries {
        let found = queries::read_dir(&project.root().join(q), q)
            .and_then(|files| queries::queries_module(catalog, &map, &files));
        match found {
            Ok(t) => tokens.extend(t),
            Err(e) => errors.append(e),
        }
    }
    Some(tokens)
}
