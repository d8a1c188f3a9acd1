//! The `queries` module: a function per query of the query files, its `_blocking`
//! twin, a prepared form, and a struct for its rows unless they are exactly a table's.

use std::path::Path;

use pgstrata_core::catalog::{Catalog, ColumnType};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

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

/// One query's items.
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
    let names: Vec<proc_macro2::Ident> = q
        .params
        .iter()
        .map(|n| naming::ident(&naming::field_name(n)))
        .collect();
    let row = row(catalog, &outer, q, &described)?;
    let signature = |m: &TypeMap<'_>, row_type: &TokenStream| -> Result<Signature, Diagnostic> {
        let mut params = Vec::new();
        for ((p, name), ident) in described.params.iter().zip(&q.params).zip(&names) {
            let ty =
                value_type(m, &p.ty, false, &format!("parameter {name}")).map_err(|e| e.at(q))?;
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
    };
    let top = signature(&outer, &row.outer)?;
    let nested = signature(&inner, &row.inner)?;
    let (top_params, top_ret) = (&top.params, &top.ret);
    let (params, ret) = (&nested.params, &nested.ret);
    let inner_type = &row.inner;
    let p = quote!(::pgstrata::__private);
    let args = quote!(&[#(&#names as &(dyn #p::ToSql + ::core::marker::Sync)),*]);
    let (call, call_blocking) = match q.kind {
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
    };
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
    let sql = &q.sql;
    let mut doc: Vec<String> = q.doc.iter().map(|l| format!(" {l}")).collect();
    if !doc.is_empty() {
        doc.push(String::new());
    }
    doc.push(" ```sql".into());
    doc.extend(sql.lines().map(|l| format!(" {l}")));
    doc.push(" ```".into());
    let doc: Vec<TokenStream> = doc.iter().map(|d| quote!(#[doc = #d])).collect();
    // `:one` is the caller's promise: the check cannot tell a key lookup from a scan,
    // so a second row is an error at run time, as is none.
    let errors = match q.kind {
        ResultKind::One => {
            " The query fails, returns no row or more than one (`:one` promises exactly one), or the row does not decode."
        }
        ResultKind::Opt => {
            " The query fails, returns more than one row (`:opt` promises at most one), or the row does not decode."
        }
        ResultKind::Many => " The query fails, or a row does not decode.",
        ResultKind::Rows | ResultKind::Exec => " The statement fails.",
    };
    let module = naming::ident(&q.name);
    let blocking = format_ident!("{}_blocking", q.name);
    let row_items = &row.items;
    Ok(quote! {
        #row_items

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
    })
}

/// The domain type of a result column read straight from a table column of that domain.
/// PostgreSQL describes such a column by the domain's base type; the row keeps the
/// domain's generated type, as the table's struct does.
pub fn domain_of<'c>(catalog: &'c Catalog, c: &crate::query::Output) -> Option<&'c ColumnType> {
    let (table, column) = c.source.as_ref()?;
    let ty = &catalog
        .table(&table.schema, &table.name)?
        .column(column)?
        .ty;
    let name = ty.user_type()?;
    let domain = catalog
        .domains
        .iter()
        .find(|d| d.schema == name.schema && d.name == name.name)?;
    (domain.ty.name == c.ty.name && ty.array == c.ty.array).then_some(ty)
}

/// What is wrong with a query's types, and what to do. Query files add the file and
/// line; `query!` shows it as it is.
pub(crate) struct Problem {
    message: String,
    help: &'static str,
}

impl Problem {
    /// The problem as a diagnostic at the query's name line.
    fn at(self, q: &QueryDef) -> Diagnostic {
        q.diagnostic(None, format!("query {}: {}", q.name, self.message))
            .help(self.help)
    }

    /// The problem as `query!` reports it.
    pub(crate) fn inline(self) -> String {
        format!("{}\n  = help: {}", self.message, self.help)
    }
}

/// The Rust type of a parameter or result value (`Option` where it may be NULL), or a
/// problem asking for a cast.
pub(crate) fn value_type(
    map: &TypeMap<'_>,
    ty: &ColumnType,
    nullable: bool,
    what: &str,
) -> Result<TokenStream, Problem> {
    match map.map(ty, &None) {
        Mapped::Rust(t) if nullable => Ok(quote!(::core::option::Option<#t>)),
        Mapped::Rust(t) => Ok(t),
        Mapped::None(why) => Err(Problem {
            message: format!("{what} is {}: {why}", ty.format()),
            help: "cast it to a type with a Rust mapping (::text, ::bigint ...)",
        }),
    }
}

/// A field of a query's row.
pub(crate) struct Field<'a> {
    /// The field's name.
    pub ident: proc_macro2::Ident,
    /// Its type, `Option` where the column may be NULL.
    pub ty: TokenStream,
    /// The result column it reads.
    pub column: &'a crate::query::Output,
}

/// A field per result column, typed as `[columns]` overrides say for a table column
/// read as it is, otherwise from the column's type (a domain's for a domain column).
///
/// # Errors
/// A column with no name, two with one name, or one with no Rust type.
pub(crate) fn fields<'a>(
    map: &TypeMap<'_>,
    columns: &'a [crate::query::Output],
) -> Result<Vec<Field<'a>>, Problem> {
    let mut out: Vec<Field<'a>> = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        if c.name == "?column?" {
            return Err(Problem {
                message: format!("result column {} has no name", i + 1),
                help: "name it: ... AS name",
            });
        }
        let ident = naming::ident(&naming::field_name(&c.name));
        if out.iter().any(|f| f.ident == ident) {
            return Err(Problem {
                message: format!("two result columns are named {}", c.name),
                help: "give one of them another name: ... AS other_name",
            });
        }
        let override_path = c.source.as_ref().and_then(|(t, col)| {
            map.config
                .columns
                .get(&format!("{}.{}.{col}", t.schema, t.name))
                .or_else(|| {
                    map.config
                        .columns
                        .get(&format!("{}.{col}", t.name))
                        .filter(|_| t.schema == "public")
                })
        });
        let ty = match override_path.and_then(|p| syn::parse_str::<syn::Type>(p).ok()) {
            Some(t) if c.nullable => quote!(::core::option::Option<#t>),
            Some(t) => quote!(#t),
            None => {
                let ty = domain_of(map.catalog, c).unwrap_or(&c.ty);
                value_type(map, ty, c.nullable, &format!("result column {}", c.name))?
            }
        };
        out.push(Field {
            ident,
            ty,
            column: c,
        });
    }
    Ok(out)
}

/// A query's row type (as named from the queries module and from the query's own
/// module), the items that define it, and the body of its decoder.
struct RowType {
    outer: TokenStream,
    inner: TokenStream,
    items: TokenStream,
    decode: TokenStream,
}

/// The row type of a query: a table's row struct when the query returns exactly its
/// columns (in order, with the same types and nullability), otherwise a struct named
/// after the query.
fn row(
    catalog: &Catalog,
    map: &TypeMap<'_>,
    q: &QueryDef,
    d: &Described,
) -> Result<RowType, Diagnostic> {
    if !d.returns_rows {
        return Ok(RowType {
            outer: quote!(()),
            inner: quote!(()),
            items: quote!(),
            decode: quote!(::core::result::Result::Ok(())),
        });
    }
    if let Some((table, _)) = d.columns.first().and_then(|c| c.source.clone()) {
        if let Some(t) = catalog.table(&table.schema, &table.name) {
            let overridden = |c: &str| {
                map.config
                    .columns
                    .contains_key(&format!("{}.{}.{c}", t.schema, t.name))
                    || (t.schema == "public"
                        && map.config.columns.contains_key(&format!("{}.{c}", t.name)))
            };
            let struct_cols: Vec<&pgstrata_core::catalog::Column> = t
                .columns
                .iter()
                .filter(|c| overridden(&c.name) || matches!(map.map(&c.ty, &None), Mapped::Rust(_)))
                .collect();
            let same = struct_cols.len() == d.columns.len()
                && struct_cols.iter().zip(&d.columns).all(|(c, o)| {
                    o.source
                        .as_ref()
                        .is_some_and(|(tn, cn)| tn == &table && cn == &c.name)
                        && o.nullable == c.nullable
                        && o.name == c.name
                });
            if same {
                let ident = naming::ident(&super::table::struct_name(t, &map.config.names));
                let module = crate::typemap::module_of(&t.schema).map(|m| naming::ident(&m));
                let path = |root: TokenStream| match &module {
                    Some(m) => quote!(#root::#m::#ident),
                    None => quote!(#root::#ident),
                };
                let inner = path(quote!(super::super::schema));
                return Ok(RowType {
                    outer: path(quote!(super::schema)),
                    decode: quote!(<#inner as ::pgstrata::FromRow>::from_row(row)),
                    inner,
                    items: quote!(),
                });
            }
        }
    }
    let struct_name = naming::ident(&naming::type_name(&q.name));
    let mut fields = Vec::new();
    let mut reads = Vec::new();
    for (i, f) in self::fields(map, &d.columns)
        .map_err(|p| p.at(q))?
        .into_iter()
        .enumerate()
    {
        let (ident, ty, c) = (f.ident, f.ty, f.column);
        let doc = format!(
            " `{}`: {}{}",
            c.name,
            c.ty.format(),
            if c.nullable { ", may be NULL" } else { "" }
        );
        fields.push(quote!(#[doc = #doc] pub #ident: #ty));
        reads.push(quote!(#ident: row.try_get(#i)?));
    }
    let doc = format!(" A row of query `{}`.", q.name);
    Ok(RowType {
        outer: quote!(#struct_name),
        inner: quote!(super::#struct_name),
        items: quote! {
            #[doc = #doc]
            #[derive(Debug, Clone, PartialEq)]
            pub struct #struct_name {
                #(#fields,)*
            }
        },
        decode: quote!(::core::result::Result::Ok(super::#struct_name { #(#reads,)* })),
    })
}
