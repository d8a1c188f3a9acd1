//! Emits `pub mod schema`: one item per table, enum, domain and composite, in a module
//! per non-public schema.

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::quote;

use pgstrata_core::catalog::Catalog;

use crate::diag::{Diagnostic, Errors};
use crate::emit::table;
use crate::naming;
use crate::typemap::{module_of, Mapped, TypeMap};

/// What one module holds, keyed by Rust name to find collisions.
#[derive(Default)]
struct Module {
    items: Vec<TokenStream>,
    names: BTreeMap<String, String>,
}

impl Module {
    /// Records `rust` as the name of `sql`; two SQL names for one Rust name is an error.
    fn claim(&mut self, rust: &str, sql: String, errors: &mut Errors, source: &str) -> bool {
        if let Some(other) = self.names.insert(rust.to_string(), sql.clone()) {
            errors.push(
                Diagnostic::file(source, format!("{other} and {sql} both become the Rust name `{rust}`"))
                    .help("rename one of them in SQL, or give one another name in pgstrata.toml under [names]"),
            );
            return false;
        }
        true
    }
}

/// The `schema` module for a catalog.
///
/// # Errors
/// Name collisions, and overrides naming columns or tables that do not exist.
pub fn schema_module(
    catalog: &Catalog,
    map: &TypeMap<'_>,
    source: &str,
) -> Result<TokenStream, Errors> {
    let mut errors = Errors::default();
    let mut modules: BTreeMap<Option<String>, Module> = BTreeMap::new();
    modules.entry(None).or_default();
    let p = quote!(::pgstrata::__private);

    for e in &catalog.enums {
        let module = module_of(&e.schema);
        let m = modules.entry(module).or_default();
        let name = naming::type_name(&e.name);
        if !m.claim(
            &name,
            format!("type {}.{}", e.schema, e.name),
            &mut errors,
            source,
        ) {
            continue;
        }
        let ident = naming::ident(&name);
        let mut seen = BTreeMap::new();
        let mut variants = Vec::new();
        let mut idents = Vec::new();
        for label in &e.values {
            let v = naming::variant_name(label);
            if let Some(other) = seen.insert(v.clone(), label.clone()) {
                errors.push(
                    Diagnostic::file(source, format!("labels {other:?} and {label:?} of enum {} both become the variant `{v}`", e.name))
                        .help("rename one label (ALTER TYPE ... RENAME VALUE)"),
                );
                continue;
            }
            let vi = naming::ident(&v);
            let doc = format!(" The label `{label}`.");
            variants.push(quote!(#[doc = #doc] #vi));
            idents.push(vi);
        }
        let sql = &e.name;
        let doc = doc_lines(
            &format!(" The enum type `{}.{}`.", e.schema, e.name),
            e.comment.as_deref(),
        );
        let labels = &e.values;
        if e.values.is_empty() {
            m.items.push(quote! {
                #(#doc)*
                #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
                pub enum #ident {}
            });
            continue;
        }
        m.items.push(quote!(::pgstrata::__pgstrata_param!(#ident);));
        let accepts = quote! {
            #[inline]
            fn accepts(ty: &#p::Type) -> bool {
                #p::enum_accepts(ty, #ident::SQL_NAME, #ident::LABELS)
            }
        };
        m.items.push(quote! {
            #(#doc)*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
            pub enum #ident {
                #(#variants,)*
            }

            impl #ident {
                /// The type's name in PostgreSQL.
                pub const SQL_NAME: &'static str = #sql;
                /// The labels, in the type's sort order.
                pub const LABELS: &'static [&'static str] = &[#(#labels),*];
                /// Every value, in the type's sort order.
                pub const ALL: &'static [#ident] = &[#(#ident::#idents),*];

                /// The label, as stored.
                #[inline]
                pub const fn label(self) -> &'static str {
                    #ident::LABELS[self as usize]
                }
            }

            #[automatically_derived]
            impl #p::ToSql for #ident {
                #[inline]
                fn to_sql(&self, _ty: &#p::Type, out: &mut #p::BytesMut) -> ::core::result::Result<#p::IsNull, #p::BoxError> {
                    #p::enum_to_sql(self.label(), out)
                }
                #accepts
                #p::to_sql_checked!();
            }

            #[automatically_derived]
            impl<'a> #p::FromSql<'a> for #ident {
                #[inline]
                fn from_sql(_ty: &#p::Type, raw: &'a [u8]) -> ::core::result::Result<Self, #p::BoxError> {
                    #p::enum_from_sql(raw, #ident::SQL_NAME, #ident::LABELS).map(|i| #ident::ALL[i])
                }
                #accepts
            }
        });
    }

    for d in &catalog.domains {
        let module = module_of(&d.schema);
        let inner = match map.map(&d.ty, &module) {
            Mapped::Rust(t) => t,
            Mapped::None(_) => continue,
        };
        let m = modules.entry(module).or_default();
        let name = naming::type_name(&d.name);
        if !m.claim(
            &name,
            format!("domain {}.{}", d.schema, d.name),
            &mut errors,
            source,
        ) {
            continue;
        }
        let ident = naming::ident(&name);
        let sql = &d.name;
        let doc = doc_lines(
            &format!(
                " The domain `{}.{}` over {}. A newtype, not the base type: a parameter bound to a domain column \
                 has the domain's type, which the base type's `ToSql` refuses (rows report the base type; the \
                 newtype takes both).",
                d.schema,
                d.name,
                d.ty.format()
            ),
            d.comment.as_deref(),
        );
        m.items.push(quote!(::pgstrata::__pgstrata_param!(#ident);));
        m.items.push(quote! {
            #(#doc)*
            #[derive(Debug, Clone, PartialEq)]
            pub struct #ident(pub #inner);

            #[automatically_derived]
            impl #p::ToSql for #ident {
                #[inline]
                fn to_sql(&self, ty: &#p::Type, out: &mut #p::BytesMut) -> ::core::result::Result<#p::IsNull, #p::BoxError> {
                    #p::domain_to_sql(&self.0, ty, out)
                }
                #[inline]
            fn accepts(ty: &#p::Type) -> bool {
                    #p::domain_accepts_to::<#inner>(ty, #sql)
                }
                #p::to_sql_checked!();
            }

            #[automatically_derived]
            impl<'a> #p::FromSql<'a> for #ident {
                #[inline]
                fn from_sql(ty: &#p::Type, raw: &'a [u8]) -> ::core::result::Result<Self, #p::BoxError> {
                    #p::domain_from_sql::<#inner>(ty, raw).map(#ident)
                }
                #[inline]
            fn accepts(ty: &#p::Type) -> bool {
                    #p::domain_accepts_from::<#inner>(ty, #sql)
                }
            }
        });
    }

    for c in &catalog.composites {
        let module = module_of(&c.schema);
        let mut fields = Vec::new();
        let mut field_idents = Vec::new();
        let mut field_types = Vec::new();
        for a in &c.attributes {
            if let Mapped::Rust(t) = map.map(&a.ty, &module) {
                let f = naming::ident(&naming::field_name(&a.name));
                let doc = format!(" `{}` {}", a.name, a.ty.format());
                fields.push(quote!(#[doc = #doc] pub #f: ::core::option::Option<#t>));
                field_idents.push(f);
                field_types.push(t);
            } else {
                fields.clear();
                break;
            }
        }
        if fields.len() != c.attributes.len() {
            continue;
        }
        let names: Vec<&str> = c.attributes.iter().map(|a| a.name.as_str()).collect();
        let m = modules.entry(module).or_default();
        let name = naming::type_name(&c.name);
        if !m.claim(
            &name,
            format!("type {}.{}", c.schema, c.name),
            &mut errors,
            source,
        ) {
            continue;
        }
        let ident = naming::ident(&name);
        let sql = &c.name;
        let doc = doc_lines(
            &format!(" The composite type `{}.{}`.", c.schema, c.name),
            c.comment.as_deref(),
        );
        // Each field's type must be one its Rust type takes, as the derives check.
        let accepts = |tr: proc_macro2::TokenStream| {
            let checks = names.iter().zip(&field_types).map(|(n, t)| {
                quote!((#n, <::core::option::Option<#t> as #tr>::accepts as fn(&#p::Type) -> bool))
            });
            quote! {
                #[inline]
                fn accepts(ty: &#p::Type) -> bool {
                    #p::composite_accepts(ty, #sql, &[#(#checks),*])
                }
            }
        };
        let to_accepts = accepts(quote!(#p::ToSql));
        let from_accepts = accepts(quote!(#p::FromSql<'_>));
        m.items.push(quote!(::pgstrata::__pgstrata_param!(#ident);));
        m.items.push(quote! {
            #(#doc)*
            #[derive(Debug, Clone, PartialEq)]
            pub struct #ident {
                #(#fields,)*
            }

            #[automatically_derived]
            impl #p::ToSql for #ident {
                #[inline]
                fn to_sql(&self, ty: &#p::Type, out: &mut #p::BytesMut) -> ::core::result::Result<#p::IsNull, #p::BoxError> {
                    let mut w = #p::CompositeWriter::new(ty, out)?;
                    #(w.field(&self.#field_idents)?;)*
                    w.finish()
                }
                #to_accepts
                #p::to_sql_checked!();
            }

            #[automatically_derived]
            impl<'a> #p::FromSql<'a> for #ident {
                #[inline]
                fn from_sql(ty: &#p::Type, raw: &'a [u8]) -> ::core::result::Result<Self, #p::BoxError> {
                    let mut r = #p::CompositeReader::new(ty, raw)?;
                    ::core::result::Result::Ok(#ident { #(#field_idents: r.field()?,)* })
                }
                #from_accepts
            }
        });
    }

    let mut tables = Vec::new();
    for t in &catalog.tables {
        if t.unresolved.is_some() {
            continue;
        }
        let module = module_of(&t.schema);
        let m = modules.entry(module.clone()).or_default();
        let name = table::struct_name(t, &map.config.names);
        let sql = match &t.origin {
            Some(at) => format!("table {}.{} ({at})", t.schema, t.name),
            None => format!("table {}.{}", t.schema, t.name),
        };
        if !m.claim(&name, sql.clone(), &mut errors, source)
            || !m.claim(&format!("New{name}"), sql, &mut errors, source)
        {
            continue;
        }
        match table::emit(t, &name, map, &module) {
            Ok(tokens) => {
                m.items.push(tokens);
                let path = crate::typemap::relative(&None, &module, &name);
                tables.push(quote! {
                    ::pgstrata::TableInfo {
                        sql_name: #path::TABLE,
                        columns: #path::COLUMNS,
                        check_row: ::pgstrata::__private::check_row::<#path>,
                    }
                });
            }
            Err(message) => errors.push(Diagnostic::file(source, message)),
        }
    }

    check_overrides(catalog, map, source, &mut errors);

    let mut root = TokenStream::new();
    let mut children = Vec::new();
    for (module, m) in modules {
        let items = m.items;
        let body = quote!(#(#items)*);
        match module {
            None => root = body,
            Some(name) => {
                let ident = naming::ident(&name);
                let doc = format!(" Items of the `{name}` schema.");
                children.push(quote!(#[doc = #doc] pub mod #ident { #body }));
            }
        }
    }
    let shape = shape(catalog);
    errors.finish(quote! {
        /// Types generated from the schema the migrations build.
        // Unused items are expected (a schema has more tables than one crate uses); the
        // build-script path includes this file as ordinary code, where they would warn.
        #[allow(dead_code, clippy::all, clippy::pedantic)]
        pub mod schema {
            /// Every table with a row struct, in the order the migrations create them.
            ///
            /// A function holding a `const` rather than a `static`: rustc compiles every
            /// static (and every function it points to) into the binary, used or not, so
            /// a static list would make each crate that embeds migrations compile every
            /// `from_row`. A const is compiled only where `tables()` is called.
            #[inline]
            pub fn tables() -> &'static [::pgstrata::TableInfo] {
                const TABLES: &[::pgstrata::TableInfo] = &[#(#tables),*];
                TABLES
            }

            /// The schema these types were generated from, for checking a live database
            /// (`MIGRATIONS.verify`).
            pub static SHAPE: ::pgstrata::__private::Shape = #shape;
            #root
            #(#children)*
        }
    })
}

/// Every table's columns (all of them, mapped to Rust or not) and every enum, as one
/// string literal (see `Shape`: a static of struct literals cost rustc far more).
fn shape(catalog: &Catalog) -> TokenStream {
    let encoded = pgstrata_core::catalog::Shape::encode(catalog);
    quote!(::pgstrata::__private::Shape::from_encoded(#encoded))
}

/// `[columns]` and `[names]` entries must name something that exists.
fn check_overrides(catalog: &Catalog, map: &TypeMap<'_>, source: &str, errors: &mut Errors) {
    let table = |key: &str| -> Option<&pgstrata_core::catalog::Table> {
        match key.split('.').collect::<Vec<_>>().as_slice() {
            [t] => catalog.table("public", t),
            [s, t] => catalog.table(s, t),
            _ => None,
        }
    };
    for key in map.config.columns.keys() {
        let found = key
            .rsplit_once('.')
            .and_then(|(t, c)| table(t).map(|t| t.column(c).is_some()));
        if found != Some(true) {
            errors.push(
                Diagnostic::file(crate::config::FILE, format!("[columns] {key:?} names no column of the migrations' schema"))
                    .help(format!("write it as table.column or schema.table.column (the migrations are in {source})")),
            );
        }
    }
    for key in map.config.names.keys() {
        if table(key).is_none() {
            errors.push(
                Diagnostic::file(
                    crate::config::FILE,
                    format!("[names] {key:?} names no table of the migrations' schema"),
                )
                .help("write it as table or schema.table"),
            );
        }
    }
}

fn doc_lines(first: &str, comment: Option<&str>) -> Vec<TokenStream> {
    let mut lines = vec![first.to_string()];
    if let Some(c) = comment {
        lines.push(String::new());
        lines.extend(c.lines().map(|l| format!(" {l}")));
    }
    lines.iter().map(|l| quote!(#[doc = #l])).collect()
}
