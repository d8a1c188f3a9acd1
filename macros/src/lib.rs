//! The proc-macros of pgstrata. Use them through the `pgstrata` crate.
//!
//! Thin on purpose: each macro parses its input, calls `pgstrata_codegen`, and turns
//! problems into compile errors on the macro's string literal.
#![deny(missing_docs)]

use proc_macro::TokenStream;
use std::path::PathBuf;

/// Embeds the migrations of a folder (relative to the crate's `Cargo.toml`).
/// See `pgstrata::embed_migrations!`.
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    let Args {
        lit,
        config,
        queries,
    } = match syn::parse::<Args>(input) {
        Ok(args) => args,
        Err(e) => return e.to_compile_error().into(),
    };
    // The override exists for compile-fail tests only: trybuild builds them in a crate
    // of its own under target/, away from their fixture folders.
    let manifest_dir = std::env::var_os("__PGSTRATA_TEST_MANIFEST_DIR")
        .or_else(|| std::env::var_os("CARGO_MANIFEST_DIR"));
    let Some(manifest_dir) = manifest_dir else {
        return syn::Error::new(
            lit.span(),
            "CARGO_MANIFEST_DIR is not set: build with cargo",
        )
        .to_compile_error()
        .into();
    };
    // pgstrata forwards its type-crate features here, so that columns of a type whose
    // crate is off are left out with a note instead of failing to compile.
    let features = features();
    let config = config.map(|c| c.value());
    let queries = queries.map(|c| c.value());
    let expanded = pgstrata_codegen::Project::in_crate(
        &PathBuf::from(manifest_dir),
        &lit.value(),
        config.as_deref(),
    )
    .and_then(|project| pgstrata_codegen::expand(&project, features, queries.as_deref()));
    match expanded {
        Ok(tokens) => tokens.into(),
        Err(errors) => {
            let mut out: proc_macro2::TokenStream = errors
                .iter()
                .map(|d| syn::Error::new(lit.span(), d.to_string()).to_compile_error())
                .collect();
            // The items the macro would have defined, empty, so the user sees the
            // migration errors and not a cascade of "cannot find MIGRATIONS".
            out.extend(pgstrata_codegen::fallback());
            out.into()
        }
    }
}

/// A query checked at compile time against the migrations' schema.
/// See `pgstrata::query!`.
#[proc_macro]
pub fn query(input: TokenStream) -> TokenStream {
    inline(input, false)
}

/// A query whose rows are read into a struct of yours. See `pgstrata::query_as!`.
#[proc_macro]
pub fn query_as(input: TokenStream) -> TokenStream {
    inline(input, true)
}

fn inline(input: TokenStream, with_target: bool) -> TokenStream {
    let parsed = match syn::parse::Parser::parse(
        |stream: syn::parse::ParseStream<'_>| QueryArgs::parse(stream, with_target),
        input,
    ) {
        Ok(p) => p,
        Err(e) => return e.to_compile_error().into(),
    };
    // As in embed_migrations!, the overrides serve compile-fail tests, whose crate has
    // no build script of its own.
    let manifest_dir = std::env::var_os("__PGSTRATA_TEST_MANIFEST_DIR")
        .or_else(|| std::env::var_os("CARGO_MANIFEST_DIR"))
        .map(PathBuf::from)
        .unwrap_or_default();
    let out_dir = std::env::var_os("__PGSTRATA_TEST_OUT_DIR")
        .or_else(|| std::env::var_os("OUT_DIR"))
        .map(PathBuf::from);
    let sql = parsed.sql.value();
    let result = pgstrata_codegen::inline::expand(
        pgstrata_codegen::inline::Inline {
            sql: &sql,
            target: parsed.target.map(|t| quote::quote!(#t)),
            args: parsed.args.iter().map(|a| quote::quote!(#a)).collect(),
        },
        &manifest_dir,
        out_dir.as_deref(),
        features(),
    );
    match result {
        Ok(tokens) => tokens.into(),
        Err(message) => syn::Error::new(parsed.sql.span(), message)
            .to_compile_error()
            .into(),
    }
}

/// The type crates pgstrata was built with (it forwards its features here), so that a
/// column of a type whose crate is off is reported instead of failing to compile.
fn features() -> pgstrata_codegen::Features {
    pgstrata_codegen::Features {
        chrono: cfg!(feature = "chrono"),
        time: cfg!(feature = "time"),
        uuid: cfg!(feature = "uuid"),
        serde_json: cfg!(feature = "serde_json"),
        rust_decimal: cfg!(feature = "rust_decimal"),
        eui48: cfg!(feature = "eui48"),
        bit_vec: cfg!(feature = "bit-vec"),
        geo_types: cfg!(feature = "geo-types"),
        cidr: cfg!(feature = "cidr"),
    }
}

/// `[Type,] "SQL" [, arg]*`.
struct QueryArgs {
    target: Option<syn::Path>,
    sql: syn::LitStr,
    args: Vec<syn::Expr>,
}

impl QueryArgs {
    fn parse(input: syn::parse::ParseStream<'_>, with_target: bool) -> syn::Result<QueryArgs> {
        let target = if with_target {
            let t: syn::Path = input.parse()?;
            input.parse::<syn::Token![,]>()?;
            Some(t)
        } else {
            None
        };
        let sql: syn::LitStr = input.parse()?;
        let mut args = Vec::new();
        while input.peek(syn::Token![,]) {
            input.parse::<syn::Token![,]>()?;
            if input.is_empty() {
                break;
            }
            args.push(input.parse()?);
        }
        Ok(QueryArgs { target, sql, args })
    }
}

/// `"dir"`, then optional `config = "file.toml"` and `queries = "dir"`.
struct Args {
    lit: syn::LitStr,
    config: Option<syn::LitStr>,
    queries: Option<syn::LitStr>,
}

impl syn::parse::Parse for Args {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Args> {
        let lit: syn::LitStr = input.parse()?;
        let (mut config, mut queries) = (None, None);
        while input.peek(syn::Token![,]) {
            input.parse::<syn::Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key: syn::Ident = input.parse()?;
            let slot = if key == "config" {
                &mut config
            } else if key == "queries" {
                &mut queries
            } else {
                return Err(syn::Error::new(
                    key.span(),
                    "expected `config = \"path/to/pgstrata.toml\"` or `queries = \"path/to/queries\"`",
                ));
            };
            input.parse::<syn::Token![=]>()?;
            *slot = Some(input.parse()?);
        }
        Ok(Args {
            lit,
            config,
            queries,
        })
    }
}
