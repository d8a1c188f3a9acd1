//! The `queries` module: a function per query of the query files, its `_blocking`
//! twin, a prepared form, and a struct for its rows unless they are exactly a table's.

use std::path::Path;

use pgstrata_core::catalog::{Catalog, ColumnType};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::query_row::{row, value_type, RowType};
use crate::diag::{Diagnostic, Errors};
use crate::naming;
use crate::query::{describe, parse_file, Described, QueryDef, ResultKind};
use crate::typemap::{Mapped, TypeMap};

/// The files of the queries folder, in name order: (shown path, absolute path, text).
///
/// # Errors
/// The folder cannot be read, or a file is not UTF-8.
pub fn read_dir(
    dir: &Path,
    shown: &str,
) -> Result<Vec<(String, std::path::PathBuf, String)>, Errors> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Errors::from(
            Diagnostic::file(shown, format!("cannot read the queries folder: {e}")).help(
                "paths are relative to the crate's Cargo.toml: create the folder or fix the path",
            ),
        )
    })?;
    let mut paths: Vec<std::path::PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "sql"))
        .collect();
    paths.sort();
    let mut errors = Errors::default();
    let mut out = Vec::new();
    for p in paths {
        let name = p
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let file = format!("{}/{name}", shown.trim_end_matches('/'));
        match std::fs::read_to_string(&p) {
            Ok(text) => out.push((file, p, text)),
            Err(e) => errors.push(
                Diagnostic::file(&file, format!("cannot be read: {e}")).help("save it as UTF-8"),
            ),
        }
    }
    errors.finish(out)
}

/// The module for every query of `files`, checked against `catalog`.
///
/// # Errors
/// Every query that does not check, at its file, line and column.
pub fn queries_module(
    catalog: &Catalog,
    map: &TypeMap<'_>,
    files: &[(String, std::path::PathBuf, String)],
) -> Result<TokenStream, Errors> {
    let mut errors = Errors::default();
    let mut items = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (file, path, text) in files {
        let defs = match parse_file(file, text) {
            Ok(d) => d,
            Err(e) => {
                errors.append(e);
                continue;
            }
        };
        let path = path.display().to_string();
        items.push(quote!(
            const _: &[u8] = ::core::include_bytes!(#path);
        ));
        for q in defs {
            if names.contains(&q.name) {
                errors.push(
                    q.diagnostic(None, format!("query {} is defined in two files", q.name))
                        .help("rename one of them"),
                );
                continue;
            }
            names.push(q.name.clone());
            match query(catalog, map, &q) {
                Ok(tokens) => items.push(tokens),
                Err(d) => errors.push(d),
            }
        }
    }
    errors.finish(quote! {
        /// The queries of the query files, checked against the migrations' schema.
        #[allow(dead_code, clippy::all, missing_docs)]
        pub mod queries {
            #(#items)*
        }
    })
}

/// How a Rust type is passed as an argument: `&str` for text, `&[T]` for arrays, by
/// value for small `Copy` types (numbers, times, uuids, generated enums), by reference
/// otherwise.
fn argument(map: &TypeMap<'_>, ty: &TokenStream, sql: &ColumnType) -> TokenStream {
    if let Some(s) = &sql.schema {
        if !sql.array && map.catalog.enum_type(s, &sql.name).is_some() {
            return ty.clone();
        }
    }
    if sql.array {
        // A slice of the element, when the array maps to a Vec of it (an override may
        // map it to something else, passed by reference).
        if let Mapped::Rust(elem) = map.map(&crate::query::element(sql), &None) {
            if quote!(::std::vec::Vec<#elem>).to_string() == ty.to_string() {
                return quote!(&[#elem]);
            }
        }
        return quote!(&#ty);
    }
    if sql.schema.is_some() {
        return quote!(&#ty);
    }
    match sql.name.as_str() {
        "text" | "character varying" | "character" | "name" => quote!(&str),
        "bytea" => quote!(&[u8]),
        "json" | "jsonb" | "bit" | "bit varying" | "point" => quote!(&#ty),
        _ => ty.clone(),
    }
}

/// The types of a query's signature, as seen from one module.
struct Signature {
    params: Vec<TokenStream>,
    ret: TokenStream,
}

/// One query's items: its row struct (unless it reads a table's row), its functions, and
/// the module with its SQL and prepared form.
fn query(catalog: &Catalog, map: &TypeMap<'_>, q: &QueryDef) -> Result<TokenStream, Diagnostic> {
    let described = describe(catalog, &q.sql).map_err(|e| {
        let d = q.diagnostic(e.offset, format!("query {}: {}", q.name, e.message));
        match e.help {
            Some(h) => d.help(h),
            None => d,
        }
    })?;
    match (q.kind, described.returns_rows) {
        (ResultKind::Exec, true) => {
            return Err(q
                .diagnostic(None, format!("query {} is :exec but returns rows", q.name))
                .help("use :many, :one or :opt to read them, or drop the SELECT list / RETURNING"))
        }
        (ResultKind::Many | ResultKind::One | ResultKind::Opt, false) => {
            return Err(q
                .diagnostic(None, format!("query {} returns no rows", q.name))
                .help("use :exec, or :rows for the number of rows affected"))
        }
        _ => {}
    }
    // The queries module sits beside `schema`; each query's own module one level deeper.
    let outer = TypeMap {
        root: Some(quote!(super::schema)),
        ..*map
    };
    let inner = TypeMap {
        root: Some(quote!(super::super::schema)),
        ..*map
    };
    let row = row(catalog, &outer, q, &described)?;
    let parts = Parts {
        names: q
            .params
            .iter()
            .map(|n| naming::ident(&naming::field_name(n)))
            .collect(),
        top: signature(&outer, q, &described, &row.outer)?,
        nested: signature(&inner, q, &described, &row.inner)?,
        doc: doc(q),
        errors: errors_doc(q.kind),
    };
    let row_items = &row.items;
    let functions = functions(q, &parts);
    let module = statement_module(q, &parts, &row);
    Ok(quote! {
        #row_items
        #functions
        #module
    })
}

/// What a query's items are made of.
struct Parts {
    /// The parameters' names.
    names: Vec<proc_macro2::Ident>,
    /// The signature as seen from the queries module, and from the query's own module.
    top: Signature,
    nested: Signature,
    /// The functions' documentation: the query's comment and its SQL.
    doc: Vec<TokenStream>,
    /// The `# Errors` line.
    errors: &'static str,
}

/// The parameters and return type of a query's functions, with types named as seen from
/// the module `m` maps into.
fn signature(
    m: &TypeMap<'_>,
    q: &QueryDef,
    described: &Described,
    row_type: &TokenStream,
) -> Result<Signature, Diagnostic> {
    let mut params = Vec::new();
    for (p, name) in described.params.iter().zip(&q.params) {
        let ident = naming::ident(&naming::field_name(name));
        let ty = value_type(m, &p.ty, false, &format!("parameter {name}")).map_err(|e| e.at(q))?;
        let arg = argument(m, &ty, &p.ty);
        let arg = if p.nullable {
            quote!(::core::option::Option<#arg>)
        } else {
            arg
        };
        params.push(quote!(#ident: #arg));
    }
    let ret = match q.kind {
        ResultKind::Many => quote!(::std::vec::Vec<#row_type>),
        ResultKind::One => quote!(#row_type),
        ResultKind::Opt => quote!(::core::option::Option<#row_type>),
        ResultKind::Rows => quote!(u64),
        ResultKind::Exec => quote!(()),
    };
    Ok(Signature { params, ret })
}

/// The documentation of a query's functions.
fn doc(q: &QueryDef) -> Vec<TokenStream> {
    let mut doc: Vec<String> = q.doc.iter().map(|l| format!(" {l}")).collect();
    if !doc.is_empty() {
        doc.push(String::new());
    }
    doc.push(" ```sql".into());
    doc.extend(q.sql.lines().map(|l| format!(" {l}")));
    doc.push(" ```".into());
    doc.iter().map(|d| quote!(#[doc = #d])).collect()
}

/// What the `# Errors` section says for a result kind.
fn errors_doc(kind: ResultKind) -> &'static str {
    // `:one` is the caller's promise: the check cannot tell a key lookup from a scan,
    // so a second row is an error at run time, as is none.
    match kind {
        ResultKind::One => {
            " The query fails, returns no row or more than one (`:one` promises exactly one), or the row does not decode."
        }
        ResultKind::Opt => {
            " The query fails, returns more than one row (`:opt` promises at most one), or the row does not decode."
        }
        ResultKind::Many => " The query fails, or a row does not decode.",
        ResultKind::Rows | ResultKind::Exec => " The statement fails.",
    }
}

/// The call of pgstrata's runner of this result kind, async and blocking.
fn calls(q: &QueryDef, names: &[proc_macro2::Ident]) -> (TokenStream, TokenStream) {
    let p = quote!(::pgstrata::__private);
    let args = quote!(&[#(&#names as &(dyn #p::ToSql + ::core::marker::Sync)),*]);
    match q.kind {
        ResultKind::Many => (
            quote!(#p::many(client, statement, #args, decode)),
            quote!(#p::blocking::many(client, statement, #args, decode)),
        ),
        ResultKind::One => (
            quote!(#p::one(client, statement, #args, decode)),
            quote!(#p::blocking::one(client, statement, #args, decode)),
        ),
        ResultKind::Opt => (
            quote!(#p::maybe(client, statement, #args, decode)),
            quote!(#p::blocking::maybe(client, statement, #args, decode)),
        ),
        ResultKind::Rows => (
            quote!(#p::rows(client, statement, #args)),
            quote!(#p::blocking::rows(client, statement, #args)),
        ),
        ResultKind::Exec => (
            quote!(#p::exec(client, statement, #args)),
            quote!(#p::blocking::exec(client, statement, #args)),
        ),
    }
}

/// The query's function and its `_blocking` twin, in the queries module.
fn functions(q: &QueryDef, parts: &Parts) -> TokenStream {
    let p = quote!(::pgstrata::__private);
    let module = naming::ident(&q.name);
    let blocking = format_ident!("{}_blocking", q.name);
    let (top_params, top_ret) = (&parts.top.params, &parts.top.ret);
    let (doc, errors, names) = (&parts.doc, parts.errors, &parts.names);
    quote! {
        #(#doc)*
        ///
        /// # Errors
        #[doc = #errors]
        #[inline]
        pub async fn #module<C: #p::GenericClient + ::core::marker::Sync>(
            client: &C,
            #(#top_params),*
        ) -> ::core::result::Result<#top_ret, #p::PgError> {
            #module::run_text(client, #(#names),*).await
        }

        ::pgstrata::__pgstrata_blocking! {
            #(#doc)*
            ///
            /// # Errors
            #[doc = #errors]
            #[inline]
            pub fn #blocking<C: #p::BlockingClient>(
                client: &mut C,
                #(#top_params),*
            ) -> ::core::result::Result<#top_ret, #p::PgError> {
                #module::run_blocking(client, #(#names),*)
            }
        }

    }
}

/// The query's own module: its SQL, its prepared form, and the runners the functions
/// call.
fn statement_module(q: &QueryDef, parts: &Parts, row: &RowType) -> TokenStream {
    let p = quote!(::pgstrata::__private);
    let module = naming::ident(&q.name);
    let sql = &q.sql;
    let (params, ret) = (&parts.nested.params, &parts.nested.ret);
    let errors = parts.errors;
    let (call, call_blocking) = calls(q, &parts.names);
    let inner_type = &row.inner;
    let decode = &row.decode;
    let decode_fn =
        matches!(q.kind, ResultKind::Many | ResultKind::One | ResultKind::Opt).then(|| {
            quote! {
                #[inline]
                fn decode(row: &#p::Row) -> ::core::result::Result<#inner_type, #p::PgError> {
                    #decode
                }
            }
        });
    quote! {
        #[doc = " The statement of the query of the same name, and its prepared form."]
        pub mod #module {
            /// The SQL sent to the server.
            pub const SQL: &str = #sql;

            /// The statement prepared once, to run many times with only the arguments sent.
            #[derive(Debug, Clone)]
            pub struct Prepared(#p::Statement);

            /// Prepares the statement on this connection.
            ///
            /// # Errors
            /// The server refuses it (its schema differs from the migrations').
            pub async fn prepare<C: #p::GenericClient + ::core::marker::Sync>(
                client: &C,
            ) -> ::core::result::Result<Prepared, #p::PgError> {
                client.prepare(SQL).await.map(Prepared)
            }

            impl Prepared {
                /// Runs the prepared statement.
                ///
                /// # Errors
                #[doc = #errors]
                #[inline]
                pub async fn run<C: #p::GenericClient + ::core::marker::Sync>(
                    &self,
                    client: &C,
                    #(#params),*
                ) -> ::core::result::Result<#ret, #p::PgError> {
                    let statement = &self.0;
                    #call.await
                }
            }

            #[doc(hidden)]
            #[inline]
            pub async fn run_text<C: #p::GenericClient + ::core::marker::Sync>(
                client: &C,
                #(#params),*
            ) -> ::core::result::Result<#ret, #p::PgError> {
                let statement = SQL;
                #call.await
            }

            ::pgstrata::__pgstrata_blocking! {
                #[doc(hidden)]
                #[inline]
                pub fn run_blocking<C: #p::BlockingClient>(
                    client: &mut C,
                    #(#params),*
                ) -> ::core::result::Result<#ret, #p::PgError> {
                    let statement = SQL;
                    #call_blocking
                }
            }

            #decode_fn
        }
    }
}
