//! The enums, domains and composite types of the `schema` module, each with its
//! `ToSql` and `FromSql`.

use std::collections::BTreeMap;

use pgstrata_core::catalog::{Composite, Domain, Enum};
use proc_macro2::TokenStream;
use quote::quote;

use super::schema::{doc_lines, Schema};
use crate::diag::Diagnostic;
use crate::naming;

impl Schema<'_> {
    /// An enum type's Rust enum, named `name`.
    pub(super) fn enum_items(&mut self, e: &Enum, name: &str) -> Vec<TokenStream> {
        let p = quote!(::pgstrata::__private);
        let ident = naming::ident(name);
        let mut seen = BTreeMap::new();
        let mut variants = Vec::new();
        let mut idents = Vec::new();
        for label in &e.values {
            let v = naming::variant_name(label);
            if let Some(other) = seen.insert(v.clone(), label.clone()) {
                self.errors.push(
                    Diagnostic::file(self.source, format!("labels {other:?} and {label:?} of enum {} both become the variant `{v}`", e.name))
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
            return vec![quote! {
                #(#doc)*
                #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
                pub enum #ident {}
            }];
        }
        let accepts = quote! {
            #[inline]
            fn accepts(ty: &#p::Type) -> bool {
                #p::enum_accepts(ty, #ident::SQL_NAME, #ident::LABELS)
            }
        };
        vec![
            quote!(::pgstrata::__pgstrata_param!(#ident);),
            quote! {
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
            },
        ]
    }

    /// A domain's newtype over its base type `inner`, named `name`.
    pub(super) fn domain_items(
        &self,
        d: &Domain,
        name: &str,
        inner: &TokenStream,
    ) -> Vec<TokenStream> {
        let p = quote!(::pgstrata::__private);
        let ident = naming::ident(name);
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
        vec![
            quote!(::pgstrata::__pgstrata_param!(#ident);),
            quote! {
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
            },
        ]
    }

    /// A composite type's struct, named `name`, when every attribute has a Rust type
    /// (`fields`: each attribute's field and type).
    pub(super) fn composite_items(
        &self,
        c: &Composite,
        name: &str,
        field_idents: &[proc_macro2::Ident],
        field_types: &[TokenStream],
        fields: &[TokenStream],
    ) -> Vec<TokenStream> {
        let p = quote!(::pgstrata::__private);
        let names: Vec<&str> = c.attributes.iter().map(|a| a.name.as_str()).collect();
        let ident = naming::ident(name);
        let sql = &c.name;
        let doc = doc_lines(
            &format!(" The composite type `{}.{}`.", c.schema, c.name),
            c.comment.as_deref(),
        );
        // Each field's type must be one its Rust type takes, as the derives check.
        let accepts = |tr: proc_macro2::TokenStream| {
            let checks = names.iter().zip(field_types).map(|(n, t)| {
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
        vec![
            quote!(::pgstrata::__pgstrata_param!(#ident);),
            quote! {
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
            },
        ]
    }
}
