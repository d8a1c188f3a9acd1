//! Emits a table's row struct, its `New...` insert struct, and their impls.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::ext::IdentExt;

use pgstrata_core::catalog::{Column, Table};

use pgstrata_core::sql::delimited;

use crate::naming;
use crate::typemap::{Mapped, TypeMap};

/// A column that made it into the struct.
struct Field<'a> {
    column: &'a Column,
    ident: proc_macro2::Ident,
    ty: TokenStream,
}

/// The struct name of a table, after `[names]` overrides.
pub fn struct_name(table: &Table, names: &std::collections::BTreeMap<String, String>) -> String {
    names
        .get(&format!("{}.{}", table.schema, table.name))
        .or_else(|| names.get(&table.name).filter(|_| table.schema == "public"))
        .cloned()
        .unwrap_or_else(|| naming::struct_name(&table.name))
}

/// The quoted, qualified name for SQL.
pub fn sql_name(table: &Table) -> String {
    if table.schema == "public" {
        delimited(&table.name)
    } else {
        format!("{}.{}", delimited(&table.schema), delimited(&table.name))
    }
}

/// The row struct, `TABLE`, `COLUMNS`, `from_row`, and the insert struct.
///
/// # Errors
/// Two columns that become the same field.
pub fn emit(
    table: &Table,
    name: &str,
    map: &TypeMap<'_>,
    module: &Option<String>,
) -> Result<TokenStream, String> {
    let (fields, left_out) = fields(table, map, module)?;
    let struct_ident = format_ident!("{}", name);
    let mut tokens = row(table, &struct_ident, &fields, &left_out);
    tokens.extend(insert(table, &struct_ident, &fields));
    Ok(tokens)
}

/// The columns with a Rust type, and a note for each one without.
fn fields<'t>(
    table: &'t Table,
    map: &TypeMap<'_>,
    module: &Option<String>,
) -> Result<(Vec<Field<'t>>, Vec<String>), String> {
    let mut fields = Vec::new();
    let mut left_out = Vec::new();
    let mut seen: std::collections::BTreeMap<String, &str> = std::collections::BTreeMap::new();
    for c in &table.columns {
        let field = naming::field_name(&c.name);
        if let Some(other) = seen.insert(field.clone(), &c.name) {
            return Err(format!(
                "columns {other:?} and {:?} of table {}.{} both become the field `{field}`: rename one, or map it in pgstrata.toml",
                c.name, table.schema, table.name
            ));
        }
        let over = map
            .config
            .columns
            .get(&format!("{}.{}.{}", table.schema, table.name, c.name))
            .or_else(|| {
                map.config
                    .columns
                    .get(&format!("{}.{}", table.name, c.name))
                    .filter(|_| table.schema == "public")
            });
        let mapped = match over {
            Some(path) => match syn::parse_str::<syn::Type>(path) {
                Ok(t) => Mapped::Rust(quote!(#t)),
                Err(_) => Mapped::None(format!("the override {path:?} is not a Rust type")),
            },
            None => map.map(&c.ty, module),
        };
        match mapped {
            Mapped::Rust(ty) => fields.push(Field {
                column: c,
                ident: naming::ident(&field),
                ty,
            }),
            Mapped::None(why) => left_out.push(format!("`{}` ({}): {why}", c.name, c.ty.format())),
        }
    }

    Ok((fields, left_out))
}

/// The row struct and its `FromRow`.
fn row(
    table: &Table,
    struct_ident: &proc_macro2::Ident,
    fields: &[Field<'_>],
    left_out: &[String],
) -> TokenStream {
    let mut doc = vec![format!(
        " A row of table `{}.{}`.",
        table.schema, table.name
    )];
    if let Some(comment) = &table.comment {
        doc.push(String::new());
        doc.extend(comment.lines().map(|l| format!(" {l}")));
    }
    if !left_out.is_empty() {
        doc.push(String::new());
        doc.push(" Columns left out (no Rust type):".into());
        doc.extend(left_out.iter().map(|l| format!(" - {l}")));
    }
    let sql_table = sql_name(table);
    let columns: Vec<&str> = fields.iter().map(|f| f.column.name.as_str()).collect();

    let row_fields = fields.iter().map(|f| {
        let (ident, ty) = (&f.ident, &f.ty);
        let ty = if f.column.nullable {
            quote!(::core::option::Option<#ty>)
        } else {
            ty.clone()
        };
        let doc = column_doc(f.column);
        quote!(#[doc = #doc] pub #ident: #ty)
    });
    // One call per chunk of up to 16 columns, typed by a tuple: pgstrata's generic
    // `ReadTuple` does the per-column work, so a table adds one call for rustc to check
    // instead of a fallible generic call per column; the calls nest in `match`es rather
    // than `?`, which rustc checks faster.
    let chunks: Vec<&[Field]> = fields.chunks(16).collect();
    let idents: Vec<_> = fields.iter().map(|f| f.ident.clone()).collect();
    let mut read_body = quote!(::core::result::Result::Ok(Self { #(#idents,)* }));
    for chunk in chunks.iter().rev() {
        let tys = chunk.iter().map(|f| {
            let ty = &f.ty;
            if f.column.nullable {
                quote!(::core::option::Option<#ty>)
            } else {
                ty.clone()
            }
        });
        // A table of one chunk reads its own COLUMNS; larger ones name each chunk's.
        let names = if chunks.len() == 1 {
            quote!(Self::COLUMNS)
        } else {
            let names = chunk.iter().map(|f| f.column.name.as_str());
            quote!(&[#(#names),*])
        };
        let ids = chunk.iter().map(|f| &f.ident);
        read_body = quote! {
            match <(#(#tys,)*) as ::pgstrata::__private::ReadTuple>::read(row, #names) {
                ::core::result::Result::Ok((#(#ids,)*)) => #read_body,
                ::core::result::Result::Err(e) => ::core::result::Result::Err(e),
            }
        };
    }

    let row_doc = doc.iter().map(|d| quote!(#[doc = #d]));
    let p = quote!(::pgstrata::__private);
    quote! {
        #(#row_doc)*
        #[derive(Debug, Clone, PartialEq)]
        pub struct #struct_ident {
            #(#row_fields,)*
        }

        impl #struct_ident {
            /// The table's name, quoted for SQL.
            pub const TABLE: &'static str = #sql_table;
            /// The columns of this struct, in table order.
            pub const COLUMNS: &'static [&'static str] = &[#(#columns),*];

            /// Reads a row that has (at least) the columns of [`Self::COLUMNS`], by name.
            ///
            /// # Errors
            /// A column is missing or has another type.
            #[inline]
            pub fn from_row(row: &#p::Row) -> ::core::result::Result<Self, #p::PgError> {
                #read_body
            }
        }

        #[automatically_derived]
        impl ::pgstrata::FromRow for #struct_ident {
            #[inline]
            fn from_row(row: &#p::Row) -> ::core::result::Result<Self, #p::PgError> {
                #struct_ident::from_row(row)
            }
        }

    }
}

/// The `New...` insert struct and its `Insertable`.
fn insert(table: &Table, struct_ident: &proc_macro2::Ident, fields: &[Field<'_>]) -> TokenStream {
    let new_ident = format_ident!("New{}", struct_ident);
    let sql_table = sql_name(table);
    let returning = fields
        .iter()
        .map(|f| delimited(&f.column.name))
        .collect::<Vec<_>>()
        .join(", ");
    // Insert struct: generated columns are absent; columns with a default, identity or
    // NULL allowed are optional (None: leave it to the database).
    let insertable: Vec<&Field> = fields
        .iter()
        .filter(|f| f.column.generated.is_none())
        .collect();
    let new_fields = insertable.iter().map(|f| {
        let (ident, ty) = (&f.ident, &f.ty);
        let optional = optional(f.column);
        let ty = if optional {
            quote!(::core::option::Option<#ty>)
        } else {
            ty.clone()
        };
        let doc = column_doc(f.column);
        quote!(#[doc = #doc] pub #ident: #ty)
    });
    // One `WriteTuple` call per chunk of up to 16 columns, like the reads above.
    let mut writes = Vec::new();
    for chunk in insertable.chunks(16) {
        let wrapped = chunk.iter().map(|f| {
            let ident = &f.ident;
            if optional(f.column) {
                quote!(::pgstrata::__private::Opt(&self.#ident))
            } else {
                quote!(::pgstrata::__private::Req(&self.#ident))
            }
        });
        let names = chunk.iter().map(|f| delimited(&f.column.name));
        writes.push(quote! {
            ::pgstrata::__private::WriteTuple::write((#(#wrapped,)*), &[#(#names),*], &mut out);
        });
    }
    // `Debug` goes through `values()` (see `debug_insert`): each field's name as
    // `#[derive(Debug)]` prints it, and whether it is an `Option`.
    let new_name = new_ident.unraw().to_string();
    let debug_fields = insertable.iter().map(|f| {
        let (name, optional) = (f.ident.unraw().to_string(), optional(f.column));
        quote!((#name, #optional))
    });
    let insertable_count = insertable.len();
    let values_body = if writes.is_empty() {
        // A table whose columns are all generated: nothing to write (and no `mut`).
        quote!(::std::vec::Vec::new())
    } else {
        quote! {
            let mut out = ::std::vec::Vec::with_capacity(#insertable_count);
            #(#writes)*
            out
        }
    };
    let new_doc = [
        format!(
            " A new row for table `{}.{}`: `None` leaves a column to its default (or NULL).",
            table.schema, table.name
        ),
        " Insert it with [`Insertable::insert`](::pgstrata::Insertable::insert).".to_string(),
    ];
    let p = quote!(::pgstrata::__private);
    quote! {
        #(#[doc = #new_doc])*
        #[derive(Clone)]
        pub struct #new_ident {
            #(#new_fields,)*
        }

        #[automatically_derived]
        impl ::core::fmt::Debug for #new_ident {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                #p::debug_insert(self, #new_name, &[#(#debug_fields),*], f)
            }
        }

        #[automatically_derived]
        impl ::pgstrata::Insertable for #new_ident {
            type Row = #struct_ident;
            const TABLE: &'static str = #sql_table;
            const RETURNING: &'static str = #returning;
            #[inline]
            fn values(&self) -> ::std::vec::Vec<(&'static str, ::core::option::Option<&(dyn #p::ToSql + ::core::marker::Sync)>)> {
                #values_body
            }
        }
    }
}

fn optional(c: &Column) -> bool {
    c.nullable || c.default.is_some() || c.identity.is_some()
}

fn column_doc(c: &Column) -> String {
    let mut d = format!(" `{}` {}", c.name, c.ty.format());
    if !c.nullable {
        d.push_str(" NOT NULL");
    }
    if let Some(def) = &c.default {
        d.push_str(&format!(" DEFAULT {def}"));
    }
    if let Some(i) = &c.identity {
        d.push_str(&format!(" GENERATED {} AS IDENTITY", i.to_uppercase()));
    }
    if let Some(g) = &c.generated {
        d.push_str(&format!(" GENERATED ALWAYS AS ({g}) STORED"));
    }
    if let Some(comment) = &c.comment {
        d.push_str(&format!("\n\n {comment}"));
    }
    d
}
