//! Emits the `MIGRATIONS` static: every migration embedded as string literals.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use pgstrata_core::Migration;

use crate::source::Source;

/// The `MIGRATIONS` static and the items that make the build depend on every file.
///
/// The list is three string literals (see [`pgstrata_core::embedded`]), decoded at run
/// time: a literal is nearly free for rustc to check, where Rust data (a static of one
/// const call per migration) costs it time on every rebuild. The SQL is
/// embedded as text rather than by `include_str!` (a dbmate section is part of a
/// file), and each file is also named in an `include_bytes!` so that editing it
/// rebuilds the crate. Adding or removing a file cannot be tracked by a proc-macro on
/// stable Rust: the build-script helper covers that.
pub fn migrations_static(sources: &[Source], migrations: &[Migration]) -> TokenStream {
    let encoded = pgstrata_core::embedded::encode(migrations);
    let [heads, index, sql] =
        [encoded.heads, encoded.index, encoded.sql].map(|s| Literal::string(&s));
    let mut paths: Vec<String> = Vec::new();
    for s in sources {
        paths.push(s.up.path.display().to_string());
        if let Some(d) = &s.down {
            paths.push(d.path.display().to_string());
        }
    }
    paths.sort();
    paths.dedup();
    let count = migrations.len();
    let doc =
        format!(" The {count} migrations of this crate, embedded at build time, in version order.");
    quote! {
        #[doc = #doc]
        ///
        /// Apply them with [`run`](::pgstrata::Migrations::run) (tokio-postgres) or
        /// [`run_blocking`](::pgstrata::Migrations::run_blocking) (postgres).
        #[allow(dead_code)]
        pub static MIGRATIONS: ::pgstrata::Migrations =
            ::pgstrata::Migrations::__encoded(#heads, #index, #sql, &schema::SHAPE);
        #(const _: &[u8] = ::core::include_bytes!(#paths);)*
    }
}
