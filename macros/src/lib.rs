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
    let Args { lit, config } = match syn::parse::<Args>(input) {
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
    let features = pgstrata_codegen::types::Features {
        chrono: cfg!(feature = "chrono"),
        time: cfg!(feature = "time"),
        uuid: cfg!(feature = "uuid"),
        serde_json: cfg!(feature = "serde_json"),
        rust_decimal: cfg!(feature = "rust_decimal"),
        eui48: cfg!(feature = "eui48"),
        bit_vec: cfg!(feature = "bit-vec"),
        geo_types: cfg!(feature = "geo-types"),
        cidr: cfg!(feature = "cidr"),
    };
    let config = config.map(|c| c.value());
    match pgstrata_codegen::expand_with(
        &lit.value(),
        &PathBuf::from(manifest_dir),
        features,
        config.as_deref(),
    ) {
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

/// `"dir"` or `"dir", config = "file.toml"`.
struct Args {
    lit: syn::LitStr,
    config: Option<syn::LitStr>,
}

impl syn::parse::Parse for Args {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Args> {
        let lit: syn::LitStr = input.parse()?;
        let mut config = None;
        if input.peek(syn::Token![,]) {
            input.parse::<syn::Token![,]>()?;
            if !input.is_empty() {
                let key: syn::Ident = input.parse()?;
                if key != "config" {
                    return Err(syn::Error::new(
                        key.span(),
                        "expected `config = \"path/to/pgstrata.toml\"`",
                    ));
                }
                input.parse::<syn::Token![=]>()?;
                config = Some(input.parse()?);
                let _ = input.parse::<Option<syn::Token![,]>>()?;
            }
        }
        Ok(Args { lit, config })
    }
}
