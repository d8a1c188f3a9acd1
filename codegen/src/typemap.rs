//! PostgreSQL types to Rust types, aware of pgstrata's features and the config file.
//!
//! Every path in the output is absolute (`::pgstrata::types::chrono::NaiveDate`),
//! except generated types, which are named relative to the module that uses them.

use proc_macro2::TokenStream;
use quote::quote;

use pgstrata_core::catalog::{Catalog, ColumnType};

use crate::config::{Config, DateTime};
use crate::naming;

/// Which optional type crates pgstrata was built with (its cargo features).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)]
pub struct Features {
    /// `chrono`
    pub chrono: bool,
    /// `time`
    pub time: bool,
    /// `uuid`
    pub uuid: bool,
    /// `serde_json`
    pub serde_json: bool,
    /// `rust_decimal`
    pub rust_decimal: bool,
    /// `eui48` (macaddr)
    pub eui48: bool,
    /// `bit-vec` (bit, bit varying)
    pub bit_vec: bool,
    /// `geo-types` (point)
    pub geo_types: bool,
    /// `cidr` (cidr)
    pub cidr: bool,
}

impl Default for Features {
    /// pgstrata's default features.
    fn default() -> Features {
        Features {
            chrono: true,
            time: false,
            uuid: true,
            serde_json: true,
            rust_decimal: true,
            eui48: false,
            bit_vec: false,
            geo_types: false,
            cidr: false,
        }
    }
}

/// A Rust type, or why there is none.
#[derive(Clone, Debug)]
pub enum Mapped {
    /// The type.
    Rust(TokenStream),
    /// No mapping: the reason, and what to do.
    None(String),
}

/// What mapping needs to know.
pub struct TypeMap<'a> {
    /// The model.
    pub catalog: &'a Catalog,
    /// The config file.
    pub config: &'a Config,
    /// Available type crates.
    pub features: Features,
    /// The path to the generated `schema` module, for code outside it (queries);
    /// `None` inside it, where generated types are named relative to each other.
    pub root: Option<TokenStream>,
}

/// Where a generated type lives: the schema module (`None` for `public`).
pub fn module_of(schema: &str) -> Option<String> {
    (schema != "public").then(|| naming::module_name(schema))
}

/// The path to a generated item in module `to` as seen from module `from`.
pub fn relative(from: &Option<String>, to: &Option<String>, name: &str) -> TokenStream {
    let item = naming::ident(name);
    if from == to {
        return quote!(#item);
    }
    match (from, to) {
        (None, None) => quote!(#item),
        (None, Some(m)) => {
            let m = naming::ident(m);
            quote!(#m::#item)
        }
        (Some(_), None) => quote!(super::#item),
        (Some(_), Some(m)) => {
            let m = naming::ident(m);
            quote!(super::#m::#item)
        }
    }
}

impl TypeMap<'_> {
    /// The Rust type for a (non-null) value of `ty`, used from module `from`.
    pub fn map(&self, ty: &ColumnType, from: &Option<String>) -> Mapped {
        let spelled = ty.format();
        let base = ColumnType {
            array: false,
            ..ty.clone()
        };
        let base_spelled = base.format();
        let overridden = self
            .config
            .types
            .get(&spelled)
            .or_else(|| self.config.types.get(&base_spelled).filter(|_| ty.array));
        if let Some(path) = overridden {
            return match syn::parse_str::<syn::Type>(path) {
                Ok(t) if self.config.types.contains_key(&spelled) => Mapped::Rust(quote!(#t)),
                Ok(t) => Mapped::Rust(quote!(::std::vec::Vec<#t>)),
                Err(_) => Mapped::None(format!("the override for {spelled} is not a Rust type")),
            };
        }
        let inner = match self.base(&base, from) {
            Mapped::Rust(t) => t,
            none => return none,
        };
        if ty.array {
            Mapped::Rust(quote!(::std::vec::Vec<#inner>))
        } else {
            Mapped::Rust(inner)
        }
    }

    fn base(&self, ty: &ColumnType, from: &Option<String>) -> Mapped {
        let f = &self.features;
        let p = quote!(::pgstrata::types);
        let need = |on: bool, feature: &str, t: TokenStream| {
            if on {
                Mapped::Rust(t)
            } else {
                Mapped::None(format!(
                    "enable the `{feature}` feature of pgstrata, or map the type in pgstrata.toml"
                ))
            }
        };
        if let Some(schema) = &ty.schema {
            let to = module_of(schema);
            let c = self.catalog;
            if c.enums
                .iter()
                .any(|e| &e.schema == schema && e.name == ty.name)
                || c.domains
                    .iter()
                    .any(|d| &d.schema == schema && d.name == ty.name)
                || c.composites
                    .iter()
                    .any(|d| &d.schema == schema && d.name == ty.name)
            {
                let item = naming::ident(&naming::type_name(&ty.name));
                return Mapped::Rust(match (&self.root, &to) {
                    (Some(root), Some(m)) => {
                        let m = naming::ident(m);
                        quote!(#root::#m::#item)
                    }
                    (Some(root), None) => quote!(#root::#item),
                    (None, _) => relative(from, &to, &naming::type_name(&ty.name)),
                });
            }
            if ty.name == "citext" {
                return Mapped::Rust(quote!(::std::string::String));
            }
            return Mapped::None(format!(
                "type {} has no Rust mapping: map it in pgstrata.toml under [types]",
                ty.format()
            ));
        }
        let chrono = self.config.datetime == DateTime::Chrono;
        match ty.name.as_str() {
            "smallint" => Mapped::Rust(quote!(i16)),
            "integer" => Mapped::Rust(quote!(i32)),
            "bigint" => Mapped::Rust(quote!(i64)),
            "real" => Mapped::Rust(quote!(f32)),
            "double precision" => Mapped::Rust(quote!(f64)),
            "boolean" => Mapped::Rust(quote!(bool)),
            "oid" => Mapped::Rust(quote!(u32)),
            "\"char\"" => Mapped::Rust(quote!(i8)),
            "text" | "character varying" | "character" | "bpchar" | "name" => Mapped::Rust(quote!(::std::string::String)),
            "bytea" => Mapped::Rust(quote!(::std::vec::Vec<u8>)),
            "inet" => Mapped::Rust(quote!(::std::net::IpAddr)),
            "uuid" => need(f.uuid, "uuid", quote!(#p::uuid::Uuid)),
            "json" | "jsonb" => need(f.serde_json, "serde_json", quote!(#p::serde_json::Value)),
            "numeric" => need(f.rust_decimal, "rust_decimal", quote!(#p::rust_decimal::Decimal)),
            "timestamp without time zone" if chrono => need(f.chrono, "chrono", quote!(#p::chrono::NaiveDateTime)),
            "timestamp with time zone" if chrono => {
                need(f.chrono, "chrono", quote!(#p::chrono::DateTime<#p::chrono::Utc>))
            }
            "date" if chrono => need(f.chrono, "chrono", quote!(#p::chrono::NaiveDate)),
            "time without time zone" if chrono => need(f.chrono, "chrono", quote!(#p::chrono::NaiveTime)),
            "timestamp without time zone" => need(f.time, "time", quote!(#p::time::PrimitiveDateTime)),
            "timestamp with time zone" => need(f.time, "time", quote!(#p::time::OffsetDateTime)),
            "date" => need(f.time, "time", quote!(#p::time::Date)),
            "time without time zone" => need(f.time, "time", quote!(#p::time::Time)),
            "macaddr" => need(f.eui48, "eui48", quote!(#p::eui48::MacAddress)),
            "bit" | "bit varying" => need(f.bit_vec, "bit-vec", quote!(#p::bit_vec::BitVec)),
            "point" => need(f.geo_types, "geo-types", quote!(#p::geo_types::Point<f64>)),
            "cidr" => need(f.cidr, "cidr", quote!(#p::cidr::IpCidr)),
            other => Mapped::None(format!(
                "PostgreSQL's driver has no Rust type for {other}: map it in pgstrata.toml under [types], or cast it in queries"
            )),
        }
    }
}
