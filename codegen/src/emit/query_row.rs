//! The row of a query: a table's row struct when the query reads exactly that, otherwise
//! a struct of its own; and the Rust type of each parameter and result value.

use pgstrata_core::catalog::{Catalog, ColumnType};
use proc_macro2::TokenStream;
use quote::quote;

use crate::diag::Diagnostic;
use crate::naming;
use crate::query::{Described, QueryDef};
use crate::typemap::{Mapped, TypeMap};

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
    pub(super) fn at(self, q: &QueryDef) -> Diagnostic {
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
pub(super) struct RowType {
    pub outer: TokenStream,
    pub inner: TokenStream,
    pub items: TokenStream,
    pub decode: TokenStream,
}

/// The row type of a query: a table's row struct when the query returns exactly its
/// columns (in order, with the same types and nullability), otherwise a struct named
/// after the query.
pub(super) fn row(
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
