//! `query!` and `query_as!`: one-off queries checked where they are written, against the
//! catalog the crate's build script serialized into `OUT_DIR`
//! ([`Builder::catalog`](crate::Builder::catalog)). The catalog is read once per compiler
//! process and kept, so a crate with hundreds of `query!` calls parses it once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use pgstrata_core::catalog::Catalog;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

use crate::config::Config;
use crate::diag::{Diagnostic, Errors};
use crate::emit::query_row::{fields as row_fields, value_type};
use crate::query::describe;
use crate::typemap::{Features, TypeMap};

/// The file the build script writes and `query!` reads, in `OUT_DIR`.
pub const CATALOG_FILE: &str = "pgstrata_catalog.json";

/// What the macro was given.
pub struct Inline<'a> {
    /// The SQL.
    pub sql: &'a str,
    /// `query_as!`'s target struct.
    pub target: Option<TokenStream>,
    /// The argument expressions.
    pub args: Vec<TokenStream>,
}

/// Values read from files, by path, with the file's modification time when read.
type Cache<T> = Mutex<Option<HashMap<PathBuf, (Option<SystemTime>, Arc<T>)>>>;

static CATALOGS: Cache<Catalog> = Mutex::new(None);
static CONFIGS: Cache<Config> = Mutex::new(None);

fn modified(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Loads (or finds loaded) what `load` reads from `path`, keyed by path and mtime.
fn cached<T>(
    cache: &Cache<T>,
    path: &Path,
    load: impl FnOnce() -> Result<T, String>,
) -> Result<Arc<T>, String> {
    let stamp = modified(path);
    if let Ok(guard) = cache.lock() {
        if let Some((s, v)) = guard.as_ref().and_then(|m| m.get(path)) {
            if *s == stamp {
                return Ok(v.clone());
            }
        }
    }
    let value = Arc::new(load()?);
    if let Ok(mut guard) = cache.lock() {
        guard
            .get_or_insert_with(HashMap::new)
            .insert(path.to_path_buf(), (stamp, value.clone()));
    }
    Ok(value)
}

/// The catalog the build script wrote.
fn catalog(out_dir: Option<&Path>) -> Result<Arc<Catalog>, String> {
    let help = "add a build script that writes the catalog: in build.rs, \
                `pgstrata_codegen::Builder::new(\"migrations\").catalog().unwrap();` \
                (with pgstrata-codegen in [build-dependencies])";
    let Some(dir) = out_dir else {
        return Err(format!(
            "query! needs the catalog, and this crate has no build script: {help}"
        ));
    };
    let path = dir.join(CATALOG_FILE);
    cached(&CATALOGS, &path, || {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read the catalog {}: {e}; {help}", path.display()))?;
        let mut c: Catalog = serde_json::from_str(&text)
            .map_err(|e| format!("the catalog {} is damaged ({e}): rebuild", path.display()))?;
        c.resolve_spellings();
        Ok(c)
    })
}

fn config(manifest_dir: &Path) -> Result<Arc<Config>, String> {
    let path = manifest_dir.join(crate::config::FILE);
    cached(&CONFIGS, &path, || {
        Config::load(manifest_dir)
            .map(|(c, _)| c)
            .map_err(|d| d.to_string())
    })
}

/// The expansion of `query!` / `query_as!`, or a message for a compile error.
///
/// # Errors
/// No model, SQL that does not check (with its line and column in the query), a wrong
/// number of arguments, or a result that has no Rust type.
pub fn expand(
    input: Inline<'_>,
    manifest_dir: &Path,
    out_dir: Option<&Path>,
    features: Features,
) -> Result<TokenStream, String> {
    let catalog = catalog(out_dir)?;
    let config = config(manifest_dir)?;
    let root = config
        .queries
        .schema
        .as_deref()
        .map(|p| {
            p.parse::<TokenStream>()
                .map_err(|e| format!("[queries] schema in pgstrata.toml is not a path: {e}"))
        })
        .transpose()?;
    let map = TypeMap {
        catalog: &catalog,
        config: &config,
        features,
        root,
    };
    let described = describe(&catalog, input.sql).map_err(|e| {
        // A string literal's inner spans are out of reach on stable Rust: the message
        // shows the query's line with a caret instead.
        let mut d = match e.offset {
            Some(o) => Diagnostic::at("query", input.sql, 1, o, ""),
            None => Diagnostic::file("query", ""),
        };
        d.help = e.help;
        let mut out = e.message;
        if d.line > 0 {
            out.push_str(&format!(
                " (line {}, column {} of the query)",
                d.line, d.column
            ));
        }
        let _ = d.excerpt(&mut out);
        out
    })?;
    if input.args.len() != described.params.len() {
        return Err(format!(
            "the query has {} parameter(s) but {} argument(s) were given\n  = help: pass one argument per $n, in order",
            described.params.len(),
            input.args.len()
        ));
    }
    let p = quote!(::pgstrata::__private);
    let mut checks = Vec::new();
    for (i, param) in described.params.iter().enumerate() {
        let ty = value_type(
            &map,
            &param.ty,
            param.nullable,
            &format!("parameter ${}", i + 1),
        )
        .map_err(|e| e.inline())?;
        let index = syn::Index::from(i);
        // Spanned at the argument, so a wrong type is reported there.
        let span = input.args[i]
            .clone()
            .into_iter()
            .next()
            .map_or_else(proc_macro2::Span::call_site, |t| t.span());
        checks.push(quote_spanned!(span=> #p::check::<#ty, _>(&__pgstrata_args.#index);));
    }
    let mut fields = Vec::new();
    let mut values = Vec::new();
    for (i, f) in row_fields(&map, &described.columns)
        .map_err(|e| e.inline())?
        .into_iter()
        .enumerate()
    {
        let (ident, ty) = (f.ident, f.ty);
        values.push(quote!(#ident: { let v: #ty = row.try_get(#i)?; v }));
        fields.push((ident, ty));
    }
    let sql = input.sql;
    let args = &input.args;
    let (record, target) = match &input.target {
        Some(t) => (quote!(), t.clone()),
        None if !described.returns_rows => (quote!(), quote!(())),
        None => {
            let name = format_ident!("Record");
            let defs = fields.iter().map(|(f, t)| quote!(pub #f: #t));
            (
                quote! {
                    #[derive(Debug, Clone, PartialEq)]
                    #[allow(non_camel_case_types, dead_code)]
                    struct #name { #(#defs,)* }
                },
                quote!(#name),
            )
        }
    };
    let decode = if described.returns_rows {
        quote!(|row: &#p::Row| ::core::result::Result::Ok(#target { #(#values,)* }))
    } else {
        quote!(|_: &#p::Row| ::core::result::Result::Ok(()))
    };
    Ok(quote! {{
        #record
        let __pgstrata_args = (#(#args,)*);
        #(#checks)*
        ::pgstrata::Query::__new(#sql, __pgstrata_args, #decode)
    }})
}

/// Writes the catalog of `project` into `out_dir`, for `query!`.
///
/// # Errors
/// The migrations have problems, or the file cannot be written.
pub fn write_catalog(project: &crate::Project, out_dir: &Path) -> Result<PathBuf, Errors> {
    let catalog = project.catalog()?;
    let shown = project.shown();
    let json = serde_json::to_string(catalog).map_err(|e| {
        Diagnostic::file(
            shown,
            format!("cannot encode the catalog: {e} (a pgstrata bug)"),
        )
    })?;
    let path = out_dir.join(CATALOG_FILE);
    std::fs::write(&path, json).map_err(|e| {
        Diagnostic::file(shown, format!("cannot write {}: {e}", path.display()))
            .help("check that OUT_DIR is writable")
    })?;
    Ok(path)
}
