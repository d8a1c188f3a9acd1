//! Emits `pub mod schema`: one item per table, enum, domain and composite, in a module
//! per non-public schema. The items themselves come from `user_types` (enums, domains,
//! composites) and `table` (row and insert structs).

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::quote;

use pgstrata_core::catalog::{Catalog, Composite};

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

/// The `schema` module being built.
pub(super) struct Schema<'a> {
    map: &'a TypeMap<'a>,
    /// The migrations folder, for messages.
    pub(super) source: &'a str,
    pub(super) errors: Errors,
    modules: BTreeMap<Option<String>, Module>,
}

impl Schema<'_> {
    /// Records `rust` as the name of `sql` in `module`; two SQL names for one Rust name
    /// is an error.
    fn claim(&mut self, module: &Option<String>, rust: &str, sql: String) -> bool {
        let m = self.modules.entry(module.clone()).or_default();
        if let Some(other) = m.names.insert(rust.to_string(), sql.clone()) {
            self.errors.push(
                Diagnostic::file(self.source, format!("{other} and {sql} both become the Rust name `{rust}`"))
                    .help("rename one of them in SQL, or give one another name in pgstrata.toml under [names]"),
            );
            return false;
        }
        true
    }

    fn push(&mut self, module: Option<String>, items: impl IntoIterator<Item = TokenStream>) {
        self.modules.entry(module).or_default().items.extend(items);
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
    let mut s = Schema {
        map,
        source,
        errors: Errors::default(),
        modules: BTreeMap::from([(None, Module::default())]),
    };
    for e in &catalog.enums {
        let module = module_of(&e.schema);
        let name = naming::type_name(&e.name);
        if s.claim(&module, &name, format!("type {}.{}", e.schema, e.name)) {
            let items = s.enum_items(e, &name);
            s.push(module, items);
        }
    }
    for d in &catalog.domains {
        let module = module_of(&d.schema);
        let Mapped::Rust(inner) = map.map(&d.ty, &module) else {
            continue;
        };
        let name = naming::type_name(&d.name);
        if s.claim(&module, &name, format!("domain {}.{}", d.schema, d.name)) {
            let items = s.domain_items(d, &name, &inner);
            s.push(module, items);
        }
    }
    for c in &catalog.composites {
        s.composite(c);
    }
    let tables = s.tables(catalog);
    check_overrides(catalog, map, source, &mut s.errors);
    let Schema {
        errors, modules, ..
    } = s;
    errors.finish(assemble(catalog, modules, &tables))
}

impl Schema<'_> {
    fn composite(&mut self, c: &Composite) {
        let module = module_of(&c.schema);
        let mut fields = Vec::new();
        let mut field_idents = Vec::new();
        let mut field_types = Vec::new();
        for a in &c.attributes {
            if let Mapped::Rust(t) = self.map.map(&a.ty, &module) {
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
            return;
        }
        let name = naming::type_name(&c.name);
        if self.claim(&module, &name, format!("type {}.{}", c.schema, c.name)) {
            let items = self.composite_items(c, &name, &field_idents, &field_types, &fields);
            self.push(module, items);
        }
    }

    /// Every table's row and insert structs; the entries of `tables()`.
    fn tables(&mut self, catalog: &Catalog) -> Vec<TokenStream> {
        let mut tables = Vec::new();
        for t in &catalog.tables {
            if t.unresolved.is_some() {
                continue;
            }
            let module = module_of(&t.schema);
            let name = table::struct_name(t, &self.map.config.names);
            let sql = match &t.origin {
                Some(at) => format!("table {}.{} ({at})", t.schema, t.name),
                None => format!("table {}.{}", t.schema, t.name),
            };
            if !self.claim(&module, &name, sql.clone())
                || !self.claim(&module, &format!("New{name}"), sql)
            {
                continue;
            }
            match table::emit(t, &name, self.map, &module) {
                Ok(tokens) => {
                    self.push(module.clone(), [tokens]);
                    let path = crate::typemap::relative(&None, &module, &name);
                    tables.push(quote! {
                        ::pgstrata::TableInfo {
                            sql_name: #path::TABLE,
                            columns: #path::COLUMNS,
                            check_row: ::pgstrata::__private::check_row::<#path>,
                        }
                    });
                }
                Err(message) => self.errors.push(Diagnostic::file(self.source, message)),
            }
        }
        tables
    }
}

/// The module: the public schema's items at its root, a module per other schema.
fn assemble(
    catalog: &Catalog,
    modules: BTreeMap<Option<String>, Module>,
    tables: &[TokenStream],
) -> TokenStream {
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
    quote! {
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
    }
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

pub(super) fn doc_lines(first: &str, comment: Option<&str>) -> Vec<TokenStream> {
    let mut lines = vec![first.to_string()];
    if let Some(c) = comment {
        lines.push(String::new());
        lines.extend(c.lines().map(|l| format!(" {l}")));
    }
    lines.iter().map(|l| quote!(#[doc = #l])).collect()
}
